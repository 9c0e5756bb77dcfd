"""The stack scaled out: two replicas of smtp-edge, policy, scanner, delivery and banstats,
Debian's HAProxy in front of the edges speaking PROXY v2 (`make scale-test`, which runs
scripts/compose-test --scale; tests/containers/compose-scale describes the stack).

What a user and an operator would see:
- policy's session log and the edges' log lines carry the client's own address, not HAProxy's;
- mail accepted through either edge lands in the shared Maildir volume exactly once;
- a quarantine digest due once is sent once, although two delivery replicas poll for it;
- banstats' statistics run once per interval in total, although two replicas run;
- with one replica of each service killed while mail flows, every message answered 250 is
  in the Maildir (clients retry what got 4xx or a dropped connection, as MTAs do).
"""
import collections
import datetime
import os
import re
import shlex
import subprocess
import threading
import time
import uuid

import pytest

from compose_util import message, send as send_retrying

psycopg2 = pytest.importorskip("psycopg2")

EXTERNAL = dict(kv.split("=", 1) for kv in os.environ.get("CLEMENT_TEST_EXTERNAL", "").split(",") if "=" in kv)
COMPOSE = shlex.split(os.environ.get("CLEMENT_COMPOSE", ""))
pytestmark = pytest.mark.skipif(os.environ.get("CLEMENT_SCALE") != "1",
                                reason="needs the scaled-out stack of `make scale-test`")
MAILDIR = "/var/lib/clement/maildir"
DOMAIN = "scale.test"
CLIENT_IP = os.environ.get("CLEMENT_SCALE_CLIENT_IP", "")
LB_IP = os.environ.get("CLEMENT_SCALE_LB_IP", "")
TAG = os.environ.get("CLEMENT_TAG", "latest")


def compose(*args, check=True, timeout=180):
    return subprocess.run(COMPOSE + list(args), check=check, capture_output=True, text=True, timeout=timeout)


def ids(service):
    """Container ids of the running replicas of service."""
    out = compose("ps", "-q", service).stdout.split()
    return [i for i in out if subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", i],
                                             capture_output=True, text=True).stdout.strip() == "true"]


def logs(cid):
    r = subprocess.run(["docker", "logs", cid], capture_output=True, text=True, timeout=60)
    return r.stdout + r.stderr


def db():
    conn = psycopg2.connect(EXTERNAL["db"])
    conn.autocommit = True
    return conn


def sql(query, params=()):
    conn = db()
    try:
        with conn.cursor() as c:
            c.execute(query, params)
            return c.fetchall() if c.description else None
    finally:
        conn.close()


def ensure_user(local):
    sql("INSERT INTO groups (name, mode) VALUES ('scale', 'local') ON CONFLICT (name) DO NOTHING")
    sql("INSERT INTO domains (name, group_id) SELECT %s, id FROM groups WHERE name = 'scale'"
        " ON CONFLICT (name) DO NOTHING", (DOMAIN,))
    sql("INSERT INTO users (domain_id, local_part) SELECT id, %s FROM domains WHERE name = %s"
        " ON CONFLICT (domain_id, local_part) DO NOTHING", (local, DOMAIN))
    return sql("SELECT u.id, u.domain_id FROM users u JOIN domains d ON d.id = u.domain_id"
               " WHERE d.name = %s AND u.local_part = %s", (DOMAIN, local))[0]


def known(local):
    """ensure_user, then wait until both policy replicas know the new mailbox (their caches
    refresh on NOTIFY): a probe message through each edge is accepted."""
    ensure_user(local)
    rcpt = f"{local}@{DOMAIN}"
    deadline = time.time() + 60
    ok = 0
    while time.time() < deadline and ok < 4:
        code, _ = send(f"probe-{uuid.uuid4().hex}", rcpt, deadline_s=30)
        ok = ok + 1 if code == 250 else 0
        if code != 250:
            time.sleep(0.5)
    assert ok >= 4, f"{rcpt} is still refused: the policy replicas did not pick the new mailbox up"
    return rcpt


def stored(user):
    """How many files of user's Maildir (the volume the delivery replicas share, read through one
    of them) hold each Message-ID: {token: count}."""
    cid = ids("delivery")[0]
    r = subprocess.run(["docker", "exec", cid, "grep", "-rhoE", "^Message-ID: <[^@>]+@", f"{MAILDIR}/{DOMAIN}/{user}"],
                       capture_output=True, text=True, timeout=60)
    return collections.Counter(line[len("Message-ID: <"):-1] for line in r.stdout.splitlines())


def send(token, rcpt, deadline_s=90):
    """One message through HAProxy, retried as an MTA would (test_compose_restart.send)."""
    return send_retrying(token, deadline_s=deadline_s, rcpt=rcpt, pause=0.5)


def curl_send(token, rcpt):
    """Shell lines that send one message with curl's SMTP client (HELO name client.example.net)."""
    lines = " ".join(shlex.quote(x) for x in message(token, rcpt).split("\r\n")[:-1])
    return (f"printf '%s\\r\\n' {lines} > /tmp/m\n"
            f"curl -sS --fail smtp://haproxy:2525/client.example.net --mail-from sender@example.net"
            f" --mail-rcpt {rcpt} -T /tmp/m\n")


def network():
    cid = ids("haproxy")[0]
    return subprocess.run(["docker", "inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}",
                           cid], capture_output=True, text=True, check=True).stdout.strip()


def test_client_address_reaches_policy_and_logs_and_each_message_lands_once():
    """An SMTP client at a known address (its own container) sends through HAProxy: the sessions
    are spread over both edges, policy logs the client's address, and each message is stored once."""
    assert len(ids("smtp-edge")) == 2 and len(ids("policy")) == 2
    rcpt = known("spread")
    tokens = [f"spread-{uuid.uuid4().hex}" for _ in range(6)]
    script = "set -e\n" + "".join(curl_send(t, rcpt) for t in tokens)
    r = subprocess.run(["docker", "run", "--rm", "--network", network(), "--ip", CLIENT_IP, "--entrypoint", "sh",
                        f"clement/haproxy:{TAG}", "-c", script], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    files = stored("spread")
    assert [files[t] for t in tokens] == [1] * len(tokens), "not each message stored exactly once"
    # Policy saw the client, not the load balancer (smtp_sessions is written by policy).
    ips = {row[0] for row in sql("SELECT DISTINCT host(client_ip) FROM smtp_sessions WHERE helo = 'client.example.net'"
                                 " AND started_at > now() - interval '10 minutes'")}
    assert CLIENT_IP in ips and LB_IP not in ips, ips
    got = sql("SELECT count(*) FROM message_log WHERE rcpt = %s AND host(client_ip) = %s AND status = 'received'",
              (rcpt, CLIENT_IP))[0][0]
    assert got == len(tokens)
    # Both edges served some of the sessions, and their logs name the client.
    per_edge = [len(re.findall(rf"event=connect ip={re.escape(CLIENT_IP)} ", logs(cid))) for cid in ids("smtp-edge")]
    assert all(n >= 1 for n in per_edge) and sum(per_edge) >= len(tokens), per_edge
    assert not any(f"ip={LB_IP} " in logs(cid) for cid in ids("smtp-edge"))


def test_digest_is_sent_once_by_two_delivery_replicas():
    assert len(ids("delivery")) == 2
    uid, did = ensure_user("digest")
    token = uuid.uuid4().hex
    for i in range(2):
        sql("INSERT INTO quarantine (msgid, expires_at, sender, rcpt, user_id, domain_id, subject, size, message)"
            " VALUES (%s, now() + interval '7 days', 'spam@x.test', %s, %s, %s, %s, 1, 'x')",
            (f"{token}-{i}", f"digest@{DOMAIN}", uid, did, f"held {token} {i}"))
    sql("INSERT INTO digest_schedules (user_id, kind, interval_hours, next_run_at)"
        " VALUES (%s, 'interval', 24, now() - interval '1 minute')", (uid,))
    deadline = time.time() + 30
    while time.time() < deadline and sql("SELECT count(*) FROM digest_schedules WHERE user_id = %s"
                                         " AND next_run_at <= now()", (uid,))[0][0]:
        time.sleep(0.5)
    time.sleep(5)        # both replicas (CLEMENT_DIGEST_POLL_S=2) polled again
    digests = subprocess.run(["docker", "exec", ids("delivery")[0], "grep", "-rl", "--", f"held {token} 0",
                              f"{MAILDIR}/{DOMAIN}/digest"], capture_output=True, text=True, timeout=60).stdout.split()
    assert len(digests) == 1, digests


def stats_runs():
    times = []
    for cid in compose("ps", "-q", "banstats").stdout.split():
        for m in re.finditer(r"ts=(\S+) svc=banstats level=info event=stats_run ", logs(cid)):
            times.append(datetime.datetime.fromisoformat(m.group(1).replace("Z", "+00:00")).timestamp())
    return sorted(times)


def test_banstats_runs_once_per_interval_with_two_replicas():
    assert len(ids("banstats")) == 2
    interval = 6                                          # CLEMENT_BANSTATS_INTERVAL_S of compose-scale
    deadline = time.time() + 4 * interval
    while time.time() < deadline and len(stats_runs()) < 4:
        time.sleep(1)
    runs = stats_runs()
    assert len(runs) >= 4, runs
    gaps = [b - a for a, b in zip(runs, runs[1:])]
    assert min(gaps) >= interval - 0.6, gaps         # never two runs within one interval


def test_killing_one_replica_of_each_loses_nothing_acknowledged():
    rcpt = known("kill")
    acked, refused, stop = [], [], threading.Event()

    def sender():
        while not stop.is_set():
            t = f"kill-{uuid.uuid4().hex}"
            code, text = send(t, rcpt, deadline_s=60)
            (acked if code == 250 else refused).append((t, code, text))

    threads = [threading.Thread(target=sender) for _ in range(3)]
    for th in threads:
        th.start()
    try:
        time.sleep(3)
        for service in ("smtp-edge", "policy", "scanner", "delivery"):
            victim = ids(service)[0]
            subprocess.run(["docker", "kill", victim], check=True, capture_output=True, timeout=60)
            time.sleep(3)
        n = len(acked)
        deadline = time.time() + 60
        while time.time() < deadline and len(acked) < n + 6:    # mail flows on the survivors
            time.sleep(0.5)
    finally:
        stop.set()
        for th in threads:
            th.join(timeout=120)
    assert len(acked) >= n + 6, f"mail stopped after the kills: {len(acked)} acknowledged, refused: {refused[-3:]}"
    assert not refused, f"given up on (never 250): {refused[:3]}"
    files = stored("kill")
    lost = [t for t, _, _ in acked if not files[t]]
    assert not lost, f"{len(lost)} of {len(acked)} messages answered 250 are not in the Maildir: {lost[:3]}"
