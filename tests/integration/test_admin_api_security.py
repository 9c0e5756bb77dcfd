"""admin-api's answers to hostile input and to deletes that would reach too far (issue 15):
duplicate JSON keys, NUL bytes in paths and bodies, numbers with trailing bytes or out of range,
cascading deletes over accounts the caller may not delete, the last root-admin, and the limits
on guessing passwords (login and /api/password).

Same data set as test_admin_api.py (`world`, its own instance for this module).
"""
import http.client
import json
import time

import pytest

from harness.api import PASSWORD, Api, D, G, R, U, seed, start_api, world  # noqa: F401 (fixtures: world)


def raw_req(port, method, path, body=None, api=None):
    """A request whose path goes on the wire byte for byte (http.client would refuse some)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    conn.putheader("Host", f"127.0.0.1:{port}")
    if api is not None:
        conn.putheader("Cookie", api.cookie)
        if method != "GET":
            conn.putheader("Origin", api.origin)
            conn.putheader("X-CSRF-Token", api.csrf)
    data = body.encode() if isinstance(body, str) else body
    if data is not None:
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(len(data)))
    conn.endheaders(data)
    resp = conn.getresponse()
    text = resp.read()
    conn.close()
    assert resp.getheader("Content-Type") == "application/json", (resp.status, text)
    return resp.status, json.loads(text)


# ---- finding 7: duplicate JSON keys ------------------------------------------------------------

def test_duplicate_json_key_is_refused_at_any_depth(world):
    c, pg = world["clients"], world["pg"]
    st, e = c[D].req("PATCH", "/api/users/4", raw=b'{"role":"user","role":"root-admin"}')
    assert st == 400 and "occurs twice" in e["error"], (st, e)
    assert pg.scalar("SELECT role FROM users WHERE id = 4") == "user"
    before = pg.query("SELECT key, value FROM settings ORDER BY key")
    st, e = c[R].req("PUT", "/api/settings/log.retention_months", raw=b'{"value": {"a": [{"k": 1, "k": 2}]}}')
    assert st == 400 and '"k"' in e["error"], (st, e)
    assert pg.query("SELECT key, value FROM settings ORDER BY key") == before
    # the same keys in different objects are not duplicates: the body is read, and only then
    # refused for what it says (a setting is an integer)
    st, e = c[R].req("PUT", "/api/settings/log.retention_months", raw=b'{"value": {"a": {"k": 1}, "b": {"k": 2}}}')
    assert st == 400 and "must be an integer" in e["error"], (st, e)


def test_nul_inside_a_json_string_is_refused(world):
    c, pg = world["clients"], world["pg"]
    before = pg.scalar("SELECT count(*) FROM directives")
    st, e = c[U].req("POST", "/api/directives", raw=b'{"sender_pattern":"x@a.test\\u0000evil","action":"accept"}')
    assert st == 400 and "NUL" in e["error"]
    assert pg.scalar("SELECT count(*) FROM directives") == before
    # an escaped backslash followed by the letters u0000 is ordinary text
    st, e = c[U].req("PUT", "/api/settings/x", raw=b'{"value":"\\\\u0000"}')
    assert st == 403


# ---- finding 8: NUL and trailing bytes in paths ------------------------------------------------

@pytest.mark.parametrize("method,path", [
    ("GET", "/api/users/1%00x"), ("GET", "/api/users/1%00"), ("GET", "/api/users%00/1"),
    ("GET", "/api/smtp-sessions/s1%00x"), ("GET", "/index.html%00.png"),
    ("GET", "/api/logs?sender=a%00b"), ("GET", "/api/users?page=1%00"), ("GET", "/api/me%01"),
])
def test_nul_or_control_character_in_path_or_query_is_400(world, method, path):
    st, e = raw_req(world["port"], method, path, api=world["clients"][R])
    assert st == 400 and "NUL or control character" in e["error"], (st, e)


def test_settings_key_with_nul_writes_nothing(world):
    c, pg = world["clients"], world["pg"]
    st, e = raw_req(world["port"], "PUT", "/api/settings/k%00b", '{"value": 1}', api=c[R])
    assert st == 400
    assert pg.scalar("SELECT count(*) FROM settings WHERE key IN ('k', 'k\x01b')") == 0
    pg.execute("INSERT INTO settings (key, value) VALUES ('k', '1')")
    assert raw_req(world["port"], "DELETE", "/api/settings/k%00b", api=c[R])[0] == 400
    st, e = c[R].req("DELETE", "/api/settings/K-B")
    assert st == 404 and "no such setting" in e["error"]
    assert pg.scalar("SELECT count(*) FROM settings WHERE key = 'k'") == 1
    pg.execute("DELETE FROM settings WHERE key = 'k'")


@pytest.mark.parametrize("path", ["/api/users/1x", "/api/users/1.0", "/api/users/+1", "/api/users/%201",
                                  "/api/users/99999999999999999999", "/api/users/-1", "/api/domains/0x1",
                                  "/api/quarantine/1e0", "DELETE /api/users/4/scopes/1x",
                                  "DELETE /api/users/4x"])
def test_id_with_trailing_or_foreign_bytes_is_not_found(world, path):
    method, path = path.split(" ") if " " in path else ("GET", path)
    st, e = world["clients"][R].req(method, path)
    assert st in (400, 404) and e["error"], (path, st, e)
    assert st != 200


# ---- finding 9: numbers parsed whole and range-checked ------------------------------------------

@pytest.mark.parametrize("path", [
    "/api/stats?hours=24abc", "/api/stats?hours=", "/api/stats?hours=0", "/api/stats?hours=745",
    "/api/stats?hours=99999999999999999999", "/api/stats?hours=%2024", "/api/logs?per_page=5x",
    "/api/logs?page=1.5", "/api/users?domain_id=1x", "/api/users?group_id=-1", "/api/directives?user_id=4abc",
    "/api/digest-schedules?domain_id=1%20", "/api/quarantine?group_id=1x", "/api/logs?user_id=18446744073709551617",
    "/api/smtp-sessions?domain_id=1x", "/api/domains?group_id=1;", "/api/logs?domain_id=0",
    "/api/audit?status=4o3", "/api/audit?status=99999999999", "/api/audit?actor_id=1x",
])
def test_query_numbers_are_whole_strings_in_range(world, path):
    st, e = world["clients"][R].get(path)
    assert st == 400 and e["error"].startswith("invalid value"), (path, st, e)


def test_query_numbers_that_are_right_still_work(world):
    c = world["clients"]
    st, s = c[R].get("/api/stats?hours=744")
    assert st == 200 and s["hours"] == 744
    assert c[R].get("/api/users?domain_id=3&per_page=500")[1]["total"] == 2


@pytest.mark.parametrize("value", ["1e300", "-1e300", "59", "59.5", "315360001", "\"3600\"", "true", "1e400"])
def test_ban_expiry_is_range_checked_before_conversion(world, value):
    c, pg = world["clients"], world["pg"]
    body = '{"network": "192.0.2.99", "reason": "test", "expires_in_s": %s}' % value
    st, e = c[R].req("POST", "/api/bans", raw=body.encode())
    assert st == 400 and "expires_in_s" in e["error"], (value, st, e)
    assert pg.scalar("SELECT count(*) FROM bans WHERE network = '192.0.2.99'") == 0
    assert c[R].get("/api/me")[0] == 200    # the service is still there


def test_body_ids_out_of_range_are_400(world):
    c = world["clients"]
    for v in ("1e300", "9007199254740993", "0", "-5", "1.5"):
        st, e = c[U].req("POST", "/api/directives", raw=('{"sender_pattern":"q@q.test","action":"accept",'
                                                        '"user_id":%s}' % v).encode())
        assert st == 400 and "user_id" in e["error"], (v, st, e)


# ---- finding 2: a delete never removes what the caller could not remove one by one --------------

def _domain_with(pg, name, group_id, accounts):
    """A domain with accounts [(local_part, role)]; returns (domain id, [user ids])."""
    did = pg.scalar("INSERT INTO domains (name, group_id) VALUES (%s, %s) RETURNING id", (name, group_id))
    uids = [pg.scalar("INSERT INTO users (domain_id, local_part, role) VALUES (%s, %s, %s) RETURNING id",
                      (did, lp, role)) for lp, role in accounts]
    return did, uids


@pytest.mark.parametrize("accounts,blocked_by", [
    ([("u", "user"), ("boss", "root-admin")], "1 account with role root-admin"),
    ([("ga", "group-admin"), ("ga2", "group-admin")], "2 accounts with role group-admin"),
    ([("da", "domain-admin"), ("r", "root-admin"), ("ga", "group-admin")],
     "1 account with role group-admin and 1 account with role root-admin"),
])
def test_group_admin_cannot_delete_a_domain_holding_accounts_above_it(world, accounts, blocked_by):
    c, pg = world["clients"], world["pg"]
    did, uids = _domain_with(pg, "casc.test", 1, accounts)
    st, e = c[G].req("DELETE", f"/api/domains/{did}")
    assert st == 409 and e["error"] == f"domain has {blocked_by} that you may not delete", (st, e)
    assert pg.scalar("SELECT count(*) FROM users WHERE domain_id = %s", (did,)) == len(uids)
    assert pg.scalar("SELECT count(*) FROM domains WHERE id = %s", (did,)) == 1
    # the same accounts one by one are refused too (the rule the delete now follows)
    top = max(uids, key=lambda u: pg.scalar("SELECT clement_role_rank(role) FROM users WHERE id = %s", (u,)))
    assert c[G].req("DELETE", f"/api/users/{top}")[0] == 403
    assert c[R].req("DELETE", f"/api/domains/{did}")[0] == 200     # root may delete them all
    assert pg.scalar("SELECT count(*) FROM users WHERE domain_id = %s", (did,)) == 0


def test_a_domain_of_lower_accounts_is_deleted_with_them(world):
    c, pg = world["clients"], world["pg"]
    did, uids = _domain_with(pg, "casc2.test", 1, [("u1", "user"), ("da", "domain-admin")])
    assert c[G].req("DELETE", f"/api/domains/{did}") == (200, {"id": did})
    assert pg.scalar("SELECT count(*) FROM users WHERE id = ANY(%s)", (uids,)) == 0


def test_nobody_deletes_the_domain_of_their_own_account(world):
    c, pg = world["clients"], world["pg"]
    st, e = c[G].req("DELETE", "/api/domains/1")
    assert st == 409 and e["error"] == ("domain has your own account and 1 account with role root-admin "
                                        "that you may not delete"), e
    st, e = c[R].req("DELETE", "/api/domains/1")
    assert st == 409 and e["error"] == "domain has your own account that you may not delete", e
    assert pg.scalar("SELECT count(*) FROM users WHERE domain_id = 1") >= 4


def test_a_group_with_domains_is_not_deleted(world):
    st, e = world["clients"][R].req("DELETE", "/api/groups/2")
    assert st == 409 and e["error"].startswith("group has 1 domain;"), e
    assert world["pg"].scalar("SELECT count(*) FROM users WHERE domain_id = 3") == 2


def test_the_database_keeps_the_last_enabled_root_admin(world):
    import psycopg2
    pg = world["pg"]
    assert pg.scalar("SELECT count(*) FROM users WHERE role = 'root-admin' AND enabled") == 1
    for sql in ("DELETE FROM users WHERE id = 1", "UPDATE users SET enabled = false WHERE id = 1",
                "UPDATE users SET role = 'group-admin' WHERE id = 1", "DELETE FROM domains WHERE id = 1"):
        with pytest.raises(psycopg2.Error) as err:
            pg.execute(sql)
        assert err.value.pgcode == "CL001" and "last enabled root-admin" in str(err.value), sql
    assert pg.scalar("SELECT count(*) FROM users WHERE role = 'root-admin' AND enabled") == 1
    # with a second enabled root-admin either may go
    did, (r2,) = _domain_with(pg, "root2.test", 2, [("r2", "root-admin")])
    pg.execute("UPDATE users SET enabled = false WHERE id = %s", (r2,))
    pg.execute("UPDATE users SET enabled = true WHERE id = %s", (r2,))
    assert world["clients"][R].req("PATCH", f"/api/users/{r2}", {"role": "user"})[0] == 200
    assert world["clients"][R].req("DELETE", f"/api/domains/{did}")[0] == 200


# ---- decided: a domain-admin manages the directives and quarantine of users and itself only ------

@pytest.fixture
def higher_owned(world):
    """A directive, a digest schedule and a held message of the group-admin (2) and the root-admin (1),
    all in domain a.test, which the domain-admin (3) administers."""
    pg = world["pg"]
    made = {"directives": [], "digest_schedules": [], "quarantine": []}
    for uid in (1, 2, 3):
        made["directives"].append(pg.scalar(
            "INSERT INTO directives (user_id, sender_pattern, action) VALUES (%s, %s, 'reject') RETURNING id",
            (uid, f"h{uid}@higher.test")))
        made["digest_schedules"].append(pg.scalar(
            "INSERT INTO digest_schedules (user_id, kind, interval_hours) VALUES (%s, 'interval', 5) RETURNING id",
            (uid,)))
        made["quarantine"].append(pg.scalar(
            "INSERT INTO quarantine (msgid, expires_at, client_ip, sender, rcpt, user_id, domain_id, subject, size, "
            "message) VALUES (%s, now() + interval '1 day', '192.0.2.9', 'x@y.test', %s, %s, 1, 'secret', 5, "
            "'hello') RETURNING id", (f"hq{uid}", f"u{uid}@a.test", uid)))
    yield made
    for table, rows in made.items():
        pg.execute(f"DELETE FROM {table} WHERE id = ANY(%s)", (rows,))


def test_domain_admin_does_not_manage_what_belongs_to_higher_accounts(world, higher_owned):
    c, pg = world["clients"], world["pg"]
    (d_root, d_gadm, d_own) = higher_owned["directives"]
    (s_root, s_gadm, s_own) = higher_owned["digest_schedules"]
    (q_root, q_gadm, q_own) = higher_owned["quarantine"]
    snap = lambda: pg.query("SELECT id, action FROM directives ORDER BY id")  # noqa: E731
    before = snap()
    for role, hidden, visible in ((D, (d_root, d_gadm), (d_own,)), (G, (d_root,), (d_gadm, d_own))):
        listed = {i["id"] for i in c[role].get("/api/directives?per_page=500")[1]["items"]}
        assert not listed & set(hidden) and set(visible) <= listed, role
        for x in hidden:
            assert c[role].get(f"/api/directives/{x}")[0] == 404
            assert c[role].req("PATCH", f"/api/directives/{x}", {"action": "accept"})[0] == 404
            assert c[role].req("DELETE", f"/api/directives/{x}")[0] == 404
    assert snap() == before
    st, e = c[D].req("POST", "/api/directives", {"user_id": 2, "sender_pattern": "a@b.test", "action": "accept"})
    assert st == 403 and "not below yours" in e["error"]
    assert c[D].req("POST", "/api/digest-schedules", {"user_id": 1, "kind": "daily", "at_time": "08:00"})[0] == 403
    assert snap() == before
    for role, hidden, visible in ((D, (s_root, s_gadm), (s_own,)), (G, (s_root,), (s_gadm, s_own))):
        listed = {i["id"] for i in c[role].get("/api/digest-schedules?per_page=500")[1]["items"]}
        assert not listed & set(hidden) and set(visible) <= listed, role
        for x in hidden:
            assert c[role].req("PATCH", f"/api/digest-schedules/{x}", {"enabled": False})[0] == 404
    for role, hidden, visible in ((D, (q_root, q_gadm), (q_own,)), (G, (q_root,), (q_gadm, q_own))):
        listed = {i["id"] for i in c[role].get("/api/quarantine?per_page=500")[1]["items"]}
        assert not listed & set(hidden) and set(visible) <= listed, role
        for x in hidden:
            assert c[role].get(f"/api/quarantine/{x}")[0] == 404
            assert c[role].req("POST", f"/api/quarantine/{x}/accept-sender")[0] == 404
            assert c[role].req("POST", f"/api/quarantine/{x}/release")[0] == 404
            assert c[role].req("DELETE", f"/api/quarantine/{x}")[0] == 404
    assert pg.scalar("SELECT count(*) FROM quarantine WHERE id = ANY(%s) AND status = 'held'",
                     (higher_owned["quarantine"],)) == 3
    # the root-admin still manages all of them, and a domain-admin still its users' (alice, 4)
    assert c[R].get(f"/api/quarantine/{q_gadm}")[0] == 200
    assert c[R].req("PATCH", f"/api/directives/{d_root}", {"action": "accept"})[0] == 200
    st, x = c[D].req("POST", "/api/directives", {"user_id": 4, "sender_pattern": "ok@b.test", "action": "accept"})
    assert st == 201
    assert c[D].req("DELETE", f"/api/directives/{x['id']}")[0] == 200


# ---- separate instances (they re-seed the database, so they run last) ----------------------------

def _client(port, source):
    a = Api(port)
    a.source = source
    return a


def test_failed_logins_cannot_lock_out_an_admin(pg, services, tmp_path):
    """Finding 4: failures from one address slow that address down ever more, but the admin's
    right password from another address works at once."""
    seed(pg)
    svc = start_api(services, pg, tmp_path, CLEMENT_LOGIN_MAX_FAILS=3)
    assert _client(svc.port, "127.0.0.3").login("root@a.test")[0] == 200    # the admin's usual address
    attacker = _client(svc.port, "127.0.0.2")
    for _ in range(3):
        assert attacker.login("root@a.test", "guess")[0] == 401
    waits = []
    for _ in range(3):
        st, e = attacker.login("root@a.test", PASSWORD)       # even the right password waits
        assert st == 429 and "try again in" in e["error"]
        waits.append(int(attacker.last.getheader("Retry-After")))
        time.sleep(waits[-1] + 0.1)
        assert attacker.login("root@a.test", "guess")[0] == 401
    assert waits == [1, 2, 4]                                   # growing
    assert attacker.login("root@a.test", PASSWORD)[0] == 429
    # the admin, from its known address and from a new one, is not held by the attacker's failures
    assert _client(svc.port, "127.0.0.3").login("root@a.test")[0] == 200
    assert _client(svc.port, "127.0.0.4").login("root@a.test")[0] == 200
    assert pg.scalar("SELECT count(*) FROM login_known WHERE user_id = 1") == 2


def test_current_password_guessing_is_limited(pg, services, tmp_path):
    """Finding 3: /api/password's current-password failures are throttled as login's are."""
    seed(pg)
    svc = start_api(services, pg, tmp_path, CLEMENT_LOGIN_MAX_FAILS=3, CLEMENT_LOGIN_DELAY_MAX_S=2)
    a = Api(svc.port)
    assert a.login("alice@a.test")[0] == 200
    change = {"current_password": "guess", "new_password": "another long password"}
    for _ in range(3):
        assert a.req("POST", "/api/password", change)[0] == 403
    for _ in range(2):
        st, e = a.req("POST", "/api/password", change)
        assert st == 429 and a.last.getheader("Retry-After") == "1" and "password checks" in e["error"]
    st, e = a.req("POST", "/api/password", dict(change, current_password=PASSWORD))   # the right one waits too
    assert st == 429
    hash_before = pg.scalar("SELECT password_hash FROM users WHERE id = 4")
    time.sleep(1.1)
    assert a.req("POST", "/api/password", change)[0] == 403
    assert a.req("POST", "/api/password", change)[0] == 429 and a.last.getheader("Retry-After") == "2"
    assert pg.scalar("SELECT password_hash FROM users WHERE id = 4") == hash_before
    time.sleep(2.1)
    st, body = a.req("POST", "/api/password", dict(change, current_password=PASSWORD))
    assert st == 200
    a.csrf = body["csrf_token"]
    assert a.req("POST", "/api/password", {"current_password": "another long password",
                                           "new_password": PASSWORD})[0] == 200   # the delay ended


def test_two_root_admins_deleting_each_other_leave_one(pg, services, tmp_path):
    """Finding 2: the last enabled root-admin survives even a race between two root-admins."""
    import threading
    seed(pg)
    from harness.api import pw_hash
    svc = start_api(services, pg, tmp_path)
    for attempt in range(4):
        pg.execute("UPDATE users SET enabled = true WHERE id = 1")
        pg.execute("DELETE FROM users WHERE role = 'root-admin' AND id <> 1")
        ids = [pg.scalar("INSERT INTO users (domain_id, local_part, role, password_hash) VALUES (3, %s, "
                         "'root-admin', %s) RETURNING id", (f"r{attempt}{i}", pw_hash())) for i in (0, 1)]
        pg.execute("UPDATE users SET enabled = false WHERE id = 1")
        clients = []
        for i in (0, 1):
            c = Api(svc.port)
            assert c.login(f"r{attempt}{i}@c.test")[0] == 200
            clients.append(c)
        out = [None, None]
        go = threading.Barrier(2)

        def delete(i):
            go.wait()
            out[i] = clients[i].req("DELETE", f"/api/users/{ids[1 - i]}")

        threads = [threading.Thread(target=delete, args=(i,)) for i in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert pg.scalar("SELECT count(*) FROM users WHERE role = 'root-admin' AND enabled") == 1, out
        assert sorted(st for st, _ in out)[0] == 200, out
        loser = max(out, key=lambda o: o[0])
        assert loser[0] in (401, 409), out
        if loser[0] == 409:
            assert "last enabled root-admin" in loser[1]["error"]
    pg.execute("UPDATE users SET enabled = true WHERE id = 1")
