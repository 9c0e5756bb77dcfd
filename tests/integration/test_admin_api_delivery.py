"""admin-api with a real clement-delivery: quarantine release and delete go over RPC, and the
one-click digest links (tokens signed as lib/mail/digest_token.h says) do the same."""
import base64
import hashlib
import hmac
import re
import time

from conftest import free_port, rpc_url
from harness.api import Api, seed, start_api

SECRET = "digest secret for tests"


def token(action, qid, expires, secret=SECRET):
    msg = f"clement-digest-v1|{action}|{qid}|{expires}".encode()
    mac = base64.urlsafe_b64encode(hmac.new(secret.encode(), msg, hashlib.sha256).digest()).rstrip(b"=").decode()
    return f"{action}.{qid}.{expires}.{mac}"


def stack(db, services, tmp_path, digests=False):
    seed(db)
    if not digests:
        db.execute("DELETE FROM digest_schedules")
    maildir = tmp_path / "mail"
    maildir.mkdir()
    url = rpc_url()
    services.start("delivery", {"CLEMENT_DELIVERY_LISTEN": url, "CLEMENT_DB_URL": db.url,
                                "CLEMENT_MAILDIR_ROOT": str(maildir), "CLEMENT_DIGEST_SECRET": SECRET,
                                "CLEMENT_DIGEST_POLL_S": "1"})
    api = start_api(services, db, tmp_path, CLEMENT_DELIVERY_URL=url, CLEMENT_DIGEST_SECRET=SECRET)
    return api, maildir


def delivered(maildir, domain, user, needle=None):
    """The released messages in a Maildir (or, with needle, the messages holding it: digests)."""
    new = maildir / domain / user / "new"
    mails = [p.read_bytes() for p in new.iterdir()] if new.exists() else []
    if needle:
        return [m for m in mails if needle in m]
    # Every copy starts with Return-Path: and Delivered-To:; the message follows them.
    mails = [re.sub(rb"\AReturn-Path: <[^>\r\n]*>\r\nDelivered-To: [^\r\n]*\r\n", b"", m) for m in mails]
    return [m for m in mails if m.startswith((b"From: spam@x.test", b"Subject: Hi "))]


def test_release_and_delete_through_delivery(db, services, tmp_path):
    api, maildir = stack(db, services, tmp_path)
    alice = Api(api.port)
    assert alice.login("alice@a.test")[0] == 200
    st, body = alice.req("POST", "/api/quarantine/1/release")
    assert st == 200 and body["status"] == "released", body
    assert db.scalar("SELECT status FROM quarantine WHERE id = 1") == "released"
    mails = delivered(maildir, "a.test", "alice")
    assert len(mails) == 1 and b"Subject: Hi alice" in mails[0]
    st, body = alice.req("POST", "/api/quarantine/1/release")
    assert st == 409 and "already released" in body["error"]
    root = Api(api.port)
    root.login("root@a.test")
    st, body = root.req("DELETE", "/api/quarantine/2")
    assert st == 200 and body["status"] == "deleted"
    assert db.scalar("SELECT status FROM quarantine WHERE id = 2") == "deleted"
    assert delivered(maildir, "b.test", "bob") == []


def test_always_accept_sender_also_releases_the_message(db, services, tmp_path):
    """The dialog says "This also releases this message": the API writes the accept rule and
    releases the held message into the recipient's Maildir, once."""
    api, maildir = stack(db, services, tmp_path)
    alice = Api(api.port)
    assert alice.login("alice@a.test")[0] == 200
    st, body = alice.req("POST", "/api/quarantine/1/accept-sender")
    assert st == 200 and body["status"] == "released" and body["action"] == "accept", body
    assert body["sender_pattern"] == "spam@x.test"
    row = db.query("SELECT user_id, sender_pattern, action FROM directives WHERE id = %s", (body["directive_id"],))
    assert row == [{"user_id": 4, "sender_pattern": "spam@x.test", "action": "accept"}]
    assert db.scalar("SELECT status FROM quarantine WHERE id = 1") == "released"
    mails = delivered(maildir, "a.test", "alice")
    assert len(mails) == 1 and b"Subject: Hi alice" in mails[0]
    st, body = alice.req("POST", "/api/quarantine/1/accept-sender")   # nothing held any more
    assert st == 409 and "already released" in body["error"]
    assert len(delivered(maildir, "a.test", "alice")) == 1


def test_digest_links(db, services, tmp_path):
    api, maildir = stack(db, services, tmp_path, digests=True)
    anon = Api(api.port)
    later = int(time.time()) + 3600
    # The link of the digest that delivery really sent to alice (schedule 1 is due).
    deadline = time.time() + 20
    while not (digest := delivered(maildir, "a.test", "alice", b"/api/digest/")) and time.time() < deadline:
        time.sleep(0.2)
    assert digest, "delivery sent no digest"
    link = re.search(rb"/api/digest/(release\.1\.[A-Za-z0-9_.-]+)", digest[0]).group(1).decode()

    def click(tok):
        """What a browser sends for the page's button: a form POST, Origin null under no-referrer."""
        return anon.req("POST", f"/api/digest/{tok}", raw=b"", origin="null",
                        ctype="application/x-www-form-urlencoded")

    # Opening the link (a person, or a mail scanner prefetching it) only asks for confirmation.
    for _ in range(2):
        st, page = anon.get(f"/api/digest/{link}")
        assert st == 200 and anon.last.getheader("Content-Type").startswith("text/html")
        assert b"Release the quarantined message from spam@x.test" in page and b'<form method="post">' in page
        assert "default-src 'self'" in anon.last.getheader("Content-Security-Policy")
    assert db.scalar("SELECT status FROM quarantine WHERE id = 1") == "held"
    assert len(delivered(maildir, "a.test", "alice")) == 0
    st, page = click(link)
    assert st == 200 and b"released" in page and anon.last.getheader("Content-Type").startswith("text/html")
    assert len(delivered(maildir, "a.test", "alice")) == 1
    assert click(token("release", 1, later))[0] == 409      # a link works once
    assert anon.get(f"/api/digest/{link}")[0] == 409         # and its page says so
    assert click(token("delete", 2, int(time.time()) - 10))[0] == 400   # expired
    assert click(token("delete", 2, later, secret="other"))[0] == 400  # forged
    assert anon.get(f"/api/digest/{token('delete', 2, later, secret='other')}")[0] == 400
    assert click("garbage")[0] == 400
    assert db.scalar("SELECT status FROM quarantine WHERE id = 2") == "held"
    st, page = anon.get(f"/api/digest/{token('delete', 2, later)}")
    assert st == 200 and b"Delete the quarantined message" in page
    assert db.scalar("SELECT status FROM quarantine WHERE id = 2") == "held"
    assert click(token("delete", 2, later))[0] == 200
    assert db.scalar("SELECT status FROM quarantine WHERE id = 2") == "deleted"
    st, page = anon.get(f"/api/digest/{token('accept', 3, later)}")
    assert st == 200 and b"accept mail from this sender" in page
    assert db.scalar("SELECT count(*) FROM directives WHERE user_id = 6 AND sender_pattern = 'spam@x.test'") == 0
    assert click(token("accept", 3, later))[0] == 200
    assert db.scalar("SELECT action FROM directives WHERE user_id = 6 AND sender_pattern = 'spam@x.test'") == "accept"
    assert db.scalar("SELECT status FROM quarantine WHERE id = 3") == "released"
    assert "digest/accept" not in api.log() and "/api/digest/..." in api.log()   # tokens stay out of the log
