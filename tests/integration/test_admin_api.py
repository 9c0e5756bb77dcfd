"""admin-api over real HTTP against the real binary and a real PostgreSQL: the role x route x
scope matrix, CSRF and Origin, sessions, login rate limits, and bad input.

`world` seeds one data set for the module: two groups, three domains, one account per role
and objects (directives, logs, quarantine, schedules) inside and outside each admin's scope.
"""
import os
import subprocess
import time

import pytest

from conftest import BIN
from harness.api import PASSWORD, pw_hash, Api, start_api, seed, world, R, G, D, U  # noqa: F401 (fixtures: world)


def ids(body):
    return sorted(item["id"] for item in body["items"])


# ---- the matrix ---------------------------------------------------------------------------------
# (method, path, body, {role: expected status}). In scope / out of scope are separate rows.


def allowed(ok, **overrides):
    """Expected status per role: `ok` for everyone, changed per role by keyword."""
    e = {R: ok, G: ok, D: ok, U: ok}
    e.update({k[0].upper() if False else {"r": R, "g": G, "d": D, "u": U}[k]: v for k, v in overrides.items()})
    return e


READ_MATRIX = [
    ("GET", "/api/me", allowed(200)),
    ("GET", "/api/groups", allowed(200, d=403, u=403)),
    ("GET", "/api/groups/1", allowed(200, d=403, u=403)),
    ("GET", "/api/groups/2", allowed(200, g=404, d=403, u=403)),
    ("GET", "/api/domains", allowed(200, u=403)),
    ("GET", "/api/domains/1", allowed(200, u=403)),
    ("GET", "/api/domains/2", allowed(200, d=404, u=403)),
    ("GET", "/api/domains/3", allowed(200, g=404, d=404, u=403)),
    ("GET", "/api/users", allowed(200, u=403)),
    ("GET", "/api/users/4", allowed(200)),
    ("GET", "/api/users/5", allowed(200, d=404, u=404)),
    ("GET", "/api/users/6", allowed(200, g=404, d=404, u=404)),
    ("GET", "/api/users/4/scopes", allowed(200, u=403)),
    ("GET", "/api/users/6/scopes", allowed(200, g=404, d=404, u=403)),
    ("GET", "/api/directives", allowed(200)),
    ("GET", "/api/directives/1", allowed(200)),
    ("GET", "/api/directives/2", allowed(200, d=404, u=404)),
    ("GET", "/api/directives/3", allowed(200, g=404, d=404, u=404)),
    ("GET", "/api/directives/4", allowed(200, u=404)),
    ("GET", "/api/directives/6", allowed(200, d=404, u=404)),
    ("GET", "/api/directives/7", allowed(200, g=404, d=404, u=404)),
    ("GET", "/api/logs", allowed(200)),
    ("GET", "/api/logs/1", allowed(200)),
    ("GET", "/api/logs/2", allowed(200, d=404, u=404)),
    ("GET", "/api/logs/3", allowed(200, g=404, d=404, u=404)),
    ("GET", "/api/logs/4", allowed(200, g=404, d=404)),
    ("GET", "/api/logs/5", allowed(200, g=404, d=404, u=404)),
    ("GET", "/api/smtp-sessions", allowed(200, u=403)),
    ("GET", "/api/smtp-sessions/s1", allowed(200, u=403)),
    ("GET", "/api/smtp-sessions/s2", allowed(200, d=404, u=403)),
    ("GET", "/api/smtp-sessions/s3", allowed(200, g=404, d=404, u=403)),
    ("GET", "/api/stats", allowed(200)),
    ("GET", "/api/quarantine", allowed(200)),
    ("GET", "/api/quarantine/1", allowed(200)),
    ("GET", "/api/quarantine/2", allowed(200, d=404, u=404)),
    ("GET", "/api/quarantine/3", allowed(200, g=404, d=404, u=404)),
    ("GET", "/api/digest-schedules", allowed(200)),
    ("GET", "/api/bans", allowed(200, g=403, d=403, u=403)),
    ("GET", "/api/never-ban", allowed(200, g=403, d=403, u=403)),
    ("GET", "/api/mesh-peers", allowed(200, g=403, d=403, u=403)),
    ("GET", "/api/settings", allowed(200, g=403, d=403, u=403)),
]


@pytest.mark.parametrize("method,path,expect", READ_MATRIX, ids=[f"{m} {p}" for m, p, _ in READ_MATRIX])
def test_read_matrix(world, method, path, expect):
    for role, want in expect.items():
        st, body = world["clients"][role].req(method, path)
        assert st == want, f"{role}: {method} {path} -> {st} {body}"
        assert isinstance(body, dict)
        if st >= 400:
            assert isinstance(body.get("error"), str) and body["error"]


LIST_SCOPE = [
    # path, {role: ids that must be listed exactly}
    ("/api/groups", {R: [1, 2], G: [1]}),
    ("/api/domains", {R: [1, 2, 3], G: [1, 2], D: [1]}),
    ("/api/users", {R: [1, 2, 3, 4, 5, 6, 7], G: [1, 2, 3, 4, 5], D: [1, 2, 3, 4]}),
    ("/api/directives", {R: [1, 2, 3, 4, 5, 6, 7], G: [1, 2, 4, 6], D: [1, 4], U: [1]}),
    ("/api/logs", {R: [1, 2, 3, 4, 5], G: [1, 2], D: [1], U: [1, 4]}),
    ("/api/quarantine", {R: [1, 2, 3], G: [1, 2], D: [1], U: [1]}),
    ("/api/digest-schedules", {R: [1, 2, 3, 4], G: [1, 3], D: [1, 3], U: [1]}),
]


@pytest.mark.parametrize("path,expect", LIST_SCOPE, ids=[p for p, _ in LIST_SCOPE])
def test_lists_hold_exactly_the_scope(world, path, expect):
    for role, want in expect.items():
        st, body = world["clients"][role].get(path + "?per_page=500")
        assert st == 200, body
        assert ids(body) == want, f"{role} {path}"
        assert body["total"] == len(want) and body["page"] == 1 and body["per_page"] == 500


def test_smtp_session_list_scope(world):
    c = world["clients"]
    sids = lambda role: sorted(i["sid"] for i in c[role].get("/api/smtp-sessions")[1]["items"])
    assert sids(R) == ["s1", "s2", "s3", "s5"]
    assert sids(G) == ["s1", "s2"]
    assert sids(D) == ["s1"]
    st, one = c[D].get("/api/smtp-sessions/s1")
    assert one["transcript"] == "EHLO a" and one["client_ip"] == "192.0.2.1"
    assert "transcript" not in c[D].get("/api/smtp-sessions")[1]["items"][0]


def test_stats_counts_only_the_scope(world):
    c = world["clients"]
    total = lambda role: sum(x["count"] for x in c[role].get("/api/stats")[1]["per_hour"])
    assert (total(R), total(G), total(D)) == (5, 2, 1)
    st, s = c[R].get("/api/stats?hours=48")
    assert [b["network"] for b in s["top_banned"]] == ["203.0.113.6"]
    assert {(x["reason_class"], x["count"]) for x in s["top_reasons"]} == {("directive", 1), ("banned", 1)}
    assert c[D].get("/api/stats")[1]["top_banned"] == []
    assert c[R].get("/api/stats?hours=0")[0] == 400


def test_stats_per_domain_and_per_user(world):
    """The dashboard of one domain or one user (issue 23): totals by outcome and refusals by
    reason class, narrowed within the caller's scope, never widened; a user gets its own."""
    c = world["clients"]
    totals = lambda role, q="": {x["status"]: x["count"] for x in c[role].get("/api/stats" + q)[1]["totals"]}
    refused = lambda role, q="": {x["reason_class"]: x["count"]
                                  for x in c[role].get("/api/stats" + q)[1]["refused_by_class"]}
    assert totals(R) == {"received": 1, "rejected": 2, "quarantined": 1, "sent": 1}
    assert refused(R) == {"directive": 1, "banned": 1}
    assert totals(R, "?domain_id=2") == {"rejected": 1} and refused(R, "?domain_id=2") == {"directive": 1}
    assert totals(R, "?domain_id=3") == {"quarantined": 1}
    assert totals(R, "?group_id=2") == {"quarantined": 1}
    # a user's dashboard: received for it and sent from its address (log row 4)
    assert totals(R, "?user_id=4") == {"received": 1, "sent": 1}
    assert totals(U) == {"received": 1, "sent": 1}
    # narrowing to another scope gives nothing, never its counts
    assert totals(U, "?user_id=5") == {} and totals(D, "?domain_id=3") == {} and totals(G, "?domain_id=3") == {}
    assert totals(D, "?user_id=6") == {} and refused(G, "?group_id=2") == {}
    assert totals(G, "?domain_id=2") == {"rejected": 1}
    # the banned networks belong to the whole view only
    assert c[R].get("/api/stats?domain_id=1")[1]["top_banned"] == []
    assert c[U].get("/api/stats")[1]["top_banned"] == []
    st, body = c[R].get("/api/stats?domain_id=x")
    assert st == 400 and body["error"]


def test_pagination_and_filters(world):
    c = world["clients"][R]
    st, p1 = c.get("/api/users?per_page=3&page=1")
    st, p3 = c.get("/api/users?per_page=3&page=3")
    assert (p1["total"], len(p1["items"]), len(p3["items"])) == (7, 3, 1)
    assert c.get("/api/users?per_page=0")[0] == 400
    assert c.get("/api/users?page=x")[0] == 400
    assert ids(c.get("/api/logs?status=rejected")[1]) == [2, 5]
    assert ids(c.get("/api/logs?client_ip=192.0.2.0/24")[1]) == [1, 2]
    assert ids(c.get("/api/logs?rcpt=CAROL")[1]) == [3]
    assert ids(c.get("/api/logs?sender=alice%40a")[1]) == [4]
    assert ids(c.get("/api/logs?direction=out")[1]) == [4]
    assert c.get("/api/logs?from=2000-01-01&to=2999-01-01")[1]["total"] == 5
    assert c.get("/api/logs?from=2999-01-01")[1]["total"] == 0
    st, body = c.get("/api/logs?client_ip=not-an-ip")
    assert st == 400 and "invalid value" in body["error"]
    assert c.get("/api/logs?sender=%25")[1]["total"] == 0   # LIKE wildcards are literal
    assert ids(c.get("/api/directives?level=group")[1]) == [6, 7]
    assert c.get("/api/directives?level=planet")[0] == 400
    assert ids(c.get("/api/bans?status=candidate")[1]) == [1]


def test_sortable_columns_and_one_message_filters(world):
    """The UI's sortable columns sort on the server (every page, not the one shown); an unknown
    column or direction is a 400 naming the choices. A message is found by its queue id and
    session (issue 23)."""
    c = world["clients"][R]
    order = lambda path: [x["id"] for x in c.get(path)[1]["items"]]  # noqa: E731
    assert order("/api/logs?sort=rcpt&order=asc") == [1, 2, 3, 4, 5]
    assert order("/api/logs?sort=rcpt") == [5, 4, 3, 2, 1]
    assert order("/api/logs?sort=rcpt&order=asc&per_page=2&page=2") == [3, 4]
    assert order("/api/quarantine?sort=rcpt&order=desc") == [3, 2, 1]
    st, body = c.get("/api/logs?sort=password")
    assert st == 400 and body["error"] == "sort must be one of time, sender, rcpt, subject, status, size"
    assert c.get("/api/quarantine?sort=rcpt&order=sideways")[1] == {"error": "order must be asc or desc"}
    assert ids(c.get("/api/quarantine?msgid=q2")[1]) == [2]
    assert ids(c.get("/api/logs?sid=s3")[1]) == [3]
    # A user's sort stays within its own rows.
    assert [x["id"] for x in world["clients"][U].get("/api/quarantine?sort=rcpt")[1]["items"]] == [1]


# The per-domain and per-group tabs of the UI: ?domain_id= and ?group_id= narrow a list within
# the caller's scope. An id outside it lists nothing (200, like /api/users?domain_id=), never
# the rows of that other domain or group.
OWNER_FILTERS = [
    # path, query, {role: ids listed}
    ("/api/logs", "domain_id=2", {R: [2], G: [2], D: [], U: []}),
    ("/api/logs", "domain_id=1", {R: [1], G: [1], D: [1], U: [1]}),
    ("/api/logs", "domain_id=3", {R: [3], G: [], D: [], U: []}),
    ("/api/logs", "group_id=1", {R: [1, 2], G: [1, 2], D: [1], U: [1]}),
    ("/api/logs", "group_id=2", {R: [3], G: [], D: [], U: []}),
    ("/api/logs", "group_id=1&domain_id=2", {R: [2], G: [2], D: []}),
    # "My mail" of any role: received for the user, or sent from its address (row 4).
    ("/api/logs", "user_id=4", {R: [1, 4], G: [1], D: [1], U: [1, 4]}),
    ("/api/logs", "user_id=1", {R: [], G: [], D: [], U: []}),
    ("/api/logs", "user_id=5", {R: [2], G: [2], D: [], U: []}),
    ("/api/smtp-sessions", "domain_id=2", {R: ["s2"], G: ["s2"], D: []}),
    ("/api/smtp-sessions", "domain_id=3", {R: ["s3"], G: [], D: []}),
    ("/api/smtp-sessions", "group_id=1", {R: ["s1", "s2"], G: ["s1", "s2"], D: ["s1"]}),
    ("/api/smtp-sessions", "group_id=2", {R: ["s3"], G: [], D: []}),
    ("/api/quarantine", "domain_id=2", {R: [2], G: [2], D: [], U: []}),
    ("/api/quarantine", "group_id=1", {R: [1, 2], G: [1, 2], D: [1], U: [1]}),
    ("/api/quarantine", "group_id=2", {R: [3], G: [], D: [], U: []}),
]


@pytest.mark.parametrize("path,query,expect", OWNER_FILTERS, ids=[f"{p}?{q}" for p, q, _ in OWNER_FILTERS])
def test_domain_and_group_filters_stay_within_the_scope(world, path, query, expect):
    for role, want in expect.items():
        st, body = world["clients"][role].get(f"{path}?{query}&per_page=500")
        assert st == 200, f"{role}: {body}"
        got = sorted(i["sid"] if path == "/api/smtp-sessions" else i["id"] for i in body["items"])
        assert got == want and body["total"] == len(want), f"{role} {path}?{query}"


@pytest.mark.parametrize("path", ["/api/logs", "/api/smtp-sessions", "/api/quarantine"])
def test_domain_and_group_filters_refuse_non_numbers(world, path):
    for key in ("domain_id", "group_id") + (("user_id",) if path != "/api/smtp-sessions" else ()):
        st, body = world["clients"][R].get(f"{path}?{key}=1%20OR%201=1")
        assert st == 400 and "invalid value" in body["error"], body


def test_quarantine_preview_is_safe_text(world):
    st, q = world["clients"][U].get("/api/quarantine/1")
    assert st == 200
    assert {"name": "Subject", "value": "Hi alice   folded"} in q["headers"]
    assert q["preview"] == "<script>alert(1)</script>\ufffdbody"   # text only; control byte replaced
    assert "message" not in q
    assert world["clients"][U].last.getheader("Content-Type") == "application/json"


def test_ban_candidates_carry_their_statistics(world):
    st, body = world["clients"][R].get("/api/bans?status=candidate")
    cand = body["items"][0]
    assert cand["network"] == "203.0.113.5"
    assert cand["stats"][0]["unknown_rcpt"] == 38 and cand["stats"][0]["window"] == "24h"


# ---- writes: role and scope -------------------------------------------------------------------

def test_group_writes(world):
    c = world["clients"]
    assert c[G].req("POST", "/api/groups", {"name": "gx", "mode": "local"})[0] == 403
    st, g = c[R].req("POST", "/api/groups", {"name": "gx", "mode": "relay", "relay_host": "mx.test",
                                             "relay_auth_pass": "s3cret"})
    assert st == 201 and g["relay_auth_pass_set"] is True and "relay_auth_pass" not in g
    assert c[G].req("PATCH", "/api/groups/1", {"verify_ttl_s": 60})[0] == 200
    assert c[G].req("PATCH", "/api/groups/1", {"name": "renamed"})[0] == 403
    assert c[G].req("PATCH", f"/api/groups/{g['id']}", {"verify_ttl_s": 60})[0] == 404
    assert c[G].req("PATCH", "/api/groups/1", {"id": 5})[0] == 403
    assert c[R].req("POST", "/api/groups", {"name": "gx", "mode": "local"})[0] == 409
    assert c[R].req("POST", "/api/groups", {"name": "gy", "mode": "relay"})[0] == 400   # relay needs a host
    assert c[G].req("DELETE", f"/api/groups/{g['id']}")[0] == 403
    assert c[R].req("DELETE", f"/api/groups/{g['id']}")[0] == 200
    assert c[R].req("DELETE", f"/api/groups/{g['id']}")[0] == 404
    assert c[R].req("DELETE", "/api/groups/1")[0] == 409    # still has domains


def test_group_reputation_threshold(world):
    """A group admin sets its group's stricter DNSBL threshold (issue 17); 1..1000 or null."""
    c = world["clients"]
    assert c[G].req("PATCH", "/api/groups/1", {"dnsbl_threshold": 2})[0] == 200
    assert c[G].get("/api/groups/1")[1]["dnsbl_threshold"] == 2
    assert c[G].req("PATCH", "/api/groups/1", {"dnsbl_threshold": 0})[0] == 400
    assert c[G].req("PATCH", "/api/groups/1", {"dnsbl_threshold": 1001})[0] == 400
    assert c[G].req("PATCH", "/api/groups/1", {"dnsbl_threshold": None})[0] == 200
    assert c[G].get("/api/groups/1")[1]["dnsbl_threshold"] is None


def test_bans_export_is_root_only(world):
    """GET /api/bans/export: the networks banned at connect for the host's firewall (issue 17)."""
    c, pg = world["clients"], world["pg"]
    pg.execute("INSERT INTO bans (network, status, origin, reason) VALUES ('192.0.2.201', 'banned', 'admin', 'x'),"
               " ('2001:db8:201::/48', 'banned', 'admin', 'x')")
    try:
        st, body = c[R].get("/api/bans/export")
        assert st == 200 and "192.0.2.201\n" in body["plain"] and body["count"] >= 2
        assert "add element inet clement banned6 { " in body["nftables"] and "2001:db8:201::/48" in body["nftables"]
        for who in (G, D, U):
            assert c[who].get("/api/bans/export")[0] == 403
    finally:
        pg.execute("DELETE FROM bans WHERE reason = 'x'")


def test_domain_writes(world):
    c = world["clients"]
    assert c[D].req("POST", "/api/domains", {"name": "n.test", "group_id": 1})[0] == 403
    assert c[G].req("POST", "/api/domains", {"name": "n.test", "group_id": 2})[0] == 404
    st, d = c[G].req("POST", "/api/domains", {"name": "n.test", "group_id": 1})
    assert st == 201 and d["group_name"] == "g1"
    assert c[D].req("PATCH", "/api/domains/1", {"default_action": "quarantine", "reject_text": "go away"})[0] == 200
    assert c[D].req("PATCH", "/api/domains/1", {"group_id": 1})[0] == 403
    assert c[D].req("PATCH", "/api/domains/2", {"reject_text": "x"})[0] == 404
    assert c[G].req("PATCH", f"/api/domains/{d['id']}", {"group_id": 2})[0] == 404
    assert c[G].req("PATCH", "/api/domains/3", {"reject_text": "x"})[0] == 404
    assert c[D].req("PATCH", "/api/domains/1", {"default_action": "bounce"})[0] == 400
    assert c[G].req("PATCH", f"/api/domains/{d['id']}", {"name": "z.test"})[0] == 403
    assert c[D].req("DELETE", f"/api/domains/{d['id']}")[0] == 403
    assert c[G].req("DELETE", "/api/domains/3")[0] == 404
    assert c[G].req("DELETE", f"/api/domains/{d['id']}")[0] == 200
    world["pg"].execute("UPDATE domains SET default_action = 'accept', reject_text = NULL WHERE id = 1")


def test_content_verdict_settings(world):
    """Issue 18: a group's Rspamd scores and DMARC switch (group-admin+), a domain's overrides
    (domain-admin+, null = the group's), numbers only, within (-1000, 1000)."""
    c = world["clients"]
    st, g = c[G].req("PATCH", "/api/groups/1", {"spam_reject_score": 15, "spam_quarantine_score": 8.25,
                                                "spam_tag_score": 4.5, "dmarc_enforce": True})
    assert st == 200, g
    assert (g["spam_reject_score"], g["spam_quarantine_score"], g["spam_tag_score"], g["dmarc_enforce"]) == (
        15, 8.25, 4.5, True)
    assert c[D].req("PATCH", "/api/groups/1", {"spam_tag_score": 1})[0] in (403, 404)
    assert g["learn_quarantine"] is False  # off until the group's admins turn it on
    st, g = c[G].req("PATCH", "/api/groups/1", {"learn_quarantine": True})
    assert st == 200 and g["learn_quarantine"] is True, g
    assert c[D].req("PATCH", "/api/groups/1", {"learn_quarantine": False})[0] in (403, 404)
    assert c[G].req("PATCH", "/api/groups/1", {"learn_quarantine": "yes"})[0] == 400
    st, d = c[D].req("PATCH", "/api/domains/1", {"spam_quarantine_score": 6, "dmarc_enforce": False})
    assert st == 200 and d["spam_quarantine_score"] == 6 and d["dmarc_enforce"] is False, d
    assert d["spam_reject_score"] is None and d["spam_tag_score"] is None
    for bad in ("8", 1000, -1000, 1e9, True):
        st, body = c[G].req("PATCH", "/api/groups/1", {"spam_reject_score": bad})
        assert st == 400 and "spam_reject_score must be a number" in body["error"], (bad, body)
    assert c[D].req("PATCH", "/api/domains/1", {"dmarc_enforce": "yes"})[0] == 400
    st, d = c[D].req("PATCH", "/api/domains/1", {"spam_quarantine_score": None, "dmarc_enforce": None})
    assert st == 200 and d["spam_quarantine_score"] is None and d["dmarc_enforce"] is None
    world["pg"].execute("UPDATE groups SET spam_reject_score = NULL, spam_quarantine_score = NULL, "
                        "spam_tag_score = NULL, dmarc_enforce = false, learn_quarantine = false WHERE id = 1")


def test_user_writes_and_privilege(world):
    c = world["clients"]
    new = {"domain_id": 1, "local_part": "neo", "password": "a long password"}
    assert c[U].req("POST", "/api/users", new)[0] == 403
    assert c[D].req("POST", "/api/users", dict(new, domain_id=2))[0] == 404
    assert c[D].req("POST", "/api/users", dict(new, role="domain-admin"))[0] == 403
    assert c[G].req("POST", "/api/users", dict(new, role="root-admin"))[0] == 403
    assert c[D].req("POST", "/api/users", dict(new, password="short"))[0] == 400
    st, u = c[D].req("POST", "/api/users", new)
    assert st == 201 and u["address"] == "neo@a.test" and u["local_password"] is True and "password_hash" not in u
    neo = Api(world["port"])
    assert neo.login("neo@a.test", "a long password")[0] == 200
    # a user: itself only, display_name only
    assert neo.req("PATCH", f"/api/users/{u['id']}", {"display_name": "Neo"})[0] == 200
    assert neo.req("PATCH", f"/api/users/{u['id']}", {"role": "root-admin"})[0] == 403
    assert neo.req("PATCH", f"/api/users/{u['id']}", {"enabled": False})[0] == 403
    assert neo.req("PATCH", "/api/users/4", {"display_name": "x"})[0] == 404
    # admins: not above their own role, not their own privileges
    assert c[D].req("PATCH", "/api/users/2", {"display_name": "x"})[0] == 403   # group-admin is above
    assert c[D].req("PATCH", "/api/users/3", {"role": "root-admin"})[0] == 403   # itself
    assert c[D].req("PATCH", "/api/users/5", {"display_name": "x"})[0] == 404
    assert c[D].req("PATCH", f"/api/users/{u['id']}", {"id": 99})[0] == 403
    assert c[D].req("PATCH", f"/api/users/{u['id']}", {"colour": "red"})[0] == 400
    # a change of privilege ends the target's sessions
    assert c[D].req("PATCH", f"/api/users/{u['id']}", {"enabled": False})[0] == 200
    assert neo.get("/api/me")[0] == 401
    assert Api(world["port"]).login("neo@a.test", "a long password")[0] == 401
    assert c[D].req("DELETE", "/api/users/3")[0] == 403
    assert c[D].req("DELETE", "/api/users/6")[0] == 404
    assert c[D].req("DELETE", f"/api/users/{u['id']}")[0] == 200


def test_scope_grants(world):
    c = world["clients"]
    st, u = c[G].req("POST", "/api/users", {"domain_id": 2, "local_part": "da2", "role": "domain-admin"})
    assert st == 201
    assert c[D].req("POST", f"/api/users/{u['id']}/scopes", {"domain_id": 2})[0] == 403  # role too low
    assert c[G].req("POST", f"/api/users/{u['id']}/scopes", {"group_id": 1})[0] in (400, 403)
    assert c[G].req("POST", f"/api/users/{u['id']}/scopes", {"domain_id": 3})[0] == 404
    assert c[G].req("POST", "/api/users/2/scopes", {"domain_id": 2})[0] == 403           # own scope
    assert c[G].req("POST", "/api/users/6/scopes", {"domain_id": 2})[0] == 404           # user out of scope
    st, s = c[G].req("POST", f"/api/users/{u['id']}/scopes", {"domain_id": 2})
    assert st == 201 and s["domain_name"] == "b.test"
    st, lst = c[G].get(f"/api/users/{u['id']}/scopes")
    assert [x["domain_id"] for x in lst["items"]] == [2]
    assert c[R].req("DELETE", f"/api/users/{u['id']}/scopes/{s['id']}")[0] == 200
    assert c[G].req("DELETE", f"/api/users/{u['id']}")[0] == 200


def test_directive_writes(world):
    c = world["clients"]
    st, d = c[U].req("POST", "/api/directives", {"sender_pattern": "News@Spam.Test", "action": "reject"})
    assert st == 201 and d["user_id"] == 4 and d["sender_pattern"] == "news@spam.test" and d["level"] == "user"
    assert c[U].req("POST", "/api/directives", {"domain_id": 1, "sender_pattern": "@x.test",
                                               "action": "accept"})[0] == 403
    assert c[U].req("POST", "/api/directives", {"user_id": 5, "sender_pattern": "@x.test",
                                               "action": "accept"})[0] == 404
    assert c[U].req("POST", "/api/directives", {"sender_pattern": "not a pattern", "action": "accept"})[0] == 400
    assert c[U].req("POST", "/api/directives", {"sender_pattern": "@x.test", "action": "bounce"})[0] == 400
    assert c[U].req("POST", "/api/directives", {"sender_pattern": "@x.test"})[0] == 400
    assert c[D].req("POST", "/api/directives", {"group_id": 1, "sender_pattern": "@x.test",
                                               "action": "accept"})[0] == 403
    assert c[G].req("POST", "/api/directives", {"group_id": 2, "sender_pattern": "@x.test",
                                               "action": "accept"})[0] == 404
    st, gd = c[G].req("POST", "/api/directives", {"group_id": 1, "sender_pattern": "@x.test", "action": "accept"})
    assert st == 201 and gd["level"] == "group"
    assert c[D].req("POST", "/api/directives", {"user_id": 4, "domain_id": 1, "sender_pattern": "@x.test",
                                               "action": "accept"})[0] == 400
    assert c[U].req("PATCH", f"/api/directives/{d['id']}", {"action": "quarantine"})[1]["action"] == "quarantine"
    assert c[U].req("PATCH", f"/api/directives/{d['id']}", {"user_id": 5})[0] == 403
    assert c[U].req("PATCH", "/api/directives/2", {"action": "accept"})[0] == 404
    assert c[U].req("DELETE", "/api/directives/4")[0] == 404
    assert c[U].req("DELETE", f"/api/directives/{d['id']}")[0] == 200
    assert c[G].req("DELETE", f"/api/directives/{gd['id']}")[0] == 200


def test_digest_schedule_writes(world):
    c = world["clients"]
    st, s = c[U].req("POST", "/api/digest-schedules", {"kind": "daily", "at_time": "08:30"})
    assert st == 201 and s["at_time"] == "08:30" and s["user_id"] == 4
    assert c[U].req("POST", "/api/digest-schedules", {"kind": "daily"})[0] == 400
    assert c[U].req("POST", "/api/digest-schedules", {"kind": "daily", "at_time": "25:99"})[0] == 400
    assert c[U].req("POST", "/api/digest-schedules", {"kind": "interval", "interval_hours": 2,
                                                     "domain_id": 1})[0] == 403
    assert c[U].req("PATCH", "/api/digest-schedules/2", {"enabled": False})[0] == 404
    assert c[U].req("PATCH", f"/api/digest-schedules/{s['id']}", {"enabled": False})[1]["enabled"] is False
    assert c[U].req("DELETE", f"/api/digest-schedules/{s['id']}")[0] == 200


def test_a_new_digest_schedule_first_runs_at_its_own_time(world):
    """Creating "daily at 08:30" in the afternoon must not send a digest at once: the first run
    is the next 08:30; changing the time moves it; an interval schedule waits one interval."""
    c, pg = world["clients"], world["pg"]
    st, s = c[U].req("POST", "/api/digest-schedules", {"kind": "daily", "at_time": "08:30"})
    assert st == 201
    row = f"FROM digest_schedules WHERE id = {int(s['id'])}"
    assert pg.scalar(f"SELECT next_run_at > now() AND next_run_at <= now() + interval '1 day' {row}")
    assert str(pg.scalar(f"SELECT next_run_at::time {row}")) == "08:30:00"
    assert c[U].req("PATCH", f"/api/digest-schedules/{s['id']}", {"at_time": "17:45"})[0] == 200
    assert str(pg.scalar(f"SELECT next_run_at::time {row}")) == "17:45:00"
    assert pg.scalar(f"SELECT next_run_at > now() {row}")
    st, i = c[U].req("POST", "/api/digest-schedules", {"kind": "interval", "interval_hours": 6})
    assert st == 201
    wait = pg.scalar(f"SELECT extract(epoch FROM next_run_at - now()) FROM digest_schedules WHERE id = {int(i['id'])}")
    assert 5.9 * 3600 < float(wait) <= 6 * 3600
    for sid in (s["id"], i["id"]):
        assert c[U].req("DELETE", f"/api/digest-schedules/{sid}")[0] == 200


def test_root_only_screens(world):
    c = world["clients"]
    for role in (G, D, U):
        assert c[role].req("POST", "/api/bans", {"network": "192.0.2.99", "reason": "x"})[0] == 403
        assert c[role].req("PUT", "/api/settings/x", {"value": 1})[0] == 403
        assert c[role].req("POST", "/api/mesh-peers", {})[0] == 403
        assert c[role].req("POST", "/api/never-ban", {"network": "10.1.0.0/16"})[0] == 403
    st, b = c[R].req("POST", "/api/bans", {"network": "192.0.2.99", "reason": "manual", "expires_in_s": 3600})
    assert st == 201 and b["status"] == "banned" and b["origin"] == "admin"
    assert c[R].req("POST", "/api/bans", {"network": "not-a-net", "reason": "x"})[0] == 400
    st, p = c[R].req("POST", "/api/bans/1/promote")
    assert st == 200 and p["status"] == "banned"
    assert c[R].req("POST", "/api/bans/1/promote")[0] == 404
    assert c[R].req("POST", "/api/bans/1/unban")[1]["status"] == "lifted"
    kinds = world["pg"].query("SELECT kind FROM ban_events WHERE ban_id = 1 ORDER BY id")
    assert [k["kind"] for k in kinds] == ["ban", "lift"]
    st, n = c[R].req("POST", "/api/never-ban", {"network": "10.1.0.0/16", "note": "lab"})
    assert st == 201 and n["network"] == "10.1.0.0/16"
    assert c[R].req("DELETE", f"/api/never-ban/{n['id']}")[0] == 200
    st, m = c[R].req("POST", "/api/mesh-peers", {"name": "p2.test", "host": "192.0.2.51",
                                                "cert_fingerprint": "cd" * 32, "trust": "enforce"})
    assert st == 201 and m["trust"] == "enforce"
    assert c[R].req("PATCH", f"/api/mesh-peers/{m['id']}", {"trust": "observe"})[1]["trust"] == "observe"
    assert c[R].req("PATCH", f"/api/mesh-peers/{m['id']}", {"last_pushed_id": 9})[0] == 403
    assert c[R].req("DELETE", f"/api/mesh-peers/{m['id']}")[0] == 200


def test_global_settings_are_the_keys_services_read(world):
    """The Global settings screen offers only the keys a service reads from the table at run
    time (lib/db/settings.h), each with its reader, bounds and the setting it overrides."""
    c, pg = world["clients"], world["pg"]
    st, body = c[R].get("/api/settings")
    assert st == 200 and [s["key"] for s in body["items"]] == ["log.retention_months", "quarantine.retention_days"]
    logs, quarantine = body["items"]
    assert logs["value"] == 6 and logs["read_by"].startswith("banstats") and logs["min"] == 1
    assert "CLEMENT_LOG_RETENTION_MONTHS" in logs["fallback"] and logs["help"]
    assert quarantine["value"] is None and quarantine["read_by"].startswith("delivery")
    # Type, default and bounds are those of the fallback in its reader's own settings table.
    for s in body["items"]:
        var, reader = s["fallback"].split(" (")
        rows = subprocess.run([str(BIN / f"clement-{reader.rstrip(')')}"), "--settings-markdown"], capture_output=True,
                              text=True, check=True).stdout.splitlines()
        row = next(r for r in rows if r.startswith(f"| `{var}` |"))
        assert s["type"] == "integer" and f"| `{s['default']}` |" in row, (s, row)
        assert row.rstrip(" |").endswith(f"({s['min']}..{s['max']})"), (s, row)
    st, s = c[R].req("PUT", "/api/settings/quarantine.retention_days", {"value": 7})
    assert st == 200 and s["value"] == 7 and s["key"] == "quarantine.retention_days"
    assert pg.scalar("SELECT clement_setting_int('quarantine.retention_days', 30)") == 7
    # Keys nothing reads, and values a reader would not take, are refused with the reason.
    st, e = c[R].req("PUT", "/api/settings/retention.months", {"value": 3})
    assert st == 404 and "no such setting" in e["error"]
    st, e = c[R].req("PUT", "/api/settings/log.retention_months", {"value": {"months": 3}})
    assert st == 400 and e["error"] == "log.retention_months must be an integer from 1 to 1200"
    assert c[R].req("PUT", "/api/settings/log.retention_months", {"value": 0})[0] == 400
    assert c[R].req("PUT", "/api/settings/log.retention_months", {"value": 2.5})[0] == 400
    assert c[R].req("PUT", "/api/settings/log.retention_months", {"value": 3, "x": 1})[0] == 400
    assert pg.scalar("SELECT value FROM settings WHERE key = 'log.retention_months'") == 6
    # Unset: the reader's own CLEMENT_* setting again.
    st, s = c[R].req("DELETE", "/api/settings/quarantine.retention_days")
    assert st == 200 and s["value"] is None
    assert pg.scalar("SELECT clement_setting_int('quarantine.retention_days', 30)") == 30
    assert c[R].req("DELETE", "/api/settings/nope")[0] == 404


def test_quarantine_actions_with_delivery_down(world):
    c = world["clients"]
    assert c[U].req("POST", "/api/quarantine/2/release")[0] == 404
    st, body = c[U].req("POST", "/api/quarantine/1/release")
    assert st == 503 and "delivery" in body["error"]
    assert c[U].req("DELETE", "/api/quarantine/1")[0] == 503
    assert world["pg"].scalar("SELECT status FROM quarantine WHERE id = 1") == "held"
    # Always accept releases first: with delivery down the answer is 503 and nothing changed
    # (no rule written, the message still held), so the request can simply be repeated.
    st, a = c[U].req("POST", "/api/quarantine/1/accept-sender")
    assert st == 503 and "delivery" in a["error"]
    assert world["pg"].scalar("SELECT count(*) FROM directives WHERE sender_pattern = 'spam@x.test'") == 0
    assert world["pg"].scalar("SELECT status FROM quarantine WHERE id = 1") == "held"
    assert c[D].req("POST", "/api/quarantine/3/accept-sender")[0] == 404


# ---- CSRF, Origin, sessions ---------------------------------------------------------------------

def test_csrf_and_origin_are_required(world):
    c = world["clients"][U]
    body = {"sender_pattern": "@csrf.test", "action": "reject"}
    st, e = c.req("POST", "/api/directives", body, csrf=False)
    assert st == 403 and "CSRF" in e["error"]
    assert c.req("POST", "/api/directives", body, csrf="0" * 32)[0] == 403
    assert c.req("POST", "/api/directives", body, origin=False)[0] == 403
    assert c.req("POST", "/api/directives", body, origin="http://evil.test")[0] == 403
    assert c.req("POST", "/api/login", {"address": "alice@a.test", "password": PASSWORD},
                 origin="http://evil.test")[0] == 403
    other = world["clients"][D]
    assert c.req("POST", "/api/directives", body, csrf=other.csrf)[0] == 403   # another session's token
    assert world["pg"].scalar("SELECT count(*) FROM directives WHERE sender_pattern = '@csrf.test'") == 0


def test_unauthenticated_and_unknown(world):
    anon = Api(world["port"])
    st, body = anon.get("/api/me")
    assert st == 401 and body["error"]
    assert anon.get("/api/users")[0] == 401
    assert anon.get("/api/nope")[0] == 404
    assert anon.req("PUT", "/api/me")[0] == 405
    anon.cookie = "clement_session=" + "a" * 32
    assert anon.get("/api/me")[0] == 401


def test_security_headers_and_static_files(world):
    anon = Api(world["port"])
    st, text = anon.get("/")
    r = anon.last
    assert st == 200 and "Clement" in text.decode()
    assert "script-src 'self'" in r.getheader("Content-Security-Policy")
    assert "frame-ancestors 'none'" in r.getheader("Content-Security-Policy")
    assert r.getheader("X-Content-Type-Options") == "nosniff"
    st, _ = anon.get("/js/app.js")
    assert st == 200 and anon.last.getheader("Content-Type").startswith("text/javascript")
    for bad in ("/../secret.txt", "/js/../../secret.txt", "/%2e%2e/secret.txt", "/.hidden", "/nope.html"):
        st, _ = anon.get(bad)
        assert st == 404, bad
    anon.get("/api/me")
    assert anon.last.getheader("X-Content-Type-Options") == "nosniff"
    assert anon.last.getheader("Cache-Control") == "no-store"


def test_login_cookie_and_logout(world):
    a = Api(world["port"])
    st, me = a.login("Alice@A.test")
    assert st == 200 and me["role"] == "user" and me["address"] == "alice@a.test"
    sc = a.last.getheader("Set-Cookie")
    assert "HttpOnly" in sc and "SameSite=Strict" in sc and "Path=/" in sc and "Secure" not in sc
    value = a.cookie.split("=", 1)[1]
    assert len(value) == 32
    import hashlib
    stored = world["pg"].query("SELECT id_hash FROM web_sessions")
    assert {"id_hash": hashlib.sha256(value.encode()).hexdigest()} in stored
    assert all(r["id_hash"] != value for r in stored)
    # A new login from the same browser gets a new id; the old one ends.
    first = a.cookie
    assert a.login("alice@a.test")[0] == 200 and a.cookie != first
    a.cookie, current = first, a.cookie
    assert a.get("/api/me")[0] == 401
    a.cookie = current
    old = a.cookie
    assert a.req("POST", "/api/logout")[0] == 200
    assert a.cookie is None
    a.cookie = old
    assert a.get("/api/me")[0] == 401     # ended on the server, not only in the browser


def test_password_change_ends_other_sessions(world):
    pg = world["pg"]
    pg.execute("INSERT INTO users (id, domain_id, local_part, password_hash) VALUES (50, 2, 'pat', %s)",
               (pw_hash(),))
    one, two = Api(world["port"]), Api(world["port"])
    one.login("pat@b.test")
    two.login("pat@b.test")
    assert one.req("POST", "/api/password", {"current_password": "wrong", "new_password": "x" * 12})[0] == 403
    assert one.req("POST", "/api/password", {"current_password": PASSWORD, "new_password": "short"})[0] == 400
    # The screen's hint comes from the same setting the API applies (default 10): 9 is refused, 10 passes.
    assert one.get("/api/me")[1]["password_min"] == 10
    st, body = one.req("POST", "/api/password", {"current_password": PASSWORD, "new_password": "x" * 9})
    assert st == 400 and "10 to" in body["error"]
    old_csrf = one.csrf
    st, body = one.req("POST", "/api/password", {"current_password": PASSWORD, "new_password": "new password 2"})
    assert st == 200 and body["csrf_token"] != old_csrf
    one.csrf = body["csrf_token"]
    assert one.get("/api/me")[0] == 200       # this session continues under a new id
    assert two.get("/api/me")[0] == 401       # the other one ended
    assert Api(world["port"]).login("pat@b.test", "new password 2")[0] == 200


def test_same_answer_for_unknown_user_and_wrong_password(world):
    a = Api(world["port"])
    r1 = a.login("nobody@a.test", "whatever pw")
    r2 = a.login("alice@a.test", "whatever pw")
    r3 = a.login("someone@unknown.test", "whatever pw")
    assert r1 == r2 == r3 == (401, {"error": "wrong address or password"})
    assert a.login("alice@a.test", "x" * 1025)[0] == 400     # maximum password length
    world["pg"].execute("TRUNCATE login_failures")


# ---- bad input ----------------------------------------------------------------------------------

def test_malformed_bodies(world):
    c = world["clients"][U]
    st, e = c.req("POST", "/api/directives", raw=b"{not json")
    assert st == 400 and "malformed JSON" in e["error"]
    assert c.req("POST", "/api/directives", raw=b"[1,2]")[0] == 400
    assert c.req("POST", "/api/directives", raw=b'{"a":1}', ctype="text/plain")[0] == 415
    st, e = c.req("POST", "/api/directives", {"sender_pattern": 5, "action": "reject"})
    assert st == 400 and "must be a string" in e["error"]
    st, e = c.req("POST", "/api/digest-schedules", {"kind": "interval", "interval_hours": "2"})
    assert st == 400 and "integer" in e["error"]
    assert c.req("POST", "/api/digest-schedules", {"kind": "interval", "interval_hours": 2.5})[0] == 400
    assert c.req("PATCH", "/api/digest-schedules/1", {"enabled": "yes"})[0] == 400
    assert c.req("POST", "/api/login", {"address": ["x"], "password": 1})[0] == 400
    st, e = c.req("POST", "/api/directives", raw=b'{"sender_pattern":"' + b"a" * (2 << 20) + b'"}')
    assert st == 413 and "larger than" in e["error"]
    assert c.get("/api/users/abc")[0] in (403, 404)
    assert c.get("/api/quarantine/abc")[0] == 404
    assert c.get("/api/me")[0] == 200       # the connection pool survived all of it


def old_argon2_hash(pw):
    """An argon2id hash with weaker (older) parameters than Clement's, made by libargon2 itself."""
    import ctypes
    lib = ctypes.CDLL("libargon2.so.1")
    u32, sz = ctypes.c_uint32, ctypes.c_size_t
    lib.argon2id_hash_encoded.argtypes = [u32, u32, u32, ctypes.c_char_p, sz, ctypes.c_char_p, sz, sz,
                                          ctypes.c_char_p, sz]
    out = ctypes.create_string_buffer(256)
    salt = os.urandom(16)
    rc = lib.argon2id_hash_encoded(1, 4096, 1, pw.encode(), len(pw.encode()), salt, 16, 32, out, 256)
    assert rc == 0
    return out.value.decode()


def test_login_rehashes_old_parameters(world):
    pg = world["pg"]
    pg.execute("INSERT INTO users (id, domain_id, local_part, password_hash) VALUES (60, 2, 'olga', %s)",
               (old_argon2_hash(PASSWORD),))
    assert "m=4096,t=1" in pg.scalar("SELECT password_hash FROM users WHERE id = 60")
    assert Api(world["port"]).login("olga@b.test")[0] == 200
    fresh = pg.scalar("SELECT password_hash FROM users WHERE id = 60")
    assert fresh.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert Api(world["port"]).login("olga@b.test")[0] == 200


def role_table():
    """(method, pattern, min role, public) of every row of the route table in routes.c."""
    import re
    from conftest import ROOT
    text = (ROOT / "services/admin-api/routes.c").read_text()
    rows = re.findall(r'\{"(GET|POST|PUT|PATCH|DELETE)", "(/api/[^"]*)", (ROLE_\w+), (\w+), \w+\}', text)
    assert len(rows) > 40
    return rows


RANK = {"ROLE_NONE": 0, "ROLE_USER": 1, "ROLE_DOMAIN_ADMIN": 2, "ROLE_GROUP_ADMIN": 3, "ROLE_ROOT": 4}
ROLE_RANK = {U: 1, D: 2, G: 3, R: 4}


def concrete(pattern):
    for k, v in {"{id}": "1", "{scope_id}": "1", "{sid}": "s1", "{key}": "x", "{token}": "x"}.items():
        pattern = pattern.replace(k, v)
    return pattern


def test_every_route_refuses_roles_below_its_floor_and_anonymous_callers(world):
    """Straight from the route table: each role below a route's minimum gets 403 (before any
    change happens), and a caller without a session gets 401, for every route."""
    anon = Api(world["port"])
    before = world["pg"].scalar("SELECT count(*) FROM directives")
    for method, pattern, floor, flags in role_table():
        path = concrete(pattern)
        body = {} if method in ("POST", "PUT", "PATCH") else None
        if flags != "RT_PUBLIC":
            st, _ = anon.req(method, path, body)
            assert st == 401, f"anonymous {method} {path} -> {st}"
        for role, rank in ROLE_RANK.items():
            if rank < RANK[floor]:
                st, e = world["clients"][role].req(method, path, body)
                assert st == 403 and e["error"], f"{role} {method} {path} -> {st}"
    assert world["pg"].scalar("SELECT count(*) FROM directives") == before


# ---- separate instances (they re-seed the database, so they run last): rate limits, idle expiry -------------------------------------

def test_login_rate_limit_per_address_and_ip(pg, services, tmp_path):
    """Per account a growing delay (a wait, not a lock); per client IP a limit for the window."""
    seed(pg)
    svc = start_api(services, pg, tmp_path, CLEMENT_LOGIN_MAX_FAILS=3, CLEMENT_LOGIN_MAX_FAILS_IP=6)
    a = Api(svc.port)
    for _ in range(3):
        assert a.login("alice@a.test", "wrong password")[0] == 401
    st, e = a.login("alice@a.test")           # right password, but this source must wait first
    assert st == 429 and a.last.getheader("Retry-After") == "1" and e["error"]
    time.sleep(1.1)
    assert a.login("alice@a.test", "wrong password")[0] == 401
    assert a.login("alice@a.test")[0] == 429 and a.last.getheader("Retry-After") == "2"   # it grows
    time.sleep(2.1)
    assert a.login("alice@a.test")[0] == 200  # a delay, not a lock
    assert a.login("bob@b.test")[0] == 200    # other addresses never waited
    for _ in range(2):
        assert a.login("carol@c.test", "wrong password")[0] == 401
    st, e = a.login("root@a.test")            # the IP's 6 failures: over its limit for the window
    assert st == 429 and 890 <= int(a.last.getheader("Retry-After")) <= 900, a.last.getheader("Retry-After")
    other = Api(svc.port)
    other.source = "127.0.0.2"
    assert other.login("root@a.test")[0] == 200   # per source address
    assert "clement_admin_logins_total{result=\"rate_limited\"} 3" in svc.metrics()
    assert "wrong password" not in svc.log() and PASSWORD not in svc.log()


def test_session_idle_expiry(pg, services, tmp_path):
    seed(pg)
    svc = start_api(services, pg, tmp_path, CLEMENT_SESSION_IDLE_S=2)
    a = Api(svc.port)
    assert a.login("alice@a.test")[0] == 200
    time.sleep(1.2)
    assert a.get("/api/me")[0] == 200         # activity keeps it alive
    time.sleep(1.2)
    assert a.get("/api/me")[0] == 200
    time.sleep(2.5)
    assert a.get("/api/me")[0] == 401
    assert pg.scalar("SELECT count(*) FROM web_sessions") == 0
    # The absolute limit (CLEMENT_SESSION_MAX_S, at least a minute) ends even an active session.
    assert a.login("alice@a.test")[0] == 200
    row = pg.query("SELECT expires_at - created_at AS life FROM web_sessions")[0]
    assert row["life"].total_seconds() == 43200
    pg.execute("UPDATE web_sessions SET expires_at = now() - interval '1 second'")
    assert a.get("/api/me")[0] == 401


def test_secure_cookie_behind_tls(pg, services, tmp_path):
    seed(pg)
    svc = start_api(services, pg, tmp_path, CLEMENT_COOKIE_SECURE=1)
    a = Api(svc.port)
    a.origin = f"https://127.0.0.1:{svc.port}"
    st, _ = a.login("alice@a.test")
    sc = a.last.getheader("Set-Cookie")
    assert st == 200 and sc.startswith("__Host-clement_session=") and "Secure" in sc
    a.origin = f"http://127.0.0.1:{svc.port}"
    assert a.req("POST", "/api/logout")[0] == 403      # plain-http origin refused behind TLS
