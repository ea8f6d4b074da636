/**
 * One door at runtime: its schedule, hardware and reader wired together, the panel the dashboard sees,
 * and the queue that decides its swipes in order.
 */
import type { AccessPolicy } from '../access/decide.ts';
import type { AccessGate, GateDoor, SwipeResult } from '../access/gate.ts';
import type { DoorConfig } from '../config/types.ts';
import type { DoorPanel, DoorSnapshot, SiteStatus } from '../contract/door-panel.ts';
import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../log/logger.ts';
import type { CardReader, SwipeEvent } from '../reader/reader.ts';
import type { DoorSchedule } from '../schedule/schedule.ts';
import type { ScheduleWatcher } from '../schedule/watcher.ts';
import type { Door } from './door.ts';
import { type CpuClock, type CpuMark, cpuShareMs } from './cpu-share.ts';
import type { DoorDriver } from './driver.ts';
import { swipeStagesMs } from './swipe-stages.ts';

/** One door at runtime: schedule, hardware, reader, and the panel the dashboard sees. */
export class RuntimeDoor implements GateDoor, DoorPanel {
  manualUnlockUntil: number | null = null;
  /** The site's state for the dashboard (src/states), when it runs. */
  siteStatus: () => SiteStatus | undefined = () => undefined;
  private manualTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly config: DoorConfig,
    readonly policy: AccessPolicy,
    readonly schedule: DoorSchedule,
    readonly watcher: ScheduleWatcher,
    readonly door: Door,
    readonly driver: DoorDriver,
    readonly reader: CardReader,
    private readonly bus?: EventBus,
  ) {}

  get id(): string {
    return this.config.id;
  }

  scheduleState() {
    return this.schedule.stateAt(new Date());
  }

  grant(): void {
    void this.door.grant();
  }

  deny(): void {
    this.door.deny();
  }

  /** Staffed hours with staffed_mode unlocked, or a manual unlock, hold the door open. */
  applyHold(): void {
    const manual = this.manualUnlockUntil !== null && this.manualUnlockUntil > Date.now();
    const staffedUnlocked = this.config.staffed_mode === 'unlocked' && this.scheduleState() === 'staffed';
    this.door.setHeldUnlocked(manual ? 'manual' : staffedUnlocked ? 'staffed' : null);
  }

  manualUnlock(minutes: number): void {
    this.manualUnlockUntil = Date.now() + minutes * 60_000;
    clearTimeout(this.manualTimer);
    this.manualTimer = setTimeout(() => this.manualLock(), minutes * 60_000);
    this.manualTimer.unref();
    this.applyHold();
    this.bus?.publish({
      type: 'manual_unlock',
      door: this.id,
      minutes,
      until: new Date(this.manualUnlockUntil).toISOString(),
      ts: new Date().toISOString(),
    });
  }

  manualLock(): void {
    this.manualUnlockUntil = null;
    clearTimeout(this.manualTimer);
    this.applyHold();
  }

  snapshot(): DoorSnapshot {
    const state = this.door.state();
    const next = this.watcher.next();
    return {
      id: this.id,
      name: this.config.name ?? this.id,
      mode: this.scheduleState(),
      locked: state.locked,
      open: state.open,
      held: state.held,
      fireActive: state.fireActive,
      manualUnlockUntil: this.manualUnlockUntil ? new Date(this.manualUnlockUntil).toISOString() : null,
      nextChange: next ? { mode: next.state, at: next.at.toISOString() } : null,
      site: this.siteStatus(),
    };
  }

  async close(): Promise<void> {
    clearTimeout(this.manualTimer);
    this.watcher.stop();
    await this.reader.stop();
    this.door.close();
    await this.driver.close();
  }
}

export interface SwipeQueueDeps {
  gate: AccessGate;
  log: Logger;
  observeDecision: (seconds: number) => void;
  /** Called after each decided swipe (the demo prints it in plain words). */
  onSwipe?: ((door: string, result: SwipeResult, swipe: SwipeEvent) => void) | undefined;
  /** Marks each swipe's CPU time and wait for a CPU, frame → relay, for its log line. */
  cpu?: CpuClock;
}

/** Swipes at one door are decided in order; a slow library system does not reorder them. */
export function decideSwipesInOrder(runtime: RuntimeDoor, reader: CardReader, deps: SwipeQueueDeps): void {
  const { gate, log } = deps;
  let queue: Promise<unknown> = Promise.resolve();
  let unlockedAt: bigint | undefined;
  let cpuAtRelay: CpuMark | undefined;
  runtime.door.onRelayWrite((at, unlocked) => {
    if (!unlocked) return;
    unlockedAt = at;
    cpuAtRelay = deps.cpu?.mark();
  });
  reader.on('swipe', (swipe) => {
    // From the frame's arrival, so the wait behind an earlier swipe counts too.
    const received = process.hrtime.bigint();
    const cpuAtFrame = deps.cpu?.mark();
    queue = queue.then(async () => {
      const t0 = process.hrtime.bigint();
      unlockedAt = undefined;
      cpuAtRelay = undefined;
      try {
        const result = await gate.handle(runtime, { card: swipe.card, pin: swipe.pin });
        const decided = process.hrtime.bigint();
        deps.observeDecision(Number(decided - t0) / 1e9);
        reader.feedback?.(result.decision);
        log.info(
          {
            outcome: result.decision.allow ? 'granted' : 'denied',
            reason: result.decision.reason,
            entry: result.entryId,
            ms: Math.round(Number(decided - received) / 1e4) / 100,
            // The patron's wait: frame arrival → relay written (the rest of `ms` comes after the door opened).
            ...(unlockedAt === undefined
              ? {}
              : {
                  relay_ms: Math.round(Number(unlockedAt - received) / 1e4) / 100,
                  // The relay write on the machine's monotonic clock (ms), which every process shares: what
                  // feeds the reader from outside can time the patron's whole wait without waking to watch.
                  relay_mono_ms: Math.round(Number(unlockedAt) / 1e3) / 1e3,
                  // Of relay_ms: on a CPU, and ready but waiting for one; the rest was taken or blocked.
                  ...(cpuAtFrame && cpuAtRelay ? { cpu_ms: cpuShareMs(cpuAtFrame, cpuAtRelay) } : {}),
                }),
            // Of it, the entry's commit to the door's journal, and the part of that spent waiting for a lock.
            ...(result.commitMs === undefined ? {} : { commit_ms: Math.round(result.commitMs * 100) / 100 }),
            ...(result.storeWaitMs === undefined
              ? {}
              : { store_wait_ms: Math.round(result.storeWaitMs * 100) / 100 }),
            // Where the wait went, stage by stage (the bench's split of the door's own share).
            ...(result.marks === undefined
              ? {}
              : { stages_ms: swipeStagesMs(received, t0, result.marks, unlockedAt) }),
          },
          `swipe ${result.decision.allow ? 'granted' : 'denied'}: ${result.decision.reason}`,
        );
        deps.onSwipe?.(runtime.id, result, swipe);
      } catch (error) {
        // Anything unexpected denies: the door never opens by mistake.
        runtime.deny();
        reader.feedback?.({ allow: false, reason: 'store_unavailable' });
        log.error({ err: (error as Error).message }, 'swipe failed; denied');
      }
    });
  });
}
