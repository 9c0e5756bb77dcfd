"""smtp-edge decisions and failures, with a fake policy/scanner/delivery that the tests
program: verdicts are passed through exactly, and every failure (silent, slow, malformed,
killed service) is a 4xx, never a 250."""
import base64
import os
import re
import signal
import smtplib
import socket
import time

import pytest

from conftest import wait_for
from harness import fakerpc
from harness.smtp import MSGID_RE, Raw, local_only, message, read_until_close, start_edge

pytestmark = local_only

EICAR = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def with_handler(services, overrides, **env):
    """An edge whose fake answers overrides[op] (a reply or a function of the header)."""
    def handler(h, body):
        r = overrides.get(h.get("op"))
        if callable(r):
            r = r(h)
        return r if h.get("op") in overrides else fakerpc.default_handler(h, body)
    fake = fakerpc.FakeRPC(handler)  # never closed before the edge: it must outlive it
    return start_edge(services, fake, **env), fake


def send_one(e, rcpt="bob@example.org", body="Subject: t\r\n\r\nhello\r\n"):
    r = e.session()
    assert r.cmd("MAIL FROM:<alice@sender.example>")[0] == 250
    assert r.cmd(f"RCPT TO:<{rcpt}>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(body + ".\r\n")
    return r.reply()


def test_connect_reject_and_defer(services):
    e, _ = with_handler(services, {"connect": lambda h: fakerpc.reject(554, "5.7.1", "You are banned")})
    r = Raw(e.host, e.smtp)
    assert r.reply() == (554, "554 5.7.1 You are banned")
    assert r.closed()
    e2, _ = with_handler(services, {"connect": fakerpc.defer(421, "4.7.0", "Too busy")})
    r = Raw(e2.host, e2.smtp)
    assert r.reply() == (421, "421 4.7.0 Too busy")


@pytest.mark.parametrize("fault", ["silent", "malformed", "inconsistent"])
def test_connect_failure_is_421(services, fault):
    reply = {"silent": None, "malformed": ("raw", b"{not json"),
             "inconsistent": {"v": 1, "action": "accept", "code": 550, "enh": "5.0.0", "text": "x"}}[fault]
    e, _ = with_handler(services, {"connect": reply}, CLEMENT_POLICY_TIMEOUT_MS=300)
    r = Raw(e.host, e.smtp)
    code, text = r.reply()
    assert code == 421 and "4.3.0" in text


def test_policy_verdicts_are_passed_exactly(services):
    e, fake = with_handler(services, {
        "rcpt": lambda h: fakerpc.reject(553, "5.1.7", "Bad sender address syntax") if "spam" in h["sender"] else (
            fakerpc.reject(550, "5.1.1", f"<{h['rcpt']}>: no such user") if h["rcpt"].startswith("nobody") else (
                fakerpc.defer(450, "4.2.0", "Greylisted") if h["rcpt"].startswith("grey") else
                fakerpc.accept(250, "2.1.5", "Recipient ok", route=fakerpc.LOCAL))),
    })
    r = e.session()
    # MAIL before AUTH is the edge's to answer; the sender's verdict comes at RCPT
    assert r.cmd("MAIL FROM:<spam@x.example>") == (250, "250 2.1.0 Ok")
    assert r.cmd("RCPT TO:<bob@example.org>") == (553, "553 5.1.7 Bad sender address syntax")
    assert r.cmd("RSET")[0] == 250
    assert r.cmd("MAIL FROM:<a@x.example> SIZE=100") == (250, "250 2.1.0 Ok")
    assert r.cmd("RCPT TO:<nobody@example.org>") == (550, "550 5.1.1 <nobody@example.org>: no such user")
    assert r.cmd("RCPT TO:<grey@example.org>") == (450, "450 4.2.0 Greylisted")
    assert r.cmd("RCPT TO:<bob@example.org>") == (250, "250 2.1.5 Recipient ok")
    m = fake.ops("rcpt")[-1]
    assert m["ip"] == "127.0.0.1" and m["listener"] == "smtp" and m["helo"] == "client.example.net"
    assert m["sender"] == "a@x.example" and m["smtputf8"] is False
    assert not fake.ops("mail") and not fake.ops("helo")


@pytest.mark.parametrize("fault", ["silent", "slow", "malformed", "no_route"])
def test_rcpt_failure_is_451(services, fault):
    reply = {"silent": None, "slow": ("sleep", 1.0, fakerpc.accept(250, "2.1.5", "late", route=fakerpc.LOCAL)),
             "malformed": ("raw", b"\x00\x01garbage"), "no_route": fakerpc.accept(250, "2.1.5", "Ok")}[fault]
    e, fake = with_handler(services, {"rcpt": reply}, CLEMENT_POLICY_TIMEOUT_MS=400)
    r = e.session()
    assert r.cmd("MAIL FROM:<a@x.example>")[0] == 250
    code, text = r.cmd("RCPT TO:<bob@example.org>")
    assert code == 451 and "4.3.0" in text
    # the session goes on; DATA without an accepted recipient is refused, nothing delivered
    assert r.cmd("DATA")[0] == 554
    assert not fake.ops("deliver")


def test_virus_is_554_with_signature(services):
    e, fake = with_handler(services, {})
    code, text = send_one(e, body="Subject: v\r\n\r\n" + EICAR + "\r\n")
    assert (code, text) == (554, "554 5.7.1 Virus found: Eicar-Test-Signature")
    assert not fake.ops("deliver")
    lm = fake.logged_messages()[0]
    assert lm["rcpts"][0]["virus"] == "Eicar-Test-Signature" and lm["rcpts"][0]["status"] == "rejected"


@pytest.mark.parametrize("fault", ["silent", "error", "malformed"])
def test_scanner_failure_is_451(services, fault):
    reply = {"silent": None, "error": {"v": 1, "verdict": "error", "error": "engine"}, "malformed": ("raw", b"[]")}[fault]
    e, fake = with_handler(services, {"scan": reply}, CLEMENT_SCANNER_TIMEOUT_MS=400)
    code, text = send_one(e)
    assert code == 451 and "4.3.0" in text
    assert not fake.ops("deliver")


def test_scanner_fail_open_delivers(services):
    e, fake = with_handler(services, {"scan": None}, CLEMENT_SCANNER_TIMEOUT_MS=300, CLEMENT_SCAN_FAIL_OPEN=1)
    code, text = send_one(e)
    assert code == 250
    assert fake.ops("deliver")


@pytest.mark.parametrize("reply,expect", [
    (fakerpc.defer(451, "4.4.1", "Downstream not answering"), "451 4.4.1 Downstream not answering"),
    (fakerpc.reject(550, "5.1.1", "Downstream: no such user"), "550 5.1.1 Downstream: no such user"),
    (None, "451 4.3.0"),
    (("raw", b'{"v":1,"action":"accept"}'), "451 4.3.0"),
])
def test_delivery_verdict_is_the_reply_to_data(services, reply, expect):
    e, fake = with_handler(services, {"deliver": reply}, CLEMENT_DELIVERY_TIMEOUT_MS=400)
    code, text = send_one(e)
    assert text.startswith(expect), text
    assert code != 250


def test_policy_killed_mid_session_gives_4xx(services):
    e, fake = with_handler(services, {})
    r = e.session()
    assert r.cmd("MAIL FROM:<a@x.example>")[0] == 250
    fake.close()  # the policy (and the other services) go away
    time.sleep(0.3)
    code, text = r.cmd("RCPT TO:<bob@example.org>")
    assert code // 100 == 4 and "4.3.0" in text


def test_scanner_killed_mid_data_gives_451(services):
    scanner = fakerpc.FakeRPC(lambda h, b: ("sleep", 0.5, {"v": 1, "verdict": "clean"}))
    policy = fakerpc.FakeRPC()
    e = start_edge(services, policy, CLEMENT_SCANNER_URL=scanner.url, CLEMENT_DELIVERY_URL=policy.url)
    r = e.session()
    assert r.cmd("MAIL FROM:<a@x.example>")[0] == 250
    assert r.cmd("RCPT TO:<bob@example.org>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send("Subject: k\r\n\r\nbody\r\n.\r\n")
    scanner.wait_op("scan")
    scanner.close()
    code, text = r.reply()
    assert code == 451 and "4.3.0" in text
    assert not policy.ops("deliver")


def test_pregreet_client_is_refused_and_a_patient_one_remembered(services):
    e, fake = with_handler(services, {}, CLEMENT_PREGREET_WAIT=800)
    impatient = socket.create_connection((e.host, e.smtp), timeout=5)
    first = impatient.recv(200)
    assert first.startswith(b"220-")
    impatient.sendall(b"EHLO eager.example\r\n")
    data = read_until_close(impatient, 200)
    assert b"554 5.5.0" in data
    assert fake.wait_op("log_session")[0]["pregreet"] is True
    t = time.time()
    r = Raw(e.host, e.smtp)
    code, text = r.reply()
    assert code == 220 and text.startswith("220-") and time.time() - t >= 0.7
    assert r.cmd("EHLO patient.example")[0] == 250
    t = time.time()
    r2 = Raw(e.host, e.smtp)
    code, text = r2.reply()
    assert text.startswith("220 ") and time.time() - t < 0.7  # remembered: no wait
    assert 'clement_edge_refused_total{reason="pregreet"} 1' in e.metrics()


def test_sigterm_lets_a_session_in_flight_finish(services):
    e, fake = with_handler(services, {"deliver": ("sleep", 1.0, fakerpc.accept(250, "2.0.0", "Ok: delivered"))})
    idle = e.session()
    r = e.session()
    assert r.cmd("MAIL FROM:<a@x.example>")[0] == 250
    assert r.cmd("RCPT TO:<bob@example.org>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send("Subject: t\r\n\r\nx\r\n.\r\n")
    fake.wait_op("deliver")
    e.svc.proc.send_signal(signal.SIGTERM)
    code, text = idle.reply()
    assert code == 421 and "4.3.2" in text
    with pytest.raises(ConnectionRefusedError):  # no longer accepting (listeners closed before the 421)
        socket.create_connection((e.host, e.smtp), timeout=5)
    assert r.reply()[0] == 250  # the message in flight still gets its answer
    assert e.svc.proc.wait(timeout=10) == 0


def test_swaks_pipelined_and_metrics(services):
    import subprocess
    e, fake = with_handler(services, {})
    out = subprocess.run(["swaks", "--server", f"{e.host}:{e.smtp}", "--from", "a@sender.example",
                          "--to", "bob@example.org", "--pipeline"],
                         capture_output=True, text=True, timeout=30)
    assert "<-  250 2.0.0 Ok: delivered (id " in out.stdout, out.stdout
    m = e.metrics()
    assert "clement_edge_messages_accepted_total 1" in m
    assert 'clement_edge_rpc_seconds_count{service="policy"}' in m


def test_helo_and_mail_verdicts_come_at_rcpt(services):
    """Port 25 asks policy nothing at HELO/EHLO and MAIL (Postfix's smtpd_delay_reject): each
    rcpt request carries the HELO name, the sender and its SMTPUTF8 flag, and policy's
    verdict on them is the reply to RCPT, passed exactly."""
    bad_helo = "501 5.5.2 <bad_host>: Helo command rejected: not a domain name or address literal"
    e, fake = with_handler(services, {
        "rcpt": lambda h: fakerpc.reject(501, "5.5.2", bad_helo[10:]) if h["helo"] == "bad_host" else (
            fakerpc.defer(450, "4.7.1", "HELO check unavailable") if h["helo"].startswith("later") else
            fakerpc.accept(250, "2.1.5", "Ok", route=fakerpc.LOCAL))})
    r = Raw(e.host, e.smtp)
    assert r.reply()[0] == 220
    code, text = r.cmd("EHLO bad_host")
    assert code == 250 and text.endswith("250 CHUNKING"), text  # the edge answers, with its keywords
    assert r.cmd("MAIL FROM:<a@x.example>") == (250, "250 2.1.0 Ok")
    assert r.cmd("RCPT TO:<bob@example.org>") == (501, bad_helo)
    assert r.cmd("HELO later.example")[0] == 250  # HELO ends the transaction (RFC 5321 4.1.4)
    assert r.cmd("MAIL FROM:<a@x.example>")[0] == 250
    assert r.cmd("RCPT TO:<bob@example.org>") == (450, "450 4.7.1 HELO check unavailable")
    assert r.cmd("EHLO good.example")[0] == 250
    assert r.cmd("MAIL FROM:<j\u00f6rg@x.example> SMTPUTF8")[0] == 250
    assert r.cmd("RCPT TO:<bob@example.org>")[0] == 250
    assert not fake.ops("helo") and not fake.ops("mail")
    assert [(h["helo"], h["sender"], h["smtputf8"]) for h in fake.ops("rcpt")] == [
        ("bad_host", "a@x.example", False), ("later.example", "a@x.example", False),
        ("good.example", "j\u00f6rg@x.example", True)]


def test_authenticated_mail_still_asks_policy(services):
    """After AUTH policy judges the sender at MAIL (the submission server's 553 5.7.1 for
    someone else's address), and its verdict is the reply to MAIL."""
    e, fake = with_handler(services, {
        "mail": lambda h: fakerpc.reject(553, "5.7.1", "<boss@example.org> is not your address")
        if h["sender"] == "boss@example.org" else fakerpc.accept(250, "2.1.0", "Ok")})
    r = e.session(e.submission)
    assert r.cmd("STARTTLS")[0] == 220
    r.starttls()
    assert r.cmd("EHLO client.example.net")[0] == 250
    assert r.cmd("AUTH PLAIN " + base64.b64encode(b"\0al@example.org\0secret").decode())[0] == 235
    assert r.cmd("MAIL FROM:<boss@example.org>") == (553, "553 5.7.1 <boss@example.org> is not your address")
    assert r.cmd("MAIL FROM:<al@example.org>") == (250, "250 2.1.0 Ok")
    assert [(h["sender"], h["auth_user"]) for h in fake.ops("mail")] == [
        ("boss@example.org", "al@example.org"), ("al@example.org", "al@example.org")]
    assert not fake.ops("helo")


@pytest.mark.parametrize("port", ["smtp", "submission"])
def test_talking_before_the_greeting_is_a_sync_error_without_pregreet_too(services, port):
    """RFC 5321 4.3.1 / RFC 2920 3.1: the client waits for the greeting. With the pregreet
    test off (and on 587, where it never runs), a slow connect verdict leaves time to talk."""
    e, fake = with_handler(services, {"connect": ("sleep", 0.8, fakerpc.accept(220, "", "Welcome"))})
    s = socket.create_connection((e.host, getattr(e, port)), timeout=10)
    s.sendall(b"EHLO eager.example\r\nMAIL FROM:<a@x.example>\r\n")
    data = read_until_close(s)
    assert data.startswith(b"554 5.5.0 ") and b"250" not in data, data
    assert not fake.ops("helo") and not fake.ops("mail")


def test_logs_never_slow_the_session(services):
    """The transcript and outcome go to policy fire-and-forget: a policy that never answers
    the log calls does not hold a session or the next one."""
    e, fake = with_handler(services, {"log_session": None, "log_message": None})
    for _ in range(2):
        code, text = send_one(e)
        assert code == 250, text
    assert len(fake.logged_messages(2)) == 2


def one_message(r):
    """one transaction on session r; the message id of its 250."""
    assert r.cmd("MAIL FROM:<alice@sender.example>")[0] == 250
    assert r.cmd("RCPT TO:<bob@example.org>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send("Subject: t\r\n\r\nhello\r\n.\r\n")
    code, text = r.reply()
    assert code == 250, text
    return MSGID_RE.search(text).group(1)


def test_the_last_message_log_travels_with_the_session_log(services):
    """A message's log is held for the session's next call to policy: the next MAIL sends it on
    its own, and the last one goes inside log_session ("message"), one round trip fewer for
    a session of one message (docs/RPC.md). Each message is logged exactly once."""
    e, fake = with_handler(services, {})
    r = e.session()
    first = one_message(r)
    assert r.cmd("RSET")[0] == 250
    second = one_message(r)  # its MAIL sent the first message's log
    lm = fake.wait_op("log_message")
    assert [h["msgid"] for h in lm] == [first], lm
    t = time.monotonic()
    assert r.cmd("QUIT")[0] == 221
    quit_after = time.monotonic() - t
    ls = fake.wait_op("log_session")
    assert len(ls) == 1 and ls[0]["messages"] == 2
    logged = fake.logged_messages(2)
    assert [h["msgid"] for h in logged] == [first, second]
    if quit_after < 0.5:  # within the hold (1 s): carried by log_session
        assert "message" in ls[0], [h["msgid"] for h in fake.ops("log_message")]
        assert ls[0]["message"]["msgid"] == second and ls[0]["message"]["sid"] == ls[0]["sid"]
        assert ls[0]["message"]["rcpts"][0]["rcpt"] == "bob@example.org"
        assert len(fake.ops("log_message")) == 1


def test_a_held_message_log_goes_alone_when_the_session_idles(services):
    """A client that keeps its session open after DATA (a connection cache) still has its
    message logged while the session lives: the held log goes on its own after a second."""
    e, fake = with_handler(services, {})
    r = e.session()
    msgid = one_message(r)
    lm = fake.wait_op("log_message")
    assert [h["msgid"] for h in lm] == [msgid]
    assert not fake.ops("log_session")  # the session is still open
    assert r.cmd("NOOP")[0] == 250
    assert r.cmd("QUIT")[0] == 221
    ls = fake.wait_op("log_session")
    assert ls and "message" not in ls[0]  # logged once only


def test_metrics_sessions_open_and_refusals(services):
    e, _ = with_handler(services, {})
    a, b = e.session(), e.session()
    m = e.metrics()
    assert "clement_edge_sessions_open 2" in m and "clement_edge_sessions_total 2" in m
    b.send("BOGUS\0\r\n")
    assert b.reply()[0] == 500
    a.send("GET / HTTP/1.1\r\n")
    assert a.closed()
    deadline = time.time() + 5
    while 'clement_edge_refused_total{reason="http"} 1' not in e.metrics() and time.time() < deadline:
        time.sleep(0.05)
    m = e.metrics()
    assert 'clement_edge_refused_total{reason="http"} 1' in m
    assert 'clement_edge_rpc_seconds_count{service="policy"} ' in m and "clement_edge_rpc_seconds_bucket" in m


def cpu_seconds(pid):
    """User + system CPU time of a process so far."""
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def test_out_of_descriptors_clients_get_421_and_the_edge_does_not_spin(services):
    """CLEMENT_MAX_SESSIONS above the process's descriptor limit (128 here, set with prlimit)
    is lowered to what the limit leaves, with a warning at start, so every client beyond is
    accepted and told 421 4.7.0, rather than left in the listen queue with no answer while
    the edge wakes on the listener again and again; once sessions end new clients are served
    again, and every refusal is counted."""
    fake = fakerpc.FakeRPC(fakerpc.default_handler)
    e = start_edge(services, fake, wrap=("prlimit", "--nofile=128:128"), CLEMENT_MAX_SESSIONS="1000")
    svc = services.started[-1]
    socks = [socket.create_connection((e.host, e.smtp), timeout=10, source_address=(f"127.3.0.{i + 1}", 0))
             for i in range(100)]
    replies = [s.recv(200) for s in socks]  # every client hears something, none waits forever
    greeted = [s for s, r in zip(socks, replies) if r.startswith(b"220 ")]
    refused = [r for r in replies if r == b"421 4.7.0 Too many connections, try again later\r\n"]
    assert len(greeted) == 64 and len(refused) == 36, replies
    c0 = cpu_seconds(svc.proc.pid)
    time.sleep(2)
    used = cpu_seconds(svc.proc.pid) - c0
    assert used < 0.5, f"the edge used {used:.2f} s of CPU in 2 s holding {len(greeted)} idle sessions"
    assert "CLEMENT_MAX_SESSIONS=1000 but the file descriptor limit is 128: at most 64 sessions" in svc.log()
    for s in socks:
        s.close()
    probes_refused = 0

    def greeted_again():
        nonlocal probes_refused
        with socket.create_connection((e.host, e.smtp), timeout=10) as c:
            r = c.recv(200)
            probes_refused += r.startswith(b"421 4.7.0 Too many connections")
            return r.startswith(b"220 ")
    assert wait_for(greeted_again, 10), "no 220 for a new client after the sessions ended"
    limit = 'clement_edge_refused_total{reason="limit"} %d' % (len(refused) + probes_refused)
    assert limit in svc.metrics()


def start_body(e, lines, source=None):
    """A session in DATA that has sent `lines` lines of 1000 octets and not yet ended it."""
    r = e.session(source=source)
    assert r.cmd("MAIL FROM:<alice@sender.example>")[0] == 250
    assert r.cmd("RCPT TO:<bob@example.org>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(("x" * 998 + "\r\n") * lines)
    return r


def test_message_data_beyond_the_memory_budget_is_452_never_an_oom(services):
    """CLEMENT_MAX_DATA_MEMORY bounds the message data the edge holds for all sessions
    together (before it, 10,000 sessions of 25 MB could ask for 250 GB: the edge was killed for
    want of memory and every session with it). At the budget a MAIL is told 452 4.3.1; a
    message that would pass it is read to its end and told 452 4.3.1 (the sender retries);
    room comes back as messages are answered, and the sessions go on."""
    e, _ = with_handler(services, {}, CLEMENT_MAX_MESSAGE_SIZE="307200", CLEMENT_MAX_DATA_MEMORY="1048576")
    held = lambda: int(re.search(r"^clement_edge_data_bytes (\d+)$", e.metrics(), re.M).group(1))
    a = start_body(e, 280)
    assert wait_for(lambda: held() == 512 << 10, 10), held()    # a's buffer grew to 512 KiB
    b = start_body(e, 100)
    assert wait_for(lambda: held() == 640 << 10, 10), held()    # and b's to 128 KiB
    c = start_body(e, 280)                                       # would need 512 KiB more
    c.send(".\r\n")
    assert c.reply() == (452, "452 4.3.1 Insufficient system storage, try again later")
    assert wait_for(lambda: held() == 640 << 10, 5), held()     # c gave back what it had
    b.send(("y" * 998 + "\r\n") * 180)
    assert wait_for(lambda: held() == 1 << 20, 10), held()      # b at 512 KiB: the budget is full
    assert c.cmd("NOOP")[0] == 250                               # c's session goes on
    code, text = c.cmd("MAIL FROM:<alice@sender.example>")
    assert (code, text) == (452, "452 4.3.1 Insufficient system storage, try again later")
    a.send(".\r\n")
    assert a.reply()[0] == 250                                   # a delivered: its 512 KiB are free
    assert wait_for(lambda: held() == 512 << 10, 5), held()     # (freed just after the reply)
    assert c.cmd("MAIL FROM:<alice@sender.example>")[0] == 250
    assert c.cmd("RCPT TO:<bob@example.org>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(("z" * 998 + "\r\n") * 280 + ".\r\n")
    assert c.reply()[0] == 250
    b.send(".\r\n")
    assert b.reply()[0] == 250
    assert wait_for(lambda: held() == 0, 5), held()
    m = e.metrics()
    assert 'clement_edge_refused_total{reason="memory"} 2' in m
    assert 'clement_edge_refused_total{reason="errors"} 0' in m
    log = e.svc.log()
    assert "reason=memory size=280000 max=1048576" in log and "mail_refused reason=memory" in log, log


def test_one_address_cannot_take_the_whole_memory_budget(services):
    """CLEMENT_MAX_DATA_MEMORY_PER_IP: one client address holds at most its share of the budget,
    so one sender (20 sessions trickling 25 MB each) cannot make every other sender hear 452.
    Beyond its share that address's MAIL is told 452 4.3.1; another address goes on."""
    e, _ = with_handler(services, {}, CLEMENT_MAX_MESSAGE_SIZE="307200", CLEMENT_MAX_DATA_MEMORY="4194304",
                        CLEMENT_MAX_DATA_MEMORY_PER_IP="1048576")
    held = lambda: int(re.search(r"^clement_edge_data_bytes (\d+)$", e.metrics(), re.M).group(1))
    a = start_body(e, 280)
    b = start_body(e, 280)
    assert wait_for(lambda: held() == 1 << 20, 10), held()      # 127.0.0.1's whole share
    c = e.session()
    assert c.cmd("MAIL FROM:<alice@sender.example>") == (
        452, "452 4.3.1 Too much mail in progress from your address, try again later")
    d = start_body(e, 280, source="127.0.0.2")                   # another client: its own share
    d.send(".\r\n")
    assert d.reply()[0] == 250
    a.send(".\r\n")
    assert a.reply()[0] == 250
    assert wait_for(lambda: held() == 512 << 10, 5), held()
    assert c.cmd("MAIL FROM:<alice@sender.example>")[0] == 250    # room in 127.0.0.1's share again
    b.send(".\r\n")
    assert b.reply()[0] == 250
    assert wait_for(lambda: held() == 0, 5), held()
    assert 'clement_edge_refused_total{reason="memory"} 1' in e.metrics()
    assert "reason=memory_per_ip ip=127.0.0.1" in e.svc.log()
