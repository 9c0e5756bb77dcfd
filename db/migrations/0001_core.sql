-- 0001_core.sql - Clement's core schema: groups, domains, users, scopes, directives,
-- bans and the mesh, quarantine, digests, web sessions, settings.
-- Applied once by clement-migrate inside a transaction; later changes go in new files.

CREATE TABLE groups (
    id                bigserial PRIMARY KEY,
    name              text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    mode              text NOT NULL CHECK (mode IN ('local', 'relay')),
    -- relay mode: the downstream MTA
    relay_host        text,
    relay_port        integer NOT NULL DEFAULT 25 CHECK (relay_port BETWEEN 1 AND 65535),
    relay_tls         text NOT NULL DEFAULT 'opportunistic'
                      CHECK (relay_tls IN ('none', 'opportunistic', 'required')),
    relay_auth_user   text,
    relay_auth_pass   text,
    -- relay mode: how recipients are verified: the users table ('list') or an RCPT probe
    verify_recipients text NOT NULL DEFAULT 'list' CHECK (verify_recipients IN ('list', 'probe')),
    verify_ttl_s      integer NOT NULL DEFAULT 3600 CHECK (verify_ttl_s BETWEEN 0 AND 604800),
    -- IMAP login for users of this group (relay mode)
    imap_host         text,
    imap_port         integer CHECK (imap_port BETWEEN 1 AND 65535),
    imap_tls          text NOT NULL DEFAULT 'required' CHECK (imap_tls IN ('required', 'plain')),
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (mode = 'local' OR relay_host IS NOT NULL)
);

CREATE TABLE domains (
    id                bigserial PRIMARY KEY,
    name              text NOT NULL UNIQUE
                      CHECK (name = lower(name) AND name ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$'
                             AND length(name) <= 253),
    group_id          bigint NOT NULL REFERENCES groups (id) ON DELETE RESTRICT,
    -- what happens to senders no directive names
    default_action    text NOT NULL DEFAULT 'accept' CHECK (default_action IN ('accept', 'quarantine')),
    reject_text       text CHECK (length(reject_text) <= 200),  -- replaces "does not accept mail from"
    unknown_user_text text CHECK (length(unknown_user_text) <= 200),
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX domains_group_idx ON domains (group_id);

CREATE TABLE users (
    id                  bigserial PRIMARY KEY,
    domain_id           bigint NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    local_part          text NOT NULL CHECK (local_part = lower(local_part) AND length(local_part) BETWEEN 1 AND 64
                                             AND local_part !~ '[[:space:]@<>]'),
    password_hash       text,   -- NULL: no local password (IMAP login, or disabled)
    role                text NOT NULL DEFAULT 'user'
                        CHECK (role IN ('root-admin', 'group-admin', 'domain-admin', 'user')),
    display_name        text,
    quota_bytes         bigint CHECK (quota_bytes IS NULL OR quota_bytes > 0),
    enabled             boolean NOT NULL DEFAULT true,
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (domain_id, local_part)
);

-- Which groups or domains a group-admin or domain-admin manages.
CREATE TABLE admin_scopes (
    id        bigserial PRIMARY KEY,
    user_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id  bigint REFERENCES groups (id) ON DELETE CASCADE,
    domain_id bigint REFERENCES domains (id) ON DELETE CASCADE,
    CHECK ((group_id IS NULL) <> (domain_id IS NULL))
);
CREATE UNIQUE INDEX admin_scopes_uniq ON admin_scopes (user_id, coalesce(group_id, 0), coalesce(domain_id, 0));

-- Sender-receiver directives. Exactly one owner level; the pattern is an exact address,
-- "@domain" (that domain only) or "*.domain" (the domain and its subdomains).
CREATE TABLE directives (
    id             bigserial PRIMARY KEY,
    user_id        bigint REFERENCES users (id) ON DELETE CASCADE,
    domain_id      bigint REFERENCES domains (id) ON DELETE CASCADE,
    group_id       bigint REFERENCES groups (id) ON DELETE CASCADE,
    sender_pattern text NOT NULL CHECK (sender_pattern = lower(sender_pattern) AND length(sender_pattern) <= 320
                                        AND sender_pattern ~ '^([^@[:space:]<>]+@[a-z0-9.-]+|@[a-z0-9.-]+|\*\.[a-z0-9.-]+)$'),
    action         text NOT NULL CHECK (action IN ('accept', 'reject', 'quarantine')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    created_by     bigint REFERENCES users (id) ON DELETE SET NULL,
    CHECK (num_nonnulls(user_id, domain_id, group_id) = 1)
);
CREATE UNIQUE INDEX directives_uniq ON directives (coalesce(user_id, 0), coalesce(domain_id, 0), coalesce(group_id, 0),
                                                   sender_pattern);

CREATE TABLE never_ban_networks (
    id      bigserial PRIMARY KEY,
    network cidr NOT NULL UNIQUE,
    note    text
);

CREATE TABLE mesh_peers (
    id               bigserial PRIMARY KEY,
    name             text NOT NULL UNIQUE,      -- the peer's server name (origin in records)
    host             text NOT NULL,
    port             integer NOT NULL DEFAULT 25 CHECK (port BETWEEN 1 AND 65535),
    cert_fingerprint text NOT NULL UNIQUE CHECK (cert_fingerprint ~ '^[0-9a-f]{64}$'),  -- SHA-256 of the client cert
    trust            text NOT NULL DEFAULT 'observe' CHECK (trust IN ('enforce', 'observe')),
    enabled          boolean NOT NULL DEFAULT true,
    last_pushed_id   bigint NOT NULL DEFAULT 0,  -- ban_events.id already delivered to this peer
    last_push_at     timestamptz,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE bans (
    id            bigserial PRIMARY KEY,
    network       cidr NOT NULL,
    status        text NOT NULL CHECK (status IN ('candidate', 'banned', 'lifted')),
    origin        text NOT NULL CHECK (origin IN ('auto', 'admin', 'peer')),
    origin_server text,
    peer_id       bigint REFERENCES mesh_peers (id) ON DELETE CASCADE,
    reason        text NOT NULL CHECK (length(reason) BETWEEN 1 AND 200),
    score         real NOT NULL DEFAULT 0,
    hops          integer NOT NULL DEFAULT 0 CHECK (hops BETWEEN 0 AND 16),
    offences      integer NOT NULL DEFAULT 1 CHECK (offences >= 1),
    evidence      jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    lifted_at     timestamptz,
    CHECK (origin <> 'peer' OR peer_id IS NOT NULL)
);
CREATE INDEX bans_active_idx ON bans USING gist (network inet_ops) WHERE status = 'banned';
CREATE UNIQUE INDEX bans_one_open_idx ON bans (network, coalesce(peer_id, 0)) WHERE status IN ('candidate', 'banned');

-- Every change to a fully banned record, in order, so mesh pushes can resume where they stopped.
CREATE TABLE ban_events (
    id         bigserial PRIMARY KEY,
    ban_id     bigint NOT NULL REFERENCES bans (id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('ban', 'lift')),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ip_stats (
    ip                inet NOT NULL,
    window_name       text NOT NULL CHECK (window_name IN ('1h', '24h', '7d')),
    computed_at       timestamptz NOT NULL DEFAULT now(),
    sessions          integer NOT NULL DEFAULT 0,
    accepted          integer NOT NULL DEFAULT 0,
    unknown_rcpt      integer NOT NULL DEFAULT 0,
    directive_rejects integer NOT NULL DEFAULT 0,
    viruses           integer NOT NULL DEFAULT 0,
    protocol_errors   integer NOT NULL DEFAULT 0,
    pregreets         integer NOT NULL DEFAULT 0,
    PRIMARY KEY (ip, window_name)
);

CREATE TABLE quarantine (
    id          bigserial PRIMARY KEY,
    msgid       text NOT NULL,
    sid         text,
    received_at timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    client_ip   inet,
    sender      text NOT NULL,   -- '' for the null sender
    rcpt        text NOT NULL,
    user_id     bigint REFERENCES users (id) ON DELETE CASCADE,
    domain_id   bigint REFERENCES domains (id) ON DELETE CASCADE,
    subject     text,
    size        bigint NOT NULL CHECK (size >= 0),
    message     bytea NOT NULL,
    status      text NOT NULL DEFAULT 'held' CHECK (status IN ('held', 'released', 'deleted')),
    decided_at  timestamptz,
    digested_at timestamptz
);
CREATE INDEX quarantine_user_idx ON quarantine (user_id, status, received_at DESC);
CREATE INDEX quarantine_expiry_idx ON quarantine (expires_at) WHERE status = 'held';

-- Quarantine digest schedules: exactly one owner; daily at a time, on chosen weekdays at a
-- time, or every N hours. next_run_at is claimed with FOR UPDATE SKIP LOCKED.
CREATE TABLE digest_schedules (
    id             bigserial PRIMARY KEY,
    user_id        bigint REFERENCES users (id) ON DELETE CASCADE,
    domain_id      bigint REFERENCES domains (id) ON DELETE CASCADE,
    group_id       bigint REFERENCES groups (id) ON DELETE CASCADE,
    kind           text NOT NULL CHECK (kind IN ('daily', 'weekdays', 'interval')),
    at_time        time,
    weekdays       smallint CHECK (weekdays BETWEEN 1 AND 127),   -- bit 0 = Monday
    interval_hours integer CHECK (interval_hours BETWEEN 1 AND 168),
    enabled        boolean NOT NULL DEFAULT true,
    next_run_at    timestamptz NOT NULL DEFAULT now(),
    last_run_at    timestamptz,
    CHECK (num_nonnulls(user_id, domain_id, group_id) = 1),
    CHECK ((kind = 'interval' AND interval_hours IS NOT NULL)
           OR (kind = 'daily' AND at_time IS NOT NULL)
           OR (kind = 'weekdays' AND at_time IS NOT NULL AND weekdays IS NOT NULL))
);

CREATE TABLE web_sessions (
    id_hash      text PRIMARY KEY,            -- SHA-256 of the cookie value; the cookie itself is never stored
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    client_ip    inet
);
CREATE INDEX web_sessions_user_idx ON web_sessions (user_id);

CREATE TABLE settings (
    key   text PRIMARY KEY CHECK (key ~ '^[a-z0-9_.]+$'),
    value jsonb NOT NULL
);

-- Cache invalidation for policy: every change to what decisions read sends a NOTIFY on
-- channel clement_cache with the table name as payload.
CREATE FUNCTION clement_notify_cache() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('clement_cache', TG_TABLE_NAME);
    RETURN NULL;
END $$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['groups', 'domains', 'users', 'directives', 'bans', 'never_ban_networks',
                             'mesh_peers', 'settings']
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I
                        FOR EACH STATEMENT EXECUTE FUNCTION clement_notify_cache()', t || '_notify', t);
    END LOOP;
END $$;
