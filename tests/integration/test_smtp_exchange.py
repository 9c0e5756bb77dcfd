"""A client speaking as Microsoft Exchange does to its peers (docs/INTEROP.md, issue 20):
Exchange cannot run here, so its dialogue is replayed against the real services. It tries
X-ANONYMOUSTLS before STARTTLS, offers XEXCH50 blobs after RCPT, and sends the message with
BDAT (RFC 3030 CHUNKING) in several chunks. Clement answers the unknown verbs 500 5.5.1
(RFC 5321 4.2.4), which Exchange takes as "not supported" and goes on with plain SMTP; the
mail is delivered byte-exact."""
import hashlib

from harness.e2e import stack  # noqa: F401 (fixtures: stack)
from harness.smtp import local_only

pytestmark = local_only


def test_exchange_dialogue_with_bdat_and_unknown_verbs_is_served(stack):  # noqa: F811
    to = f"alice@{stack.domain}"
    body = (f"From: Exchange User <user@exchange.example>\r\nTo: <{to}>\r\nSubject: from Exchange\r\n"
            "Message-ID: <x1@exchange.example>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            "Gr\u00fc\u00dfe.\r\n.a dot first: BDAT has no dot-stuffing\r\n" + ("y" * 900 + "\r\n") * 5).encode()
    r = stack.edge.raw()
    code, ehlo = r.cmd("EHLO exchange.example")
    assert code == 250 and "CHUNKING" in ehlo and "STARTTLS" in ehlo, ehlo
    code, text = r.cmd("X-ANONYMOUSTLS")          # Exchange's own TLS negotiation, first
    assert (code, text[4:9]) == (500, "5.5.1"), text
    code, text = r.cmd("STARTTLS")                # then the standard one
    assert code == 220, text
    r.starttls()
    code, ehlo = r.cmd("EHLO exchange.example")
    assert code == 250 and "CHUNKING" in ehlo and "8BITMIME" in ehlo, ehlo
    assert r.cmd(f"MAIL FROM:<user@exchange.example> SIZE={len(body)} BODY=8BITMIME")[0] == 250
    assert r.cmd(f"RCPT TO:<{to}>")[0] == 250
    code, text = r.cmd("XEXCH50 1024 2")          # Exchange 2003's MAPI properties blob offer
    assert (code, text[4:9]) == (500, "5.5.1"), text
    first, rest = body[:1000], body[1000:]
    r.send(f"BDAT {len(first)}\r\n".encode() + first)
    code, text = r.reply()
    assert code == 250, text
    r.send(f"BDAT {len(rest)} LAST\r\n".encode() + rest)
    code, text = r.reply()
    assert code == 250, text
    assert r.cmd("QUIT")[0] == 221
    r.close()
    rows = stack.message_log(rcpt=to)
    assert rows and rows[0]["status"] == "received", rows
    data = stack.delivered("alice")[0].read_bytes()
    assert data.startswith(b"Return-Path: <user@exchange.example>\r\n")
    assert hashlib.sha256(data[data.index(b"From: Exchange User"):]).hexdigest() == hashlib.sha256(body).hexdigest()
