"""Content verdicts with Rspamd (issue 18), end to end against Debian's real rspamd and
redis-server: a real SMTP client (smtplib) talks to smtp-edge through a PROXY header that gives
it a public client address (Rspamd skips SPF, DMARC and host checks for loopback), the real
scanner runs libclamav and asks Rspamd in parallel, and the real delivery writes Maildirs.

Rspamd resolves only through the tests' DNS server (rspamd_util.DnsServer), which publishes:
  aligned.test  SPF "ip4:<CLIENT> -all", DKIM selector "sel" (a key made in the test), DMARC p=reject
  forged.test   SPF "ip4:198.51.100.1 -all" (not the client), DMARC p=reject
  bank.test     DMARC p=reject, no SPF, no DKIM
"""
import email
import email.policy
import json
import smtplib
import socket
import sys
import time
import uuid

import pytest

from conftest import free_port, http_get, wait_for
from harness.api import Api, PASSWORD
from harness.content import mime
from harness.rspamd import Redis, Rspamd, SlowHttp, CLIENT, HOST, make_dns, RspamdStack, _Proxied
from harness.scanner import EICAR
from harness.smtp import client_tls

try:
    import dkim
except ImportError:  # a python3 other than Debian's: Debian's python3-dkim anyway
    sys.path.append("/usr/lib/python3/dist-packages")
    import dkim

# address: unbound (smtp-edge's resolver) answers their reverse zones itself (RFC 6303)
GTUBE = b"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


# A rule of the tests' Rspamd that answers "soft reject" (what its greylist and ratelimit
# modules answer) for one subject, with its own SMTP message.
SOFT_REJECT_RULE = {
    "multimap.conf": """
CLEMENT_TEST_SOFT_REJECT {
    type = "header";
    header = "Subject";
    regexp = true;
    map = "${LOCAL_CONFDIR}/local.d/soft-reject.map";
    action = "soft reject";
    message = "Greylisted by the test rule";
}
""",
    "soft-reject.map": "/CLEMENT-TEST-SOFT-REJECT/\n",
}


@pytest.fixture(scope="module")
def rspamd(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rspamd")
    dns, key = make_dns(tmp)
    redis = Redis(tmp).start()
    rs = Rspamd(dns, redis, extra_local=SOFT_REJECT_RULE)
    try:
        rs.start()
        rs.dkim_key = key
        yield rs
    finally:
        rs.cleanup()
        redis.stop()
        dns.stop()


def message(sender, subject, body="Hello Alice,\r\nthe minutes of today's meeting are below.\r\n", to=None):
    m = (f"From: Sender <{sender}>\r\nTo: <{to or 'alice@example.invalid'}>\r\nSubject: {subject}\r\n"
         f"Date: {email.utils.formatdate()}\r\nMessage-ID: <{uuid.uuid4().hex}@{sender.split('@')[1]}>\r\n"
         f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}")
    return m.encode()


def signed(rs, sender, subject, to=None):
    msg = message(sender, subject, to=to)
    sig = dkim.sign(msg, b"sel", b"aligned.test", rs.dkim_key,
                    include_headers=[b"From", b"To", b"Subject", b"Date", b"Message-ID"])
    return sig + msg


def test_gtube_is_refused_with_550_and_rspamds_reason(rspamd, services, db, tmp_path):
    s = RspamdStack(services, db, tmp_path, rspamd.url)
    code, text = s.send_from("someone@aligned.test", message("someone@aligned.test", "test",
                                                             body=GTUBE.decode() + "\r\n", to=s.alice))
    assert code == 550, text
    assert text.startswith("5.7.1 Message refused as spam") and "Gtube pattern" in text, text
    assert s.delivered() == []
    row = s.message_log()[0]
    assert (row["status"], row["reason_class"], row["code"]) == ("rejected", "spam", 550)
    assert "Gtube pattern" in row["reason"]
    assert 'clement_scanner_rspamd_checks_total{result="ok"} 1' in s.scanner.metrics()


def test_a_signed_aligned_message_is_delivered_with_authentication_results(rspamd, services, db, tmp_path):
    s = RspamdStack(services, db, tmp_path, rspamd.url)
    code, text = s.send_from("news@aligned.test", signed(rspamd, "news@aligned.test", "minutes", to=s.alice))
    assert code == 250, text
    [got] = s.delivered_msgs()
    ar = " ".join(got["Authentication-Results"].split())
    assert ar.startswith(f"{HOST};"), ar
    assert "dkim=pass header.d=aligned.test" in ar, ar
    assert "spf=pass smtp.mailfrom=news@aligned.test" in ar, ar
    assert "dmarc=pass header.from=aligned.test" in ar, ar
    assert got["X-Spam-Flag"] is None
    # Our header is above our Received: (RFC 8601 section 4), the signature still verifies.
    raw = s.delivered()[0].read_bytes()
    assert raw.index(b"Authentication-Results:") < raw.index(b"Received:")
    key = rspamd.dns.dkim_txt.encode()
    assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: key if name == b"sel._domainkey.aligned.test." else None)
    assert got["Subject"] == "minutes"


def test_eicar_is_still_refused_by_clamav_with_rspamd_on(rspamd, services, db, tmp_path):
    s = RspamdStack(services, db, tmp_path, rspamd.url)
    msg = mime("eicar attached", [("eicar.com", EICAR, "application/octet-stream")])
    code, text = s.send_from("someone@aligned.test", msg)
    assert (code, text) == (554, "5.7.1 Virus found: Eicar-Test-Signature.UNOFFICIAL")
    assert s.delivered() == []


def test_rspamd_stopped_gives_451_and_delivers_nothing(services, db, tmp_path, tmp_path_factory):
    dns, _ = make_dns(tmp_path)
    redis = Redis(tmp_path_factory.mktemp("redis2")).start()
    rs = Rspamd(dns, redis)
    try:
        rs.start()
        s = RspamdStack(services, db, tmp_path, rs.url)
        assert s.send_from("a@aligned.test", message("a@aligned.test", "before", to=s.alice))[0] == 250
        rs.stop()
        code, text = s.send_from("a@aligned.test", message("a@aligned.test", "while down", to=s.alice))
        assert (code, text) == (451, "4.3.0 Temporary failure, try again later")
        assert len(s.delivered()) == 1
        assert "event=rspamd_failed" in s.scanner.log()
        assert 'clement_scanner_rspamd_checks_total{result="error"} 1' in s.scanner.metrics()
        rows = s.message_log(n=2)
        assert [(r["status"], r["code"]) for r in rows] == [("received", 250), ("failed", 451)]
    finally:
        rs.cleanup()
        redis.stop()
        dns.stop()


def test_rspamd_slow_gives_451_after_the_deadline(services, db, tmp_path):
    slow = SlowHttp()
    try:
        s = RspamdStack(services, db, tmp_path, slow.url, scanner_env={"CLEMENT_RSPAMD_TIMEOUT_MS": "1500"})
        t0 = time.monotonic()
        code, text = s.send_from("a@aligned.test", message("a@aligned.test", "slow", to=s.alice))
        took = time.monotonic() - t0
        assert (code, text) == (451, "4.3.0 Temporary failure, try again later")
        assert 1.4 < took < 20, took  # the deadline, not the edge's 60 s
        assert s.delivered() == []
        assert "Timeout was reached" in s.scanner.log()
    finally:
        slow.stop()


def test_rspamd_answering_garbage_gives_451(services, db, tmp_path):
    import http.server
    import threading

    class Garbage(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"not json!")

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Garbage)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        s = RspamdStack(services, db, tmp_path, f"http://127.0.0.1:{srv.server_port}")
        code, text = s.send_from("a@aligned.test", message("a@aligned.test", "garbage", to=s.alice))
        assert (code, text) == (451, "4.3.0 Temporary failure, try again later")
        assert s.delivered() == []
        assert "answer is not JSON" in s.scanner.log()
    finally:
        srv.shutdown()
        srv.server_close()


def test_fail_open_delivers_without_rspamd_and_says_so(services, db, tmp_path):
    port = free_port()  # nothing listens there: Rspamd is down
    s = RspamdStack(services, db, tmp_path, f"http://127.0.0.1:{port}",
                    scanner_env={"CLEMENT_RSPAMD_FAIL_OPEN": "1"})
    code, text = s.send_from("a@aligned.test", message("a@aligned.test", "unchecked", to=s.alice))
    assert code == 250, text
    assert len(s.delivered()) == 1
    lines = [ln for ln in s.scanner.log().splitlines() if "event=rspamd_failed_open" in ln]
    assert len(lines) == 1 and "level=error" in lines[0] and "action=deliver_unscanned" in lines[0], lines
    assert "clement_scanner_rspamd_unscanned_total 1" in s.scanner.metrics()
    # ClamAV still runs: a virus is refused whatever Rspamd's state.
    code, text = s.send_from("a@aligned.test", mime("v", [("eicar.com", EICAR, "application/octet-stream")]))
    assert code == 554, text


def test_without_rspamd_url_nothing_changes(services, db, tmp_path):
    s = RspamdStack(services, db, tmp_path, "")
    code, text = s.send_from("a@aligned.test", message("a@aligned.test", "plain", to=s.alice))
    assert code == 250, text
    [got] = s.delivered_msgs()
    assert got["Authentication-Results"] is None and got["X-Spam-Flag"] is None
    assert "rspamd=off" in s.scanner.log()


def test_the_refusal_reason_is_in_the_users_log(rspamd, services, db, tmp_path):
    s = RspamdStack(services, db, tmp_path, rspamd.url)
    code, _ = s.send_from("someone@aligned.test", message("someone@aligned.test", "spammy",
                                                          body=GTUBE.decode() + "\r\n", to=s.alice), to="bob")
    assert code == 550
    assert s.message_log("bob")
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text("<!DOCTYPE html><title>Clement</title>")
    port = free_port()
    services.start("admin-api", {"CLEMENT_ADMIN_LISTEN": f"127.0.0.1:{port}", "CLEMENT_DB_URL": db.url,
                                 "CLEMENT_FRONTEND_DIR": str(web), "CLEMENT_DELIVERY_URL": ""})
    bob = Api(port)
    assert bob.login(f"bob@{s.domain}", PASSWORD)[0] == 200
    st, logs = bob.get("/api/logs?status=rejected")
    assert st == 200 and logs["total"] == 1, logs
    row = logs["items"][0]
    assert row["reason_class"] == "spam" and row["code"] == 550 and row["subject"] == "spammy"
    assert "Message refused as spam" in row["reason"] and "Gtube pattern" in row["reason"], row


def forged(s, subject="invoice"):
    """A message claiming forged.test (SPF -all without the client, DMARC p=reject), unsigned."""
    return message("billing@forged.test", subject, to=s.alice)


def test_dmarc_reject_forgery_is_refused_when_the_group_enforces_it(rspamd, services, db, tmp_path):
    s = RspamdStack(services, db, tmp_path, rspamd.url)
    s.set_content("groups", dmarc_enforce=True, spam_reject_score=500)
    code, text = s.send_from("billing@forged.test", forged(s))
    assert code == 550, text
    assert text == ("5.7.1 Message refused: forged.test publishes DMARC p=reject and neither SPF nor DKIM "
                    "is aligned"), text
    assert s.delivered() == []
    row = s.message_log()[0]
    assert (row["status"], row["reason_class"], row["code"]) == ("rejected", "dmarc", 550)
    # The header From alone forged (the envelope's SPF passes for aligned.test): refused too.
    code, text = s.send_from("news@aligned.test", message("ceo@bank.test", "wire transfer", to=s.alice))
    assert code == 550 and "bank.test publishes DMARC p=reject" in text, text


def test_dmarc_forgery_is_held_or_tagged_when_the_switch_is_off(rspamd, services, db, tmp_path):
    s = RspamdStack(services, db, tmp_path, rspamd.url)
    s.set_content("groups", dmarc_enforce=False, spam_quarantine_score=5, spam_reject_score=500)
    code, text = s.send_from("billing@forged.test", forged(s, "held"))
    assert code == 250, text
    assert s.delivered() == []
    [q] = s.quarantined()
    assert q["status"] == "held" and q["subject"] == "held"
    assert q["score"] >= 5 and q["reason"].startswith("Held as spam (score ") and "SPF" in q["reason"], q["reason"]
    held = email.message_from_bytes(bytes(q["message"]), policy=email.policy.default)
    assert "spf=fail" in held["Authentication-Results"] and "dmarc=fail" in held["Authentication-Results"]
    assert held["X-Spam-Flag"] == "YES"
    row = s.message_log()[0]
    assert (row["status"], row["reason_class"]) == ("quarantined", "spam"), row
    assert row["reason"].startswith("Held as spam (score "), row
    # With a tag score only, the same forgery is delivered, tagged.
    s.set_content("groups", spam_quarantine_score=None, spam_tag_score=5)
    code, text = s.send_from("billing@forged.test", forged(s, "tagged"))
    assert code == 250, text
    [got] = s.delivered_msgs()
    assert got["X-Spam-Flag"] == "YES" and float(got["X-Spam-Score"]) >= 5
    assert got["X-Spam-Status"].startswith("Yes, score=") and "R_SPF_FAIL" in got["X-Spam-Status"]
    assert "dmarc=fail header.from=forged.test" in " ".join(got["Authentication-Results"].split())


def test_thresholds_and_a_domains_override(rspamd, services, db, tmp_path):
    s = RspamdStack(services, db, tmp_path, rspamd.url)
    # The group refuses at 5: the forgery (score ~10) is refused with its main symbols.
    s.set_content("groups", spam_reject_score=5, spam_tag_score=2, dmarc_enforce=False,
                  spam_quarantine_score=None)
    code, text = s.send_from("billing@forged.test", forged(s, "one"))
    assert code == 550 and text.startswith("5.7.1 Message refused as spam (score "), text
    assert "SPF" in text, text
    # The domain overrides the reject score; the group's tag score still applies.
    s.set_content("domains", spam_reject_score=100)
    code, text = s.send_from("billing@forged.test", forged(s, "two"))
    assert code == 250, text
    [got] = s.delivered_msgs()
    assert got["X-Spam-Flag"] == "YES"
    # A signed, aligned message stays under the tag score: delivered untouched but for A-R.
    code, text = s.send_from("news@aligned.test", signed(rspamd, "news@aligned.test", "clean", to=s.alice))
    assert code == 250, text
    clean = [m for m in s.delivered_msgs() if m["Subject"] == "clean"][0]
    assert clean["X-Spam-Flag"] is None and "dkim=pass" in clean["Authentication-Results"]


class Recorder:
    """An HTTP peer that records each /checkv2 request's headers and answers as Rspamd does when
    it finds nothing: what the scanner tells Rspamd, seen from Rspamd's side."""

    def __init__(self):
        import http.server
        import threading
        seen = self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                seen.append((self.path, self.headers, body))
                out = b'{"is_skipped":false,"score":0.0,"required_score":15.0,"action":"no action","symbols":{}}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.srv.server_port}"

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def test_rspamd_is_given_the_envelope(rspamd, services, db, tmp_path):
    rec = Recorder()
    try:
        s = RspamdStack(services, db, tmp_path, rec.url,
                        edge_env={"CLEMENT_DNS_RESOLVER": f"127.0.0.1:{rspamd.dns.port}",
                                  "CLEMENT_REP_NO_PTR_WEIGHT": "1"})
        s.set_content("groups", spam_reject_score=12.5, spam_tag_score=4)
        # From CLIENT, whose PTR name resolves back to it (FCrDNS): Hostname is that name.
        assert s.send_from("news@aligned.test", message("news@aligned.test", "one", to=s.alice))[0] == 250
        path, h, body = rec.seen[-1]
        assert path == "/checkv2" and body.endswith(b"the minutes of today's meeting are below.\r\n")
        assert (h["IP"], h["Helo"], h["Hostname"], h["From"]) == (CLIENT, "mail.aligned.test", "mail.aligned.test",
                                                                    "news@aligned.test")
        assert h.get_all("Rcpt") == [s.alice] and h["MTA-Name"] == HOST and h["Queue-Id"]
        assert json.loads(h["Settings"]) == {"actions": {"reject": 12.5, "add header": 4}}
        assert h["User"] is None and h["TLS-Version"] is None
        # A logged-in user on submission with STARTTLS: User and TLS, and one Rcpt per recipient.
        with smtplib.SMTP("127.0.0.1", s.submission, timeout=60) as c:
            c.starttls(context=client_tls())
            c.login(s.alice, PASSWORD)
            assert c.mail(s.alice)[0] == 250
            for r in (f"bob@{s.domain}", s.alice):
                assert c.rcpt(r)[0] == 250
            assert c.data(message(s.alice, "two", to=f"bob@{s.domain}"))[0] == 250
        path, h, body = rec.seen[-1]
        assert h["User"] == s.alice and h["TLS-Version"].startswith("TLSv1.") and h["TLS-Cipher"]
        assert h.get_all("Rcpt") == [f"bob@{s.domain}", s.alice] and h["Hostname"] == "unknown"
        assert h["IP"] == "127.0.0.1"
    finally:
        rec.stop()


def test_rspamds_soft_reject_is_451_4_7_1(rspamd, services, db, tmp_path):
    s = RspamdStack(services, db, tmp_path, rspamd.url)
    code, text = s.send_from("news@aligned.test", message("news@aligned.test", "CLEMENT-TEST-SOFT-REJECT", to=s.alice))
    assert (code, text) == (451, "4.7.1 Try again later: Greylisted by the test rule"), text
    assert s.delivered() == []
    row = s.message_log()[0]
    assert (row["status"], row["reason_class"], row["code"], row["enh"]) == ("failed", "greylist", 451, "4.7.1")


def test_a_senders_own_results_under_our_name_are_removed(rspamd, services, db, tmp_path):
    """RFC 8601 section 5: Authentication-Results fields naming our host that arrive with the
    message are forged; they are removed, those of other hosts are kept."""
    s = RspamdStack(services, db, tmp_path, rspamd.url)
    forged_ar = (f"Authentication-Results: {HOST.upper()};\r\n\tdkim=pass header.d=bank.test;\r\n\tdmarc=pass\r\n"
                 "Authentication-Results: relay.example; spf=pass smtp.mailfrom=x@relay.example\r\n")
    code, text = s.send_from("news@aligned.test", forged_ar.encode() + message("news@aligned.test", "ar", to=s.alice))
    assert code == 250, text
    raw = s.delivered()[0].read_bytes()
    head = raw.split(b"\r\n\r\n")[0].decode()
    assert "header.d=bank.test" not in head and head.count(f"Authentication-Results: {HOST}") == 1, head
    assert "Authentication-Results: relay.example; spf=pass" in head
    assert head.index(f"Authentication-Results: {HOST};") < head.index("Received:") < head.index("relay.example")


def test_release_teaches_rspamd_ham_and_delete_teaches_spam(rspamd, services, db, tmp_path):
    """Issue 18: learning is per group (groups.learn_quarantine, off by default): nothing is
    taught until its admins turn it on, then release teaches ham and delete spam."""
    from harness.delivery import rpc
    ctl = f"http://127.0.0.1:{rspamd.controller_port}"
    s = RspamdStack(services, db, tmp_path, rspamd.url, delivery_env={"CLEMENT_RSPAMD_CONTROLLER_URL": ctl})
    s.set_content("groups", spam_quarantine_score=5, spam_reject_score=500, dmarc_enforce=False)
    words = "\r\n".join(f"word{i} lorem ipsum dolor sit amet" for i in range(40))  # enough tokens to learn from
    subjects = ("not learned, released", "not learned, deleted", "to release", "to delete")
    for subject in subjects:
        msg = message("billing@forged.test", subject, body=words + "\r\n", to=s.alice)
        assert s.send_from("billing@forged.test", msg)[0] == 250
    held = {q["subject"]: q for q in s.quarantined()}
    assert set(held) == set(subjects) and all(q["reason_class"] == "spam" for q in held.values())
    learned = lambda: json.loads(http_get(f"{ctl}/stat")[1])["learned"]
    before = learned()
    delivery = [svc for svc in services.started if svc.name == "delivery"][-1]
    port = int(delivery.env["CLEMENT_DELIVERY_LISTEN"].rsplit(":", 1)[1])
    uid = db.scalar("SELECT id FROM users WHERE local_part = 'alice' AND domain_id = "
                    "(SELECT id FROM domains WHERE name = %s)", (s.domain,))
    # The group has not turned learning on (the default): a release and a delete teach nothing.
    assert db.scalar("SELECT learn_quarantine FROM groups WHERE id = (SELECT group_id FROM domains "
                     "WHERE name = %s)", (s.domain,)) is False
    for op, subject in (("release", "not learned, released"), ("delete", "not learned, deleted")):
        assert rpc(port, {"v": 1, "op": op, "quarantine_id": held[subject]["id"], "by_user_id": uid})["code"] == 250
    assert learned() == before and "event=rspamd_learn" not in delivery.log()
    s.set_content("groups", learn_quarantine=True)
    r = rpc(port, {"v": 1, "op": "release", "quarantine_id": held["to release"]["id"], "by_user_id": uid})
    assert r["code"] == 250, r
    assert rpc(port, {"v": 1, "op": "delete", "quarantine_id": held["to delete"]["id"], "by_user_id": uid})["code"] == 250
    log = delivery.log()
    assert "event=rspamd_learned as=ham status=200" in log and "event=rspamd_learned as=spam status=200" in log, log[-2000:]
    assert 'clement_delivery_rspamd_learn_total{result="ok"} 2' in delivery.metrics()
    assert learned() == before + 2
    # A message a rule held (not the content verdict) teaches nothing when released.
    db.execute("UPDATE quarantine SET status = 'held', reason_class = 'user_rule' WHERE id = %s",
               (held["to release"]["id"],))
    assert rpc(port, {"v": 1, "op": "release", "quarantine_id": held["to release"]["id"], "by_user_id": uid})["code"] == 250
    assert learned() == before + 2 and delivery.log().count("event=rspamd_learned") == 2


def test_rspamd_sees_the_message_without_our_received_line(rspamd, services, db, tmp_path):
    """Issue 19: Rspamd is given the message as a milter behind an MTA sees it, without the
    Received: line smtp-edge writes on top. With it, Rspamd counted a relay before us and a
    forgery sent straight to the MX by a host SPF refuses lost VIOLATED_DIRECT_SPF (3.5 points),
    the mark that set the world's bank forgeries apart; the delivered copy keeps the line."""
    s = RspamdStack(services, db, tmp_path, rspamd.url)
    s.set_content("groups", dmarc_enforce=False, spam_quarantine_score=None, spam_reject_score=500,
                  spam_tag_score=0.5)
    code, text = s.send_from("billing@forged.test", forged(s, "direct"))
    assert code == 250, text
    [got] = s.delivered_msgs()
    assert "VIOLATED_DIRECT_SPF" in got["X-Spam-Status"], got["X-Spam-Status"]
    assert got["Received"].startswith("from mail.aligned.test ([11.22.33.44])") and "(Clement)" in got["Received"]


def test_dmarc_enforcement_spares_bounces_and_mailing_lists(rspamd, services, db, tmp_path):
    """Issue 19: with DMARC p=reject enforced, the wanted mail that fails DMARC without forging
    anyone is judged by its score instead of refused: a delivery status notification (null
    sender) and a mailing list (List-Id) that authenticated itself (its envelope's SPF passes)
    and kept its p=reject author's From:. The same From: without either is still refused."""
    s = RspamdStack(services, db, tmp_path, rspamd.url)
    s.set_content("groups", dmarc_enforce=True, spam_reject_score=500, spam_quarantine_score=None)
    code, text = s.send_from("", message("mailer-daemon@forged.test", "Undelivered Mail Returned to Sender",
                                         to=s.alice))
    assert code == 250, text
    listed = (b"List-Id: <talk.lists.aligned.test>\r\n"
              + message("author@forged.test", "[talk] meeting notes", to="talk@lists.aligned.test"))
    code, text = s.send_from("talk-bounces@aligned.test", listed)
    assert code == 250, text
    assert sorted(m["Subject"] for m in s.delivered_msgs()) == ["Undelivered Mail Returned to Sender",
                                                                 "[talk] meeting notes"]
    # Without List-Id, the same list mail is a forgery of forged.test's From:.
    code, text = s.send_from("talk-bounces@aligned.test",
                             message("author@forged.test", "[talk] more notes", to="talk@lists.aligned.test"))
    assert code == 550 and "forged.test publishes DMARC p=reject" in text, text
    # A List-Id does not help when the sender did not authenticate (SPF fails, no DKIM).
    code, text = s.send_from("billing@forged.test", b"List-Id: <x.forged.test>\r\n" + forged(s, "listy"))
    assert code == 550 and "forged.test publishes DMARC p=reject" in text, text


class _ProxiedFrom(_Proxied):
    """_Proxied with a client address of the test's choosing."""

    def __init__(self, host, port, client):
        self.client = client
        super().__init__(host, port)

    def _get_socket(self, host, port, timeout):
        s = socket.create_connection((host, port), timeout)
        s.sendall(f"PROXY TCP4 {self.client} 127.0.0.1 40000 25\r\n".encode())
        return s


SNOWSHOE_TEXT = ("Congratulations! You have been selected for an exclusive offer on premium watches.\r\n"
                 "Claim it now before Friday: http://promo.example/claim\r\n")


def send_as(s, client, msg, sender="offers@aligned.test"):
    """One transaction to alice from the client address given; (code, reply text) to DATA."""
    with _ProxiedFrom("127.0.0.1", s.port, client) as c:
        c.ehlo("mail.aligned.test")
        assert c.mail(sender)[0] == 250
        assert c.rcpt(s.alice)[0] == 250
        code, text = c.data(msg)
    return code, text.decode("utf-8", "replace")


def snowshoe_offer(s, n):
    """Copy n of one text: only the words with digits (a tracking reference) differ."""
    return message("offers@aligned.test", "Your exclusive offer", body=SNOWSHOE_TEXT + f"Ref T{n}x{n * 7}\r\n",
                   to=s.alice)


def test_the_same_text_from_many_servers_is_refused_as_bulk(rspamd, services, db, tmp_path):
    """Issue 19, snowshoe: one text from many fresh addresses, each copy clean on its own. With
    CLEMENT_BULK_CLIENTS=2, the copy from a third address (words with digits, such as a
    tracking token, differ between copies and do not count) is refused in-session; the same
    address sending again is not another server; signed list mail (List-Unsubscribe with a
    passing DKIM signature) and a different text are not refused."""
    s = RspamdStack(services, db, tmp_path, rspamd.url, scanner_env={"CLEMENT_BULK_CLIENTS": "2"})
    s.set_content("groups", dmarc_enforce=False, spam_reject_score=500, spam_quarantine_score=None)
    send = lambda client, msg: send_as(s, client, msg)  # noqa: E731
    offer = lambda n: snowshoe_offer(s, n)  # noqa: E731

    assert send("11.22.33.45", offer(1))[0] == 250
    assert send("11.22.33.45", offer(2))[0] == 250  # the same server again: still one
    assert send("11.22.33.46", offer(3))[0] == 250
    code, text = send("11.22.33.47", offer(4))
    assert code == 550, text
    assert text == "5.7.1 Message refused as bulk: the same text came from 2 other servers within 60 minutes", text
    rejected = lambda: [r for r in s.message_log() if r["status"] == "rejected"]
    assert wait_for(rejected), s.message_log()  # policy writes its log in batches
    [row] = rejected()
    assert (row["reason_class"], row["code"]) == ("spam", 550), row
    # A newsletter: the same text with List-Unsubscribe, signed by its domain; never counted.
    for n, client in enumerate(("11.22.33.48", "11.22.33.49", "11.22.33.50")):
        m = (b"List-Unsubscribe: <https://aligned.test/unsub>\r\n" + offer(10 + n))
        sig = dkim.sign(m, b"sel", b"aligned.test", rspamd.dkim_key,
                        include_headers=[b"From", b"To", b"Subject", b"Date", b"Message-ID", b"List-Unsubscribe"])
        code, text = send(client, sig + m)
        assert code == 250, text
    # Another text from a fourth server: not the same text.
    code, text = send("11.22.33.51", message("offers@aligned.test", "minutes", to=s.alice))
    assert code == 250, text


def test_a_new_groups_defaults_refuse_forgeries_and_hold_from_6(rspamd, services, db, tmp_path):
    """Issue 19 (migration 0016): a group created without content settings enforces DMARC
    p=reject and holds from score 6, the defaults bench/spamworld measured safe for its ham."""
    s = RspamdStack(services, db, tmp_path, rspamd.url)
    g = db.query("SELECT spam_quarantine_score, spam_reject_score, dmarc_enforce FROM groups "
                 "WHERE id = (SELECT group_id FROM domains WHERE name = %s)", (s.domain,))[0]
    assert (float(g["spam_quarantine_score"]), g["spam_reject_score"], g["dmarc_enforce"]) == (6.0, None, True), g
    code, text = s.send_from("billing@forged.test", forged(s, "default"))
    assert code == 550 and "forged.test publishes DMARC p=reject" in text, text


def test_unsigned_spam_at_the_quarantine_score_is_refused_signed_spam_held(rspamd, services, db, tmp_path):
    """Issue 19 (CLEMENT_SPAM_REFUSE_UNSIGNED, on by default): with the group at its default
    scores (hold from 6, no reject score of its own), a message at the quarantine score that no
    DKIM signature vouches for is refused in-session, 550 5.7.1 with its score and symbols; the
    same kind of message signed by its domain is held; a group that sets its own reject score
    gets what it set."""
    s = RspamdStack(services, db, tmp_path, rspamd.url)
    s.set_content("groups", dmarc_enforce=False)  # judged by score, not by the DMARC rule
    code, text = s.send_from("billing@forged.test", forged(s, "unsigned"))
    assert code == 550, text
    assert text.startswith("5.7.1 Message refused as spam (score ") and "not DKIM-signed" in text, text
    assert "SPF" in text, text
    assert s.delivered() == [] and s.quarantined() == []
    row = s.message_log()[0]
    assert (row["status"], row["reason_class"], row["code"]) == ("rejected", "spam", 550), row
    assert "not DKIM-signed" in row["reason"], row
    # Signed by its own (aligned) domain, shouting, without Date and Message-ID, HTML only,
    # a link to a raw address: spam by score, but a domain answers for it: held.
    body = ('<html><body><p>Your account has been LIMITED. Click <a href="http://198.51.100.7/login.php">'
            "https://www.example.com/signin</a> to restore access or it will be CLOSED!!!</p></body></html>\r\n")
    m = (f"From: Service <news@aligned.test>\r\nTo: <{s.alice}>\r\nSubject: URGENT!!! YOUR ACCOUNT WILL BE "
         f"SUSPENDED\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{body}").encode()
    m = dkim.sign(m, b"sel", b"aligned.test", rspamd.dkim_key, include_headers=[b"From", b"To", b"Subject"]) + m
    code, text = s.send_from("news@aligned.test", m)
    assert code == 250, text
    [q] = s.quarantined()
    assert q["score"] >= 6 and q["reason"].startswith("Held as spam (score "), q
    # The group's own reject score is what it chose: the unsigned forgery is held under it.
    s.set_content("groups", spam_reject_score=500)
    code, text = s.send_from("billing@forged.test", forged(s, "held"))
    assert code == 250, text
    assert {q["subject"] for q in s.quarantined()} == {"URGENT!!! YOUR ACCOUNT WILL BE SUSPENDED", "held"}


def test_a_scored_text_from_a_third_server_is_deferred_once_and_its_retry_judged_by_the_count(
        rspamd, services, db, tmp_path):
    """Issue 19, early snowshoe check (CLEMENT_BULK_DEFER_CLIENTS, default 2): a copy with some
    spam evidence (these fail SPF: a positive score) whose text two other servers sent is
    deferred once, 451 4.7.1; its retry is judged by CLEMENT_BULK_CLIENTS alone: it passes
    while few servers sent the text, and is refused once the campaign's other copies came."""
    s = RspamdStack(services, db, tmp_path, rspamd.url, scanner_env={"CLEMENT_BULK_CLIENTS": "4"})
    s.set_content("groups", dmarc_enforce=False, spam_reject_score=500, spam_quarantine_score=None)
    assert send_as(s, "11.22.33.45", snowshoe_offer(s, 1))[0] == 250
    assert send_as(s, "11.22.33.46", snowshoe_offer(s, 2))[0] == 250
    code, text = send_as(s, "11.22.33.47", snowshoe_offer(s, 3))
    assert (code, text) == (451, "4.7.1 Try again later (bulk check): the same text came from 2 other servers "
                                 "within 60 minutes"), text
    failed = lambda: [r for r in s.message_log(n=3) if r["status"] == "failed"]  # noqa: E731
    assert wait_for(failed), s.message_log()
    [row] = failed()
    assert (row["reason_class"], row["code"], row["enh"]) == ("greylist", 451, "4.7.1"), row
    code, text = send_as(s, "11.22.33.47", snowshoe_offer(s, 3))  # the retry: 2 others < 4
    assert code == 250, text
    assert send_as(s, "11.22.33.48", snowshoe_offer(s, 4))[0] == 451
    code, text = send_as(s, "11.22.33.49", snowshoe_offer(s, 5))
    assert (code, text) == (550, "5.7.1 Message refused as bulk: the same text came from 4 other servers within "
                                 "60 minutes"), text
    code, text = send_as(s, "11.22.33.48", snowshoe_offer(s, 4))  # this retry meets the campaign
    assert code == 550 and "4 other servers" in text, text
    assert len(s.delivered()) == 3
