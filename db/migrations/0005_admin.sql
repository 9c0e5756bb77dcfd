-- 0005_admin.sql - what admin-api needs beyond the core schema: failed-login counters for
-- rate limiting (in PostgreSQL so that every admin-api replica counts the same attempts),
-- and the two scope functions every authorization check of admin-api goes through.

-- One row per rate-limit key ("addr:<address>" or "ip:<client ip>") and window.
CREATE TABLE login_failures (
    key          text PRIMARY KEY CHECK (length(key) <= 400),
    window_start timestamptz NOT NULL DEFAULT now(),
    failures     integer NOT NULL DEFAULT 0
);

-- clement_scope_domains - the domains user uid administers: every domain for a root-admin,
-- the domains of its groups for a group-admin, its domains for a domain-admin, none for a user.
CREATE FUNCTION clement_scope_domains(uid bigint) RETURNS SETOF bigint LANGUAGE sql STABLE AS $$
    SELECT d.id FROM domains d JOIN users u ON u.id = uid AND u.enabled
    WHERE u.role = 'root-admin'
       OR (u.role = 'group-admin' AND d.group_id IN
           (SELECT s.group_id FROM admin_scopes s WHERE s.user_id = uid AND s.group_id IS NOT NULL))
       OR (u.role = 'domain-admin' AND d.id IN
           (SELECT s.domain_id FROM admin_scopes s WHERE s.user_id = uid AND s.domain_id IS NOT NULL))
$$;

-- clement_scope_groups - the groups user uid administers as a whole (root-admin: all,
-- group-admin: its own; a domain-admin administers no group).
CREATE FUNCTION clement_scope_groups(uid bigint) RETURNS SETOF bigint LANGUAGE sql STABLE AS $$
    SELECT g.id FROM groups g JOIN users u ON u.id = uid AND u.enabled
    WHERE u.role = 'root-admin'
       OR (u.role = 'group-admin' AND g.id IN
           (SELECT s.group_id FROM admin_scopes s WHERE s.user_id = uid AND s.group_id IS NOT NULL))
$$;
