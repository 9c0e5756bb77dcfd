-- 0004_delivery.sql - delivery: when a quarantine digest schedule runs next.
-- clement_digest_next_run() is used by clement-delivery after each run (and may be used by
-- admin-api when a schedule is edited). Times of day are in the session's TimeZone
-- (the server default, UTC in our containers).

CREATE FUNCTION clement_digest_next_run(p_kind text, p_at time, p_weekdays smallint, p_hours integer,
                                        p_after timestamptz) RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
DECLARE
    d    date := p_after::date;
    cand timestamptz;
BEGIN
    IF p_kind = 'interval' THEN
        RETURN p_after + make_interval(hours => p_hours);
    END IF;
    -- daily: the first at_time after p_after; weekdays: the same, on a day whose bit is set
    -- (bit 0 = Monday, as in digest_schedules.weekdays).
    FOR i IN 0 .. 8 LOOP
        cand := ((d + i) + p_at)::timestamptz;
        IF cand > p_after AND (p_kind = 'daily'
                               OR (p_weekdays & (1 << (extract(isodow FROM d + i)::int - 1))) <> 0) THEN
            RETURN cand;
        END IF;
    END LOOP;
    RETURN p_after + interval '1 day';
END $$;

-- The digest query: held, not yet digested rows of one user.
CREATE INDEX quarantine_digest_idx ON quarantine (user_id, received_at) WHERE status = 'held' AND digested_at IS NULL;
