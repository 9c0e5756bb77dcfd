"""clement-banstats and the trusted mesh (docs/MESH.md).

The receiving side: the RPC op mesh_records, as smtp-edge calls it with the records a peer
sent (tools/clement-rpc over nng): trust enforce vs observe, lifts, loop prevention (origin,
hops), malformed records refused with nothing stored, unknown peers.

The sending side: the push client delivers ban_events to a peer over SMTP with STARTTLS and
a client certificate. The peer here is a small Python SMTP server (PeerServer) that does what
smtp-edge must do: it requires a client certificate, offers XMESH only when the certificate's
SHA-256 fingerprint is trusted, and records the XMESH commands it gets.
"""
import hashlib
import json
import socket
import ssl
import subprocess
import threading
import time

import pytest

from conftest import BIN, free_port, rpc_url, wait_for
from harness.dns import DnsServer
from harness.mesh import CLIENT_EXT, SERVER_EXT, fingerprint, issue, make_ca

SELF = "node-a.test"


# ---------------------------------------------------------------- certificates

@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA, a server certificate for 127.0.0.1 and peer.test (a name only the DNS server of
    test_a_peer_known_only_to_clements_resolver_gets_the_records knows) and two client
    certificates (node A, a stranger)."""
    d = tmp_path_factory.mktemp("pki")
    make_ca(d)
    issue(d, "srv", SERVER_EXT.rstrip("\n") + ",DNS:peer.test\n")
    issue(d, "a", CLIENT_EXT)
    issue(d, "stranger", CLIENT_EXT)
    return {"dir": d, "fp_a": fingerprint(d / "a.pem"), "fp_stranger": fingerprint(d / "stranger.pem")}


# ---------------------------------------------------------------- the receiving side (RPC)

def rpc(url, req):
    p = subprocess.run([str(BIN / "clement-rpc"), url, json.dumps(req)], capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def record(network="198.51.100.7", action="ban", origin="node-z.test", hops=0, **kw):
    r = {"action": action, "network": network, "origin": origin, "hops": hops}
    if action == "ban":
        r.update({"reason": "too many unknown recipients", "score": 75, "expires": int(time.time()) + 3600})
    r.update(kw)
    return r


FP_ENFORCE = "a" * 64
FP_OBSERVE = "b" * 64


@pytest.fixture
def node(db, services):
    db.execute("INSERT INTO mesh_peers (name, host, port, cert_fingerprint, trust) VALUES"
               " ('node-b.test', '127.0.0.1', 25, %s, 'enforce'), ('node-c.test', '127.0.0.1', 25, %s, 'observe')",
               (FP_ENFORCE, FP_OBSERVE))
    svc = services.start_fresh("banstats", lambda: {"CLEMENT_DB_URL": db.url, "CLEMENT_BANSTATS_LISTEN": rpc_url(),
                                                    "CLEMENT_SERVER_NAME": SELF, "CLEMENT_BANSTATS_INTERVAL_S": 3600})
    return svc.env["CLEMENT_BANSTATS_LISTEN"]


def bans(db):
    return db.query("SELECT host(b.network) AS host, masklen(b.network) AS len, b.status, b.origin, b.origin_server,"
                    " b.hops, b.reason, b.score, p.name AS peer, extract(epoch FROM b.expires_at)::bigint AS expires"
                    " FROM bans b LEFT JOIN mesh_peers p ON p.id = b.peer_id ORDER BY b.id")


def events(db):
    return [(r["host"], r["kind"]) for r in db.query(
        "SELECT host(b.network) AS host, e.kind FROM ban_events e JOIN bans b ON b.id = e.ban_id ORDER BY e.id")]


def test_enforce_peer_bans_and_lifts(db, node):
    rec = record(network="198.51.100.0/24", hops=1)
    r = rpc(node, {"v": 1, "op": "mesh_records", "peer": FP_ENFORCE.upper(), "records": [rec]})
    assert (r["ok"], r["stored"], r["code"], r["enh"]) == (True, 1, 250, "2.0.0"), r
    [b] = bans(db)
    assert (b["host"], b["len"], b["status"], b["origin"], b["peer"]) == ("198.51.100.0", 24, "banned", "peer",
                                                                           "node-b.test")
    assert (b["origin_server"], b["hops"], b["expires"], b["score"]) == ("node-z.test", 2, rec["expires"], 75)
    assert events(db) == [("198.51.100.0", "ban")]
    # The same record again is no new event; a lift lifts it and is an event.
    rpc(node, {"v": 1, "op": "mesh_records", "peer": FP_ENFORCE, "records": [rec]})
    assert events(db) == [("198.51.100.0", "ban")]
    r = rpc(node, {"v": 1, "op": "mesh_records", "peer": FP_ENFORCE,
                   "records": [record(network="198.51.100.0/24", action="lift", hops=1)]})
    assert r["ok"] and r["stored"] == 1
    assert [b["status"] for b in bans(db)] == ["lifted"]
    assert events(db) == [("198.51.100.0", "ban"), ("198.51.100.0", "lift")]


def test_observe_peer_gives_candidates(db, node):
    r = rpc(node, {"v": 1, "op": "mesh_records", "peer": FP_OBSERVE, "records": [record(), record("192.0.2.1")]})
    assert r["ok"] and r["stored"] == 2
    assert [(b["status"], b["peer"]) for b in bans(db)] == [("candidate", "node-c.test")] * 2
    assert events(db) == []  # a candidate is not enforced and not forwarded


def test_loops_are_refused(db, node):
    # A record coming back to its origin: refused, and the good record beside it neither.
    r = rpc(node, {"v": 1, "op": "mesh_records", "peer": FP_ENFORCE, "records": [record("192.0.2.9"),
                                                                                  record(origin=SELF.upper())]})
    assert (r["ok"], r["code"], r["enh"]) == (False, 554, "5.7.1") and "originates from this server" in r["text"], r
    # CLEMENT_MESH_MAX_HOPS is 3: a record that passed 3 relays would be at its 4th here.
    r = rpc(node, {"v": 1, "op": "mesh_records", "peer": FP_ENFORCE, "records": [record(hops=3)]})
    assert (r["ok"], r["code"]) == (False, 554) and "hops" in r["text"], r
    assert bans(db) == []
    r = rpc(node, {"v": 1, "op": "mesh_records", "peer": FP_ENFORCE, "records": [record(hops=2)]})
    assert r["ok"] and [b["hops"] for b in bans(db)] == [3]


@pytest.mark.parametrize("bad,why", [
    ({"network": "198.51.100.7/24"}, "host bits"),
    ({"network": "not-an-ip"}, "network"),
    ({"reason": ""}, "reason"),
    ({"hops": 17}, "hops"),
    ({"origin": "bad origin"}, "origin"),
    ({"expires": -5}, "expires"),
    ({"action": "nuke"}, "action"),
    ({"reason": "x" * 201}, "reason"),
])
def test_malformed_records_are_refused_and_nothing_is_stored(db, node, bad, why):
    good = record("192.0.2.1")
    r = rpc(node, {"v": 1, "op": "mesh_records", "peer": FP_ENFORCE, "records": [good, record(**bad)]})
    assert (r["ok"], r["code"], r["enh"]) == (False, 501, "5.5.4"), r
    assert "record 2" in r["text"] and why in r["text"], r
    assert bans(db) == [] and events(db) == []


def test_unknown_peer_and_bad_requests(db, node):
    r = rpc(node, {"v": 1, "op": "mesh_records", "peer": "c" * 64, "records": [record()]})
    assert (r["ok"], r["code"], r["enh"]) == (False, 530, "5.7.0") and "trusted" in r["text"]
    r = rpc(node, {"v": 1, "op": "mesh_records", "peer": "xyz", "records": [record()]})
    assert (r["ok"], r["code"]) == (False, 501)
    r = rpc(node, {"v": 1, "op": "mesh_records", "peer": FP_ENFORCE, "records": []})
    assert (r["ok"], r["code"]) == (False, 501)
    r = rpc(node, {"v": 1, "op": "mesh_records", "peer": FP_ENFORCE, "records": [record()] * 101})
    assert (r["ok"], r["code"]) == (False, 501)
    db.execute("UPDATE mesh_peers SET enabled = false")
    r = rpc(node, {"v": 1, "op": "mesh_records", "peer": FP_ENFORCE, "records": [record()]})
    assert (r["ok"], r["code"]) == (False, 530)
    assert bans(db) == []


def test_mesh_peer_tells_smtp_edge_whom_to_offer_xmesh(db, node, services):
    r = rpc(node, {"v": 1, "op": "mesh_peer", "peer": ":".join([FP_OBSERVE[i:i + 2] for i in range(0, 64, 2)])})
    assert r == {"v": 1, "ok": True, "trusted": True, "name": "node-c.test", "trust": "observe"}
    assert rpc(node, {"v": 1, "op": "mesh_peer", "peer": "c" * 64}) == {"v": 1, "ok": True, "trusted": False}
    db.execute("UPDATE mesh_peers SET enabled = false WHERE name = 'node-c.test'")
    assert rpc(node, {"v": 1, "op": "mesh_peer", "peer": FP_OBSERVE})["trusted"] is False
    assert rpc(node, {"v": 1, "op": "mesh_peer", "peer": "zz"})["ok"] is False
    assert rpc(node, {"v": 1, "op": "frobnicate"}) == {"v": 1, "ok": False, "error": "unknown op"}
    assert rpc(node, {"v": 1}) == {"v": 1, "ok": False, "error": "unknown op"}
    # the RPC layer's op table counts what it could not route (issue 21)
    assert "clement_rpc_unknown_ops_total 2" in services.started[-1].metrics()


def test_never_ban_and_expired_records_are_ignored(db, node):
    db.execute("INSERT INTO never_ban_networks (network) VALUES ('198.51.100.128/25')")
    recs = [record("198.51.100.0/24"), record("127.0.0.1"), record("192.0.2.1", expires=int(time.time()) - 10),
            record("192.0.2.2")]
    r = rpc(node, {"v": 1, "op": "mesh_records", "peer": FP_ENFORCE, "records": recs})
    assert (r["ok"], r["stored"], r["ignored"]) == (True, 1, 3), r
    assert [b["host"] for b in bans(db)] == ["192.0.2.2"]


# ---------------------------------------------------------------- the sending side (push)

class PeerServer(threading.Thread):
    """A tiny ESMTP server with STARTTLS that accepts XMESH from trusted client certificates."""

    def __init__(self, pki, port, trusted, reply="250 2.0.0 stored"):
        super().__init__(daemon=True)
        d = pki["dir"]
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(d / "ca.pem"))
        self.ctx.load_cert_chain(str(d / "srv.pem"), str(d / "srv.key"))
        self.ctx.verify_mode = ssl.CERT_REQUIRED
        self.trusted = set(trusted)
        self.reply = reply
        self.received = []
        self.sessions = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(5)
        self.stopped = False

    def run(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                self.session(conn)
            except (OSError, ssl.SSLError) as e:
                self.sessions.append(f"error {e}")
            finally:
                conn.close()

    def session(self, conn):
        conn.settimeout(10)
        f = conn.makefile("rwb")
        send = lambda line: (f.write(line.encode() + b"\r\n"), f.flush())
        send("220 peer.test ESMTP")
        tls, fp = None, None
        while True:
            line = (tls_f if tls else f).readline(2000).decode().rstrip("\r\n")
            out = (lambda l: (tls_f.write(l.encode() + b"\r\n"), tls_f.flush())) if tls else send
            verb = line.split(" ", 1)[0].upper()
            if verb == "EHLO":
                keys = ["STARTTLS"] if not tls else (["XMESH 1"] if fp in self.trusted else [])
                lines = ["peer.test"] + keys
                for i, l in enumerate(lines):
                    out(("250 " if i == len(lines) - 1 else "250-") + l)
                self.sessions.append(("ehlo", bool(tls), fp))
            elif verb == "STARTTLS" and not tls:
                send("220 2.0.0 go ahead")
                tls = self.ctx.wrap_socket(conn, server_side=True)
                tls_f = tls.makefile("rwb")
                fp = hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()
            elif verb == "XMESH" and tls and fp in self.trusted:
                self.received.append(line[6:])
                out(self.reply)
            elif verb == "QUIT":
                out("221 2.0.0 bye")
                return
            elif not line:
                return
            else:
                out("500 5.5.1 command unrecognized")

    def stop(self):
        self.stopped = True
        self.sock.close()


def push_node(services, db, pki, **extra):
    d = pki["dir"]

    def env():
        e = {"CLEMENT_DB_URL": db.url, "CLEMENT_BANSTATS_LISTEN": rpc_url(), "CLEMENT_SERVER_NAME": SELF,
             "CLEMENT_BANSTATS_INTERVAL_S": 3600, "CLEMENT_MESH_PUSH_INTERVAL_S": 1, "CLEMENT_MESH_TIMEOUT_S": 5,
             "CLEMENT_MESH_CERT": d / "a.pem", "CLEMENT_MESH_KEY": d / "a.key", "CLEMENT_MESH_CA": d / "ca.pem"}
        e.update(extra)
        return e
    return services.start_fresh("banstats", env)


def ban(db, network, status="banned", origin="admin", **kw):
    cols = {"network": network, "status": status, "origin": origin, "reason": "spam run", "score": 75,
            "expires_at": "2099-01-01T00:00:00Z", **kw}
    bid = db.scalar(f"INSERT INTO bans ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))}) RETURNING id",
                    list(cols.values()))
    if status == "banned":
        db.execute("INSERT INTO ban_events (ban_id, kind) VALUES (%s, 'ban')", (bid,))
    return bid


def peer_row(db, name="node-b.test"):
    return db.query("SELECT last_pushed_id, last_error, last_push_at FROM mesh_peers WHERE name = %s", (name,))[0]


def test_push_delivers_and_resumes_after_the_peer_was_down(db, services, pki):
    port = free_port()
    db.execute("INSERT INTO mesh_peers (name, host, port, cert_fingerprint, trust) VALUES"
               " ('node-b.test', '127.0.0.1', %s, %s, 'enforce')", (port, "d" * 64))
    first = ban(db, "198.51.100.7")
    ban(db, "203.0.113.0/24", reason="pregreet storm = bot", score=12.5)
    ban(db, "192.0.2.50", status="candidate")           # a candidate is never pushed
    push_node(services, db, pki)
    # The peer is down: nothing is delivered, the error is recorded, nothing is skipped.
    row = wait_for(lambda: (r := peer_row(db))["last_error"] and r)
    assert row["last_pushed_id"] == 0 and "cannot connect" in row["last_error"]
    # The peer comes up: everything it missed arrives, in order.
    peer = PeerServer(pki, port, trusted={pki["fp_a"]})
    peer.start()
    try:
        assert wait_for(lambda: peer_row(db)["last_pushed_id"] == 2), peer_row(db)
        assert peer_row(db)["last_error"] is None
        exp = 4070908800  # 2099-01-01
        assert peer.received == [
            f"BAN 198.51.100.7/32 EXPIRES={exp} SCORE=75 HOPS=0 ORIGIN={SELF} REASON=spam+20run",
            f"BAN 203.0.113.0/24 EXPIRES={exp} SCORE=12.5 HOPS=0 ORIGIN={SELF} REASON=pregreet+20storm+20+3D+20bot"]
        # An unban (as admin-api writes it) travels as a LIFT.
        db.execute("UPDATE bans SET status = 'lifted', lifted_at = now() WHERE id = %s", (first,))
        db.execute("INSERT INTO ban_events (ban_id, kind) VALUES (%s, 'lift')", (first,))
        assert wait_for(lambda: len(peer.received) == 3), peer.received
        assert peer.received[2] == f"LIFT 198.51.100.7/32 HOPS=0 ORIGIN={SELF}"
        assert peer_row(db)["last_pushed_id"] == 3
    finally:
        peer.stop()


def test_records_are_not_echoed_and_peer_refusals_do_not_block(db, services, pki):
    port = free_port()
    pid = db.scalar("INSERT INTO mesh_peers (name, host, port, cert_fingerprint, trust) VALUES"
                    " ('node-b.test', '127.0.0.1', %s, %s, 'enforce') RETURNING id", (port, "d" * 64))
    db.execute("INSERT INTO mesh_peers (name, host, port, cert_fingerprint, trust, enabled) VALUES"
               " ('node-c.test', '127.0.0.1', 1, %s, 'enforce', false)", ("e" * 64,))
    ban(db, "192.0.2.1", origin="peer", peer_id=pid, origin_server="node-b.test", hops=1)   # came from B
    ban(db, "192.0.2.2", origin="peer", peer_id=pid, origin_server="node-x.test", hops=1)   # relayed by B
    ban(db, "192.0.2.3", origin="auto")                                                    # ours
    # A peer that refuses records for good (5xx) is not retried for ever.
    peer = PeerServer(pki, port, trusted={pki["fp_a"]}, reply="554 5.7.1 not wanted")
    peer.start()
    try:
        push_node(services, db, pki)
        assert wait_for(lambda: peer_row(db)["last_pushed_id"] == 3), peer_row(db)
        assert [r.split(" ")[1] for r in peer.received] == ["192.0.2.3/32"]
        assert peer_row(db)["last_error"] is None
    finally:
        peer.stop()
    # The disabled peer got nothing.
    assert db.scalar("SELECT last_pushed_id FROM mesh_peers WHERE name = 'node-c.test'") == 0


def test_untrusted_certificate_cannot_use_the_extension(db, services, pki):
    port = free_port()
    db.execute("INSERT INTO mesh_peers (name, host, port, cert_fingerprint, trust) VALUES"
               " ('node-b.test', '127.0.0.1', %s, %s, 'enforce')", (port, "d" * 64))
    ban(db, "192.0.2.3")
    peer = PeerServer(pki, port, trusted={pki["fp_stranger"]})  # node A's certificate is not trusted there
    peer.start()
    try:
        push_node(services, db, pki)
        row = wait_for(lambda: (r := peer_row(db))["last_error"] and r)
        assert "XMESH" in row["last_error"] and row["last_pushed_id"] == 0
        assert peer.received == []
        assert ("ehlo", True, pki["fp_a"]) in peer.sessions  # it did present its certificate
    finally:
        peer.stop()


def test_peer_with_wrong_server_certificate_is_not_trusted(db, services, pki):
    port = free_port()
    db.execute("INSERT INTO mesh_peers (name, host, port, cert_fingerprint, trust) VALUES"
               " ('node-b.test', 'localhost', %s, %s, 'enforce')", (port, "d" * 64))
    ban(db, "192.0.2.3")
    peer = PeerServer(pki, port, trusted={pki["fp_a"]})  # its certificate names 127.0.0.1, not localhost
    peer.start()
    try:
        push_node(services, db, pki)
        row = wait_for(lambda: (r := peer_row(db))["last_error"] and r)
        assert "certificate" in row["last_error"] and row["last_pushed_id"] == 0
        assert peer.received == []
    finally:
        peer.stop()


def test_peer_deferral_keeps_the_position_until_it_accepts(db, services, pki):
    port = free_port()
    db.execute("INSERT INTO mesh_peers (name, host, port, cert_fingerprint, trust) VALUES"
               " ('node-b.test', '127.0.0.1', %s, %s, 'enforce')", (port, "d" * 64))
    ban(db, "192.0.2.3")
    peer = PeerServer(pki, port, trusted={pki["fp_a"]}, reply="451 4.3.0 Temporary failure, try again later")
    peer.start()
    try:
        push_node(services, db, pki)
        row = wait_for(lambda: (r := peer_row(db))["last_error"] and r)
        assert "451" in row["last_error"] and row["last_pushed_id"] == 0
        peer.reply = "250 2.0.0 1 of 1 mesh record(s) stored"
        assert wait_for(lambda: peer_row(db)["last_pushed_id"] == 1), peer_row(db)
        assert peer_row(db)["last_error"] is None
        assert len(peer.received) >= 2 and set(peer.received) == {peer.received[0]}  # the same record, again
    finally:
        peer.stop()


def test_a_peer_known_only_to_clements_resolver_gets_the_records(db, services, pki):
    """Issue 17: a peer's host name is resolved by lib/dns (CLEMENT_DNS_RESOLVER), not the C
    library: peer.test exists only on the test's DNS server, and the records reach it (over
    TLS, its certificate checked against the name); a peer whose name does not resolve fails
    its round with the reason recorded, and the other peer is not held up by it."""
    dns = DnsServer({"peer.test": [("A", "127.0.0.1")]}).start()
    port = free_port()
    db.execute("INSERT INTO mesh_peers (name, host, port, cert_fingerprint, trust) VALUES"
               " ('node-b.test', 'peer.test', %s, %s, 'enforce'), ('node-c.test', 'gone.test', %s, %s, 'enforce')",
               (port, "d" * 64, port, "e" * 64))
    ban(db, "198.51.100.9")
    peer = PeerServer(pki, port, trusted={pki["fp_a"]})
    peer.start()
    try:
        push_node(services, db, pki, CLEMENT_DNS_RESOLVER=dns.spec)
        assert wait_for(lambda: peer_row(db)["last_pushed_id"] == 1), peer_row(db)
        assert len(peer.received) == 1 and peer.received[0].startswith("BAN 198.51.100.9/32 ")
        gone = wait_for(lambda: (r := peer_row(db, "node-c.test"))["last_error"] and r)
        assert "cannot resolve gone.test" in gone["last_error"] and gone["last_pushed_id"] == 0, gone
        assert ("peer.test", "A") in dns.asked and ("gone.test", "A") in dns.asked
    finally:
        peer.stop()
        dns.stop()
