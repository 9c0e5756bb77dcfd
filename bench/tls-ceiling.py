"""See bench/tls-ceiling."""
import os
import pathlib
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "lib"))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from stack import Stack, load_avg, machine  # noqa: E402
from cpu import tree_cpu  # noqa: E402
from eod_latency import session  # noqa: E402
from threaded import run_threaded  # noqa: E402

SESSIONS = int(os.environ.get("SESSIONS", "300"))
CONCURRENCY = int(os.environ.get("CONCURRENCY", "8"))
ROUNDS = int(os.environ.get("ROUNDS", "2"))
KEY = os.environ.get("KEY", "rsa")  # rsa: the stack's RSA-2048 certificate; ec: an ECDSA P-256 one


def ec_cert(d):
    """A self-signed ECDSA P-256 certificate for localhost in d: (cert, key) paths."""
    cert, key = d / "ec-cert.pem", d / "ec-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "2", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return str(cert), str(key)


def run(port, tls):
    """SESSIONS sessions of one message each over CONCURRENCY threads; seconds."""
    return run_threaded(lambda: session(port, 10240, tls, False, False, count=1), SESSIONS, CONCURRENCY, "sessions")


def main():
    env = {"CLEMENT_MAX_SESSIONS_PER_IP": "100"}
    if KEY == "ec":
        env["CLEMENT_TLS_CERT"], env["CLEMENT_TLS_KEY"] = ec_cert(pathlib.Path(tempfile.mkdtemp(prefix="clement-ec-")))
    st = Stack(env).start()
    edge = st.edge().proc.pid
    res, loads = {False: [], True: []}, [load_avg()]
    try:
        run(st.smtp_port, True)  # warm-up
        for r in range(ROUNDS):
            for tls in ((False, True) if r % 2 == 0 else (True, False)):
                a = tree_cpu(edge)
                t = run(st.smtp_port, tls)
                res[tls].append(((tree_cpu(edge) - a) / SESSIONS * 1e3, SESSIONS / t))
                loads.append(load_avg())
    finally:
        for p in st.stop():
            print("clement:", p[:400], file=sys.stderr)
    print(f"\n### smtp-edge CPU per session, plain vs STARTTLS\n\n{machine()}; load average {min(loads):.1f} to "
          f"{max(loads):.1f}; {SESSIONS} sessions of one 10 KB message per round, {CONCURRENCY} client threads, "
          f"{ROUNDS} rounds; certificate {'ECDSA P-256' if KEY == 'ec' else 'RSA 2048'}\n")
    print("| sessions | smtp-edge CPU ms per session (rounds) | sessions/s one core could carry | sessions/s measured (rounds) |")
    print("| --- | --- | ---: | --- |")
    for tls in (False, True):
        cpu = [x[0] for x in res[tls]]
        print(f"| {'STARTTLS' if tls else 'plain'} | {', '.join(f'{x:.2f}' for x in cpu)} | "
              f"{1000 / (sum(cpu) / len(cpu)):.0f} | {', '.join(f'{x[1]:.0f}' for x in res[tls])} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
