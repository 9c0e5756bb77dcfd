"""admin-api: users of a relay-mode group that names an IMAP server log in with their mailbox
password, checked by an IMAP login at a real Dovecot (implicit TLS, self-signed certificate
trusted through CLEMENT_IMAP_CA_FILE)."""
import os
import pathlib
import shutil
import signal
import tempfile
import subprocess

import pytest

from conftest import free_port, wait_port
from test_admin_api import Api, pw_hash, start_api

IMAP_PW = "imap secret 1"

DOVECOT_CONF = """protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
instance_name = clement-admin-{port}
ssl = required
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
auth_mechanisms = plain login
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = {d}/passwd
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={d}/home/%u
}}
mail_location = maildir:{d}/mail/%u
service imap-login {{
  chroot =
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""


class Dovecot:
    def __init__(self, d):
        self.dir = d
        self.port = free_port()
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / "key.pem"),
                        "-out", str(d / "cert.pem"), "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        (d / "passwd").write_text(f"bob@relay.test:{{PLAIN}}{IMAP_PW}\ncarl@relay.test:{{PLAIN}}{IMAP_PW}\n")
        for sub in ("run", "state"):
            (d / sub).mkdir(exist_ok=True)
        (d / "dovecot.conf").write_text(DOVECOT_CONF.format(d=d, port=self.port))
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", str(self.dir / "dovecot.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_port(self.port), (self.dir / "dovecot.log").read_text()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)
        self.proc = None


@pytest.fixture
def dovecot():
    # Dovecot's auth process runs as user dovecot: its files must be reachable outside
    # pytest's private (0700) temporary directory.
    d = pathlib.Path(tempfile.mkdtemp(prefix="clement-dovecot-"))
    os.chmod(d, 0o755)
    dv = Dovecot(d)
    dv.start()
    yield dv
    dv.stop()
    shutil.rmtree(d, ignore_errors=True)


def relay_world(db, imap_port, tls="required"):
    db.execute("INSERT INTO groups (id, name, mode, relay_host, imap_host, imap_port, imap_tls) "
               "VALUES (1, 'relay', 'relay', '127.0.0.1', '127.0.0.1', %s, %s)", (imap_port, tls))
    db.execute("INSERT INTO domains (id, name, group_id) VALUES (1, 'relay.test', 1)")
    db.execute("INSERT INTO users (domain_id, local_part) VALUES (1, 'bob')")
    db.execute("TRUNCATE login_failures")


def test_imap_login_up_and_down(db, services, dovecot, tmp_path):
    relay_world(db, dovecot.port)
    svc = start_api(services, db, tmp_path, CLEMENT_IMAP_CA_FILE=dovecot.dir / "cert.pem")
    a = Api(svc.port)
    st, me = a.login("bob@relay.test", IMAP_PW)
    assert st == 200 and me["role"] == "user" and me["local_password"] is False
    st, body = a.req("POST", "/api/password", {"current_password": IMAP_PW, "new_password": "x" * 12})
    assert st == 400 and "mail server" in body["error"]
    assert Api(svc.port).login("bob@relay.test", "wrong")[0] == 401
    # An account the mail server knows is created at its first login, as a plain user.
    st, me = Api(svc.port).login("carl@relay.test", IMAP_PW)
    assert st == 200 and me["role"] == "user"
    assert db.scalar("SELECT password_hash IS NULL FROM users WHERE local_part = 'carl'") is True
    assert Api(svc.port).login("nobody@relay.test", IMAP_PW)[0] == 401
    failures = db.scalar("SELECT failures FROM login_failures WHERE key = 'ip:127.0.0.1'")
    dovecot.stop()
    st, body = Api(svc.port).login("bob@relay.test", IMAP_PW)
    assert st == 503 and "cannot be reached" in body["error"]
    # A mail server being down is not the user's failure.
    assert db.scalar("SELECT failures FROM login_failures WHERE key = 'ip:127.0.0.1'") == failures
    assert a.get("/api/me")[0] == 200          # existing sessions are unaffected
    assert IMAP_PW not in svc.log()


def test_imap_certificate_is_verified(db, services, dovecot, tmp_path):
    relay_world(db, dovecot.port)
    svc = start_api(services, db, tmp_path)    # the self-signed certificate is not trusted
    st, body = Api(svc.port).login("bob@relay.test", IMAP_PW)
    assert st == 503


def test_local_password_wins_over_imap(db, services, dovecot, tmp_path):
    relay_world(db, dovecot.port)
    db.execute("UPDATE users SET password_hash = %s, role = 'domain-admin' WHERE local_part = 'bob'", (pw_hash(),))
    svc = start_api(services, db, tmp_path, CLEMENT_IMAP_CA_FILE=dovecot.dir / "cert.pem")
    assert Api(svc.port).login("bob@relay.test", IMAP_PW)[0] == 401
    assert Api(svc.port).login("bob@relay.test", "correct horse 1")[0] == 200
