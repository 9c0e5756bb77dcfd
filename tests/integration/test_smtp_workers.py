"""smtp-edge with several event loops (issue 22, CLEMENT_EDGE_WORKERS): each worker is a thread
with its own SO_REUSEPORT listeners and sessions, the kernel spreads the connections over them,
and what an admin configures stays the process's: CLEMENT_MAX_SESSIONS and
CLEMENT_MAX_SESSIONS_PER_IP count the sessions of every worker, a client that passed the
pregreet test is remembered whichever worker it lands on, SIGTERM drains every worker and
SIGHUP's certificate reaches every worker."""
import hashlib
import re
import signal
import smtplib
import socket
import threading
import time

from conftest import wait_for
from harness import fakerpc
from harness.smtp import Raw, install_rename, local_only, make_pair, message, read_until_close, start_edge, starttls

pytestmark = local_only


def worker_sessions(e):
    """{worker: sessions open} from /metrics."""
    return {int(w): int(n) for w, n in
            re.findall(r'^clement_edge_worker_sessions_open\{worker="(\d+)"\} (\d+)$', e.metrics(), re.M)}


def threads(e):
    """The names of the edge process's threads."""
    import pathlib
    return [(t / "comm").read_text().strip() for t in pathlib.Path(f"/proc/{e.svc.proc.pid}/task").iterdir()]


def connect_from(e, src, port=None):
    """A connection to the edge from the loopback address src; its first line."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    s.bind((src, 0))
    s.connect((e.host, port or e.smtp))
    return s, s.recv(200)


def test_two_workers_serve_concurrent_sessions_spread_over_both(services):
    fake = fakerpc.FakeRPC()
    e = start_edge(services, fake, CLEMENT_EDGE_WORKERS=2, CLEMENT_MAX_SESSIONS_PER_IP=200)
    names = threads(e)
    assert names.count("edge-w0") == 1 and names.count("edge-w1") == 1, names
    assert "clement_edge_workers 2" in e.metrics()
    # 40 sessions open at once: every one greeted, spread over both workers
    held = [e.session() for _ in range(40)]
    per = worker_sessions(e)
    assert sum(per.values()) == 40 and set(per) == {0, 1} and min(per.values()) > 0, per
    assert "clement_edge_sessions_open 40" in e.metrics()
    # 48 clients sending a message each, in parallel with the held sessions
    results = []

    def send(i):
        try:
            with smtplib.SMTP(e.host, e.smtp, timeout=20) as c:
                c.sendmail("alice@sender.example", ["bob@example.org"], message(subject=f"m{i}"))
            results.append("ok")
        except Exception as x:  # noqa: BLE001 - reported below
            results.append(repr(x))

    ts = [threading.Thread(target=send, args=(i,)) for i in range(48)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert results == ["ok"] * 48, results
    assert len(fake.ops("deliver")) == 48
    for r in held:
        assert r.cmd("QUIT")[0] == 221
        r.close()
    assert wait_for(lambda: "clement_edge_sessions_open 0" in e.metrics(), timeout=10)
    assert worker_sessions(e) == {0: 0, 1: 0}
    assert "clement_edge_sessions_total 88" in e.metrics()


def test_per_address_limit_holds_across_workers(services):
    e = start_edge(services, fakerpc.FakeRPC(), CLEMENT_EDGE_WORKERS=2, CLEMENT_MAX_SESSIONS_PER_IP=5)
    socks, lines = [], []
    for _ in range(16):
        s, line = connect_from(e, "127.0.0.1")
        socks.append(s)
        lines.append(line)
    ok = [x for x in lines if x.startswith(b"220 ")]
    refused = [x for x in lines if x.startswith(b"421 4.7.0 Too many connections from your address")]
    assert len(ok) == 5 and len(refused) == 11, lines  # 5 for the process, not 5 per worker
    # another address is not affected
    others = [connect_from(e, "127.0.0.2") for _ in range(5)]
    assert all(line.startswith(b"220 ") for _, line in others)
    assert 'clement_edge_refused_total{reason="limit"} 11' in e.metrics()
    for s in socks + [s for s, _ in others]:
        s.close()
    # the count goes down when sessions end: the address may connect again
    assert wait_for(lambda: "clement_edge_sessions_open 0" in e.metrics(), timeout=10)
    again = [connect_from(e, "127.0.0.1") for _ in range(5)]
    assert all(line.startswith(b"220 ") for _, line in again)
    for s, _ in again:
        s.close()


def test_global_session_limit_holds_across_workers(services):
    e = start_edge(services, fakerpc.FakeRPC(), CLEMENT_EDGE_WORKERS=2, CLEMENT_MAX_SESSIONS=6)
    conns = [connect_from(e, f"127.0.0.{2 + i}") for i in range(14)]
    ok = [line for _, line in conns if line.startswith(b"220 ")]
    refused = [line for _, line in conns if line.startswith(b"421 4.7.0 Too many connections, try again later")]
    assert len(ok) == 6 and len(refused) == 8, [line for _, line in conns]
    per = worker_sessions(e)
    assert sum(per.values()) == 6, per
    assert 'clement_edge_refused_total{reason="limit"} 8' in e.metrics()
    for s, _ in conns:
        s.close()


def test_pregreet_pass_is_remembered_by_every_worker(services):
    e = start_edge(services, fakerpc.FakeRPC(), CLEMENT_EDGE_WORKERS=2, CLEMENT_PREGREET_WAIT=800)
    # an impatient client is refused, whichever worker it met
    impatient = socket.create_connection((e.host, e.smtp), timeout=5)
    assert impatient.recv(200).startswith(b"220-")
    impatient.sendall(b"EHLO eager.example\r\n")
    assert b"554 5.5.0" in read_until_close(impatient, 200)
    t = time.time()
    r = Raw(e.host, e.smtp)
    code, text = r.reply()
    assert code == 220 and text.startswith("220-") and time.time() - t >= 0.7
    assert r.cmd("EHLO patient.example")[0] == 250
    r.cmd("QUIT")
    r.close()
    # now every connection from the address is greeted at once, on both workers
    held = []
    for _ in range(16):
        t = time.time()
        r = Raw(e.host, e.smtp)
        code, text = r.reply()
        assert code == 220 and text.startswith("220 ") and time.time() - t < 0.7, text
        held.append(r)
    per = worker_sessions(e)
    assert set(per) == {0, 1} and min(per.values()) > 0, per
    for r in held:
        r.close()


def test_sigterm_drains_every_worker(services):
    fake = fakerpc.FakeRPC(lambda h, body: ("sleep", 1.0, fakerpc.accept(250, "2.0.0", "Ok: delivered"))
                           if h.get("op") == "deliver" else fakerpc.default_handler(h, body))
    e = start_edge(services, fake, CLEMENT_EDGE_WORKERS=2)
    idle = [e.session() for _ in range(8)]
    busy = []
    for _ in range(8):
        r = e.session()
        assert r.cmd("MAIL FROM:<a@x.example>")[0] == 250
        assert r.cmd("RCPT TO:<bob@example.org>")[0] == 250
        assert r.cmd("DATA")[0] == 354
        r.send("Subject: t\r\n\r\nx\r\n.\r\n")
        busy.append(r)
    fake.wait_op("deliver", n=8)
    per = worker_sessions(e)
    assert set(per) == {0, 1} and min(per.values()) > 0, per
    e.svc.proc.send_signal(signal.SIGTERM)
    for r in idle:
        code, text = r.reply()
        assert code == 421 and "4.3.2" in text, text
    for _ in range(10):  # no worker accepts any more (all listeners closed before the first 421)
        try:
            s = socket.create_connection((e.host, e.smtp), timeout=5)
        except ConnectionRefusedError:
            continue
        raise AssertionError(f"a connection was accepted while draining: {s.recv(200)!r}")
    for r in busy:
        code, text = r.reply()
        assert code == 250, text  # every message in flight, on either worker, gets its answer
    assert e.svc.proc.wait(timeout=10) == 0
    log = e.svc.log()
    assert "event=draining worker=0" in log and "event=draining worker=1" in log


def test_sighup_reload_reaches_every_worker(services, tmp_path):
    (ca, ka, fa), (cb, kb, fb) = make_pair(tmp_path / "a"), make_pair(tmp_path / "b")
    live = tmp_path / "live"
    live.mkdir()
    install_rename(live, ca, ka)
    e = start_edge(services, fakerpc.FakeRPC(), CLEMENT_EDGE_WORKERS=2, CLEMENT_TLS_CERT=str(live / "cert.pem"),
                   CLEMENT_TLS_KEY=str(live / "key.pem"), CLEMENT_TLS_RELOAD_S=0, CLEMENT_MAX_SESSIONS_PER_IP=50)
    before = [starttls(e) for _ in range(8)]
    assert all(fp == fa for _, fp in before)
    install_rename(live, cb, kb)
    e.svc.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "why=sighup" in e.svc.log(), timeout=10)
    after = [starttls(e) for _ in range(16)]
    per = worker_sessions(e)
    assert set(per) == {0, 1} and min(per.values()) > 0, per
    assert [fp for _, fp in after] == [fb] * 16  # on either worker, the new certificate
    for r, _ in before:  # the sessions from before keep theirs and go on
        assert hashlib.sha256(r.sock.getpeercert(binary_form=True)).hexdigest() == fa
        assert r.cmd("NOOP")[0] == 250
    assert 'clement_edge_tls_reloads_total{result="ok"} 1' in e.metrics()  # one reload, for all
    for r, _ in before + after:
        r.close()
