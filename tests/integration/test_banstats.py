"""clement-banstats statistics and classification against the real PostgreSQL.

Each test writes a synthetic log history (smtp_sessions / message_log rows, as policy's batch
writer would), runs one statistics pass (CLEMENT_BANSTATS_ONCE=1, the sanitizer build) and
checks what an admin would see: the bans rows (candidate / banned, evidence, expiry,
offences), the ban_events the mesh would push, and the ip_stats figures.
"""
import datetime
import os
import subprocess
import time

import pytest

from conftest import BIN, sanitizer_env

BAD = "198.51.100.7"      # pregreets, protocol errors, unknown recipients: banned
NOISY = "203.0.113.9"     # protocol errors only: candidate
GOOD = "192.0.2.5"        # sessions with accepted mail: never listed


def run_once(db, **env):
    """One statistics pass; fails the test on a non-zero exit or a sanitizer report."""
    full = dict(os.environ)
    full.update(sanitizer_env())
    full.update({"CLEMENT_DB_URL": db.url, "CLEMENT_BANSTATS_ONCE": "1", "CLEMENT_SERVER_NAME": "node-a.test",
                 "CLEMENT_BANSTATS_BAN_S": "3600"})
    full.update({k: str(v) for k, v in env.items()})
    p = subprocess.run([str(BIN / "clement-banstats")], env=full, capture_output=True, text=True, timeout=60)
    out = p.stdout + p.stderr
    assert p.returncode == 0 and "Sanitizer" not in out and "runtime error:" not in out, out
    assert "event=stats_run" in out, out
    return out


def sessions(db, ip, n, ago="10 minutes", pregreet_every=0, protocol_errors=0, auth_user=None):
    db.execute(
        "INSERT INTO smtp_sessions (sid, started_at, client_ip, listener, pregreet, protocol_errors, auth_user)"
        " SELECT %s || g, now() - %s::interval, %s, 'smtp', %s > 0 AND g %% greatest(%s, 1) = 0, %s, %s"
        " FROM generate_series(1, %s) g",
        (f"{ip}-{ago}-", ago, ip, pregreet_every, pregreet_every, protocol_errors, auth_user, n))


def messages(db, ip, n, status, reason_class=None, ago="10 minutes", direction="in"):
    db.execute(
        "INSERT INTO message_log (logged_at, client_ip, rcpt, status, reason_class, direction)"
        " SELECT now() - %s::interval, %s, 'rcpt' || g || '@example.org', %s, %s, %s FROM generate_series(1, %s) g",
        (ago, ip, status, reason_class, direction, n))


def history(db):
    # BAD: 10 sessions, 5 pregreets, 10 protocol errors, 30 unknown recipients -> score
    # 5*5 + 2*10 + 30 = 75 >= 50, 100 % bad: banned.
    sessions(db, BAD, 10, pregreet_every=2, protocol_errors=1)
    messages(db, BAD, 30, "rejected", "unknown_rcpt")
    # NOISY: 6 sessions x 2 protocol errors -> score 24 (candidate from 20), below the ban score.
    sessions(db, NOISY, 6, ago="2 hours", protocol_errors=2)
    # GOOD: a few unknown recipients among many accepted messages: 10 % bad, never listed.
    sessions(db, GOOD, 8, ago="3 hours")
    messages(db, GOOD, 30, "received", ago="3 hours")
    messages(db, GOOD, 10, "quarantined", ago="3 hours")
    messages(db, GOOD, 5, "rejected", "unknown_rcpt", ago="3 hours")


def listed(db):
    return {r["network"]: r for r in db.query(
        "SELECT host(network) AS network, status, origin, score, offences, evidence, reason,"
        " extract(epoch FROM expires_at - now()) AS ttl, lifted_at FROM bans WHERE status <> 'lifted'")}


def test_history_gives_ban_and_candidate_with_evidence(db):
    history(db)
    run_once(db)
    rows = listed(db)
    assert set(rows) == {BAD, NOISY}
    bad, noisy = rows[BAD], rows[NOISY]
    assert (bad["status"], bad["origin"], bad["offences"]) == ("banned", "auto", 1)
    assert bad["score"] == 75
    assert 3500 < bad["ttl"] <= 3600                      # CLEMENT_BANSTATS_BAN_S
    ev = bad["evidence"]
    assert ev["window"] == "24h" and ev["bad_pct"] == 100
    assert ev["stats"]["24h"] == {"sessions": 10, "accepted": 0, "unknown_rcpt": 30, "directive_rejects": 0,
                                  "viruses": 0, "protocol_errors": 10, "pregreets": 5, "dnsbl_listed": 0}
    assert "30 unknown recipients" in bad["reason"]
    assert (noisy["status"], noisy["score"]) == ("candidate", 24)
    assert noisy["ttl"] > 6 * 86400                       # candidate TTL, 7 days by default
    # Only the fully banned record is an event for the mesh.
    events = db.query("SELECT b.host, e.kind FROM ban_events e JOIN (SELECT id, host(network) AS host FROM bans) b"
                      " ON b.id = e.ban_id")
    assert events == [{"host": BAD, "kind": "ban"}]
    # The figures the UI shows, per window: GOOD was 3 h ago, so not in the 1 h window.
    stats = {(r["ip"], r["window_name"]): r for r in db.query("SELECT host(ip) AS ip, * FROM ip_stats")}
    assert stats[(GOOD, "24h")]["accepted"] == 40 and stats[(GOOD, "24h")]["unknown_rcpt"] == 5
    assert (GOOD, "1h") not in stats and stats[(GOOD, "7d")]["sessions"] == 8
    # A second run changes nothing: no duplicate rows, no new events.
    run_once(db)
    assert db.scalar("SELECT count(*) FROM bans") == 2 and db.scalar("SELECT count(*) FROM ban_events") == 1


# Classification, one row per client profile under the default settings (weights: pregreet 5,
# protocol error 2, unknown recipient 1, directive refusal 1, virus 10; candidate from score 20
# with 50 % bad, banned from 50 with 80 % bad; at least 3 sessions). bad % = bad events /
# (bad events + accepted messages). Each row: ip, sessions, pregreets (every Nth session),
# protocol errors per session, {reason_class: refused recipients}, accepted messages, then the
# status (None: not listed), score and bad % expected.
CLASSIFY = [
    ("pregreets reach the candidate score", "198.51.100.101", 4, 1, 0, {}, 0, "candidate", 20, 100),
    ("just under the candidate score", "198.51.100.102", 3, 0, 3, {}, 0, None, 18, 100),
    ("protocol errors reach the ban score", "198.51.100.103", 5, 0, 5, {}, 0, "banned", 50, 100),
    ("viruses weigh 10", "198.51.100.104", 3, 0, 0, {"virus": 5}, 0, "banned", 50, 100),
    ("directive refusals weigh 1", "198.51.100.105", 3, 0, 0, {"directive": 20}, 0, "candidate", 20, 100),
    ("too few sessions", "198.51.100.106", 2, 0, 0, {"unknown_rcpt": 40}, 0, None, 40, 100),
    ("mostly accepted mail", "198.51.100.107", 3, 0, 0, {"unknown_rcpt": 30}, 40, None, 30, 43),
    ("ban score, bad share only a candidate's", "198.51.100.108", 3, 0, 0, {"unknown_rcpt": 60}, 20,
     "candidate", 60, 75),
    ("ban score and ban share", "198.51.100.109", 3, 0, 0, {"unknown_rcpt": 80}, 20, "banned", 80, 80),
]


def test_classification_table(db):
    for _, ip, n, pregreet_every, errors, refused, accepted, _, _, _ in CLASSIFY:
        sessions(db, ip, n, pregreet_every=pregreet_every, protocol_errors=errors)
        for klass, count in refused.items():
            messages(db, ip, count, "rejected", klass)
        if accepted:
            messages(db, ip, accepted, "received")
    run_once(db)
    rows = listed(db)
    for label, ip, _, _, _, _, _, status, score, bad_pct in CLASSIFY:
        if status is None:
            assert ip not in rows, f"{label}: listed as {rows[ip]['status']}"
            continue
        assert ip in rows, f"{label}: not listed"
        got = rows[ip]
        assert (got["status"], got["score"], got["evidence"]["bad_pct"]) == (status, score, bad_pct), label
    banned = sorted(ip for _, ip, *rest in CLASSIFY if rest[5] == "banned")
    events = db.query("SELECT host(b.network) AS ip FROM ban_events e JOIN bans b ON b.id = e.ban_id"
                      " WHERE e.kind = 'ban' ORDER BY 1")
    assert [e["ip"] for e in events] == banned


def test_dnsbl_listings_weigh_in_the_ban_score(db):
    """Sessions smtp-edge found on a DNS blocklist (smtp_sessions.rep_facts, issue 17) add
    CLEMENT_BANSTATS_WEIGHT_DNSBL points each; an allowlisting or a FCrDNS finding does not."""
    listed_ip, other = "198.51.100.44", "198.51.100.45"
    sessions(db, listed_ip, 12)
    sessions(db, other, 12)
    db.execute("UPDATE smtp_sessions SET rep_score = 3, rep_facts = '{\"ptr\": \"\", \"facts\": [{\"kind\": "
               "\"dnsbl\", \"name\": \"bl.test\", \"answer\": \"127.0.0.2\", \"weight\": 3}]}' "
               "WHERE client_ip = %s", (listed_ip,))
    db.execute("UPDATE smtp_sessions SET rep_score = -2, rep_facts = '{\"ptr\": \"\", \"facts\": [{\"kind\": "
               "\"dnswl\", \"name\": \"wl.test\", \"answer\": \"127.0.9.2\", \"weight\": -2}, {\"kind\": "
               "\"ptr\", \"name\": \"none\", \"answer\": \"\", \"weight\": 0}]}' WHERE client_ip = %s", (other,))
    run_once(db, CLEMENT_BANSTATS_WEIGHT_DNSBL=2)
    rows = listed(db)
    assert set(rows) == {listed_ip}
    assert rows[listed_ip]["score"] == 24 and rows[listed_ip]["status"] == "candidate"
    assert rows[listed_ip]["evidence"]["stats"]["24h"]["dnsbl_listed"] == 12
    assert "12 DNSBL-listed" in rows[listed_ip]["reason"]


def test_thresholds_and_own_users_are_respected(db):
    history(db)
    # Our own authenticated users and outbound mail never count against an address.
    sessions(db, "192.0.2.99", 20, pregreet_every=1, auth_user="alice@example.org")
    messages(db, "192.0.2.99", 50, "rejected", "unknown_rcpt", direction="out")
    run_once(db, CLEMENT_BANSTATS_BAN_SCORE=1000, CLEMENT_BANSTATS_CANDIDATE_SCORE=30)
    rows = listed(db)
    assert {k: v["status"] for k, v in rows.items()} == {BAD: "candidate"}
    assert db.scalar("SELECT count(*) FROM ban_events") == 0
    assert rows[BAD]["evidence"]["thresholds"]["ban_score"] == 1000


def test_candidate_is_promoted_when_it_gets_worse(db):
    sessions(db, NOISY, 6, protocol_errors=2)
    run_once(db)
    first = db.query("SELECT id, status FROM bans")
    assert [r["status"] for r in first] == ["candidate"]
    messages(db, NOISY, 40, "rejected", "directive")
    run_once(db)
    after = db.query("SELECT id, status, expires_at - now() AS ttl FROM bans")
    assert [(r["id"], r["status"]) for r in after] == [(first[0]["id"], "banned")]
    assert after[0]["ttl"] <= datetime.timedelta(hours=1)
    assert db.scalar("SELECT count(*) FROM ban_events WHERE kind = 'ban'") == 1


def test_expiry_lifts_and_writes_events(db):
    db.execute("INSERT INTO bans (network, status, origin, reason, expires_at) VALUES"
               " ('192.0.2.77', 'banned', 'admin', 'manual', now() - interval '1 minute'),"
               " ('192.0.2.78', 'candidate', 'auto', 'weak', now() - interval '1 minute'),"
               " ('192.0.2.79', 'banned', 'admin', 'still on', now() + interval '1 hour')")
    db.execute("INSERT INTO ban_events (ban_id, kind) SELECT id, 'ban' FROM bans WHERE status = 'banned'")
    run_once(db)
    rows = {r["host"]: r for r in db.query("SELECT host(network) AS host, status, lifted_at FROM bans")}
    assert rows["192.0.2.77"]["status"] == "lifted" and rows["192.0.2.77"]["lifted_at"] is not None
    assert rows["192.0.2.78"]["status"] == "lifted"
    assert rows["192.0.2.79"]["status"] == "banned"
    events = db.query("SELECT host(b.network) AS host, e.kind FROM ban_events e JOIN bans b ON b.id = e.ban_id"
                      " ORDER BY e.id")
    # the lifted candidate was never enforced, so it is no event
    assert [(e["host"], e["kind"]) for e in events] == [
        ("192.0.2.77", "ban"), ("192.0.2.79", "ban"), ("192.0.2.77", "lift")]


@pytest.mark.parametrize("earlier_offences,max_s,expect_offences,expect_ttl", [
    (1, 86400, 2, 7200),        # second offence: 2 x CLEMENT_BANSTATS_BAN_S
    (3, 86400, 4, 28800),       # fourth: 8 x
    (3, 10000, 4, 10000),       # capped by CLEMENT_BANSTATS_BAN_MAX_S
])
def test_repeat_offender_gets_a_longer_ban(db, earlier_offences, max_s, expect_offences, expect_ttl):
    # An earlier automatic ban of the same address, lifted two days ago (outside the 24 h
    # re-listing grace, inside the offence memory).
    old = db.scalar("INSERT INTO bans (network, status, origin, reason, offences, created_at, expires_at, lifted_at)"
                    " VALUES (%s, 'lifted', 'auto', 'before', %s, now() - interval '3 days',"
                    " now() - interval '2 days', now() - interval '2 days') RETURNING id", (BAD, earlier_offences))
    db.execute("INSERT INTO ban_events (ban_id, kind) VALUES (%s, 'ban'), (%s, 'lift')", (old, old))
    history(db)
    run_once(db, CLEMENT_BANSTATS_BAN_MAX_S=max_s)
    bad = listed(db)[BAD]
    assert bad["status"] == "banned" and bad["offences"] == expect_offences
    assert expect_ttl - 100 < bad["ttl"] <= expect_ttl


def test_forgotten_and_recently_lifted_offences(db):
    # A lifted candidate (never enforced) is no offence; a ban lifted an hour ago before its
    # expiry (an admin's unban) keeps the address off the list until the window has passed;
    # a ban that simply expired an hour ago does not.
    db.execute("INSERT INTO bans (network, status, origin, reason, offences, lifted_at, expires_at) VALUES"
               " (%s, 'lifted', 'auto', 'dismissed', 5, now() - interval '2 days', NULL),"
               " (%s, 'lifted', 'admin', 'unbanned', 1, now() - interval '1 hour', now() + interval '1 day'),"
               " ('192.0.2.5', 'lifted', 'auto', 'served', 1, now() - interval '1 hour', now() - interval '1 hour')",
               (BAD, NOISY))
    history(db)
    run_once(db)
    rows = listed(db)
    assert set(rows) == {BAD} and rows[BAD]["offences"] == 1
    # (GOOD = 192.0.2.5 stays unlisted on its merits; now make it misbehave right after its ban)
    sessions(db, GOOD, 10, pregreet_every=1)
    messages(db, GOOD, 200, "rejected", "directive")
    run_once(db)
    assert listed(db)[GOOD]["status"] == "banned"


def test_never_ban_networks_are_never_listed(db):
    history(db)
    db.execute("INSERT INTO never_ban_networks (network, note) VALUES ('198.51.100.0/24', 'partner')")
    # An automatic ban that predates the never-ban entry is lifted (with its event); an
    # admin's explicit ban stays.
    db.execute("INSERT INTO bans (network, status, origin, reason, expires_at) VALUES"
               " ('198.51.100.8', 'banned', 'auto', 'old', now() + interval '1 day'),"
               " ('198.51.100.9', 'banned', 'admin', 'mine', now() + interval '1 day')")
    db.execute("INSERT INTO ban_events (ban_id, kind) SELECT id, 'ban' FROM bans")
    run_once(db, CLEMENT_NEVER_BAN="127.0.0.0/8, 203.0.113.0/24")
    rows = listed(db)
    assert set(rows) == {"198.51.100.9"}
    assert db.scalar("SELECT count(*) FROM ban_events e JOIN bans b ON b.id = e.ban_id"
                     " WHERE e.kind = 'lift' AND b.network = '198.51.100.8'") == 1


def test_bad_settings_are_refused(db):
    full = dict(os.environ, CLEMENT_DB_URL=db.url, CLEMENT_BANSTATS_ONCE="1", CLEMENT_NEVER_BAN="10.0.0.1/8")
    p = subprocess.run([str(BIN / "clement-banstats")], env=full, capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "CLEMENT_NEVER_BAN" in p.stderr and "host bits" in p.stderr
    full.update(CLEMENT_NEVER_BAN="", CLEMENT_BANSTATS_WINDOW="2d")
    p = subprocess.run([str(BIN / "clement-banstats")], env=full, capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "CLEMENT_BANSTATS_WINDOW" in p.stderr
    # Durations: the message names the setting, the value and the units it takes.
    full.update(CLEMENT_BANSTATS_WINDOW="24h", CLEMENT_BANSTATS_BAN_S="5x")
    p = subprocess.run([str(BIN / "clement-banstats")], env=full, capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "CLEMENT_BANSTATS_BAN_S: 5x is not a duration (use 30s, 5m, 2h)" in p.stderr
    full.update(CLEMENT_BANSTATS_BAN_S="30s")
    p = subprocess.run([str(BIN / "clement-banstats")], env=full, capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "CLEMENT_BANSTATS_BAN_S: 30s is out of range: 1m..365d" in p.stderr, p.stderr
    # The mesh client certificate and its key go together (the table's rule, no code of banstats').
    full.update(CLEMENT_BANSTATS_BAN_S="1h", CLEMENT_MESH_CERT="/nonexistent/cert.pem")
    p = subprocess.run([str(BIN / "clement-banstats")], env=full, capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "CLEMENT_MESH_CERT and CLEMENT_MESH_KEY go together" in p.stderr, p.stderr
    full.update(CLEMENT_MESH_CERT="", CLEMENT_MESH_KEY="/nonexistent/key.pem")
    p = subprocess.run([str(BIN / "clement-banstats")], env=full, capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "(CLEMENT_MESH_CERT is not set)" in p.stderr, p.stderr


def test_durations_take_units(db):
    """A ban length written with a unit is that long; a plain number still counts seconds."""
    history(db)
    run_once(db, CLEMENT_BANSTATS_BAN_S="2h", CLEMENT_BANSTATS_BAN_MAX_S="30d", CLEMENT_BANSTATS_INTERVAL_S="5m")
    assert 7100 < listed(db)[BAD]["ttl"] <= 7200
    db.execute("DELETE FROM ban_events")
    db.execute("DELETE FROM bans")
    run_once(db, CLEMENT_BANSTATS_BAN_S="5400")
    assert 5300 < listed(db)[BAD]["ttl"] <= 5400


def test_service_runs_periodically(db, services):
    from conftest import rpc_url
    svc = services.start("banstats", {"CLEMENT_DB_URL": db.url, "CLEMENT_BANSTATS_LISTEN": rpc_url(),
                                      "CLEMENT_SERVER_NAME": "node-a.test", "CLEMENT_BANSTATS_INTERVAL_S": 1})

    def runs():
        line = [l for l in svc.metrics().splitlines() if l.startswith("clement_banstats_runs_total ")]
        return int(line[0].split()[1]) if line else 0

    def wait(cond, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline and not cond():
            time.sleep(0.2)
        return cond()

    assert wait(lambda: runs() >= 1)            # the run at start, over empty logs
    assert db.scalar("SELECT count(*) FROM bans") == 0
    # History written while the service runs is picked up by a later run, without a restart.
    history(db)
    assert wait(lambda: db.scalar("SELECT count(*) FROM bans WHERE status = 'banned'"))
    assert db.query("SELECT host(network) AS h FROM bans WHERE status = 'banned'") == [{"h": BAD}]
    assert runs() >= 2
    assert 'clement_banstats_listed_total{status="banned"} 1' in svc.metrics()
