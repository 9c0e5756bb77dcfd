"""smtp-edge and the services it depends on (issue 16): a service with no connection at all
is answered at once (451 4.3.0, or 421 4.3.0 at connect) instead of after its deadline,
whether it was never started or was SIGKILLed; a service that is connected but silent keeps
its deadline; a service that comes back is used again. On SIGTERM the grace period bounds the
stop: sessions still waiting on an RPC when it ends get 421 4.3.2 and the process exits 0."""
import signal
import smtplib
import time

import pytest

from conftest import free_port, rpc_url
from harness import fakerpc
from harness.e2e import run_stack
from harness.smtp import Raw, local_only, message, start_edge

pytestmark = local_only

# Production deadlines: a client that waited for them would wait minutes, not seconds.
LONG = {"CLEMENT_POLICY_TIMEOUT_MS": 120000, "CLEMENT_SCANNER_TIMEOUT_MS": 120000,
        "CLEMENT_DELIVERY_TIMEOUT_MS": 120000}
FAST = 2.0  # "within a couple of seconds"
URL_KEY = {"policy": "CLEMENT_POLICY_URL", "scanner": "CLEMENT_SCANNER_URL", "delivery": "CLEMENT_DELIVERY_URL"}


def timed_message(host, port, rcpt="bob@example.org"):
    """Send one message with smtplib; (code, text, seconds from the end of DATA to the reply)."""
    with smtplib.SMTP(host, port, timeout=60) as c:
        c.ehlo("client.example.net")
        assert c.mail("alice@sender.example")[0] == 250
        assert c.rcpt(rcpt)[0] == 250
        code, _ = c.docmd("DATA")
        assert code == 354
        t = time.monotonic()
        c.send(message().encode() + b".\r\n")
        code, text = c.getreply()
        return code, text.decode(), time.monotonic() - t


def timed_greeting(host, port):
    t = time.monotonic()
    r = Raw(host, port, timeout=60)
    code, text = r.reply()
    return code, text, time.monotonic() - t


def refused(host, port, at_connect, rcpt="bob@example.org"):
    """The temporary failure a client meets: 421 4.3.0 as the greeting (policy), else 451
    4.3.0 as the reply to DATA (scanner, delivery). Returns the seconds it took."""
    if at_connect:
        code, text, took = timed_greeting(host, port)
        assert code == 421 and text.startswith("421 4.3.0 "), text
    else:
        code, text, took = timed_message(host, port, rcpt)
        assert code == 451 and text.startswith("4.3.0 "), text
    return took


@pytest.mark.parametrize("down", ["policy", "scanner", "delivery"])
def test_service_never_started_is_answered_at_once(services, down):
    fake = fakerpc.FakeRPC()
    e = start_edge(services, fake, **LONG, **{URL_KEY[down]: rpc_url()})  # nothing listens there
    took = refused(e.host, e.smtp, down == "policy")
    if down == "scanner":
        assert not fake.ops("deliver")  # fail closed: never delivered unscanned
    assert took < FAST, f"{down} down: answered after {took:.1f} s"
    assert "clement_edge_rpc_failures_total 1" in e.metrics()


@pytest.fixture
def long_stack(request, tmp_path):
    """The real stack (PostgreSQL, policy, scanner, delivery) with production deadlines."""
    yield from run_stack(request, tmp_path, **LONG)


@pytest.mark.parametrize("down", ["policy", "scanner", "delivery"])
def test_real_service_sigkilled_is_answered_at_once(long_stack, down):
    st = long_stack
    to = f"alice@{st.domain}"
    code, text, _ = timed_message(st.edge.host, st.edge.smtp, to)
    assert code == 250, text  # the stack works before the kill
    st.kill(down)
    took = refused(st.edge.host, st.edge.smtp, down == "policy", to)
    assert len(st.delivered("alice")) == 1  # only the message from before the kill
    assert took < FAST, f"{down} killed: answered after {took:.1f} s"


@pytest.mark.parametrize("down", ["scanner", "delivery"])
def test_service_gone_during_the_call_is_answered_at_once(services, down):
    """The service has the request and goes away without answering (its connections close,
    as when the process dies): the call in flight fails then, not at its deadline."""
    policy = fakerpc.FakeRPC()
    op = {"scanner": "scan", "delivery": "deliver"}[down]
    dying = fakerpc.FakeRPC(lambda h, b: None if h.get("op") == op else fakerpc.default_handler(h, b))
    e = start_edge(services, policy, **LONG, **{URL_KEY[down]: dying.url})
    r = e.session()
    assert r.cmd("MAIL FROM:<alice@sender.example>")[0] == 250
    assert r.cmd("RCPT TO:<bob@example.org>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(message() + ".\r\n")
    dying.wait_op(op)
    t = time.monotonic()
    dying.close()
    code, text = r.reply()
    took = time.monotonic() - t
    assert code == 451 and text.startswith("451 4.3.0 "), text
    assert took < FAST, f"{down} gone: answered after {took:.1f} s"
    assert not policy.ops("deliver")


@pytest.mark.parametrize("silent", ["connect", "scan", "deliver"])
def test_connected_but_silent_service_keeps_its_deadline(services, silent):
    fake = fakerpc.FakeRPC(lambda h, b: None if h.get("op") == silent else fakerpc.default_handler(h, b))
    e = start_edge(services, fake, CLEMENT_POLICY_TIMEOUT_MS=1500, CLEMENT_SCANNER_TIMEOUT_MS=1500,
                   CLEMENT_DELIVERY_TIMEOUT_MS=1500)
    took = refused(e.host, e.smtp, silent == "connect")
    assert took >= 1.4, f"answered after {took:.2f} s, before the 1.5 s deadline"


def test_service_that_comes_back_is_used_again(services):
    policy = fakerpc.FakeRPC()
    port = free_port()
    e = start_edge(services, policy, **LONG, CLEMENT_DELIVERY_URL=f"tcp://127.0.0.1:{port}")
    code, text, took = timed_message(e.host, e.smtp)
    assert code == 451 and took < FAST, text
    delivery = fakerpc.FakeRPC(port=port)
    deadline = time.monotonic() + 10
    while True:  # the edge redials within a second or so
        code, text, took = timed_message(e.host, e.smtp)
        if code == 250 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert code == 250, text
    assert delivery.ops("deliver")


@pytest.mark.parametrize("silent", ["deliver", "rcpt"])
def test_sigterm_ends_waiting_sessions_when_the_grace_ends(services, silent):
    """A session waits on a service that never answers (deadline 120 s); SIGTERM with a grace
    of 2 s: the client gets 421 4.3.2 when the grace ends and the process exits 0 right after.
    With policy silent, the session logs sent at close are never answered either."""
    grace = 2
    quiet = {silent} | ({"log_session", "log_message"} if silent == "rcpt" else set())
    fake = fakerpc.FakeRPC(lambda h, b: None if h.get("op") in quiet else fakerpc.default_handler(h, b))
    e = start_edge(services, fake, **LONG, CLEMENT_SHUTDOWN_GRACE_S=grace)
    r = e.session()
    assert r.cmd("MAIL FROM:<alice@sender.example>")[0] == 250
    if silent == "rcpt":
        r.send("RCPT TO:<bob@example.org>\r\n")
    else:
        assert r.cmd("RCPT TO:<bob@example.org>")[0] == 250
        assert r.cmd("DATA")[0] == 354
        r.send(message() + ".\r\n")
    fake.wait_op(silent)
    t = time.monotonic()
    e.svc.proc.send_signal(signal.SIGTERM)
    code, text = r.reply()
    told = time.monotonic() - t
    assert code == 421 and text.startswith("421 4.3.2 "), text
    assert grace - 0.3 <= told <= grace + 1.5, f"421 after {told:.1f} s with a grace of {grace} s"
    assert e.svc.proc.wait(timeout=30) == 0
    took = time.monotonic() - t
    assert took <= grace + 2.5, f"exited {took:.1f} s after SIGTERM with a grace of {grace} s"
