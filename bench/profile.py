"""See bench/profile."""
import os
import pathlib
import resource
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "lib"))
from stack import Stack, load_avg, machine  # noqa: E402

MESSAGES = int(os.environ.get("MESSAGES", "3000"))
SESSIONS = int(os.environ.get("SESSIONS", "50"))
SIZE = int(os.environ.get("SIZE", "10240"))
TOP = int(os.environ.get("TOP", "12"))
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of a process (all its threads), in seconds; 0 if it is gone."""
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(f[11]) + int(f[12])) / TICK


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


def top_symbols(data, pid):
    """The TOP self-time symbols of one process from perf.data, as (percent, dso, symbol)."""
    out = subprocess.run(["perf", "report", "-i", str(data), "--pid", str(pid), "--no-children", "--sort", "dso,sym",
                          "--stdio", "-g", "none", "--percent-limit", "0.5"],
                         capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[0].endswith("%") and parts[2].startswith("["):
            rows.append((parts[0], parts[1], " ".join(parts[3:])))
    return rows[:TOP]


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
        data = tmp / "perf.data"
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
        for name in ("smtp-edge", "policy", "scanner", "delivery"):
            pid = procs[name][0]
            print(f"\n{name}: top self-time symbols (perf, kernel [k] and user [.])\n")
            print("| self % | object | symbol |")
            print("| ---: | --- | --- |")
            for pct, dso, sym in top_symbols(data, pid):
                print(f"| {pct} | {dso} | `{sym}` |")
    finally:
        problems = stack.stop()
        subprocess.run(["rm", "-rf", str(tmp)])
        if problems:
            print("\n".join(problems)[:2000], file=sys.stderr)


if __name__ == "__main__":
    main()
