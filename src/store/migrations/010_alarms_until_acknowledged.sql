-- Alarms stay listed until acknowledged, also after their cause clears (src/alarms/alarms.ts): the start
-- loads the unresolved ones, and the history page filters by time.
CREATE INDEX alarms_unresolved ON alarms (id) WHERE cleared_at IS NULL OR acked_at IS NULL;
CREATE INDEX alarms_raised ON alarms (raised_at);
