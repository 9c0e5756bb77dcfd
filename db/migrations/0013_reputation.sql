-- 0013_reputation.sql - each SMTP session records its reputation score and the facts behind
-- it (issue 17): DNSBL/DNSWL listings with their answer and weight, the FCrDNS and HELO
-- findings, as smtp-edge gathered them ({"ptr": name, "facts": [{kind, name, answer, weight}]}).
-- Zone names are the shown ones: an access key (Spamhaus DQS) never reaches the database.
-- NULL: reputation checks were off for that session.
ALTER TABLE smtp_sessions ADD COLUMN rep_score integer;
ALTER TABLE smtp_sessions ADD COLUMN rep_facts jsonb;

-- A group's stricter threshold for its domains' recipients (refused at RCPT with
-- CLEMENT_DNSBL_ACTION=enforce): the lower of this and CLEMENT_DNSBL_THRESHOLD applies.
-- NULL: the global threshold.
ALTER TABLE groups ADD COLUMN dnsbl_threshold integer CHECK (dnsbl_threshold BETWEEN 1 AND 1000);
