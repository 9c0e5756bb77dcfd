-- demo.sql - demo data for `make run` and the container stack: a local-mode group and a
-- relay-mode group, a domain in each, one account of every role, a few rules.
-- psql variables: :'pw_root' :'pw_gadmin' :'pw_dadmin' :'pw_alice' :'pw_bob' (argon2id
-- hashes from clement-passwd), :'relay_host' :'relay_port' (the relay group's downstream, and
-- the local group's outbound smart host: its users' submissions to other domains go there).
-- Applied only when the database holds no group yet.
BEGIN;
INSERT INTO groups (id, name, mode, relay_host, relay_port) VALUES (1, 'Local demo', 'local', :'relay_host', :'relay_port');
INSERT INTO groups (id, name, mode, relay_host, relay_port, relay_tls, verify_recipients)
VALUES (2, 'Relay demo', 'relay', :'relay_host', :'relay_port', 'opportunistic', 'list');
SELECT setval('groups_id_seq', 2);

INSERT INTO domains (id, name, group_id, default_action) VALUES (1, 'example.test', 1, 'accept');
INSERT INTO domains (id, name, group_id, default_action) VALUES (2, 'relay.test', 2, 'accept');
SELECT setval('domains_id_seq', 2);

INSERT INTO users (id, domain_id, local_part, role, display_name, password_hash) VALUES
  (1, 1, 'root', 'root-admin', 'Root Admin', :'pw_root'),
  (2, 1, 'groupadmin', 'group-admin', 'Group Admin', :'pw_gadmin'),
  (3, 1, 'domainadmin', 'domain-admin', 'Domain Admin', :'pw_dadmin'),
  (4, 1, 'alice', 'user', 'Alice', :'pw_alice'),
  (5, 2, 'bob', 'user', 'Bob', :'pw_bob');
SELECT setval('users_id_seq', 5);

INSERT INTO admin_scopes (user_id, group_id) VALUES (2, 1);
INSERT INTO admin_scopes (user_id, domain_id) VALUES (3, 1);

-- Alice refuses a spammer domain; the domain quarantines a newsletter sender.
INSERT INTO directives (user_id, sender_pattern, action) VALUES (4, '@spam.test', 'reject');
INSERT INTO directives (domain_id, sender_pattern, action) VALUES (1, '*.newsletter.test', 'quarantine');
COMMIT;
