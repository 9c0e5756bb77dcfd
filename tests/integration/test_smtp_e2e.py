"""End to end through the real services: smtp-edge -> policy (PostgreSQL) -> scanner
(libclamav) -> delivery (Maildir), with a local-mode domain seeded by SQL.

With CLEMENT_TEST_EXTERNAL set (see smtp_util), the same tests run against an already
running stack: they seed their own rows (a domain with a unique name) in that database and
check outcomes through the logs policy writes, not through the Maildir."""
import os
import pathlib
import smtplib
import subprocess
import time
import uuid

import psycopg2
import psycopg2.extras
import pytest

from conftest import ROOT, free_port, rpc_url
from smtp_util import EXTERNAL, Edge, Raw, cert_paths, client_tls, external

EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTI" + "VIRUS-TEST-FILE!$H+H*"


class ExternalDB:
    def __init__(self, url):
        self.conn = psycopg2.connect(url)
        self.conn.autocommit = True

    def query(self, sql, params=None):
        with self.conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as c:
            c.execute(sql, params)
            return c.fetchall() if c.description else []

    def scalar(self, sql, params=None):
        rows = self.query(sql, params)
        return next(iter(rows[0].values())) if rows else None

    def execute(self, sql, params=None):
        with self.conn.cursor() as c:
            c.execute(sql, params)


class Stack:
    def __init__(self, edge, db, domain, maildir=None):
        self.edge, self.db, self.domain, self.maildir = edge, db, domain, maildir

    def delivered(self, user):
        """Message files in user's Maildir new/ (local stacks only)."""
        d = pathlib.Path(self.maildir) / self.domain / user / "new"
        return sorted(d.glob("*")) if d.exists() else []

    def message_log(self, msgid=None, rcpt=None, timeout=8.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            rows = self.db.query("SELECT * FROM message_log WHERE (%s::text IS NULL OR msgid = %s) "
                                 "AND (%s::text IS NULL OR rcpt = %s)", (msgid, msgid, rcpt, rcpt))
            if rows:
                return rows
            time.sleep(0.1)
        return []


def seed(db, domain):
    gid = db.scalar("INSERT INTO groups (name, mode) VALUES (%s, 'local') RETURNING id", ("g-" + domain,))
    did = db.scalar("INSERT INTO domains (name, group_id) VALUES (%s, %s) RETURNING id", (domain, gid))
    for user in ("alice", "bob"):
        db.execute("INSERT INTO users (domain_id, local_part) VALUES (%s, %s)", (did, user))


@pytest.fixture
def stack(request, tmp_path):
    domain = f"e2e-{uuid.uuid4().hex[:8]}.test"
    if EXTERNAL:
        ext = external()
        db = ExternalDB(ext["db"])
        seed(db, domain)
        time.sleep(1.5)  # policy's cache follows by LISTEN/NOTIFY
        h, p = ext["smtp"]
        yield Stack(Edge(None, h, p, ext.get("smtps", (h, 0))[1], ext.get("submission", (h, 0))[1]), db, domain)
        return
    db = request.getfixturevalue("db")
    services = request.getfixturevalue("services")
    seed(db, domain)
    policy, scanner, delivery = rpc_url(), rpc_url(), rpc_url()
    services.start("policy", {"CLEMENT_POLICY_LISTEN": policy, "CLEMENT_DB_URL": db.url,
                              "CLEMENT_POLICY_WORKERS": "2", "CLEMENT_POLICY_ALLOW_LOOPBACK": "1",
                              "CLEMENT_POLICY_LOG_FLUSH_MS": "200"})
    sigs = tmp_path / "clamav"
    subprocess.run([str(ROOT / "scripts/make-test-sigs"), str(sigs)], check=True)
    services.start("scanner", {"CLEMENT_SCANNER_LISTEN": scanner, "CLEMENT_CLAMAV_DB": str(sigs),
                               "CLEMENT_SCANNER_WORKERS": "1"}, wait=True)
    maildir = tmp_path / "maildir"
    services.start("delivery", {"CLEMENT_DELIVERY_LISTEN": delivery, "CLEMENT_DB_URL": db.url,
                                "CLEMENT_MAILDIR_ROOT": str(maildir)})
    cert, key = cert_paths()
    ports = [free_port() for _ in range(3)]
    svc = services.start("smtp-edge", {
        "CLEMENT_SMTP_LISTEN": f"127.0.0.1:{ports[0]}", "CLEMENT_SMTPS_LISTEN": f"127.0.0.1:{ports[1]}",
        "CLEMENT_SUBMISSION_LISTEN": f"127.0.0.1:{ports[2]}", "CLEMENT_TLS_CERT": cert, "CLEMENT_TLS_KEY": key,
        "CLEMENT_HOSTNAME": "mx.clement.test", "CLEMENT_POLICY_URL": policy, "CLEMENT_SCANNER_URL": scanner,
        "CLEMENT_DELIVERY_URL": delivery, "CLEMENT_PREGREET_WAIT": "0", "CLEMENT_SHUTDOWN_GRACE_S": "3"})
    yield Stack(Edge(svc, "127.0.0.1", *ports), db, domain, str(maildir))


def test_e2e_local_delivery_over_starttls(stack):
    to = f"alice@{stack.domain}"
    with smtplib.SMTP(stack.edge.host, stack.edge.smtp, timeout=30) as c:
        c.starttls(context=client_tls())
        c.ehlo("client.sender.example")
        c.mail("someone@sender.example")
        assert c.rcpt(to)[0] == 250
        code, text = c.data(f"From: <someone@sender.example>\r\nTo: <{to}>\r\nSubject: e2e hello\r\n\r\nHi Alice.\r\n")
    assert code == 250, text
    rows = stack.message_log(rcpt=to)
    assert rows and rows[0]["status"] == "received" and rows[0]["subject"] == "e2e hello"
    if stack.maildir:
        files = stack.delivered("alice")
        assert len(files) == 1
        data = files[0].read_bytes()
        assert b"Received: from client.sender.example ([127.0.0.1])" in data and b"(using TLSv1." in data
        assert b"Hi Alice." in data


def test_e2e_unknown_recipient_and_virus(stack):
    r = Raw(stack.edge.host, stack.edge.smtp, timeout=30)
    assert r.reply()[0] == 220
    assert r.cmd("EHLO client.sender.example")[0] == 250
    assert r.cmd("MAIL FROM:<someone@sender.example>")[0] == 250
    code, text = r.cmd(f"RCPT TO:<nobody@{stack.domain}>")
    assert code == 550 and "5.1.1" in text
    assert r.cmd(f"RCPT TO:<bob@{stack.domain}>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(f"Subject: v\r\n\r\n{EICAR}\r\n.\r\n")
    code, text = r.reply()
    assert code == 554 and text.startswith("554 5.7.1 Virus found: Eicar-Test-Signature"), text
    if stack.maildir:
        assert not stack.delivered("bob")
    rows = stack.message_log(rcpt=f"bob@{stack.domain}")
    assert rows and rows[0]["status"] == "rejected" and rows[0]["virus"].startswith("Eicar-Test-Signature")


def test_e2e_smuggling_delivers_nothing(stack):
    r = Raw(stack.edge.host, stack.edge.smtp, timeout=30)
    assert r.reply()[0] == 220
    r.cmd("EHLO client.sender.example")
    assert r.cmd("MAIL FROM:<someone@sender.example>")[0] == 250
    assert r.cmd(f"RCPT TO:<alice@{stack.domain}>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(f"Subject: s\r\n\r\nx\n.\nMAIL FROM:<evil@sender.example>\r\nRCPT TO:<bob@{stack.domain}>\r\nDATA\r\nevil\r\n.\r\n")
    code, _ = r.reply()
    assert code == 554
    assert r.cmd("QUIT")[0] == 221
    if stack.maildir:
        assert not stack.delivered("alice") and not stack.delivered("bob")


@pytest.mark.parametrize("path,code", [("<;sleep 5;>", 501), ("<a'--@x>", 501), ("<${run{/bin/true}}@x>", 501),
                                       ("<bob>", 553), ("<a@b.example> AUTH=x+0D+0AX:+20y", 501)])
def test_e2e_hostile_senders(stack, path, code):
    r = Raw(stack.edge.host, stack.edge.smtp, timeout=30)
    assert r.reply()[0] == 220
    r.cmd("EHLO client.sender.example")
    assert r.cmd("MAIL FROM:" + path)[0] == code


def test_e2e_strictness(stack):
    r = Raw(stack.edge.host, stack.edge.smtp, timeout=30)
    assert r.reply()[0] == 220
    r.cmd("EHLO client.sender.example")
    r.send("NOOP " + "x" * 70000 + "\r\n")
    code, text = r.reply()
    assert code == 500 and "5.5.2" in text
    assert r.cmd("NOOP")[0] == 250
    # STARTTLS with pipelined plaintext: the injected command is discarded
    r.send("STARTTLS\r\nMAIL FROM:<evil@sender.example>\r\n")
    assert r.reply()[0] == 220
    r.starttls()
    assert r.cmd("RCPT TO:<alice@%s>" % stack.domain)[0] == 503
    h = Raw(stack.edge.host, stack.edge.smtp, timeout=30)
    assert h.reply()[0] == 220
    h.send("GET / HTTP/1.1\r\n\r\n")
    assert h.closed()
