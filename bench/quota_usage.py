"""See bench/quota-usage."""
import os
import pathlib
import subprocess
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "lib"))
from stack import Stack, cpu_seconds, load_avg, machine  # noqa: E402

MAILBOX = int(os.environ.get("MAILBOX", "100000"))
MESSAGES = int(os.environ.get("MESSAGES", "500"))


def run(existing):
    """(delivery CPU ms per message, msg/s) with `existing` messages in the user's cur/."""
    def seed(pg):
        pg.execute("UPDATE users SET quota_bytes = 1000000000000 WHERE local_part = 'u'")
    st = Stack({"CLEMENT_MAX_SESSIONS_PER_IP": "100"}, seed=seed).start()
    try:
        box = st.maildir / "bench.test" / "u"
        for d in ("cur", "new", "tmp"):
            (box / d).mkdir(parents=True, exist_ok=True)
        for i in range(existing):
            open(box / "cur" / f"{i}.M1P1.bench,S=10000:2,S", "w").close()
        old = time.time() - 60  # a mailbox nobody touched for a minute
        os.utime(box / "cur", (old, old))
        pid = st.service("delivery").proc.pid
        a, t0 = cpu_seconds(pid), time.monotonic()
        subprocess.run(["/usr/sbin/smtp-source", "-s", "10", "-m", str(MESSAGES), "-l", "10240",
                        "-f", "sender@source.example", "-t", "u@bench.test", f"127.0.0.1:{st.smtp_port}"],
                       check=True, stdout=subprocess.DEVNULL, timeout=900)
        el = time.monotonic() - t0
        if st.delivered() != MESSAGES:
            sys.exit(f"quota-usage: {st.delivered()} of {MESSAGES} delivered")
        return (cpu_seconds(pid) - a) / MESSAGES * 1e3, MESSAGES / el
    finally:
        st.stop()


def main():
    loads = [load_avg()]
    rows = []
    for n in (0, MAILBOX):
        rows.append((n, *run(n)))
        loads.append(load_avg())
    print(f"\n### Delivery to a user with a quota, by mailbox size\n\n{machine()}; load average "
          f"{min(loads):.1f} to {max(loads):.1f}; smtp-source, {MESSAGES} x 10 KB over 10 sessions; build "
          f"{os.environ.get('CLEMENT_BUILD', 'build')}\n")
    print("| messages already in cur/ | delivery CPU ms/msg | msg/s |")
    print("| ---: | ---: | ---: |")
    for n, cpu, rate in rows:
        print(f"| {n} | {cpu:.2f} | {rate:.0f} |")
    print(f"\nCPU ratio, full mailbox / empty: {rows[1][1] / max(rows[0][1], 1e-9):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
