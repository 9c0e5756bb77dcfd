-- 0015_quarantine_reason.sql - why a message is held, kept with it (issue 23: "why is this
-- message held?"), shown in the quarantine, its preview, the digest and the mail log.
--
-- reason_class: which rule held it - the recipient's own sender rule, the domain's or the
-- group's, or the domain's default for senders no rule names; 'spam' and 'virus' for content
-- verdicts. reason: free text with details (e.g. the content scanner's score and symbols); the
-- content-verdict migration may have added it already, hence IF NOT EXISTS.
ALTER TABLE quarantine
    ADD COLUMN IF NOT EXISTS reason text,
    ADD COLUMN reason_class text CHECK (reason_class IN ('user_rule', 'domain_rule', 'group_rule', 'domain_default',
                                                        'spam', 'virus', 'other'));

-- The mail log finds a message's held copy (and the quarantine filters by it) by its queue id.
CREATE INDEX quarantine_msgid_idx ON quarantine (msgid);
