-- 0016_content_defaults.sql - the content defaults of a new group, measured with
-- bench/spamworld (issue 19, docs/EFFECTIVENESS.md "Defaults"):
--   spam_quarantine_score 6: hold instead of tag from Rspamd's add-header score (no ham of the
--     world reached 6; the content spam scores 8, the p=reject forgeries 6.4 to 7.7);
--   dmarc_enforce true: refuse a p=reject From: that neither SPF nor DKIM aligns, now that the
--     scanner spares null-sender DSNs and lists that authenticate themselves (List-Id with SPF
--     or DKIM pass), the ham enforcement used to refuse; forwarded mail keeps its DKIM.
-- Groups that exist already keep what they have (an explicit "off" cannot be told from the old
-- default); an administrator turns them on in the group's spam settings.
ALTER TABLE groups ALTER COLUMN spam_quarantine_score SET DEFAULT 6;
ALTER TABLE groups ALTER COLUMN dmarc_enforce SET DEFAULT true;
