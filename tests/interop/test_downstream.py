"""Real MTAs as the downstream of a relay-mode group (issue 20): Clement's services run here
(real policy, scanner, delivery, smtp-edge on loopback, as in tests/integration), each peer
(Debian's Postfix, Exim, Sendmail) in its container is the group's final destination, and what lands
in its Maildirs is read back.

A case is one test, parametrised by peer; scripts/interop-test runs the peers in parallel
and turns the results into the matrix of docs/INTEROP.md."""
import hashlib
import os
import pathlib
import re
import shutil
import smtplib
import subprocess
import tempfile
import time
import uuid

import pytest

from conftest import free_port, wait_for
from harness.api import Api, start_api
from harness.e2e import PASSWORD, run_stack
from peers import USERS, Peer

PEERS = ["postfix", "exim", "sendmail"]

# Header fields a copy may carry that the sender did not write: Clement's Received: and the
# downstream's own trace fields (Postfix: Return-Path, X-Original-To, Delivered-To, Received;
# Exim: Return-path, Envelope-to, Delivery-date, Received).
ADDED = {"received", "return-path", "x-original-to", "delivered-to", "envelope-to", "delivery-date"}


@pytest.fixture(scope="module", params=PEERS)
def peer(request):
    p = Peer(request.param)
    yield p
    p.stop()


@pytest.fixture(scope="module")
def test_ca():
    """A private CA and a certificate it signed for 127.0.0.1 (the downstream's address):
    (directory with tls.crt and tls.key for a peer, path of the CA's PEM)."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="clement-interop-ca-"))
    os.chmod(d, 0o755)
    ssl = lambda *a: subprocess.run(["openssl", *a], cwd=d, check=True, capture_output=True)  # noqa: E731
    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Clement interop test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout", "ca.key", "-out", "ca.pem")
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "tls.key", "-out", "tls.csr")
    (d / "ext").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    ssl("x509", "-req", "-in", "tls.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
        "-extfile", "ext", "-out", "tls.crt")
    os.chmod(d / "tls.key", 0o644)  # a test key, read by the peer's own user
    yield d, str(d / "ca.pem")
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def relay(request, tmp_path, peer, test_ca):
    """The stack with a relay-mode group whose downstream is peer; Clement knows bob,
    tempfail, u0..u99 and ghost (ghost is unknown to the downstream); the group quarantines
    mail from spam@sender.example."""
    db = request.getfixturevalue("db")
    gid = db.scalar("INSERT INTO groups (name, mode, relay_host, relay_port, relay_tls) VALUES"
                    " (%s, 'relay', '127.0.0.1', %s, 'opportunistic') RETURNING id", ("g-" + peer.kind, peer.port))
    did = db.scalar("INSERT INTO domains (name, group_id) VALUES (%s, %s) RETURNING id", (peer.domain, gid))
    for u in [x for x in USERS if x != "probed"] + ["ghost"]:
        db.execute("INSERT INTO users (domain_id, local_part) VALUES (%s, %s)", (did, u))
    db.execute("INSERT INTO directives (group_id, sender_pattern, action) VALUES (%s, %s, 'quarantine')",
               (gid, "spam@sender.example"))
    for d in peer.mail.glob("*"):  # the peer outlives the test: its mailboxes start empty
        shutil.rmtree(d)
    for st in run_stack(request, tmp_path, delivery_env={"CLEMENT_RELAY_CA_FILE": test_ca[1]},
                        CLEMENT_MAX_MESSAGE_SIZE=30 * 1024 * 1024):
        st.tls_dir = test_ca[0]
        st.peer, st.group_id = peer, gid
        yield st


def send(st, rcpts, msg, sender="alice@sender.example", options=()):
    """One SMTP transaction to the edge: (code, text) of the DATA reply, or of the first
    refused RCPT (code, text, 'rcpt')."""
    with smtplib.SMTP(st.edge.host, st.edge.smtp, timeout=120) as c:
        c.ehlo("client.sender.example")
        code, text = c.mail(sender, list(options))
        assert code == 250, text
        for r in rcpts:
            code, text = c.rcpt(r)
            if code != 250:
                return code, text.decode(errors="replace"), "rcpt"
        code, text = c.data(msg)
        return code, text.decode(errors="replace")


def fields(header):
    """Header fields of a header block (CRLF lines), each with its folded lines."""
    out = []
    for line in header.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and out:
            out[-1] += b"\r\n" + line
        elif line:
            out.append(line)
    return out


def split(data):
    """(header fields, body) of a stored copy; Maildirs store LF line ends, the wire has CRLF."""
    data = re.sub(rb"\r?\n", b"\r\n", data)
    head, _, body = data.partition(b"\r\n\r\n")
    return fields(head), body


def assert_same(sent, stored):
    """Byte-exact: the body and every header field Clement or the downstream did not add are
    the bytes sent, in order (compared by SHA-256 so a failure stays readable)."""
    sh, sb = split(sent)
    gh, gb = split(stored)
    kept = [f for f in gh if f.split(b":", 1)[0].strip().lower().decode() not in ADDED]
    assert hashlib.sha256(gb).hexdigest() == hashlib.sha256(sb).hexdigest(), (len(gb), len(sb), gb[:200])
    assert [hashlib.sha256(f).hexdigest() for f in kept] == [hashlib.sha256(f).hexdigest() for f in sh], \
        (kept, sh)


def relayed_to_bob(st, msg, timeout=30, **kw):
    """Send msg to bob at the peer; it must be accepted and land once, byte-exact. Returns the copy."""
    p = st.peer
    r = send(st, [f"bob@{p.domain}"], msg, **kw)
    assert r[0] == 250, r
    got = p.wait_delivered("bob", timeout=timeout)
    assert len(got) == 1, p.logs()
    assert_same(msg, got[0])
    return got[0]


def message(to, subject, body=b"Hello.\r\n", extra=b""):
    mid = uuid.uuid4().hex
    return (b"From: Alice <alice@sender.example>\r\nTo: " + to.encode() + b"\r\nSubject: " + subject +
            b"\r\nDate: Fri, 04 Dec 2026 12:00:00 +0000\r\nMessage-ID: <" + mid.encode() +
            b"@sender.example>\r\n" + extra + b"\r\n" + body)


def test_byte_exact(relay):
    p = relay.peer
    to = f"bob@{p.domain}"
    body = (b"First line.\r\n.A line that starts with a dot\r\n..two dots\r\nTrailing blanks   \r\n\r\n"
            b"\tTab first\r\nFrom the start of a line\r\n" + b"x" * 990 + b"\r\nlast line\r\n")
    msg = message(to, b"interop byte-exact", body,
                  b"X-Folded: first part\r\n\tsecond part\r\n  third part\r\nX-Empty:\r\n"
                  b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n")
    relayed_to_bob(relay, msg)


def test_8bitmime(relay):
    p = relay.peer
    to = f"bob@{p.domain}"
    body = "Grüße aus Köln, ½ € — ok\r\n".encode()
    msg = message(to, b"8bit body", body, b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                  b"Content-Transfer-Encoding: 8bit\r\n")
    relayed_to_bob(relay, msg, options=["BODY=8BITMIME"])


def test_smtputf8(relay):
    """A UTF-8 envelope sender: Postfix and Exim offer SMTPUTF8 and get the message; Debian's
    Sendmail does not, so Clement refuses it in the client's session (RFC 6531 3.4: 553 5.6.7)
    rather than pass it on without the parameter."""
    p = relay.peer
    to = f"bob@{p.domain}"
    sender = "jürgen@sender.example"
    msg = message(to, "Grüße von Jürgen".encode(), "Hallo Bob, schöne Grüße.\r\n".encode(),
                  "Reply-To: Jürgen <jürgen@sender.example>\r\nMIME-Version: 1.0\r\n"
                  "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n".encode())
    if p.kind == "sendmail":
        r = send(relay, [to], msg, sender=sender, options=["SMTPUTF8", "BODY=8BITMIME"])
        assert r[0] == 553 and "5.6.7" in r[1], r
        time.sleep(1)
        assert p.delivered("bob") == []
        return
    got = relayed_to_bob(relay, msg, sender=sender, options=["SMTPUTF8", "BODY=8BITMIME"])
    assert re.search(rb"(?i)^return-path: <j\xc3\xbcrgen@sender\.example>", re.sub(rb"\r?\n", b"\n", got), re.M)


def test_smtputf8_header_only(relay):
    """An ASCII envelope, SMTPUTF8 on MAIL and UTF-8 in the header (RFC 6532): Postfix and Exim
    offer SMTPUTF8 and get it byte-exact; Debian's Sendmail does not, so Clement refuses it in
    the client's session (RFC 6531 3.4, Postfix's rule: 554 5.6.9) rather than pass a UTF-8
    header to a server that never agreed to one."""
    p = relay.peer
    to = f"bob@{p.domain}"
    msg = message(to, "Grüße, nur im Kopf".encode(), b"ASCII body.\r\n",
                  "Reply-To: Jürgen Müller <juergen@sender.example>\r\n".encode())
    if p.kind == "sendmail":
        r = send(relay, [to], msg, options=["SMTPUTF8"])
        assert r[0] == 554 and "5.6.9" in r[1], r
        time.sleep(1)
        assert p.delivered("bob") == []
        return
    relayed_to_bob(relay, msg, options=["SMTPUTF8"])


def test_20mb(relay):
    p = relay.peer
    to = f"bob@{p.domain}"
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdef\r\n"  # 78 + 2
    body = line * (20 * 1024 * 1024 // len(line))
    msg = message(to, b"20 MB", body)
    relayed_to_bob(relay, msg, timeout=120)


def test_100_recipients(relay):
    p = relay.peer
    rcpts = [f"u{i}@{p.domain}" for i in range(100)]
    msg = message(f"list@{p.domain}", b"one transaction, 100 recipients")
    assert send(relay, rcpts, msg)[0] == 250
    assert wait_for(lambda: all(len(p.delivered(f"u{i}")) == 1 for i in range(100)), timeout=60), \
        [i for i in range(100) if len(p.delivered(f"u{i}")) != 1]
    assert_same(msg, p.delivered("u57")[0])


def test_downstream_refuses_recipient(relay):
    """ghost is known to Clement but not to the downstream: the downstream's 550 reaches the
    client in the same session (at DATA), so the sender's MTA bounces, never Clement."""
    p = relay.peer
    r = send(relay, [f"ghost@{p.domain}"], message(f"ghost@{p.domain}", b"to nobody"))
    assert r[0] == 550 and "5.1.1" in r[1], r
    time.sleep(1)
    assert p.delivered("ghost") == []


def test_downstream_tempfail(relay):
    p = relay.peer
    r = send(relay, [f"tempfail@{p.domain}"], message(f"tempfail@{p.domain}", b"try later"))
    assert r[0] == 451, r
    time.sleep(1)
    assert p.delivered("tempfail") == []


def test_downstream_down(relay):
    relay.db.execute("UPDATE groups SET relay_port = %s WHERE id = %s", (free_port(), relay.group_id))
    r = send(relay, [f"bob@{relay.peer.domain}"], message(f"bob@{relay.peer.domain}", b"nobody listens"))
    assert r[0] == 451, r


def test_tls_required_against_no_tls_is_refused(relay):
    """The peers offer no STARTTLS: a group that requires TLS never sends in plaintext."""
    relay.db.execute("UPDATE groups SET relay_tls = 'required' WHERE id = %s", (relay.group_id,))
    p = relay.peer
    r = send(relay, [f"bob@{p.domain}"], message(f"bob@{p.domain}", b"needs TLS"))
    assert r[0] == 451 and "4.7." in r[1], r
    time.sleep(1)
    assert p.delivered("bob") == []


def test_tls_required_verified_against_test_ca(relay):
    """A peer offering STARTTLS with a certificate from the test CA (CLEMENT_RELAY_CA_FILE):
    required TLS verifies it (CLEMENT_RELAY_TLS_VERIFY=1, the default) and delivers."""
    tls_peer = Peer(relay.peer.kind, tls_dir=relay.tls_dir)
    try:
        relay.db.execute("UPDATE groups SET relay_tls = 'required', relay_port = %s WHERE id = %s",
                         (tls_peer.port, relay.group_id))
        relay.peer = tls_peer
        relayed_to_bob(relay, message(f"bob@{tls_peer.domain}", b"over verified TLS"))
    finally:
        tls_peer.stop()


def test_recipient_probe(relay):
    """verify_recipients = probe: a recipient Clement does not list is asked of the downstream by
    an RCPT probe; its 550 refuses the recipient at RCPT, its 250 accepts and the mail lands."""
    p = relay.peer
    relay.db.execute("UPDATE groups SET verify_recipients = 'probe' WHERE id = %s", (relay.group_id,))

    def rcpt(local):
        with smtplib.SMTP(relay.edge.host, relay.edge.smtp, timeout=60) as c:
            c.ehlo("client.sender.example")
            c.mail("alice@sender.example")
            return c.rcpt(f"{local}@{p.domain}")
    # policy follows the change by LISTEN/NOTIFY: until then 'probed' is unknown to the list.
    assert wait_for(lambda: rcpt("probed")[0] == 250, timeout=15), rcpt("probed")
    code, text = rcpt("nosuchuser")  # not "nobody": a real account on Debian
    assert code == 550 and b"5.1.1" in text, (code, text)
    msg = message(f"probed@{p.domain}", b"probed recipient")
    assert send(relay, [f"probed@{p.domain}"], msg)[0] == 250
    got = p.wait_delivered("probed")
    assert len(got) == 1, p.logs()
    assert_same(msg, got[0])


def test_quarantine_release_from_web_api(relay, request, tmp_path):
    """A message the group quarantines is held (the client got 250, the downstream nothing);
    an admin's release in the web API sends it to the downstream, byte-exact."""
    p = relay.peer
    msg = message(f"bob@{p.domain}", b"held for review")
    assert send(relay, [f"bob@{p.domain}"], msg, sender="spam@sender.example")[0] == 250
    assert wait_for(lambda: relay.db.query("SELECT id FROM quarantine WHERE rcpt = %s", (f"bob@{p.domain}",)))
    qid = relay.db.scalar("SELECT id FROM quarantine WHERE rcpt = %s", (f"bob@{p.domain}",))
    time.sleep(1)
    assert p.delivered("bob") == []
    relay.db.execute("UPDATE users SET role = 'root-admin' WHERE local_part = 'alice' AND domain_id ="
                     " (SELECT id FROM domains WHERE name = %s)", (relay.domain,))
    api = start_api(request.getfixturevalue("services"), relay.db, tmp_path,
                    CLEMENT_DELIVERY_URL=relay.svcs["delivery"].env["CLEMENT_DELIVERY_LISTEN"],
                    CLEMENT_ADMIN_RPC_TIMEOUT_MS=60000)
    admin = Api(api.port)
    assert admin.login(f"alice@{relay.domain}", PASSWORD)[0] == 200
    st, body = admin.req("POST", f"/api/quarantine/{qid}/release")
    assert st == 200 and body["status"] == "released", body
    got = p.wait_delivered("bob")
    assert len(got) == 1, p.logs()
    assert_same(msg, got[0])
