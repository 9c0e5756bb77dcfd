"""A local-mode group's outbound smart host is a real MTA (issue 20): an authenticated user's
submission to a domain Clement does not serve goes to the group's downstream server
(groups.relay_host/port/tls/auth of a local-mode group; CLEMENT_SMARTHOST when it has none),
here each peer, which delivers it; message_log says 'sent' only after the peer's 250."""
import smtplib
import time

from conftest import wait_for
from harness.e2e import PASSWORD
from harness.smtp import client_tls
from peers import sender  # noqa: F401 (fixtures: sender)


def test_submission_relayed_by_group_smarthost(sender):  # noqa: F811
    st, peer = sender
    st.db.execute("UPDATE groups SET relay_host = '127.0.0.1', relay_port = %s, relay_tls = 'opportunistic'"
                  " WHERE id = (SELECT group_id FROM domains WHERE name = %s)", (peer.port, st.domain))
    time.sleep(1.5)  # policy's cache follows by LISTEN/NOTIFY
    to = f"bob@{peer.domain}"
    msg = (f"From: Alice <alice@{st.domain}>\r\nTo: <{to}>\r\nSubject: via the group's smart host\r\n"
           f"Message-ID: <{time.time_ns()}@{st.domain}>\r\nDate: Fri, 04 Dec 2026 12:00:00 +0000\r\n\r\n"
           "Sent by a Clement user.\r\n")
    with smtplib.SMTP(st.edge.host, st.edge.submission, timeout=60) as c:
        c.starttls(context=client_tls())
        c.login(f"alice@{st.domain}", PASSWORD)
        c.sendmail(f"alice@{st.domain}", [to], msg.encode())
    got = peer.wait_delivered("bob")
    assert len(got) == 1 and b"Subject: via the group's smart host" in got[0], peer.logs()
    assert wait_for(lambda: any(r["status"] == "sent" for r in st.message_log(rcpt=to)), timeout=15), \
        st.message_log(rcpt=to)
