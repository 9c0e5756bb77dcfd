"""The foundation: migrations, schema constraints, and the service frame every binary shares
(--help, bad settings, /healthz, /metrics, clean exit on SIGTERM)."""
import os
import subprocess

import psycopg2
import pytest

from conftest import BIN, ROOT, free_port, http_get

SERVICES = ["smtp-edge", "policy", "scanner", "delivery", "banstats", "admin-api"]
TOOLS = ["clement-migrate", "clement-rpc"]


def test_migrations_apply_twice(pg):
    env = dict(os.environ, CLEMENT_DB_URL=pg.url, CLEMENT_MIGRATIONS_DIR=str(ROOT / "db/migrations"))
    for _ in range(2):
        r = subprocess.run([str(BIN / "clement-migrate")], env=env, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert "applied=0" in r.stderr   # the session fixture applied everything already
    files = sorted(p.name for p in (ROOT / "db/migrations").glob("[0-9]*.sql"))
    assert pg.scalar("SELECT count(*) FROM schema_migrations") == len(files)


def test_failed_migration_is_rolled_back_whole(pg, tmp_path):
    """A migration file that fails half-way leaves nothing behind: neither its first statements
    nor its schema_migrations row (one transaction, lib/db's helpers)."""
    (tmp_path / "9999_broken.sql").write_text("CREATE TABLE broken_probe (a int);\nSELECT no_such_column FROM broken_probe;\n")
    env = dict(os.environ, CLEMENT_DB_URL=pg.url, CLEMENT_MIGRATIONS_DIR=str(tmp_path))
    r = subprocess.run([str(BIN / "clement-migrate")], env=env, capture_output=True, text=True)
    assert r.returncode == 1 and "9999_broken.sql failed" in r.stderr and "no_such_column" in r.stderr, r.stderr
    assert pg.scalar("SELECT to_regclass('broken_probe') IS NULL")
    assert pg.scalar("SELECT count(*) FROM schema_migrations WHERE version = 9999") == 0


def test_migrate_reports_unreachable_database():
    env = dict(os.environ, CLEMENT_DB_URL=f"postgresql://clement@127.0.0.1:{free_port()}/clement",
               CLEMENT_DB_CONNECT_ATTEMPTS="1")
    r = subprocess.run([str(BIN / "clement-migrate")], env=env, capture_output=True, text=True)
    assert r.returncode == 1
    assert "cannot connect to PostgreSQL" in r.stderr


BAD_ROWS = [
    ("a domain in no group", "INSERT INTO domains (name, group_id) VALUES ('x.test', NULL)"),
    ("a domain in a group that does not exist", "INSERT INTO domains (name, group_id) VALUES ('x.test', 999)"),
    ("an unknown mode", "INSERT INTO groups (name, mode) VALUES ('g2', 'bounce')"),
    ("a relay group without a downstream", "INSERT INTO groups (name, mode) VALUES ('g2', 'relay')"),
    ("an upper-case domain", "INSERT INTO domains (name, group_id) VALUES ('X.Test', 1)"),
    ("a domain name with a space", "INSERT INTO domains (name, group_id) VALUES ('a b.test', 1)"),
    ("a duplicate address", "INSERT INTO users (domain_id, local_part) VALUES (1, 'alice')"),
    ("an unknown role", "INSERT INTO users (domain_id, local_part, role) VALUES (1, 'z', 'superuser')"),
    ("a directive with two owners",
     "INSERT INTO directives (user_id, domain_id, sender_pattern, action) VALUES (1, 1, '@spam.test', 'reject')"),
    ("a directive with no owner", "INSERT INTO directives (sender_pattern, action) VALUES ('@spam.test', 'reject')"),
    ("a directive with a bad pattern",
     "INSERT INTO directives (user_id, sender_pattern, action) VALUES (1, 'spam', 'reject')"),
    ("a directive with an unknown action",
     "INSERT INTO directives (user_id, sender_pattern, action) VALUES (1, '@spam.test', 'bounce')"),
    ("a scope naming a group and a domain", "INSERT INTO admin_scopes (user_id, group_id, domain_id) VALUES (1, 1, 1)"),
    ("a ban with an unknown status",
     "INSERT INTO bans (network, status, origin, reason) VALUES ('192.0.2.1', 'maybe', 'admin', 'x')"),
    ("a peer ban without a peer",
     "INSERT INTO bans (network, status, origin, reason) VALUES ('192.0.2.1', 'banned', 'peer', 'x')"),
    ("a message log row with an unknown status",
     "INSERT INTO message_log (rcpt, status) VALUES ('a@x.test', 'lost')"),
    ("an interval digest without its interval",
     "INSERT INTO digest_schedules (user_id, kind) VALUES (1, 'interval')"),
]


@pytest.mark.parametrize("what,sql", BAD_ROWS, ids=[b[0] for b in BAD_ROWS])
def test_constraints_reject_impossible_rows(db, what, sql):
    db.execute("INSERT INTO groups (name, mode) VALUES ('g1', 'local')")
    db.execute("INSERT INTO domains (name, group_id) VALUES ('example.test', 1)")
    db.execute("INSERT INTO users (domain_id, local_part) VALUES (1, 'alice')")
    with pytest.raises(psycopg2.Error):
        db.execute(sql)


def test_good_rows_and_monthly_partitions(db):
    db.execute("INSERT INTO groups (name, mode, relay_host) VALUES ('r', 'relay', 'mx.example.test')")
    db.execute("INSERT INTO domains (name, group_id) VALUES ('relay.example.test', 1)")
    db.execute("INSERT INTO directives (domain_id, sender_pattern, action) VALUES (1, '*.spam.test', 'reject')")
    db.execute("INSERT INTO message_log (rcpt, status) VALUES ('a@relay.example.test', 'received')")
    part = db.scalar("SELECT tableoid::regclass::text FROM message_log")
    assert part.startswith("message_log_2"), part   # a monthly partition, not the default one
    # NOTIFY triggers exist for the cached tables
    n = db.scalar("SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%_notify'")
    assert n >= 6


@pytest.mark.parametrize("name", [f"clement-{s}" for s in SERVICES] + TOOLS)
def test_help(name):
    r = subprocess.run([str(BIN / name), "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    assert "Usage:" in r.stdout
    if name != "clement-rpc":
        assert "CLEMENT_" in r.stdout and "default:" in r.stdout


@pytest.mark.parametrize("name", [f"clement-{s}" for s in SERVICES] + ["clement-migrate"])
def test_unknown_argument_and_bad_setting(name):
    r = subprocess.run([str(BIN / name), "--frobnicate"], capture_output=True, text=True)
    assert r.returncode == 2 and "unknown argument" in r.stderr
    env = dict(os.environ, CLEMENT_LOG_LEVEL="loud", CLEMENT_DB_CONNECT_ATTEMPTS="many")
    r = subprocess.run([str(BIN / name)], capture_output=True, text=True, env=env, timeout=20)
    assert r.returncode == 2, r.stderr
    assert "CLEMENT_" in r.stderr


# One duration setting per service: a bad value stops it at once (exit 2) with a message that
# names the setting and the units; --help shows the unit and the range with units.
DURATIONS = [
    ("policy", "CLEMENT_POLICY_PROBE_TIMEOUT_MS", "milliseconds", "100ms..1m", "3s"),
    ("scanner", "CLEMENT_CLAMAV_RELOAD_S", "seconds", "1s..1d", "2m"),
    ("delivery", "CLEMENT_RELAY_TIMEOUT_MS", "milliseconds", "200ms..10m", "90s"),
    ("banstats", "CLEMENT_BANSTATS_INTERVAL_S", "seconds", "1s..1d", "10m"),
    ("admin-api", "CLEMENT_SESSION_IDLE_S", "seconds", "1s..1d", "30m"),
]


@pytest.mark.parametrize("service,var,unit,bounds,good", DURATIONS, ids=[d[0] for d in DURATIONS])
def test_durations_with_units(service, var, unit, bounds, good):
    exe = str(BIN / f"clement-{service}")
    r = subprocess.run([exe, "--help"], capture_output=True, text=True)
    block = r.stdout.split(var, 1)[1].split("\n  CLEMENT_", 1)[0]
    assert f"range: {bounds}" in block and f"a plain number counts {unit}" in block, block
    examples = "250ms, 30s, 5m" if unit == "milliseconds" else "30s, 5m, 2h"
    for value, message in [("5x", f"{var}: 5x is not a duration (use {examples})"),
                           ("1.5h", f"{var}: 1.5h is not a duration"),
                           ("400d", f"{var}: 400d is out of range: {bounds} (a plain number counts {unit})")]:
        env = dict(os.environ, **{var: value})
        r = subprocess.run([exe], capture_output=True, text=True, env=env, timeout=20)
        assert r.returncode == 2 and message in r.stderr, (value, r.stderr)
    if unit == "seconds":
        env = dict(os.environ, **{var: "1500ms"})
        r = subprocess.run([exe], capture_output=True, text=True, env=env, timeout=20)
        assert r.returncode == 2 and f"{var}: 1500ms is not a whole number of seconds" in r.stderr, r.stderr


def service_env(name, pg, tmp):
    """Enough settings for any service to start on free loopback ports."""
    sigs = tmp / "sigs"
    if (ROOT / "scripts/make-test-sigs").exists() and not sigs.exists():
        subprocess.run([str(ROOT / "scripts/make-test-sigs"), str(sigs)], check=True, capture_output=True)
    certdir = tmp / "tls"
    if (ROOT / "scripts/make-cert").exists() and not certdir.exists():
        subprocess.run([str(ROOT / "scripts/make-cert"), str(certdir)], check=True, capture_output=True)
    (tmp / "maildir").mkdir(exist_ok=True)
    return {
        "CLEMENT_DB_URL": pg.url,
        "CLEMENT_LOG_LEVEL": "info",
        "CLEMENT_POLICY_LISTEN": f"tcp://127.0.0.1:{free_port()}",
        "CLEMENT_SCANNER_LISTEN": f"tcp://127.0.0.1:{free_port()}",
        "CLEMENT_DELIVERY_LISTEN": f"tcp://127.0.0.1:{free_port()}",
        "CLEMENT_BANSTATS_LISTEN": f"tcp://127.0.0.1:{free_port()}",
        "CLEMENT_ADMIN_LISTEN": f"127.0.0.1:{free_port()}",
        "CLEMENT_SMTP_LISTEN": f"127.0.0.1:{free_port()}",
        "CLEMENT_SMTPS_LISTEN": f"127.0.0.1:{free_port()}",
        "CLEMENT_SUBMISSION_LISTEN": f"127.0.0.1:{free_port()}",
        "CLEMENT_TLS_CERT": str(certdir / "cert.pem"),
        "CLEMENT_TLS_KEY": str(certdir / "key.pem"),
        "CLEMENT_CLAMAV_DB": str(sigs),
        "CLEMENT_MAILDIR_ROOT": str(tmp / "maildir"),
        "CLEMENT_FRONTEND_DIR": str(ROOT / "frontend"),
        "CLEMENT_DIGEST_SECRET": "test-secret-0123456789abcdef",
        **{var: good for _, var, _, _, good in DURATIONS},   # durations written with units
    }


@pytest.mark.parametrize("name", SERVICES)
def test_service_health_metrics_and_sigterm(name, pg, services, tmp_path):
    svc = services.start(name, service_env(name, pg, tmp_path))
    status, body = http_get(f"http://{svc.health}/healthz")
    assert status == 200
    status, body = http_get(f"http://{svc.health}/metrics")
    assert status == 200 and "# TYPE " in body
    status, _ = http_get(f"http://{svc.health}/nope")
    assert status == 404
    assert svc.stop() == 0     # the fixture also checks the log for sanitizer reports
