"""smtp-edge's side of the trusted mesh (docs/MESH.md sections 3 to 7): the XMESH extension,
with the real edge, the real policy and banstats services and a private PostgreSQL.

Peers are told apart by the SHA-256 fingerprint of the TLS client certificate they present
(self-signed certificates, made with openssl here: no CA is involved). The edge offers
`XMESH 1` only to an enabled peer; everyone else gets the unknown-command reply. Records are
checked by the edge's parser, stored by banstats, and a ban is then enforced by policy at
connect (the test client connects from 127.0.0.2, which a record bans).
"""
import signal
import time
import types

import pytest

from conftest import rpc_url, wait_for
from harness.mesh import fingerprint, self_signed, tls_ctx, greeting_from
from harness.smtp import Raw, start_edge

SELF = "node-b.test"      # the edge's server (banstats' CLEMENT_SERVER_NAME)
PEER = "node-a.test"      # the trusted peer that sends records
BANNED_IP = "127.0.0.2"   # a loopback source address the records ban


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """Self-signed client certificates: the peer's and a stranger's, and their fingerprints."""
    d = tmp_path_factory.mktemp("mesh-certs")
    out = {"dir": d}
    for name in ("peer", "stranger"):
        self_signed(d, name)
        out[name] = (str(d / f"{name}.pem"), str(d / f"{name}.key"), fingerprint(d / f"{name}.pem"))
    return out


class Node:
    def __init__(self, db, edge, banstats):
        self.db, self.edge, self.banstats = db, edge, banstats

    def session(self, cert=None, implicit=False, starttls=True):
        """A session after TLS (STARTTLS, or port 465) and EHLO: (Raw, EHLO reply text)."""
        if implicit:
            r = Raw(self.edge.host, self.edge.smtps)
            r.sock = tls_ctx(cert).wrap_socket(r.sock)
        else:
            r = Raw(self.edge.host, self.edge.smtp)
        code, text = r.reply()
        assert code == 220, text
        if starttls and not implicit:
            assert r.cmd("EHLO node-a.test")[0] == 250
            code, text = r.cmd("STARTTLS")
            assert code == 220, text
            r.sock = tls_ctx(cert).wrap_socket(r.sock)
            r.buf = b""
        code, text = r.cmd("EHLO node-a.test")
        assert code == 250, text
        return r, text

    def bans(self):
        return self.db.query("SELECT host(b.network) AS host, masklen(b.network) AS len, b.status, b.origin,"
                             " b.origin_server, b.hops, b.reason, p.name AS peer FROM bans b"
                             " LEFT JOIN mesh_peers p ON p.id = b.peer_id ORDER BY b.id")


def start_node(db, services, certs, trust="enforce", **edge_env):
    if certs is not None:
        db.execute("INSERT INTO mesh_peers (name, host, port, cert_fingerprint, trust) VALUES (%s, '127.0.0.1', 1,"
                   " %s, %s)", (PEER, certs["peer"][2], trust))
    policy = services.start_fresh("policy", lambda: {
        "CLEMENT_POLICY_LISTEN": rpc_url(), "CLEMENT_DB_URL": db.url, "CLEMENT_POLICY_WORKERS": "2",
        "CLEMENT_POLICY_ALLOW_LOOPBACK": "1"}).env["CLEMENT_POLICY_LISTEN"]
    bs = services.start_fresh("banstats", lambda: {
        "CLEMENT_DB_URL": db.url, "CLEMENT_BANSTATS_LISTEN": rpc_url(), "CLEMENT_SERVER_NAME": SELF,
        "CLEMENT_BANSTATS_INTERVAL_S": 3600, "CLEMENT_NEVER_BAN": ""})
    banstats = bs.env["CLEMENT_BANSTATS_LISTEN"]
    env = {"CLEMENT_BANSTATS_URL": banstats, "CLEMENT_POLICY_TIMEOUT_MS": "1500"}
    env.update(edge_env)
    edge = start_edge(services, types.SimpleNamespace(url=policy), **env)
    return Node(db, edge, bs)


@pytest.fixture
def node(db, services, certs):
    return start_node(db, services, certs)


def ban_cmd(network=BANNED_IP, origin=PEER, hops=0, reason="spam+20run", expires=None):
    expires = expires or int(time.time()) + 3600
    return f"XMESH BAN {network} EXPIRES={expires} SCORE=75 HOPS={hops} ORIGIN={origin} REASON={reason}"


def unknown_reply(r):
    return r.cmd("FROBNICATE now")


STORED = (250, "250 2.0.0 1 of 1 mesh record(s) stored")


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "port465"])
def test_trusted_peer_gets_xmesh_and_its_ban_is_enforced_then_lifted(node, certs, implicit):
    assert greeting_from(BANNED_IP, node.edge.smtp)[0] == 220
    r, ehlo = node.session(certs["peer"], implicit=implicit)
    assert "250-XMESH 1" in ehlo.splitlines() or "250 XMESH 1" in ehlo.splitlines(), ehlo
    assert r.cmd(ban_cmd(f"{BANNED_IP}/32")) == STORED
    [b] = node.bans()
    assert (b["host"], b["len"], b["status"], b["origin"], b["origin_server"], b["hops"], b["reason"], b["peer"]) == \
        (BANNED_IP, 32, "banned", "peer", PEER, 1, "spam run", PEER)
    # policy refuses the banned address at connect; the peer itself still talks.
    assert wait_for(lambda: greeting_from(BANNED_IP, node.edge.smtp)[0] == 554)
    code, text = greeting_from(BANNED_IP, node.edge.smtp)
    assert text == "554 5.7.1 Client address banned: spam run", text
    # A record naming us as its origin is a loop.
    code, text = r.cmd(ban_cmd("192.0.2.1", origin=SELF))
    assert (code, text) == (554, "554 5.7.1 Mesh record 1 originates from this server (loop)")
    assert r.cmd(f"XMESH LIFT {BANNED_IP} HOPS=0 ORIGIN={PEER}") == STORED
    assert [b["status"] for b in node.bans()] == ["lifted"]
    assert wait_for(lambda: greeting_from(BANNED_IP, node.edge.smtp)[0] == 220)
    assert r.cmd("QUIT")[0] == 221


@pytest.mark.parametrize("who", ["no-tls", "no-cert", "stranger", "stranger-465", "disabled-peer"])
def test_others_get_the_unknown_command_reply(db, services, certs, who):
    node = start_node(db, services, certs)
    if who == "disabled-peer":
        db.execute("UPDATE mesh_peers SET enabled = false")
    cert = {"no-tls": None, "no-cert": None, "stranger": certs["stranger"], "stranger-465": certs["stranger"],
            "disabled-peer": certs["peer"]}[who]
    r, ehlo = node.session(cert, implicit=who == "stranger-465", starttls=who != "no-tls")
    assert "XMESH" not in ehlo, ehlo
    unknown = unknown_reply(r)
    assert unknown == (500, "500 5.5.1 Error: command not recognized")
    assert r.cmd(ban_cmd()) == unknown
    assert r.cmd("XMESH") == unknown
    # The longer line is a peer's privilege only: for others, 513 octets are too long.
    assert r.cmd(ban_cmd(reason="x" * 450))[1] == "500 5.5.2 Line too long"
    assert node.bans() == []
    assert r.cmd("NOOP")[0] == 250


def test_peer_may_send_long_lines_but_only_for_xmesh(node, certs):
    r, _ = node.session(certs["peer"])
    reason = "+41" * 200  # 200 octets decoded, 600 on the wire: a line of about 700 octets
    code, text = r.cmd(ban_cmd("192.0.2.7", reason=reason))
    assert (code, text) == STORED
    assert [b["reason"] for b in node.bans()] == ["A" * 200]
    assert r.cmd("NOOP " + "x" * 600)[1] == "500 5.5.2 Line too long"
    assert r.cmd(ban_cmd("192.0.2.8", reason="x" * 1100))[1] == "500 5.5.2 Line too long"
    assert r.cmd("NOOP")[0] == 250
    assert [b["host"] for b in node.bans()] == ["192.0.2.7"]


@pytest.mark.parametrize("args,why", [
    ("BAN 192.0.2.300 EXPIRES=1 SCORE=1 HOPS=0 ORIGIN=node-a.test REASON=x", "network"),
    ("BAN 192.0.2.1/24 EXPIRES=1 SCORE=1 HOPS=0 ORIGIN=node-a.test REASON=x", "host bits"),
    ("BAN 192.0.2.1 EXPIRES=99999999999 SCORE=1 HOPS=0 ORIGIN=node-a.test", "REASON"),
    ("BAN 192.0.2.1 EXPIRES=99999999999 SCORE=1 HOPS=0 ORIGIN=node-a.test REASON=x COLOUR=red", "unknown parameter"),
    ("BAN 192.0.2.1 EXPIRES=99999999999 SCORE=1 HOPS=99 ORIGIN=node-a.test REASON=x", "HOPS"),
    ("NUKE 192.0.2.1 HOPS=0 ORIGIN=node-a.test", "action"),
    ("BAN  192.0.2.1 EXPIRES=99999999999 SCORE=1 HOPS=0 ORIGIN=node-a.test REASON=x", ""),
    ("", ""),
])
def test_malformed_record_gets_501_and_nothing_is_stored(node, certs, args, why):
    r, _ = node.session(certs["peer"])
    code, text = r.cmd(f"XMESH {args}".rstrip())
    assert code == 501 and text.startswith("501 5.5.4 Malformed mesh record 1: "), text
    assert why.lower() in text.lower(), text
    assert node.bans() == []
    assert r.cmd(ban_cmd("192.0.2.9")) == STORED  # the session goes on


def test_xmesh_inside_a_transaction_gets_503(node, certs):
    r, _ = node.session(certs["peer"])
    assert r.cmd("MAIL FROM:<postmaster@node-a.test>")[0] == 250
    code, text = r.cmd(ban_cmd())
    assert code == 503 and text.startswith("503 5.5.1 "), text
    assert node.bans() == []
    assert r.cmd("RSET")[0] == 250
    assert r.cmd(ban_cmd()) == STORED


def test_xmesh_before_ehlo_after_starttls_gets_503(node, certs):
    r = node.edge.raw()
    assert r.cmd("EHLO node-a.test")[0] == 250
    assert r.cmd("STARTTLS")[0] == 220
    r.sock = tls_ctx(certs["peer"]).wrap_socket(r.sock)
    r.buf = b""
    code, text = r.cmd(ban_cmd())
    assert code == 503 and text.startswith("503 5.5.1 "), text
    assert node.bans() == []


def test_banstats_down_gives_451_and_then_no_extension(node, certs):
    r, ehlo = node.session(certs["peer"])
    assert "XMESH 1" in ehlo
    assert node.banstats.stop() == 0
    assert r.cmd(ban_cmd()) == (451, "451 4.3.0 Temporary failure, try again later")
    # A new session cannot learn that it is a peer: the extension is not offered.
    r2, ehlo2 = node.session(certs["peer"])
    assert "XMESH" not in ehlo2
    assert unknown_reply(r2) == r2.cmd(ban_cmd())
    assert node.bans() == []


def test_peer_disabled_during_the_session_gets_530(node, certs, db):
    r, _ = node.session(certs["peer"])
    db.execute("UPDATE mesh_peers SET enabled = false")
    assert r.cmd(ban_cmd()) == (530, "530 5.7.0 Not a trusted mesh peer")
    assert r.cmd(ban_cmd()) == unknown_reply(r)
    assert node.bans() == []


def test_peer_is_still_asked_for_its_certificate_after_a_tls_reload(node, certs):
    """SIGHUP reloads the edge's certificate (issue 16): the new context asks for client
    certificates as the first did, so the peer is still recognised."""
    node.edge.svc.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "event=tls_reloaded why=sighup" in node.edge.svc.log(), timeout=10)
    r, ehlo = node.session(certs["peer"])
    assert "XMESH 1" in ehlo, ehlo
    assert r.cmd(ban_cmd()) == STORED


def test_without_banstats_url_xmesh_is_never_offered(db, services, certs):
    node = start_node(db, services, certs, CLEMENT_BANSTATS_URL="")
    r, ehlo = node.session(certs["peer"])
    assert "XMESH" not in ehlo
    assert r.sock.getpeercert(binary_form=True)  # TLS is up
    assert r.cmd(ban_cmd()) == unknown_reply(r)
