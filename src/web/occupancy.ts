/**
 * Where "inside now" comes from: the people counters of src/occupancy, mirrored from the door process into the
 * worker (WorkerState.inside; src/worker/remote.ts RemoteOccupancy). The Now page shows the slot only when one
 * is given (WebDeps.occupancy).
 */
export interface OccupancySource {
  /** People inside now, or null while the source does not know (e.g. its sensor is offline). */
  insideNow(): number | null;
}
