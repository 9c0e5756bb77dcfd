-- 0012_content_verdicts.sql - content verdicts with Rspamd (issue 18).
--
-- Per group (a domain may override each value; NULL = the group's): the Rspamd scores at which
-- a message is refused (550 5.7.1), held in quarantine, or tagged (X-Spam-* headers), and
-- whether a From domain's DMARC p=reject is enforced (550 5.7.1 when neither SPF nor DKIM
-- aligns). A group score left NULL leaves that action to Rspamd's own configuration.
ALTER TABLE groups
    ADD COLUMN spam_reject_score     numeric(6,2) CHECK (spam_reject_score > -1000 AND spam_reject_score < 1000),
    ADD COLUMN spam_quarantine_score numeric(6,2) CHECK (spam_quarantine_score > -1000 AND spam_quarantine_score < 1000),
    ADD COLUMN spam_tag_score        numeric(6,2) CHECK (spam_tag_score > -1000 AND spam_tag_score < 1000),
    ADD COLUMN dmarc_enforce         boolean NOT NULL DEFAULT false;

ALTER TABLE domains
    ADD COLUMN spam_reject_score     numeric(6,2) CHECK (spam_reject_score > -1000 AND spam_reject_score < 1000),
    ADD COLUMN spam_quarantine_score numeric(6,2) CHECK (spam_quarantine_score > -1000 AND spam_quarantine_score < 1000),
    ADD COLUMN spam_tag_score        numeric(6,2) CHECK (spam_tag_score > -1000 AND spam_tag_score < 1000),
    ADD COLUMN dmarc_enforce         boolean;

-- Why a message was refused, held or tagged by its content: 'spam' (Rspamd's score or action),
-- 'dmarc' (p=reject enforced), 'greylist' (Rspamd's soft reject / greylist, 451 4.7.1).
ALTER TABLE message_log DROP CONSTRAINT message_log_reason_class_check;
ALTER TABLE message_log ADD CONSTRAINT message_log_reason_class_check CHECK (reason_class IN (
    'unknown_rcpt', 'directive', 'relay_denied', 'virus', 'banned', 'protocol', 'policy', 'temporary',
    'downstream', 'size', 'other', 'spam', 'dmarc', 'greylist'));

-- A message held for its content keeps Rspamd's score and the reason shown with it.
ALTER TABLE quarantine
    ADD COLUMN score  numeric(8,2),
    ADD COLUMN reason text CHECK (length(reason) <= 500);
