"""Firewall export (issue 17): the networks banned at connect, as banstats keeps them in
CLEMENT_BANSTATS_FIREWALL_DIR (banned.txt, banned.nft) for the host's firewall.

In force: a local ban (automatic or an admin's), a trusted (enforce) mesh peer's ban. Not in
force: candidates, lifted or expired bans, an observe-only or disabled peer's ban. The same
content comes from GET /api/bans/export (test_admin_api.py::test_bans_export_is_root_only)."""
import os
import subprocess

from conftest import BIN, sanitizer_env

IN_FORCE = ["192.0.2.77", "198.51.100.0/24", "2001:db8:77::/48"]
NOT_IN_FORCE = ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4", "203.0.113.5"]


def seed_bans(db):
    enforce = db.scalar("INSERT INTO mesh_peers (name, host, cert_fingerprint, trust) VALUES "
                        "('peer-e.test', 'peer-e.test', repeat('a', 64), 'enforce') RETURNING id")
    observe = db.scalar("INSERT INTO mesh_peers (name, host, cert_fingerprint, trust) VALUES "
                        "('peer-o.test', 'peer-o.test', repeat('b', 64), 'observe') RETURNING id")
    rows = [
        ("192.0.2.77", "banned", "auto", None, "1 day"),
        ("198.51.100.0/24", "banned", "admin", None, None),
        ("2001:db8:77::/48", "banned", "peer", enforce, "1 day"),
        ("203.0.113.1", "candidate", "auto", None, "1 day"),
        ("203.0.113.2", "lifted", "auto", None, "1 day"),
        ("203.0.113.3", "banned", "auto", None, "-1 hour"),        # expired, not yet lifted
        ("203.0.113.4", "banned", "peer", observe, "1 day"),
    ]
    for net, status, origin, peer, exp in rows:
        db.execute("INSERT INTO bans (network, status, origin, peer_id, reason, expires_at) VALUES "
                   "(%s, %s, %s, %s, 'test', CASE WHEN %s::text IS NULL THEN NULL ELSE now() + %s::interval END)",
                   (net, status, origin, peer, exp, exp))
    disabled = db.scalar("INSERT INTO mesh_peers (name, host, cert_fingerprint, trust, enabled) VALUES "
                         "('peer-d.test', 'peer-d.test', repeat('c', 64), 'enforce', false) RETURNING id")
    db.execute("INSERT INTO bans (network, status, origin, peer_id, reason) VALUES "
               "('203.0.113.5', 'banned', 'peer', %s, 'test')", (disabled,))


def run_banstats(db, outdir):
    env = dict(os.environ, **sanitizer_env(), CLEMENT_DB_URL=db.url, CLEMENT_BANSTATS_ONCE="1",
               CLEMENT_BANSTATS_FIREWALL_DIR=str(outdir))
    p = subprocess.run([str(BIN / "clement-banstats")], env=env, capture_output=True, text=True, timeout=60)
    out = p.stdout + p.stderr
    assert p.returncode == 0 and "Sanitizer" not in out and "runtime error:" not in out, out
    return out


def test_banstats_writes_the_banned_networks_for_the_firewall(db, tmp_path):
    seed_bans(db)
    run_banstats(db, tmp_path)
    plain = (tmp_path / "banned.txt").read_text().split()
    assert sorted(plain) == sorted(IN_FORCE), plain
    nft = (tmp_path / "banned.nft").read_text()
    assert "table inet clement {" in nft and "flush set inet clement banned4" in nft
    assert "add element inet clement banned4 { 192.0.2.77, 198.51.100.0/24 }" in nft, nft
    assert "add element inet clement banned6 { 2001:db8:77::/48 }" in nft, nft
    for net in NOT_IN_FORCE:
        assert net not in nft
    # no half-written file left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["banned.nft", "banned.txt"]


def test_no_bans_gives_empty_sets(db, tmp_path):
    run_banstats(db, tmp_path)
    assert (tmp_path / "banned.txt").read_text() == ""
    nft = (tmp_path / "banned.nft").read_text()
    assert "flush set inet clement banned6" in nft and "add element" not in nft


def test_unwritable_directory_is_logged(db, tmp_path):
    out = run_banstats(db, tmp_path / "missing")
    assert "event=firewall_export_failed" in out and "missing" in out
