// A stand-in for libgpiod v2 `gpiomon` (tools/gpiomon.c): same options and the same output lines, with
// edges replayed from a control directory instead of read from a GPIO chip. Each start takes the next
// script `run.<n>` (n counts earlier starts): lines `edge <offset> <ns>`, `split` (the next edge line is
// written in two reads), `flush` (end of one read), `exit <code>` (after the edges), or `die <message>`
// alone (fails before the banner, as when the lines are busy). Without a script it holds the lines
// until killed, as gpiomon does.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.DORVAKT_FAKE_GPIOMON_DIR;
const prog = 'gpiomon';
const die = (message) => {
  process.stderr.write(`${prog}: ${message}\n`);
  process.exit(1);
};

const withValue = new Set([
  '--chip',
  '-c',
  '--edges',
  '-e',
  '--event-clock',
  '-E',
  '--bias',
  '-b',
  '--consumer',
  '-C',
  '--format',
  '-F',
]);
const flags = new Set(['--banner']);
const opts = {};
const lines = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (withValue.has(a)) {
    if (i + 1 >= argv.length) die(`option '${a}' requires an argument`);
    opts[a.replace(/^-+/, '')] = argv[++i];
  } else if (flags.has(a)) opts[a.slice(2)] = true;
  else if (a.startsWith('-')) die(`unrecognized option '${a}'\n${prog}: try ${prog} --help`);
  else lines.push(a);
}
if (lines.length < 1) die('at least one GPIO line must be specified');
if (opts.edges && !['rising', 'falling', 'both'].includes(opts.edges)) die(`invalid edges: ${opts.edges}`);
if (opts['event-clock'] && !['monotonic', 'realtime', 'hte'].includes(opts['event-clock']))
  die(`invalid event clock: ${opts['event-clock']}`);
if (opts.bias && !['pull-up', 'pull-down', 'disabled', 'as-is'].includes(opts.bias))
  die(`invalid bias: ${opts.bias}`);

const starts = dir ? readdirSync(dir).filter((f) => f.startsWith('started.')).length : 0;
if (dir) writeFileSync(join(dir, `started.${starts}`), `${process.pid}\n`);

const script =
  dir && existsSync(join(dir, `run.${starts}`))
    ? readFileSync(join(dir, `run.${starts}`), 'utf8').split('\n')
    : [];
// `die <message>` first: fails as gpiomon does when it cannot open the chip or request the lines.
const dies = script[0]?.match(/^die (.*)$/);
if (dies) die(dies[1]);

if (opts.banner) {
  const q = lines.map((l) => `'${l}'`);
  process.stdout.write(
    lines.length > 1
      ? `Monitoring lines ${q.slice(0, -1).join(', ')} and ${q.at(-1)}...\n`
      : `Monitoring line ${q[0]}...\n`,
  );
}

// print_event_time(evtime, 0): "%lu.%09lu"
const seconds = (ns) => `${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`;
const chipName = (opts.chip ?? 'gpiochip0').replace(/^\/dev\//, '');
function eventLine(offset, ns, falling) {
  if (!opts.format) return `${seconds(ns)}\t${falling ? 'falling' : 'rising'}\t${chipName} ${offset}\n`;
  const spec = {
    o: String(offset),
    e: falling ? '2' : '1',
    E: falling ? 'falling' : 'rising',
    S: seconds(ns),
    c: chipName,
    l: 'unnamed',
    '%': '%',
  };
  return `${opts.format.replace(/%(.)/g, (m, c) => spec[c] ?? m)}\n`;
}

const reads = [];
let current = '';
let split = false;
let exitCode;
for (const raw of script) {
  const [cmd, a, b] = raw.trim().split(/\s+/);
  if (cmd === 'edge' || cmd === 'rise') {
    const text = eventLine(Number(a), BigInt(b), cmd === 'edge');
    if (split) {
      const cut = Math.floor(text.length / 2);
      reads.push(current + text.slice(0, cut));
      current = text.slice(cut);
      split = false;
    } else current += text;
  } else if (cmd === 'split') split = true;
  else if (cmd === 'flush') {
    reads.push(current);
    current = '';
  } else if (cmd === 'exit') exitCode = Number(a);
}
reads.push(current);

// One write per read of the event buffer, a moment apart, as the kernel hands them over.
let i = 0;
const next = () => {
  if (i < reads.length) {
    if (reads[i]) process.stdout.write(reads[i]);
    i++;
    setTimeout(next, 5);
    return;
  }
  if (exitCode !== undefined) process.exit(exitCode);
  setInterval(() => {}, 1 << 30);
};
next();
process.on('SIGTERM', () => process.exit(0));
