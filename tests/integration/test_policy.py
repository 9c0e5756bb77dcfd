"""clement-policy against a real PostgreSQL: every rule of issue 4, driven through the RPC
(tools/clement-rpc), as smtp-edge would ask it."""
import json
import re
import subprocess
import time

import pytest

from conftest import BIN, free_port, http_get, rpc_url, wait_port
from harness.policy import rpc, reply, start_policy, NEW_GROUP_CONTENT

ALICE_REJECT = "550 5.7.1 <alice@example.org> does not accept mail from <spam@x.test>"


def seed(db):
    """example.org (local group g1): alice, carol, disabled eve; example.net (same group):
    dave, default quarantine, custom texts; directives at every level."""
    ids = {}
    ids["g1"] = db.scalar("INSERT INTO groups (name, mode) VALUES ('g1', 'local') RETURNING id")
    ids["org"] = db.scalar("INSERT INTO domains (name, group_id) VALUES ('example.org', %s) RETURNING id", (ids["g1"],))
    ids["net"] = db.scalar(
        "INSERT INTO domains (name, group_id, default_action, reject_text, unknown_user_text) "
        "VALUES ('example.net', %s, 'quarantine', 'refuses mail from', 'unknown mailbox here') RETURNING id",
        (ids["g1"],))
    for name, dom, enabled in [("alice", "org", True), ("carol", "org", True), ("eve", "org", False),
                               ("dave", "net", True)]:
        ids[name] = db.scalar("INSERT INTO users (domain_id, local_part, enabled) VALUES (%s, %s, %s) RETURNING id",
                              (ids[dom], name, enabled))
    dirs = [("group_id", "g1", "*.x.test", "reject"), ("group_id", "g1", "@y.test", "quarantine"),
            ("domain_id", "org", "@news.x.test", "accept"), ("domain_id", "org", "*.news.x.test", "reject"),
            ("domain_id", "org", "*.z.test", "reject"), ("domain_id", "org", "*.a.z.test", "accept"),
            ("user_id", "alice", "spam@x.test", "reject"), ("user_id", "alice", "@x.test", "quarantine"),
            ("user_id", "alice", "friend@y.test", "accept"), ("domain_id", "net", "@bad.test", "reject")]
    for col, owner, pat, act in dirs:
        db.execute(f"INSERT INTO directives ({col}, sender_pattern, action) VALUES (%s, %s, %s)",
                   (ids[owner], pat, act))
    return ids


@pytest.fixture
def seeded(db, services):
    ids = seed(db)
    url, svc = start_policy(services, db.url)
    return url, ids, svc


def wait_for(fn, timeout=5.0, step=0.05):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() > deadline:
            return v
        time.sleep(step)


# --- rcpt: directives and their precedence -------------------------------------------------

DIRECTIVE_CASES = [
    ("alice@example.org", "spam@x.test", ALICE_REJECT, None),                 # user, exact
    ("alice@example.org", "other@x.test", "250", True),                       # user @domain over group *.x.test
    ("alice@example.org", "friend@y.test", "250", False),                     # user exact over group @y.test
    ("alice@example.org", "foe@y.test", "250", True),                         # group @y.test
    ("alice@example.org", "a@news.x.test", "250", False),                     # domain over group
    ("alice@example.org", "a@sub.news.x.test", "550 5.7.1", None),            # domain *.news.x.test
    ("alice@example.org", "a@mail.x.test", "550 5.7.1", None),                # group *.x.test
    ("alice@example.org", "a@b.a.z.test", "250", False),                      # longest suffix *.a.z.test
    ("alice@example.org", "a@a.z.test", "250", False),                        # *.a.z.test covers a.z.test itself
    ("alice@example.org", "a@q.z.test", "550 5.7.1 <alice@example.org> does not accept mail from <a@q.z.test>", None),
    ("carol@example.org", "other@x.test", "550 5.7.1 <carol@example.org> does not accept mail from <other@x.test>",
     None),                                                                    # no user rule: group applies
    ("carol@example.org", "someone@clean.test", "250", False),                # default accept
    ("carol@example.org", "", "250", False),                                  # null sender, default
    ("dave@example.net", "someone@clean.test", "250", True),                  # default quarantine
    ("dave@example.net", "", "250", True),                                    # null sender, default quarantine
    ("dave@example.net", "x@bad.test", "550 5.7.1 <dave@example.net> refuses mail from <x@bad.test>", None),
    ("Alice@EXAMPLE.org", "spam@x.test", "550 5.7.1", None),                  # case of the recipient
]


def test_rcpt_directives(seeded):
    """Precedence: user over domain over group; exact over @domain over *.suffix (longest
    first); the domain's default for senders no rule names."""
    url, ids, _ = seeded
    for rcpt, sender, expect, quarantine in DIRECTIVE_CASES:
        r = rpc(url, op="rcpt", sender=sender, rcpt=rcpt, helo="mx.sender.test")
        case = (rcpt, sender, r)
        assert reply(r).startswith(expect), case
        if quarantine is not None:
            assert r["action"] == "accept" and r["enh"] == "2.1.5", case
            assert r["route"]["quarantine"] is quarantine, case
            assert r["route"]["mode"] == "local" and r["route"]["group_id"] == ids["g1"], case
        else:
            assert "route" not in r and r["action"] == "reject", case


HELD_BY = [
    ("alice@example.org", "other@x.test", "user_rule"),        # alice's own @x.test rule
    ("alice@example.org", "foe@y.test", "group_rule"),         # the group's @y.test rule
    ("dave@example.net", "someone@clean.test", "domain_default"),
]


def test_rcpt_route_says_why_held(seeded):
    """A held copy keeps why it is held (issue 23): the route names the rule that decided;
    a copy that is not held has no reason."""
    url, _, _ = seeded
    for rcpt, sender, held_by in HELD_BY:
        r = rpc(url, op="rcpt", sender=sender, rcpt=rcpt)
        assert r["route"]["quarantine"] is True and r["route"]["held_by"] == held_by, (rcpt, sender, r)
    r = rpc(url, op="rcpt", sender="friend@y.test", rcpt="alice@example.org")
    assert r["route"]["quarantine"] is False and "held_by" not in r["route"], r


# What a group created without spam settings asks of the scanner (migration 0016): DMARC
# p=reject enforced, quarantine from a score of 6. The route carries it to the scanner.


def test_rcpt_route_names_user_domain_group(seeded):
    url, ids, _ = seeded
    r = rpc(url, op="rcpt", sender="someone@clean.test", rcpt="alice@example.org")
    assert r["route"] == {"mode": "local", "group_id": ids["g1"], "domain_id": ids["org"],
                          "user_id": ids["alice"], "quarantine": False, "content": NEW_GROUP_CONTENT,
                          "quota_bytes": 0}   # no quota: delivery need not look it up


def test_rcpt_route_carries_the_users_quota(seeded, db):
    """A local route brings the user's quota from policy's cache, so delivery asks nothing
    per copy; a relay route has none (the downstream keeps the mailboxes)."""
    url, ids, svc = seeded
    reloads = lambda: int(re.search(r"^clement_policy_cache_reloads_total (\d+)", svc.metrics(), re.M).group(1))
    before = reloads()
    db.execute("UPDATE users SET quota_bytes = 5000000000 WHERE id = %s", (ids["alice"],))
    assert wait_for(lambda: reloads() > before, timeout=5)
    r = rpc(url, op="rcpt", sender="someone@clean.test", rcpt="alice@example.org")
    assert r["route"]["mode"] == "local" and r["route"]["quota_bytes"] == 5000000000, r


def test_unknown_and_disabled_recipients(seeded):
    url, ids, _ = seeded
    r = rpc(url, op="rcpt", sender="a@clean.test", rcpt="bob@example.org")
    assert reply(r) == "550 5.1.1 <bob@example.org>: no such user"
    r = rpc(url, op="rcpt", sender="a@clean.test", rcpt="nobody@example.net")
    assert reply(r) == "550 5.1.1 <nobody@example.net>: unknown mailbox here"
    r = rpc(url, op="rcpt", sender="a@clean.test", rcpt="eve@example.org")
    assert r["code"] == 550 and r["enh"] == "5.2.1"
    r = rpc(url, op="rcpt", sender="a@clean.test", rcpt="not an address")
    assert r["code"] == 501 and r["action"] == "reject"


# --- no open relay ---------------------------------------------------------------------------

RELAY_CASES = [
    ("", None, "smtp"),                                   # null sender
    ("alice@example.org", None, "smtp"),                  # claims to be one of ours
    ("spam@x.test", None, "smtp"),                        # stranger
    ("alice@example.org", None, "submission"),            # submission without AUTH
    ("alice@example.org", "alice@example.org", "smtp"),   # auth_user on port 25 is not submission
]


def test_no_open_relay(seeded):
    url, _, _ = seeded
    for sender, auth_user, listener in RELAY_CASES:
        for rcpt in ("victim@elsewhere.test", "victim@sub.example.org", "victim@example.org.evil.test"):
            r = rpc(url, op="rcpt", sender=sender, rcpt=rcpt, auth_user=auth_user, listener=listener)
            assert reply(r) == "554 5.7.1 relay access denied", (sender, auth_user, listener, rcpt, r)


def test_authenticated_submission_goes_outbound(seeded):
    url, ids, _ = seeded
    r = rpc(url, op="rcpt", sender="alice@example.org", rcpt="friend@elsewhere.test",
            auth_user="alice@example.org", listener="submission")
    assert reply(r) == "250 2.1.5 Ok"
    assert r["route"] == {"mode": "outbound", "group_id": ids["g1"], "domain_id": ids["org"],
                          "user_id": ids["alice"], "quarantine": False}
    # A local recipient of an authenticated user keeps its own route; directives are for strangers.
    r = rpc(url, op="rcpt", sender="spam@x.test", rcpt="alice@example.org", auth_user="alice@example.org",
            listener="submission")
    assert r["action"] == "accept" and r["route"]["mode"] == "local"


def test_rcpt_refusals_are_logged(seeded, db):
    url, ids, _ = seeded
    rpc(url, op="rcpt", sid="S-relay", sender="x@clean.test", rcpt="victim@elsewhere.test")
    rpc(url, op="rcpt", sid="S-unknown", sender="x@clean.test", rcpt="bob@example.org")
    rpc(url, op="rcpt", sid="S-dir", sender="spam@x.test", rcpt="alice@example.org")
    rows = wait_for(lambda: (lambda r: r if len(r) == 3 else None)(db.query(
        "SELECT sid, status, reason_class, code, enh, reason, rcpt, sender, host(client_ip) AS ip, user_id, domain_id "
        "FROM message_log ORDER BY sid")))
    assert rows, db.query("SELECT * FROM message_log")
    by = {r["sid"]: r for r in rows}
    assert by["S-relay"]["reason_class"] == "relay_denied" and by["S-relay"]["code"] == 554
    assert by["S-unknown"]["reason_class"] == "unknown_rcpt"
    assert by["S-unknown"]["reason"] == "<bob@example.org>: no such user"
    assert by["S-dir"]["reason_class"] == "directive" and by["S-dir"]["user_id"] == ids["alice"]
    assert all(r["status"] == "rejected" and r["ip"] == "192.0.2.10" for r in rows)


def test_rcpt_with_more_answers_each_recipient_as_its_own_call(seeded, db):
    """rcpt with "more" (the RCPTs a pipelining client sent at once, docs/RPC.md): one verdict
    per further recipient, in order, each the one a call of its own gets (directives, unknown
    user, relay), each refusal logged; a "more" that is not a list of at most 32 addresses is
    a bad request, not a verdict."""
    url, ids, svc = seeded
    more = ["carol@example.org", "bob@example.org", "Alice@EXAMPLE.org", "dave@example.net", "victim@elsewhere.test"]
    r = rpc(url, op="rcpt", sid="S-more", sender="other@x.test", rcpt="alice@example.org", more=more)
    alone = [rpc(url, op="rcpt", sid="S-alone", sender="other@x.test", rcpt=a) for a in more]
    assert r["code"] == 250 and r["route"]["quarantine"], r
    assert len(r["more"]) == 5, r
    for got, want in zip(r["more"], alone):
        assert reply(got) == reply(want) and got.get("route") == want.get("route"), (got, want)
    assert [m["code"] for m in r["more"]] == [550, 550, 250, 550, 554], r["more"]
    assert r["more"][2]["route"]["user_id"] == ids["alice"], r["more"][2]
    rows = wait_for(lambda: (lambda x: x if len(x) == 4 else None)(db.query(
        "SELECT rcpt, reason_class FROM message_log WHERE sid = 'S-more' ORDER BY rcpt")))
    assert [(x["rcpt"], x["reason_class"]) for x in rows or []] == [
        ("bob@example.org", "unknown_rcpt"), ("carol@example.org", "directive"),
        ("dave@example.net", "directive"), ("victim@elsewhere.test", "relay_denied")], rows
    for bad in (["a@example.org"] * 33, ["carol@example.org", 7], "carol@example.org"):
        r = rpc(url, op="rcpt", sender="a@clean.test", rcpt="alice@example.org", more=bad)
        assert r["ok"] is False and "at most 32" in r["error"], r


def refusal_counts(svc):
    """clement_policy_refusals_total by reason, from the service's /metrics."""
    out = {}
    for line in svc.metrics().splitlines():
        if line.startswith("clement_policy_refusals_total{"):
            labels, value = line.rsplit(" ", 1)
            out[labels.split('"')[1]] = float(value)
    return out


def test_refusals_are_counted_by_reason(seeded, db):
    """An admin reading /metrics sees which rule refuses: one series per reason, each refusal
    counted once under its own (reputation: test_reputation.py)."""
    url, ids, svc = seeded
    assert set(refusal_counts(svc)) == {"address", "loopback", "banned", "reputation", "helo", "sender_syntax",
                                        "not_your_sender", "relay_denied", "mailbox_disabled", "unknown_rcpt",
                                        "rcpt_syntax", "directive", "auth"}
    assert set(refusal_counts(svc).values()) == {0.0}
    db.execute("INSERT INTO bans (network, status, origin, reason) VALUES "
               "('198.51.100.7/32', 'banned', 'admin', 'dictionary attack')")
    assert wait_for(lambda: rpc(url, op="connect", ip="198.51.100.7")["code"] == 554)
    sent = [(dict(op="connect", ip="127.0.0.1"), "loopback"),
            (dict(op="helo", helo="bad host"), "helo"),
            (dict(op="mail", sender="no-at-sign", size=1000, smtputf8=False), "sender_syntax"),
            (dict(op="mail", sender="carol@example.org", auth_user="alice@example.org", listener="submission"),
             "not_your_sender"),
            (dict(op="rcpt", sender="a@clean.test", rcpt="victim@elsewhere.test"), "relay_denied"),
            (dict(op="rcpt", sender="a@clean.test", rcpt="eve@example.org"), "mailbox_disabled"),
            (dict(op="rcpt", sender="a@clean.test", rcpt="bob@example.org"), "unknown_rcpt"),
            (dict(op="rcpt", sender="a@clean.test", rcpt="not an address"), "rcpt_syntax"),
            (dict(op="rcpt", sender="spam@x.test", rcpt="alice@example.org"), "directive"),
            (dict(op="auth", listener="submission", user="alice@example.org", password="wrong"), "auth"),
            (dict(op="rcpt", sender="a@clean.test", rcpt="alice@example.org"), None)]  # accepted: not counted
    for req, why in sent:
        r = rpc(url, **req)
        assert (r["action"] == "reject") == (why is not None), (req, r)
    want = {why: 1.0 for _, why in sent if why}
    want["banned"] = 1.0
    got = refusal_counts(svc)
    assert {k: v for k, v in got.items() if v} == want, got


# --- connect, helo, mail ---------------------------------------------------------------------

def test_connect_bans_and_never_ban(db, services):
    ids = seed(db)
    peer_enf = db.scalar("INSERT INTO mesh_peers (name, host, cert_fingerprint, trust) VALUES "
                         "('p1', 'p1.test', repeat('a', 64), 'enforce') RETURNING id")
    peer_obs = db.scalar("INSERT INTO mesh_peers (name, host, cert_fingerprint, trust) VALUES "
                         "('p2', 'p2.test', repeat('b', 64), 'observe') RETURNING id")
    bans = [("198.51.100.7/32", "banned", "admin", None, "dictionary attack", None),
            ("203.0.113.0/24", "banned", "auto", None, "spam run", None),
            ("2001:db8:bad::/48", "banned", "auto", None, "v6 spam", None),
            ("192.0.2.50/32", "banned", "auto", None, "old", "now() - interval '1 hour'"),
            ("192.0.2.51/32", "lifted", "auto", None, "lifted", None),
            ("192.0.2.52/32", "candidate", "auto", None, "maybe", None),
            ("192.0.2.60/32", "banned", "peer", peer_enf, "peer says spam", None),
            ("192.0.2.61/32", "banned", "peer", peer_obs, "peer observes", None),
            ("10.9.0.0/16", "banned", "admin", None, "office", None)]
    for net, st, origin, peer, reason, exp in bans:
        db.execute(f"INSERT INTO bans (network, status, origin, peer_id, reason, expires_at) "
                   f"VALUES (%s, %s, %s, %s, %s, {exp or 'NULL'})", (net, st, origin, peer, reason))
    db.execute("INSERT INTO never_ban_networks (network) VALUES ('10.9.8.0/24')")
    url, _ = start_policy(services, db.url, CLEMENT_NEVER_BAN="203.0.113.99/32")
    cases = {"198.51.100.7": "554 5.7.1 Client address banned: dictionary attack",
             "203.0.113.5": "554 5.7.1 Client address banned: spam run",
             "::ffff:203.0.113.6": "554 5.7.1 Client address banned: spam run",
             "2001:db8:bad:1::25": "554 5.7.1 Client address banned: v6 spam",
             "2001:db8:bae::1": "220",
             "192.0.2.50": "220", "192.0.2.51": "220", "192.0.2.52": "220",
             "192.0.2.60": "554 5.7.1 Client address banned: peer says spam",
             "192.0.2.61": "220",
             "203.0.113.99": "220",           # CLEMENT_NEVER_BAN beats the /24 ban
             "10.9.8.1": "220",               # never_ban_networks beats the /16 ban
             "10.9.7.1": "554 5.7.1 Client address banned: office",
             "127.0.0.1": "554 5.7.1 Connections from loopback are not accepted",
             "::1": "554 5.7.1"}
    for ip, want in cases.items():
        r = rpc(url, op="connect", ip=ip)
        assert reply(r).startswith(want), (ip, r)


def test_loopback_by_configuration(db, services):
    seed(db)
    url, _ = start_policy(services, db.url, CLEMENT_POLICY_ALLOW_LOOPBACK=1)
    assert rpc(url, op="connect", ip="127.0.0.1")["code"] == 220
    db.execute("INSERT INTO bans (network, status, origin, reason) VALUES ('127.0.0.0/8', 'banned', 'admin', 'no')")
    assert wait_for(lambda: rpc(url, op="connect", ip="127.0.0.1")["code"] == 554, timeout=2)
    url2, _ = start_policy(services, db.url, CLEMENT_NEVER_BAN="127.0.0.0/8, ::1")
    assert rpc(url2, op="connect", ip="127.0.0.1")["code"] == 220
    assert rpc(url2, op="connect", ip="::1")["code"] == 220


HELO_CASES = [("mx.example.com", 250), ("[192.0.2.1]", 250), ("[IPv6:2001:db8::1]", 250),
                                       ("localhost", 250), ("", 501), ("bad host", 501), ("a..b", 501),
                                       ("[999.1.1.1]", 501), ("x" * 300, 501), ("-bad.example", 501)]
MAIL_CASES = [("", 250), ("a@example.com", 250), ('"john doe"@example.com', 250),
                                         ("no-at-sign", 553), ("a@", 553), ("a b@example.com", 553),
                                         ("a@bad_domain.test", 553), ("x" * 65 + "@example.com", 553)]


def test_helo_and_mail_syntax(seeded):
    url, _, _ = seeded
    for helo, code in HELO_CASES:
        r = rpc(url, op="helo", helo=helo)
        assert r["code"] == code, (helo, r)
    # The null sender is how bounces arrive (RFC 5321 4.5.5): it must pass.
    for sender, code in MAIL_CASES:
        r = rpc(url, op="mail", sender=sender, size=1000, smtputf8=False)
        assert r["code"] == code, (sender, r)
        if code == 553:
            assert reply(r) == "553 5.1.7 Bad sender address syntax"
    assert rpc(url, op="mail", sender="jos\u00e9@example.com", smtputf8=True)["code"] == 250
    assert rpc(url, op="mail", sender="jos\u00e9@example.com", smtputf8=False)["code"] == 553


BAD_HELO = "501 5.5.2 <{}>: Helo command rejected: not a domain name or address literal"
BAD_SENDER = "553 5.1.7 Bad sender address syntax"


def test_rcpt_judges_helo_and_sender(seeded, db):
    """smtp-edge answers HELO/EHLO and MAIL (before AUTH) itself and policy gives their verdicts
    at RCPT (Postfix's smtpd_delay_reject): a bad HELO name, a malformed sender, a UTF-8 sender
    without SMTPUTF8 are refused there, counted as the helo and mail ops counted them, and logged
    like the other refused recipients, with the sender and the recipient's domain and user."""
    url, ids, svc = seeded
    before = refusal_counts(svc)
    cases = [
        (dict(sid="D-helo", helo="bad_host!", sender="a@clean.test", rcpt="alice@example.org"),
         BAD_HELO.format("bad_host!"), "helo"),
        (dict(sid="D-helo2", helo="a..b", sender="a@clean.test", rcpt="nobody@example.org"),
         BAD_HELO.format("a..b"), "helo"),
        (dict(sid="D-nohelo", helo=None, sender="a@clean.test", rcpt="alice@example.org"),
         "503 5.5.1 Error: send HELO/EHLO first", "helo"),
        (dict(sid="D-sender", sender="no-at-sign", rcpt="alice@example.org", smtputf8=False),
         BAD_SENDER, "sender_syntax"),
        (dict(sid="D-utf8", sender="jos\u00e9@example.com", rcpt="alice@example.org", smtputf8=False),
         BAD_SENDER, "sender_syntax"),
        (dict(sid="D-relay", sender="a@", rcpt="victim@elsewhere.test"), BAD_SENDER, "sender_syntax"),
    ]
    for req, want, _ in cases:
        r = rpc(url, op="rcpt", **req)
        assert reply(r) == want and r["action"] == "reject" and "route" not in r, (req, r)
    # what passes: SMTPUTF8 given, the null sender, a literal; an older smtp-edge sends no
    # smtputf8 with rcpt (its mail op judged the sender with the flag): not held against it
    for req in [dict(sender="jos\u00e9@example.com", smtputf8=True), dict(sender=""), dict(helo="[192.0.2.1]"),
                dict(sender="jos\u00e9@example.com")]:
        r = rpc(url, op="rcpt", rcpt="alice@example.org", **dict(dict(sender="a@clean.test"), **req))
        assert r["code"] == 250, (req, r)
    got = refusal_counts(svc)
    assert got["helo"] - before["helo"] == 3 and got["sender_syntax"] - before["sender_syntax"] == 3, got
    assert all(got[k] == before[k] for k in got if k not in ("helo", "sender_syntax")), got
    rows = wait_for(lambda: (lambda rs: rs if len(rs) == 6 else None)(db.query(
        "SELECT sid, sender, rcpt, status, reason_class, code, enh, reason, user_id, domain_id, group_id, "
        "host(client_ip) AS ip FROM message_log WHERE sid LIKE 'D-%'")), timeout=5)
    assert rows, "the refused recipients are logged"
    by = {r["sid"]: r for r in rows}
    for req, want, klass in cases:
        row = by[req["sid"]]
        assert f"{row['code']} {row['enh']} {row['reason']}" == want, row
        assert (row["status"], row["reason_class"], row["sender"], row["rcpt"], row["ip"]) == \
            ("rejected", klass, req["sender"], req["rcpt"], "192.0.2.10"), row
    # the recipient's user and domain see who was refused; an unknown user its domain; a
    # domain we do not serve nobody but root
    assert (by["D-helo"]["user_id"], by["D-helo"]["domain_id"], by["D-helo"]["group_id"]) == \
        (ids["alice"], ids["org"], ids["g1"])
    assert (by["D-helo2"]["user_id"], by["D-helo2"]["domain_id"]) == (None, ids["org"])
    assert (by["D-relay"]["user_id"], by["D-relay"]["domain_id"], by["D-relay"]["group_id"]) == (None, None, None)


def test_rcpt_utf8_recipient_under_smtputf8(seeded):
    """The rcpt request carries the MAIL's SMTPUTF8 flag, so a UTF-8 recipient is judged as an
    address (here: no such user) instead of refused as bad syntax, as it was while rcpt had no
    flag; without SMTPUTF8 it is bad syntax (RFC 6531 3.3)."""
    url, _, _ = seeded
    r = rpc(url, op="rcpt", sender="a@clean.test", rcpt="j\u00f6rg@example.org", smtputf8=True)
    assert reply(r) == "550 5.1.1 <j\u00f6rg@example.org>: no such user", r
    r = rpc(url, op="rcpt", sender="a@clean.test", rcpt="j\u00f6rg@example.org", smtputf8=False)
    assert reply(r) == "501 5.1.3 Bad recipient address syntax", r


def test_clement_rpc_tool(seeded):
    url, _, _ = seeded
    out = subprocess.run([str(BIN / "clement-rpc"), url, json.dumps(
        {"v": 1, "op": "rcpt", "sid": "X", "ip": "192.0.2.1", "listener": "smtp", "helo": "client.test",
         "sender": "", "rcpt": "bob@example.org"})], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["text"] == "<bob@example.org>: no such user"


def test_malformed_requests(seeded):
    url, _, svc = seeded
    assert rpc(url, op="nonsense")["ok"] is False
    assert rpc(url, op="rcpt", v=2)["ok"] is False   # refused by the frame layer, before policy
    assert rpc(url, op="log_message", rcpts=[{"rcpt": "a@b.c", "status": "exploded"}])["ok"] is False
    assert rpc(url, op="log_session", ip="not-an-ip", started_at=1.0)["ok"] is False
    # an unknown op is the RPC layer's, counted as such in every service (issue 21)
    assert "clement_policy_bad_requests_total 2" in svc.metrics()
    assert "clement_rpc_unknown_ops_total 1" in svc.metrics()


# --- freshness ---------------------------------------------------------------------------------

def test_cache_refresh_within_a_second(seeded, db):
    url, ids, svc = seeded
    assert rpc(url, op="rcpt", sender="a@clean.test", rcpt="bob@example.org")["code"] == 550
    db.execute("INSERT INTO users (domain_id, local_part) VALUES (%s, 'bob')", (ids["org"],))
    t0 = time.time()
    assert wait_for(lambda: rpc(url, op="rcpt", sender="a@clean.test", rcpt="bob@example.org")["code"] == 250,
                    timeout=1.0), "new user not visible within a second"
    db.execute("UPDATE domains SET default_action = 'quarantine' WHERE id = %s", (ids["org"],))
    assert wait_for(lambda: rpc(url, op="rcpt", sender="a@clean.test",
                                rcpt="bob@example.org")["route"]["quarantine"], timeout=1.0)
    db.execute("INSERT INTO directives (user_id, sender_pattern, action) VALUES (%s, '@clean.test', 'reject')",
               (ids["alice"],))
    assert wait_for(lambda: rpc(url, op="rcpt", sender="a@clean.test", rcpt="alice@example.org")["code"] == 550,
                    timeout=1.0)
    db.execute("DELETE FROM domains WHERE id = %s", (ids["net"],))
    assert wait_for(lambda: rpc(url, op="rcpt", sender="a@clean.test",
                                rcpt="dave@example.net")["text"] == "relay access denied", timeout=1.0)
    assert time.time() - t0 < 10
    m = svc.metrics()
    assert "clement_policy_cache_reloads_total" in m and "clement_policy_cache_age_seconds" in m


def test_a_domain_or_user_added_a_moment_ago_is_deferred_not_refused(db, services):
    """Between the notification of a change and the reload that brings it, a recipient the
    change could make real is deferred (450), not refused for good: an admin who adds a domain
    or a user and mail that arrives at once loses nothing. Once the reload is published the
    answers are final again: the new ones accepted, the unknown ones refused with 5xx."""
    ids = seed(db)
    url, svc = start_policy(services, db.url, CLEMENT_POLICY_CACHE_DEBOUNCE_MS="900ms")
    reloads = lambda: int(re.search(r"^clement_policy_cache_reloads_total (\d+)", svc.metrics(), re.M).group(1))
    ask = lambda rcpt: rpc(url, op="rcpt", sender="a@clean.test", rcpt=rcpt)
    assert ask("bob@fresh.example")["code"] == 554 and ask("newbie@example.org")["code"] == 550
    before = reloads()
    fresh = db.scalar("INSERT INTO domains (name, group_id) VALUES ('fresh.example', %s) RETURNING id", (ids["g1"],))
    db.execute("INSERT INTO users (domain_id, local_part) VALUES (%s, 'bob'), (%s, 'newbie')", (fresh, ids["org"]))
    time.sleep(0.2)  # the watcher has the notification; its reload waits the 900 ms debounce
    r = ask("bob@fresh.example")
    assert (r["code"], r["enh"]) == (450, "4.1.2") and "domain list is being updated" in r["text"], r
    r = ask("newbie@example.org")
    assert (r["code"], r["enh"]) == (450, "4.1.1") and "user list is being updated" in r["text"], r
    assert ask("nobody@example.org")["code"] == 450  # every unknown one, while the reload is pending
    assert wait_for(lambda: reloads() > before, timeout=5)
    assert ask("bob@fresh.example")["code"] == 250
    assert ask("newbie@example.org")["code"] == 250
    assert ask("nobody@example.org")["code"] == 550
    assert ask("bob@still-unknown.example")["code"] == 554


def test_not_ready_and_deferring_until_first_load(services, pg):
    dead = f"postgresql://clement@127.0.0.1:{free_port()}/clement"
    url = rpc_url()
    health = f"127.0.0.1:{free_port()}"
    svc = services.start("policy", {"CLEMENT_POLICY_LISTEN": url, "CLEMENT_DB_URL": dead,
                                    "CLEMENT_POLICY_HEALTH_LISTEN": health}, wait=False)
    assert wait_for(lambda: http_get(f"http://{health}/healthz")[0] == 503, timeout=10)
    assert "cache not loaded" in http_get(f"http://{health}/healthz")[1]
    assert wait_port(int(url.rsplit(":", 1)[1]))
    assert reply(rpc(url, op="rcpt", sender="", rcpt="alice@example.org")) == \
        "451 4.3.0 Temporary failure, try again later"
    assert rpc(url, op="connect", ip="192.0.2.1")["code"] == 421
    assert reply(rpc(url, op="auth", user="alice@example.org", password="x")).startswith("454 4.7.0")
    assert rpc(url, op="mail", sender="")["code"] == 250   # syntax needs no database
    assert reply(rpc(url, op="rcpt", helo="bad host", sender="", rcpt="alice@example.org")).startswith("501 5.5.2")
    assert reply(rpc(url, op="rcpt", sender="no-at-sign", rcpt="alice@example.org")).startswith("553 5.1.7")
    assert svc.proc.poll() is None


def test_postgres_restart_survived(seeded, db, pg):
    url, ids, svc = seeded
    assert rpc(url, op="rcpt", sender="a@clean.test", rcpt="alice@example.org")["code"] == 250
    pg.stop()
    try:
        # The cache is what the database said; nobody can change the database meanwhile.
        assert rpc(url, op="rcpt", sender="a@clean.test", rcpt="alice@example.org")["code"] == 250
        assert rpc(url, op="rcpt", sender="spam@x.test", rcpt="alice@example.org")["code"] == 550
        assert rpc(url, op="log_session", sid="S-down", ip="192.0.2.9", started_at=time.time() - 5,
                   ended_at=time.time(), outcome="quit")["ok"] is True
        assert wait_for(lambda: "clement_policy_cache_db_connected 0" in svc.metrics(), timeout=5)
    finally:
        pg.start()
    db.execute("INSERT INTO users (domain_id, local_part) VALUES (%s, 'bob')", (ids["org"],))
    assert wait_for(lambda: rpc(url, op="rcpt", sender="a@clean.test", rcpt="bob@example.org")["code"] == 250,
                    timeout=8), svc.log()[-3000:]
    # The session logged while the database was down is written once it is back.
    assert wait_for(lambda: db.scalar("SELECT count(*) FROM smtp_sessions WHERE sid = 'S-down'") == 1, timeout=8)


def test_stale_cache_defers(seeded, db, pg, services):
    url, _ = start_policy(services, db.url, CLEMENT_POLICY_CACHE_MAX_STALE_S=0)
    assert rpc(url, op="rcpt", sender="a@clean.test", rcpt="alice@example.org")["code"] == 250
    pg.stop()
    try:
        assert wait_for(lambda: rpc(url, op="rcpt", sender="a@clean.test", rcpt="alice@example.org")["code"] == 451,
                        timeout=5)
    finally:
        pg.start()
    assert wait_for(lambda: rpc(url, op="rcpt", sender="a@clean.test", rcpt="alice@example.org")["code"] == 250,
                    timeout=8)


# --- batched logs ------------------------------------------------------------------------------

def test_log_session_and_message_batched(seeded, db):
    url, ids, svc = seeded
    now = time.time()
    for i in range(20):
        r = rpc(url, op="log_session", sid=f"L{i}", ip="2001:db8::5", port=41000 + i, listener="smtp",
                helo="mx.test", tls="TLSv1.3 TLS_AES_256_GCM_SHA384", started_at=now - 3, ended_at=now,
                outcome="quit", pregreet=False, protocol_errors=1, messages=2, transcript="EHLO mx.test\n250 ok\xe9")
        assert r == {"v": 1, "ok": True}
    r = rpc(url, op="log_message", sid="L0", ip="2001:db8::5", msgid="m1@test", sender="a@clean.test", size=1234,
            subject="Hello",
            rcpts=[{"rcpt": "alice@example.org", "status": "received", "code": 250, "enh": "2.0.0", "reason": "ok",
                    "route": {"mode": "local", "group_id": ids["g1"], "domain_id": ids["org"],
                              "user_id": ids["alice"], "quarantine": False}},
                   {"rcpt": "carol@example.org", "status": "rejected", "code": 554, "enh": "5.7.1",
                    "reason": "Virus found: Eicar-Test-Signature", "reason_class": "virus",
                    "virus": "Eicar-Test-Signature"}])
    assert r == {"v": 1, "ok": True}
    assert wait_for(lambda: db.scalar("SELECT count(*) FROM smtp_sessions") == 20, timeout=3)
    s = db.query("SELECT *, host(client_ip) AS ip FROM smtp_sessions WHERE sid = 'L3'")[0]
    assert s["ip"] == "2001:db8::5" and s["client_port"] == 41003 and s["helo"] == "mx.test"
    assert s["protocol_errors"] == 1 and s["messages"] == 2 and s["outcome"] == "quit"
    assert abs(s["started_at"].timestamp() - (now - 3)) < 0.01
    rows = wait_for(lambda: db.query("SELECT * FROM message_log WHERE msgid = 'm1@test' ORDER BY rcpt"), timeout=3)
    assert len(rows) == 2
    assert rows[0]["status"] == "received" and rows[0]["user_id"] == ids["alice"] and rows[0]["subject"] == "Hello"
    assert rows[1]["virus"] == "Eicar-Test-Signature" and rows[1]["reason_class"] == "virus"
    assert rows[1]["size"] == 1234
    m = svc.metrics()
    assert "clement_policy_log_rows_written_total 22" in m


def test_log_session_carries_the_last_message(seeded, db):
    """smtp-edge's last log_message travels inside log_session as "message" (docs/RPC.md): both
    rows are written; a carried message that is not a valid log_message refuses the whole
    request, and neither row is written."""
    url, ids, svc = seeded
    now = time.time()
    msg = {"v": 1, "op": "log_message", "sid": "C1", "ip": "192.0.2.7", "msgid": "carried@test",
           "sender": "a@clean.test", "size": 99, "subject": "Carried",
           "rcpts": [{"rcpt": "alice@example.org", "status": "received", "code": 250, "enh": "2.0.0",
                      "reason": "ok", "route": {"mode": "local", "group_id": ids["g1"], "domain_id": ids["org"],
                                                "user_id": ids["alice"], "quarantine": False}}]}
    r = rpc(url, op="log_session", sid="C1", ip="192.0.2.7", started_at=now - 1, ended_at=now, outcome="quit",
            messages=1, message=msg)
    assert r == {"v": 1, "ok": True}
    assert wait_for(lambda: db.scalar("SELECT count(*) FROM smtp_sessions WHERE sid = 'C1'") == 1, timeout=3)
    rows = wait_for(lambda: db.query("SELECT * FROM message_log WHERE msgid = 'carried@test'"), timeout=3)
    assert len(rows) == 1 and rows[0]["sid"] == "C1" and rows[0]["user_id"] == ids["alice"]
    assert rows[0]["subject"] == "Carried" and rows[0]["status"] == "received"
    for bad in ({**msg, "sid": "C2", "msgid": "bad@test", "rcpts": []},
                {**msg, "sid": "C2", "msgid": "bad@test", "rcpts": [{"rcpt": "x@y.z", "status": "exploded"}]},
                "not an object"):
        r = rpc(url, op="log_session", sid="C2", ip="192.0.2.7", started_at=now, ended_at=now, message=bad)
        assert r["ok"] is False and "log_session's message" in r["error"], r
    # a request after them, once written, shows that nothing of theirs was queued before it
    assert rpc(url, op="log_session", sid="C3", ip="192.0.2.7", started_at=now, ended_at=now)["ok"]
    assert wait_for(lambda: db.scalar("SELECT count(*) FROM smtp_sessions WHERE sid = 'C3'") == 1, timeout=3)
    assert db.scalar("SELECT count(*) FROM smtp_sessions WHERE sid = 'C2'") == 0
    assert db.scalar("SELECT count(*) FROM message_log WHERE msgid = 'bad@test'") == 0


def test_logs_flushed_on_sigterm(db, services):
    seed(db)
    url, svc = start_policy(services, db.url, CLEMENT_POLICY_LOG_FLUSH_MS=1000, CLEMENT_POLICY_LOG_BATCH_MAX=1000)
    for i in range(5):
        rpc(url, op="log_session", sid=f"Q{i}", ip="192.0.2.1", started_at=time.time(), ended_at=time.time())
    assert svc.stop() == 0
    assert db.scalar("SELECT count(*) FROM smtp_sessions WHERE sid LIKE 'Q%'") == 5


def test_log_queue_bounded_while_db_down(db, pg, services):
    """PostgreSQL away: rows wait, the queue keeps at most CLEMENT_POLICY_LOG_QUEUE_MAX and
    drops the oldest (counted); what is left is written once the database is back."""
    seed(db)
    url, svc = start_policy(services, db.url, CLEMENT_POLICY_LOG_QUEUE_MAX=100, CLEMENT_POLICY_LOG_BATCH_MAX=10)
    pg.stop()
    try:
        for i in range(150):
            assert rpc(url, op="log_session", sid=f"B{i:03d}", ip="192.0.2.1", started_at=time.time())["ok"]
        m = svc.metrics()
        assert "clement_policy_log_queue_length 100" in m, m
        dropped = int(next(l for l in m.splitlines() if l.startswith("clement_policy_log_dropped_total")).split()[1])
        assert 40 <= dropped <= 50
    finally:
        pg.start()
    assert wait_for(lambda: db.scalar("SELECT count(*) FROM smtp_sessions") == 150 - dropped, timeout=10)
    # The newest rows survive; the ones lost are among the oldest (the writer's own batch in
    # hand, the very first rows, is kept and retried).
    present = {r["sid"] for r in db.query("SELECT sid FROM smtp_sessions")}
    missing = {f"B{i:03d}" for i in range(150)} - present
    assert "B149" in present and missing and max(missing) < "B060", sorted(missing)
