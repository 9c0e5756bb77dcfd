"""Issue 17, "one DNS layer": the mail-path names Clement connects to are resolved by lib/dns
(CLEMENT_DNS_RESOLVER), never by the C library. A user's view, through the real services
(smtp-edge -> policy -> scanner -> delivery) over SMTP: a relay-mode group whose downstream is
a NAME that only the test's DNS server knows (*.test is no name the host's resolver can
answer) gets its mail into a real smtp-sink; a downstream name that does not resolve is
451 4.4.3 at DATA, never 5xx, and nothing is delivered; the recipient probe of a 'probe'
group resolves its downstream the same way, and so does delivery for CLEMENT_SMARTHOST (over
its RPC). lib/dns/host_test's live part (eight threads at once, NXDOMAIN, the TTL clamp) runs
against the same server."""
import smtplib
import subprocess
import time

import pytest

from conftest import BUILD, ROOT, free_port, rpc_url, wait_for
from harness.delivery import (SmtpSink, deliver_req, make_domain, make_group, make_user, route, rpc,
                              start_delivery)
from harness.dns import DnsServer
from harness.smtp import cert_paths

NAMES = {"downstream.test": [("A", "127.0.0.1")], "smarthost.test": [("A", "127.0.0.1")], "host.test": [("A", "127.0.0.7")],
         "short-ttl.test": [("A", "127.0.0.8", 1)]}


@pytest.fixture
def dns():
    srv = DnsServer(NAMES).start()
    yield srv
    srv.stop()


@pytest.fixture
def sink(tmp_path):
    s = SmtpSink(tmp_path)
    yield s
    s.stop()


def seed_group(db, name, host, port, verify="list"):
    """A relay-mode group <name> with its domain <name>.test, downstream host:port (no TLS),
    and bob listed (verify 'list') or verified by probe."""
    g = db.scalar("INSERT INTO groups (name, mode, relay_host, relay_port, relay_tls, verify_recipients)"
                  " VALUES (%s, 'relay', %s, %s, 'none', %s) RETURNING id", (name, host, port, verify))
    d = db.scalar("INSERT INTO domains (name, group_id) VALUES (%s, %s) RETURNING id", (f"{name}.test", g))
    if verify == "list":
        db.execute("INSERT INTO users (domain_id, local_part) VALUES (%s, 'bob')", (d,))
    return f"bob@{name}.test"


@pytest.fixture
def stack(db, services, tmp_path, dns):
    """policy, scanner, delivery and smtp-edge, every one with CLEMENT_DNS_RESOLVER = the test's
    server; returns the edge's SMTP port."""
    resolver = {"CLEMENT_DNS_RESOLVER": dns.spec}
    policy, scanner, delivery = rpc_url(), rpc_url(), rpc_url()
    services.start("policy", {"CLEMENT_POLICY_LISTEN": policy, "CLEMENT_DB_URL": db.url,
                              "CLEMENT_POLICY_WORKERS": "2", "CLEMENT_POLICY_ALLOW_LOOPBACK": "1",
                              "CLEMENT_POLICY_PROBE_TIMEOUT_MS": "3000", **resolver})
    sigs = tmp_path / "clamav"
    subprocess.run([str(ROOT / "scripts/make-test-sigs"), str(sigs)], check=True)
    services.start("scanner", {"CLEMENT_SCANNER_LISTEN": scanner, "CLEMENT_CLAMAV_DB": str(sigs),
                               "CLEMENT_SCANNER_WORKERS": "1"}, wait=True)
    services.start("delivery", {"CLEMENT_DELIVERY_LISTEN": delivery, "CLEMENT_DB_URL": db.url,
                                "CLEMENT_MAILDIR_ROOT": str(tmp_path / "maildir"), "CLEMENT_DELIVERY_HELO": "clement.test",
                                "CLEMENT_RELAY_CONNECT_TIMEOUT_MS": "2000", "CLEMENT_RELAY_TIMEOUT_MS": "5000",
                                **resolver})
    cert, key = cert_paths()
    port = free_port()
    services.start("smtp-edge", {
        "CLEMENT_SMTP_LISTEN": f"127.0.0.1:{port}", "CLEMENT_SMTPS_LISTEN": "", "CLEMENT_SUBMISSION_LISTEN": "",
        "CLEMENT_TLS_CERT": cert, "CLEMENT_TLS_KEY": key, "CLEMENT_HOSTNAME": "mx.clement.test",
        "CLEMENT_POLICY_URL": policy, "CLEMENT_SCANNER_URL": scanner, "CLEMENT_DELIVERY_URL": delivery,
        "CLEMENT_PREGREET_WAIT": "0", "CLEMENT_SHUTDOWN_GRACE_S": "2", **resolver})
    return port


def send(port, rcpt, subject):
    """One message over SMTP; returns (code, text) of the step that ended it (250 at DATA when
    delivered). policy's cache follows the seeded rows by NOTIFY: a domain it does not know yet is
    retried, as a sending MTA retries the 450 4.1.2 policy answers while the reload is under way."""
    msg = (f"From: <alice@sender.example>\r\nTo: <{rcpt}>\r\nSubject: {subject}\r\n"
           f"Message-ID: <{time.time_ns()}@sender.example>\r\n\r\nHello through a name.\r\n")
    deadline = time.time() + 10
    while True:
        with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
            s.ehlo("client.example")
            s.mail("alice@sender.example")
            code, text = s.rcpt(rcpt)
            if code != 250:
                not_yet = (code == 450 and b"domain list is being updated" in text) or \
                    (code >= 550 and b"relay access denied" in text.lower())  # notification not read yet
                if not_yet and time.time() < deadline:
                    time.sleep(0.3)  # the cache has not seen the domain yet
                    continue
                return code, text.decode()
            code, text = s.data(msg.encode())
            return code, text.decode()


def test_a_downstream_known_only_to_clements_resolver_gets_the_mail(db, stack, dns, sink):
    rcpt = seed_group(db, "byname", "downstream.test", sink.port)
    code, text = send(stack, rcpt, "delivered by name")
    assert code == 250, text
    dumps = sink.dumps()
    assert len(dumps) == 1 and b"Subject: delivered by name" in dumps[0].read_bytes()
    assert ("downstream.test", "A") in dns.asked      # delivery asked lib/dns's server, not the host's


def test_a_downstream_name_that_does_not_resolve_is_451_4_4_3_and_nothing_is_delivered(db, stack, dns, sink,
                                                                                       services):
    rcpt = seed_group(db, "noname", "missing.test", sink.port)
    code, text = send(stack, rcpt, "never delivered")
    assert code == 451 and text.startswith("4.4.3"), (code, text)
    assert sink.dumps() == []
    assert ("missing.test", "A") in dns.asked
    delivery = next(s for s in services.started if s.name == "delivery")
    assert wait_for(lambda: 'clement_delivery_downstream_errors_total{kind="dns"} 1' in delivery.metrics())


def test_the_recipient_probe_resolves_its_downstream_through_clements_resolver(db, stack, dns, sink):
    ok = seed_group(db, "probed", "downstream.test", sink.port, verify="probe")
    code, text = send(stack, ok, "probed by name")
    assert code == 250, text
    assert len(sink.dumps()) == 1
    gone = seed_group(db, "probednx", "missing.test", sink.port, verify="probe")
    code, text = send(stack, gone, "probe cannot resolve")
    assert code == 451 and text.startswith("4.4.3"), (code, text)


def test_the_smarthost_is_a_name_resolved_by_clements_resolver(db, services, tmp_path, dns, sink):
    """CLEMENT_SMARTHOST=name:port (a user's outbound mail, its group without a downstream):
    the name goes through lib/dns as a group's downstream does."""
    g = make_group(db, "outbound-g")
    d = make_domain(db, "example.org", g)
    bob = make_user(db, "bob", d)
    _, port = start_delivery(services, db, tmp_path / "mail", CLEMENT_SMARTHOST=f"smarthost.test:{sink.port}",
                             CLEMENT_DNS_RESOLVER=dns.spec)
    msg = b"From: bob@example.org\r\nTo: friend@far.example\r\nSubject: out by name\r\n\r\nHi.\r\n"
    r = rpc(port, deliver_req([("friend@far.example", route("outbound", g, d, bob))], sender="bob@example.org",
                              auth_user="bob@example.org", msgid="O1"), msg)
    assert (r["action"], r["code"]) == ("accept", 250), r
    assert len(sink.dumps()) == 1 and b"Subject: out by name" in sink.dumps()[0].read_bytes()
    assert ("smarthost.test", "A") in dns.asked


def test_host_unit_against_the_real_server(dns):
    """lib/dns/host_test's live part: host.test from eight threads at once, an NXDOMAIN twice,
    a 1 s TTL asked again after 2 s: each is asked once, the TTL kept at least 60 s."""
    out = subprocess.run([str(BUILD / "tests/lib/dns/host_test")], env={"CLEMENT_TEST_DNS": dns.spec},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 failed" in out.stdout and ("host.test", "A") in dns.asked
    # 8 threads x 20 lookups and a repeated NXDOMAIN: libunbound's cache answers all but the first
    assert dns.asked.count(("host.test", "A")) == 1, dns.asked
    assert dns.asked.count(("no-such-host.nxdomain.test", "A")) == 1, dns.asked
    assert dns.asked.count(("short-ttl.test", "A")) == 1, dns.asked
