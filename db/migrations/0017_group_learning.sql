-- 0017_group_learning.sql - the per-group "learn from quarantine decisions" switch (issue 18):
-- when on, and delivery has Rspamd's controller (CLEMENT_RSPAMD_CONTROLLER_URL), releasing a
-- message the content verdict held teaches Rspamd ham and deleting it teaches spam. Off by
-- default: one group's users should not train the shared Bayes unless its admins chose so.
ALTER TABLE groups ADD COLUMN learn_quarantine boolean NOT NULL DEFAULT false;
