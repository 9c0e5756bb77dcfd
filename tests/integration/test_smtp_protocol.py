"""smtp-edge against a programmable fake of policy/scanner/delivery: the protocol core,
strictness, pipelining, STARTTLS/SMTPS/AUTH, BDAT, limits and timeouts.

Every test asserts what an SMTP client sees (reply codes and enhanced codes) and, where
it matters, what reached the services (nothing delivered on a refusal)."""
import base64
import re
import smtplib
import socket

import pytest

from harness import fakerpc
from harness.fakerpc import fake  # noqa: F401 (fixtures: fake)
from harness.smtp import MSGID_RE, SMUGGLE, client_tls, local_only, message, read_until_close, start_edge

pytestmark = local_only


@pytest.fixture
def edge(fake, services):  # fake first: it must outlive the edge (torn down after it)
    return start_edge(services, fake)


def tx(r, rcpts=("bob@example.org",), frm="alice@sender.example"):
    assert r.cmd(f"MAIL FROM:<{frm}>")[0] == 250
    for rc in rcpts:
        assert r.cmd(f"RCPT TO:<{rc}>")[0] == 250


def test_plain_delivery_names_message_id_and_adds_received(edge, fake):
    r = edge.session()
    tx(r)
    assert r.cmd("DATA")[0] == 354
    r.send("Subject: hi\r\n\r\n..dot stuffed\r\nline\r\n.\r\n")
    code, text = r.reply()
    assert code == 250 and text.startswith("250 2.0.0")
    msgid = MSGID_RE.search(text).group(1)
    d = fake.wait_op("deliver")[0]
    assert d["msgid"] == msgid and d["sender"] == "alice@sender.example"
    assert [x["rcpt"] for x in d["rcpts"]] == ["bob@example.org"]
    body = [b for h, b in fake.requests if h.get("op") == "deliver"][0]
    assert body.startswith(b"Received: from client.example.net ([127.0.0.1])")
    assert b"\r\n.dot stuffed\r\nline\r\n" in body and not body.endswith(b".\r\n")
    assert fake.logged_messages()[0]["msgid"] == msgid
    assert r.cmd("QUIT")[0] == 221


def test_ehlo_offers_starttls_in_plain_and_auth_only_under_tls(edge):
    r = edge.raw()
    code, text = r.cmd("EHLO client.example.net")
    for kw in ("PIPELINING", "SIZE", "8BITMIME", "ENHANCEDSTATUSCODES", "STARTTLS", "SMTPUTF8", "CHUNKING"):
        assert kw in text
    assert "AUTH" not in text
    assert r.cmd("STARTTLS")[0] == 220
    r.starttls()
    code, text = r.cmd("EHLO client.example.net")
    assert "AUTH PLAIN LOGIN" in text and "STARTTLS" not in text


def test_second_starttls_is_554(edge):
    r = edge.session()
    assert r.cmd("STARTTLS")[0] == 220
    r.starttls()
    r.cmd("EHLO client.example.net")
    code, text = r.cmd("STARTTLS")
    assert code == 554 and "5.5.1" in text


def test_starttls_discards_pipelined_plaintext_and_resets_state(edge, fake):
    r = edge.session()
    assert r.cmd("MAIL FROM:<a@sender.example>")[0] == 250
    # injection attempt: commands after STARTTLS in the same packet (RFC 3207 4.2)
    r.send("STARTTLS\r\nMAIL FROM:<evil@attacker.example>\r\nRCPT TO:<x@example.org>\r\n")
    assert r.reply()[0] == 220
    r.starttls()
    code, text = r.cmd("RCPT TO:<bob@example.org>")
    assert code == 503 and "5.5.1" in text  # no MAIL survives, no HELO either
    assert r.cmd("MAIL FROM:<a@sender.example>")[0] == 503
    assert r.cmd("EHLO client.example.net")[0] == 250
    assert not [h for h in fake.ops() if "attacker" in h.get("sender", "")]


def test_smtps_and_smtplib_starttls_auth(edge, fake):
    with smtplib.SMTP_SSL(edge.host, edge.smtps, context=client_tls()) as c:
        assert not c.sendmail("alice@sender.example", ["bob@example.org"], message())
    with smtplib.SMTP(edge.host, edge.submission) as c:
        c.starttls(context=client_tls())
        c.login("carol@example.org", "secret")
        assert not c.sendmail("carol@example.org", ["dave@elsewhere.example"], message())
    d = fake.wait_op("deliver", 2)
    assert d[-1].get("auth_user") == "carol@example.org"
    logs = fake.wait_op("log_session", 2)
    assert all("secret" not in l["transcript"] for l in logs)


def test_auth_rules(edge, fake):
    r = edge.session()
    code, text = r.cmd("AUTH PLAIN " + base64.b64encode(b"\0u@example.org\0secret").decode())
    assert code == 538 and "5.7.11" in text  # no passwords in plaintext
    s = edge.raw(edge.submission)
    s.cmd("EHLO client.example.net")
    code, text = s.cmd("MAIL FROM:<u@example.org>")
    assert code == 530 and "5.7.0" in text
    s.cmd("STARTTLS")
    s.starttls()
    s.cmd("EHLO client.example.net")
    code, text = s.cmd("AUTH PLAIN " + base64.b64encode(b"\0u@example.org\0wrong").decode())
    assert code == 535 and "5.7.8" in text
    assert s.cmd("AUTH LOGIN")[1] == "334 VXNlcm5hbWU6"
    assert s.cmd(base64.b64encode(b"u@example.org").decode())[1] == "334 UGFzc3dvcmQ6"
    code, text = s.cmd(base64.b64encode(b"secret").decode())
    assert code == 235 and "2.7.0" in text
    assert s.cmd("MAIL FROM:<u@example.org>")[0] == 250
    auths = fake.ops("auth")
    assert [a["password"] for a in auths] == ["wrong", "secret"]


def test_sequence_errors_and_simple_commands(edge):
    r = edge.raw()
    assert r.cmd("MAIL FROM:<a@sender.example>")[0] == 503
    r.cmd("EHLO client.example.net")
    for line, code, enh in [
        ("RCPT TO:<bob@example.org>", 503, "5.5.1"),
        ("DATA", 503, "5.5.1"),
        ("FOO bar", 500, "5.5.1"),
        ("VRFY bob", 252, "2.5.0"),
        ("HELP", 214, "2.0.0"),
        ("NOOP", 250, "2.0.0"),
        ("MAIL FROM:<a@sender.example>", 250, "2.1.0"),
        ("MAIL FROM:<a@sender.example>", 503, "5.5.1"),
        ("DATA", 554, "5.5.1"),
        ("RSET", 250, "2.0.0"),
        ("RCPT TO:<bob@example.org>", 503, "5.5.1"),
    ]:
        c, text = r.cmd(line)
        assert (c, text[4:9]) == (code, enh), (line, text)


def test_pipelined_transaction_replies_in_order(edge, fake):
    r = edge.session()
    r.send("MAIL FROM:<a@sender.example>\r\nRCPT TO:<b@example.org>\r\nRCPT TO:<c@example.org>\r\nDATA\r\n")
    assert [r.reply()[0] for _ in range(4)] == [250, 250, 250, 354]
    r.send("Subject: p\r\n\r\nx\r\n.\r\nMAIL FROM:<a@sender.example>\r\nRCPT TO:<d@example.org>\r\nRSET\r\nQUIT\r\n")
    assert [r.reply()[0] for _ in range(5)] == [250, 250, 250, 250, 221]
    assert len(fake.wait_op("deliver")[0]["rcpts"]) == 2


def test_data_body_before_354_is_sync_error(edge, fake):
    r = edge.session()
    tx(r)
    r.send("DATA\r\nSubject: x\r\n\r\nbody\r\n.\r\n")
    code, text = r.reply()
    assert code == 554 and "5.5.0" in text
    assert r.closed()
    assert not fake.ops("deliver")


@pytest.mark.parametrize("line", ["GET / HTTP/1.1", "POST /cgi-bin/x HTTP/1.0", "CONNECT mx.example.org:25 HTTP/1.1"])
def test_http_request_closes_at_once(edge, fake, line):
    r = edge.raw()
    r.send(line + "\r\nHost: x\r\n\r\n")
    assert r.closed()
    assert r.buf == b""  # not a word: no reply to a web proxy's client
    assert fake.wait_op("log_session")[0]["outcome"] == "http"


@pytest.mark.parametrize("size", [513, 64 * 1024, 1024 * 1024])
def test_overlong_command_lines(edge, size):
    r = edge.session()
    before = edge.rss_kb()
    r.send("NOOP " + "x" * size)  # no CRLF at all for the large ones
    code, text = r.reply()
    assert code == 500 and "5.5.2" in text
    r.send("\r\n")
    assert r.cmd("NOOP")[0] == 250  # still in sync
    assert edge.rss_kb() - before < 16 * 1024  # bounded input buffer: the line was never held


def test_bare_lf_and_nul_in_commands(edge):
    r = edge.session()
    r.send("NOOP\n")
    assert r.reply()[1].startswith("500 5.5.2")
    r.send("NOOP\0x\r\n")
    assert r.reply()[1].startswith("500 5.5.2")


@pytest.mark.parametrize("variant", SMUGGLE, ids=[repr(v) for v in SMUGGLE])
def test_smuggling_in_data_is_refused(edge, fake, variant):
    r = edge.session()
    tx(r)
    assert r.cmd("DATA")[0] == 354
    r.send(b"Subject: s\r\n\r\nhello" + variant + b"MAIL FROM:<x@evil.example>\r\nRCPT TO:<v@example.org>\r\nDATA\r\nsmuggled\r\n.\r\n")
    code, text = r.reply()
    assert 500 <= code < 600, text
    assert r.cmd("NOOP")[0] == 250  # nothing after the refusal was a command
    assert not fake.ops("deliver") and not [h for h in fake.ops() if "evil" in h.get("sender", "")]


@pytest.mark.parametrize("variant", SMUGGLE, ids=[repr(v) for v in SMUGGLE])
def test_smuggling_in_bdat_is_refused(edge, fake, variant):
    r = edge.session()
    tx(r)
    chunk = b"Subject: s\r\n\r\nhello" + variant + b"MAIL FROM:<x@evil.example>\r\n"
    r.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
    code, text = r.reply()
    assert 500 <= code < 600, text
    assert r.cmd("NOOP")[0] == 250
    assert not fake.ops("deliver")


def test_bdat_chunks(edge, fake):
    r = edge.session()
    tx(r)
    a, b = b"Subject: chunks\r\n\r\n", b"part two\r\n"
    r.send(b"BDAT %d\r\n" % len(a) + a + b"BDAT %d LAST\r\n" % len(b) + b)
    assert r.reply()[0] == 250
    code, text = r.reply()
    assert code == 250 and MSGID_RE.search(text)
    body = [b2 for h, b2 in fake.requests if h.get("op") == "deliver"][0]
    assert body.endswith(a + b)


def test_bdat_without_transaction_is_consumed(edge, fake):
    r = edge.session()
    r.send(b"BDAT 10 LAST\r\nNOOP\r\nNOOP")
    code, text = r.reply()
    assert code == 503
    assert r.cmd("NOOP")[0] == 250


def test_data_line_over_1000_and_nul_refuse_the_message(edge, fake):
    r = edge.session()
    tx(r)
    r.cmd("DATA")
    r.send("Subject: long\r\n\r\n" + "y" * 1200 + "\r\n.\r\n")
    code, text = r.reply()
    assert code == 500 and "5.5.2" in text
    tx(r)
    r.cmd("DATA")
    r.send(b"Subject: nul\r\n\r\na\x00b\r\n.\r\n")
    assert r.reply()[0] == 554
    assert not fake.ops("deliver")


def test_size_limits(fake, services):
    e = start_edge(services, fake, CLEMENT_MAX_MESSAGE_SIZE=2000)
    r = e.session()
    code, text = r.cmd("MAIL FROM:<a@sender.example> SIZE=5000")
    assert code == 552 and "5.3.4" in text
    tx(r)
    r.cmd("DATA")
    r.send("Subject: big\r\n\r\n" + ("z" * 70 + "\r\n") * 100 + ".\r\n")
    code, text = r.reply()
    assert code == 552 and "5.3.4" in text
    assert not fake.ops("deliver")


def test_recipient_limit_1000_pipelined(fake, services):
    e = start_edge(services, fake, CLEMENT_MAX_RCPT=100)
    r = e.session()
    before = e.rss_kb()
    r.send("MAIL FROM:<a@sender.example>\r\n" + "".join(f"RCPT TO:<u{i}@example.org>\r\n" for i in range(1000)))
    codes = [r.reply() for _ in range(1001)]
    assert codes[0][0] == 250
    assert all(c == 250 for c, _ in codes[1:101])
    assert all(c == 452 and "4.5.3" in t for c, t in codes[101:])
    assert len(fake.ops("rcpt")) == 100
    assert e.rss_kb() - before < 16 * 1024


def test_recipient_with_other_destination_gets_452(services):
    def handler(h, body):
        if h.get("op") == "rcpt" and h["rcpt"].endswith("@relay.example"):
            return fakerpc.accept(250, "2.1.5", "Ok", route=dict(fakerpc.LOCAL, mode="relay", group_id=2))
        return fakerpc.default_handler(h, body)
    fake = fakerpc.FakeRPC(handler)
    try:
        e = start_edge(services, fake)
        r = e.session()
        assert r.cmd("MAIL FROM:<a@sender.example>")[0] == 250
        assert r.cmd("RCPT TO:<bob@example.org>")[0] == 250
        code, text = r.cmd("RCPT TO:<carol@relay.example>")
        assert code == 452 and "4.5.3" in text
        assert r.cmd("RCPT TO:<dan@example.org>")[0] == 250
    finally:
        fake.close()


@pytest.mark.parametrize("path,code", [
    ("<;sleep 5;>", 501), ("<a'--@x>", 501), ("<${run{/bin/true}}@x>", 501), ("<bob>", 553),
    ("<bob@>", 553), ("<a@b.example> AUTH=x+0D+0AInjected:+20yes", 501), ("<a@b.example> FOO=bar", 555),
    ("<\"; DROP TABLE users; --\"@x.example>", 501), ("<é@b.example>", 553),
])
def test_hostile_senders_never_reach_policy(edge, fake, path, code):
    r = edge.session()
    c, text = r.cmd("MAIL FROM:" + path)
    assert c == code, text
    assert HOSTILE_REPLY.match(text), text
    assert not [h for h in fake.ops() if "sender" in h]  # neither a mail nor a rcpt request
    log = edge.svc.log()
    assert path.split()[0].strip("<>") not in log and "Injected" not in log  # not in the edge's own log


HOSTILE_REPLY = re.compile(r"^5\d\d 5\.\d\.\d+ \S")  # a 5xx with its enhanced code and a reason


@pytest.mark.parametrize("path,code,enh", [
    ("<;sleep 5;>", 501, "5.1.3"), ("<${run{/bin/true}}@x>", 501, "5.1.3"), ("<bob>", 553, "5.1.3"),
    ("<bob@>", 553, "5.1.3"), ("<a@b.example> NOTIFY=NEVER", 555, "5.5.4"), ("<é@example.org>", 553, "5.6.7"),
    ("<a@b.example> ORCPT=rfc822;x+0D+0A", 555, "5.5.4"), ("<>", 501, "5.1.3"),
])
def test_hostile_recipients_never_reach_policy(edge, fake, path, code, enh):
    r = edge.session()
    assert r.cmd("MAIL FROM:<a@sender.example>")[0] == 250
    c, text = r.cmd("RCPT TO:" + path)
    assert (c, text[4:9]) == (code, enh), text
    assert not fake.ops("rcpt")


def test_utf8_with_smtputf8(edge, fake):
    r = edge.session()
    assert r.cmd("MAIL FROM:<josé@b.example> SMTPUTF8")[0] == 250
    assert r.cmd("RCPT TO:<zoë@example.org>")[0] == 250
    r2 = edge.session()
    r2.send(b"MAIL FROM:<a\xff@b.example> SMTPUTF8\r\n")
    code, text = r2.reply()
    assert code == 553 and "5.6.7" in text
    code, text = r2.cmd("MAIL FROM:<josé@b.example>")  # UTF-8 without SMTPUTF8
    assert code == 553 and "5.6.7" in text


def test_too_many_errors_ends_with_421(edge):
    r = edge.session()
    for _ in range(11):
        c, _ = r.cmd("BOGUS")
        if c == 421:
            break
    r.send("BOGUS\r\n")
    code, text = r.reply()
    assert code == 421 and "4.7.0" in text
    assert r.closed()


def test_60_connections_from_one_address(fake, services):
    e = start_edge(services, fake, CLEMENT_MAX_SESSIONS_PER_IP=50)
    socks, refused = [], 0
    for _ in range(60):
        s = socket.create_connection((e.host, e.smtp), timeout=5)
        socks.append(s)
        line = s.recv(200)
        if line.startswith(b"421 4.7.0"):
            refused += 1
        else:
            assert line.startswith(b"220 ")
    assert refused == 10
    for s in socks:
        s.close()
    assert 'clement_edge_refused_total{reason="limit"} 10' in e.metrics()


def _proxy_v2(src, sport, dst="10.0.0.1", dport=25):
    import ipaddress
    import struct
    sig = b"\r\n\r\n\x00\r\nQUIT\n"
    a = ipaddress.ip_address(src).packed + ipaddress.ip_address(dst).packed + struct.pack(">HH", sport, dport)
    return sig + bytes([0x21, 0x11]) + struct.pack(">H", len(a)) + a


def test_proxy_protocol_v1_v2_from_trusted_balancer(fake, services):
    e = start_edge(services, fake, CLEMENT_SMTP_PROXY_PROTOCOL="smtp,smtps", CLEMENT_PROXY_NETWORKS="127.0.0.0/8")
    s = socket.create_connection((e.host, e.smtp), timeout=5)
    s.sendall(b"PROXY TCP4 203.0.113.7 10.0.0.1 40000 25\r\n")
    assert s.recv(100).startswith(b"220 ")
    s.close()
    assert fake.wait_op("connect")[-1]["ip"] == "203.0.113.7"
    import ssl
    raw = socket.create_connection((e.host, e.smtps), timeout=5)
    raw.sendall(_proxy_v2("198.51.100.9", 41000, dport=465))
    t = client_tls().wrap_socket(raw)
    assert t.recv(100).startswith(b"220 ")
    t.close()
    c = fake.wait_op("connect", 2)[-1]
    assert c["ip"] == "198.51.100.9" and c["port"] == 41000 and c["listener"] == "smtps"
    bad = socket.create_connection((e.host, e.smtp), timeout=5)
    bad.sendall(b"EHLO no.proxy.header\r\n")
    try:
        assert bad.recv(100) == b""  # not a PROXY header: disconnected, nothing said
    except ConnectionResetError:
        pass


def test_proxy_protocol_refused_from_untrusted_peer(fake, services):
    e = start_edge(services, fake, CLEMENT_SMTP_PROXY_PROTOCOL="smtp", CLEMENT_PROXY_NETWORKS="10.0.0.0/8")
    s = socket.create_connection((e.host, e.smtp), timeout=5)
    s.sendall(b"PROXY TCP4 203.0.113.7 10.0.0.1 40000 25\r\n")
    try:
        assert s.recv(100) == b""
    except ConnectionResetError:
        pass
    assert not fake.ops("connect")
    assert 'clement_edge_refused_total{reason="proxy"} 1' in e.metrics()


def test_pipelined_session_then_half_close_gets_every_reply(edge, fake):
    s = socket.create_connection((edge.host, edge.smtp), timeout=10)
    assert s.recv(200).startswith(b"220 ")
    s.sendall(b"EHLO c.example\r\nMAIL FROM:<a@sender.example>\r\nRCPT TO:<b@example.org>\r\nQUIT\r\n")
    s.shutdown(socket.SHUT_WR)  # the client is done talking; its commands still get answers
    data = read_until_close(s)
    assert b"250 2.1.0" in data and b"250 2.1.5" in data and data.endswith(b"221 2.0.0 Bye\r\n")


@pytest.mark.parametrize("path", ["<Postmaster>", "<POSTMASTER>", "<postmaster>"])
def test_bare_postmaster_goes_to_the_primary_domain(edge, fake, path):
    """RFC 5321 4.1.1.3: <Postmaster> without a domain, in any case, must be accepted; it
    becomes postmaster@ CLEMENT_HOSTNAME's domain (mx.clement.test -> clement.test), and
    policy decides on that address as on any other."""
    r = edge.session()
    assert r.cmd("MAIL FROM:<a@sender.example>")[0] == 250
    code, text = r.cmd(f"RCPT TO:{path}")
    assert code == 250 and text.startswith("250 2.1.5"), text
    assert fake.ops("rcpt")[-1]["rcpt"] == "postmaster@clement.test"
    assert r.cmd("DATA")[0] == 354
    r.send("Subject: to the postmaster\r\n\r\nhi\r\n.\r\n")
    assert r.reply()[0] == 250
    assert [x["rcpt"] for x in fake.wait_op("deliver")[0]["rcpts"]] == ["postmaster@clement.test"]


def test_postmaster_setting_smtplib_and_what_is_not_postmaster(fake, services):
    e = start_edge(services, fake, CLEMENT_POSTMASTER="hostmaster@example.org")
    with smtplib.SMTP(e.host, e.smtp, timeout=30) as c:
        c.ehlo("client.example.net")
        assert c.mail("a@sender.example")[0] == 250
        code, text = c.rcpt("Postmaster")  # smtplib sends RCPT TO:<Postmaster>
        assert code == 250 and text.startswith(b"2.1.5"), text
        # only the bare word is special: other local parts without a domain stay refused
        code, text = c.rcpt("postmasterx")
        assert code == 553 and text.startswith(b"5.1.3"), text
    assert [h["rcpt"] for h in fake.ops("rcpt")] == ["hostmaster@example.org"]


def test_bare_postmaster_refused_when_we_have_no_domain(fake, services):
    e = start_edge(services, fake, CLEMENT_HOSTNAME="localhost")
    r = e.session()
    assert r.cmd("MAIL FROM:<a@sender.example>")[0] == 250
    code, text = r.cmd("RCPT TO:<Postmaster>")
    assert code == 553 and "5.1.3" in text
    assert not fake.ops("rcpt")


# RFC 2034 3: every reply but the greeting and the answers to HELO/EHLO carries an enhanced
# code; RFC 3463 has no class 3, so 334 and 354 have none.
ENHANCED = re.compile(r"^([245])\d\d[ -]\1\.\d{1,3}\.\d{1,3} \S")


def test_every_reply_has_an_enhanced_code(edge):
    r = edge.raw()
    replies = []

    def cmd(line):
        code, text = r.cmd(line)
        replies.append((line, text))
        return code

    assert cmd("HELO client.example.net") == 250  # HELO: no enhanced code (RFC 2034 3)
    replies.clear()
    for line in ["NOOP", "RSET", "VRFY bob", "EXPN staff", "HELP", "FOO", "MAIL FROM:<a@sender.example> BODY=BINARYMIME",
                 "MAIL FROM:<a@sender.example> SIZE=999999999999", "RCPT TO:<b@example.org>", "DATA",
                 "AUTH PLAIN", "STARTTLS x", "MAIL FROM:<a@sender.example> BODY=8BITMIME",
                 "MAIL FROM:<a@sender.example>", "RCPT TO:<b@example.org> FOO=1", "RCPT TO:<Postmaster>", "RSET",
                 "MAIL FROM:<a@sender.example> BODY=7BIT SMTPUTF8 AUTH=<>", "DATA", "RCPT TO:<b@example.org>"]:
        cmd(line)
    assert r.cmd("DATA")[0] == 354
    r.send("Subject: x\r\n\r\ny\r\n.\r\n")
    replies.append(("(end of data)", r.reply()[1]))
    r.send("NOOP " + "x" * 600 + "\r\n")
    replies.append(("(long line)", r.reply()[1]))
    cmd("QUIT")
    bad = [(line, text) for line, text in replies if not all(ENHANCED.match(t) for t in text.split("\n"))]
    assert not bad, bad


def test_global_session_limit_is_421(fake, services):
    e = start_edge(services, fake, CLEMENT_MAX_SESSIONS=5)
    held = [e.session() for _ in range(5)]
    s = socket.create_connection((e.host, e.smtp), timeout=10)
    line = s.recv(200)
    assert line.startswith(b"421 4.7.0 "), line
    s.close()
    for r in held:
        assert r.cmd("NOOP")[0] == 250  # the sessions in place go on
    assert 'clement_edge_refused_total{reason="limit"} 1' in e.metrics()


def test_megabyte_without_crlf_in_data_is_refused_with_memory_bounded(edge, fake):
    r = edge.session()
    tx(r)
    assert r.cmd("DATA")[0] == 354
    before = edge.rss_kb()
    r.send("Subject: long\r\n\r\n" + "x" * (1024 * 1024) + "\r\n.\r\n")
    code, text = r.reply()
    assert code == 500 and "5.5.2" in text
    assert edge.rss_kb() - before < 16 * 1024  # the line was never held
    assert r.cmd("NOOP")[0] == 250
    assert not fake.ops("deliver")


def test_transcript_goes_to_policy_without_body_or_secrets(edge, fake):
    with smtplib.SMTP(edge.host, edge.submission) as c:
        c.starttls(context=client_tls())
        c.login("carol@example.org", "secret")
        assert not c.sendmail("carol@example.org", ["dave@elsewhere.example"], message(body="the body text\r\n"))
    t = fake.wait_op("log_session")[0]["transcript"]
    assert "FROM:<carol@example.org>" in t and "S: 235 2.7.0" in t
    assert "the body text" not in t and "secret" not in t
    assert base64.b64encode(b"\0carol@example.org\0secret").decode() not in t


def test_size_enforced_in_bdat(fake, services):
    e = start_edge(services, fake, CLEMENT_MAX_MESSAGE_SIZE=2000)
    r = e.session()
    tx(r)
    chunk = b"Subject: big\r\n\r\n" + b"z" * 70 + b"\r\n"
    r.send(b"".join(b"BDAT %d\r\n" % len(chunk) + chunk for _ in range(40)) + b"BDAT 0 LAST\r\n")
    replies = [r.reply() for _ in range(41)]
    code, text = replies[-1]
    assert code == 552 and "5.3.4" in text, text
    assert r.cmd("NOOP")[0] == 250  # in sync after 41 chunks
    assert not fake.ops("deliver")


@pytest.mark.parametrize("tls,lines", [(False, 180), (True, 180), (True, 1500)], ids=["plain-10k", "starttls-10k", "starttls-80k"])
def test_body_acked_at_once_so_a_nagle_client_gets_250_without_the_delayed_ack_timer(edge, fake, tls, lines):
    """A client with Nagle on (every socket's default) that writes the body and then the
    final dot holds the short dot segment (with TLS: the short tail record) until the body is
    acknowledged. smtp-edge has no reply to carry that ACK while a body comes in, so it must
    acknowledge at once (TCP_QUICKACK): left to the kernel's delayed-ACK timer, end of DATA
    -> 250 took 40-47 ms every time (docs/PERFORMANCE.md); with the fake services answering
    at once it is a few ms."""
    import statistics
    import time
    r = edge.session()
    if tls:
        assert r.cmd("STARTTLS")[0] == 220
        r.starttls()
        assert r.cmd("EHLO client.example.net")[0] == 250
    body = b"Subject: nagle\r\n\r\n" + b"x" * 70 + b"\r\n"
    body += b"".join(b"line %05d of a body long enough to span TLS records\r\n" % i for i in range(lines))
    lat = []
    for _ in range(8):
        tx(r)
        assert r.cmd("DATA")[0] == 354
        r.send(body)  # Nagle stays on: the dot is a second, short write
        t0 = time.monotonic()
        r.send(b".\r\n")
        code, text = r.reply()
        lat.append(time.monotonic() - t0)
        assert code == 250, text
    assert statistics.median(lat) < 0.020, [round(x * 1000, 1) for x in lat]
    assert r.cmd("QUIT")[0] == 221
