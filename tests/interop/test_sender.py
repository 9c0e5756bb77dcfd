"""Real MTAs as Clement's senders (issue 20): each peer's own SMTP client relays through
Clement's edge (its smart host), with STARTTLS, to a local-mode domain (Clement's Maildirs)
and to a relay-mode domain (downstream: Postfix's smtp-sink). The mail enters the peer by
SMTP from its local user bob, as a user's client would submit it."""
import smtplib
import time

from conftest import wait_for
from harness.delivery import SmtpSink
from peers import sender  # noqa: F401 (fixtures: sender)

def submit(peer, rcpt, subject):
    """bob@<peer's domain> hands a message to his MTA (which accepts it: it relays for loopback)."""
    msg = (f"From: Bob <bob@{peer.domain}>\r\nTo: <{rcpt}>\r\nSubject: {subject}\r\n"
           f"Message-ID: <{time.time_ns()}@{peer.domain}>\r\nDate: Fri, 04 Dec 2026 12:00:00 +0000\r\n\r\n"
           "Hello from a real MTA.\r\n")
    with smtplib.SMTP("127.0.0.1", peer.port, timeout=60) as c:
        c.sendmail(f"bob@{peer.domain}", [rcpt], msg.encode())


def test_to_local_domain_over_starttls(sender):
    st, peer = sender
    submit(peer, f"alice@{st.domain}", "peer to local")
    assert wait_for(lambda: st.delivered("alice"), timeout=60), peer.logs()
    data = st.delivered("alice")[0].read_bytes()
    assert b"Subject: peer to local" in data and f"Return-Path: <bob@{peer.domain}>".encode() in data
    assert b"(using TLSv1." in data, (data[:600], peer.logs())  # the edge's Received: says the peer used STARTTLS
    assert wait_for(lambda: peer.queue() == 0, timeout=30), peer.exec("mailq").stdout


def test_to_relay_domain_over_starttls(sender, tmp_path):
    st, peer = sender
    sink = SmtpSink(tmp_path)
    try:
        st.db.execute("UPDATE groups SET relay_port = %s WHERE id = %s", (sink.port, st.group_id))
        submit(peer, f"carol@{st.relay_domain}", "peer to relay")
        assert wait_for(lambda: sink.dumps(), timeout=60), peer.logs()
        data = sink.dumps()[0].read_bytes()
        assert b"Subject: peer to relay" in data and b"(using TLSv1." in data
        assert wait_for(lambda: peer.queue() == 0, timeout=30), peer.exec("mailq").stdout
    finally:
        sink.proc.kill()


def test_refused_recipient_bounces_at_the_sender(sender):
    """Clement refuses ghost at RCPT, in the peer's session: the bounce is the peer's own
    (from its MAILER-DAEMON to bob), never a message from Clement."""
    st, peer = sender
    submit(peer, f"ghost@{st.domain}", "to nobody")
    assert wait_for(lambda: peer.delivered("bob"), timeout=60), peer.logs()
    bounce = peer.delivered("bob")[0]
    assert b"ghost@" + st.domain.encode() in bounce and b"550" in bounce, bounce[:2000]
    head = bounce.split(b"\n\n", 1)[0].lower()
    frm = [l for l in head.splitlines() if l.startswith(b"from: ")]
    assert frm and b"mailer-daemon" in frm[0] and st.domain.encode() not in frm[0], head
    assert wait_for(lambda: peer.queue() == 0, timeout=30), peer.exec("mailq").stdout


def test_tempfail_stays_queued_then_delivered(sender, tmp_path):
    """The relay-mode downstream is down: Clement answers 451, the message stays in the peer's
    queue; once the downstream is up, the peer's retry delivers it."""
    st, peer = sender
    submit(peer, f"carol@{st.relay_domain}", "retry me")
    assert wait_for(lambda: peer.queue() == 1, timeout=60), peer.logs()
    rows = st.message_log(rcpt=f"carol@{st.relay_domain}", timeout=30)
    assert rows and all(r["status"] != "relayed" for r in rows), rows
    time.sleep(2)
    assert peer.queue() == 1 and peer.delivered("bob") == []      # still queued, no bounce
    sink = SmtpSink(tmp_path)
    try:
        st.db.execute("UPDATE groups SET relay_port = %s WHERE id = %s", (sink.port, st.group_id))
        peer.flush()
        assert wait_for(lambda: sink.dumps(), timeout=60), peer.logs()
        assert b"Subject: retry me" in sink.dumps()[0].read_bytes()
        assert wait_for(lambda: peer.queue() == 0, timeout=30), peer.exec("mailq").stdout
    finally:
        sink.proc.kill()
