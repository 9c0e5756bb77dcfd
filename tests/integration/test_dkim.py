"""Outbound DKIM signing (issue 18): a domain admin makes DKIM keys through admin-api, and mail
a local-mode user submits (port 587 after AUTH) leaves delivery signed with the domain's active
key, relayed to Postfix's smtp-sink. The signature is checked with Debian's dkimpy
(python3-dkim) against the TXT record the API tells the admin to publish. Rotation: a newly
activated selector signs the next message while the old one stays published; a retired key
signs nothing. Everything real: smtp-edge, policy, delivery, admin-api, PostgreSQL, smtp-sink."""
import json

import dkim

from conftest import wait_for
from smtp_util import local_only
from test_sender_aliases import DOM, logged_in, send, world  # noqa: F401 (fixture)
from test_smtp_protocol import fake  # noqa: F401 (fixture: the scanner, which says clean)

pytestmark = local_only


def sent(sink, n):
    """The n-th message smtp-sink received (1-based, in the order of arrival: one is sent at a
    time), without smtp-sink's own X- lines, with CRLF line ends."""
    assert wait_for(lambda: len(sink.dumps()) >= n), sink.dumps()
    raw = sorted(sink.dumps(), key=lambda p: p.stat().st_mtime_ns)[n - 1].read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    lines = raw.split(b"\r\n")
    while lines and lines[0].startswith((b"X-Client-", b"X-Helo-", b"X-Mail-", b"X-Rcpt-")):
        lines.pop(0)
    return b"\r\n".join(lines)


def dns_from(api_keys):
    """A dkimpy DNS function that answers what the API said to publish, and nothing else."""
    txt = {f"{k['txt_name']}.": k["txt"].encode() for k in api_keys if k["state"] != "retired"}
    return lambda name, timeout=5: txt.get(name.decode() if isinstance(name, bytes) else name)


def head(msg):
    return msg.split(b"\r\n\r\n")[0].decode()


def selector_of(msg):
    """The s= of the message's one DKIM-Signature, which is above every header Clement relayed."""
    h = head(msg)
    assert h.count("DKIM-Signature:") == 1 and h.index("DKIM-Signature:") < h.index("by mx."), h
    return h.split(" s=")[1].split(";")[0]


def test_submitted_mail_is_signed_with_the_active_key_and_rotates(world, db):
    ids, edge, api, sink = world
    did = ids["domain"]
    admin = logged_in(api, "dadmin")
    # A new key is published, not signing yet; the answer carries its TXT, never the private key.
    st, k1 = admin.req("POST", f"/api/domains/{did}/dkim", {"algorithm": "ed25519-sha256", "selector": "one"})
    assert st == 201, k1
    assert (k1["selector"], k1["state"], k1["txt_name"]) == ("one", "published", f"one._domainkey.{DOM}")
    assert k1["txt"].startswith("v=DKIM1; k=ed25519; p=") and "private" not in json.dumps(k1).lower()
    assert send(edge, f"alice@{DOM}")[0] == 250
    assert "DKIM-Signature" not in head(sent(sink, 1))

    # Activated, it signs the next message, which verifies with the published record.
    assert admin.req("POST", f"/api/domains/{did}/dkim/{k1['id']}/activate")[1]["state"] == "active"
    assert send(edge, f"alice@{DOM}")[0] == 250
    keys = admin.get(f"/api/domains/{did}/dkim")[1]["items"]
    assert "private" not in json.dumps(keys).lower()
    m = sent(sink, 2)
    assert selector_of(m) == "one" and b"a=ed25519-sha256; c=relaxed/relaxed; d=send.test" in m
    assert dkim.verify(m, dnsfunc=dns_from(keys)), m[:600]
    # A changed body no longer verifies (the check is real).
    assert not dkim.verify(m.replace(b"\r\nhi\r\n", b"\r\nho\r\n"), dnsfunc=dns_from(keys))

    # Rotation: a new RSA selector (default name), activated, signs; the old one stays published.
    st, k2 = admin.req("POST", f"/api/domains/{did}/dkim", {"algorithm": "rsa-sha256"})
    assert st == 201 and k2["txt"].startswith("v=DKIM1; k=rsa; p=MII"), k2
    assert admin.req("POST", f"/api/domains/{did}/dkim/{k2['id']}/activate")[0] == 200
    assert send(edge, f"alice@{DOM}")[0] == 250
    keys = admin.get(f"/api/domains/{did}/dkim")[1]["items"]
    assert {k["selector"]: k["state"] for k in keys} == {"one": "published", k2["selector"]: "active"}
    m = sent(sink, 3)
    assert selector_of(m) == k2["selector"] and b"a=rsa-sha256" in m
    assert dkim.verify(m, dnsfunc=dns_from(keys))

    # Retired, neither key signs any more; their private keys are gone from the database.
    for k in (k1, k2):
        st, r = admin.req("POST", f"/api/domains/{did}/dkim/{k['id']}/retire")
        assert st == 200 and r["state"] == "retired", r
    assert send(edge, f"alice@{DOM}")[0] == 250
    assert "DKIM-Signature" not in head(sent(sink, 4))
    assert db.scalar("SELECT count(*) FROM dkim_keys WHERE private_key IS NOT NULL") == 0
    assert admin.req("POST", f"/api/domains/{did}/dkim/{k1['id']}/activate")[0] == 404


def test_dkim_keys_are_for_the_domains_admins_only(world):
    ids, edge, api, sink = world
    did = ids["domain"]
    alice = logged_in(api, "alice")
    assert alice.get(f"/api/domains/{did}/dkim")[0] == 403
    assert alice.req("POST", f"/api/domains/{did}/dkim", {})[0] == 403
    admin = logged_in(api, "dadmin")
    assert admin.get(f"/api/domains/{did + 1000}/dkim")[0] == 404
    for bad, why in (({"algorithm": "rsa-sha1"}, "algorithm must be"), ({"selector": "-x"}, "selector must be"),
                     ({"selector": "a.b"}, "selector must be"), ({"private_key": "x"}, "unknown field")):
        st, body = admin.req("POST", f"/api/domains/{did}/dkim", bad)
        assert st == 400 and why in body["error"], (bad, body)
    assert admin.req("POST", f"/api/domains/{did}/dkim", {"selector": "dup"})[0] == 201
    assert admin.req("POST", f"/api/domains/{did}/dkim", {"selector": "dup"})[0] == 409
