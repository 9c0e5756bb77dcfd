-- 0018_dkim_keys.sql - per-domain DKIM keys for outbound signing (issue 18).
-- admin-api generates a key (RSA 2048 or Ed25519) and stores it here as 'published': its TXT
-- record (<selector>._domainkey.<domain>) is shown to publish, nothing is signed with it yet.
-- Activating it makes it the one key delivery signs the domain's outbound mail with; the key it
-- replaces goes back to 'published' (still in DNS for mail in flight) until it is retired.
-- Retiring wipes the private key: nothing can sign with it again.
-- private_key (PEM) is read only by delivery's signer; admin-api writes it and never selects
-- it (no API answer or log line carries it).
CREATE TABLE dkim_keys (
    id           bigserial PRIMARY KEY,
    domain_id    bigint NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    selector     text NOT NULL CHECK (selector ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    algorithm    text NOT NULL CHECK (algorithm IN ('rsa-sha256', 'ed25519-sha256')),
    private_key  text,
    public_key   text NOT NULL,
    state        text NOT NULL DEFAULT 'published' CHECK (state IN ('published', 'active', 'retired')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    activated_at timestamptz,
    retired_at   timestamptz,
    UNIQUE (domain_id, selector),
    CHECK ((state = 'retired') = (private_key IS NULL)),
    -- one signing key per domain, checked at commit so one statement can swap them
    EXCLUDE (domain_id WITH =) WHERE (state = 'active') DEFERRABLE INITIALLY DEFERRED
);
