-- 0006_banstats.sql - indexes for clement-banstats' statistics runs, and the meaning of the
-- bans / ban_events / mesh_peers rows for everyone who writes them (admin-api, policy).
--
-- bans: one row per listing. At most one open row (status candidate or banned) per network and
-- source: peer_id NULL = this server (origin 'auto' from the statistics, 'admin' from the API),
-- peer_id = the mesh peer that sent it (origin 'peer', origin_server = the server that first
-- issued it, hops = relays passed including the one to us).
--   candidate  listed "to be banned": shown with evidence for an admin; not enforced.
--   banned     enforced by policy at connect (421/554 before any SMTP command).
--   lifted     history: expired, unbanned by an admin, or lifted by its peer; lifted_at set.
--              Lifted rows that were once banned count as earlier offences (escalation).
-- expires_at NULL = no expiry. banstats lifts expired rows on each run.
--
-- ban_events: every change of a *banned* record, in order: kind 'ban' when a row becomes
-- banned (new ban, a candidate promoted, or a new expiry), 'lift' when a banned row is lifted.
-- This is what the mesh push sends to peers (mesh_peers.last_pushed_id is the last event id
-- delivered to that peer), so writers MUST add the event in the same transaction:
--   ban (admin):      INSERT INTO bans (network, status, origin, reason, expires_at)
--                     VALUES (..., 'banned', 'admin', ...) RETURNING id;
--                     INSERT INTO ban_events (ban_id, kind) VALUES (id, 'ban');
--   promote:          UPDATE bans SET status = 'banned', expires_at = ... WHERE id = $1 AND status = 'candidate';
--                     INSERT INTO ban_events (ban_id, kind) VALUES ($1, 'ban');
--   unban / dismiss:  UPDATE bans SET status = 'lifted', lifted_at = now() WHERE id = $1 AND status IN (...);
--                     + INSERT INTO ban_events (ban_id, kind) VALUES ($1, 'lift') when it was 'banned'.
-- A network an admin lifts before its expiry is not re-listed automatically until the
-- classification window (CLEMENT_BANSTATS_WINDOW) has passed since the lift; use
-- never_ban_networks for "never".
-- Candidates and bans received from an 'observe' peer carry peer_id; promoting one makes it
-- enforced here (and, through its 'ban' event, forwarded to our other peers with its hops).

-- Covering indexes for the per-window aggregation: the 1 h and 24 h windows read only the
-- newest slice of each partition, index-only once autovacuum has set the visibility map.
CREATE INDEX smtp_sessions_stats_idx ON smtp_sessions (started_at)
    INCLUDE (client_ip, pregreet, protocol_errors) WHERE auth_user IS NULL;
CREATE INDEX message_log_stats_idx ON message_log (logged_at)
    INCLUDE (client_ip, status, reason_class) WHERE direction = 'in' AND client_ip IS NOT NULL;

-- Escalation and re-listing look up earlier (lifted) rows of a network.
CREATE INDEX bans_network_idx ON bans (network, lifted_at);
CREATE INDEX ban_events_ban_idx ON ban_events (ban_id);
