"""IMAP login, one implementation (lib/auth/imap_login.c) for SMTP AUTH and web login
(issue 15, findings 11 and 1), against one real Dovecot listening with STARTTLS and with
implicit TLS: both paths follow one TLS rule, verify the certificate, call a server that is
down or answers [UNAVAILABLE] a temporary failure (SMTP 454 4.7.0, HTTP 503), never a wrong
password; admin accounts never log in through a group's IMAP server; only a root-admin may
change where a group's IMAP logins go, and a plain-text choice is logged.

SMTP AUTH goes through a real smtp-edge (smtplib, STARTTLS on the submission port) to a real
policy; web login through a real admin-api."""
import smtplib

import pytest

from conftest import free_port, wait_for
from harness.api import Api, pw_hash, start_api
from harness.dovecot import UNAVAILABLE_ACCOUNT, dovecot_factory  # noqa: F401 (fixture)
from harness.fakerpc import fake  # noqa: F401 (fixtures: fake)
from harness.policy import start_policy
from harness.smtp import client_tls, local_only, start_edge

pytestmark = local_only

IMAP_PW = "imap secret 1"
LOCAL_PW = "correct horse 1"  # test_admin_api's PASSWORD, hashed by pw_hash()

# domain -> (imap_tls, which Dovecot listener); every domain's group names the same Dovecot.
GROUPS = {
    "starttls.test": ("required", "port"),      # not 993: STARTTLS on the plain listener
    "implicit.test": ("implicit", "tls_port"),  # the group says implicit TLS, on any port
    "plain.test": ("plain", "port"),            # a root-admin's explicit decision
    "wrongmode.test": ("required", "tls_port"),  # STARTTLS spoken to an implicit-TLS port: cannot work
    "down.test": ("required", None),            # nobody listens
    "imap.test": ("required", "port"),          # UNAVAILABLE_ACCOUNT's domain
}


@pytest.fixture
def dv(dovecot_factory):  # noqa: F811
    accounts = {f"carl@{d}": IMAP_PW for d in GROUPS}
    # Admin accounts that the mail server also knows, with the same password there.
    accounts.update({"boss@starttls.test": IMAP_PW, "gina@starttls.test": IMAP_PW, "dana@starttls.test": IMAP_PW})
    return dovecot_factory(accounts)


def seed(db, dv):
    ids = {}
    for dom, (tls, listener) in GROUPS.items():
        port = getattr(dv, listener) if listener else free_port()
        gid = db.scalar("INSERT INTO groups (name, mode, relay_host, imap_host, imap_port, imap_tls) "
                        "VALUES (%s, 'relay', '127.0.0.1', '127.0.0.1', %s, %s) RETURNING id", (dom, port, tls))
        ids[dom] = db.scalar("INSERT INTO domains (name, group_id) VALUES (%s, %s) RETURNING id", (dom, gid))
        ids["g:" + dom] = gid
    d = ids["starttls.test"]
    # boss: root-admin with a local password; gina: group-admin, dana: domain-admin, both
    # without one (they could only ever log in through IMAP, which admins may not).
    ids["boss"] = db.scalar("INSERT INTO users (domain_id, local_part, role, password_hash) "
                            "VALUES (%s, 'boss', 'root-admin', %s) RETURNING id", (d, pw_hash(LOCAL_PW)))
    ids["gina"] = db.scalar("INSERT INTO users (domain_id, local_part, role) VALUES (%s, 'gina', 'group-admin') "
                            "RETURNING id", (d,))
    ids["dana"] = db.scalar("INSERT INTO users (domain_id, local_part, role) VALUES (%s, 'dana', 'domain-admin') "
                            "RETURNING id", (d,))
    db.execute("INSERT INTO admin_scopes (user_id, group_id) VALUES (%s, %s)", (ids["gina"], ids["g:starttls.test"]))
    db.execute("INSERT INTO admin_scopes (user_id, domain_id) VALUES (%s, %s)", (ids["dana"], d))
    db.execute("TRUNCATE login_failures")
    return ids


class Logins:
    """SMTP AUTH through edge + policy, and web login through admin-api, for one set of settings."""

    def __init__(self, services, db, fake, tmp_path, ca):
        extra = {"CLEMENT_POLICY_IMAP_CA_FILE": ca} if ca else {}
        url, self.policy = start_policy(services, db.url, CLEMENT_POLICY_IMAP_TIMEOUT_MS=4000,
                                       CLEMENT_POLICY_ALLOW_LOOPBACK=1, **extra)
        self.edge = start_edge(services, fake, CLEMENT_POLICY_URL=url, CLEMENT_POLICY_TIMEOUT_MS=8000)
        self.api = start_api(services, db, tmp_path, CLEMENT_IMAP_TIMEOUT_S=4,
                             **({"CLEMENT_IMAP_CA_FILE": ca} if ca else {}))

    def smtp(self, user, pw):
        """The SMTP reply code to AUTH (smtplib after STARTTLS on the submission port)."""
        with smtplib.SMTP(self.edge.host, self.edge.submission, timeout=30) as c:
            c.starttls(context=client_tls())
            try:
                return c.login(user, pw)[0]
            except smtplib.SMTPAuthenticationError as e:
                return e.smtp_code

    def web(self, user, pw):
        st, body = Api(self.api.port).login(user, pw)
        return st, body


@pytest.fixture
def logins(services, db, fake, tmp_path, dv):
    seed(db, dv)
    return Logins(services, db, fake, tmp_path, dv.ca)


def test_one_tls_rule_and_temporary_failures_for_both_paths(logins, dv):
    expect = {  # domain -> (SMTP code, HTTP status) for the right password
        "starttls.test": (235, 200), "implicit.test": (235, 200), "plain.test": (235, 200),
        "wrongmode.test": (454, 503), "down.test": (454, 503),
    }
    for dom, (code, status) in expect.items():
        user = f"carl@{dom}"
        assert (logins.smtp(user, IMAP_PW), logins.web(user, IMAP_PW)[0]) == (code, status), (dom, dv.log()[-1500:])
    # A wrong password is a "no" only where the server could answer.
    for dom in ("starttls.test", "implicit.test", "plain.test"):
        assert (logins.smtp(f"carl@{dom}", "wrong"), logins.web(f"carl@{dom}", "wrong")[0]) == (535, 401), dom
    # The server up, but its password backend down: NO [UNAVAILABLE] is temporary too.
    assert logins.smtp(UNAVAILABLE_ACCOUNT, IMAP_PW) == 454
    st, body = logins.web(UNAVAILABLE_ACCOUNT, IMAP_PW)
    assert st == 503 and "try again later" in body["error"]
    # Which listener and TLS each login used, as Dovecot saw it.
    log = dv.log()
    for dom in ("starttls.test", "implicit.test"):
        lines = [l for l in log.splitlines() if f"Login: user=<carl@{dom}>" in l]
        assert len(lines) == 2 and all(", TLS," in l for l in lines), lines
    lines = [l for l in log.splitlines() if "Login: user=<carl@plain.test>" in l]
    assert len(lines) == 2 and not any("TLS" in l for l in lines), lines
    m = logins.policy.metrics()  # smtplib tries PLAIN, then LOGIN: each refusal counts twice
    assert 'clement_policy_imap_logins_total{result="ok"} 3' in m and '{result="unavailable"} 6' in m, m
    for svc in (logins.policy, logins.api):
        assert IMAP_PW not in svc.log()


def test_certificate_is_verified_on_both_paths(services, db, fake, tmp_path, dv):
    seed(db, dv)
    lg = Logins(services, db, fake, tmp_path, ca=None)  # the self-signed certificate is not trusted
    for dom in ("starttls.test", "implicit.test"):
        assert (lg.smtp(f"carl@{dom}", IMAP_PW), lg.web(f"carl@{dom}", IMAP_PW)[0]) == (454, 503), dom
    assert "Login: user=<carl@" not in dv.log()  # the password never reached the untrusted server
    # plain needs no certificate: the root-admin chose it.
    assert lg.smtp("carl@plain.test", IMAP_PW) == 235


def test_admins_never_log_in_through_the_groups_imap_server(logins, db, dv):
    # The mail server accepts IMAP_PW for all three; Clement does not ask it for admins.
    for user in ("boss@starttls.test", "gina@starttls.test", "dana@starttls.test"):
        assert logins.smtp(user, IMAP_PW) == 535, user
        assert logins.web(user, IMAP_PW)[0] == 401, user
    assert "Login: user=<boss@" not in dv.log() and "Login: user=<gina@" not in dv.log()
    # The root-admin's own local password still works on both paths.
    assert logins.smtp("boss@starttls.test", LOCAL_PW) == 235
    st, me = logins.web("boss@starttls.test", LOCAL_PW)
    assert st == 200 and me["role"] == "root-admin"
    # A plain user of the same group logs in by IMAP and is created on first web login.
    st, me = logins.web("carl@starttls.test", IMAP_PW)
    assert st == 200 and me["role"] == "user"


def test_only_root_changes_a_groups_imap_server(services, db, tmp_path, dv):
    ids = seed(db, dv)
    db.execute("UPDATE users SET password_hash = %s WHERE id = %s", (pw_hash(LOCAL_PW), ids["gina"]))
    svc = start_api(services, db, tmp_path)
    gid = ids["g:starttls.test"]
    gina, boss = Api(svc.port), Api(svc.port)
    assert gina.login("gina@starttls.test", LOCAL_PW)[0] == 200
    assert boss.login("boss@starttls.test", LOCAL_PW)[0] == 200
    before = db.query("SELECT imap_host, imap_port, imap_tls FROM groups WHERE id = %s", (gid,))
    for change in ({"imap_host": "imap.attacker.example"}, {"imap_port": 1143}, {"imap_tls": "plain"},
                   {"imap_host": None}, {"verify_ttl_s": 60, "imap_tls": "implicit"}):
        st, body = gina.req("PATCH", f"/api/groups/{gid}", change)
        assert st == 403 and "imap" in body["error"], (change, st, body)
    assert db.query("SELECT imap_host, imap_port, imap_tls FROM groups WHERE id = %s", (gid,)) == before
    # Its other settings stay the group-admin's.
    assert gina.req("PATCH", f"/api/groups/{gid}", {"verify_ttl_s": 60})[0] == 200
    # root-admin: may, and a plain-text IMAP group is a logged decision.
    st, g = boss.req("PATCH", f"/api/groups/{gid}", {"imap_tls": "implicit", "imap_port": dv.tls_port})
    assert st == 200 and g["imap_tls"] == "implicit"
    assert "imap_plain" not in svc.log()
    st, g = boss.req("PATCH", f"/api/groups/{gid}", {"imap_tls": "plain", "imap_port": dv.port})
    assert st == 200 and g["imap_tls"] == "plain"
    line = wait_for(lambda: [l for l in svc.log().splitlines() if "imap_plain" in l])
    assert line and "WARN" in line[0].upper() and f"group={gid}" in line[0] and f"by={ids['boss']}" in line[0]
    assert boss.req("PATCH", f"/api/groups/{gid}", {"imap_tls": "bogus"})[0] == 400
