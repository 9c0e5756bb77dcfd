"""The compose demo's local-mode group relays its users' outbound mail through a real Postfix
(issue 20): the `postfix` service is the demo's downstream (migrate's CLEMENT_DEMO_RELAY_HOST),
so it is the local demo group's smart host (groups.relay_host of 'Local demo'). As a user of the
demo would: alice@example.test, with the password the migrate step printed, submits on 587 with
STARTTLS and AUTH to carol@remote.test; the message lands in the Postfix container's Maildir
(read back from there), and alice's own log (/api/logs through nginx, logged in as her) says
'sent', which delivery writes only after Postfix's 250.

Runs only against a stack started by scripts/compose-test (CLEMENT_COMPOSE, CLEMENT_TEST_EXTERNAL).
"""
import http.client
import json
import re
import smtplib
import ssl
import time
import urllib.parse
import uuid

import pytest

from compose_util import COMPOSE, EXTERNAL, compose

pytestmark = pytest.mark.skipif(not (COMPOSE and "submission" in EXTERNAL and "web" in EXTERNAL),
                                reason="needs the stack of scripts/compose-test")
USER = "alice@example.test"
RCPT = "carol@remote.test"
MAILBOX = "/var/mail/vhosts/remote.test/new"


def demo_password(address):
    """The demo password the migrate step printed for ADDRESS (`docker compose logs migrate`)."""
    out = compose("logs", "--no-color", "migrate").stdout
    m = re.search(rf"^\S*\s*\|?\s*{re.escape(address)}\s+(\S+)\s*$", out, re.M)
    assert m, out
    return m.group(1)


class Web:
    """The web API through the stack's nginx, as the UI uses it: session cookie, CSRF token."""

    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.host, self.port, self.origin = u.hostname, u.port, f"{u.scheme}://{u.netloc}"
        self.cookie = self.csrf = None

    def req(self, method, path, body=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=20)
        h = {"Origin": self.origin} if method != "GET" else {}
        if body is not None:
            h["Content-Type"] = "application/json"
        if self.cookie:
            h["Cookie"] = self.cookie
        conn.request(method, path, body=json.dumps(body).encode() if body is not None else None, headers=h)
        resp = conn.getresponse()
        text = resp.read()
        conn.close()
        if resp.getheader("Set-Cookie"):
            self.cookie = resp.getheader("Set-Cookie").split(";")[0]
        return resp.status, (json.loads(text) if text.startswith(b"{") else text)

    def login(self, address, password):
        st, body = self.req("POST", "/api/login", {"address": address, "password": password})
        assert st == 200, body
        self.csrf = body["csrf_token"]


def test_demo_users_submission_is_relayed_by_the_postfix_smarthost_and_logged_sent():
    password = demo_password(USER)
    token = uuid.uuid4().hex
    msg = (f"From: Alice <{USER}>\r\nTo: <{RCPT}>\r\nSubject: outbound {token}\r\n"
           f"Message-ID: <{token}@example.test>\r\nDate: Sat, 05 Dec 2026 08:00:00 +0000\r\n\r\n"
           f"Relayed by the group's smart host {token}.\r\n")
    host, port = EXTERNAL["submission"].rsplit(":", 1)
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE   # the demo's self-signed certificate
    with smtplib.SMTP(host, int(port), timeout=60) as s:
        s.ehlo("laptop.example.net")
        s.starttls(context=ctx)
        s.ehlo("laptop.example.net")
        s.login(USER, password)
        assert s.sendmail(USER, [RCPT], msg.encode()) == {}

    deadline, got = time.time() + 30, ""
    while token not in got and time.time() < deadline:
        got = compose("exec", "-T", "postfix", "sh", "-c", f"cat {MAILBOX}/* 2>/dev/null", check=False).stdout
        time.sleep(0.5)
    assert f"Subject: outbound {token}" in got, compose("logs", "--no-color", "--tail=30", "postfix").stdout
    # Postfix's own trace: it received the message from Clement's delivery over SMTP.
    assert re.search(r"^Received: from \S+ \(.*\)\s+by smarthost\.example\.test \(Postfix\)", got, re.M), got

    web = Web(EXTERNAL["web"])
    web.login(USER, password)
    deadline, rows = time.time() + 20, []
    while not any(r["status"] == "sent" for r in rows) and time.time() < deadline:
        st, body = web.req("GET", "/api/logs?direction=out&rcpt=" + urllib.parse.quote(RCPT))
        assert st == 200, body
        rows = [r for r in body["items"] if token in (r.get("subject") or "")]
        time.sleep(0.5)
    assert [(r["status"], r["sender"], r["rcpt"]) for r in rows] == [("sent", USER, RCPT)], rows
