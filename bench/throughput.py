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
from stack import ROOT, Stack, free_port, hist_quantiles, load_avg, machine, metrics  # noqa: E402

MESSAGES = int(os.environ.get("MESSAGES", "2000"))
SESSIONS = int(os.environ.get("SESSIONS", "50"))
ROUNDS = int(os.environ.get("ROUNDS", "5"))
SIZE = int(os.environ.get("SIZE", "10240"))
SINGLE = int(os.environ.get("SINGLE", "300"))
PF = str(ROOT / "bench/lib/postfix-instance")


def source(port, count):
    """Run smtp-source; seconds taken. Every message must get its 250 (smtp-source exits
    non-zero on any refusal)."""
    t0 = time.monotonic()
    p = subprocess.run(["/usr/sbin/smtp-source", "-s", str(SESSIONS), "-m", str(count), "-l", str(SIZE),
                        "-f", "sender@source.example", "-t", "u@bench.test", f"127.0.0.1:{port}"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=900)
    if p.returncode != 0:
        sys.exit(f"smtp-source to port {port} failed: {p.stderr.strip()[-1000:]}")
    return time.monotonic() - t0


def wait_count(fn, want, timeout=300):
    deadline = time.monotonic() + timeout
    while fn() < want and time.monotonic() < deadline:
        time.sleep(0.01)
    return fn()


def count_files(d):
    try:
        with os.scandir(d) as it:
            return sum(1 for _ in it)
    except FileNotFoundError:
        return 0


HOP_SERVICES = ("smtp-edge", "policy", "scanner", "delivery")


def snapshot(stack):
    """Every service's /metrics now; histograms are cumulative, so two snapshots give the
    observations made in between."""
    return {n: metrics(stack.health(n)) for n in HOP_SERVICES}


def delta(after, before):
    return {n: {k: v - before[n].get(k, 0) for k, v in after[n].items()} for n in after}


def hop_table(snap, messages):
    """Per-hop latency from the services' own /metrics histograms (a delta of two snapshots)."""
    edge, pol, scan, dl = (snap[n] for n in HOP_SERVICES)
    rows = [
        ("policy", "smtp-edge: round trip of one policy call (connect, rcpt; mail after AUTH)",
         edge, "clement_edge_rpc_seconds", 'service="policy"'),
        ("policy", "policy: time inside one decision (no JSON, no transport)",
         pol, "clement_policy_decision_seconds", ""),
        ("scanner", "smtp-edge: round trip of one scan call (10 KB body)",
         edge, "clement_edge_rpc_seconds", 'service="scanner"'),
        ("scanner", "scanner: time inside one scan (libclamav)",
         scan, "clement_scanner_scan_seconds", ""),
        ("delivery", "smtp-edge: round trip of one deliver call",
         edge, "clement_edge_rpc_seconds", 'service="delivery"'),
        ("delivery", "delivery: time inside one local delivery",
         dl, "clement_delivery_latency_seconds", 'mode="local"'),
        ("delivery", "delivery: one fsync (tmp file, or new/ directory)",
         dl, "clement_delivery_fsync_seconds", ""),
    ]
    out = []
    for hop, what, m, name, labels in rows:
        q = hist_quantiles(m, name, labels, (0.5, 0.99))
        if q is None:
            continue
        n, mean, (p50, p99) = q
        out.append(f"| {hop} | {what} | {n:,.0f} | {n / messages:.1f} | {fmt_ms(mean)} | {fmt_ms(p50)} | "
                   f"{fmt_ms(p99)} | {fmt_ms(mean * n / messages)} |")
    return out


def fmt_ms(s):
    return f"{s * 1e3:.3f}" if s < 0.01 else f"{s * 1e3:.2f}"


def main():
    subprocess.run(["make", "-s", "-j2", "all"], check=True, cwd=ROOT)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="clement-tp-"))
    os.chmod(tmp, 0o755)
    pf_dir, pf_port = tmp / "postfix", free_port()
    sink_port = free_port()
    subprocess.run([PF, "start", str(pf_dir), str(pf_port)], check=True)
    sink = subprocess.Popen(["/usr/sbin/smtp-sink", "-u", "nobody", "-c", f"127.0.0.1:{sink_port}", "256"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # The per-address limit (default 20) would refuse smtp-source's 50 sessions from 127.0.0.1;
    # the Postfix peer has its connection count limit off too.
    stack = Stack({"CLEMENT_MAX_SESSIONS_PER_IP": str(max(SESSIONS * 2, 100))}, pg_fsync="on").start()
    pf_inbox = pf_dir / "maildir/inbox/new"
    cl_inbox = stack.maildir / "bench.test/u/new"

    def clement_round():
        base, logs0 = count_files(cl_inbox), stack.logged()
        t0 = time.monotonic()
        t = source(stack.smtp_port, MESSAGES)
        got = count_files(cl_inbox) - base
        if got != MESSAGES:   # 250 is given only after the Maildir fsync: all must be there now
            sys.exit(f"Clement answered 250 to {MESSAGES} messages but {got} are in the Maildir")
        # The policy writes the message log in batches: wait for it before the next target
        # runs, and report how long after the last 250 the last row landed.
        wait_count(stack.logged, logs0 + MESSAGES, 120)
        results["clement (250 = in Maildir)"].append(MESSAGES / t)
        results["clement (+ log rows in PostgreSQL)"].append(MESSAGES / (time.monotonic() - t0))

    def postfix_round():
        base = count_files(pf_inbox)
        t0 = time.monotonic()
        t = source(pf_port, MESSAGES)
        results["postfix (250 = queued)"].append(MESSAGES / t)
        if wait_count(lambda: count_files(pf_inbox), base + MESSAGES) < base + MESSAGES:
            sys.exit("Postfix did not deliver every message within 300 s")
        results["postfix (until in Maildir)"].append(MESSAGES / (time.monotonic() - t0))

    def sink_round():
        results["smtp-sink"].append(MESSAGES / source(sink_port, MESSAGES))

    results = {k: [] for k in ("clement (250 = in Maildir)", "clement (+ log rows in PostgreSQL)",
                               "postfix (250 = queued)", "postfix (until in Maildir)", "smtp-sink")}
    loads = [load_avg()]
    order = [clement_round, postfix_round, sink_round]
    try:
        # Warm-up (page cache, connections, Postfix's processes), not counted.
        source(stack.smtp_port, 200)
        source(pf_port, 200)
        wait_count(lambda: count_files(pf_inbox), 200, 60)
        wait_count(stack.logged, 200, 60)
        before = snapshot(stack)
        for r in range(ROUNDS):
            for fn in order[r % 3:] + order[:r % 3]:   # rotate who goes first
                fn()
                loads.append(load_avg())
            print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.0f}" for k, v in results.items()),
                  file=sys.stderr, flush=True)
        loaded = hop_table(delta(snapshot(stack), before), ROUNDS * MESSAGES)
        # The same hops with one session at a time: what each hop adds to one message when
        # nothing queues in front of it.
        before = snapshot(stack)
        subprocess.run(["/usr/sbin/smtp-source", "-s", "1", "-m", str(SINGLE), "-l", str(SIZE),
                        "-f", "sender@source.example", "-t", "u@bench.test", f"127.0.0.1:{stack.smtp_port}"],
                       check=True, stdout=subprocess.DEVNULL, timeout=600)
        single = hop_table(delta(snapshot(stack), before), SINGLE)
    finally:
        problems = stack.stop()
        sink.terminate()
        subprocess.run([PF, "stop", str(pf_dir)])
        shutil.rmtree(tmp, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"\n### Throughput\n\n{machine()}; load average during the run {min(loads):.1f} to {max(loads):.1f}\n\n"
          f"smtp-source, {MESSAGES} messages of {SIZE} bytes per round, {SESSIONS} concurrent sessions, "
          f"{ROUNDS} rounds alternating between the targets (who goes first rotates)\n")
    print("| target | msg/s (median) | rounds |")
    print("| --- | ---: | --- |")
    for k, v in results.items():
        print(f"| {k} | {med[k]:.0f} | {', '.join(f'{x:.0f}' for x in v)} |")
    def ratio_row(label, num, den, target=""):
        per = [x / y for x, y in zip(results[num], results[den])]
        print(f"| {label} | {statistics.median(per):.2f} | {med[num] / med[den]:.2f} | "
              f"{', '.join(f'{x:.2f}' for x in per)} | {target} |")

    print("\n| ratio | median of the rounds' ratios | ratio of the medians | per round | target |")
    print("| --- | ---: | ---: | --- | --- |")
    ratio_row("Clement (in Maildir) / Postfix (in Maildir)", "clement (250 = in Maildir)",
              "postfix (until in Maildir)", ">= 1.0")
    ratio_row("Clement (+ logs) / Postfix (in Maildir)", "clement (+ log rows in PostgreSQL)",
              "postfix (until in Maildir)")
    ratio_row("Clement (in Maildir) / Postfix (queued)", "clement (250 = in Maildir)", "postfix (250 = queued)")
    ratio_row("Clement (in Maildir) / smtp-sink", "clement (250 = in Maildir)", "smtp-sink")
    head = ("| hop | histogram | observations | per message | mean ms | p50 ms | p99 ms | ms per message |\n"
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(f"\n### Per-hop latency, {SESSIONS} sessions (the throughput rounds of Clement)\n\n{head}")
    print("\n".join(loaded))
    print(f"\n### Per-hop latency, one session at a time ({SINGLE} messages)\n\n{head}")
    print("\n".join(single))
    print("\n(from the services' own /metrics histograms, the difference of two snapshots; p50/p99 "
          "interpolated linearly inside the bucket that holds them)")
    if problems:
        print("\n".join(problems), file=sys.stderr)


if __name__ == "__main__":
    main()
