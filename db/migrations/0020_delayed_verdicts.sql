-- 0020_delayed_verdicts.sql - why a recipient was refused, two more classes (issue 22): smtp-edge
-- no longer asks policy at HELO/EHLO and at an unauthenticated MAIL; policy gives those verdicts
-- at RCPT (Postfix's smtpd_delay_reject) and logs each refused recipient with its sender:
-- 'helo' (the HELO/EHLO name is not a domain name or address literal) and 'sender_syntax' (the
-- MAIL FROM address is malformed). The names are those of clement_policy_refusals_total{reason}.
ALTER TABLE message_log DROP CONSTRAINT message_log_reason_class_check;
ALTER TABLE message_log ADD CONSTRAINT message_log_reason_class_check CHECK (reason_class IN (
    'unknown_rcpt', 'directive', 'relay_denied', 'virus', 'banned', 'protocol', 'policy', 'temporary',
    'downstream', 'size', 'other', 'spam', 'dmarc', 'greylist', 'helo', 'sender_syntax'));
