/**
 * Where "inside now" comes from: a people counter, an entry/exit reader pair. None exists yet; the Now
 * page shows the slot only when one is given (WebDeps.occupancy).
 */
export interface OccupancySource {
  /** People inside now, or null while the source does not know (e.g. its sensor is offline). */
  insideNow(): number | null;
}
