/**
 * The worker's view of the door process: door panels and alarms mirrored from the state it sends, and
 * calls (unlock, acknowledge, exports) sent back over IPC. A call the door process does not answer in
 * time fails; the page shows an error and nothing waits on it.
 */
import type { ActiveAlarm } from '../alarms/alarms.ts';
import { type CardCheckAccess, CardCheckRefused, type CardCheckResult } from '../contract/card-check.ts';
import type { DoorPanel, DoorSnapshot } from '../contract/door-panel.ts';
import {
  type ExportRefusalDetail,
  ExportRefused,
  type NvrAdmin,
  type NvrAdminAccess,
} from '../contract/nvr-admin.ts';
import type { OccupancySource } from '../web/occupancy.ts';
import type { AlarmsAccess } from '../web/routing.ts';
import type { CallTarget, FromWorker, ToWorker, WorkerState } from './protocol.ts';

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout };

export class DoorProcessLink {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private state: WorkerState;
  private readonly stateListeners = new Set<() => void>();

  constructor(
    private readonly send: (message: FromWorker) => void,
    initial: WorkerState,
    private readonly timeoutMs = 10_000,
  ) {
    this.state = initial;
  }

  setState(state: WorkerState): void {
    this.state = state;
    for (const listener of this.stateListeners) {
      try {
        listener();
      } catch {
        // one page's stream must not stop the mirror
      }
    }
  }

  onState(listener: () => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  get doorsState(): DoorSnapshot[] {
    return this.state.doors;
  }

  get alarmsState(): ActiveAlarm[] {
    return this.state.alarms;
  }

  /** People inside now as the door process last sent it; null when it does not know. */
  get insideNow(): number | null {
    return this.state.inside ?? null;
  }

  call(target: CallTarget, method: string, args: unknown[], door?: string): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`the door process did not answer ${target}.${method} in time`));
      }, this.timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve, reject, timer });
      this.send({ t: 'call', id, target, method, args, ...(door === undefined ? {} : { door }) });
    });
  }

  onReply(message: Extract<ToWorker, { t: 'reply' }>): void {
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    clearTimeout(pending.timer);
    if (message.ok) pending.resolve(message.value);
    else {
      // The admin's refusals keep their type so the page shows them as refusals, not as failures.
      const { name, message: text, detail } = message.error;
      const error =
        name === 'ExportRefused'
          ? new ExportRefused(text, detail as ExportRefusalDetail | undefined)
          : name === 'CardCheckRefused'
            ? new CardCheckRefused(text)
            : Object.assign(new Error(text), { name });
      pending.reject(error);
    }
  }

  /** Fails every call still waiting (the door process is gone). */
  failAll(why: string): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new Error(why));
      this.pending.delete(id);
    }
  }
}

export class RemoteDoorPanel implements DoorPanel {
  constructor(
    readonly id: string,
    private readonly link: DoorProcessLink,
  ) {}

  snapshot(): DoorSnapshot {
    const snapshot = this.link.doorsState.find((d) => d.id === this.id);
    if (!snapshot) throw new Error(`door ${this.id} is not in the door process's state`);
    return snapshot;
  }

  async manualUnlock(minutes: number): Promise<void> {
    await this.link.call('door', 'manualUnlock', [minutes], this.id);
  }

  async manualLock(): Promise<void> {
    await this.link.call('door', 'manualLock', [], this.id);
  }
}

/** "Inside now" for the Now page, mirrored from the door process's occupancy part. */
export class RemoteOccupancy implements OccupancySource {
  constructor(private readonly link: DoorProcessLink) {}

  insideNow(): number | null {
    return this.link.insideNow;
  }
}

export class RemoteAlarms implements AlarmsAccess {
  constructor(private readonly link: DoorProcessLink) {}

  unresolved(): ActiveAlarm[] {
    return this.link.alarmsState;
  }

  onChange(listener: () => void): () => void {
    return this.link.onState(listener);
  }

  async acknowledge(id: number, user: string): Promise<boolean> {
    return (await this.link.call('alarms', 'acknowledge', [id, user])) === true;
  }
}

/** Every NvrAdmin call, answered by the controller in the door process. */
export function remoteNvrAdmin(link: DoorProcessLink): NvrAdminAccess {
  const call =
    <K extends keyof NvrAdmin>(method: K) =>
    (...args: Parameters<NvrAdmin[K]>) =>
      link.call('nvr', method, args) as Promise<ReturnType<NvrAdmin[K]>>;
  return {
    openExport: call('openExport'),
    closeExport: call('closeExport'),
    renewHold: call('renewHold'),
    listExports: call('listExports'),
    health: call('health'),
  };
}

/** Tells the door process that the dashboard changed the emergency mode, so it publishes the change now. */
export function remoteEmergencyRefresh(link: DoorProcessLink): () => Promise<void> {
  return async () => {
    await link.call('emergency', 'refresh', []);
  };
}

/** The desk's card check, answered by the door process (which owns the library-system client). */
export function remoteCardCheck(link: DoorProcessLink): CardCheckAccess {
  return {
    explain: (card, pin, door) =>
      link.call('access', 'explain', [card, pin, door]) as Promise<CardCheckResult>,
  };
}
