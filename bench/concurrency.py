"""See bench/concurrency. Clients connect from many loopback source addresses
(127.1.x.y), a few sessions each, as a real crowd would, so the per-IP limit is not what is
measured."""
import os
import pathlib
import selectors
import socket
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench/lib"))
from stack import Stack, free_port, load_avg, machine, metrics  # noqa: E402

SESSIONS = int(os.environ.get("HELD", "10000"))
PER_IP = int(os.environ.get("PER_IP", "8"))
PROBES = int(os.environ.get("PROBES", "300"))
TARGET_MB = float(os.environ.get("TARGET_MB", "200"))     # bench/held: 400 MB at 100,000
TARGET_P99_MS = float(os.environ.get("TARGET_P99_MS", "0"))  # bench/held: 10 ms; 0 = no target
GREET_TIMEOUT_S = os.environ.get("GREET_TIMEOUT_S", "")   # bench/held: opening 100,000 takes a while


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return int(fields["VmRSS"].split()[0]) * 1024


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def src_addr(i):
    n = i // PER_IP
    return f"127.1.{(n // 250) % 250}.{n % 250 + 1}"


def open_sessions(port, count):
    """Connect count sessions and read each one's greeting; returns (sockets, greeted)."""
    sel = selectors.DefaultSelector()
    socks, pending, greeted = [], 0, 0

    def greeting(sock):
        nonlocal pending, greeted
        try:
            if sock.recv(512).startswith(b"220"):
                greeted += 1
        except OSError:
            pass
        sel.unregister(sock)
        pending -= 1
    for i in range(count):
        s = socket.socket()
        s.setblocking(False)
        s.bind((src_addr(i), 0))
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        sel.register(s, selectors.EVENT_READ)
        socks.append(s)
        pending += 1
        while pending > 500:   # keep the connect backlog reasonable
            events = sel.select(timeout=30)
            if not events:
                sys.exit(f"no greeting for 30 s with {len(socks)} sessions opened, {greeted} greeted")
            for key, _ in events:
                greeting(key.fileobj)
    deadline = time.time() + 120
    while pending and time.time() < deadline:
        for key, _ in sel.select(timeout=5):
            greeting(key.fileobj)
    if pending:
        print(f"warning: {pending} sessions got no greeting", file=sys.stderr)
    return socks, greeted


def greeting_latency(port, n):
    """(p50, p99) in seconds of n new sessions one after another, each timed from connect() to
    its final "220 " line by policy-load's greet (a C client: Python's own time per session is
    larger than smtp-edge's, and more so in bench/held-vm's emulated guest)."""
    probe = ROOT / os.environ.get("CLEMENT_BUILD", "build") / "bin/policy-load"
    if not probe.exists():
        sys.exit(f"{probe} is missing: make build/bin/policy-load (bench/concurrency and bench/held do)")
    r = subprocess.run([str(probe), "greet", str(port), str(n)], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        sys.exit(f"greeting probes failed: {r.stderr.strip()[:400]}")
    f = dict(kv.split("=") for kv in r.stdout.split())
    return float(f["p50_ms"]) / 1e3, float(f["p99_ms"]) / 1e3


def told_421(sock):
    """Whether a held session's next line, after its greeting, is a 421."""
    sock.setblocking(True)
    sock.settimeout(5)
    try:
        return sock.recv(512).startswith(b"421")
    except OSError:
        return False


def floor_latency(n):
    """The same probes against policy-load's greeter, which accepts, writes 220 and closes: what
    a greeting costs this machine (or guest) before smtp-edge and policy do anything."""
    port = free_port()
    probe = ROOT / os.environ.get("CLEMENT_BUILD", "build") / "bin/policy-load"
    srv = subprocess.Popen([str(probe), "greeter", str(port)])
    try:
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        return greeting_latency(port, n)
    finally:
        srv.kill()
        srv.wait()


def main():
    # CLEMENT_MAX_SESSIONS (default 10,000) is raised so that the probes still get in while
    # SESSIONS are held; the per-address limit stays at its default (PER_IP is below it).
    env = {"CLEMENT_LOG_LEVEL": "error", "CLEMENT_MAX_SESSIONS": str(SESSIONS + PROBES + 100)}
    if GREET_TIMEOUT_S:
        env["CLEMENT_GREET_TIMEOUT_S"] = GREET_TIMEOUT_S
    stack = Stack(env).start()
    try:
        pid = stack.edge().proc.pid
        load0 = load_avg()
        port = stack.smtp_port
        rss0, fd0 = proc_status(pid), fd_count(pid)
        idle_p50, idle_p99 = greeting_latency(port, PROBES)
        floor_p50, floor_p99 = floor_latency(PROBES)
        t0 = time.time()
        socks, greeted = open_sessions(port, SESSIONS)
        opened = time.time() - t0
        time.sleep(1)
        rss1, fd1 = proc_status(pid), fd_count(pid)
        held = metrics(stack.health("smtp-edge")).get(("clement_edge_sessions_open", ""), 0)
        p50, p99 = greeting_latency(port, PROBES)
        rss2 = proc_status(pid)
        print(f"\n### Concurrency\n\n{machine()}; load average {load0:.1f} at the start, {load_avg():.1f} at the end\n\n"
              f"{SESSIONS} sessions opened ({PER_IP} per source address 127.1.x.y) in {opened:.1f} s, "
              f"{greeted} of them greeted with 220, {held:.0f} open in smtp-edge's own gauge; then {PROBES} "
              f"new sessions one after another, each timed from connect() to its 220 line (policy-load greet, "
              f"a C client)\n")
        print("| measure | value | target |")
        print("| --- | ---: | --- |")
        print(f"| smtp-edge RSS before | {rss0 / 1e6:.1f} MB | |")
        print(f"| smtp-edge RSS with {SESSIONS} sessions held | {rss1 / 1e6:.1f} MB | < {TARGET_MB:.0f} MB "
              f"({'met' if rss1 < TARGET_MB * 1e6 and greeted == SESSIONS else 'MISSED'}) |")
        print(f"| smtp-edge RSS after the probes | {rss2 / 1e6:.1f} MB | |")
        print(f"| RSS per held session | {(rss1 - rss0) / SESSIONS / 1024:.1f} KiB | |")
        print(f"| smtp-edge open file descriptors | {fd0} -> {fd1} | |")
        print(f"| the machine's floor: a bare accept-and-220 server (p50 / p99) | {floor_p50 * 1e3:.2f} / "
              f"{floor_p99 * 1e3:.2f} ms | |")
        print(f"| greeting latency, idle (p50 / p99) | {idle_p50 * 1e3:.2f} / {idle_p99 * 1e3:.2f} ms | |")
        target = (f"p99 < {TARGET_P99_MS:g} ms ({'met' if p99 * 1e3 < TARGET_P99_MS else 'MISSED'})"
                  if TARGET_P99_MS else "")
        print(f"| greeting latency, {SESSIONS} held (p50 / p99) | {p50 * 1e3:.2f} / {p99 * 1e3:.2f} ms | {target} |")
        with open("/proc/net/sockstat") as f:
            tcp = next(l for l in f if l.startswith("TCP:")).split()
        print(f"| kernel TCP buffer pages, whole machine (not in RSS) | {tcp[tcp.index('mem') + 1]} x 4 KiB | |")
        # A restart with the sessions still held: SIGTERM makes smtp-edge tell every idle
        # session 421 and close it, then exit (docs/ARCHITECTURE.md, "Fail closed"; README,
        # CLEMENT_SHUTDOWN_GRACE_S). Timed until it has exited.
        t0 = time.time()
        rc = stack.edge().stop(timeout=600)
        print(f"| smtp-edge's stop with {SESSIONS} held (SIGTERM until exit; each told 421) | "
              f"{time.time() - t0:.1f} s (exit {rc}) | |")
        told = sum(1 for s in socks[:1000] if told_421(s))
        print(f"| of the first 1,000 held sessions, told 421 before the close | {told} | |")
        for s in socks:
            s.close()
    finally:
        problems = stack.stop()
        if problems:
            print("\n".join(problems)[:2000], file=sys.stderr)


if __name__ == "__main__":
    main()
