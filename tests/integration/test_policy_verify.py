"""clement-policy talking to real downstream servers: RCPT probes against Postfix's smtp-sink
(accepting, refusing with 5xx, refusing with 4xx, absent) and AUTH by IMAP LOGIN against a
real Dovecot (STARTTLS required, plain allowed, down), plus local argon2id passwords."""
import subprocess
import time

import pytest

from conftest import free_port, wait_port, wait_for
from harness.dovecot import Dovecot
from harness.policy import NEW_GROUP_CONTENT, reply, rpc, start_policy


class Sink:
    """One smtp-sink on a free loopback port; extra options say how it answers RCPT."""

    def __init__(self, *opts):
        self.port = free_port()
        self.proc = subprocess.Popen(["/usr/sbin/smtp-sink", "-u", "nobody", *opts, f"127.0.0.1:{self.port}", "50"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_port(self.port), "smtp-sink did not start"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture
def sinks():
    s = {"accept": Sink(), "reject": Sink("-f", "RCPT"), "tempfail": Sink("-r", "RCPT")}
    yield s
    for k in s.values():
        k.stop()


def relay_group(db, name, port, verify="probe", ttl=3600, domain=None):
    gid = db.scalar("INSERT INTO groups (name, mode, relay_host, relay_port, verify_recipients, verify_ttl_s) "
                    "VALUES (%s, 'relay', '127.0.0.1', %s, %s, %s) RETURNING id", (name, port, verify, ttl))
    did = db.scalar("INSERT INTO domains (name, group_id) VALUES (%s, %s) RETURNING id", (domain or f"{name}.test", gid))
    return gid, did


def test_probe_against_downstream(db, services, sinks):
    ok_gid, ok_did = relay_group(db, "ok", sinks["accept"].port)
    relay_group(db, "rej", sinks["reject"].port)
    relay_group(db, "tmp", sinks["tempfail"].port)
    relay_group(db, "down", free_port())
    relay_group(db, "nocache", sinks["accept"].port, ttl=0)
    url, svc = start_policy(services, db.url, CLEMENT_POLICY_PROBE_TIMEOUT_MS=2000)

    r = rpc(url, op="rcpt", sender="a@clean.test", rcpt="anyone@ok.test")
    assert reply(r) == "250 2.1.5 Ok"
    assert r["route"] == {"mode": "relay", "group_id": ok_gid, "domain_id": ok_did, "user_id": 0,
                          "quarantine": False, "content": NEW_GROUP_CONTENT}
    assert reply(rpc(url, op="rcpt", sender="a@clean.test", rcpt="ghost@rej.test")) == \
        "550 5.1.1 <ghost@rej.test>: no such user"
    # 4xx from downstream, or no downstream at all: defer, never accept.
    for rcpt in ("x@tmp.test", "x@down.test"):
        r = rpc(url, op="rcpt", sender="a@clean.test", rcpt=rcpt)
        assert r["action"] == "defer" and r["code"] == 451 and r["enh"] == "4.4.3", r
    assert rpc(url, op="rcpt", sender="a@clean.test", rcpt="y@nocache.test")["code"] == 250

    # The downstream goes away: cached answers stand for their TTL, new questions defer.
    sinks["accept"].stop()
    assert rpc(url, op="rcpt", sender="b@clean.test", rcpt="ANYONE@ok.test")["code"] == 250
    assert rpc(url, op="rcpt", sender="b@clean.test", rcpt="other@ok.test")["code"] == 451
    assert rpc(url, op="rcpt", sender="b@clean.test", rcpt="y@nocache.test")["code"] == 451   # TTL 0: no cache
    m = svc.metrics()
    assert "clement_policy_probe_cache_hits_total 1" in m
    assert 'clement_policy_probes_total{result="no_such_user"} 1' in m
    rows = wait_for(lambda: db.query("SELECT reason_class, rcpt FROM message_log"), timeout=3)
    assert [(r["reason_class"], r["rcpt"]) for r in rows] == [("unknown_rcpt", "ghost@rej.test")]


def test_relay_list_mode_uses_users_table(db, services, sinks):
    gid, did = relay_group(db, "lst", sinks["accept"].port, verify="list")
    uid = db.scalar("INSERT INTO users (domain_id, local_part) VALUES (%s, 'known') RETURNING id", (did,))
    url, _ = start_policy(services, db.url)
    r = rpc(url, op="rcpt", sender="", rcpt="known@lst.test")
    assert r["route"] == {"mode": "relay", "group_id": gid, "domain_id": did, "user_id": uid, "quarantine": False,
                          "content": NEW_GROUP_CONTENT}
    # The downstream would say yes, but the list says no: the list decides.
    assert reply(rpc(url, op="rcpt", sender="", rcpt="unknown@lst.test")) == \
        "550 5.1.1 <unknown@lst.test>: no such user"


# --- AUTH ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dovecot():
    dv = Dovecot({"carl@imap.test": "imap-secret", "pia@plain.test": "plain-secret"}).start()
    yield dv
    dv.remove()


def imap_groups(db, port):
    tls = db.scalar("INSERT INTO groups (name, mode, relay_host, imap_host, imap_port) "
                    "VALUES ('imaptls', 'relay', '127.0.0.1', '127.0.0.1', %s) RETURNING id", (port,))
    plain = db.scalar("INSERT INTO groups (name, mode, relay_host, imap_host, imap_port, imap_tls) "
                      "VALUES ('imapplain', 'relay', '127.0.0.1', '127.0.0.1', %s, 'plain') RETURNING id", (port,))
    db.execute("INSERT INTO domains (name, group_id) VALUES ('imap.test', %s), ('plain.test', %s)", (tls, plain))


def argon2_hash(pw):
    out = subprocess.run(["doveadm", "pw", "-s", "ARGON2ID", "-p", pw], check=True, capture_output=True, text=True)
    return out.stdout.strip().removeprefix("{ARGON2ID}")


def test_auth_local_and_imap(db, services, dovecot):
    imap_groups(db, dovecot.port)
    g = db.scalar("INSERT INTO groups (name, mode) VALUES ('loc', 'local') RETURNING id")
    d = db.scalar("INSERT INTO domains (name, group_id) VALUES ('example.org', %s) RETURNING id", (g,))
    db.execute("INSERT INTO users (domain_id, local_part, password_hash) VALUES (%s, 'alice', %s), "
               "(%s, 'nopass', NULL)", (d, argon2_hash("correct horse"), d))
    url, svc = start_policy(services, db.url, CLEMENT_POLICY_IMAP_CA_FILE=dovecot.dir / "cert.pem",
                            CLEMENT_POLICY_IMAP_TIMEOUT_MS=3000)

    r = rpc(url, op="auth", listener="submission", user="Alice@Example.org", password="correct horse")
    assert reply(r) == "235 2.7.0 Authentication successful" and r["user"] == "alice@example.org"
    for user, pw in [("alice@example.org", "wrong"), ("ghost@example.org", "x"), ("nopass@example.org", ""),
                     ("no-domain", "x")]:
        r = rpc(url, op="auth", listener="submission", user=user, password=pw)
        assert reply(r) == "535 5.7.8 Authentication credentials invalid", (user, r)
        assert "user" not in r

    # IMAP over STARTTLS (certificate verified against the test CA), then plain where allowed.
    r = rpc(url, op="auth", listener="submission", user="carl@imap.test", password="imap-secret")
    assert reply(r) == "235 2.7.0 Authentication successful", (r, dovecot.log()[-2000:])
    assert r["user"] == "carl@imap.test"
    assert rpc(url, op="auth", listener="submission", user="pia@plain.test", password="plain-secret")["code"] == 235
    # Last: after a failure Dovecot slows further logins from the same address.
    assert rpc(url, op="auth", listener="submission", user="carl@imap.test", password="nope")["code"] == 535
    assert "user=<carl@imap.test>, method=PLAIN" in dovecot.log() and ", TLS," in dovecot.log()
    assert "imap-secret" not in svc.log() and "correct horse" not in svc.log()


def test_auth_imap_tls_is_verified(db, services, dovecot):
    imap_groups(db, dovecot.port)
    url, _ = start_policy(services, db.url)   # no CA for the self-signed certificate
    r = rpc(url, op="auth", listener="submission", user="carl@imap.test", password="imap-secret")
    assert reply(r) == "454 4.7.0 Temporary authentication failure"


def test_auth_imap_down(db, services):
    port = free_port()
    imap_groups(db, port)
    url, svc = start_policy(services, db.url, CLEMENT_POLICY_IMAP_TIMEOUT_MS=2000)
    r = rpc(url, op="auth", listener="submission", user="carl@imap.test", password="imap-secret")
    assert reply(r) == "454 4.7.0 Temporary authentication failure"
    assert 'clement_policy_imap_logins_total{result="unavailable"} 1' in svc.metrics()
