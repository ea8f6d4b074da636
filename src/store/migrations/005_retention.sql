-- Statistics roll-up (src/stats) kept in step with entry_stats by triggers, so whoever writes
-- entry_stats, the dashboard reads a table without category/age_band: several times fewer rows.

CREATE TABLE entry_stats_rollup (
  day TEXT NOT NULL,              -- local date YYYY-MM-DD
  hour INTEGER NOT NULL,          -- local hour 0-23
  door TEXT NOT NULL,
  mode TEXT NOT NULL,
  outcome TEXT NOT NULL,
  reason TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (day, hour, door, mode, outcome, reason)
) WITHOUT ROWID;

INSERT INTO entry_stats_rollup (day, hour, door, mode, outcome, reason, count)
  SELECT day, hour, door, mode, outcome, reason, SUM(count) FROM entry_stats
  GROUP BY day, hour, door, mode, outcome, reason;

CREATE TRIGGER entry_stats_rollup_insert AFTER INSERT ON entry_stats BEGIN
  INSERT INTO entry_stats_rollup (day, hour, door, mode, outcome, reason, count)
    VALUES (NEW.day, NEW.hour, NEW.door, NEW.mode, NEW.outcome, NEW.reason, NEW.count)
    ON CONFLICT (day, hour, door, mode, outcome, reason) DO UPDATE SET count = count + excluded.count;
END;

-- Also fires for the DO UPDATE branch of an upsert into entry_stats.
CREATE TRIGGER entry_stats_rollup_update AFTER UPDATE ON entry_stats BEGIN
  UPDATE entry_stats_rollup SET count = count - OLD.count
    WHERE day = OLD.day AND hour = OLD.hour AND door = OLD.door AND mode = OLD.mode
      AND outcome = OLD.outcome AND reason = OLD.reason;
  INSERT INTO entry_stats_rollup (day, hour, door, mode, outcome, reason, count)
    VALUES (NEW.day, NEW.hour, NEW.door, NEW.mode, NEW.outcome, NEW.reason, NEW.count)
    ON CONFLICT (day, hour, door, mode, outcome, reason) DO UPDATE SET count = count + excluded.count;
END;

CREATE TRIGGER entry_stats_rollup_delete AFTER DELETE ON entry_stats BEGIN
  UPDATE entry_stats_rollup SET count = count - OLD.count
    WHERE day = OLD.day AND hour = OLD.hour AND door = OLD.door AND mode = OLD.mode
      AND outcome = OLD.outcome AND reason = OLD.reason;
  DELETE FROM entry_stats_rollup
    WHERE day = OLD.day AND hour = OLD.hour AND door = OLD.door AND mode = OLD.mode
      AND outcome = OLD.outcome AND reason = OLD.reason AND count = 0;
END;
