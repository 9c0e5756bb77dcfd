"""Outbound DKIM signing (issue 18): a domain admin makes DKIM keys through admin-api, and mail
a local-mode user submits (port 587 after AUTH) leaves delivery signed with the domain's active
key, relayed to Postfix's smtp-sink. The signature is checked with Debian's dkimpy
(python3-dkim) against the TXT record the API tells the admin to publish. Rotation: a newly
activated selector signs the next message while the old one stays published; a retired key
signs nothing. Only a From: domain the login may send as is signed (its own, or a granted
alias's domain; docs/ARCHITECTURE.md, "Outbound DKIM"): another domain's key never signs a
user's forgery. A receiver's real Rspamd (Debian's, with the tests' DNS server publishing the
API's TXT records) verifies the signatures: R_DKIM_ALLOW and DMARC pass. Everything real:
smtp-edge, policy, delivery, admin-api, PostgreSQL, smtp-sink, Rspamd, Redis."""
import json
import smtplib

import dkim

from conftest import wait_for
from harness.api import PASSWORD, pw_hash
from harness.fakerpc import fake  # noqa: F401 (fixtures: fake)
from harness.rspamd import DnsServer, Redis, Rspamd, txt
from harness.smtp import client_tls, local_only
from harness.submission import DOM, logged_in, send, world  # noqa: F401 (fixtures: world)

pytestmark = local_only

RECEIVER_SEES = "11.22.33.44"  # the client address the receiving Rspamd is told (not loopback, which it trusts)


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


OTHER = "other.test"


def submit(edge, user, mail_from, header_from, subject):
    """Submits one message as user (port 587, STARTTLS, AUTH) with envelope mail_from and the
    given From: header; asserts it was accepted."""
    with smtplib.SMTP(edge.host, edge.submission, timeout=30) as c:
        c.starttls(context=client_tls())
        c.login(user, PASSWORD)
        assert c.mail(mail_from)[0] == 250, (user, mail_from)
        assert c.rcpt("friend@elsewhere.example")[0] == 250
        code, text = c.data(f"From: {header_from}\r\nTo: <friend@elsewhere.example>\r\nSubject: {subject}\r\n\r\nhi\r\n")
        assert code == 250, text


def signer_of(msg):
    """The d= of the message's one DKIM-Signature, or None when it carries none."""
    h = head(msg)
    if "DKIM-Signature:" not in h:
        return None
    assert h.count("DKIM-Signature:") == 1, h
    return h.split(" d=")[1].split(";")[0]


def test_only_a_domain_the_login_may_send_as_signs(world, db, services):
    """A user of send.test writing From: another domain Clement serves (other.test, which has
    an active key) gets no signature from other.test's key, and the mail still goes out; its
    own From: is signed as before, other.test's own user is signed by other.test's key, and an
    alias grant in other.test (and only while it lasts) lets the user's other.test From: be
    signed. Failed before delivery checked the login (it signed any From: domain with a key)."""
    ids, edge, api, sink = world
    gid = db.scalar("SELECT group_id FROM domains WHERE id = %s", (ids["domain"],))
    oid = db.scalar("INSERT INTO domains (name, group_id) VALUES (%s, %s) RETURNING id", (OTHER, gid))
    db.execute("INSERT INTO users (domain_id, local_part, role, password_hash) VALUES (%s, 'carol', 'user', %s)",
               (oid, pw_hash()))
    boss = logged_in(api, "boss")
    keys = {}
    for did, dom in ((ids["domain"], DOM), (oid, OTHER)):
        st, k = boss.req("POST", f"/api/domains/{did}/dkim", {"algorithm": "ed25519-sha256", "selector": "s1"})
        assert st == 201, k
        assert boss.req("POST", f"/api/domains/{did}/dkim/{k['id']}/activate")[0] == 200
        keys[dom] = boss.get(f"/api/domains/{did}/dkim")[1]["items"]
    published = keys[DOM] + keys[OTHER]
    delivery = next(s for s in services.started if s.name == "delivery")
    n = 0

    def out(user, mail_from, header_from):
        nonlocal n
        n += 1
        submit(edge, user, mail_from, header_from, f"m{n}")
        m = sent(sink, n)
        assert f"Subject: m{n}" in head(m)
        return m

    # The forgery: alice of send.test, From: the other domain's CEO. Relayed, not signed.
    m = out(f"alice@{DOM}", f"alice@{DOM}", f"<ceo@{OTHER}>")
    assert signer_of(m) is None, head(m)
    assert 'clement_delivery_dkim_total{result="not_allowed"} 1' in delivery.metrics()
    assert f"d={OTHER} s=s1" in delivery.log() and "dkim_not_allowed" in delivery.log()
    # A display name hiding the address changes nothing; nor does the null sender.
    assert signer_of(out(f"alice@{DOM}", "", f'"alice@{DOM}" <ceo@{OTHER}>')) is None
    # An ambiguous author gets no signature either, not even her own domain's: two From:
    # fields, or two mailboxes (which one would the reader, or DMARC, take?).
    assert signer_of(out(f"alice@{DOM}", f"alice@{DOM}", f"<alice@{DOM}>\r\nFrom: <ceo@{OTHER}>")) is None
    assert signer_of(out(f"alice@{DOM}", f"alice@{DOM}", f"<ceo@{OTHER}>, <alice@{DOM}>")) is None

    # Aligned mail is still signed, and verifies: alice's own From: (with <> too), carol's.
    for user, env, frm, dom in ((f"alice@{DOM}", f"alice@{DOM}", f"Alice <alice@{DOM}>", DOM),
                                (f"alice@{DOM}", "", f"<alice@{DOM}>", DOM),
                                (f"carol@{OTHER}", f"carol@{OTHER}", f"<carol@{OTHER}>", OTHER)):
        m = out(user, env, frm)
        assert signer_of(m) == dom and dkim.verify(m, dnsfunc=dns_from(published)), (user, frm, head(m))

    # An alias in other.test granted to alice opens other.test's key to her, until revoked.
    st, alias = boss.req("POST", f"/api/users/{ids['alice']}/aliases", {"address": f"sales@{OTHER}"})
    assert st == 201, alias
    m = out(f"alice@{DOM}", f"alice@{DOM}", f"<ceo@{OTHER}>")
    assert signer_of(m) == OTHER and dkim.verify(m, dnsfunc=dns_from(published)), head(m)
    assert boss.req("DELETE", f"/api/users/{ids['alice']}/aliases/{alias['id']}")[0] == 200
    assert signer_of(out(f"alice@{DOM}", f"alice@{DOM}", f"<ceo@{OTHER}>")) is None
    assert 'clement_delivery_dkim_total{result="not_allowed"} 3' in delivery.metrics()


def test_rspamd_verifies_the_signature_with_the_published_record(world, tmp_path):
    """A receiver's real Rspamd (Debian's, asking only the tests' DNS server, which publishes
    exactly the TXT records the API gave and DMARC p=reject) finds Clement's outbound
    signatures valid, RSA and Ed25519 (R_DKIM_ALLOW, DMARC pass), and the refused forgery
    unsigned (no DKIM for other.test, DMARC reject)."""
    ids, edge, api, sink = world
    admin = logged_in(api, "dadmin")
    did = ids["domain"]
    dns = DnsServer({f"_dmarc.{DOM}": [txt("v=DMARC1; p=reject")],
                     f"_dmarc.{OTHER}": [txt("v=DMARC1; p=reject")]}).start()
    redis = Redis(tmp_path).start()
    rs = Rspamd(dns, redis)
    try:
        rs.start()
        for n, alg in enumerate(("rsa-sha256", "ed25519-sha256"), 1):
            st, k = admin.req("POST", f"/api/domains/{did}/dkim", {"algorithm": alg, "selector": f"rs{n}"})
            assert st == 201, k
            assert admin.req("POST", f"/api/domains/{did}/dkim/{k['id']}/activate")[0] == 200
            with dns.lock:
                dns.records[k["txt_name"]] = [txt(k["txt"])]
            submit(edge, f"alice@{DOM}", f"alice@{DOM}", f"Alice <alice@{DOM}>", f"rs{n}")
            m = sent(sink, n)
            assert signer_of(m) == DOM and f"s=rs{n};" in head(m), head(m)
            r = rs.check(m, IP=RECEIVER_SEES, From=f"alice@{DOM}", Rcpt="friend@elsewhere.example",
                         Helo="mx.send.test")
            sym = r["symbols"]
            assert "R_DKIM_ALLOW" in sym and "R_DKIM_REJECT" not in sym, (alg, sorted(sym), rs.log()[-3000:])
            assert any(o.startswith(f"{DOM}:") for o in sym["R_DKIM_ALLOW"].get("options", [])), sym["R_DKIM_ALLOW"]
            assert "DMARC_POLICY_ALLOW" in sym, (alg, sorted(sym))
        # The forgery of the other domain leaves unsigned: the receiver applies its p=reject.
        submit(edge, f"alice@{DOM}", f"alice@{DOM}", f"<ceo@{OTHER}>", "rs3")
        m = sent(sink, 3)
        assert signer_of(m) is None, head(m)
        sym = rs.check(m, IP=RECEIVER_SEES, From=f"alice@{DOM}", Rcpt="friend@elsewhere.example",
                       Helo="mx.send.test")["symbols"]
        assert "R_DKIM_ALLOW" not in sym and "DMARC_POLICY_REJECT" in sym, sorted(sym)
    finally:
        rs.cleanup()
        redis.stop()
        dns.stop()
