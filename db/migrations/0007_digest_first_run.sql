-- 0007_digest_first_run: a new quarantine digest schedule first runs at its first scheduled
-- time, not at once. Before, next_run_at defaulted to now(), so a "daily at 08:30" schedule
-- created at 15:00 sent a digest within the minute and then again the next morning. Now:
--   INSERT without next_run_at: the first time after now() (daily/weekdays: the next at_time
--     on an allowed day; interval: one interval from now);
--   UPDATE that changes the timing (kind, at_time, weekdays, interval_hours) and leaves
--     next_run_at alone: recomputed from now() the same way.
-- clement-delivery sets next_run_at itself after each run, which this trigger leaves alone;
-- a row given an explicit next_run_at (tests, a restore) keeps it.
ALTER TABLE digest_schedules ALTER COLUMN next_run_at DROP DEFAULT;

CREATE FUNCTION clement_digest_schedule_first_run() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (TG_OP = 'INSERT' AND NEW.next_run_at IS NULL)
       OR (TG_OP = 'UPDATE' AND NEW.next_run_at IS NOT DISTINCT FROM OLD.next_run_at
           AND (NEW.kind, NEW.at_time, NEW.weekdays, NEW.interval_hours)
               IS DISTINCT FROM (OLD.kind, OLD.at_time, OLD.weekdays, OLD.interval_hours)) THEN
        NEW.next_run_at := clement_digest_next_run(NEW.kind, NEW.at_time, NEW.weekdays, NEW.interval_hours, now());
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER digest_schedules_first_run BEFORE INSERT OR UPDATE ON digest_schedules
    FOR EACH ROW EXECUTE FUNCTION clement_digest_schedule_first_run();
