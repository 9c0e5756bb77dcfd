"""Virus scanning end to end (issue 5): a real SMTP client (smtplib) talks to smtp-edge, which
asks the real policy (PostgreSQL), the real clement-scanner (libclamav, with the test database
of scripts/make-test-sigs) and the real delivery (Maildir). What a sender sees is the reply to
DATA; what the recipient sees is its Maildir and, through admin-api, its message log.

libclamav suffixes names of signatures from outside a signed .cvd/.cld with ".UNOFFICIAL",
so the test database's EICAR signature is reported as "Eicar-Test-Signature.UNOFFICIAL".
"""
import email
import email.policy
import os
import signal
import time

import pytest

from conftest import ROOT, free_port
from harness.api import Api, PASSWORD
from harness.content import Stack, mime, SENDER
from harness.delivery import SmtpSink
from harness.scanner import EICAR, PATTERN, zipped


def plain(subject, body):
    return f"From: <{SENDER}>\r\nSubject: {subject}\r\n\r\n".encode() + body + b"\r\n"


INFECTED = {
    "body": lambda: plain("plain eicar", b"Look at this:\r\n" + EICAR),
    "base64": lambda: mime("eicar attached", [("eicar.com", EICAR, "application/octet-stream")]),
    "zip": lambda: mime("eicar zipped", [("invoice.zip", zipped("docs/eicar.com", EICAR), "application/zip")]),
}


@pytest.fixture
def stack(services, db, tmp_path):
    return Stack(services, db, tmp_path)


@pytest.mark.parametrize("where", list(INFECTED))
def test_eicar_is_refused_with_554_and_the_signature_name(stack, where):
    msg = INFECTED[where]()
    if where != "body":
        assert EICAR not in msg  # only the decoded (and unzipped) part holds it
    code, text = stack.send(msg)
    assert (code, text) == (554, "5.7.1 Virus found: Eicar-Test-Signature.UNOFFICIAL")
    assert stack.delivered() == []
    rows = stack.message_log()
    assert len(rows) == 1
    row = rows[0]
    assert (row["status"], row["reason_class"], row["virus"], row["code"], row["enh"]) == (
        "rejected", "virus", "Eicar-Test-Signature.UNOFFICIAL", 554, "5.7.1")
    assert "Virus found: Eicar-Test-Signature.UNOFFICIAL" in row["reason"]


def test_our_own_test_pattern_in_a_text_attachment_is_refused(stack):
    code, text = stack.send(mime("notes", [("notes.txt", b"line one\n" + PATTERN + b"\n", "text/plain")]))
    assert (code, text) == (554, "5.7.1 Virus found: Clement.Test.Pattern.UNOFFICIAL")
    assert stack.delivered() == []


def test_a_clean_message_with_attachments_is_delivered_intact(stack):
    parts = [("report.txt", b"quarterly numbers\n" * 200, "text/plain"),
             ("data.bin", os.urandom(50000), "application/octet-stream"),
             ("archive.zip", zipped("readme.txt", b"nothing to see here\n" * 100), "application/zip")]
    code, text = stack.send(mime("clean with attachments", parts))
    assert code == 250, text
    files = stack.delivered()
    assert len(files) == 1
    got = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert got["Subject"] == "clean with attachments"
    assert [(a.get_filename(), a.get_content()) for a in got.iter_attachments()] == [
        (name, data.decode() if ctype.startswith("text/") else data) for name, data, ctype in parts]
    rows = stack.message_log()
    assert [(r["status"], r["virus"]) for r in rows] == [("received", None)]


@pytest.mark.parametrize("action", ["refuse", "accept"])
def test_a_message_over_the_scan_limit_gets_the_configured_verdict(services, db, tmp_path, action):
    s = Stack(services, db, tmp_path,
              scanner_env={"CLEMENT_SCAN_MAX_SCAN_SIZE": "65536", "CLEMENT_SCAN_LIMIT_ACTION": action})
    big = mime("big", [("big.bin", os.urandom(100000), "application/octet-stream")])
    code, text = s.send(big)
    if action == "refuse":
        assert code == 554 and text.startswith("5.7.1 Virus found: Heuristics.Limits.Exceeded"), text
        assert s.delivered() == []
        row = s.message_log()[0]
        assert row["status"] == "rejected" and row["virus"].startswith("Heuristics.Limits.Exceeded")
    else:
        assert code == 250, text
        assert len(s.delivered()) == 1
    # Under the limit, the setting changes nothing.
    code, text = s.send(mime("small", [("small.bin", os.urandom(10000), "application/octet-stream")]), to="bob")
    assert code == 250, text
    assert len(s.delivered("bob")) == 1


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_scanner_stopped_gives_451_and_delivers_nothing(services, db, tmp_path, sig):
    s = Stack(services, db, tmp_path, edge_env={"CLEMENT_SCANNER_TIMEOUT_MS": "3000"})
    assert s.send(plain("before", b"all fine"))[0] == 250
    s.stop_scanner(sig)
    code, text = s.send(plain("while down", b"this one must wait"))
    assert (code, text) == (451, "4.3.0 Temporary failure, try again later")
    assert code // 100 == 4
    assert len(s.delivered()) == 1  # only the message sent before
    rows = s.message_log(n=2)
    assert [(r["status"], r["reason_class"], r["code"]) for r in rows] == [("received", None, 250), ("failed", "temporary", 451)]
    assert "event=scan_failed" in s.edge.log()
    # Back on the same address, the scanner serves again and mail flows.
    s.scanner = services.start("scanner", s.scanner_env)
    deadline = time.monotonic() + 30
    while True:
        code, text = s.send(plain("after", b"scanned again"))
        if code == 250 or time.monotonic() > deadline:
            break
        time.sleep(0.5)   # the edge's RPC client redials with a backoff
    assert code == 250, text
    assert len(s.delivered()) == 2


def test_fail_open_delivers_unscanned_and_says_so_loudly(services, db, tmp_path):
    s = Stack(services, db, tmp_path, edge_env={"CLEMENT_SCAN_FAIL_OPEN": "1", "CLEMENT_SCANNER_TIMEOUT_MS": "3000"})
    assert "scan_fail_open=1" in s.edge.log() and "UNSCANNED" in s.edge.log()
    s.stop_scanner(signal.SIGTERM)
    code, text = s.send(mime("unscanned", [("eicar.com", EICAR, "application/octet-stream")]))
    assert code == 250, text
    assert len(s.delivered()) == 1
    lines = [ln for ln in s.edge.log().splitlines() if "event=scan_failed_open" in ln]
    assert len(lines) == 1, s.edge.log()[-3000:]
    assert "level=error" in lines[0] and "delivered UNSCANNED" in lines[0] and "action=deliver_unscanned" in lines[0]
    assert "clement_edge_unscanned_total 1" in s.edge.metrics()


def test_outbound_mail_is_scanned_too_and_logged_once(services, db, tmp_path):
    sink = SmtpSink(tmp_path)
    try:
        s = Stack(services, db, tmp_path, delivery_env={"CLEMENT_SMARTHOST": f"127.0.0.1:{sink.port}"})
        code, text = s.submit(INFECTED["base64"](), "friend@far.example")
        assert (code, text) == (554, "5.7.1 Virus found: Eicar-Test-Signature.UNOFFICIAL")
        assert sink.dumps() == []
        code, text = s.submit(mime("quarterly report", [("report.txt", b"numbers\n", "text/plain")]),
                              "friend@far.example")
        assert code == 250, text
        assert len(sink.dumps()) == 1
        # A later message's row: policy writes its queue in order, so a second row of the
        # message above, had the edge sent one, would be in the table by then.
        assert s.send(plain("marker", b"later"), to="bob")[0] == 250
        assert s.message_log("bob")
        # Ordered by subject, not id: the refusal's row goes through policy's log queue and the
        # relayed message's through delivery, so which lands first is a race (CI saw both orders).
        rows = s.db.query("SELECT direction, status, rcpt, virus, subject FROM message_log WHERE sender = %s "
                          "ORDER BY subject", (f"alice@{s.domain}",))
        assert [(r["direction"], r["status"], r["rcpt"], r["virus"], r["subject"]) for r in rows] == [
            ("out", "rejected", "friend@far.example", "Eicar-Test-Signature.UNOFFICIAL", "eicar attached"),
            ("out", "sent", "friend@far.example", None, "quarterly report")]
    finally:
        sink.stop()


def test_the_recipient_sees_the_virus_refusal_in_its_log_through_the_api(stack, services, tmp_path):
    code, text = stack.send(INFECTED["zip"](), to="bob")
    assert code == 554
    assert stack.message_log("bob")
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text("<!DOCTYPE html><title>Clement</title>")
    port = free_port()
    services.start("admin-api", {"CLEMENT_ADMIN_LISTEN": f"127.0.0.1:{port}", "CLEMENT_DB_URL": stack.db.url,
                                 "CLEMENT_FRONTEND_DIR": str(web), "CLEMENT_DELIVERY_URL": ""})
    bob = Api(port)
    st, body = bob.login(f"bob@{stack.domain}", PASSWORD)
    assert st == 200, body
    st, logs = bob.get("/api/logs?status=rejected")
    assert st == 200 and logs["total"] == 1, logs
    row = logs["items"][0]
    assert row["rcpt"] == f"bob@{stack.domain}" and row["sender"] == SENDER
    assert row["virus"] == "Eicar-Test-Signature.UNOFFICIAL" and row["reason_class"] == "virus"
    assert row["code"] == 554 and "Virus found: Eicar-Test-Signature.UNOFFICIAL" in row["reason"]
    assert row["subject"] == "eicar zipped"
    # Another user of the same domain does not see it.
    alice = Api(port)
    assert alice.login(f"alice@{stack.domain}", PASSWORD)[0] == 200
    assert alice.get("/api/logs")[1]["total"] == 0


def test_freshclam_ships_behind_a_profile_and_is_documented():
    """Real signatures come from freshclam (no download in tests): compose ships it behind a
    profile, writing the very directory the scanner loads, and the READMEs say how to use it."""
    import yaml
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    fc, scanner = compose["services"]["freshclam"], compose["services"]["scanner"]
    assert fc["profiles"] == ["freshclam"] and "profiles" not in scanner
    db_dir = scanner["environment"]["CLEMENT_CLAMAV_DB"]
    vol = lambda svc: {v.split(":")[1]: v.split(":")[0] for v in svc["volumes"]}
    assert vol(fc)[db_dir] == vol(scanner)[db_dir] == "signatures"
    conf = (ROOT / "deploy/docker/freshclam.conf").read_text()
    assert f"DatabaseDirectory {db_dir}" in conf
    for doc in ("README.md", "services/scanner/README.md"):
        text = (ROOT / doc).read_text()
        assert "--profile freshclam" in text and "DatabaseDirectory" in text, doc
