"""The end-to-end stack: real policy, scanner, delivery and smtp-edge over a local-mode domain
seeded by SQL (or, with CLEMENT_TEST_EXTERNAL, an already running stack)."""
import pathlib
import subprocess
import time
import uuid

import psycopg2
import psycopg2.extras
import pytest

from conftest import ROOT, free_port, rpc_url
from harness.passwords import hash_password
from harness.smtp import EXTERNAL, Edge, cert_paths, external


class ExternalDB:
    def __init__(self, url):
        self.conn = psycopg2.connect(url)
        self.conn.autocommit = True

    def query(self, sql, params=None):
        with self.conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as c:
            c.execute(sql, params)
            return c.fetchall() if c.description else []

    def scalar(self, sql, params=None):
        rows = self.query(sql, params)
        return next(iter(rows[0].values())) if rows else None

    def execute(self, sql, params=None):
        with self.conn.cursor() as c:
            c.execute(sql, params)


class Stack:
    def __init__(self, edge, db, domain, maildir=None):
        self.edge, self.db, self.domain, self.maildir = edge, db, domain, maildir
        self.services, self.svcs = None, {}

    def kill(self, name):
        """SIGKILL one of the real services (local stacks only); the test expects it dead."""
        svc = self.svcs[name]
        self.services.expect_dead.add(svc)
        svc.kill()

    def delivered(self, user):
        """Message files in user's Maildir new/ (local stacks only)."""
        d = pathlib.Path(self.maildir) / self.domain / user / "new"
        return sorted(d.glob("*")) if d.exists() else []

    def message_log(self, msgid=None, rcpt=None, timeout=8.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            rows = self.db.query("SELECT * FROM message_log WHERE (%s::text IS NULL OR msgid = %s) "
                                 "AND (%s::text IS NULL OR rcpt = %s)", (msgid, msgid, rcpt, rcpt))
            if rows:
                return rows
            time.sleep(0.1)
        return []


PASSWORD = "e2e password 1"


def pw_hash(pw=PASSWORD):
    return hash_password(pw)


def seed(db, domain):
    """A local-mode domain with alice (password PASSWORD, for AUTH), bob and postmaster."""
    gid = db.scalar("INSERT INTO groups (name, mode) VALUES (%s, 'local') RETURNING id", ("g-" + domain,))
    did = db.scalar("INSERT INTO domains (name, group_id) VALUES (%s, %s) RETURNING id", (domain, gid))
    db.execute("INSERT INTO users (domain_id, local_part, password_hash) VALUES (%s, 'alice', %s)", (did, pw_hash()))
    for user in ("bob", "postmaster"):
        db.execute("INSERT INTO users (domain_id, local_part) VALUES (%s, %s)", (did, user))


def run_stack(request, tmp_path, delivery_env=None, **edge_env):
    """Yields a Stack: an external one (CLEMENT_TEST_EXTERNAL), or real policy, scanner,
    delivery and edge started here, with edge_env added to the edge's settings (and
    delivery_env to delivery's). The edge
    calls itself mx.<domain>, so <Postmaster> is the test domain's postmaster."""
    domain = f"e2e-{uuid.uuid4().hex[:8]}.test"
    if EXTERNAL:
        ext = external()
        db = ExternalDB(ext["db"])
        seed(db, domain)
        time.sleep(1.5)  # policy's cache follows by LISTEN/NOTIFY
        h, p = ext["smtp"]
        yield Stack(Edge(None, h, p, ext.get("smtps", (h, 0))[1], ext.get("submission", (h, 0))[1]), db, domain)
        return
    db = request.getfixturevalue("db")
    services = request.getfixturevalue("services")
    seed(db, domain)
    policy, scanner, delivery = rpc_url(), rpc_url(), rpc_url()
    svcs = {}
    svcs["policy"] = services.start("policy", {
        "CLEMENT_POLICY_LISTEN": policy, "CLEMENT_DB_URL": db.url, "CLEMENT_POLICY_WORKERS": "2",
        "CLEMENT_POLICY_ALLOW_LOOPBACK": "1", "CLEMENT_POLICY_LOG_FLUSH_MS": "200"})
    sigs = tmp_path / "clamav"
    subprocess.run([str(ROOT / "scripts/make-test-sigs"), str(sigs)], check=True)
    svcs["scanner"] = services.start("scanner", {"CLEMENT_SCANNER_LISTEN": scanner, "CLEMENT_CLAMAV_DB": str(sigs),
                                                 "CLEMENT_SCANNER_WORKERS": "1"}, wait=True)
    maildir = tmp_path / "maildir"
    svcs["delivery"] = services.start("delivery", {"CLEMENT_DELIVERY_LISTEN": delivery, "CLEMENT_DB_URL": db.url,
                                                   "CLEMENT_MAILDIR_ROOT": str(maildir), **(delivery_env or {})})
    cert, key = cert_paths()
    ports = [free_port() for _ in range(3)]
    env = {
        "CLEMENT_SMTP_LISTEN": f"127.0.0.1:{ports[0]}", "CLEMENT_SMTPS_LISTEN": f"127.0.0.1:{ports[1]}",
        "CLEMENT_SUBMISSION_LISTEN": f"127.0.0.1:{ports[2]}", "CLEMENT_TLS_CERT": cert, "CLEMENT_TLS_KEY": key,
        "CLEMENT_HOSTNAME": f"mx.{domain}", "CLEMENT_POLICY_URL": policy, "CLEMENT_SCANNER_URL": scanner,
        "CLEMENT_DELIVERY_URL": delivery, "CLEMENT_PREGREET_WAIT": "0", "CLEMENT_SHUTDOWN_GRACE_S": "3"}
    env.update({k: str(v) for k, v in edge_env.items()})
    svc = services.start("smtp-edge", env)
    st = Stack(Edge(svc, "127.0.0.1", *ports), db, domain, str(maildir))
    st.services, st.svcs = services, svcs
    yield st


@pytest.fixture
def stack(request, tmp_path):
    yield from run_stack(request, tmp_path)
