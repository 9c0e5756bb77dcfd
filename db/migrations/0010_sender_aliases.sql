-- 0010_sender_aliases.sql - who an account may be (issue 15): the IMAP TLS mode that names
-- implicit TLS on any port, and the sender aliases an admin grants.

-- groups.imap_tls: 'required' = implicit TLS on 993, STARTTLS elsewhere; 'implicit' =
-- implicit TLS on the group's port whatever it is; 'plain' = no TLS (root-admin only, logged).
ALTER TABLE groups DROP CONSTRAINT groups_imap_tls_check;
ALTER TABLE groups ADD CONSTRAINT groups_imap_tls_check CHECK (imap_tls IN ('required', 'implicit', 'plain'));

-- An address, other than its own, that an account may use as the envelope sender (MAIL FROM)
-- after SMTP AUTH. The address lies in a Clement domain (so only an admin of that domain can
-- grant it); it need not be anyone's mailbox (sales@, a shared role address). Deleting the
-- account or the domain deletes the grant.
CREATE TABLE sender_aliases (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    domain_id   bigint NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    local_part  text NOT NULL CHECK (local_part = lower(local_part) AND length(local_part) BETWEEN 1 AND 64
                                     AND local_part !~ '[[:space:]@<>]'),
    created_by  bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, domain_id, local_part)
);
CREATE INDEX sender_aliases_domain_idx ON sender_aliases (domain_id, local_part);

-- policy caches the grants (clement_cache, see 0001_core.sql).
CREATE TRIGGER sender_aliases_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sender_aliases
    FOR EACH STATEMENT EXECUTE FUNCTION clement_notify_cache();
