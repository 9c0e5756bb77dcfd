"""clement-delivery: local Maildir (read back by Dovecot), quota, relay through smtp-sink and
misbehaving downstreams, outbound, quarantine round trip (issue #6)."""
import imaplib
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import free_port, wait_port
from harness.delivery import (FakeSmtp, SmtpSink, self_signed_cert, deliver_req, make_domain, make_group, make_user, maildir_new, route, rpc, trace,
                           start_delivery)

MSG = (b"Received: from x by clement.test\r\nFrom: Alice <alice@sender.test>\r\nTo: bob@example.org\r\n"
       b"Subject: Hello Bob\r\nMessage-ID: <m1@sender.test>\r\n\r\nHi Bob,\r\nhow are you?\r\n")


@pytest.fixture
def local_setup(db):
    g = make_group(db, "local-g")
    d = make_domain(db, "example.org", g)
    bob = make_user(db, "bob", d)
    carol = make_user(db, "carol", d)
    return {"g": g, "d": d, "bob": bob, "carol": carol}


def start_dovecot(tmp, authdir, root, users):
    """A private Dovecot reading <root>/%d/%n over IMAP on a free port, as uid nobody (Dovecot
    refuses root for mail processes); returns (proc, port)."""
    tmp = pathlib.Path(tmp)
    port = free_port()
    os.chown(root, 65534, 65534)
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            os.chown(os.path.join(dirpath, n), 65534, 65534)
    (authdir / "passwd").write_text("".join(f"{u}:{{PLAIN}}pw::::::\n" for u in users))
    os.chmod(authdir / "passwd", 0o644)
    conf = tmp / "dovecot.conf"
    conf.write_text(f"""
base_dir = {tmp}/dc-run
state_dir = {tmp}/dc-state
log_path = {tmp}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 0
mail_location = maildir:{root}/%d/%n
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {authdir}/passwd
}}
userdb {{
  driver = static
  args = uid=65534 gid=65534 home={authdir}/home/%d/%n
}}
""")
    proc = subprocess.Popen(["/usr/sbin/dovecot", "-F", "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    assert wait_port(port), (tmp / "dovecot.log").read_text() if (tmp / "dovecot.log").exists() else "no log"
    return proc, port


def test_local_delivery_is_read_by_dovecot(db, services, tmp_path, local_setup):
    """Also: the delivery shows in /metrics (deliveries by mode/outcome, latency, fsync)."""
    # Dovecot's auth and mail processes are not root: everything they read lives in a
    # world-traversable directory (pytest's tmp_path is root-only).
    authdir = pathlib.Path(tempfile.mkdtemp(prefix="clement-dc-"))
    os.chmod(authdir, 0o755)
    root = authdir / "mail"
    _, port = start_delivery(services, db, root)
    s = local_setup
    r = rpc(port, deliver_req([("bob@example.org", route("local", s["g"], s["d"], s["bob"])),
                               ("Carol@Example.org", route("local", s["g"], s["d"], s["carol"]))]), MSG)
    assert (r["action"], r["code"]) == ("accept", 250), r
    assert [x["status"] for x in r["rcpts"]] == ["received", "received"]
    for a, rcpt in (("bob@example.org", "bob@example.org"), ("carol@example.org", "Carol@Example.org")):
        files = maildir_new(root, a)
        # Each copy is the message as sent under its own Return-Path: and Delivered-To:.
        copy = trace("alice@sender.test", rcpt) + MSG
        assert len(files) == 1 and files[0].read_bytes() == copy
        assert files[0].name.endswith(f",S={len(copy)}")
        assert list((root / "example.org" / a.split("@")[0] / "tmp").iterdir()) == []
    m = services.started[-1].metrics()
    assert 'clement_delivery_deliveries_total{mode="local",outcome="ok"} 1' in m
    assert 'clement_delivery_latency_seconds_count{mode="local"} 1' in m
    assert "clement_delivery_fsync_seconds_count 4" in m      # two files, two new/ directories
    proc, iport = start_dovecot(tmp_path, authdir, root, ["bob@example.org"])
    try:
        im = imaplib.IMAP4("127.0.0.1", iport)
        im.login("bob@example.org", "pw")
        typ, data = im.select("INBOX")
        assert typ == "OK" and data[0] == b"1"
        typ, data = im.fetch("1", "(BODY.PEEK[])")
        assert typ == "OK" and data[0][1] == trace("alice@sender.test", "bob@example.org") + MSG
        typ, data = im.fetch("1", "(BODY.PEEK[HEADER.FIELDS (RETURN-PATH DELIVERED-TO)])")
        assert typ == "OK" and data[0][1] == b"Return-Path: <alice@sender.test>\r\nDelivered-To: bob@example.org\r\n\r\n"
        im.logout()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(authdir, ignore_errors=True)


def test_local_over_quota_is_452_and_nothing_delivered(db, services, tmp_path, local_setup):
    root = tmp_path / "mail"
    s = local_setup
    copy = len(trace("alice@sender.test", "carol@example.org") + MSG)  # the quota counts the trace lines
    db.execute("UPDATE users SET quota_bytes = %s WHERE id = %s", (copy + 10, s["carol"]))
    _, port = start_delivery(services, db, root)
    req = deliver_req([("bob@example.org", route("local", s["g"], s["d"], s["bob"])),
                       ("carol@example.org", route("local", s["g"], s["d"], s["carol"]))])
    assert rpc(port, req, MSG)["code"] == 250          # carol now holds one copy
    r = rpc(port, req, MSG)                            # a second copy passes her quota
    assert (r["action"], r["code"], r["enh"]) == ("defer", 452, "4.2.2"), r
    assert all(x["status"] == "failed" for x in r["rcpts"])
    # All-or-nothing: bob did not get the second copy either, and no tmp file is left.
    assert len(maildir_new(root, "bob@example.org")) == 1
    assert len(maildir_new(root, "carol@example.org")) == 1
    assert list((root / "example.org" / "bob" / "tmp").iterdir()) == []


def test_unusable_maildir_is_451(db, services, tmp_path, local_setup):
    root = tmp_path / "mail"
    root.mkdir()
    (root / "example.org").write_text("not a directory")   # the domain's directory cannot be created
    _, port = start_delivery(services, db, root)
    s = local_setup
    r = rpc(port, deliver_req([("bob@example.org", route("local", s["g"], s["d"], s["bob"]))]), MSG)
    assert (r["action"], r["code"]) == ("defer", 451), r


def test_bad_requests_get_error_replies(db, services, tmp_path, local_setup):
    _, port = start_delivery(services, db, tmp_path / "mail")
    s = local_setup
    assert rpc(port, {"v": 1, "op": "nope"}).get("ok") is False
    assert rpc(port, deliver_req([])).get("ok") is False
    mixed = deliver_req([("bob@example.org", route("local", s["g"])), ("x@y.test", route("relay", s["g"] + 1))])
    r = rpc(port, mixed, MSG)
    assert r.get("ok") is False and "mixed" in r["error"]
    assert rpc(port, deliver_req([("bob@example.org", route("local", s["g"]))])).get("ok") is False  # no body
    # Addresses that could inject SMTP commands downstream are refused outright.
    inject = deliver_req([("bob@example.org>\r\nRCPT TO:<x@evil.test", route("local", s["g"]))])
    assert rpc(port, inject, MSG).get("ok") is False
    assert rpc(port, deliver_req([("bob@example.org", route("local", s["g"]))], sender="a@b>\r\nQUIT"),
               MSG).get("ok") is False


# A body that would end the SMTP transaction early without dot-stuffing, starts a line with
# a dot, and mixes bare LF and bare CR line ends (which must leave us as CRLF).
TRICKY = (b"From: a@sender.test\r\nSubject: dots\r\n\r\nline one\r\n.\r\nMAIL FROM:<evil@x.test>\r\n"
          b".leading dot\r\nbare lf\nbare cr\rend")


@pytest.fixture
def relay_env(db, services, tmp_path):
    """delivery with a short downstream timeout; returns a function making a relay group."""
    # Short enough to keep the silent-server cases quick, long enough for a busy 2-core box.
    _, port = start_delivery(services, db, tmp_path / "mail", CLEMENT_RELAY_TIMEOUT_MS=3000,
                             CLEMENT_RELAY_CONNECT_TIMEOUT_MS=2000)
    n = [0]

    def group(dport, tls="none"):
        n[0] += 1
        g = make_group(db, f"relay-{n[0]}", "relay", dport, tls)
        d = make_domain(db, f"r{n[0]}.example.net", g)
        return g, d, f"bob@r{n[0]}.example.net"

    def send(dport, tls="none", body=MSG, auth=None):
        g, d, a = group(dport, tls)
        if auth:
            db.execute("UPDATE groups SET relay_auth_user = %s, relay_auth_pass = %s WHERE id = %s", (*auth, g))
        return rpc(port, deliver_req([(a, route("relay", g, d))]), body)

    return send


def test_relay_to_smtp_sink_is_crlf_and_dot_stuffed(relay_env, tmp_path):
    sink = SmtpSink(tmp_path)
    raw = None
    try:
        raw = FakeSmtp()
        r = relay_env(sink.port, body=TRICKY)
        assert (r["action"], r["code"]) == ("accept", 250), r
        assert r["rcpts"][0]["status"] == "relayed"
        dumps = sink.dumps()
        assert len(dumps) == 1                          # one message, not two
        text = dumps[0].read_bytes()
        assert b"X-Mail-Args: <alice@sender.test>" in text and b"X-Rcpt-Args: <bob@" in text
        # smtp-sink un-stuffs and writes lines with LF: the whole body arrived, the lone dot
        # and the fake MAIL line are message text.
        assert text.endswith(b"line one\n.\nMAIL FROM:<evil@x.test>\n.leading dot\nbare lf\nbare cr\nend\n\n")
        # On the wire (our raw capture server): CRLF only, dot-stuffed (RFC 5321 4.5.2).
        assert relay_env(raw.port, body=TRICKY)["code"] == 250
        wire = raw.data[0]
        assert wire == (b"From: a@sender.test\r\nSubject: dots\r\n\r\nline one\r\n..\r\nMAIL FROM:<evil@x.test>\r\n"
                        b"..leading dot\r\nbare lf\r\nbare cr\r\nend\r\n")
        assert b"\n" not in wire.replace(b"\r\n", b"") and b"\r" not in wire.replace(b"\r\n", b"")
    finally:
        sink.stop()
        if raw:
            raw.stop()


@pytest.mark.parametrize("opts,code,enh,text", [
    (["-f", "RCPT", "-B", "550 5.1.1 No such user here"], 550, "5.1.1", "No such user here"),
    (["-f", ".", "-B", "554 5.7.1 Spam not welcome"], 554, "5.7.1", "Spam not welcome"),
    (["-r", "RCPT"], 451, "4.4.0", None),     # downstream 450 -> 451 upstream
    (["-Q", "MAIL"], 451, None, None),       # 421 and disconnect
    (["-q", "DATA"], 451, None, None),       # dropped without a reply
    (["-r", "."], 451, "4.4.0", None),        # 4xx at end of data
])
def test_relay_downstream_replies(relay_env, tmp_path, opts, code, enh, text):
    sink = SmtpSink(tmp_path, *opts)
    try:
        r = relay_env(sink.port)
        assert r["code"] == code, r
        assert r["action"] == ("reject" if code >= 500 else "defer")
        if enh:
            assert r["enh"] == enh
        if text:
            assert r["text"] == text
        assert r["rcpts"][0]["status"] == "failed"
    finally:
        sink.stop()


def endless():
    """An EHLO reply that never ends (until the peer gives up)."""
    yield b"250-fake\r\n"
    for _ in range(200000):
        yield b"250-" + b"x" * 200 + b"\r\n"


@pytest.mark.parametrize("greeting,answer", [
    (None, None),                                                          # silent: timeout
    (b"hello, this is not SMTP\r\n", None),                                # malformed greeting
    (b"220 ok\r\n", lambda l: endless if l.upper().startswith(b"EHLO") else None),  # endless reply
    (b"220 ok\r\n", lambda l: b"550 5.1.1 bad\0user\r\n" if l.upper().startswith(b"RCPT")
     else FakeSmtp.default_answer(l)),                                     # NUL in a reply
    (b"220 ok\r\n", lambda l: b"250 ok\r\n" if not l.upper().startswith(b"DATA") else None),  # slow at DATA
    (b"220\0\r\n", None),                                                  # NUL in the greeting
])
def test_relay_misbehaving_downstream_is_451(relay_env, greeting, answer):
    srv = FakeSmtp(greeting, answer)
    try:
        r = relay_env(srv.port)
        assert (r["action"], r["code"]) == ("defer", 451), r
        assert r["enh"].startswith("4.")
    finally:
        srv.stop()


def test_relay_down_is_451(relay_env):
    r = relay_env(free_port())
    assert (r["action"], r["code"], r["enh"]) == ("defer", 451, "4.4.1"), r


def test_relay_tls_required_without_starttls_never_falls_back(relay_env, tmp_path):
    sink = SmtpSink(tmp_path)          # smtp-sink offers no STARTTLS
    try:
        r = relay_env(sink.port, tls="required")
        assert (r["action"], r["code"]) == ("defer", 451), r
        assert sink.dumps() == []       # nothing went over plaintext
        assert relay_env(sink.port, tls="opportunistic")["code"] == 250   # opportunistic falls back
        assert len(sink.dumps()) == 1
    finally:
        sink.stop()


# The longest login and password the admin API accepts (320 and 1024 characters) reach the
# downstream whole: delivery once cut both at 255 bytes, so AUTH failed with the wrong secret.
@pytest.mark.parametrize("user,password", [("clement", "s3cret"), ("u" * 320, "p\u00e9" * 512)])
def test_relay_auth_is_used_when_configured(relay_env, user, password):
    seen, asked = [], []

    def answer(line):
        up = line.upper()
        if asked and not seen:                   # the response to our 334
            seen.append(line)
            return b"235 2.7.0 Authentication successful\r\n"
        if up.startswith(b"EHLO"):
            return b"250-fake\r\n250 AUTH PLAIN\r\n"
        if up == b"AUTH PLAIN":                  # no initial response: ask for it (RFC 4954)
            asked.append(1)
            return b"334 \r\n"
        if up.startswith(b"AUTH PLAIN "):
            seen.append(line.split()[-1])
            return b"235 2.7.0 Authentication successful\r\n"
        return FakeSmtp.default_answer(line)

    srv = FakeSmtp(b"220 fake ESMTP\r\n", answer)
    try:
        r = relay_env(srv.port, auth=(user, password))
        assert r["code"] == 250, r
        import base64
        assert seen and base64.b64decode(seen[0]) == f"\0{user}\0{password}".encode()
    finally:
        srv.stop()


def test_relay_failures_are_counted_in_metrics(services, relay_env):
    relay_env(free_port())
    m = services.started[-1].metrics()
    assert 'clement_delivery_downstream_errors_total{kind="connect"} 1' in m
    assert 'clement_delivery_deliveries_total{mode="relay",outcome="tempfail"} 1' in m


def test_relay_starttls(db, services, tmp_path):
    """Opportunistic TLS is used when offered; required TLS checks the certificate unless
    CLEMENT_RELAY_TLS_VERIFY=0, and never falls back to plaintext."""
    srv = FakeSmtp(tls=self_signed_cert(tmp_path))
    try:
        # TLS handshakes under ASan on a loaded box: a generous downstream timeout.
        _, port = start_delivery(services, db, tmp_path / "mail", CLEMENT_RELAY_TIMEOUT_MS=20000)
        for i, tls in enumerate(("opportunistic", "required")):
            g = make_group(db, f"tls-{tls}", "relay", srv.port, tls)
            make_domain(db, f"tls{i}.example.net", g)
        g1, g2 = (db.scalar("SELECT id FROM groups WHERE name = %s", (n,)) for n in ("tls-opportunistic", "tls-required"))
        r = rpc(port, deliver_req([("bob@tls0.example.net", route("relay", g1))]), MSG)
        assert r["code"] == 250 and srv.mail_over_tls == [True], (r, srv.mail_over_tls)
        r = rpc(port, deliver_req([("bob@tls1.example.net", route("relay", g2))]), MSG)  # self-signed: refused
        assert (r["action"], r["code"], r["enh"]) == ("defer", 451, "4.7.5"), r
        assert srv.mail_over_tls == [True]                # no MAIL was sent in that session
        _, port2 = start_delivery(services, db, tmp_path / "mail2", CLEMENT_RELAY_TLS_VERIFY=0,
                                  CLEMENT_RELAY_TIMEOUT_MS=20000)
        g = make_group(db, "tls-noverify", "relay", srv.port, "required")
        d = make_domain(db, "noverify.example.net", g)
        r = rpc(port2, deliver_req([("bob@noverify.example.net", route("relay", g, d))]), MSG)
        assert r["code"] == 250 and srv.mail_over_tls == [True, True], r
        assert len(srv.data) == 2 and srv.data[1] == MSG
    finally:
        srv.stop()


@pytest.fixture
def utf8_downstreams(db, services, tmp_path):
    """delivery and two relay groups: plain.example.net to a downstream without SMTPUTF8, and
    utf8.example.net to one that offers it. Yields (port, g1, g2, d1, plain, utf8)."""
    plain = FakeSmtp()
    utf8 = FakeSmtp(answer=lambda l: b"250-fake\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n" if l[:4].upper() == b"EHLO"
                    else FakeSmtp.default_answer(l))
    try:
        _, port = start_delivery(services, db, tmp_path / "mail")
        g1, g2 = make_group(db, "no-utf8", "relay", plain.port), make_group(db, "utf8", "relay", utf8.port)
        d1 = make_domain(db, "plain.example.net", g1)
        make_domain(db, "utf8.example.net", g2)
        yield port, g1, g2, d1, plain, utf8
    finally:
        plain.stop()
        utf8.stop()


def test_relay_smtputf8_only_to_a_downstream_that_offers_it(utf8_downstreams):
    """RFC 6531 3.4: a UTF-8 envelope address goes to a downstream with SMTPUTF8 in its EHLO
    (MAIL carries the parameter); one without it gets no message, and the client 553 5.6.7."""
    port, g1, g2, _, plain, utf8 = utf8_downstreams
    sender = "j\u00fcrgen@sender.test"
    r = rpc(port, deliver_req([("bob@plain.example.net", route("relay", g1))], sender=sender), MSG)
    assert (r["action"], r["code"], r["enh"]) == ("reject", 553, "5.6.7"), r
    assert plain.data == []                           # the body never went out
    r = rpc(port, deliver_req([("bob@plain.example.net", route("relay", g1))]), MSG)  # ASCII: as before
    assert r["code"] == 250 and len(plain.data) == 1, r
    r = rpc(port, deliver_req([("bob@utf8.example.net", route("relay", g2))], sender=sender), MSG)
    assert r["code"] == 250 and len(utf8.data) == 1, r
    assert f"MAIL FROM:<{sender}> SMTPUTF8".encode() in utf8.commands, utf8.commands


UTF8_HEADER_MSG = ("From: J\u00fcrgen <juergen@sender.test>\r\nTo: bob@plain.example.net\r\n"
                   "Subject: Gr\u00fc\u00dfe\r\n\r\nHallo.\r\n").encode()


def test_relay_a_utf8_header_sent_with_smtputf8_only_to_a_downstream_that_offers_it(db, utf8_downstreams):
    """RFC 6531 3.4, Postfix's rule: a message that came with SMTPUTF8 and has UTF-8 in its
    header (ASCII envelope) needs SMTPUTF8 from the downstream: one without it gets nothing and
    the client 554 5.6.9, live and when the held copy is released. The same header sent without
    SMTPUTF8 (legacy 8-bit mail) still goes, as before; a UTF-8 body alone never needs it."""
    port, g1, g2, d1, plain, utf8 = utf8_downstreams
    r = rpc(port, deliver_req([("bob@plain.example.net", route("relay", g1))], smtputf8=True), UTF8_HEADER_MSG)
    assert (r["action"], r["code"], r["enh"]) == ("reject", 554, "5.6.9"), r
    assert "SMTPUTF8" in r["text"], r
    assert plain.data == []
    r = rpc(port, deliver_req([("bob@plain.example.net", route("relay", g1))]), UTF8_HEADER_MSG)
    assert r["code"] == 250 and len(plain.data) == 1, r
    body_only = b"From: a@sender.test\r\nSubject: plain\r\n\r\nGr\xc3\xbc\xc3\x9fe\r\n"
    r = rpc(port, deliver_req([("bob@plain.example.net", route("relay", g1))], smtputf8=True), body_only)
    assert r["code"] == 250 and len(plain.data) == 2, r
    r = rpc(port, deliver_req([("bob@utf8.example.net", route("relay", g2))], smtputf8=True), UTF8_HEADER_MSG)
    assert r["code"] == 250 and len(utf8.data) == 1, r

    # Held, then released by an admin: the same rule, from the flag kept with the copy.
    r = rpc(port, deliver_req([("bob@plain.example.net", route("relay", g1, d1, 0, True))], sid="S-held",
                              smtputf8=True), UTF8_HEADER_MSG)
    assert r["code"] == 250, r
    qid, flag = db.query("SELECT id, smtputf8 FROM quarantine WHERE sid = 'S-held'")[0].values()
    assert flag is True
    r = rpc(port, {"v": 1, "op": "release", "quarantine_id": qid, "by_user_id": 0})
    assert (r["code"], r["enh"]) == (554, "5.6.9"), r
    assert len(plain.data) == 2
    assert db.query("SELECT status FROM quarantine WHERE id = %s", (qid,))[0]["status"] == "held"


def test_quota_from_the_route_is_enforced_without_a_lookup(db, services, tmp_path, local_setup):
    """policy sends the user's quota with a local route (from its cache): delivery enforces that
    one and asks PostgreSQL nothing per copy. The database's own value is not what counts then,
    so here it says otherwise: no quota for carol, 1 byte for bob."""
    root = tmp_path / "mail"
    s = local_setup
    copy = len(trace("alice@sender.test", "carol@example.org") + MSG)
    db.execute("UPDATE users SET quota_bytes = 1 WHERE id = %s", (s["bob"],))
    _, port = start_delivery(services, db, root)
    req = deliver_req([("bob@example.org", route("local", s["g"], s["d"], s["bob"], quota_bytes=0)),
                       ("carol@example.org", route("local", s["g"], s["d"], s["carol"], quota_bytes=copy + 10))])
    assert rpc(port, req, MSG)["code"] == 250          # bob's route says no quota: his 1 byte is not asked
    r = rpc(port, req, MSG)                            # carol's route quota fits one copy only
    assert (r["action"], r["code"], r["enh"]) == ("defer", 452, "4.2.2"), r
    assert "carol@example.org" in r["text"], r
    assert len(maildir_new(root, "bob@example.org")) == 1 and len(maildir_new(root, "carol@example.org")) == 1
    # A route without the quota (a release, an older client) is looked up: bob's 1 byte counts.
    r = rpc(port, deliver_req([("bob@example.org", route("local", s["g"], s["d"], s["bob"]))]), MSG)
    assert (r["code"], r["enh"]) == (452, "4.2.2"), r


def test_database_down_is_451_never_250(services, tmp_path):
    """Without PostgreSQL (quota lookups, downstream settings, quarantine) every op defers."""
    class NoDb:
        url = f"postgresql://clement@127.0.0.1:{free_port()}/clement?connect_timeout=1"
    _, port = start_delivery(services, NoDb, tmp_path / "mail")
    for rt in (route("local", 1, 1, 1), route("relay", 1, 1), route("local", 1, 1, 1, True)):
        r = rpc(port, deliver_req([("bob@example.org", rt)]), MSG)
        assert (r["action"], r["code"]) == ("defer", 451), r
    assert rpc(port, {"v": 1, "op": "release", "quarantine_id": 1, "by_user_id": 1})["code"] == 451
    assert rpc(port, {"v": 1, "op": "delete", "quarantine_id": 1, "by_user_id": 1})["code"] == 451
    assert not (tmp_path / "mail" / "example.org" / "bob" / "new").exists()
