"""The admin API as the tests drive it: a browser-like client (session cookie, CSRF token,
Origin), start_api, and `world`: one seeded data set (two groups, three domains, one account
per role, objects inside and outside each admin's scope)."""
import http.client
import json

import pytest

from conftest import Services, free_port
from harness.passwords import hash_password


PASSWORD = "correct horse 1"


def pw_hash(pw=PASSWORD):
    return hash_password(pw)


class Api:
    """One browser: keeps the session cookie and CSRF token, sends a same-origin Origin."""

    def __init__(self, port):
        self.port = port
        self.origin = f"http://127.0.0.1:{port}"
        self.cookie = None
        self.csrf = None
        self.source = None   # the client's own address, e.g. "127.0.0.2" (loopback is 127/8)

    def req(self, method, path, body=None, raw=None, origin=True, csrf=True, ctype="application/json",
            headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20,
                                          source_address=(self.source, 0) if self.source else None)
        h = {"Host": f"127.0.0.1:{self.port}"}
        if origin is True and method not in ("GET", "HEAD"):
            h["Origin"] = self.origin
        elif isinstance(origin, str):
            h["Origin"] = origin
        if csrf is True and self.csrf and method not in ("GET", "HEAD"):
            h["X-CSRF-Token"] = self.csrf
        elif isinstance(csrf, str):
            h["X-CSRF-Token"] = csrf
        if self.cookie:
            h["Cookie"] = self.cookie
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if data is not None:
            h["Content-Type"] = ctype
        h.update(headers or {})
        conn.request(method, path, body=data, headers=h)
        resp = conn.getresponse()
        text = resp.read()
        conn.close()
        sc = resp.getheader("Set-Cookie")
        if sc:
            nv = sc.split(";")[0]
            self.cookie = nv if nv.split("=", 1)[1] else None
        try:
            out = json.loads(text) if resp.getheader("Content-Type", "").startswith("application/json") else text
        except ValueError:
            out = text
        self.last = resp
        return resp.status, out

    def get(self, path):
        return self.req("GET", path)

    def login(self, address, password=PASSWORD):
        st, body = self.req("POST", "/api/login", {"address": address, "password": password})
        if st == 200:
            self.csrf = body["csrf_token"]
        return st, body


def start_api(services, pg, tmp, **extra):
    port = free_port()
    env = {
        "CLEMENT_ADMIN_LISTEN": f"127.0.0.1:{port}",
        "CLEMENT_DB_URL": pg.url,
        "CLEMENT_FRONTEND_DIR": str(tmp),
        "CLEMENT_DELIVERY_URL": f"tcp://127.0.0.1:{free_port()}",  # nothing listens: delivery down
        "CLEMENT_LOGIN_MAX_FAILS_IP": "1000",
        "CLEMENT_ADMIN_RPC_TIMEOUT_MS": "1000",
    }
    env.update({k: str(v) for k, v in extra.items()})
    svc = services.start("admin-api", env)
    svc.port = port
    return svc


SEED = """
INSERT INTO groups (id, name, mode) VALUES (1, 'g1', 'local'), (2, 'g2', 'local');
INSERT INTO domains (id, name, group_id) VALUES (1, 'a.test', 1), (2, 'b.test', 1), (3, 'c.test', 2);
INSERT INTO users (id, domain_id, local_part, role, password_hash) VALUES
  (1, 1, 'root', 'root-admin', %(h)s), (2, 1, 'gadmin', 'group-admin', %(h)s),
  (3, 1, 'dadmin', 'domain-admin', %(h)s), (4, 1, 'alice', 'user', %(h)s),
  (5, 2, 'bob', 'user', %(h)s), (6, 3, 'carol', 'user', %(h)s), (7, 3, 'gadmin2', 'group-admin', %(h)s);
INSERT INTO admin_scopes (user_id, group_id, domain_id) VALUES (2, 1, NULL), (3, NULL, 1), (7, 2, NULL);
SELECT setval('groups_id_seq', 10); SELECT setval('domains_id_seq', 10); SELECT setval('users_id_seq', 10);
INSERT INTO directives (id, user_id, domain_id, group_id, sender_pattern, action) VALUES
  (1, 4, NULL, NULL, 'x@spam.test', 'reject'), (2, 5, NULL, NULL, 'y@spam.test', 'reject'),
  (3, 6, NULL, NULL, 'z@spam.test', 'reject'), (4, NULL, 1, NULL, '@dom.test', 'quarantine'),
  (5, NULL, 3, NULL, '@dom3.test', 'quarantine'), (6, NULL, NULL, 1, '*.grp.test', 'reject'),
  (7, NULL, NULL, 2, '*.grp2.test', 'reject');
SELECT setval('directives_id_seq', 100);
INSERT INTO message_log (id, sid, client_ip, sender, rcpt, user_id, domain_id, group_id, status, reason_class, code,
                         enh, reason, direction) VALUES
  (1, 's1', '192.0.2.1', 'm@x.test', 'alice@a.test', 4, 1, 1, 'received', NULL, 250, '2.0.0', NULL, 'in'),
  (2, 's2', '192.0.2.2', 'm@x.test', 'bob@b.test', 5, 2, 1, 'rejected', 'directive', 550, '5.7.1', 'no', 'in'),
  (3, 's3', '198.51.100.3', 'm@x.test', 'carol@c.test', 6, 3, 2, 'quarantined', NULL, 250, '2.0.0', NULL, 'in'),
  (4, 's4', '203.0.113.4', 'alice@a.test', 'far@else.test', NULL, NULL, NULL, 'sent', NULL, 250, '2.0.0', NULL,
   'out'),
  (5, 's5', '203.0.113.5', 'm@x.test', 'nobody@nowhere.test', NULL, NULL, NULL, 'rejected', 'banned', 554,
   '5.7.1', 'banned', 'in');
INSERT INTO smtp_sessions (sid, started_at, client_ip, listener, transcript) VALUES
  ('s1', now(), '192.0.2.1', 'smtp', 'EHLO a'), ('s2', now(), '192.0.2.2', 'smtp', 'EHLO b'),
  ('s3', now(), '198.51.100.3', 'smtp', 'EHLO c'), ('s5', now(), '203.0.113.5', 'smtp', 'EHLO e');
INSERT INTO quarantine (id, msgid, expires_at, client_ip, sender, rcpt, user_id, domain_id, subject, size, message)
VALUES
  (1, 'q1', now() + interval '7 days', '192.0.2.1', 'spam@x.test', 'alice@a.test', 4, 1, 'Hi alice', 100,
   convert_to(E'From: spam@x.test\\r\\nSubject: Hi alice\\r\\n  folded\\r\\n\\r\\n<script>alert(1)</script>\\x01body', 'UTF8')),
  (2, 'q2', now() + interval '7 days', '192.0.2.2', 'spam@x.test', 'bob@b.test', 5, 2, 'Hi bob', 100,
   convert_to(E'Subject: Hi bob\\r\\n\\r\\nbody', 'UTF8')),
  (3, 'q3', now() + interval '7 days', '192.0.2.3', 'spam@x.test', 'carol@c.test', 6, 3, 'Hi carol', 100,
   convert_to(E'Subject: Hi carol\\r\\n\\r\\nbody', 'UTF8'));
SELECT setval('quarantine_id_seq', 100);
INSERT INTO digest_schedules (id, user_id, domain_id, group_id, kind, interval_hours, next_run_at) VALUES
  (1, 4, NULL, NULL, 'interval', 24, now()), (2, 6, NULL, NULL, 'interval', 24, now()),
  (3, NULL, 1, NULL, 'interval', 12, now()), (4, NULL, NULL, 2, 'interval', 6, now());  -- all due
SELECT setval('digest_schedules_id_seq', 100);
INSERT INTO bans (id, network, status, origin, reason, offences) VALUES
  (1, '203.0.113.5', 'candidate', 'auto', 'unknown recipients', 1),
  (2, '203.0.113.6', 'banned', 'auto', 'viruses', 3);
SELECT setval('bans_id_seq', 100);
INSERT INTO ip_stats (ip, window_name, sessions, unknown_rcpt) VALUES ('203.0.113.5', '24h', 40, 38);
INSERT INTO never_ban_networks (id, network, note) VALUES (1, '10.0.0.0/8', 'inside');
INSERT INTO mesh_peers (id, name, host, cert_fingerprint) VALUES (1, 'peer.test', '192.0.2.50', repeat('ab', 32));
INSERT INTO settings (key, value) VALUES ('log.retention_months', '6');
SELECT setval('never_ban_networks_id_seq', 100); SELECT setval('mesh_peers_id_seq', 100);
"""


ROLES = {"root": "root@a.test", "gadmin": "gadmin@a.test", "dadmin": "dadmin@a.test", "alice": "alice@a.test"}


def seed(pg):
    pg.truncate()
    pg.execute("TRUNCATE login_failures")
    pg.execute(SEED, {"h": pw_hash()})


@pytest.fixture(scope="module")
def world(pg, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("admin-world")
    (tmp / "index.html").write_text("<!DOCTYPE html><title>Clement</title>")
    (tmp / "js").mkdir()
    (tmp / "js" / "app.js").write_text("console.log(1)")
    (tmp.parent / "secret.txt").write_text("outside")
    seed(pg)
    svcs = Services(tmp)
    svc = start_api(svcs, pg, tmp)
    clients = {}
    for role, addr in ROLES.items():
        c = Api(svc.port)
        st, body = c.login(addr)
        assert st == 200, body
        clients[role] = c
    yield {"port": svc.port, "clients": clients, "svc": svc, "pg": pg, "dir": tmp}
    problems = svcs.stop_all()
    assert not problems, "\n\n".join(problems)


R, G, D, U = "root", "gadmin", "dadmin", "alice"
