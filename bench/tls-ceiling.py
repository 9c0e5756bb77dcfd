"""See bench/tls-ceiling."""
import os
import pathlib
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "lib"))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from stack import Stack, load_avg, machine, metrics  # noqa: E402
from cpu import tree_cpu  # noqa: E402
from eod_latency import session  # noqa: E402
from threaded import run_threaded  # noqa: E402
from tlsresume import Resumer  # noqa: E402

SESSIONS = int(os.environ.get("SESSIONS", "300"))
CONCURRENCY = int(os.environ.get("CONCURRENCY", "8"))
ROUNDS = int(os.environ.get("ROUNDS", "2"))
KEY = os.environ.get("KEY", "rsa")  # rsa: the stack's RSA-2048 certificate; ec: an ECDSA P-256 one
WORKERS = [int(w) for w in os.environ.get("WORKERS", "").split(",") if w]  # e.g. 1,2: compare worker counts
RESUME = os.environ.get("RESUME") == "1"  # a third kind of session: STARTTLS resuming the last TLS session
RESUMER = Resumer(True)


def ec_cert(d):
    """A self-signed ECDSA P-256 certificate for localhost in d: (cert, key) paths."""
    cert, key = d / "ec-cert.pem", d / "ec-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "2", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return str(cert), str(key)


def run(port, tls, resume=False):
    """SESSIONS sessions of one message each over CONCURRENCY threads; seconds. resume: each
    STARTTLS offers the last session's ticket (RESUMER counts the resumptions)."""
    r = RESUMER if resume else None
    return run_threaded(lambda: session(port, 10240, tls, False, False, count=1, resumer=r), SESSIONS, CONCURRENCY,
                        "sessions")


def restart_edge(st, workers):
    """smtp-edge again on the same port with CLEMENT_EDGE_WORKERS=workers; its pid."""
    st.edge().stop()
    st.services.started.remove(st.edge())
    st.services.start("smtp-edge", {**st.env, "CLEMENT_EDGE_WORKERS": str(workers)})
    return st.edge().proc.pid


def compare_workers(st, loads):
    """STARTTLS sessions/s and smtp-edge CPU per session for each count in WORKERS, alternating
    the order each round; prints the table and the ratios to the first count."""
    res = {w: [] for w in WORKERS}
    for r in range(ROUNDS):
        for w in (WORKERS if r % 2 == 0 else WORKERS[::-1]):
            edge = restart_edge(st, w)
            run(st.smtp_port, True)  # warm-up of this process
            a = tree_cpu(edge)
            t = run(st.smtp_port, True)
            cpu = (tree_cpu(edge) - a) / SESSIONS * 1e3
            m = metrics(st.health("smtp-edge"))
            lock = [m.get(("clement_edge_limits_lock_total", f'result="{k}"'), 0) for k in ("free", "waited")]
            res[w].append((SESSIONS / t, cpu, lock))
            loads.append(load_avg())
    print(f"\n### STARTTLS sessions/s by CLEMENT_EDGE_WORKERS\n\n{machine()}; load average {min(loads):.1f} to "
          f"{max(loads):.1f}; {SESSIONS} STARTTLS sessions of one 10 KB message per round, {CONCURRENCY} client "
          f"threads, {ROUNDS} rounds alternating the order; certificate {'ECDSA P-256' if KEY == 'ec' else 'RSA 2048'}\n")
    print("| workers | sessions/s (rounds) | mean | ratio to the first | smtp-edge CPU ms per session (rounds) "
          "| limits lock: takings that waited / all |")
    print("| ---: | --- | ---: | ---: | --- | --- |")
    base = sum(x[0] for x in res[WORKERS[0]]) / ROUNDS
    for w in WORKERS:
        mean = sum(x[0] for x in res[w]) / ROUNDS
        print(f"| {w} | {', '.join(f'{x[0]:.0f}' for x in res[w])} | {mean:.0f} | {mean / base:.2f} | "
              f"{', '.join(f'{x[1]:.2f}' for x in res[w])} | "
              f"{', '.join(f'{x[2][1]:.0f} / {x[2][0] + x[2][1]:.0f}' for x in res[w])} |")
    ratios = [res[WORKERS[-1]][i][0] / res[WORKERS[0]][i][0] for i in range(ROUNDS)]
    print(f"\nper-round ratio {WORKERS[-1]}/{WORKERS[0]}: {', '.join(f'{x:.2f}' for x in ratios)}")


def main():
    env = {"CLEMENT_MAX_SESSIONS_PER_IP": "100"}
    if KEY == "ec":
        env["CLEMENT_TLS_CERT"], env["CLEMENT_TLS_KEY"] = ec_cert(pathlib.Path(tempfile.mkdtemp(prefix="clement-ec-")))
    st = Stack(env).start()
    edge = st.edge().proc.pid
    # (name, STARTTLS, resumption)
    kinds = [("plain", False, False), ("STARTTLS", True, False)] + ([("STARTTLS, resumed", True, True)] if RESUME else [])
    res, loads = {k[0]: [] for k in kinds}, [load_avg()]
    try:
        if WORKERS:
            compare_workers(st, loads)
            return 0
        run(st.smtp_port, True, RESUME)  # warm-up (and, with RESUME, the first ticket)
        RESUMER.take_counts()
        for r in range(ROUNDS):
            for name, tls, resume in (kinds if r % 2 == 0 else kinds[::-1]):
                a = tree_cpu(edge)
                t = run(st.smtp_port, tls, resume)
                resumed, full = RESUMER.take_counts()
                res[name].append(((tree_cpu(edge) - a) / SESSIONS * 1e3, SESSIONS / t, resumed, full))
                loads.append(load_avg())
    finally:
        for p in st.stop():
            print("clement:", p[:400], file=sys.stderr)
    print(f"\n### smtp-edge CPU per session, plain vs STARTTLS\n\n{machine()}; load average {min(loads):.1f} to "
          f"{max(loads):.1f}; {SESSIONS} sessions of one 10 KB message per round, {CONCURRENCY} client threads, "
          f"{ROUNDS} rounds; certificate {'ECDSA P-256' if KEY == 'ec' else 'RSA 2048'}\n")
    print("| sessions | smtp-edge CPU ms per session (rounds) | sessions/s one core could carry | sessions/s measured (rounds) |"
          + (" resumed handshakes / full (rounds) |" if RESUME else ""))
    print("| --- | --- | ---: | --- |" + (" --- |" if RESUME else ""))
    for name, _, resume in kinds:
        cpu = [x[0] for x in res[name]]
        row = (f"| {name} | {', '.join(f'{x:.2f}' for x in cpu)} | {1000 / (sum(cpu) / len(cpu)):.0f} | "
               f"{', '.join(f'{x[1]:.0f}' for x in res[name])} |")
        if RESUME:
            row += f" {', '.join(f'{x[2]} / {x[3]}' for x in res[name]) if resume else ''} |"
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
