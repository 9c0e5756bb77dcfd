"""smtp-edge's timeouts (RFC 5321 4.5.3.2, each its own CLEMENT_* setting) and minimum data
rate, against the programmable fake of the other services.

Each test shortens one setting and leaves the others long, so the 421 it sees can only come
from that one. No test asserts how long anything took: the socket timeout (far above the
shortened setting) only bounds how long the test waits for the edge's 421."""
import time

import pytest

from harness import fakerpc
from harness.smtp import local_only, start_edge

pytestmark = local_only

LONG = "2m"   # durations take units as an admin writes them (a plain number is seconds)
ALL = ("CLEMENT_GREET_TIMEOUT_S", "CLEMENT_MAIL_TIMEOUT_S", "CLEMENT_RCPT_TIMEOUT_S",
       "CLEMENT_DATA_INIT_TIMEOUT_S", "CLEMENT_DATA_TIMEOUT_S", "CLEMENT_CMD_TIMEOUT_S")


@pytest.fixture
def fake():
    f = fakerpc.FakeRPC()
    yield f
    f.close()


def edge_with(services, fake, short, **env):
    """An edge where only the setting `short` is 1 second (min rate off unless env sets it)."""
    settings = {k: LONG for k in ALL}
    settings[short] = "1s"
    settings.setdefault("CLEMENT_MIN_DATA_RATE", 0)
    settings.update(env)
    return start_edge(services, fake, **settings)


def expect_timeout(r):
    r.sock.settimeout(30)
    code, text = r.reply()
    assert code == 421 and text.startswith("421 4.4.2 "), text
    assert r.closed()


def trickle(r, byte, rounds=60):
    """Send one byte every 0.4 s until the edge closes (what it said is left in r.buf)."""
    for _ in range(rounds):
        try:
            r.send(byte)
        except OSError:
            return
        if r.closed(0.4):
            return


def to_greeting(e):
    return e.raw()


def to_mail(e):
    return e.session()


def to_rcpt(e):
    r = e.session()
    assert r.cmd("MAIL FROM:<a@sender.example>")[0] == 250
    return r


def to_data_init(e):
    r = to_rcpt(e)
    assert r.cmd("RCPT TO:<bob@example.org>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    return r


def to_data_block(e):
    r = to_data_init(e)
    r.send("Subject: half a message\r\n\r\nfirst line\r\n")
    return r


def to_bdat_init(e):
    r = to_rcpt(e)
    assert r.cmd("RCPT TO:<bob@example.org>")[0] == 250
    r.send("BDAT 100 LAST\r\n")  # and then none of the 100 octets
    return r


def to_auth_continuation(e):
    r = e.session()
    assert r.cmd("STARTTLS")[0] == 220
    r.starttls()
    assert r.cmd("EHLO client.example.net")[0] == 250
    assert r.cmd("AUTH LOGIN")[0] == 334
    return r


@pytest.mark.parametrize("setting,walk", [
    ("CLEMENT_GREET_TIMEOUT_S", to_greeting),          # 4.5.3.2.1: the first command never comes
    ("CLEMENT_MAIL_TIMEOUT_S", to_mail),               # 4.5.3.2.2: no MAIL after EHLO
    ("CLEMENT_RCPT_TIMEOUT_S", to_rcpt),               # 4.5.3.2.3: no RCPT after MAIL
    ("CLEMENT_DATA_INIT_TIMEOUT_S", to_data_init),     # 4.5.3.2.4: nothing after 354
    ("CLEMENT_DATA_INIT_TIMEOUT_S", to_bdat_init),     # ... nor after BDAT
    ("CLEMENT_DATA_TIMEOUT_S", to_data_block),         # 4.5.3.2.5: the body stops flowing
    ("CLEMENT_CMD_TIMEOUT_S", to_auth_continuation),   # 4.5.3.2.7: no AUTH continuation
], ids=["greeting", "mail", "rcpt", "data-init", "bdat-init", "data-block", "auth"])
def test_silent_client_gets_421_at_each_step(fake, services, setting, walk):
    e = edge_with(services, fake, setting)
    r = walk(e)
    expect_timeout(r)
    assert not fake.ops("deliver")
    log = fake.wait_op("log_session")
    assert log and log[-1]["outcome"] == "timeout"
    assert 'clement_edge_refused_total{reason="timeout"} 1' in e.metrics()


def test_a_short_timeout_does_not_cut_the_other_steps(fake, services):
    """Greeting, DATA initiation and data block at 1 s: a client that is slow at the MAIL
    and RCPT steps (whose timeouts stay long) still completes its message."""
    e = start_edge(services, fake, CLEMENT_GREET_TIMEOUT_S=1, CLEMENT_DATA_INIT_TIMEOUT_S=1,
                   CLEMENT_DATA_TIMEOUT_S=1, CLEMENT_MIN_DATA_RATE=0)
    r = e.session()
    time.sleep(2.5)
    assert r.cmd("MAIL FROM:<a@sender.example>")[0] == 250
    time.sleep(2.5)
    assert r.cmd("RCPT TO:<bob@example.org>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send("Subject: slow but fine\r\n\r\nbody\r\n.\r\n")
    code, text = r.reply()
    assert code == 250 and text.startswith("250 2.0.0"), text


def test_trickling_a_command_is_cut_by_the_mail_timeout(fake, services):
    """A byte every 0.4 s never completes a command line: the wait for it is bounded as a
    whole, not per byte."""
    e = edge_with(services, fake, "CLEMENT_MAIL_TIMEOUT_S")
    r = e.session()
    trickle(r, "N")
    assert b"421 4.4.2 " in r.buf, r.buf
    assert not fake.ops("mail") and not fake.ops("rcpt")


@pytest.mark.parametrize("head", [0, 5000], ids=["from-the-start", "after-a-fast-start"])
def test_trickling_body_is_cut_by_the_minimum_rate(fake, services, head):
    """One byte every 0.4 s never hits the (long) data block timeout, but stays under 100
    octets/s over a 2 s window. A fast first part earns no credit for trickling later."""
    e = start_edge(services, fake, CLEMENT_DATA_TIMEOUT_S=LONG, CLEMENT_MIN_DATA_RATE=100,
                   CLEMENT_MIN_DATA_RATE_WINDOW_S=2)
    r = to_data_init(e)
    if head:
        r.send("Subject: fast then slow\r\n\r\n" + ("x" * 98 + "\r\n") * (head // 100))
    trickle(r, "y")
    assert b"421 4.4.2 " in r.buf, r.buf
    assert not fake.ops("deliver") and not fake.ops("scan")
    assert 'clement_edge_refused_total{reason="timeout"} 1' in e.metrics()


def test_fast_enough_body_with_pauses_is_accepted(fake, services):
    """Above the minimum rate over each window, pauses inside it are fine."""
    e = start_edge(services, fake, CLEMENT_MIN_DATA_RATE=100, CLEMENT_MIN_DATA_RATE_WINDOW_S=2)
    r = to_data_init(e)
    r.send("Subject: bursts\r\n\r\n")
    for _ in range(5):
        r.send(("z" * 398 + "\r\n") * 2)  # 800 octets, then a pause of 1 s: 800 octets/s on average
        time.sleep(1)
    r.send(".\r\n")
    code, text = r.reply()
    assert code == 250 and text.startswith("250 2.0.0"), text
