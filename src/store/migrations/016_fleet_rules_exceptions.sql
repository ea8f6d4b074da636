-- The fleet's dated schedule exceptions for this site, written by the worker process after it has checked the
-- document's signature (src/fleet-rules, docs/fleet-rules.md). The door process merges them into its schedule
-- at start and when the worker says a newer document is in force, without checking any signature itself.
-- NULL: none to trust (not yet checked after this migration, or the stored document no longer verifies).
ALTER TABLE fleet_rules ADD COLUMN exceptions TEXT;
