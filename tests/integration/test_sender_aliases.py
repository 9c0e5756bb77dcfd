"""After SMTP AUTH the envelope sender is who logged in (issue 15, finding 10): MAIL FROM must
be the login's own address or a sender alias an admin granted it, else 553 5.7.1 with the
reason; <> always passes. Everything real: smtplib on the submission port of smtp-edge, policy
(its cache follows the grants by NOTIFY), delivery relaying outbound mail to Postfix's
smtp-sink as smarthost, admin-api for the grants and for the "sent" log a user reads."""
import time

from conftest import wait_for
from harness.fakerpc import fake  # noqa: F401 (fixtures: fake)
from harness.smtp import local_only
from harness.submission import DOM, world, send, logged_in  # noqa: F401 (fixtures: world)

pytestmark = local_only


def test_an_authenticated_sender_is_who_logged_in(world, db):
    ids, edge, api, sink = world
    # Someone else's address, in our domain or anywhere: refused with the reason, nothing sent.
    for forged in (f"bob@{DOM}", f"BOB@{DOM.upper()}", "ceo@elsewhere.example", f"boss@{DOM}"):
        code, text = send(edge, forged)
        assert code == 553 and text.startswith("5.7.1") and f"logged in as <alice@{DOM}>" in text, (forged, text)
    # Its own address and the null sender pass, and are sent.
    assert send(edge, f"alice@{DOM}")[0] == 250
    assert send(edge, f"Alice@{DOM}")[0] == 250
    assert send(edge, "")[0] == 250
    assert wait_for(lambda: len(sink.dumps()) == 3), sink.dumps()
    # bob's "sent" log shows nothing alice tried in his name; alice's shows her messages.
    bob, alice = logged_in(api, "bob"), logged_in(api, "alice")
    time.sleep(0.5)  # policy writes its log rows in batches (CLEMENT_POLICY_LOG_FLUSH_MS)
    st, body = bob.get("/api/logs?direction=out")
    assert st == 200 and body["items"] == [], body
    st, body = alice.get("/api/logs?direction=out")
    assert st == 200 and sorted(i["sender"].lower() for i in body["items"]) == ["", f"alice@{DOM}", f"alice@{DOM}"]
    assert db.scalar("SELECT count(*) FROM message_log WHERE lower(sender) <> %s", (f"alice@{DOM}",)) == 1  # <>


def test_an_alias_granted_by_an_admin_may_be_used_until_it_is_removed(world):
    ids, edge, api, sink = world
    assert send(edge, f"sales@{DOM}")[0] == 553
    admin = logged_in(api, "dadmin")
    st, alias = admin.req("POST", f"/api/users/{ids['alice']}/aliases", {"address": f"Sales@{DOM}"})
    assert st == 201 and alias["address"] == f"sales@{DOM}", alias
    # Another account's address only when the admin manages that account; never one above it.
    assert admin.req("POST", f"/api/users/{ids['alice']}/aliases", {"address": f"bob@{DOM}"})[0] == 201
    st, body = admin.req("POST", f"/api/users/{ids['alice']}/aliases", {"address": f"boss@{DOM}"})
    assert st == 403 and "do not manage" in body["error"]
    st, body = admin.req("POST", f"/api/users/{ids['alice']}/aliases", {"address": "x@elsewhere.example"})
    assert st == 403 and "domain you manage" in body["error"]
    assert admin.req("POST", f"/api/users/{ids['alice']}/aliases", {"address": f"alice@{DOM}"})[0] == 400
    assert admin.req("POST", f"/api/users/{ids['alice']}/aliases", {"address": f"sales@{DOM}"})[0] == 409
    # A user reads its own aliases but grants none.
    alice = logged_in(api, "alice")
    st, body = alice.get(f"/api/users/{ids['alice']}/aliases")
    assert st == 200 and sorted(i["address"] for i in body["items"]) == [f"bob@{DOM}", f"sales@{DOM}"]
    assert alice.req("POST", f"/api/users/{ids['alice']}/aliases", {"address": f"x@{DOM}"})[0] == 403
    # policy follows the grant (NOTIFY): the alias is now alice's to use.
    assert wait_for(lambda: send(edge, f"sales@{DOM}")[0] == 250, timeout=10)
    assert send(edge, f"bob@{DOM}")[0] == 250
    assert send(edge, f"boss@{DOM}")[0] == 553
    st, _ = admin.req("DELETE", f"/api/users/{ids['alice']}/aliases/{alias['id']}")
    assert st == 200
    assert wait_for(lambda: send(edge, f"sales@{DOM}")[0] == 553, timeout=10)
