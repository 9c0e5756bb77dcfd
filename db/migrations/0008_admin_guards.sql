-- 0008_admin_guards.sql - guards for delegated administration (issue 15):
--   * clement_role_rank: the roles' order, so that "a lower role than mine" is one SQL comparison;
--   * the last enabled root-admin can never be deleted, disabled or demoted, by anyone and by any
--     path (the API, a cascading delete, a tool, psql);
--   * what login throttling needs beyond 0005's counters: when the last failure was (the
--     per-account delay grows from it) and the source addresses each account logged in from
--     (they are not slowed down by failures from elsewhere).

-- clement_role_rank - user 1 < domain-admin 2 < group-admin 3 < root-admin 4 (admin-api's enum api_role).
CREATE FUNCTION clement_role_rank(role text) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE role WHEN 'user' THEN 1 WHEN 'domain-admin' THEN 2 WHEN 'group-admin' THEN 3
                     WHEN 'root-admin' THEN 4 ELSE 0 END
$$;

-- clement_keep_a_root - refuse a change that leaves no enabled root-admin (SQLSTATE CL001, which
-- admin-api answers 409 with this text). The advisory lock serialises such changes, so that two
-- root-admins deleting each other at the same moment cannot both succeed: the second one's check
-- runs after the first has committed and sees it (READ COMMITTED takes a new snapshot per
-- statement).
CREATE FUNCTION clement_keep_a_root() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.role <> 'root-admin' OR NOT OLD.enabled THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.role = 'root-admin' AND NEW.enabled THEN
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('clement_keep_a_root'));
    IF NOT EXISTS (SELECT 1 FROM users WHERE role = 'root-admin' AND enabled) THEN
        RAISE EXCEPTION 'the last enabled root-admin (%) cannot be deleted, disabled or demoted', OLD.local_part
            USING ERRCODE = 'CL001';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER users_keep_a_root AFTER UPDATE OF role, enabled OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION clement_keep_a_root();

-- Per-account login delay: it grows with the failures and runs from the last one.
ALTER TABLE login_failures ADD COLUMN last_failure_at timestamptz NOT NULL DEFAULT now();

-- The client addresses an account logged in from with its right password; failures from other
-- addresses do not delay logins from these (so an attacker cannot lock an admin out).
CREATE TABLE login_known (
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ip         inet NOT NULL,
    last_ok_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, ip)
);
