-- People-counter passages go to the fleet centre with each hour's figures (FleetFigures v 2: src/fleet,
-- docs/fleet.md), so the centre counts a counted door's visits as the branch's own report does.
-- The walk through older history starts once more: hours with passages are sent again, now with them; an
-- hour without passages keeps its digest (src/fleet/figures.ts) and is not sent again.
DELETE FROM fleet_state WHERE key = 'backfill_day';
