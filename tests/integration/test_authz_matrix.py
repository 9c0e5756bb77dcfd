"""Every operation of docs/openapi.yaml x every role x {own scope, another scope, no session}
(issue 15, "Done when"), against the real admin-api and PostgreSQL.

For each case the table below gives the request and the status each role must get. Every case
also asserts
  * that nothing of the other scope appears in the body of a non-root caller: every name, address,
    subject and pattern of the other scope holds the marker "zqother", which the body may not;
  * that a refused request (any status >= 400) and every GET changed nothing: the rows of every
    table (sessions and login throttling aside) are compared before and after.
After a request that changed something the database is put back to the seed, so every case
starts from the same data.

The table must name every operation of docs/openapi.yaml, and nothing else: an operation added
to the document without rows here fails test_every_operation_has_rows.

Scopes: "own" is the scope of the callers, who all live in it: group g-own (1) with domains
own.test (1) and own2.test (3); the root-admin, group-admin (scope g-own and g-own-empty), domain-
admin (scope own.test) and user alice are accounts of own.test. "other" is group zqother (2) with
domains zqother.test (2) and zqother2.test (4) and their own admins and user bob; for a
root-admin it is just more of its scope. Operations that act on the caller itself (me, password)
have no other scope to name: their "other" is SELF. Directive 7 and quarantined message 3 belong to
the root-admin's account in own.test: inside the admins' domain but above them, so only the
root-admin manages them (docs/openapi.yaml, "Accounts above oneself").
"""
import json
import pathlib

import pytest
import yaml

from conftest import ROOT, Services
from harness.api import PASSWORD, Api, pw_hash, start_api

MARK = "zqother"
R, G, D, U = "root", "gadmin", "dadmin", "alice"
ROLES = {R: "root@own.test", G: "gadmin@own.test", D: "dadmin@own.test", U: "alice@own.test"}
SELF = "self"          # the operation acts on the caller only: no other scope can be named
ANON = "anon"          # the "no session" column

SEED = """
INSERT INTO groups (id, name, mode) VALUES (1, 'g-own', 'local'), (2, 'zqother-group', 'local'),
  (3, 'g-own-empty', 'local'), (4, 'zqother-empty', 'local');
INSERT INTO domains (id, name, group_id) VALUES (1, 'own.test', 1), (2, 'zqother.test', 2), (3, 'own2.test', 1),
  (4, 'zqother2.test', 2);
INSERT INTO users (id, domain_id, local_part, role, password_hash) VALUES
  (1, 1, 'root', 'root-admin', %(h)s), (2, 1, 'gadmin', 'group-admin', %(h)s),
  (3, 1, 'dadmin', 'domain-admin', %(h)s), (4, 1, 'alice', 'user', %(h)s),
  (5, 2, 'gadminzqother', 'group-admin', %(h)s), (6, 2, 'dadminzqother', 'domain-admin', %(h)s),
  (7, 2, 'bobzqother', 'user', %(h)s), (8, 3, 'carol', 'user', %(h)s), (9, 4, 'davezqother', 'user', %(h)s);
INSERT INTO admin_scopes (id, user_id, group_id, domain_id) VALUES (1, 2, 1, NULL), (2, 3, NULL, 1),
  (3, 5, 2, NULL), (4, 6, NULL, 2), (5, 2, 3, NULL), (6, 5, 4, NULL);
INSERT INTO directives (id, user_id, domain_id, group_id, sender_pattern, action) VALUES
  (1, 4, NULL, NULL, 'x@spam.test', 'reject'), (2, 7, NULL, NULL, 'x@zqother.test', 'reject'),
  (3, NULL, 1, NULL, '@dom.test', 'quarantine'), (4, NULL, 2, NULL, '@zqother-d.test', 'quarantine'),
  (5, NULL, NULL, 1, '*.grp.test', 'reject'), (6, NULL, NULL, 2, '*.zqother-g.test', 'reject'),
  (7, 1, NULL, NULL, 'r@root.test', 'accept');
INSERT INTO message_log (id, sid, client_ip, sender, rcpt, user_id, domain_id, group_id, status, code, enh,
                         direction, subject) VALUES
  (1, 'own1', '192.0.2.1', 'm@x.test', 'alice@own.test', 4, 1, 1, 'received', 250, '2.0.0', 'in', 'hello'),
  (2, 'zqother1', '192.0.2.2', 'm@zqother.test', 'bobzqother@zqother.test', 7, 2, 2, 'received', 250, '2.0.0',
   'in', 'zqother subject');
INSERT INTO smtp_sessions (sid, started_at, client_ip, listener, helo, transcript) VALUES
  ('own1', now(), '192.0.2.1', 'smtp', 'own-helo', 'EHLO own-helo'),
  ('zqother1', now(), '192.0.2.2', 'smtp', 'zqother-helo', 'EHLO zqother-helo');
INSERT INTO quarantine (id, msgid, expires_at, client_ip, sender, rcpt, user_id, domain_id, subject, size, message)
VALUES
  (1, 'q1', now() + interval '7 days', '192.0.2.1', 'spam@x.test', 'alice@own.test', 4, 1, 'Hi alice', 10,
   convert_to(E'Subject: Hi alice\\r\\n\\r\\nbody', 'UTF8')),
  (2, 'q2', now() + interval '7 days', '192.0.2.2', 'spam@zqother.test', 'bobzqother@zqother.test', 7, 2,
   'zqother secret', 10, convert_to(E'Subject: zqother secret\\r\\n\\r\\nzqother body', 'UTF8')),
  (3, 'q3', now() + interval '7 days', '192.0.2.1', 'spam@x.test', 'root@own.test', 1, 1, 'Hi root', 10,
   convert_to(E'Subject: Hi root\\r\\n\\r\\nbody', 'UTF8'));
INSERT INTO digest_schedules (id, user_id, domain_id, group_id, kind, interval_hours, next_run_at) VALUES
  (1, 4, NULL, NULL, 'interval', 24, now() + interval '1 day'), (2, 7, NULL, NULL, 'interval', 24, now() + interval '1 day'),
  (3, NULL, 1, NULL, 'interval', 12, now() + interval '1 day'), (4, NULL, 2, NULL, 'interval', 6, now() + interval '1 day');
INSERT INTO bans (id, network, status, origin, reason, offences) VALUES
  (1, '203.0.113.5', 'candidate', 'auto', 'unknown recipients', 1), (2, '203.0.113.6', 'banned', 'auto', 'viruses', 3);
INSERT INTO never_ban_networks (id, network, note) VALUES (1, '10.0.0.0/8', 'inside'), (2, '172.16.0.0/12', 'lab');
INSERT INTO mesh_peers (id, name, host, cert_fingerprint) VALUES (1, 'peer1.test', '192.0.2.50', repeat('ab', 32)),
  (2, 'peer2.test', '192.0.2.51', repeat('cd', 32));
INSERT INTO settings (key, value) VALUES ('log.retention_months', '6'), ('quarantine.retention_days', '7');
INSERT INTO sender_aliases (id, user_id, domain_id, local_part) VALUES (1, 4, 1, 'sales'), (2, 7, 2, 'saleszqother'),
  (3, 1, 1, 'root.alias');
SELECT setval('sender_aliases_id_seq', 100);
INSERT INTO dkim_keys (id, domain_id, selector, algorithm, private_key, public_key, state) VALUES
  (1, 1, 'ownsel', 'ed25519-sha256', 'not a key', 'AAAA', 'published'),
  (2, 2, 'zqothersel', 'ed25519-sha256', 'zqother not a key', 'zqother', 'published');
SELECT setval('dkim_keys_id_seq', 100);
SELECT setval('groups_id_seq', 100); SELECT setval('domains_id_seq', 100); SELECT setval('users_id_seq', 100);
SELECT setval('admin_scopes_id_seq', 100); SELECT setval('directives_id_seq', 100);
SELECT setval('quarantine_id_seq', 100); SELECT setval('digest_schedules_id_seq', 100);
SELECT setval('bans_id_seq', 100); SELECT setval('never_ban_networks_id_seq', 100);
SELECT setval('mesh_peers_id_seq', 100); SELECT setval('message_log_id_seq', 100);
"""


def E(r, g, d, u):
    """The status each role must get."""
    return {R: r, G: g, D: d, U: u}


ALL200, ALL201 = E(200, 200, 200, 200), E(201, 201, 201, 201)
ROOT_ONLY = E(200, 403, 403, 403)


def case(path, expect, body=None):
    return (path, body, expect)


# (method, openapi path) -> {"own": [cases], "other": [cases] or SELF, "anon": status}
# A case is (concrete path, JSON body or None, {role: status}).
TABLE = {
    # authentication: login is public and never sent with the caller's cookie (a login ends the
    # session the browser holds); a wrong password keeps every row unchanged.
    ("post", "/api/login"): {
        "own": [case("/api/login", E(401, 401, 401, 401), {"address": "alice@own.test", "password": "wrong one"})],
        "other": [case("/api/login", E(401, 401, 401, 401),
                       {"address": "bobzqother@zqother.test", "password": "wrong one"})],
        "anon": 401},
    ("post", "/api/logout"): {"own": [case("/api/logout", ALL200, {})], "other": SELF, "anon": 401},
    ("get", "/api/me"): {"own": [case("/api/me", ALL200)], "other": SELF, "anon": 401},
    ("post", "/api/password"): {
        "own": [case("/api/password", ALL200, {"current_password": PASSWORD, "new_password": "a new long password"})],
        "other": SELF, "anon": 401},
    # groups
    ("get", "/api/groups"): {"own": [case("/api/groups", E(200, 200, 403, 403))],
                             "other": [case("/api/groups?q=zqother", E(200, 200, 403, 403))], "anon": 401},
    ("post", "/api/groups"): {"own": [case("/api/groups", E(201, 403, 403, 403), {"name": "new", "mode": "local"})],
                              "other": [case("/api/groups", E(201, 403, 403, 403),
                                             {"name": "zqother-new", "mode": "local"})], "anon": 401},
    ("get", "/api/groups/{id}"): {"own": [case("/api/groups/1", E(200, 200, 403, 403))],
                                  "other": [case("/api/groups/2", E(200, 404, 403, 403))], "anon": 401},
    ("patch", "/api/groups/{id}"): {"own": [case("/api/groups/1", E(200, 200, 403, 403), {"verify_ttl_s": 60})],
                                    "other": [case("/api/groups/2", E(200, 404, 403, 403), {"verify_ttl_s": 60})],
                                    "anon": 401},
    ("delete", "/api/groups/{id}"): {"own": [case("/api/groups/3", E(200, 403, 403, 403)),
                                             case("/api/groups/1", E(409, 403, 403, 403))],
                                     "other": [case("/api/groups/4", E(200, 403, 403, 403))], "anon": 401},
    # domains
    ("get", "/api/domains"): {"own": [case("/api/domains", E(200, 200, 200, 403))],
                              "other": [case("/api/domains?group_id=2", E(200, 200, 200, 403))], "anon": 401},
    ("post", "/api/domains"): {
        "own": [case("/api/domains", E(201, 201, 403, 403), {"name": "new.own.test", "group_id": 1})],
        "other": [case("/api/domains", E(201, 404, 403, 403), {"name": "new.zqother.test", "group_id": 2})],
        "anon": 401},
    ("get", "/api/domains/{id}"): {"own": [case("/api/domains/1", E(200, 200, 200, 403))],
                                   "other": [case("/api/domains/2", E(200, 404, 404, 403))], "anon": 401},
    ("patch", "/api/domains/{id}"): {"own": [case("/api/domains/1", E(200, 200, 200, 403), {"reject_text": "no"})],
                                     "other": [case("/api/domains/2", E(200, 404, 404, 403), {"reject_text": "no"})],
                                     "anon": 401},
    ("delete", "/api/domains/{id}"): {
        "own": [case("/api/domains/3", E(200, 200, 403, 403)),
                case("/api/domains/1", E(409, 409, 403, 403))],     # holds the caller (and the root-admin)
        "other": [case("/api/domains/4", E(200, 404, 403, 403))], "anon": 401},
    # DKIM keys of a domain (issue 18): like the domain itself
    ("get", "/api/domains/{id}/dkim"): {"own": [case("/api/domains/1/dkim", E(200, 200, 200, 403))],
                                        "other": [case("/api/domains/2/dkim", E(200, 404, 404, 403))], "anon": 401},
    ("post", "/api/domains/{id}/dkim"): {
        "own": [case("/api/domains/1/dkim", E(201, 201, 201, 403), {"algorithm": "ed25519-sha256"})],
        "other": [case("/api/domains/2/dkim", E(201, 404, 404, 403), {"algorithm": "ed25519-sha256"})], "anon": 401},
    ("post", "/api/domains/{id}/dkim/{key_id}/activate"): {
        "own": [case("/api/domains/1/dkim/1/activate", E(200, 200, 200, 403)),
                case("/api/domains/1/dkim/2/activate", E(404, 404, 404, 403))],   # another domain's key
        "other": [case("/api/domains/2/dkim/2/activate", E(200, 404, 404, 403))], "anon": 401},
    ("post", "/api/domains/{id}/dkim/{key_id}/retire"): {
        "own": [case("/api/domains/1/dkim/1/retire", E(200, 200, 200, 403))],
        "other": [case("/api/domains/2/dkim/2/retire", E(200, 404, 404, 403))], "anon": 401},
    # users and admin scopes
    ("get", "/api/users"): {"own": [case("/api/users", E(200, 200, 200, 403))],
                            "other": [case("/api/users?domain_id=2", E(200, 200, 200, 403))], "anon": 401},
    ("post", "/api/users"): {
        "own": [case("/api/users", E(201, 201, 201, 403), {"domain_id": 1, "local_part": "neo"}),
                case("/api/users", E(201, 403, 403, 403), {"domain_id": 1, "local_part": "neo", "role": "root-admin"})],
        "other": [case("/api/users", E(201, 404, 404, 403), {"domain_id": 2, "local_part": "neo"})], "anon": 401},
    ("get", "/api/users/{id}"): {"own": [case("/api/users/4", ALL200)],
                                 "other": [case("/api/users/7", E(200, 404, 404, 404))], "anon": 401},
    ("patch", "/api/users/{id}"): {
        "own": [case("/api/users/4", ALL200, {"display_name": "A"}),
                case("/api/users/1", E(200, 403, 403, 404), {"display_name": "A"})],   # oneself / above them
        "other": [case("/api/users/7", E(200, 404, 404, 404), {"display_name": "A"})], "anon": 401},
    ("delete", "/api/users/{id}"): {
        "own": [case("/api/users/4", E(200, 200, 200, 403)), case("/api/users/2", E(200, 403, 403, 403))],
        "other": [case("/api/users/7", E(200, 404, 404, 403))], "anon": 401},
    ("get", "/api/users/{id}/scopes"): {"own": [case("/api/users/3/scopes", E(200, 200, 200, 403))],
                                        "other": [case("/api/users/6/scopes", E(200, 404, 404, 403))], "anon": 401},
    ("post", "/api/users/{id}/scopes"): {
        "own": [case("/api/users/3/scopes", E(201, 201, 403, 403), {"domain_id": 3})],
        "other": [case("/api/users/6/scopes", E(201, 404, 403, 403), {"domain_id": 4}),
                  case("/api/users/3/scopes", E(201, 404, 403, 403), {"domain_id": 2})], "anon": 401},
    ("delete", "/api/users/{id}/scopes/{scope_id}"): {
        "own": [case("/api/users/3/scopes/2", E(200, 200, 403, 403))],
        "other": [case("/api/users/6/scopes/4", E(200, 404, 403, 403))], "anon": 401},
    # sender aliases: of accounts the caller manages (or itself), within the caller's domains (alias 3
    # is the root-admin's: in the callers' domain, above the admins)
    ("get", "/api/users/{id}/aliases"): {
        "own": [case("/api/users/4/aliases", ALL200), case("/api/users/1/aliases", E(200, 403, 403, 404))],
        "other": [case("/api/users/7/aliases", E(200, 404, 404, 404))], "anon": 401},
    ("post", "/api/users/{id}/aliases"): {
        "own": [case("/api/users/4/aliases", E(201, 201, 201, 403), {"address": "info@own.test"}),
                case("/api/users/4/aliases", E(201, 403, 403, 403), {"address": "root@own.test"}),
                case("/api/users/1/aliases", E(201, 403, 403, 403), {"address": "info@own.test"})],
        "other": [case("/api/users/7/aliases", E(201, 404, 404, 403), {"address": "info@zqother.test"}),
                  case("/api/users/4/aliases", E(201, 403, 403, 403), {"address": "info@zqother.test"})],
        "anon": 401},
    ("delete", "/api/users/{id}/aliases/{alias_id}"): {
        "own": [case("/api/users/4/aliases/1", E(200, 200, 200, 403)),
                case("/api/users/1/aliases/3", E(200, 403, 403, 403))],
        "other": [case("/api/users/7/aliases/2", E(200, 404, 404, 403))], "anon": 401},
    # directives
    ("get", "/api/directives"): {"own": [case("/api/directives", ALL200)],
                                 "other": [case("/api/directives?user_id=7", ALL200),
                                           case("/api/directives?group_id=2", ALL200)], "anon": 401},
    ("post", "/api/directives"): {
        "own": [case("/api/directives", ALL201, {"sender_pattern": "n@x.test", "action": "reject"}),
                case("/api/directives", E(201, 403, 403, 404), {"user_id": 1, "sender_pattern": "n@x.test",
                                                                "action": "reject"}),
                case("/api/directives", ALL201, {"user_id": 4, "sender_pattern": "n@x.test", "action": "reject"})],
        "other": [case("/api/directives", E(201, 404, 404, 404),
                       {"user_id": 7, "sender_pattern": "n@x.test", "action": "reject"}),
                  case("/api/directives", E(201, 404, 404, 403),
                       {"domain_id": 2, "sender_pattern": "n@x.test", "action": "reject"})], "anon": 401},
    ("get", "/api/directives/{id}"): {"own": [case("/api/directives/1", ALL200), case("/api/directives/7", E(200, 404, 404, 404))],
                                      "other": [case("/api/directives/2", E(200, 404, 404, 404))], "anon": 401},
    ("patch", "/api/directives/{id}"): {
        "own": [case("/api/directives/1", ALL200, {"action": "accept"}),
                case("/api/directives/7", E(200, 404, 404, 404), {"action": "reject"})],
        "other": [case("/api/directives/2", E(200, 404, 404, 404), {"action": "accept"})], "anon": 401},
    ("delete", "/api/directives/{id}"): {"own": [case("/api/directives/1", ALL200), case("/api/directives/7", E(200, 404, 404, 404))],
                                         "other": [case("/api/directives/2", E(200, 404, 404, 404))], "anon": 401},
    # logs and statistics
    ("get", "/api/logs"): {"own": [case("/api/logs", ALL200)],
                           "other": [case("/api/logs?domain_id=2", ALL200), case("/api/logs?user_id=7", ALL200)],
                           "anon": 401},
    ("get", "/api/logs/{id}"): {"own": [case("/api/logs/1", ALL200)],
                                "other": [case("/api/logs/2", E(200, 404, 404, 404))], "anon": 401},
    ("get", "/api/smtp-sessions"): {"own": [case("/api/smtp-sessions", E(200, 200, 200, 403))],
                                    "other": [case("/api/smtp-sessions?group_id=2", E(200, 200, 200, 403))],
                                    "anon": 401},
    ("get", "/api/smtp-sessions/{sid}"): {"own": [case("/api/smtp-sessions/own1", E(200, 200, 200, 403))],
                                          "other": [case("/api/smtp-sessions/zqother1", E(200, 404, 404, 403))],
                                          "anon": 401},
    ("get", "/api/stats"): {"own": [case("/api/stats", ALL200), case("/api/stats?domain_id=1", ALL200),
                                    case("/api/stats?user_id=4", ALL200)],
                            "other": [case("/api/stats?hours=744", ALL200), case("/api/stats?domain_id=2", ALL200),
                                      case("/api/stats?user_id=7", ALL200)], "anon": 401},
    # the audit trail: an admin's scope only (other-scope rows come from the refused and the root's
    # requests of the cases before; a restore empties it)
    ("get", "/api/audit"): {"own": [case("/api/audit", E(200, 200, 200, 403))],
                            "other": [case("/api/audit?domain_id=2", E(200, 200, 200, 403)),
                                      case("/api/audit?group_id=2", E(200, 200, 200, 403)),
                                      case("/api/audit?actor=zqother", E(200, 200, 200, 403))], "anon": 401},
    # quarantine (delivery is down in this instance: release, delete and accept-sender answer 503,
    # changing nothing)
    ("get", "/api/quarantine"): {"own": [case("/api/quarantine", ALL200)],
                                 "other": [case("/api/quarantine?domain_id=2", ALL200),
                                           case("/api/quarantine?group_id=2", ALL200)], "anon": 401},
    ("get", "/api/quarantine/{id}"): {"own": [case("/api/quarantine/1", ALL200), case("/api/quarantine/3", E(200, 404, 404, 404))],
                                      "other": [case("/api/quarantine/2", E(200, 404, 404, 404))], "anon": 401},
    ("post", "/api/quarantine/{id}/release"): {
        "own": [case("/api/quarantine/1/release", E(503, 503, 503, 503), {}),
                case("/api/quarantine/3/release", E(503, 404, 404, 404), {})],
        "other": [case("/api/quarantine/2/release", E(503, 404, 404, 404), {})], "anon": 401},
    ("delete", "/api/quarantine/{id}"): {
        "own": [case("/api/quarantine/1", E(503, 503, 503, 503)), case("/api/quarantine/3", E(503, 404, 404, 404))],
        "other": [case("/api/quarantine/2", E(503, 404, 404, 404))], "anon": 401},
    ("post", "/api/quarantine/{id}/accept-sender"): {
        "own": [case("/api/quarantine/1/accept-sender", E(503, 503, 503, 503), {}),
                case("/api/quarantine/3/accept-sender", E(503, 404, 404, 404), {})],
        "other": [case("/api/quarantine/2/accept-sender", E(503, 404, 404, 404), {})], "anon": 401},
    # digest schedules and links
    ("get", "/api/digest-schedules"): {"own": [case("/api/digest-schedules", ALL200)],
                                       "other": [case("/api/digest-schedules?domain_id=2", ALL200)], "anon": 401},
    ("post", "/api/digest-schedules"): {
        "own": [case("/api/digest-schedules", ALL201, {"kind": "interval", "interval_hours": 5})],
        "other": [case("/api/digest-schedules", E(201, 404, 404, 404),
                       {"user_id": 7, "kind": "interval", "interval_hours": 5})], "anon": 401},
    ("patch", "/api/digest-schedules/{id}"): {
        "own": [case("/api/digest-schedules/1", ALL200, {"enabled": False})],
        "other": [case("/api/digest-schedules/2", E(200, 404, 404, 404), {"enabled": False})], "anon": 401},
    ("delete", "/api/digest-schedules/{id}"): {
        "own": [case("/api/digest-schedules/1", ALL200)],
        "other": [case("/api/digest-schedules/4", E(200, 404, 404, 404))], "anon": 401},
    # a digest link's token is its credential, whoever sends it: a forged one is refused
    ("get", "/api/digest/{token}"): {"own": [case("/api/digest/forged", E(400, 400, 400, 400))],
                                     "other": [case("/api/digest/zqother", E(400, 400, 400, 400))], "anon": 400},
    ("post", "/api/digest/{token}"): {"own": [case("/api/digest/forged", E(400, 400, 400, 400))],
                                      "other": [case("/api/digest/zqother", E(400, 400, 400, 400))], "anon": 400},
    # root-admin's screens: global, so "other" is a second object
    ("get", "/api/bans"): {"own": [case("/api/bans", ROOT_ONLY)],
                           "other": [case("/api/bans?status=banned", ROOT_ONLY)], "anon": 401},
    ("get", "/api/bans/export"): {"own": [case("/api/bans/export", ROOT_ONLY)],
                                  "other": [case("/api/bans/export", ROOT_ONLY)], "anon": 401},
    ("post", "/api/bans"): {"own": [case("/api/bans", E(201, 403, 403, 403), {"network": "192.0.2.77", "reason": "x"})],
                            "other": [case("/api/bans", E(201, 403, 403, 403),
                                           {"network": "192.0.2.78", "reason": "y", "expires_in_s": 3600})],
                            "anon": 401},
    ("post", "/api/bans/{id}/promote"): {"own": [case("/api/bans/1/promote", ROOT_ONLY, {})],
                                         "other": [case("/api/bans/2/promote", E(404, 403, 403, 403), {})],
                                         "anon": 401},
    ("post", "/api/bans/{id}/unban"): {"own": [case("/api/bans/1/unban", ROOT_ONLY, {})],
                                       "other": [case("/api/bans/2/unban", ROOT_ONLY, {})], "anon": 401},
    ("get", "/api/never-ban"): {"own": [case("/api/never-ban", ROOT_ONLY)],
                                "other": [case("/api/never-ban?page=2", ROOT_ONLY)], "anon": 401},
    ("post", "/api/never-ban"): {"own": [case("/api/never-ban", E(201, 403, 403, 403), {"network": "10.9.0.0/16"})],
                                 "other": [case("/api/never-ban", E(201, 403, 403, 403),
                                                {"network": "10.8.0.0/16", "note": "n"})], "anon": 401},
    ("delete", "/api/never-ban/{id}"): {"own": [case("/api/never-ban/1", ROOT_ONLY)],
                                        "other": [case("/api/never-ban/2", ROOT_ONLY)], "anon": 401},
    ("get", "/api/mesh-peers"): {"own": [case("/api/mesh-peers", ROOT_ONLY)],
                                 "other": [case("/api/mesh-peers?per_page=1", ROOT_ONLY)], "anon": 401},
    ("post", "/api/mesh-peers"): {
        "own": [case("/api/mesh-peers", E(201, 403, 403, 403),
                     {"name": "p3.test", "host": "192.0.2.60", "cert_fingerprint": "ef" * 32})],
        "other": [case("/api/mesh-peers", E(201, 403, 403, 403),
                       {"name": "p4.test", "host": "192.0.2.61", "cert_fingerprint": "01" * 32})], "anon": 401},
    ("patch", "/api/mesh-peers/{id}"): {"own": [case("/api/mesh-peers/1", ROOT_ONLY, {"enabled": False})],
                                        "other": [case("/api/mesh-peers/2", ROOT_ONLY, {"trust": "observe"})],
                                        "anon": 401},
    ("delete", "/api/mesh-peers/{id}"): {"own": [case("/api/mesh-peers/1", ROOT_ONLY)],
                                         "other": [case("/api/mesh-peers/2", ROOT_ONLY)], "anon": 401},
    ("get", "/api/settings"): {"own": [case("/api/settings", ROOT_ONLY)],
                               "other": [case("/api/settings?per_page=1", ROOT_ONLY)], "anon": 401},
    ("put", "/api/settings/{key}"): {
        "own": [case("/api/settings/log.retention_months", ROOT_ONLY, {"value": 3})],
        "other": [case("/api/settings/quarantine.retention_days", ROOT_ONLY, {"value": 5})], "anon": 401},
    ("delete", "/api/settings/{key}"): {"own": [case("/api/settings/log.retention_months", ROOT_ONLY)],
                                        "other": [case("/api/settings/quarantine.retention_days", ROOT_ONLY)],
                                        "anon": 401},
}

METHODS = {"get", "post", "put", "patch", "delete"}
# Bookkeeping that requests may change without changing what the API manages: sessions (their
# idle timer), login throttling, the migration ledger, and audit records of the attempt itself.
NOT_COMPARED = {"web_sessions", "login_failures", "login_known", "schema_migrations"}


def openapi_operations():
    doc = yaml.safe_load((ROOT / "docs/openapi.yaml").read_text())
    return {(m, p) for p, item in doc["paths"].items() for m in item if m in METHODS}


def test_every_operation_has_rows():
    """An operation documented without rows here (or rows for one no longer documented) fails."""
    ops = openapi_operations()
    assert len(ops) > 50
    import ast
    tree = ast.parse(pathlib.Path(__file__).read_text())
    table = next(n.value for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "TABLE")
    keys = [ast.literal_eval(k) for k in table.keys]
    assert len(keys) == len(set(keys)), f"operations with two rows: {sorted(k for k in keys if keys.count(k) > 1)}"
    missing = sorted(ops - set(TABLE))
    assert not missing, f"operations of docs/openapi.yaml without rows in test_authz_matrix.TABLE: {missing}"
    stale = sorted(set(TABLE) - ops)
    assert not stale, f"rows for operations docs/openapi.yaml no longer has: {stale}"
    for op, row in TABLE.items():
        assert set(row) == {"own", "other", "anon"}, op
        for scope in ("own", "other"):
            cases = row[scope]
            assert cases == SELF or (cases and all(set(c[2]) == set(ROLES) for c in cases)), (op, scope)


def _plain(v):
    return bytes(v).hex() if isinstance(v, memoryview) else str(v)


class Matrix:
    """The instance, its four logged-in callers and the database's seed and snapshots."""

    def __init__(self, pg, svc):
        self.pg, self.svc = pg, svc
        self.tables = [r["table_name"] for r in pg.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_type = 'BASE TABLE' ORDER BY 1")
            if r["table_name"] not in NOT_COMPARED and "audit" not in r["table_name"]]
        self.clients = {}

    def seed(self):
        self.pg.truncate()
        self.pg.execute("TRUNCATE login_failures")
        self.pg.execute(SEED, {"h": pw_hash()})

    def restore(self):
        """Back to the seed, with the callers' sessions as they were after their login."""
        self.seed()
        self.pg.execute("INSERT INTO web_sessions SELECT * FROM authz_matrix_sessions")

    def snapshot(self):
        return {t: sorted(json.dumps(r, default=_plain, sort_keys=True) for r in self.pg.query(f"SELECT * FROM {t}"))
                for t in self.tables}

    def client(self, role):
        """A caller as it was after login (a request may have replaced or cleared its cookie)."""
        c = Api(self.svc.port)
        if role != ANON:
            c.cookie, c.csrf = self.clients[role]
        return c


@pytest.fixture(scope="module")
def matrix(pg, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("authz-matrix")
    svcs = Services(tmp)
    svc = start_api(svcs, pg, tmp, CLEMENT_LOGIN_MAX_FAILS=1000, CLEMENT_LOGIN_MAX_FAILS_IP=100000,
                    CLEMENT_ADMIN_RPC_TIMEOUT_MS=300)
    m = Matrix(pg, svc)
    m.seed()
    for role, address in ROLES.items():
        c = Api(svc.port)
        st, body = c.login(address)
        assert st == 200, body
        m.clients[role] = (c.cookie, c.csrf)
    pg.execute("DROP TABLE IF EXISTS authz_matrix_sessions")
    pg.execute("CREATE TABLE authz_matrix_sessions AS SELECT * FROM web_sessions")
    yield m
    pg.execute("DROP TABLE IF EXISTS authz_matrix_sessions")
    problems = svcs.stop_all()
    assert not problems, "\n\n".join(problems)


def run_case(m, method, role, path, body, want, what, failures):
    before = m.snapshot()
    c = m.client(role)
    if path == "/api/login":
        c = m.client(ANON)        # a login never carries the caller's session (it would end it)
    st, out = c.req(method.upper(), path, body)
    after = m.snapshot()
    text = out if isinstance(out, (bytes, str)) else json.dumps(out)
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    if st != want:
        failures.append(f"{what}: {role} {method.upper()} {path} -> {st}, want {want}: {text[:200]}")
    if role not in (R,) and MARK in text:
        failures.append(f"{what}: {role} {method.upper()} {path} -> body shows the other scope: {text[:300]}")
    if st >= 400 and isinstance(out, dict) and not out.get("error"):
        failures.append(f"{what}: {role} {method.upper()} {path} -> {st} without a JSON error")
    changed = sorted(t for t in m.tables if before[t] != after[t])
    if (st >= 400 or method == "get") and changed:
        failures.append(f"{what}: {role} {method.upper()} {path} -> {st} but changed {changed}")
    if changed or (method != "get" and st < 400):
        m.restore()


@pytest.mark.parametrize("op", sorted(TABLE), ids=[f"{m.upper()} {p}" for m, p in sorted(TABLE)])
def test_operation_by_role_and_scope(matrix, op):
    method, _ = op
    row = TABLE[op]
    failures = []
    for scope in ("own", "other"):
        if row[scope] == SELF:
            continue
        for path, body, expect in row[scope]:
            for role, want in expect.items():
                run_case(matrix, method, role, path, body, want, scope, failures)
    # no session: the own scope's first request, without a cookie
    path, body, _ = row["own"][0]
    run_case(matrix, method, ANON, path, body, row["anon"], "no session", failures)
    assert not failures, "\n".join(failures)
