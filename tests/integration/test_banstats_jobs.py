"""clement-banstats' scheduled jobs with several replicas, against the real PostgreSQL.

- Log partition maintenance runs inside the stack, without clement-migrate: the monthly
  partitions of smtp_sessions and message_log appear ahead of time and those past the
  retention disappear; the retention root sets on the Global settings screen
  (settings.log.retention_months) takes effect at the next run, without a restart.
- The statistics run and the maintenance run once per interval in total, however many
  replicas run; when the replica that ran them is killed, another takes over.
"""
import datetime
import re
import signal
import time

from conftest import rpc_url

PARENTS = ("smtp_sessions", "message_log")


def month(offset):
    """The first day of the month `offset` months from the current one (UTC, as PostgreSQL's now())."""
    d = datetime.datetime.now(datetime.timezone.utc).date().replace(day=1)
    y, m = divmod(d.year * 12 + d.month - 1 + offset, 12)
    return datetime.date(y, m + 1, 1)


def partitions(db):
    rows = db.query("SELECT c.relname AS n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                    " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname IN ('smtp_sessions', 'message_log')"
                    " AND c.relname ~ '_[0-9]{6}$'")
    return {r["n"] for r in rows}


def names(offset):
    return {f"{t}_{month(offset):%Y%m}" for t in PARENTS}


def make_partition(db, offset):
    for t in PARENTS:
        start, end = month(offset), month(offset + 1)
        db.execute(f"CREATE TABLE IF NOT EXISTS {t}_{start:%Y%m} PARTITION OF {t} FOR VALUES FROM ('{start}') TO ('{end}')")


def drop_partition(db, offset):
    for t in PARENTS:
        db.execute(f"DROP TABLE IF EXISTS {t}_{month(offset):%Y%m}")


def wait(cond, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.2)
    return cond()


def banstats(services, db, **env):
    base = {"CLEMENT_DB_URL": db.url, "CLEMENT_BANSTATS_LISTEN": rpc_url(), "CLEMENT_SERVER_NAME": "node-a.test",
            "CLEMENT_BANSTATS_INTERVAL_S": 3600, "CLEMENT_MAINTENANCE_INTERVAL_S": 3600, "CLEMENT_NEVER_BAN": ""}
    base.update({k: str(v) for k, v in env.items()})
    return services.start("banstats", base)


def runs(svc, event):
    """Times (log timestamps, seconds) of this replica's runs of a job."""
    out = []
    for line in svc.log().splitlines():
        if f"event={event} " in line or line.endswith(f"event={event}"):
            m = re.search(r"ts=(\S+)", line)
            out.append(datetime.datetime.fromisoformat(m.group(1).replace("Z", "+00:00")).timestamp() if m else 0)
    return out


def test_partitions_are_maintained_inside_the_stack(db, services):
    """Partitions 20 months old are dropped (13 months kept), the coming months are created,
    and a retention set in the settings table applies at the next run."""
    make_partition(db, -20)
    make_partition(db, -5)
    drop_partition(db, 3)           # the months ahead that clement-migrate would have made
    drop_partition(db, 2)
    db.execute("INSERT INTO smtp_sessions (sid, started_at, client_ip, listener)"
               " VALUES ('old', %s, '192.0.2.1', 'smtp')", (month(-20) + datetime.timedelta(days=3),))
    before = partitions(db)
    assert names(-20) <= before and not (names(2) & before)
    svc = banstats(services, db, CLEMENT_MAINTENANCE_INTERVAL_S=1, CLEMENT_LOG_RETENTION_MONTHS=13)
    assert wait(lambda: not (names(-20) & partitions(db)) and names(2) | names(3) <= partitions(db)), \
        (sorted(partitions(db)), svc.log()[-2000:])
    assert db.scalar("SELECT count(*) FROM smtp_sessions WHERE sid = 'old'") == 0
    assert names(-5) <= partitions(db)          # 5 months old: inside 13 months
    # The run's log line is written after its transaction commits: wait for it too.
    assert wait(lambda: "event=partitions_run" in svc.log() and "retention_months=13" in svc.log()), \
        svc.log()[-2000:]
    # Root's Global settings: 3 months kept from the next run on, no restart.
    db.execute("INSERT INTO settings (key, value) VALUES ('log.retention_months', '3')")
    assert wait(lambda: not (names(-5) & partitions(db))), svc.log()[-2000:]
    assert wait(lambda: "retention_months=3" in svc.log()), svc.log()[-2000:]
    assert names(-1) | names(0) <= partitions(db)


def test_two_replicas_run_each_job_once_per_interval(db, services):
    interval = 3
    a = banstats(services, db, CLEMENT_BANSTATS_INTERVAL_S=interval, CLEMENT_MAINTENANCE_INTERVAL_S=interval)
    time.sleep(1.4)                 # out of phase: b's timer fires between a's runs
    b = banstats(services, db, CLEMENT_BANSTATS_INTERVAL_S=interval, CLEMENT_MAINTENANCE_INTERVAL_S=interval)
    t0 = time.time()
    time.sleep(4 * interval + 0.5)
    elapsed = time.time() - t0 + 1.4
    for event in ("stats_run", "partitions_run"):
        both = sorted(runs(a, event) + runs(b, event))
        assert 4 <= len(both) <= elapsed / interval + 1, (event, both, a.log()[-1500:], b.log()[-1500:])
        gaps = [y - x for x, y in zip(both, both[1:])]
        assert min(gaps) >= interval - 0.6, (event, gaps)
    assert "event=stats_skipped" in b.log()       # b's timer fired and found the run done
    # The replica that ran the jobs is killed: the other takes over within one interval.
    holder = db.scalar("SELECT ran_by FROM job_runs WHERE job = 'banstats_stats'")
    dead, alive = (a, b) if holder.endswith(f"/{a.proc.pid}") else (b, a)
    dead.kill(signal.SIGKILL)
    services.expect_dead.add(dead)
    n = len(runs(alive, "stats_run"))
    assert wait(lambda: len(runs(alive, "stats_run")) > n, timeout=2 * interval + 5), alive.log()[-1500:]
    assert db.scalar("SELECT ran_by FROM job_runs WHERE job = 'banstats_stats'").endswith(f"/{alive.proc.pid}")
