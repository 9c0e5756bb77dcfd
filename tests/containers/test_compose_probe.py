"""Recipient verification by RCPT probe in the compose stack: policy asks the relay group's
downstream, named by its compose service (`postfix`), whether a recipient Clement does not list
exists. Policy resolves that name through CLEMENT_DNS_RESOLVER like every mail-path name; in
compose that must be Docker's DNS (`system`), as for delivery: with full recursion the name
`postfix` does not exist and every such recipient got 451 4.4.3 (found by this test).

As an admin would: the demo's relay group (relay.test, downstream the `postfix` service, a
catch-all final destination) switched to verify_recipients = probe; a stranger sends to a
relay.test address no users row names; the probe's 250 lets it through and it lands in
Postfix's Maildir. The group's setting is put back afterwards.

Runs only against a stack started by scripts/compose-test (CLEMENT_COMPOSE, CLEMENT_TEST_EXTERNAL).
"""
import time
import uuid

import pytest

from compose_util import COMPOSE, EXTERNAL, compose, send

pytestmark = pytest.mark.skipif(not (COMPOSE and "smtp" in EXTERNAL and "db" in EXTERNAL),
                                reason="needs the stack of scripts/compose-test")
MAILBOX = "/var/mail/vhosts/relay.test/new"


def db():
    import psycopg2
    conn = psycopg2.connect(EXTERNAL["db"])
    conn.autocommit = True
    return conn


def test_a_recipient_only_the_downstream_knows_is_verified_by_probe_through_the_service_name():
    conn = db()
    with conn.cursor() as c:
        c.execute("SELECT g.id, g.verify_recipients, g.relay_host FROM groups g JOIN domains d ON d.group_id = g.id "
                  "WHERE d.name = 'relay.test'")
        row = c.fetchone()
    assert row and row[2] == "postfix", f"the demo's relay group is not there as seeded: {row}"
    gid, before = row[0], row[1]
    token = uuid.uuid4().hex
    rcpt = f"probed-{token[:8]}@relay.test"
    try:
        with conn.cursor() as c:
            c.execute("UPDATE groups SET verify_recipients = 'probe' WHERE id = %s", (gid,))
            c.execute("SELECT count(*) FROM users u JOIN domains d ON d.id = u.domain_id "
                      "WHERE d.name = 'relay.test' AND u.local_part = %s", (rcpt.split("@")[0],))
            assert c.fetchone()[0] == 0
        # send() retries 4xx for a while (policy's cache reload, the probe's first dial): a
        # probe that cannot reach `postfix` ends as that 4xx.
        code, text = send(token, deadline_s=60, rcpt=rcpt)
        assert code == 250, (code, text, compose("logs", "--no-color", "--tail=20", "policy").stdout)
        deadline, got = time.time() + 30, ""
        while token not in got and time.time() < deadline:
            got = compose("exec", "-T", "postfix", "sh", "-c", f"cat {MAILBOX}/* 2>/dev/null", check=False).stdout
            time.sleep(0.5)
        assert f"Subject: check {token}" in got, compose("logs", "--no-color", "--tail=30", "postfix").stdout
        assert f"Delivered-To: {rcpt}" in got, got[-2000:]
    finally:
        with conn.cursor() as c:
            c.execute("UPDATE groups SET verify_recipients = %s WHERE id = %s", (before, gid))
        conn.close()
