"""stack.py - the real Clement stack for the browser tests, started with the integration
harness's own classes (tests/integration/conftest.py): a private PostgreSQL, migrations,
demo data (db/seed/demo.sql with fresh random passwords), a Dovecot checking the relay group's
IMAP logins, then policy, scanner, delivery, banstats, admin-api (serving frontend/) and
smtp-edge on loopback ports from free_port().

Usage: stack.py STATE.json   -- writes the addresses, accounts and per-service status as
JSON to STATE.json once everything that can start has started, then waits for SIGTERM or
SIGINT, stops every service (SIGTERM) and PostgreSQL, and exits non-zero when a service
did not exit 0 or left a sanitizer report. A service that cannot start is recorded as
{"up": false, "error": ...} so the tests can say precisely which flow it blocks.
"""
import json
import os
import pathlib
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))
import conftest  # noqa: E402  (the harness; not a pytest run, just its classes)
from conftest import BIN, ROOT, Postgres, Services, free_port  # noqa: E402
from harness.dovecot import Dovecot  # noqa: E402
from harness.passwords import hash_password  # noqa: E402

IMAP_ACCOUNT = "carl@imap.test"  # known to the IMAP demo group's Dovecot only
IMAP_PW = "imap secret 1"

ACCOUNTS = {  # demo.sql's users
    "root": ("root@example.test", "root-admin"),
    "gadmin": ("groupadmin@example.test", "group-admin"),
    "dadmin": ("domainadmin@example.test", "domain-admin"),
    "alice": ("alice@example.test", "user"),
    "bob": ("bob@relay.test", "user"),
}

stop_requested = False


def on_signal(_sig, _frm):
    global stop_requested
    stop_requested = True


def seed(pg, sink_port):
    # Never a leading "-": swaks (lib.mjs's smtp()) reads `--auth-password -x...` as an option
    # and fails the test with "Unknown option" (1 password in 64 did).
    pws = {k: "p" + secrets.token_urlsafe(12) for k in ACCOUNTS}
    args = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", pg.url, "-v", "relay_host=127.0.0.1",
            "-v", f"relay_port={sink_port}", "-f", str(ROOT / "db/seed/demo.sql")]
    for k in ACCOUNTS:
        args[5:5] = ["-v", f"pw_{k}={hash_password(pws[k])}"]
    subprocess.run(args, check=True, capture_output=True)
    return {k: {"address": a, "role": r, "password": pws[k]} for k, (a, r) in ACCOUNTS.items()}


def reroll(env, name):
    """Fresh loopback ports for the listeners of service `name` (its clients start later)."""
    if name == "admin-api":
        port = free_port()
        env["CLEMENT_ADMIN_LISTEN"] = f"127.0.0.1:{port}"
        env["CLEMENT_DIGEST_BASE_URL"] = f"http://127.0.0.1:{port}"
    elif name == "smtp-edge":
        for k in ("CLEMENT_SMTP_LISTEN", "CLEMENT_SMTPS_LISTEN", "CLEMENT_SUBMISSION_LISTEN"):
            env[k] = f"127.0.0.1:{free_port()}"
    else:
        url = f"tcp://127.0.0.1:{free_port()}"
        env[f"CLEMENT_{name.upper()}_LISTEN"] = url
        env[f"CLEMENT_{name.upper()}_URL"] = url


def main():
    state_path = pathlib.Path(sys.argv[1])
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="clement-browser-"))
    os.chmod(tmp, 0o755)
    logdir = tmp / "log"
    logdir.mkdir()
    maildir = tmp / "maildir"
    maildir.mkdir()
    pg = Postgres(tmp)
    pg.start()
    services = Services(logdir)
    sink = dovecot = None
    rc = 0
    try:
        pg.migrate()
        sink_port = free_port()
        sink = subprocess.Popen(["/usr/sbin/smtp-sink", "-c"] + (["-u", "nobody"] if os.getuid() == 0 else [])
                                + [f"127.0.0.1:{sink_port}", "100"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        accounts = seed(pg, sink_port)
        sigs = tmp / "sigs"
        if (ROOT / "scripts/make-test-sigs").exists():
            subprocess.run([str(ROOT / "scripts/make-test-sigs"), str(sigs)], capture_output=True)
        tls = tmp / "tls"
        if (ROOT / "scripts/make-cert").exists():
            subprocess.run([str(ROOT / "scripts/make-cert"), str(tls)], capture_output=True)
        web_port, smtp_port = free_port(), free_port()
        rpc = {n: f"tcp://127.0.0.1:{free_port()}" for n in ("policy", "scanner", "delivery", "banstats")}
        env = {"CLEMENT_DB_URL": pg.url, "CLEMENT_LOG_LEVEL": "info",
               "CLEMENT_MAILDIR_ROOT": str(maildir), "CLEMENT_FRONTEND_DIR": str(ROOT / "frontend"),
               "CLEMENT_ADMIN_LISTEN": f"127.0.0.1:{web_port}", "CLEMENT_SMTP_LISTEN": f"127.0.0.1:{smtp_port}",
               "CLEMENT_SMTPS_LISTEN": f"127.0.0.1:{free_port()}", "CLEMENT_SUBMISSION_LISTEN": f"127.0.0.1:{free_port()}",
               "CLEMENT_CLAMAV_DB": str(sigs), "CLEMENT_TLS_CERT": str(tls / "cert.pem"), "CLEMENT_TLS_KEY": str(tls / "key.pem"),
               "CLEMENT_HOSTNAME": "clement.localhost", "CLEMENT_DIGEST_BASE_URL": f"http://127.0.0.1:{web_port}",
               "CLEMENT_DIGEST_SECRET": secrets.token_hex(32), "CLEMENT_NEVER_BAN": "127.0.0.0/8,::1/128"}
        for n, url in rpc.items():
            env[f"CLEMENT_{n.upper()}_LISTEN"] = url
            env[f"CLEMENT_{n.upper()}_URL"] = url
        status = {}
        # A real Dovecot checking the logins of a third, relay-mode group's users (their mail
        # server knows their password, Clement does not); its self-signed certificate is
        # trusted through CLEMENT_IMAP_CA_FILE (admin-api) and CLEMENT_POLICY_IMAP_CA_FILE.
        try:
            dovecot = Dovecot({IMAP_ACCOUNT: IMAP_PW}).start()
            pg.execute("INSERT INTO groups (name, mode, relay_host, relay_port, imap_host, imap_port, imap_tls) "
                       "VALUES ('IMAP demo', 'relay', '127.0.0.1', %s, '127.0.0.1', %s, 'required')",
                       (sink_port, dovecot.port))
            pg.execute("INSERT INTO domains (name, group_id) SELECT 'imap.test', id FROM groups WHERE name = 'IMAP demo'")
            env["CLEMENT_IMAP_CA_FILE"] = env["CLEMENT_POLICY_IMAP_CA_FILE"] = dovecot.ca
            status["dovecot"] = {"up": True}
        except (OSError, AssertionError, subprocess.CalledProcessError) as e:
            status["dovecot"] = {"up": False, "error": f"Dovecot did not start: {e}"}
        for name in ("policy", "scanner", "delivery", "banstats", "admin-api", "smtp-edge"):
            if not (BIN / f"clement-{name}").exists():
                status[name] = {"up": False, "error": f"{BIN}/clement-{name} is not built"}
                continue
            for attempt in range(3):
                try:
                    services.start(name, env)
                    status[name] = {"up": True}
                    break
                except RuntimeError as e:
                    status[name] = {"up": False, "error": str(e)[-2000:]}
                    services.expect_dead.add(services.started[-1])
                    # free_port() can race with other test runs on the machine: new ports, again.
                    if "in use" not in str(e):
                        break
                    reroll(env, name)
        web = env["CLEMENT_ADMIN_LISTEN"]
        smtp_port = int(env["CLEMENT_SMTP_LISTEN"].rsplit(":", 1)[1])
        submission_port = int(env["CLEMENT_SUBMISSION_LISTEN"].rsplit(":", 1)[1])
        state = {"web": f"http://{web}", "smtp_host": "127.0.0.1", "smtp_port": smtp_port,
                 "submission_port": submission_port,
                 "imap_account": {"address": IMAP_ACCOUNT, "password": IMAP_PW},
                 "maildir": str(maildir), "db_url": pg.url, "logdir": str(logdir), "accounts": accounts,
                 "digest_secret": env["CLEMENT_DIGEST_SECRET"],
                 "services": status}
        tmp_state = state_path.with_suffix(".tmp")
        tmp_state.write_text(json.dumps(state, indent=1))
        tmp_state.rename(state_path)
        while not stop_requested:
            time.sleep(0.2)
    finally:
        problems = services.stop_all()
        if dovecot is not None:
            dovecot.remove()
        if sink is not None:
            sink.terminate()
            sink.wait()
        pg.stop()
        if problems:
            rc = 1
            sys.stderr.write("\n\n".join(problems) + "\n")
        if os.environ.get("CLEMENT_BROWSER_KEEP") != "1":
            shutil.rmtree(tmp, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
