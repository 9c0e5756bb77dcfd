-- 0011_jobs: periodic jobs that must run once per interval however many replicas run them,
-- and the run-time reading of the settings table (lib/db/settings.h is its catalogue).
--
-- clement_job_claim(job, every_s, who), called inside the caller's transaction before the
-- job's work: true when this caller is to run the job now. It takes a transaction advisory
-- lock on the job (a second replica does not wait, it gets false) and claims the job only
-- when its last run is at least every_s seconds old, recording this run. The claim commits
-- or rolls back with the work, so a failed run is retried by whichever replica comes next.
-- Replicas whose timers are out of phase therefore still run the job once per interval in
-- total, and when the replica that ran it stops, another takes over within one interval.
CREATE TABLE job_runs (
    job     text PRIMARY KEY,
    ran_at  timestamptz NOT NULL,
    ran_by  text NOT NULL
);

CREATE FUNCTION clement_job_claim(job_name text, every_s double precision, who text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('clement_job'), hashtext(job_name)) THEN
        RETURN false;
    END IF;
    -- 0.5 s of slack: a replica's timer that fires a moment before the interval has passed
    -- since the last transaction's start is the same schedule, not an extra run.
    INSERT INTO job_runs AS j (job, ran_at, ran_by) VALUES (job_name, now(), who)
    ON CONFLICT (job) DO UPDATE SET ran_at = EXCLUDED.ran_at, ran_by = EXCLUDED.ran_by
    WHERE j.ran_at <= now() - make_interval(secs => greatest(every_s - 0.5, 0));
    RETURN FOUND;
END $$;

-- clement_setting_int(key, fallback): the integer value of key in settings, or fallback (the
-- reader's own CLEMENT_* setting) when the key is unset or not an integer.
CREATE FUNCTION clement_setting_int(setting_key text, fallback bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT (s.value #>> '{}')::bigint FROM settings s
                     WHERE s.key = setting_key AND jsonb_typeof(s.value) = 'number'
                       AND s.value #>> '{}' ~ '^-?[0-9]+$'), fallback)
$$;

-- Keys that no service reads are gone: the Global settings screen shows only the catalogue.
DELETE FROM settings WHERE key NOT IN ('log.retention_months', 'quarantine.retention_days');
