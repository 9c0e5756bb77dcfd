"""The trusted mesh between complete Clement stacks (issue 7, "Done when"): two or three nodes on
loopback, each with its own PostgreSQL database (in the suite's private cluster) and its own
policy, scanner, delivery, banstats, admin-api and smtp-edge, configured as their admins would:
mesh peers, bans and unbans through each node's admin API.

Each node has a server certificate for its edge (signed by a test CA that the pushing banstats
verify) and a client certificate its banstats presents to the peers; a peer is trusted by the
SHA-256 fingerprint of that client certificate. Records travel node to node over SMTP
(banstats push -> the other node's smtp-edge -> its banstats) every CLEMENT_MESH_PUSH_INTERVAL_S
(1 s here). Enforcement is observed as a user would: a client connecting from 127.0.0.2 is
refused at connect by the node that learned the ban.
"""
import subprocess
import types

import pytest

from conftest import ROOT, Postgres, rpc_url, wait_for
from harness.api import PASSWORD, Api, pw_hash, start_api
from harness.mesh import greeting_from, tls_ctx, CLIENT_EXT, SERVER_EXT, fingerprint, issue, make_ca
from harness.smtp import Raw, start_edge

BAD_IP = "127.0.0.2"      # the abusive client some node bans
OTHER_IP = "127.0.0.3"
PROPAGATION_S = 30.0      # deadline for a record to cross the mesh (interval 1 s; sanitizer builds are slow)


class NodeDB(Postgres):
    """One node's own database in the suite's cluster."""

    def __init__(self, pg, name):
        self.dir, self.port = pg.dir, pg.port
        self.url = f"postgresql://clement@127.0.0.1:{pg.port}/{name}"
        self._conn = None


@pytest.fixture(scope="module")
def node_dbs(pg):
    dbs = {}
    for n in "abc":
        name = f"clement_mesh_{n}"
        pg.execute(f"DROP DATABASE IF EXISTS {name}")
        pg.execute(f"CREATE DATABASE {name}")
        d = NodeDB(pg, name)
        d.migrate()
        dbs[n] = d
    yield dbs
    for n, d in dbs.items():
        if d._conn is not None:
            d._conn.close()


@pytest.fixture(scope="module")
def mesh_pki(tmp_path_factory):
    """A CA; per node an edge server certificate (for 127.0.0.1) and a banstats client certificate."""
    d = tmp_path_factory.mktemp("mesh-pki")
    make_ca(d, "Mesh CA")
    for n in "abcx":
        issue(d, f"srv-{n}", SERVER_EXT + "extendedKeyUsage=serverAuth\n", cn=f"mx.node-{n}.test")
        issue(d, f"cli-{n}", CLIENT_EXT, cn=f"node-{n}.test")
    return d


class Node:
    """One complete Clement stack."""

    def __init__(self, letter, db, services, pki, tmp, **banstats_env):
        self.letter, self.name, self.db, self.pki = letter, f"node-{letter}.test", db, pki
        db.truncate()
        gid = db.scalar("INSERT INTO groups (name, mode) VALUES ('g', 'local') RETURNING id")
        did = db.scalar("INSERT INTO domains (name, group_id) VALUES (%s, %s) RETURNING id", (self.name, gid))
        db.execute("INSERT INTO users (domain_id, local_part, role, password_hash) VALUES (%s, 'root', 'root-admin',"
                   " %s)", (did, pw_hash()))
        policy = services.start_fresh("policy", lambda: {
            "CLEMENT_POLICY_LISTEN": rpc_url(), "CLEMENT_DB_URL": db.url, "CLEMENT_POLICY_WORKERS": "2",
            "CLEMENT_POLICY_ALLOW_LOOPBACK": "1"}).env["CLEMENT_POLICY_LISTEN"]
        sigs = tmp / f"clamav-{letter}"
        subprocess.run([str(ROOT / "scripts/make-test-sigs"), str(sigs)], check=True)
        scanner = services.start_fresh("scanner", lambda: {
            "CLEMENT_SCANNER_LISTEN": rpc_url(), "CLEMENT_CLAMAV_DB": str(sigs),
            "CLEMENT_SCANNER_WORKERS": "1"}).env["CLEMENT_SCANNER_LISTEN"]
        delivery = services.start_fresh("delivery", lambda: {
            "CLEMENT_DELIVERY_LISTEN": rpc_url(), "CLEMENT_DB_URL": db.url,
            "CLEMENT_MAILDIR_ROOT": str(tmp / f"maildir-{letter}")}).env["CLEMENT_DELIVERY_LISTEN"]

        def banstats_settings():
            env = {"CLEMENT_DB_URL": db.url, "CLEMENT_BANSTATS_LISTEN": rpc_url(), "CLEMENT_SERVER_NAME": self.name,
                   "CLEMENT_BANSTATS_INTERVAL_S": 3600, "CLEMENT_NEVER_BAN": "", "CLEMENT_MESH_PUSH_INTERVAL_S": 1,
                   "CLEMENT_MESH_TIMEOUT_S": 5, "CLEMENT_MESH_CERT": pki / f"cli-{letter}.pem",
                   "CLEMENT_MESH_KEY": pki / f"cli-{letter}.key", "CLEMENT_MESH_CA": pki / "ca.pem"}
            env.update(banstats_env)
            return env
        self.banstats = services.start_fresh("banstats", banstats_settings)
        banstats = self.banstats.env["CLEMENT_BANSTATS_LISTEN"]
        frontend = tmp / f"frontend-{letter}"
        frontend.mkdir(exist_ok=True)
        api = start_api(services, db, frontend, CLEMENT_DELIVERY_URL=delivery)
        self.api = Api(api.port)
        st, body = self.api.login(f"root@{self.name}", PASSWORD)
        assert st == 200, body
        e = start_edge(services, types.SimpleNamespace(url=policy), CLEMENT_SCANNER_URL=scanner,
                       CLEMENT_DELIVERY_URL=delivery, CLEMENT_BANSTATS_URL=banstats,
                       CLEMENT_TLS_CERT=pki / f"srv-{letter}.pem", CLEMENT_TLS_KEY=pki / f"srv-{letter}.key",
                       CLEMENT_HOSTNAME=f"mx.{self.name}", CLEMENT_PREGREET_WAIT=200,
                       CLEMENT_POLICY_TIMEOUT_MS=5000, CLEMENT_SCANNER_TIMEOUT_MS=30000,
                       CLEMENT_DELIVERY_TIMEOUT_MS=30000)
        self.edge, self.smtp, self.smtps = e.svc, e.smtp, e.smtps

    def peer_with(self, other, trust="enforce", fingerprint_of=None):
        """As this node's root admin: add `other` as a mesh peer (we push to its edge, and trust
        the client certificate its banstats presents)."""
        fp = fingerprint(self.pki / f"cli-{fingerprint_of or other.letter}.pem")
        st, body = self.api.req("POST", "/api/mesh-peers", {"name": other.name, "host": "127.0.0.1",
                                                            "port": other.smtp, "cert_fingerprint": fp,
                                                            "trust": trust})
        assert st == 201, body
        return body["id"]

    def ban(self, network, reason="spam run"):
        st, body = self.api.req("POST", "/api/bans", {"network": network, "reason": reason, "expires_in_s": 86400})
        assert st == 201 and body["status"] == "banned", body
        return body["id"]

    def unban(self, ban_id):
        st, body = self.api.req("POST", f"/api/bans/{ban_id}/unban")
        assert st == 200 and body["status"] == "lifted", body

    def bans(self, network=None):
        return self.db.query(
            "SELECT b.id, host(b.network) AS host, b.status, b.origin, b.origin_server, b.hops, b.reason,"
            " p.name AS peer FROM bans b LEFT JOIN mesh_peers p ON p.id = b.peer_id"
            " WHERE %s::text IS NULL OR host(b.network) = %s ORDER BY b.id", (network, network))

    def greeting(self, ip):
        return greeting_from(ip, self.smtp)

    def peers(self):
        return self.db.query("SELECT name, last_pushed_id, last_error, last_push_at FROM mesh_peers ORDER BY id")

    def quiet(self):
        """Every enabled peer has been sent (or skipped) every ban event, without error."""
        last = self.db.scalar("SELECT coalesce(max(id), 0) FROM ban_events")
        return all(p["last_pushed_id"] == last and p["last_error"] is None for p in self.peers())


@pytest.fixture
def mesh(node_dbs, services, mesh_pki, tmp_path):
    def make(letters, **per_node_env):
        return [Node(n, node_dbs[n], services, mesh_pki, tmp_path, **per_node_env.get(n, {})) for n in letters]
    return make


def test_a_ban_on_node_a_reaches_node_b_and_so_does_its_lift(mesh):
    a, b = mesh("ab")
    a.peer_with(b)
    b.peer_with(a)
    assert a.greeting(BAD_IP)[0] == 220 and b.greeting(BAD_IP)[0] == 220
    ban_id = a.ban(BAD_IP, reason="dictionary attack")
    assert a.greeting(BAD_IP) == (554, "554 5.7.1 Client address banned: dictionary attack") or \
        wait_for(lambda: a.greeting(BAD_IP)[0] == 554)
    # One exchange interval later, node B refuses the address at connect too.
    assert wait_for(lambda: b.greeting(BAD_IP)[0] == 554, PROPAGATION_S), b.bans()
    assert b.greeting(BAD_IP) == (554, "554 5.7.1 Client address banned: dictionary attack")
    [row] = b.bans(BAD_IP)
    assert (row["status"], row["origin"], row["origin_server"], row["hops"], row["peer"]) == \
        ("banned", "peer", a.name, 1, a.name)
    assert b.greeting(OTHER_IP)[0] == 220  # nobody else is affected
    # B does not send A's record back to A: A has only its own ban.
    assert wait_for(lambda: a.quiet() and b.quiet(), PROPAGATION_S), (a.peers(), b.peers())
    assert [(r["origin"], r["peer"]) for r in a.bans()] == [("admin", None)]
    # The admin of A lifts the ban: B lifts it too.
    a.unban(ban_id)
    assert wait_for(lambda: b.greeting(BAD_IP)[0] == 220, PROPAGATION_S), b.bans()
    assert [r["status"] for r in b.bans(BAD_IP)] == ["lifted"]
    assert a.greeting(BAD_IP)[0] == 220


def test_records_wait_for_a_peer_that_was_down(mesh, services):
    a, b = mesh("ab")
    a.peer_with(b)
    b.peer_with(a)
    assert b.edge.stop() == 0  # B's edge goes away; restarted below on the same ports
    ban_id = a.ban(BAD_IP)
    row = wait_for(lambda: next((p for p in a.peers() if p["last_error"]), None), PROPAGATION_S)
    assert row and row["last_pushed_id"] == 0 and "connect" in row["last_error"], a.peers()
    b.edge.start()
    assert wait_for(lambda: b.greeting(BAD_IP)[0] == 554, PROPAGATION_S), (a.peers(), b.bans())
    assert wait_for(lambda: a.quiet(), PROPAGATION_S), a.peers()
    a.unban(ban_id)
    assert wait_for(lambda: b.greeting(BAD_IP)[0] == 220, PROPAGATION_S), b.bans()


def test_a_peer_without_a_trusted_certificate_cannot_use_the_extension(mesh, mesh_pki):
    a, b = mesh("ab")
    # B lists A, but with the fingerprint of another certificate (cli-x): A's is not trusted.
    a.peer_with(b)
    b.peer_with(a, fingerprint_of="x")
    a.ban(BAD_IP)
    row = wait_for(lambda: next((p for p in a.peers() if p["last_error"]), None), PROPAGATION_S)
    assert row and "XMESH" in row["last_error"] and row["last_pushed_id"] == 0, a.peers()
    assert b.bans() == []
    assert b.greeting(BAD_IP)[0] == 220
    # What A's banstats saw, by hand: no keyword, and the verb is an unknown command.
    r = Raw("127.0.0.1", b.smtp)
    assert r.reply()[0] == 220
    assert r.cmd("EHLO node-a.test")[0] == 250
    assert r.cmd("STARTTLS")[0] == 220
    r.sock = tls_ctx((str(mesh_pki / "cli-a.pem"), str(mesh_pki / "cli-a.key"))).wrap_socket(r.sock)
    r.buf = b""
    code, ehlo = r.cmd("EHLO node-a.test")
    assert code == 250 and "XMESH" not in ehlo
    unknown = r.cmd("FROBNICATE")
    assert r.cmd(f"XMESH BAN {BAD_IP} EXPIRES=0 SCORE=1 HOPS=0 ORIGIN=node-a.test REASON=x") == unknown
    assert unknown[0] == 500
    # The certificate that B does trust (cli-x) gets the extension.
    r2 = Raw("127.0.0.1", b.smtps)
    r2.sock = tls_ctx((str(mesh_pki / "cli-x.pem"), str(mesh_pki / "cli-x.key"))).wrap_socket(r2.sock)
    assert r2.reply()[0] == 220
    code, ehlo = r2.cmd("EHLO node-x.test")
    assert code == 250 and "XMESH 1" in ehlo
    r.close()
    r2.close()


def test_observe_trust_lists_a_candidate_and_enforce_trust_bans(mesh):
    a, b, c = mesh("abc")
    # B trusts A only to observe, C trusts A to enforce.
    a.peer_with(b)
    a.peer_with(c)
    b.peer_with(a, trust="observe")
    c.peer_with(a, trust="enforce")
    a.ban(BAD_IP, reason="virus storm")
    assert wait_for(lambda: c.greeting(BAD_IP)[0] == 554, PROPAGATION_S), c.bans()
    assert wait_for(lambda: a.quiet() and b.bans(BAD_IP), PROPAGATION_S), (a.peers(), b.bans())
    [cand] = b.bans(BAD_IP)
    assert (cand["status"], cand["origin"], cand["origin_server"], cand["peer"]) == \
        ("candidate", "peer", a.name, a.name)
    assert b.greeting(BAD_IP)[0] == 220  # observed, not enforced
    # B's admin sees it among the candidates, with where it came from, and promotes it.
    st, listing = b.api.get("/api/bans?status=candidate")
    assert st == 200, listing
    items = listing["items"] if isinstance(listing, dict) else listing
    assert any(i["id"] == cand["id"] for i in items), listing
    st, body = b.api.req("POST", f"/api/bans/{cand['id']}/promote")
    assert st == 200 and body["status"] == "banned", body
    assert wait_for(lambda: b.greeting(BAD_IP)[0] == 554, PROPAGATION_S)
    assert b.greeting(BAD_IP) == (554, "554 5.7.1 Client address banned: virus storm")
    [row] = b.bans(BAD_IP)
    assert (row["status"], row["origin"], row["origin_server"], row["peer"]) == ("banned", "admin", a.name, a.name)
    # The ban is B's own now: A's next record for the address (a new expiry) and A's lift no
    # longer change it, while C, which enforces A's records, follows A.
    a.ban(BAD_IP, reason="virus storm, again")
    assert wait_for(lambda: a.quiet() and c.bans(BAD_IP)[0]["reason"] == "virus storm, again", PROPAGATION_S)
    a.unban(a.bans(BAD_IP)[0]["id"])
    assert wait_for(lambda: c.greeting(BAD_IP)[0] == 220 and a.quiet(), PROPAGATION_S), c.bans()
    assert [(r["status"], r["reason"]) for r in b.bans(BAD_IP)] == [("banned", "virus storm")]
    assert b.greeting(BAD_IP)[0] == 554


def test_a_three_node_ring_does_not_loop(mesh):
    a, b, c = mesh("abc")
    # A -> B -> C -> A, each peering with the next (in this data model a peer row means both
    # "push to it" and "trust its certificate"), so every record can go round the ring both ways.
    for x, y in ((a, b), (b, c), (c, a)):
        x.peer_with(y)
        y.peer_with(x)
    ban_id = a.ban(BAD_IP, reason="ring test")
    for n in (b, c):
        assert wait_for(lambda n=n: n.greeting(BAD_IP)[0] == 554, PROPAGATION_S), n.bans()
    assert wait_for(lambda: all(n.quiet() for n in (a, b, c)), PROPAGATION_S), [n.peers() for n in (a, b, c)]
    # Then let every node run at least two more push rounds: nothing new may appear.
    mark = a.db.scalar("SELECT now()")
    snapshot = [(n.bans(), n.db.scalar("SELECT count(*) FROM ban_events")) for n in (a, b, c)]
    for n in (a, b, c):
        assert wait_for(lambda n=n: all(p["last_push_at"] and p["last_push_at"] > mark for p in n.peers()),
                        PROPAGATION_S)
    mark = a.db.scalar("SELECT now()")
    for n in (a, b, c):
        assert wait_for(lambda n=n: all(p["last_push_at"] > mark for p in n.peers()), PROPAGATION_S)
    assert [(n.bans(), n.db.scalar("SELECT count(*) FROM ban_events")) for n in (a, b, c)] == snapshot
    # A holds only its own ban (records naming A as origin never come back); B and C hold one
    # row per neighbour that sent it, each keeping A as the origin, with the hops it travelled.
    assert [(r["origin"], r["origin_server"]) for r in a.bans()] == [("admin", None)]
    for n, direct, relay in ((b, a, c), (c, a, b)):
        rows = {r["peer"]: (r["status"], r["origin_server"], r["hops"]) for r in n.bans(BAD_IP)}
        assert rows == {direct.name: ("banned", a.name, 1), relay.name: ("banned", a.name, 2)}, (n.name, rows)
    # A lift at the origin empties the whole ring.
    a.unban(ban_id)
    for n in (b, c):
        assert wait_for(lambda n=n: n.greeting(BAD_IP)[0] == 220, PROPAGATION_S), n.bans()
    assert wait_for(lambda: all(n.quiet() for n in (a, b, c)), PROPAGATION_S)
    for n in (b, c):
        assert {r["status"] for r in n.bans(BAD_IP)} == {"lifted"}, n.bans()


def test_the_hop_limit_stops_a_relayed_record(mesh):
    # C accepts records that passed at most one relay before it: A's record relayed by B is refused.
    a, b, c = mesh("abc", c={"CLEMENT_MESH_MAX_HOPS": 1})
    for x, y in ((a, b), (b, c), (c, a)):
        x.peer_with(y)
        y.peer_with(x)
    a.ban(BAD_IP)
    assert wait_for(lambda: all(n.quiet() for n in (a, b, c)) and c.bans(BAD_IP) and len(b.bans(BAD_IP)) == 2,
                    PROPAGATION_S), [n.bans() for n in (a, b, c)]
    assert [(r["peer"], r["hops"]) for r in c.bans(BAD_IP)] == [(a.name, 1)]
    assert "mesh_push_refused" in b.banstats.log() and "554" in b.banstats.log()
