-- The day plans last computed by the schedule compiler (schedule/saved-plans.ts): after a power cut the doors
-- start from them instead of waiting for the compiler. One row; `plan_key` is the hash of everything the plans
-- were computed from (doors' schedules, site, software version), so a changed config never uses them.

CREATE TABLE schedule_plans (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  plan_key TEXT NOT NULL,
  computed_at INTEGER NOT NULL,   -- ms since the epoch
  plans TEXT NOT NULL             -- JSON: { door id: [[local date, DayPlan], …] }
);
