"""End to end through the real services: smtp-edge -> policy (PostgreSQL) -> scanner
(libclamav) -> delivery (Maildir), with a local-mode domain seeded by SQL.

With CLEMENT_TEST_EXTERNAL set (see harness.smtp), the same tests run against an already
running stack: they seed their own rows (a domain with a unique name) in that database and
check outcomes through the logs policy writes, not through the Maildir."""
import pathlib
import re
import smtplib
import subprocess
import time

import pytest

import harness.e2e
from conftest import fill_disk, small_disk, wait_for
from harness.e2e import PASSWORD, run_stack, stack  # noqa: F401 (fixtures: stack)
from harness.smtp import SMUGGLE, Raw, client_tls, local_only

EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTI" + "VIRUS-TEST-FILE!$H+H*"


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
        # RFC 5321 4.4: the final delivery records the envelope sender as Return-Path:, and the
        # copy says whom it was delivered to; both come before the edge's Received: line.
        assert data.startswith(f"Return-Path: <someone@sender.example>\r\nDelivered-To: {to}\r\n"
                               "Received: from client.sender.example ([127.0.0.1])".encode()), data[:200]
        assert b"(using TLSv1." in data
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


def send_quota_probe(stack, to, n):
    """One message of about 2.5 KB with the trace lines to `to`: the end of DATA's (code, text)."""
    with smtplib.SMTP(stack.edge.host, stack.edge.smtp, timeout=30) as c:
        c.ehlo("client.sender.example")
        c.mail("someone@sender.example")
        assert c.rcpt(to)[0] == 250
        try:
            return c.data(f"Subject: quota {n}\r\n\r\n" + ("x" * 70 + "\r\n") * 30)
        except smtplib.SMTPDataError as e:
            return e.smtp_code, e.smtp_error


def set_quota(stack, user, quota):
    """users.quota_bytes of user, then until policy has reloaded its image."""
    policy = stack.svcs["policy"]
    reloads = lambda: int(re.search(r"^clement_policy_cache_reloads_total (\d+)", policy.metrics(), re.M).group(1))
    before = reloads()
    stack.db.execute("UPDATE users SET quota_bytes = %s WHERE local_part = %s AND domain_id = "
                     "(SELECT id FROM domains WHERE name = %s)", (quota, user, stack.domain))
    assert wait_for(lambda: reloads() > before, 10), "policy did not reload after the change"


@local_only
def test_e2e_quota_is_the_one_an_admin_set_a_moment_ago(stack):
    """The user's quota reaches delivery with policy's route (from its cache, not a query per
    copy): a full mailbox is 452 4.2.2 at the end of DATA and nothing is delivered, and a
    quota an admin raises applies from the reload that follows the change."""
    to = f"bob@{stack.domain}"
    set_quota(stack, "bob", 3000)
    assert send_quota_probe(stack, to, 1)[0] == 250   # about 2.5 KB with the trace lines: fits in 3000
    code, text = send_quota_probe(stack, to, 2)       # a second one does not
    assert code == 452 and text.startswith(b"4.2.2") and b"mailbox full" in text, (code, text)
    assert len(stack.delivered("bob")) == 1
    set_quota(stack, "bob", 100000)
    assert send_quota_probe(stack, to, 3)[0] == 250
    assert len(stack.delivered("bob")) == 2


@local_only
def test_e2e_quota_counts_mail_filed_into_folders(stack):
    """Mail the user's IMAP client filed away into a folder is still the user's mail: Dovecot
    moves it into the Maildir++ folder (a rename into .Archive/cur/ with its flags), and the
    quota counts it there, so filing mail away makes no room and deleting it does."""
    to = f"bob@{stack.domain}"
    set_quota(stack, "bob", 4000)
    assert send_quota_probe(stack, to, 1)[0] == 250
    [inbox] = stack.delivered("bob")
    box = pathlib.Path(stack.maildir) / stack.domain / "bob"
    for sub in ("cur", "new", "tmp"):
        (box / ".Archive" / sub).mkdir(parents=True)
    filed = box / ".Archive" / "cur" / (inbox.name + ":2,S")
    inbox.rename(filed)
    assert not stack.delivered("bob")
    code, text = send_quota_probe(stack, to, 2)       # INBOX is empty, the archive is not
    assert code == 452 and text.startswith(b"4.2.2") and b"mailbox full" in text, (code, text)
    assert not stack.delivered("bob")
    filed.unlink()                                    # the user deletes it
    assert send_quota_probe(stack, to, 3)[0] == 250
    assert len(stack.delivered("bob")) == 1


@local_only
def test_e2e_full_disk_is_452_4_3_1_and_nothing_half_written(stack):
    """A full file system under the Maildir is the mail system's storage, not the user's quota:
    452 4.3.1 at the end of DATA (RFC 3463 X.3.1), so the sender retries; the half-written copy
    is removed, and once there is room the retry is delivered. (It was 451 4.3.0, "Temporary
    local delivery failure", which says nothing an admin can act on.) The disk is a 64 KiB tmpfs
    mounted on bob's Maildir."""
    to = f"bob@{stack.domain}"
    with small_disk(pathlib.Path(stack.maildir) / stack.domain / "bob", "64k") as box:
        assert send_quota_probe(stack, to, 1)[0] == 250
        fill_disk(box / "filler")
        code, text = send_quota_probe(stack, to, 2)
        assert code == 452 and text == b"4.3.1 Insufficient system storage, try again later", (code, text)
        assert len(stack.delivered("bob")) == 1
        assert list((box / "tmp").iterdir()) == []    # the partial copy was removed
        (box / "filler").unlink()
        assert send_quota_probe(stack, to, 3)[0] == 250
        assert len(stack.delivered("bob")) == 2


def test_e2e_bad_helo_is_refused_at_rcpt_and_logged(stack):
    """Postfix's smtpd_delay_reject: the edge answers EHLO and MAIL itself and policy's verdict
    on the HELO name is the reply to RCPT, so the recipient's log shows who was refused, from
    whom; the edge's own check (what its Received: line cannot hold) still answers at once.
    A clean session after it still delivers."""
    to = f"alice@{stack.domain}"
    refusal = (501, b"5.5.2 <bad_host>: Helo command rejected: not a domain name or address literal")
    with smtplib.SMTP(stack.edge.host, stack.edge.smtp, timeout=30) as c:
        assert c.ehlo("bad_host!")[0] == 501        # not even a name: the edge's own 501 5.5.4
        assert c.ehlo("bad_host")[0] == 250         # '_' is no domain name: policy says so at RCPT
        assert c.mail("someone@sender.example")[0] == 250
        assert c.rcpt(to) == refusal
        assert c.ehlo("client.sender.example")[0] == 250
        assert c.mail("someone@sender.example")[0] == 250
        assert c.rcpt(to)[0] == 250
        code, text = c.data(f"From: <someone@sender.example>\r\nTo: <{to}>\r\nSubject: after a bad helo\r\n\r\nHi.\r\n")
    assert code == 250, text
    alice = stack.db.scalar("SELECT u.id FROM users u JOIN domains d ON d.id = u.domain_id "
                            "WHERE d.name = %s AND u.local_part = 'alice'", (stack.domain,))
    deadline = time.time() + 8
    while time.time() < deadline and len(stack.message_log(rcpt=to)) < 2:
        time.sleep(0.1)
    rows = {r["status"]: r for r in stack.message_log(rcpt=to)}
    assert set(rows) == {"rejected", "received"}, rows
    bad = rows["rejected"]
    assert (bad["reason_class"], bad["code"], bad["enh"], bad["sender"], bad["user_id"]) == \
        ("helo", 501, "5.5.2", "someone@sender.example", alice), bad
    assert bad["reason"] == refusal[1].decode()[6:]
    assert rows["received"]["subject"] == "after a bad helo"
    if stack.maildir:
        files = stack.delivered("alice")
        assert len(files) == 1 and b"Received: from client.sender.example" in files[0].read_bytes()


@pytest.mark.parametrize("variant", SMUGGLE, ids=[repr(v) for v in SMUGGLE])
def test_e2e_smuggling_delivers_nothing(stack, variant):
    r = Raw(stack.edge.host, stack.edge.smtp, timeout=30)
    assert r.reply()[0] == 220
    r.cmd("EHLO client.sender.example")
    assert r.cmd("MAIL FROM:<someone@sender.example>")[0] == 250
    assert r.cmd(f"RCPT TO:<alice@{stack.domain}>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(b"Subject: s\r\n\r\nx" + variant + f"MAIL FROM:<evil@sender.example>\r\nRCPT TO:<bob@{stack.domain}>"
           "\r\nDATA\r\nevil\r\n.\r\n".encode())
    code, text = r.reply()
    assert code == 554, text
    assert r.cmd("NOOP")[0] == 250  # nothing after the refusal ran as a command
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


@local_only
def test_e2e_bare_postmaster_with_smtplib(stack):
    """RCPT TO:<Postmaster> (RFC 5321 4.1.1.3) reaches the primary domain's postmaster,
    decided by the real policy (it is in the message log) and stored by delivery. Local only:
    an external stack's primary domain is its own, not the test domain."""
    with smtplib.SMTP(stack.edge.host, stack.edge.smtp, timeout=30) as c:
        c.ehlo("client.sender.example")
        c.mail("someone@sender.example")
        code, text = c.rcpt("Postmaster")  # RCPT TO:<Postmaster>
        assert code == 250 and text.startswith(b"2.1.5"), text
        code, text = c.data("From: <someone@sender.example>\r\nSubject: abuse report\r\n\r\nSee attached.\r\n")
    assert code == 250, text
    rows = stack.message_log(rcpt=f"postmaster@{stack.domain}")
    assert rows and rows[0]["status"] == "received"
    files = stack.delivered("postmaster")
    assert len(files) == 1 and b"abuse report" in files[0].read_bytes()


def test_e2e_swaks_starttls_and_smtps_with_auth(stack):
    """swaks (Perl's TLS stack) submits on 587 after STARTTLS with AUTH PLAIN, and on 465 with
    AUTH LOGIN; the real policy checks alice's argon2id password."""
    base = ["swaks", "--from", f"alice@{stack.domain}", "--to", f"bob@{stack.domain}", "--auth-user",
            f"alice@{stack.domain}", "--helo", "client.sender.example", "--timeout", "30"]
    runs = [
        ["--server", f"{stack.edge.host}:{stack.edge.submission}", "--tls", "--auth", "PLAIN",
         "--auth-password", PASSWORD],
        ["--server", f"{stack.edge.host}:{stack.edge.smtps}", "--tls-on-connect", "--auth", "LOGIN",
         "--auth-password", PASSWORD],
    ]
    for extra in runs:
        out = subprocess.run(base + extra, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "<~  235 2.7.0 Authentication successful" in out.stdout, out.stdout
        assert "<~  250 2.0.0 " in out.stdout, out.stdout
    bad = subprocess.run(base + runs[0][:-1] + ["wrong password"], capture_output=True, text=True, timeout=60)
    assert "<~* 535 5.7.8 " in bad.stdout, bad.stdout
    if stack.maildir:
        files = stack.delivered("bob")
        assert len(files) == 2
        assert all(b"with ESMTPSA" in f.read_bytes() for f in files)


@pytest.fixture
def fast_stack(request, tmp_path):
    """The real stack with short RPC deadlines, for the tests that kill a service (local_only)."""
    yield from run_stack(request, tmp_path, CLEMENT_POLICY_TIMEOUT_MS=1500, CLEMENT_SCANNER_TIMEOUT_MS=1500)


def policy_calls(st):
    """How many calls smtp-edge has made to policy (its RPC latency histogram's count)."""
    m = re.search(r'^clement_edge_rpc_seconds_count\{service="policy"\} (\d+)', st.edge.metrics(), re.M)
    assert m, "smtp-edge's /metrics has no policy round-trip count"
    return int(m.group(1))


@local_only
def test_e2e_pipelined_rcpts_take_one_policy_call(stack):
    """A pipelining client (RFC 2920) sends MAIL, its RCPTs and DATA in one packet: smtp-edge
    asks policy once for the run of well-formed RCPTs (rcpt's "more", docs/RPC.md) instead of
    once each, and every RCPT still gets the reply it gets when sent alone: known, unknown,
    <Postmaster>, a syntax error (answered by the edge; it ends the run), and one after it."""
    d = stack.domain
    cmds = ["MAIL FROM:<someone@sender.example>", f"RCPT TO:<alice@{d}>", f"RCPT TO:<nobody@{d}>",
            f"RCPT TO:<bob@{d}>", "RCPT TO:<Postmaster>", "RCPT TO:<not an address>", f"RCPT TO:<nobody2@{d}>",
            "DATA"]

    def session(pipelined):
        r = Raw(stack.edge.host, stack.edge.smtp, timeout=30)
        assert r.reply()[0] == 220
        assert r.cmd("EHLO client.sender.example")[0] == 250
        before = policy_calls(stack)
        if pipelined:
            r.send("".join(c + "\r\n" for c in cmds))
            replies = [r.reply()[1] for _ in cmds]
        else:
            replies = [r.cmd(c)[1] for c in cmds]
        asked = policy_calls(stack) - before
        r.send(f"Subject: {'pipelined' if pipelined else 'one by one'}\r\n\r\nHi.\r\n.\r\n")
        end = r.reply()
        assert r.cmd("QUIT")[0] == 221
        return replies, asked, end

    alone, asked_alone, end = session(False)
    assert end[0] == 250, end
    # its log_session (carrying the message's log) was answered before the next session counts:
    # alice's "received" row comes only from it (refusals policy logs at RCPT)
    assert stack.message_log(rcpt=f"alice@{d}")
    piped, asked_piped, end = session(True)
    assert end[0] == 250, end
    assert piped == alone
    assert [int(t[:3]) for t in piped] == [250, 250, 550, 250, 250, 501, 550, 354], piped
    assert "5.1.1" in piped[2] and "5.1.3" in piped[5], piped
    assert asked_alone == 5, asked_alone  # alice, nobody, bob, postmaster, nobody2
    assert asked_piped == 2, asked_piped  # alice with the next three; nobody2 after the syntax error
    for user in ("alice", "bob", "postmaster"):
        assert len(stack.delivered(user)) == 2, user
    deadline = time.time() + 8  # both sessions' refusals of nobody are logged, by policy
    while len(stack.message_log(rcpt=f"nobody@{d}")) < 2 and time.time() < deadline:
        time.sleep(0.1)
    rows = stack.message_log(rcpt=f"nobody@{d}")
    assert len(rows) == 2 and all(r["status"] == "rejected" for r in rows), rows


def in_transaction(st):
    """A raw session on port 25 after EHLO and an accepted MAIL."""
    r = Raw(st.edge.host, st.edge.smtp, timeout=30)
    assert r.reply()[0] == 220
    assert r.cmd("EHLO client.sender.example")[0] == 250
    assert r.cmd("MAIL FROM:<someone@sender.example>")[0] == 250
    return r


@local_only
def test_e2e_policy_killed_mid_session_gives_451_and_delivers_nothing(fast_stack):
    st = fast_stack
    r = in_transaction(st)
    st.kill("policy")  # SIGKILL: no goodbye, its socket simply dies
    code, text = r.cmd(f"RCPT TO:<alice@{st.domain}>")
    assert code == 451 and text.startswith("451 4.3.0 "), text
    # pipelined, too: every answer that needs policy is a 4xx, none a 250 (alice, asked ahead
    # with bob, is asked again when that call fails, and gets her own 451)
    r.send(f"RCPT TO:<bob@{st.domain}>\r\nRCPT TO:<alice@{st.domain}>\r\nRSET\r\n"
           f"MAIL FROM:<x@sender.example>\r\nRCPT TO:<bob@{st.domain}>\r\n")
    replies = [r.reply() for _ in range(5)]
    assert all(c == 451 and t.startswith("451 4.3.0 ") for c, t in replies[:2]), replies
    assert replies[2][0] == 250  # RSET needs nobody
    assert replies[3] == (250, "250 2.1.0 Ok")  # nor MAIL before AUTH: its verdict comes at RCPT
    assert replies[4][0] == 451 and replies[4][1].startswith("451 4.3.0 "), replies
    code, text = r.cmd("DATA")
    assert code != 354 and code != 250, text
    # a new client is turned away at the door (421 at connect)
    n = Raw(st.edge.host, st.edge.smtp, timeout=30)
    code, text = n.reply()
    assert code == 421 and text.startswith("421 4.3.0 "), text
    assert not st.delivered("alice") and not st.delivered("bob")


@local_only
def test_e2e_scanner_killed_mid_data_gives_451_and_delivers_nothing(fast_stack):
    st = fast_stack
    r = in_transaction(st)
    assert r.cmd(f"RCPT TO:<alice@{st.domain}>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send("Subject: half sent\r\n\r\nfirst half\r\n")
    st.kill("scanner")
    r.send("second half\r\n.\r\n")
    code, text = r.reply()
    assert code == 451 and text.startswith("451 4.3.0 "), text
    assert r.cmd("QUIT")[0] == 221
    assert not st.delivered("alice")
    rows = st.message_log(rcpt=f"alice@{st.domain}")
    assert rows and rows[0]["status"] == "failed"


@pytest.fixture
def ipc_stack(request, tmp_path, monkeypatch):
    """The real stack with the services reached over nng's ipc:// (Unix sockets), as
    co-located services can be (docs/PERFORMANCE.md, issue 22); local_only."""
    (tmp_path / "rpc").mkdir()
    names = iter(("policy", "scanner", "delivery"))
    monkeypatch.setattr(harness.e2e, "rpc_url", lambda: f"ipc://{tmp_path}/rpc/{next(names)}.sock")
    yield from run_stack(request, tmp_path)


@local_only
def test_e2e_services_over_ipc(ipc_stack):
    st = ipc_stack
    socks = sorted(p.name for p in (pathlib.Path(st.maildir).parent / "rpc").iterdir())
    assert socks == ["delivery.sock", "policy.sock", "scanner.sock"], socks
    to = f"alice@{st.domain}"
    with smtplib.SMTP(st.edge.host, st.edge.smtp, timeout=30) as c:
        c.ehlo("client.sender.example")
        c.mail("someone@sender.example")
        assert c.rcpt(to)[0] == 250  # policy answered over ipc
        code, text = c.data(f"From: <someone@sender.example>\r\nTo: <{to}>\r\nSubject: over ipc\r\n\r\nHi.\r\n")
    assert code == 250, text  # scanned and delivered over ipc
    assert len(st.delivered("alice")) == 1
    rows = st.message_log(rcpt=to)
    assert rows and rows[0]["subject"] == "over ipc"
