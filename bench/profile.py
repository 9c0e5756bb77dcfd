"""See bench/profile."""
import collections
import os
import pathlib
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "lib"))
from stack import Stack, cpu_seconds, load_avg, machine  # noqa: E402

MESSAGES = int(os.environ.get("MESSAGES", "3000"))
SESSIONS = int(os.environ.get("SESSIONS", "50"))
SIZE = int(os.environ.get("SIZE", "10240"))
TOP = int(os.environ.get("TOP", "12"))


def children(ppid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if int(open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1]) == ppid:
                    out.append(int(d))
            except OSError:
                pass
    return out


def source(port, count):
    subprocess.run(["/usr/sbin/smtp-source", "-s", str(SESSIONS), "-m", str(count), "-l", str(SIZE),
                    "-f", "sender@source.example", "-t", "u@bench.test", f"127.0.0.1:{port}"],
                   check=True, stdout=subprocess.DEVNULL, timeout=900)


def clean(sym):
    """libc's name of a system call wrapper -> the call ("__GI___libc_open" -> "open")."""
    sym = re.sub(r"@@?GLIBC.*$", "", sym)
    sym = re.sub(r"^(__GI_)?_*(libc_)?", "", sym)
    return re.sub(r"_nocancel$", "", sym)


def sample_key(frames):
    """What one perf sample was doing. In a VM perf has only the cpu-clock timer, whose
    kernel samples pile up where interrupts are re-enabled (pvm_irq_enable ...), so a kernel
    sample is named by the system call it belongs to (libc's wrapper, the first user-space
    frame: libc has no frame pointers, so the unwinding stops there), and a user-space sample
    by its own function and object."""
    kernel = [f for f in frames if f[1] == "[kernel.kallsyms]"]
    user = [f for f in frames if f[1] != "[kernel.kallsyms]"]
    if kernel:
        if any("page_fault" in sym for sym, _ in kernel):
            return "kernel: page faults"
        if user and user[0][0] != "[unknown]":
            call = clean(user[0][0])
            if call.startswith(("lll_lock", "futex", "pthread_cond", "pthread_mutex")):
                call = "futex (locks and condition variables between threads)"
            return f"system call: {call}"
        return "kernel: interrupts, softirq, scheduling"
    if not user or user[0][0] == "[unknown]":
        return "user: (no symbol)"
    return f"user: {user[0][0]} ({os.path.basename(user[0][1])})"


def breakdown(data, pids):
    """{pid: Counter((where, anchor))} over every sample of the given processes."""
    want = {str(p) for p in pids}
    out = {p: collections.Counter() for p in want}
    proc = subprocess.Popen(["perf", "script", "-i", str(data), "-F", "pid,tid,ip,sym,dso"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, errors="replace")
    pid, frames = None, []

    def flush():
        if pid in out and frames:
            out[pid][sample_key(frames)] += 1

    for line in proc.stdout:
        if not line.strip():
            continue
        if not line.startswith("\t"):   # a sample's header line: "pid/tid"; its frames follow, tab-indented
            flush()
            pid, frames = line.split()[0].split("/")[0], []
            continue
        m = re.match(r"\s*[0-9a-f]+ (.*) \((.*)\)$", line.rstrip())
        if m:
            frames.append((re.sub(r"\+0x[0-9a-f]+$", "", m.group(1)), m.group(2)))
    flush()
    proc.wait()
    return out


def main():
    stack = Stack({"CLEMENT_MAX_SESSIONS_PER_IP": str(max(SESSIONS * 2, 100))}).start()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="clement-profile-"))
    try:
        source(stack.smtp_port, 200)   # warm-up
        time.sleep(1)
        postmaster = int((stack.pg.dir / "postmaster.pid").read_text().split()[0])
        procs = {s.name: [s.proc.pid] for s in stack.services.started}
        procs["postgresql"] = [postmaster] + children(postmaster)
        cpu0 = {k: sum(cpu_seconds(p) for p in v) for k, v in procs.items()}
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        data = pathlib.Path(os.environ["PERF_DATA"]) if os.environ.get("PERF_DATA") else tmp / "perf.data"
        pids = [p for v in procs.values() for p in v]
        perf = subprocess.Popen(["perf", "record", "-q", "-F", "499", "-g", "-o", str(data),
                                 "-p", ",".join(map(str, pids))],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        load = load_avg()
        t0 = time.monotonic()
        source(stack.smtp_port, MESSAGES)
        wall = time.monotonic() - t0
        while stack.logged() < MESSAGES + 200 and time.monotonic() - t0 < wall + 30:
            time.sleep(0.05)   # the batched log rows belong to these messages
        perf.send_signal(signal.SIGINT)
        perf.wait(timeout=120)
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        procs["postgresql"] = sorted(set(procs["postgresql"] + children(postmaster)))
        cpu = {k: sum(cpu_seconds(p) for p in v) - cpu0[k] for k, v in procs.items()}
        cpu["smtp-source (client)"] = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        total = sum(cpu.values())
        print(f"\n### Where the time goes\n\n{machine()}; load average {load:.1f}\n\n"
              f"{MESSAGES} messages of {SIZE} bytes over {SESSIONS} sessions through the full path in {wall:.1f} s "
              f"({MESSAGES / wall:.0f} msg/s, while perf sampled every process at 499 Hz); CPU time per message "
              f"from /proc/<pid>/stat (user + system, all threads)\n")
        print("| process | CPU ms / message | share of the CPU used |")
        print("| --- | ---: | ---: |")
        for k, v in sorted(cpu.items(), key=lambda kv: -kv[1]):
            print(f"| {k} | {v / MESSAGES * 1e3:.2f} | {v / total * 100:.0f} % |")
        print(f"| total | {total / MESSAGES * 1e3:.2f} | (2 cores give {2000 / (total / MESSAGES * 1e3):.0f} "
              f"msg/s at this cost) |")
        names = ("smtp-edge", "policy", "scanner", "delivery")
        samples = breakdown(data, [procs[n][0] for n in names])
        for name in names:
            c = samples[str(procs[name][0])]
            n = sum(c.values()) or 1
            user = sum(v for k, v in c.items() if k.startswith("user:"))
            print(f"\n{name}: {n} samples, {user / n * 100:.0f} % in user space; top activities\n")
            print("| share | activity |")
            print("| ---: | --- |")
            for what, v in c.most_common(TOP):
                print(f"| {v / n * 100:.1f} % | `{what}` |")
    finally:
        problems = stack.stop()
        subprocess.run(["rm", "-rf", str(tmp)])
        if problems:
            print("\n".join(problems)[:2000], file=sys.stderr)


if __name__ == "__main__":
    main()
