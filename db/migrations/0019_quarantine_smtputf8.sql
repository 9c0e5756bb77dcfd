-- 0019_quarantine_smtputf8.sql - whether a held message came with SMTPUTF8 (RFC 6531): its
-- release relays it only to a downstream that offers SMTPUTF8 when its header holds UTF-8, as
-- the live relay does (issue 20). Rows held before this migration count as not SMTPUTF8 (their
-- release behaves as before: a UTF-8 header goes to any downstream).
ALTER TABLE quarantine ADD COLUMN smtputf8 boolean NOT NULL DEFAULT false;
