"""See bench/throughput."""
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "lib"))
from stack import ROOT, Stack, free_port  # noqa: E402

MESSAGES = int(os.environ.get("MESSAGES", "2000"))
SESSIONS = int(os.environ.get("SESSIONS", "50"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
SIZE = int(os.environ.get("SIZE", "10240"))


def source(port, count):
    """Run smtp-source; seconds taken."""
    t0 = time.monotonic()
    subprocess.run(["/usr/sbin/smtp-source", "-s", str(SESSIONS), "-m", str(count), "-l", str(SIZE),
                    "-f", "sender@source.example", "-t", "u@bench.test", f"127.0.0.1:{port}"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
    return time.monotonic() - t0


def wait_count(fn, want, timeout=120):
    deadline = time.monotonic() + timeout
    while fn() < want and time.monotonic() < deadline:
        time.sleep(0.02)
    return fn()


def main():
    subprocess.run(["make", "-s", "-j2", "all"], check=True, cwd=ROOT)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="clement-tp-"))
    os.chmod(tmp, 0o755)
    pf_dir, pf_port = tmp / "postfix", free_port()
    sink_port = free_port()
    subprocess.run([str(ROOT / "bench/lib/postfix-instance"), "start", str(pf_dir), str(pf_port)], check=True)
    sink = subprocess.Popen(["/usr/sbin/smtp-sink", "-u", "nobody", "-c", f"127.0.0.1:{sink_port}", "256"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stack = Stack().start()

    def pf_count():
        out = subprocess.run([str(ROOT / "bench/lib/postfix-instance"), "count", str(pf_dir)],
                             capture_output=True, text=True).stdout
        return int(out.strip() or 0)

    results = {"clement": [], "postfix-smtp": [], "postfix-maildir": [], "smtp-sink": []}
    try:
        for r in range(ROUNDS):
            base = stack.delivered()
            t = source(stack.smtp_port, MESSAGES)
            got = wait_count(stack.delivered, base + MESSAGES, 5) - base
            if got != MESSAGES:
                print(f"warning: Clement delivered {got} of {MESSAGES} in round {r}", file=sys.stderr)
            results["clement"].append(MESSAGES / t)   # 250 only after the Maildir fsync: end to end

            base = pf_count()
            t0 = time.monotonic()
            t = source(pf_port, MESSAGES)
            results["postfix-smtp"].append(MESSAGES / t)
            wait_count(pf_count, base + MESSAGES)
            results["postfix-maildir"].append(MESSAGES / (time.monotonic() - t0))

            t = source(sink_port, MESSAGES)
            results["smtp-sink"].append(MESSAGES / t)
    finally:
        problems = stack.stop()
        sink.terminate()
        subprocess.run([str(ROOT / "bench/lib/postfix-instance"), "stop", str(pf_dir)])
        shutil.rmtree(tmp, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"\nThroughput: {MESSAGES} messages of {SIZE} bytes, {SESSIONS} sessions, {ROUNDS} alternating rounds "
          "(median msg/s)\n")
    print("| target | msg/s (median) | rounds |")
    print("| --- | ---: | --- |")
    for k, v in results.items():
        print(f"| {k} | {med[k]:.0f} | {', '.join(f'{x:.0f}' for x in v)} |")
    print(f"\nClement / Postfix (SMTP accept, queued):        {med['clement'] / med['postfix-smtp']:.2f}")
    print(f"Clement / Postfix (until in Maildir):          {med['clement'] / med['postfix-maildir']:.2f}")
    print(f"Clement / smtp-sink (protocol ceiling):        {med['clement'] / med['smtp-sink']:.2f}")
    if problems:
        print("\n".join(problems), file=sys.stderr)


if __name__ == "__main__":
    main()
