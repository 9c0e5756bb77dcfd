"""admin-api: users of a relay-mode group that names an IMAP server log in with their mailbox
password, checked by an IMAP login at a real Dovecot (STARTTLS, self-signed certificate
trusted through CLEMENT_IMAP_CA_FILE). The TLS modes, [UNAVAILABLE] and admin accounts are
in test_imap_login.py."""
import pytest

from harness.api import Api, pw_hash, start_api
from harness.dovecot import Dovecot

IMAP_PW = "imap secret 1"


@pytest.fixture
def dovecot():
    dv = Dovecot({"bob@relay.test": IMAP_PW, "carl@relay.test": IMAP_PW}).start()
    yield dv
    dv.remove()


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
