import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { unitNodeFlags } from '../test/helpers/unit-flags.ts';
import { benchStartAndIdle, benchSwipeToRelay, type Figures } from './door-loop.ts';

/** Every figure the issues ask for, printed (never asserted). Each area adds its own module. */
const sections: [string, () => Promise<Figures | Figures[]>][] = [
  ['door loop: swipe → relay', () => benchSwipeToRelay(Number(process.env.SWIPES ?? 1000))],
  [
    'door loop: swipe → relay with a live SIP2 check',
    () => benchSwipeToRelay(Number(process.env.SWIPES ?? 1000), true),
  ],
  [
    'door loop: start and idle (as shipped; without the flags; with the dashboard)',
    async () => [
      await benchStartAndIdle(),
      await benchStartAndIdle({ nodeFlags: [] }),
      await benchStartAndIdle({ web: true }),
    ],
  ],
];

const optional: [string, string, string][] = [
  ['schedule', './schedule.ts', 'benchSchedule'],
  ['state engine: cost per minute tick', './states.ts', 'benchStates'],
  ['start → door ready after a power cut, cold and with saved plans', './start.ts', 'benchStart'],
  ['SIP2 lookups', './sip2.ts', 'benchSip2'],
  ['camera retention', './nvr.ts', 'benchNvr'],
  ['compliance: scan of 200,000 media files', './compliance.ts', 'benchComplianceScan'],
  ['frigate: purge of 7 days × 4 cameras through the API', './frigate.ts', 'benchFrigate'],
  ['anonymisation of 1,000,000 entries', './retention.ts', 'benchAnonymise'],
  ['door under load: swipe → relay while the worker is busy', './door-under-load.ts', 'benchDoorUnderLoad'],
  [
    'door seen from outside: swipe → relay of the shipped process while the worker is busy',
    './door-outside.ts',
    'benchDoorOutside',
  ],
  ['statistics with 2,000,000 entries', './retention.ts', 'benchStats'],
  ['dashboard', './web.ts', 'benchWeb'],
  ['soak: idle and a compressed hour of traffic', './soak.ts', 'benchSoak'],
  [
    'OSDP: poll exchange, card → swipe, idle CPU (9600/115200 baud, plaintext/secure)',
    './osdp.ts',
    'benchOsdp',
  ],
  ['block list, passes and emergency mode: reads per swipe', './local-access.ts', 'benchLocalAccess'],
  ['Wiegand: gpiomon lines → frames (split, parse, decode)', './wiegand.ts', 'benchWiegand'],
  ['occupancy: beam input maximum passage rate', './occupancy.ts', 'benchBeamRate'],
  ['fleet: FLEET_SITES (200) branches × 2 doors into one centre', './fleet.ts', 'benchFleet'],
  [
    'fleet rules: swipe → decision while the worker applies 10,000 blocks',
    './fleet-rules.ts',
    'benchFleetRules',
  ],
];
for (const [title, file, fn] of optional) {
  if (!existsSync(new URL(file, import.meta.url))) continue;
  sections.push([
    title,
    async () => {
      const mod = (await import(file)) as Record<string, () => Promise<Figures | Figures[]> | Figures>;
      const run = mod[fn];
      if (!run) throw new Error(`${file} does not export ${fn}`);
      return (await run()) as Figures | Figures[];
    },
  ]);
}

// Each section runs in its own process, so one section's memory never shows in another's figures.
const section = process.env.BENCH_SECTION;
const only = process.argv[2];
if (!section) {
  console.log(
    `Node ${process.version}; every section runs with the unit's flags: ${unitNodeFlags().join(' ')}`,
  );
  for (const [title] of sections) {
    if (only && !title.includes(only)) continue;
    console.log(`\n== ${title}`);
    // With the systemd unit's Node flags: the jobs measured here run inside the controller.
    const child = spawnSync(process.execPath, [...unitNodeFlags(), 'bin/run-ts.mjs', 'bench/index.ts'], {
      stdio: 'inherit',
      env: { ...process.env, BENCH_SECTION: title },
    });
    if (child.status !== 0) process.exitCode = 1;
  }
} else {
  const run = sections.find(([title]) => title === section)?.[1];
  if (!run) throw new Error(`no bench section "${section}"`);
  try {
    const figures = await run();
    for (const table of Array.isArray(figures) ? figures : [figures]) console.table(table);
  } catch (error) {
    console.log(`  failed: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
