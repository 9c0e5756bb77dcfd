"""The submission world: a local-mode domain with users, smtp-edge's submission port, policy,
delivery relaying outbound mail to smtp-sink, and the admin API (the alias and DKIM tests)."""
import smtplib

import pytest

from conftest import rpc_url
from harness.api import PASSWORD, Api, pw_hash, start_api
from harness.delivery import SmtpSink
from harness.fakerpc import fake  # noqa: F401 (fixtures: fake)
from harness.smtp import client_tls, start_edge


DOM = "send.test"


@pytest.fixture
def world(db, services, fake, tmp_path):  # noqa: F811
    gid = db.scalar("INSERT INTO groups (name, mode) VALUES ('g', 'local') RETURNING id")
    did = db.scalar("INSERT INTO domains (name, group_id) VALUES (%s, %s) RETURNING id", (DOM, gid))
    ids = {"domain": did}
    for name, role in [("alice", "user"), ("bob", "user"), ("dadmin", "domain-admin"), ("boss", "root-admin")]:
        ids[name] = db.scalar("INSERT INTO users (domain_id, local_part, role, password_hash) "
                              "VALUES (%s, %s, %s, %s) RETURNING id", (did, name, role, pw_hash()))
    db.execute("INSERT INTO admin_scopes (user_id, domain_id) VALUES (%s, %s)", (ids["dadmin"], did))
    sink = SmtpSink(tmp_path)
    policy, delivery = rpc_url(), rpc_url()
    services.start("policy", {"CLEMENT_POLICY_LISTEN": policy, "CLEMENT_DB_URL": db.url,
                              "CLEMENT_POLICY_ALLOW_LOOPBACK": "1", "CLEMENT_POLICY_LOG_FLUSH_MS": "200",
                              "CLEMENT_POLICY_CACHE_DEBOUNCE_MS": "10"})
    services.start("delivery", {"CLEMENT_DELIVERY_LISTEN": delivery, "CLEMENT_DB_URL": db.url,
                                "CLEMENT_MAILDIR_ROOT": str(tmp_path / "maildir"),
                                "CLEMENT_SMARTHOST": f"127.0.0.1:{sink.port}"})
    edge = start_edge(services, fake, CLEMENT_POLICY_URL=policy, CLEMENT_DELIVERY_URL=delivery,
                      CLEMENT_POLICY_TIMEOUT_MS=5000, CLEMENT_DELIVERY_TIMEOUT_MS=10000)
    api = start_api(services, db, tmp_path)
    yield ids, edge, api, sink
    sink.stop()


def send(edge, sender, rcpt="friend@elsewhere.example", user=f"alice@{DOM}"):
    """(code, text) of MAIL FROM (then the whole transaction when it is accepted)."""
    with smtplib.SMTP(edge.host, edge.submission, timeout=30) as c:
        c.starttls(context=client_tls())
        c.login(user, PASSWORD)
        code, text = c.mail(sender)
        if code == 250:
            assert c.rcpt(rcpt)[0] == 250
            code, text = c.data(f"From: <{sender or user}>\r\nTo: <{rcpt}>\r\nSubject: as {sender}\r\n\r\nhi\r\n")
            assert code == 250, text
            return 250, text.decode()
        return code, text.decode()


def logged_in(api, who):
    a = Api(api.port)
    assert a.login(f"{who}@{DOM}")[0] == 200
    return a
