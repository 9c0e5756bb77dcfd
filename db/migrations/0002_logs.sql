-- 0002_logs.sql - the log tables, range-partitioned by month.
-- clement_ensure_partitions() creates the months around now (clement-migrate, banstats and policy
-- call it); a DEFAULT partition catches anything outside them so no row is ever refused.
-- clement_drop_partitions_before() implements the retention (run by clement-banstats, maintain.c).

CREATE TABLE smtp_sessions (
    sid             text NOT NULL,
    started_at      timestamptz NOT NULL,
    ended_at        timestamptz,
    client_ip       inet NOT NULL,
    client_port     integer,
    listener        text NOT NULL CHECK (listener IN ('smtp', 'smtps', 'submission')),
    helo            text,
    tls             text,          -- e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384"
    auth_user       text,
    outcome         text,          -- how the session ended: quit, timeout, pregreet, banned, ...
    pregreet        boolean NOT NULL DEFAULT false,
    protocol_errors integer NOT NULL DEFAULT 0,
    messages        integer NOT NULL DEFAULT 0,
    transcript      text,          -- commands and replies, AUTH secrets masked, no body
    PRIMARY KEY (sid, started_at)
) PARTITION BY RANGE (started_at);
CREATE INDEX smtp_sessions_ip_idx ON smtp_sessions (client_ip, started_at);
CREATE INDEX smtp_sessions_time_idx ON smtp_sessions (started_at);

-- One row per recipient and outcome.
CREATE TABLE message_log (
    id         bigserial,
    logged_at  timestamptz NOT NULL DEFAULT now(),
    sid        text,
    msgid      text,
    direction  text NOT NULL DEFAULT 'in' CHECK (direction IN ('in', 'out')),
    client_ip  inet,
    sender     text NOT NULL DEFAULT '',
    rcpt       text NOT NULL,
    user_id    bigint,
    domain_id  bigint,
    group_id   bigint,
    status     text NOT NULL CHECK (status IN ('received', 'sent', 'rejected', 'quarantined', 'released',
                                               'relayed', 'failed', 'deleted')),
    reason_class text CHECK (reason_class IN ('unknown_rcpt', 'directive', 'relay_denied', 'virus', 'banned',
                                              'protocol', 'policy', 'temporary', 'downstream', 'size', 'other')),
    code       integer,
    enh        text,
    reason     text,
    virus      text,
    subject    text,
    size       bigint,
    PRIMARY KEY (id, logged_at)
) PARTITION BY RANGE (logged_at);
CREATE INDEX message_log_user_idx ON message_log (user_id, logged_at DESC);
CREATE INDEX message_log_domain_idx ON message_log (domain_id, logged_at DESC);
CREATE INDEX message_log_ip_idx ON message_log (client_ip, logged_at);
CREATE INDEX message_log_time_idx ON message_log (logged_at);

CREATE TABLE smtp_sessions_default PARTITION OF smtp_sessions DEFAULT;
CREATE TABLE message_log_default PARTITION OF message_log DEFAULT;

CREATE FUNCTION clement_ensure_partitions(months_back integer, months_ahead integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    base    date := date_trunc('month', now())::date;
    m       date;
    created integer := 0;
    t       text;
BEGIN
    FOR i IN -months_back .. months_ahead LOOP
        m := (base + make_interval(months => i))::date;
        FOREACH t IN ARRAY ARRAY['smtp_sessions', 'message_log'] LOOP
            IF to_regclass(format('%s_%s', t, to_char(m, 'YYYYMM'))) IS NULL THEN
                -- Rows already in the default partition for that month would block the attach;
                -- the months we create are current or future, so the default holds none of them.
                EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                               t || '_' || to_char(m, 'YYYYMM'), t, m, (m + interval '1 month')::date);
                created := created + 1;
            END IF;
        END LOOP;
    END LOOP;
    RETURN created;
END $$;

CREATE FUNCTION clement_drop_partitions_before(keep_months integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    cutoff  text := to_char(date_trunc('month', now()) - make_interval(months => keep_months), 'YYYYMM');
    r       record;
    dropped integer := 0;
BEGIN
    FOR r IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             JOIN pg_class p ON p.oid = i.inhparent
             WHERE p.relname IN ('smtp_sessions', 'message_log') AND c.relname ~ '_[0-9]{6}$'
    LOOP
        IF right(r.relname, 6) < cutoff THEN
            EXECUTE format('DROP TABLE %I', r.relname);
            dropped := dropped + 1;
        END IF;
    END LOOP;
    RETURN dropped;
END $$;

SELECT clement_ensure_partitions(0, 2);
