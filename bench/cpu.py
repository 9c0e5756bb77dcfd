"""See bench/cpu. CPU of a process tree = utime + stime of every living process in it plus
cutime + cstime (what its reaped children used): Postfix's smtpd, cleanup and virtual
processes come and go during a round, and what an exited one used is then in its parent's
cutime. Clement's services are single processes (threads included in their utime)."""
import os
import pathlib
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "lib"))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from stack import ROOT, Stack, cpu_seconds, free_port, load_avg, machine  # noqa: E402
from throughput import count_files, wait_count  # noqa: E402
from threaded import run_threaded  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
MESSAGES = int(os.environ.get("MESSAGES", "2000"))
ROUNDS = int(os.environ.get("ROUNDS", "4"))
SIZE = int(os.environ.get("SIZE", "10240"))
# RCPTS > 1: that many recipients per message (smtp-source -r names them 1u@, 2u@, ...; each a
# user of bench.test here, and Postfix's static map takes them all)
RCPTS = int(os.environ.get("RCPTS", "1"))
# CLIENT=pipelined: instead of smtp-source (which never pipelines), 50 client threads here that
# send MAIL, the RCPTs and DATA in one write, as Postfix's smtp client does with a server that
# offers PIPELINING (RFC 2920); one message per session, as smtp-source sends them
CLIENT = os.environ.get("CLIENT", "smtp-source")
# SYSCALLS=1: after the rounds, one more Clement run of MESSAGES with `strace -c -f` attached to
# each service, and a table of system calls per message (strace slows the services down, so
# that run is not one of the rounds)
SYSCALLS = os.environ.get("SYSCALLS", "0") == "1"
PF = str(ROOT / "bench/lib/postfix-instance")


def tree_cpu(root):
    """Seconds of CPU used by root and its descendants, reaped ones included."""
    procs = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                procs[int(d)] = open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                pass
    kids = {}
    for pid, f in procs.items():
        kids.setdefault(int(f[1]), []).append(pid)
    total, todo = 0, [root]
    while todo:
        p = todo.pop()
        f = procs.get(p)
        if f:
            total += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
            todo += kids.get(p, [])
    return total / TICK


def nng_cpu(pid):
    """Seconds of CPU used by a process's RPC transport threads, apart from the threads that do
    the service's work: lib/rpc's "rpc:client" (writes queued requests, reads replies, runs the
    callbacks) and, in builds before the server's workers read their own requests (2026-12-07),
    "rpc:reader" (a server's requests), or, in a build from before lib/rpc spoke the wire
    itself, libnng's "nng:task", "nng:poll:epoll", "nng:aio:expire"."""
    total = 0.0
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            if open(f"/proc/{pid}/task/{t}/comm").read().startswith(("nng:", "rpc:client", "rpc:reader")):
                total += cpu_seconds(pid, t)
        except OSError:
            pass
    return total


def pipelined(port):
    """The pipelining client's run: (seconds, its CPU seconds, this process's)."""
    body = b"Subject: cpu bench\r\n\r\n" + b"".join(b"%05d %s\r\n" % (i, b"x" * 72) for i in range(SIZE // 80))
    group = b"MAIL FROM:<sender@source.example>\r\n" + b"".join(
        b"RCPT TO:<%s@bench.test>\r\n" % (b"%du" % i if RCPTS > 1 else b"u") for i in range(1, RCPTS + 1)) + b"DATA\r\n"

    def one():
        with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
            f = s.makefile("rb")

            def replies(n, want):
                for _ in range(n):
                    while True:
                        r = f.readline()
                        if r[3:4] != b"-":
                            break
                    if not r.startswith(want):
                        raise RuntimeError(f"unexpected reply {r!r}")
            replies(1, b"220")
            s.sendall(b"EHLO client.source.example\r\n")
            replies(1, b"250")
            s.sendall(group)
            replies(RCPTS + 1, b"250")
            replies(1, b"354")
            s.sendall(body + b".\r\nQUIT\r\n")
            replies(1, b"250")
            replies(1, b"221")
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t = run_threaded(one, MESSAGES, 50, "pipelined session")
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return t, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def source(port):
    """smtp-source's run (or the pipelining client's): (seconds, its CPU seconds)."""
    if CLIENT == "pipelined":
        return pipelined(port)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    subprocess.run(["/usr/sbin/smtp-source", "-s", "50", "-m", str(MESSAGES), "-l", str(SIZE), "-r", str(RCPTS),
                    "-f", "sender@source.example", "-t", "u@bench.test", f"127.0.0.1:{port}"],
                   check=True, stdout=subprocess.DEVNULL, timeout=900)
    t = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return t, (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)


def syscall_run(st, procs, tmp):
    """Per service: {syscall: (calls, errors)} per message over one run of MESSAGES."""
    names = [n for n in procs if n != "postgres"]
    tracers = [subprocess.Popen(["strace", "-c", "-f", "-o", str(tmp / f"strace-{n}"), "-p", str(procs[n])],
                                stderr=subprocess.DEVNULL) for n in names]
    time.sleep(1.5)  # attached to every thread
    logs0 = st.logged()
    source(st.smtp_port)
    wait_count(st.logged, logs0 + MESSAGES * RCPTS, 120)
    for t in tracers:
        t.send_signal(2)
    for t in tracers:
        t.wait(timeout=60)
    out = {}
    for n in names:
        calls = {}
        for line in (tmp / f"strace-{n}").read_text().splitlines():
            f = line.split()
            if len(f) >= 5 and f[0][0].isdigit() and f[-1] != "total":
                errs = int(f[4]) if len(f) == 6 else 0
                calls[f[-1]] = (int(f[3]) / MESSAGES, errs / MESSAGES)
        out[n] = calls
    return out


def print_syscalls(sc):
    print("\nSystem calls per message (`strace -c -f` on each service during one more run; in brackets "
          "those that failed):\n")
    print("| service | total | most frequent |")
    print("| --- | ---: | --- |")
    for n, calls in sc.items():
        top = sorted(calls.items(), key=lambda kv: -kv[1][0])[:6]
        total = sum(c for c, _ in calls.values())
        print(f"| {n} | {total:.1f} | " + ", ".join(
            f"{k} {c:.1f}" + (f" ({e:.1f})" if e >= 0.05 else "") for k, (c, e) in top) + " |")


def postfix_master(d):
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if open(f"/proc/{p}/comm").read().strip() == "master" and str(d) in open(f"/proc/{p}/cmdline").read():
                    return int(p)
            except OSError:
                pass
    return int(open(d / "queue/pid/master.pid").read().split()[0])


def main():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="clement-cpu-"))
    os.chmod(tmp, 0o755)
    pf_dir, pf_port = tmp / "postfix", free_port()
    subprocess.run([PF, "start", str(pf_dir), str(pf_port)], check=True)
    def users(pg):
        for i in range(1, RCPTS + 1):
            pg.execute(f"INSERT INTO users (domain_id, local_part) VALUES (1, '{i}u')")

    st = Stack({"CLEMENT_MAX_SESSIONS_PER_IP": "100"}, pg_fsync="on", seed=users if RCPTS > 1 else None).start()
    copies = MESSAGES * RCPTS  # files in a Maildir, rows in message_log
    pf_inbox = pf_dir / "maildir/inbox/new"
    procs = {s.name: s.proc.pid for s in st.services.started}
    procs["postgres"] = int(open(st.pg.dir / "postmaster.pid").read().split()[0])
    master = postfix_master(pf_dir)
    rows, loads, nng = {"clement": [], "postfix": []}, [load_avg()], []
    try:
        source(st.smtp_port)  # warm-up, not counted
        source(pf_port)
        wait_count(lambda: count_files(pf_inbox), copies, 300)
        for r in range(ROUNDS):
            for who in (["clement", "postfix"] if r % 2 == 0 else ["postfix", "clement"]):
                if who == "clement":
                    a, logs0 = {n: tree_cpu(p) for n, p in procs.items()}, st.logged()
                    na = {n: nng_cpu(p) for n, p in procs.items() if n != "postgres"}
                    t, src = source(st.smtp_port)
                    wait_count(st.logged, logs0 + copies, 120)  # the log rows are part of the work
                    b = {n: tree_cpu(p) for n, p in procs.items()}
                    per = {n: (b[n] - a[n]) / MESSAGES * 1e3 for n in procs}
                    nng.append({n: (nng_cpu(procs[n]) - na[n]) / MESSAGES * 1e3 for n in na})
                else:
                    base, a = count_files(pf_inbox), tree_cpu(master)
                    t0 = time.monotonic()
                    _, src = source(pf_port)
                    if wait_count(lambda: count_files(pf_inbox), base + copies) < base + copies:
                        sys.exit("Postfix did not deliver every message within 300 s")
                    t = time.monotonic() - t0
                    time.sleep(1)  # let the last virtual/cleanup processes be reaped or idle
                    per = {"postfix (all processes)": (tree_cpu(master) - a) / MESSAGES * 1e3}
                rows[who].append((MESSAGES / t, per, src / MESSAGES * 1e3))
                loads.append(load_avg())
                print(f"round {r + 1} {who}: {MESSAGES / t:.0f} msg/s, CPU ms per message "
                      f"{sum(per.values()):.2f}", file=sys.stderr, flush=True)
        syscalls = syscall_run(st, procs, tmp) if SYSCALLS else None
    finally:
        problems = st.stop()
        subprocess.run([PF, "stop", str(pf_dir)], check=False)
        shutil.rmtree(tmp, ignore_errors=True)
        for p in problems:
            print("clement:", p[:400], file=sys.stderr)
    print(f"\n### CPU per message: Clement's ClamAV-only path vs Postfix to Maildir\n\n{machine()}; load average "
          f"{min(loads):.1f} to {max(loads):.1f}; {CLIENT}, {MESSAGES} x {SIZE // 1024} KB "
          f"{f'to {RCPTS} recipients each ' if RCPTS > 1 else ''}over 50 sessions per round, {ROUNDS} rounds "
          f"alternating\n")
    print("| round | Clement msg/s | Postfix msg/s | ratio | Clement CPU ms/msg (" +
          " / ".join(procs) + ") | Postfix CPU ms/msg | CPU ratio (Postfix / Clement) |")
    print("| ---: | ---: | ---: | ---: | --- | ---: | ---: |")
    ratios, cpu_ratios = [], []
    for i, ((cr, cp, _), (pr, pp, _)) in enumerate(zip(rows["clement"], rows["postfix"])):
        c, p = sum(cp.values()), sum(pp.values())
        ratios.append(cr / pr)
        cpu_ratios.append(p / c)
        print(f"| {i + 1} | {cr:.0f} | {pr:.0f} | {cr / pr:.2f} | {c:.2f} ({' / '.join(f'{v:.2f}' for v in cp.values())}) "
              f"| {p:.2f} | {p / c:.2f} |")
    src = statistics.median(x[2] for x in rows["clement"] + rows["postfix"])
    print(f"\nmedians: throughput ratio {statistics.median(ratios):.2f}, CPU ratio {statistics.median(cpu_ratios):.2f}; "
          f"{CLIENT} itself {src:.2f} ms per message")
    if nng:
        each = {n: statistics.median(r[n] for r in nng) for n in nng[0]}
        share = statistics.median(sum(r.values()) / sum(cp.values()) for r, (_, cp, _) in zip(nng, rows["clement"]))
        print("of which in the RPC transport's own threads (rpc:client; rpc:reader and nng:* in older builds), ms per "
              "message, medians: " +
              ", ".join(f"{n} {v:.2f}" for n, v in each.items()) +
              f"; {sum(each.values()):.2f} in all, {share:.0%} of Clement's CPU")
    if syscalls:
        print_syscalls(syscalls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
