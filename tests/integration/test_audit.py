"""The audit trail (issue 15, finding 13) over real HTTP against the real admin-api and a real
PostgreSQL: every state-changing call leaves one audit_log row (who, from where, what, the
outcome, the target before and after with its secrets masked); GET /api/audit shows root all
rows and a group or domain admin only the rows whose target lies in its scope; a change whose
row cannot be written is rolled back and answered 500.

Uses the data set of test_admin_api.py: groups 1 and 2; domains a.test (1) and b.test (2) in
group 1, c.test (3) in group 2; root, gadmin (group 1), dadmin (domain 1), alice in a.test,
gadmin2 (group 2) in c.test.
"""
import base64
import hashlib
import hmac
import json
import time

import pytest

from conftest import Services
from harness.api import PASSWORD, Api, pw_hash, seed, start_api

DIGEST_SECRET = "audit test digest secret"
LOGINS = {"root": "root@a.test", "gadmin": "gadmin@a.test", "dadmin": "dadmin@a.test", "alice": "alice@a.test",
          "gadmin2": "gadmin2@c.test"}


@pytest.fixture(scope="module")
def world(pg, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("audit-world")
    (tmp / "index.html").write_text("<!DOCTYPE html><title>Clement</title>")
    seed(pg)
    svcs = Services(tmp)
    svc = start_api(svcs, pg, tmp, CLEMENT_DIGEST_SECRET=DIGEST_SECRET)
    clients = {}
    for role, addr in LOGINS.items():
        c = Api(svc.port)
        st, body = c.login(addr)
        assert st == 200, body
        clients[role] = c
    yield {"port": svc.port, "c": clients, "svc": svc, "pg": pg}
    problems = svcs.stop_all()
    assert not problems, "\n\n".join(problems)


def rows(pg, where="true", params=None):
    return pg.query("SELECT *, host(client_ip) AS ip FROM audit_log WHERE " + where + " ORDER BY id", params)


def last(pg, method, route):
    r = rows(pg, "method = %s AND route = %s", (method, route))
    assert r, f"no audit row for {method} {route}"
    return r[-1]


def audit(client, **query):
    q = "&".join(f"{k}={v}" for k, v in query.items())
    st, body = client.get("/api/audit" + ("?" + q if q else ""))
    assert st == 200, body
    return body


def test_a_change_is_recorded_with_who_where_what_and_before_after(world):
    c, pg = world["c"], world["pg"]
    st, _ = c["root"].req("PATCH", "/api/domains/2", {"default_action": "quarantine", "reject_text": "go away"})
    assert st == 200
    r = last(pg, "PATCH", "/api/domains/{id}")
    assert (r["actor_id"], r["actor_name"], r["actor_role"], r["ip"]) == (1, "root@a.test", "root-admin", "127.0.0.1")
    assert (r["target_type"], r["target_id"], r["domain_id"], r["group_id"], r["status"]) == ("domain", "2", 2, 1, 200)
    assert r["before"]["default_action"] == "accept" and r["before"]["reject_text"] is None
    assert r["after"]["default_action"] == "quarantine" and r["after"]["reject_text"] == "go away"
    assert abs(r["at"].timestamp() - time.time()) < 300


def test_every_role_is_recorded_creates_deletes_and_refusals(world):
    c, pg = world["c"], world["pg"]
    st, dom = c["gadmin"].req("POST", "/api/domains", {"name": "new.test", "group_id": 1})
    assert st == 201
    r = last(pg, "POST", "/api/domains")
    assert (r["actor_name"], r["target_id"], r["group_id"], r["before"]) == ("gadmin@a.test", str(dom["id"]), 1, None)
    assert r["after"]["name"] == "new.test"

    st, d = c["alice"].req("POST", "/api/directives", {"sender_pattern": "@audit.test", "action": "reject"})
    assert st == 201
    assert c["alice"].req("DELETE", f"/api/directives/{d['id']}")[0] == 200
    r = last(pg, "DELETE", "/api/directives/{id}")
    assert (r["actor_name"], r["actor_role"], r["target_type"], r["target_id"]) == (
        "alice@a.test", "user", "directive", str(d["id"]))
    assert r["before"]["sender_pattern"] == "@audit.test" and r["after"] is None
    assert (r["domain_id"], r["group_id"]) == (1, 1)  # alice's domain and group: her admins see it

    # Refused by the handler (a higher-role account) and by the route's role floor.
    assert c["dadmin"].req("DELETE", "/api/users/2")[0] == 403
    r = last(pg, "DELETE", "/api/users/{id}")
    assert (r["actor_name"], r["status"], r["target_id"]) == ("dadmin@a.test", 403, "2")
    assert r["after"]["local_part"] == "gadmin"  # still there
    assert c["dadmin"].req("POST", "/api/groups", {"name": "nope", "mode": "local"})[0] == 403
    r = last(pg, "POST", "/api/groups")
    assert (r["actor_name"], r["status"], r["after"]) == ("dadmin@a.test", 403, None)

    # A refused write that a caller of another scope aims at: recorded in the target's scope.
    assert c["gadmin2"].req("PATCH", "/api/domains/1", {"default_action": "quarantine"})[0] == 404
    r = last(pg, "PATCH", "/api/domains/{id}")
    assert (r["actor_name"], r["status"], r["domain_id"]) == ("gadmin2@c.test", 404, 1)
    assert r["before"] == r["after"]

    # Requests refused before anyone is known are not recorded (only the log line).
    n = len(rows(pg))
    assert c["alice"].req("POST", "/api/directives", {"sender_pattern": "@x.test", "action": "reject"},
                          csrf="0" * 32)[0] == 403
    assert Api(world["port"]).req("DELETE", "/api/users/4")[0] == 401
    assert len(rows(pg)) == n


def test_secrets_never_reach_the_audit_table(world):
    c, pg = world["c"], world["pg"]
    pg.execute("INSERT INTO users (id, domain_id, local_part, password_hash) VALUES (60, 1, 'sam', %s)",
               (pw_hash(),))
    old_hash = pg.scalar("SELECT password_hash FROM users WHERE id = 60")
    sam = Api(world["port"])
    assert sam.login("sam@a.test")[0] == 200
    new_pw = "brand new secret 77"
    st, _ = sam.req("POST", "/api/password", {"current_password": PASSWORD, "new_password": new_pw})
    assert st == 200
    new_hash = pg.scalar("SELECT password_hash FROM users WHERE id = 60")
    r = last(pg, "POST", "/api/password")
    assert (r["actor_id"], r["target_type"], r["target_id"], r["status"]) == (60, "user", "60", 200)
    assert r["before"]["password_hash"] == r["after"]["password_hash"] == "[masked, changed]"
    assert r["before"]["password_changed_at"] != r["after"]["password_changed_at"]

    # An admin sets a password, a group's relay password, and a wrong login's password.
    admin_pw = "admin set secret 88"
    assert c["dadmin"].req("PATCH", "/api/users/60", {"password": admin_pw})[0] == 200
    st, g = c["root"].req("POST", "/api/groups", {"name": "relay", "mode": "relay", "relay_host": "mx.test",
                                                  "relay_auth_user": "u", "relay_auth_pass": "relay secret 99"})
    assert st == 201
    assert last(pg, "POST", "/api/groups")["after"]["relay_auth_pass"] == "[masked]"
    assert Api(world["port"]).login("sam@a.test", "typed wrong secret 66")[0] == 401
    # A setting nothing reads is refused (404), and its value stays out of the audit row too.
    assert c["root"].req("PUT", "/api/settings/digest.secret_token", {"value": "setting secret 55"})[0] == 404

    dump = json.dumps(pg.query("SELECT to_jsonb(a) AS a FROM audit_log a"), default=str)
    hashes = {old_hash, new_hash, pg.scalar("SELECT password_hash FROM users WHERE id = 60")}
    for secret in [PASSWORD, new_pw, admin_pw, "relay secret 99", "typed wrong secret 66", "setting secret 55",
                   *hashes, "$argon2"]:
        assert secret not in dump, f"{secret!r} is in the audit table"


def test_logins_logouts_and_failed_logins(world):
    pg = world["pg"]
    a = Api(world["port"])
    assert a.login("alice@a.test")[0] == 200
    r = last(pg, "POST", "/api/login")
    assert (r["actor_id"], r["actor_name"], r["status"], r["target_id"], r["domain_id"]) == (
        4, "alice@a.test", 200, "4", 1)
    assert r["before"] is None and r["after"] is None  # a login changes no object
    assert a.req("POST", "/api/logout")[0] == 200
    r = last(pg, "POST", "/api/logout")
    assert (r["actor_id"], r["target_id"], r["status"]) == (4, "4", 200)
    assert Api(world["port"]).login("Alice@A.test", "wrong password 1")[0] == 401
    r = last(pg, "POST", "/api/login")
    assert (r["actor_id"], r["actor_name"], r["status"], r["target_id"], r["domain_id"]) == (
        None, "alice@a.test", 401, "4", 1)
    assert Api(world["port"]).login("nobody@nowhere.test", "wrong password 1")[0] == 401
    r = last(pg, "POST", "/api/login")
    assert (r["actor_name"], r["target_id"], r["domain_id"], r["group_id"]) == ("nobody@nowhere.test", None, None, None)
    # Public calls that name nobody are not recorded (anyone could fill the table with them).
    n = len(rows(pg))
    assert Api(world["port"]).req("POST", "/api/login", {"address": "alice@a.test"})[0] == 400
    assert Api(world["port"]).req("POST", "/api/digest/release.1.99999999999.forged", origin=False)[0] == 400
    assert len(rows(pg)) == n
    # The failed login on alice is shown to her domain's admin; the unknown address to root only.
    seen = audit(world["c"]["dadmin"], route="/api/login", outcome="failure")["items"]
    names = [x["actor_name"] for x in seen]
    assert "alice@a.test" in names and "nobody@nowhere.test" not in names
    assert "nobody@nowhere.test" in [x["actor_name"] for x in audit(world["c"]["root"], route="/api/login")["items"]]


def digest_token(action, qid, expires):
    msg = f"clement-digest-v1|{action}|{qid}|{expires}".encode()
    mac = base64.urlsafe_b64encode(hmac.new(DIGEST_SECRET.encode(), msg, hashlib.sha256).digest()).rstrip(b"=")
    return f"{action}.{qid}.{expires}.{mac.decode()}"


def test_a_digest_link_is_recorded_without_its_token(world):
    pg = world["pg"]
    token = digest_token("release", 1, int(time.time()) + 3600)
    # Delivery is down: the release is answered 503 after the connection went back to the
    # pool around the RPC (the row is then written after the handler).
    st, _ = Api(world["port"]).req("POST", f"/api/digest/{token}", origin=False)
    assert st == 503
    r = last(pg, "POST", "/api/digest/{token}")
    assert (r["actor_id"], r["actor_name"], r["actor_role"]) == (4, "alice@a.test", "digest-link")
    assert (r["target_type"], r["target_id"], r["domain_id"], r["status"]) == ("quarantine", "1", 1, 503)
    assert "message" not in r["before"]
    dump = json.dumps(pg.query("SELECT to_jsonb(a) AS a FROM audit_log a"), default=str)
    assert token not in dump and token.rsplit(".", 1)[1] not in dump


def test_scope_filtering(world):
    c, pg = world["c"], world["pg"]
    assert c["gadmin2"].req("PATCH", "/api/domains/3", {"reject_text": "group two"})[0] == 200
    assert c["root"].req("POST", "/api/never-ban", {"network": "192.0.2.0/24"})[0] == 201
    assert c["alice"].get("/api/audit")[0] == 403

    everything = audit(c["root"], per_page=200)
    assert everything["total"] == len(rows(pg))
    assert any(x["target_type"] == "never_ban" for x in everything["items"])

    dad = audit(c["dadmin"], per_page=200)["items"]
    assert dad and all(x["domain_id"] == 1 for x in dad)
    assert not any(x["route"] == "/api/domains/{id}" and x["target_id"] in ("2", "3") for x in dad)

    # Rows about an account whose role is not below the reader's are not its to read (as that
    # account is not listed to it): a domain-admin does not see its root-admin's or group-admin's
    # logins, though they are accounts of its domain; it sees its own and its users'.
    logins = {x["actor_name"] for x in dad if x["route"] == "/api/login"}
    assert {"dadmin@a.test", "alice@a.test"} <= logins and not logins & {"root@a.test", "gadmin@a.test"}
    assert not any(x["owner_role"] in ("group-admin", "root-admin") for x in dad)
    assert not any(x["target_type"] == "user" and x["target_id"] == "2" for x in dad)  # the refused delete

    gad = audit(c["gadmin"], per_page=200)["items"]
    logins = {x["actor_name"] for x in gad if x["route"] == "/api/login"}
    assert {"gadmin@a.test", "dadmin@a.test", "alice@a.test"} <= logins and "root@a.test" not in logins
    assert all(x["group_id"] == 1 for x in gad)
    assert any(x["target_type"] == "domain" and x["target_id"] == "2" for x in gad)  # a domain of its group
    assert not any(x["domain_id"] == 3 or x["target_type"] == "never_ban" for x in gad)

    gad2 = audit(c["gadmin2"], per_page=200)["items"]
    assert any(x["target_id"] == "3" and x["target_type"] == "domain" for x in gad2)
    assert all(x["group_id"] == 2 for x in gad2)
    # A filter naming another scope narrows to nothing rather than widening.
    assert audit(c["dadmin"], domain_id=3)["total"] == 0


def test_filters_and_pagination(world):
    c = world["c"]
    root = c["root"]
    page = audit(root, per_page=2, page=1)
    assert len(page["items"]) == 2 and page["total"] > 2
    older = audit(root, per_page=2, page=2)["items"]
    assert page["items"][0]["id"] > page["items"][1]["id"] > older[0]["id"]  # newest first
    assert {x["actor_name"] for x in audit(root, actor="gadmin2", per_page=200)["items"]} == {"gadmin2@c.test"}
    assert {x["target_type"] for x in audit(root, target_type="directive")["items"]} == {"directive"}
    assert {x["method"] for x in audit(root, method="DELETE")["items"]} == {"DELETE"}
    assert all(x["status"] >= 400 for x in audit(root, outcome="failure", per_page=200)["items"])
    assert all(x["status"] < 400 for x in audit(root, outcome="success", per_page=200)["items"])
    assert audit(root, route="domains", target_id="2")["total"] >= 1
    assert audit(root, **{"from": "2999-01-01"})["total"] == 0
    assert audit(root, to="2000-01-01")["total"] == 0
    assert root.get("/api/audit?outcome=maybe")[0] == 400
    assert root.get("/api/audit?actor_id=abc")[0] == 400
    assert root.get("/api/audit?from=yesterdayish")[0] == 400


def test_a_change_whose_row_cannot_be_written_is_not_made(world):
    c, pg, svc = world["c"], world["pg"], world["svc"]
    pg.execute("""
        CREATE FUNCTION audit_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit disk full'; END $$;
        CREATE TRIGGER audit_test_fail BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_test_fail();
    """)
    try:
        st, body = c["root"].req("PATCH", "/api/domains/1", {"reject_text": "never written"})
        assert st == 500 and "audit" in body["error"]
        assert pg.scalar("SELECT reject_text FROM domains WHERE id = 1") is None
        a = Api(world["port"])
        assert a.login("bob@b.test")[0] == 500  # no session without its audit row
        assert a.cookie is None and pg.scalar("SELECT count(*) FROM web_sessions w JOIN users u ON u.id = "
                                               "w.user_id WHERE u.local_part = 'bob'") == 0
        # A call that gave its connection back around the delivery RPC: its answer stands (the
        # delivery service acted, or here failed, on its own), the lost row is logged and counted.
        assert c["alice"].req("POST", "/api/quarantine/1/release")[0] == 503
    finally:
        pg.execute("DROP TRIGGER audit_test_fail ON audit_log; DROP FUNCTION audit_test_fail()")
    assert "clement_admin_audit_failures_total 3" in svc.metrics()
    assert "audit_write_failed" in svc.log()
    assert c["root"].req("PATCH", "/api/domains/1", {"reject_text": "written"})[0] == 200


def test_audit_rows_cannot_be_changed(world):
    import psycopg2
    with pytest.raises(psycopg2.Error):
        world["pg"].execute("UPDATE audit_log SET status = 200")
