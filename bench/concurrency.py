"""See bench/concurrency. Clients connect from many loopback source addresses
(127.1.x.y), a few sessions each, as a real crowd would, so the per-IP limit is not what is
measured."""
import os
import pathlib
import selectors
import socket
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "lib"))
from stack import Stack  # noqa: E402

SESSIONS = int(os.environ.get("SESSIONS", "10000"))
PER_IP = int(os.environ.get("PER_IP", "8"))
PROBES = int(os.environ.get("PROBES", "300"))


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
    """Connect count sessions and read each one's greeting; returns the sockets."""
    sel = selectors.DefaultSelector()
    socks, pending = [], 0
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
            for key, _ in sel.select(timeout=5):
                key.fileobj.recv(512)
                sel.unregister(key.fileobj)
                pending -= 1
    deadline = time.time() + 120
    while pending and time.time() < deadline:
        for key, _ in sel.select(timeout=5):
            key.fileobj.recv(512)
            sel.unregister(key.fileobj)
            pending -= 1
    if pending:
        print(f"warning: {pending} sessions got no greeting", file=sys.stderr)
    return socks


def greeting_latency(port, n):
    lat = []
    for i in range(n):
        t0 = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port), timeout=10,
                                      source_address=(f"127.2.{i // 250}.{i % 250 + 1}", 0)) as s:
            buf = b""
            while b"\r\n" not in buf or not buf.split(b"\r\n")[-2].startswith(b"220 "):
                chunk = s.recv(512)
                if not chunk:
                    break
                buf += chunk
            lat.append(time.perf_counter() - t0)
            s.sendall(b"QUIT\r\n")
    lat.sort()
    return statistics.median(lat), lat[int(len(lat) * 0.99) - 1]


def main():
    stack = Stack({"CLEMENT_LOG_LEVEL": "error"}).start()
    try:
        pid = stack.edge().proc.pid
        port = stack.smtp_port
        rss0, fd0 = proc_status(pid), fd_count(pid)
        idle_p50, idle_p99 = greeting_latency(port, PROBES)
        t0 = time.time()
        socks = open_sessions(port, SESSIONS)
        opened = time.time() - t0
        time.sleep(1)
        rss1, fd1 = proc_status(pid), fd_count(pid)
        p50, p99 = greeting_latency(port, PROBES)
        print(f"\nConcurrency: {SESSIONS} sessions held ({PER_IP} per source address), opened in {opened:.1f} s\n")
        print("| measure | value |")
        print("| --- | ---: |")
        print(f"| smtp-edge RSS before | {rss0 / 1e6:.1f} MB |")
        print(f"| smtp-edge RSS with {SESSIONS} sessions | {rss1 / 1e6:.1f} MB |")
        print(f"| RSS per held session | {(rss1 - rss0) / SESSIONS / 1024:.1f} KiB |")
        print(f"| open file descriptors | {fd0} -> {fd1} |")
        print(f"| greeting latency, idle (p50 / p99) | {idle_p50 * 1e3:.2f} / {idle_p99 * 1e3:.2f} ms |")
        print(f"| greeting latency, {SESSIONS} held (p50 / p99) | {p50 * 1e3:.2f} / {p99 * 1e3:.2f} ms |")
        for s in socks:
            s.close()
    finally:
        problems = stack.stop()
        if problems:
            print("\n".join(problems)[:2000], file=sys.stderr)


if __name__ == "__main__":
    main()
