/**
 * The beam input's maximum passage rate: how fast people may walk through a beam pair and each still be
 * counted once, in the right direction. Measured end to end through the GPIO line layer on a sysfs tree in a
 * temp dir (polled files, as on a box without onoff's edge interrupts; the default 20 ms poll and 30 ms
 * debounce), plus the door process's own cost per passage (direction, count, event) and per batched write.
 */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Alarms } from '../src/alarms/alarms.ts';
import { fileLineOpener } from '../src/door/gpio-line.ts';
import { EventBus } from '../src/events/bus.ts';
import { createLogger } from '../src/log/logger.ts';
import { BeamInput } from '../src/occupancy/beam-input.ts';
import { BeamPair } from '../src/occupancy/beam-pair.ts';
import { Occupancy } from '../src/occupancy/occupancy.ts';
import { openDb } from '../src/store/db.ts';
import { tempDir } from '../test/helpers/tmp.ts';

type Figures = Record<string, string | number>;

const A = 5;
const B = 6;

function line(root: string, gpio: number): void {
  mkdirSync(join(root, `gpio${gpio}`), { recursive: true });
  for (const [file, content] of Object.entries({ value: '0', direction: 'in', active_low: '0' }))
    writeFileSync(join(root, `gpio${gpio}`, file), `${content}\n`);
}

/** Walks `passages` people in at one beam change every `stepMs` (A↓ B↓ A↑ B↑), and counts what the input saw. */
async function walk(
  root: string,
  stepMs: number,
  passages: number,
): Promise<{ counted: number; wrong: number; lateMs: number }> {
  let lateMs = 0;
  let counted = 0;
  let wrong = 0;
  const input = await BeamInput.open({
    config: {
      outside: { pin: A, active_low: false },
      inside: { pin: B, active_low: false },
      debounce_ms: 30,
      timeout_ms: 3000,
    },
    sysfsRoot: root,
    opener: fileLineOpener(root),
    now: () => performance.now(),
    onOutcome: (o) => {
      if (o.kind !== 'passage') return;
      if (o.direction === 'in') counted++;
      else wrong++;
    },
  });
  // Written in place like the kernel's value file (a truncating write would be read as 0 for a moment).
  const fds = new Map([A, B].map((g) => [g, openSync(join(root, `gpio${g}`, 'value'), 'r+')]));
  const set = (gpio: number, level: 0 | 1) => writeSync(fds.get(gpio)!, String(level), 0);
  const t0 = performance.now();
  let step = 0;
  const at = async () => {
    step++;
    const due = t0 + step * stepMs - performance.now();
    if (due > 0) await sleep(due);
    // How late this process woke: a busy machine merges beam changes the same way a slow poll would.
    lateMs = Math.max(lateMs, performance.now() - (t0 + step * stepMs));
  };
  for (let i = 0; i < passages; i++) {
    await at();
    set(A, 1);
    await at();
    set(B, 1);
    await at();
    set(A, 0);
    await at();
    set(B, 0);
  }
  await sleep(200);
  input.settle();
  input.close();
  for (const fd of fds.values()) closeSync(fd);
  return { counted, wrong, lateMs };
}

export async function benchBeamRate(): Promise<Figures[]> {
  const dir = tempDir('bench-beams-');
  try {
    line(dir.path, A);
    line(dir.path, B);
    writeFileSync(join(dir.path, 'unexport'), '');
    const passages = Number(process.env.PASSAGES ?? 40);
    const rates: Figures[] = [];
    for (const stepMs of [60, 40, 30, 25, 20, 15, 10]) {
      const { counted, wrong, lateMs } = await walk(dir.path, stepMs, passages);
      rates.push({
        'ms between beam changes': stepMs,
        'passages/s walked': Number((1000 / (4 * stepMs)).toFixed(1)),
        walked: passages,
        'counted in': counted,
        'counted out (wrong)': wrong,
        exact: counted === passages && wrong === 0 ? 'yes' : 'no',
        'worst wake-up lateness, ms': Math.round(lateMs),
      });
    }

    // The door process's cost: direction (four beam changes) and the count with its event, per passage.
    const pair = new BeamPair(30, 3000);
    const n = 200_000;
    let t = performance.now();
    let ms = 0;
    for (let i = 0; i < n; i++) {
      ms += 1000;
      pair.edge('outside', true, ms);
      pair.edge('inside', true, ms + 100);
      pair.edge('outside', false, ms + 200);
      pair.edge('inside', false, ms + 300);
    }
    const pairNs = ((performance.now() - t) * 1e6) / n;
    const db = openDb(join(dir.path, 'store.sqlite'));
    const bus = new EventBus();
    let events = 0;
    bus.subscribe(() => events++);
    const log = createLogger('silent');
    const occupancy = new Occupancy({
      db,
      bus,
      alarms: new Alarms(null, bus, log),
      log,
      timezone: 'Europe/Oslo',
      doors: ['main'],
      modeOf: () => 'staffless',
      resetAt: '03:00',
      tailgating: true,
      flushMs: 3_600_000,
    });
    const m = 50_000;
    const start = Date.parse('2026-11-25T07:00:00Z');
    t = performance.now();
    for (let i = 0; i < m; i++)
      occupancy.passages('main', i % 2 ? 'out' : 'in', 1, new Date(start + i * 500));
    const passageUs = ((performance.now() - t) * 1000) / m;
    t = performance.now();
    occupancy.flush();
    const flushMs = performance.now() - t;
    db.close();
    return [
      // One row per pace (console.table prints an array of rows as one table).
      rates as unknown as Figures,
      {
        'direction per passage (4 beam changes), ns': Math.round(pairNs),
        'count + event per passage, µs': Number(passageUs.toFixed(2)),
        [`one batched write of ${m} passages (${Math.ceil(m / 7200)} hours), ms`]: Number(flushMs.toFixed(1)),
        events,
      },
    ];
  } finally {
    dir.cleanup();
  }
}
