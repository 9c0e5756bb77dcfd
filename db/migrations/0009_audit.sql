-- 0009_audit.sql - the audit trail of admin-api: one row per state-changing API call
-- (services/admin-api/audit.h says which calls and how): who, from where, when, what, the
-- answer's status, and the target object before and after with its secrets masked.
--
-- Not partitioned: the trail is small next to the mail logs (one row per admin action, not
-- per message) and is kept until an operator deletes old rows (DELETE ... WHERE at < ...;
-- the at index makes that cheap); the logs' monthly retention does not apply to it.
-- No foreign keys: a row outlives the account, domain or group it names.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_id    bigint,                                  -- NULL: nobody logged in (a failed login)
    actor_name  text CHECK (length(actor_name) <= 400),  -- the login name, or the name a failed login tried
    actor_role  text,
    client_ip   inet,
    method      text NOT NULL,
    route       text NOT NULL,                           -- the route pattern, never the path (tokens)
    target_type text NOT NULL,
    target_id   text,
    domain_id   bigint,                                  -- the target's domain and group: who may read the row
    group_id    bigint,
    owner_id    bigint,                                  -- the account the target is or belongs to, and its role:
    owner_role  text,                                    -- admins below that role do not see the row
    status      integer NOT NULL,
    before      jsonb,
    after       jsonb
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_domain_idx ON audit_log (domain_id, at) WHERE domain_id IS NOT NULL;
CREATE INDEX audit_log_group_idx ON audit_log (group_id, at) WHERE group_id IS NOT NULL;

-- A row is never changed once written (deleting old rows stays possible).
CREATE FUNCTION clement_audit_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log rows cannot be changed';
END $$;
CREATE TRIGGER audit_log_immutable BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION clement_audit_immutable();
