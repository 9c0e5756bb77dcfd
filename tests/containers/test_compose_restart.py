"""A message survives `docker compose restart delivery`, and mail flows again after it; a
service whose process dies is started again by its restart policy (`restart: unless-stopped`).

Runs only against a stack started by scripts/compose-test, which exports CLEMENT_COMPOSE (the
compose command line of that stack) and CLEMENT_TEST_EXTERNAL (published SMTP port and the
PostgreSQL URL). What a user sees: mail accepted with 250 before the restart is still in the
recipient's Maildir (a named volume) after it, and the next message is accepted and stored too.
"""
import os
import signal
import subprocess
import time
import uuid

import pytest

from compose_util import COMPOSE, EXTERNAL, compose, ensure_recipient, send, stored

psycopg2 = pytest.importorskip("psycopg2")

pytestmark = pytest.mark.skipif(not (COMPOSE and "smtp" in EXTERNAL and "db" in EXTERNAL),
                                reason="needs the stack of scripts/compose-test")


def wait_healthy(service, timeout=90):
    cid = compose("ps", "-q", service).stdout.strip()
    deadline = time.time() + timeout
    status = ""
    while time.time() < deadline:
        status = subprocess.run(["docker", "inspect", "-f", "{{.State.Health.Status}}", cid],
                                capture_output=True, text=True).stdout.strip()
        if status == "healthy":
            return
        time.sleep(1)
    pytest.fail(f"{service} not healthy after restart: {status}")


def test_message_survives_delivery_restart():
    ensure_recipient()
    before = f"before-{uuid.uuid4().hex}"
    code, text = send(before)
    assert code == 250, f"message before the restart refused: {code} {text}"
    assert stored(before), "accepted with 250 but not in the Maildir volume"

    compose("restart", "delivery")
    wait_healthy("delivery")
    assert stored(before), "message accepted before `restart delivery` is gone after it"

    after = f"after-{uuid.uuid4().hex}"
    code, text = send(after)
    assert code == 250, f"message after the restart refused: {code} {text}"
    assert stored(after)
    assert stored(before)


def inspect(cid, fmt):
    return subprocess.run(["docker", "inspect", "-f", fmt, cid], capture_output=True, text=True).stdout.strip()


def test_a_crashed_service_is_started_again_by_its_restart_policy():
    """Each service's process killed with SIGKILL, as a crash looks from outside: its init (and
    so its container) exits, Docker starts the container again, it turns healthy, mail flows."""
    ensure_recipient()
    before = {}
    for service in ("policy", "scanner", "delivery", "banstats", "admin-api", "smtp-edge"):
        cid = compose("ps", "-q", service).stdout.strip()
        top = subprocess.run(["docker", "top", cid, "-eo", "pid,comm"], check=True, capture_output=True,
                             text=True).stdout.splitlines()[1:]
        pids = [int(line.split()[0]) for line in top if line.split()[1].startswith("clement-")]
        assert len(pids) == 1, f"{service}: {top}"
        before[service] = (cid, int(inspect(cid, "{{.RestartCount}}")))
        os.kill(pids[0], signal.SIGKILL)
    for service, (cid, count) in before.items():
        deadline = time.time() + 60
        while int(inspect(cid, "{{.RestartCount}}") or 0) <= count:
            assert time.time() < deadline, f"{service} was not started again: {inspect(cid, '{{json .State}}')}"
            time.sleep(0.5)
        wait_healthy(service)
    token = f"crash-{uuid.uuid4().hex}"
    code, text = send(token)
    assert code == 250, f"message after the crashes refused: {code} {text}"
    assert stored(token)
