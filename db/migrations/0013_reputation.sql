-- 0013_reputation.sql - each SMTP session records its reputation score and the facts behind
-- it (issue 17): DNSBL/DNSWL listings with their answer and weight, the FCrDNS and HELO
-- findings, as smtp-edge gathered them ({"ptr": name, "facts": [{kind, name, answer, weight}]}).
-- Zone names are the shown ones: an access key (Spamhaus DQS) never reaches the database.
-- NULL: reputation checks were off for that session.
ALTER TABLE smtp_sessions ADD COLUMN rep_score integer;
ALTER TABLE smtp_sessions ADD COLUMN rep_facts jsonb;
