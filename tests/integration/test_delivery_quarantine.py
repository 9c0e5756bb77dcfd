"""clement-delivery: quarantine store / release / delete round trip, outbound sent status,
and quarantine digests sent exactly once by two delivery instances (issue #6)."""
import base64
import hashlib
import hmac
import re
import time

import pytest

from harness.delivery import (SmtpSink, deliver_req, make_domain, make_group, make_user, maildir_new, route, rpc, trace,
                                start_delivery)

MSG = (b"From: Spammy <spam@sender.test>\r\nTo: bob@example.org\r\nSubject: Cheap stuff\r\n"
       b"Message-ID: <q1@sender.test>\r\n\r\nBuy now.\r\n")
SECRET = "test-digest-secret"


@pytest.fixture
def setup(db):
    g = make_group(db, "local-g")
    d = make_domain(db, "example.org", g)
    return {"g": g, "d": d, "bob": make_user(db, "bob", d), "carol": make_user(db, "carol", d)}


def test_quarantine_release_and_delete_round_trip(db, services, tmp_path, setup):
    root = tmp_path / "mail"
    _, port = start_delivery(services, db, root)
    s = setup
    # bob's copy is quarantined, carol's delivered: one transaction, both safe before 250.
    r = rpc(port, deliver_req([("bob@example.org", route("local", s["g"], s["d"], s["bob"], True)),
                               ("carol@example.org", route("local", s["g"], s["d"], s["carol"]))],
                              sender="spam@sender.test", msgid="Q1"), MSG)
    assert (r["action"], r["code"]) == ("accept", 250), r
    assert [x["status"] for x in r["rcpts"]] == ["quarantined", "received"]
    assert maildir_new(root, "bob@example.org") == [] and len(maildir_new(root, "carol@example.org")) == 1
    rows = db.query("SELECT id, sender, rcpt, user_id, domain_id, subject, size, message, status,"
                    " expires_at - received_at AS keep FROM quarantine")
    assert len(rows) == 1
    q = rows[0]
    assert (q["sender"], q["rcpt"], q["user_id"], q["subject"], q["size"], bytes(q["message"]), q["status"]) == \
        ("spam@sender.test", "bob@example.org", s["bob"], "Cheap stuff", len(MSG), MSG, "held")
    assert q["keep"].days == 30

    # A second message, quarantined for bob only; then release the first, delete the second.
    # Root's Global settings (quarantine.retention_days) apply to it, without a restart.
    db.execute("INSERT INTO settings (key, value) VALUES ('quarantine.retention_days', '4')")
    # Why it is held travels with the route and stays with the held copy (issue 23).
    held = dict(route("local", s["g"], s["d"], s["bob"], True), held_by="user_rule")
    r = rpc(port, deliver_req([("bob@example.org", held)], sender="spam@sender.test", msgid="Q2"), MSG)
    assert r["code"] == 250 and r["rcpts"][0]["status"] == "quarantined"
    q2 = db.scalar("SELECT id FROM quarantine WHERE msgid = 'Q2'")
    assert db.query("SELECT msgid, reason_class FROM quarantine ORDER BY id") == \
        [{"msgid": "Q1", "reason_class": None}, {"msgid": "Q2", "reason_class": "user_rule"}]
    assert db.scalar("SELECT (expires_at - received_at) FROM quarantine WHERE id = %s", (q2,)).days == 4

    r = rpc(port, {"v": 1, "op": "release", "quarantine_id": q["id"], "by_user_id": s["bob"]})
    assert (r["action"], r["code"]) == ("accept", 250), r
    files = maildir_new(root, "bob@example.org")
    assert len(files) == 1 and files[0].read_bytes() == trace("spam@sender.test", "bob@example.org") + MSG
    r = rpc(port, {"v": 1, "op": "release", "quarantine_id": q["id"], "by_user_id": s["bob"]})
    assert r["code"] == 550                      # released once only
    assert len(maildir_new(root, "bob@example.org")) == 1

    r = rpc(port, {"v": 1, "op": "delete", "quarantine_id": q2, "by_user_id": s["bob"]})
    assert (r["action"], r["code"]) == ("accept", 250), r
    assert rpc(port, {"v": 1, "op": "release", "quarantine_id": q2, "by_user_id": s["bob"]})["code"] == 550
    assert len(maildir_new(root, "bob@example.org")) == 1
    st = {x["id"]: (x["status"], x["decided_at"] is not None, len(bytes(x["message"])))
          for x in db.query("SELECT id, status, decided_at, message FROM quarantine")}
    assert st == {q["id"]: ("released", True, len(MSG)), q2: ("deleted", True, 0)}
    logs = db.query("SELECT status, rcpt, user_id, msgid, reason FROM message_log ORDER BY id")
    assert [(x["status"], x["rcpt"], x["user_id"], x["msgid"]) for x in logs] == \
        [("released", "bob@example.org", s["bob"], "Q1"), ("deleted", "bob@example.org", s["bob"], "Q2")]
    # Who decided, by name (issue 23: "released by user 4" told nobody anything).
    assert [x["reason"] for x in logs] == ["released by bob@example.org", "deleted by bob@example.org"]
    assert rpc(port, {"v": 1, "op": "delete", "quarantine_id": 999999})["code"] == 550
    assert "clement_delivery_quarantine_released_total 1" in _metrics(services)


def _metrics(services):
    return services.started[-1].metrics()


def test_quarantine_rolls_back_when_the_other_copies_fail(db, services, tmp_path, setup):
    root = tmp_path / "mail"
    root.mkdir()
    (root / "example.org").write_text("blocks the Maildirs")
    _, port = start_delivery(services, db, root)
    s = setup
    r = rpc(port, deliver_req([("bob@example.org", route("local", s["g"], s["d"], s["bob"], True)),
                               ("carol@example.org", route("local", s["g"], s["d"], s["carol"]))]), MSG)
    assert r["code"] == 451
    assert db.scalar("SELECT count(*) FROM quarantine") == 0   # nothing half-delivered


def test_expired_quarantine_is_purged(db, services, tmp_path, setup):
    s = setup
    db.execute("INSERT INTO quarantine (msgid, expires_at, sender, rcpt, user_id, size, message)"
               " VALUES ('old', now() - interval '1 minute', 'a@b.test', 'bob@example.org', %s, 1, 'x'),"
               " ('new', now() + interval '1 day', 'a@b.test', 'bob@example.org', %s, 1, 'x')", (s["bob"], s["bob"]))
    start_delivery(services, db, tmp_path / "mail", CLEMENT_DELIVERY_HOUSEKEEPING_S=1)
    deadline = time.time() + 10
    while time.time() < deadline and db.scalar("SELECT count(*) FROM quarantine") != 1:
        time.sleep(0.2)
    assert [x["msgid"] for x in db.query("SELECT msgid FROM quarantine")] == ["new"]


def test_outbound_goes_to_smarthost_and_is_logged_as_sent(db, services, tmp_path, setup):
    s = setup
    sink = SmtpSink(tmp_path)
    try:
        _, port = start_delivery(services, db, tmp_path / "mail", CLEMENT_SMARTHOST=f"127.0.0.1:{sink.port}")
        out = route("outbound", s["g"], s["d"], s["bob"])
        r = rpc(port, deliver_req([("friend@far.test", out)], sender="bob@example.org", auth_user="bob@example.org",
                                  msgid="O1"), MSG)
        assert (r["action"], r["code"]) == ("accept", 250), r
        assert r["rcpts"][0]["status"] == "sent"
        assert len(sink.dumps()) == 1 and b"X-Rcpt-Args: <friend@far.test>" in sink.dumps()[0].read_bytes()
        # The same user's group now has a downstream that refuses: logged as failed.
        bad = SmtpSink(tmp_path, "-f", "RCPT", "-B", "550 5.7.1 Relaying denied")
        try:
            db.execute("UPDATE groups SET relay_host = '127.0.0.1', relay_port = %s, relay_tls = 'none'"
                       " WHERE id = %s", (bad.port, s["g"]))
            r = rpc(port, deliver_req([("friend@far.test", out)], sender="bob@example.org", msgid="O2"), MSG)
        finally:
            bad.stop()
        assert (r["action"], r["code"], r["text"]) == ("reject", 550, "Relaying denied"), r
        logs = db.query("SELECT direction, status, sender, rcpt, user_id, msgid, code, subject FROM message_log"
                        " ORDER BY id")
        assert [(x["direction"], x["status"], x["rcpt"], x["user_id"], x["msgid"], x["code"]) for x in logs] == \
            [("out", "sent", "friend@far.test", s["bob"], "O1", 250),
             ("out", "failed", "friend@far.test", s["bob"], "O2", 550)]
        assert logs[0]["subject"] == "Cheap stuff"
    finally:
        sink.stop()


def test_outbound_without_downstream_or_smarthost_is_451(db, services, tmp_path, setup):
    s = setup
    _, port = start_delivery(services, db, tmp_path / "mail")
    r = rpc(port, deliver_req([("friend@far.test", route("outbound", s["g"], s["d"], s["bob"]))],
                              sender="bob@example.org"), MSG)
    assert (r["action"], r["code"]) == ("defer", 451), r


def check_token(token, now=None):
    """Verify a digest token the way admin-api does (lib/mail/digest_token.h)."""
    action, qid, exp, mac = token.split(".")
    msg = f"clement-digest-v1|{action}|{qid}|{exp}".encode()
    want = base64.urlsafe_b64encode(hmac.new(SECRET.encode(), msg, hashlib.sha256).digest()).rstrip(b"=").decode()
    assert hmac.compare_digest(want, mac)
    assert int(exp) >= (now or time.time())
    return action, int(qid)


def test_digest_sent_once_by_two_instances_and_links_work(db, services, tmp_path, setup):
    root = tmp_path / "mail"
    s = setup
    for i in range(3):
        db.execute("INSERT INTO quarantine (msgid, expires_at, sender, rcpt, user_id, domain_id, subject, size, message)"
                   " VALUES (%s, now() + interval '7 days', %s, 'bob@example.org', %s, %s, %s, %s, %s)",
                   (f"D{i}", f"s{i}@spam.test", s["bob"], s["d"], f"Offer {i}", len(MSG), MSG))
    # Each entry says why it is held (issue 23); one held before reasons were kept says nothing.
    db.execute("UPDATE quarantine SET reason_class = 'user_rule' WHERE msgid = 'D0'")
    db.execute("UPDATE quarantine SET reason_class = 'spam', reason = E'score 12.5\\nBAYES_SPAM' WHERE msgid = 'D1'")
    db.execute("INSERT INTO quarantine (msgid, expires_at, sender, rcpt, user_id, domain_id, size, message)"
               " VALUES ('C0', now() + interval '7 days', 'x@spam.test', 'carol@example.org', %s, %s, 1, 'x')",
               (s["carol"], s["d"]))
    # Two schedules covering bob (his own and the domain's), both due now.
    db.execute("INSERT INTO digest_schedules (user_id, kind, interval_hours, next_run_at)"
               " VALUES (%s, 'interval', 24, now() - interval '1 minute')", (s["bob"],))
    db.execute("INSERT INTO digest_schedules (domain_id, kind, at_time, next_run_at)"
               " VALUES (%s, 'daily', '07:30', now() - interval '1 minute')", (s["d"],))
    _, port = start_delivery(services, db, root, CLEMENT_DIGEST_POLL_S=1)
    start_delivery(services, db, root, CLEMENT_DIGEST_POLL_S=1)
    deadline = time.time() + 15
    while time.time() < deadline and db.scalar(
            "SELECT count(*) FROM digest_schedules WHERE next_run_at <= now()") != 0:
        time.sleep(0.2)
    time.sleep(2.5)     # both instances polled again at least once
    bob = maildir_new(root, "bob@example.org")
    carol = maildir_new(root, "carol@example.org")
    assert len(bob) == 1 and len(carol) == 1, (bob, carol)
    text = bob[0].read_bytes().decode()
    assert "Subject: Quarantine digest: 3 new messages held for you" in text
    assert "Auto-Submitted: auto-generated" in text and "Offer 0" in text and "<s2@spam.test>" in text
    whys = re.findall(r"   Why:     (.*)\r\n", text)
    assert whys == ["your own sender rule", "spam: score 12.5 BAYES_SPAM"], text
    links = re.findall(r"http://127\.0\.0\.1:8080/api/digest/(\S+)", text)
    assert len(links) == 9
    ids = {r["msgid"]: r["id"] for r in db.query("SELECT id, msgid FROM quarantine")}
    acts = [check_token(t) for t in links]
    assert acts[:3] == [("release", ids["D0"]), ("delete", ids["D0"]), ("accept", ids["D0"])]
    assert db.scalar("SELECT count(*) FROM quarantine WHERE digested_at IS NULL") == 0
    nxt = db.query("SELECT kind, next_run_at - now() AS wait, last_run_at FROM digest_schedules ORDER BY id")
    assert nxt[0]["wait"].total_seconds() > 23 * 3600 and nxt[0]["last_run_at"] is not None
    assert 0 < nxt[1]["wait"].total_seconds() <= 24 * 3600
    # The release link's action works through the release op admin-api calls.
    r = rpc(port, {"v": 1, "op": "release", "quarantine_id": acts[0][1], "by_user_id": s["bob"]})
    assert r["code"] == 250 and len(maildir_new(root, "bob@example.org")) == 2
    # A new held message goes into the next digest only; nothing is due now, so nothing is sent.
    time.sleep(1.5)
    assert len(maildir_new(root, "bob@example.org")) == 2


def test_digest_next_run_function(db):
    """clement_digest_next_run (0004_delivery.sql): daily, weekdays (bit 0 = Monday), interval."""
    q = "SELECT clement_digest_next_run(%s, %s::time, %s::smallint, %s, %s::timestamptz) AS t"
    wed = "2026-11-25 10:00:00+00"        # a Wednesday
    t = lambda *a: db.scalar(q, a).isoformat()
    assert t("daily", "07:30", None, None, wed) == "2026-11-26T07:30:00+00:00"
    assert t("daily", "11:00", None, None, wed) == "2026-11-25T11:00:00+00:00"
    assert t("weekdays", "07:30", 1, None, wed) == "2026-11-30T07:30:00+00:00"      # Mondays only
    assert t("weekdays", "07:30", 1 | 16, None, wed) == "2026-11-27T07:30:00+00:00"  # Mon + Fri
    assert t("interval", None, None, 6, wed) == "2026-11-25T16:00:00+00:00"
