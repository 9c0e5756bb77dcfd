-- 0013_reputation.sql - each SMTP session records its reputation score and the facts behind
-- it (issue 17): DNSBL/DNSWL listings with their answer and weight, the FCrDNS and HELO
-- findings, as smtp-edge gathered them ({"ptr": name, "facts": [{kind, name, answer, weight}]}).
-- Zone names are the shown ones: an access key (Spamhaus DQS) never reaches the database.
-- NULL: reputation checks were off for that session.
ALTER TABLE smtp_sessions ADD COLUMN rep_score integer;
ALTER TABLE smtp_sessions ADD COLUMN rep_facts jsonb;

-- A group's stricter threshold for its domains' recipients (refused at RCPT with
-- CLEMENT_DNSBL_ACTION=enforce): the lower of this and CLEMENT_DNSBL_THRESHOLD applies.
-- NULL: the global threshold.
ALTER TABLE groups ADD COLUMN dnsbl_threshold integer CHECK (dnsbl_threshold BETWEEN 1 AND 1000);

-- DNSBL evidence as one more input of banstats' ban score: sessions whose reputation facts
-- include a DNS blocklist listing (CLEMENT_BANSTATS_WEIGHT_DNSBL points each).
ALTER TABLE ip_stats ADD COLUMN dnsbl_listed integer NOT NULL DEFAULT 0;

-- Firewall export (issue 17): the networks refused at connect by a ban in force (local, an
-- admin's, or a mesh peer's trusted to enforce: the same rule as policy's cache), so an admin
-- can drop them at the kernel. One definition for the API (root) and banstats' file.
CREATE VIEW enforced_bans AS
SELECT DISTINCT b.network FROM bans b
WHERE b.status = 'banned' AND (b.expires_at IS NULL OR b.expires_at > now())
  AND (b.peer_id IS NULL OR b.origin = 'admin'
       OR EXISTS (SELECT 1 FROM mesh_peers p WHERE p.id = b.peer_id AND p.enabled AND p.trust = 'enforce'));

-- clement_firewall_plain() - one network a line ("203.0.113.9", "198.51.100.0/24").
CREATE FUNCTION clement_firewall_plain() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce(string_agg(CASE WHEN masklen(network) = CASE family(network) WHEN 4 THEN 32 ELSE 128 END
                                  THEN host(network) ELSE text(network) END, E'\n' ORDER BY network) || E'\n', '')
  FROM enforced_bans
$$;

-- clement_firewall_nft() - an nftables file that replaces the sets inet clement banned4 and
-- banned6 atomically (`nft -f FILE`; README, "Firewall export"): it declares the table and the
-- sets (a no-op when they exist), flushes them, and adds the networks.
CREATE FUNCTION clement_firewall_nft() RETURNS text LANGUAGE sql STABLE AS $$
  WITH n AS (SELECT family(network) AS fam,
                    CASE WHEN masklen(network) = CASE family(network) WHEN 4 THEN 32 ELSE 128 END
                         THEN host(network) ELSE text(network) END AS t
             FROM enforced_bans)
  SELECT format(E'# Clement: networks banned at connect (%s), generated %s\n', (SELECT count(*) FROM n),
                to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
      || E'table inet clement {\n'
      || E'\tset banned4 { type ipv4_addr; flags interval; auto-merge; }\n'
      || E'\tset banned6 { type ipv6_addr; flags interval; auto-merge; }\n'
      || E'}\n'
      || E'flush set inet clement banned4\nflush set inet clement banned6\n'
      || coalesce((SELECT E'add element inet clement banned4 { ' || string_agg(t, ', ' ORDER BY t) || E' }\n'
                   FROM n WHERE fam = 4), '')
      || coalesce((SELECT E'add element inet clement banned6 { ' || string_agg(t, ', ' ORDER BY t) || E' }\n'
                   FROM n WHERE fam = 6), '')
$$;
