"""The compose stack's scanner asks the stack's Rspamd (issue 18): a GTUBE message is refused
in-session with 550 5.7.1 and Rspamd's reason, nothing of it is stored, and the message log says
why; an ordinary message to the same mailbox is still delivered through the same Rspamd.

Runs only against a stack started by scripts/compose-test (CLEMENT_COMPOSE, CLEMENT_TEST_EXTERNAL),
whose rspamd and redis services are built from deploy/docker/{rspamd,redis}.Dockerfile.
"""
import time
import uuid

import pytest

from compose_util import COMPOSE, EXTERNAL, RCPT, ensure_recipient, send, stored

psycopg2 = pytest.importorskip("psycopg2")
pytestmark = pytest.mark.skipif(not (COMPOSE and "smtp" in EXTERNAL and "db" in EXTERNAL),
                                reason="needs the stack of scripts/compose-test")
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def gtube(token):
    return (f"From: <sender@example.net>\r\nTo: <{RCPT}>\r\nSubject: gtube {token}\r\n"
            f"Message-ID: <{token}@example.net>\r\n\r\n{GTUBE}\r\n{token}\r\n")


def test_gtube_is_refused_by_the_stacks_rspamd_and_ham_still_delivered():
    ensure_recipient()
    token = uuid.uuid4().hex
    code, text = send(token, msg=gtube(token))
    text = text.decode(errors="replace") if isinstance(text, bytes) else text
    assert code == 550, text
    assert text.startswith("5.7.1") and "Gtube pattern" in text, text
    assert stored(token) == []
    conn = psycopg2.connect(EXTERNAL["db"])
    conn.autocommit = True
    deadline, rows = time.time() + 20, []
    while not rows and time.time() < deadline:   # policy writes the message log in batches
        with conn.cursor() as c:
            c.execute("SELECT status, reason_class, code, reason FROM message_log WHERE subject LIKE %s",
                      (f"%{token}%",))
            rows = c.fetchall()
        time.sleep(0.5)
    conn.close()
    assert rows and rows[0][:3] == ("rejected", "spam", 550), rows
    assert "Gtube pattern" in rows[0][3]
    ham = uuid.uuid4().hex
    code, text = send(ham)
    assert code == 250, text
    deadline = time.time() + 20
    while not stored(ham) and time.time() < deadline:
        time.sleep(0.5)
    assert stored(ham)
