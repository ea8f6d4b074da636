/**
 * SIP2 lookups against the simulator on loopback: throughput, latency, the overhead over a bare
 * socket round trip, cache hits, and how long a swipe waits once the breaker is open.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { encodeFrame } from '../src/ils/codec.ts';
import { ilsConfigWithDefaults, type IlsConfig } from '../src/ils/config.ts';
import { patronInformationRequest } from '../src/ils/messages.ts';
import { createIlsPatronSource } from '../src/ils/source.ts';
import { createLogger } from '../src/log/logger.ts';

type Figures = Record<string, string | number>;

const log = createLogger('silent');
const ms = (ns: bigint) => Number(ns) / 1e6;
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const round = (n: number, digits = 3) => Number(n.toFixed(digits));

function summary(name: string, samples: number[], wallMs: number): Figures {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    name,
    lookups: samples.length,
    'lookups/s': Math.round(samples.length / (wallMs / 1000)),
    'p50 ms': round(pct(sorted, 50)),
    'p99 ms': round(pct(sorted, 99)),
    'max ms': round(sorted.at(-1) ?? 0),
  };
}

/** A bare socket: send a prebuilt 63, wait for the terminator. The floor any client stands on. */
async function bareRoundTrips(port: number, count: number): Promise<number[]> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  await new Promise((resolve) => socket.once('connect', resolve));
  const frame = encodeFrame(patronInformationRequest('DEMO', '10000001', '', '1234'), {
    encoding: 'cp850',
    errorDetection: true,
    seq: 0,
  });
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = process.hrtime.bigint();
    await new Promise<void>((resolve) => {
      const onData = (chunk: Buffer) => {
        if (chunk.includes(0x0d)) {
          socket.off('data', onData);
          resolve();
        }
      };
      socket.on('data', onData);
      socket.write(frame);
    });
    samples.push(ms(process.hrtime.bigint() - start));
  }
  socket.destroy();
  return samples;
}

/** The simulator in its own process, like a real library system: its work does not land in our figures. */
async function startSimulatorProcess(): Promise<{
  port: number;
  setFault(mode: string): void;
  stop(): void;
}> {
  const main = fileURLToPath(new URL('../src/ils/simulator-main.ts', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', main, '--port', '0'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`simulator exited (${code})`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening [^:]+:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
  });
  return {
    port,
    setFault: (mode) => child.stdin!.write(`fault ${mode}\n`),
    stop: () => child.kill('SIGTERM'),
  };
}

export async function benchSip2(lookups = Number(process.env.SIP2_LOOKUPS ?? 2000)): Promise<Figures[]> {
  const sim = await startSimulatorProcess();
  const host = '127.0.0.1';
  const base = (overrides: Partial<IlsConfig>) =>
    ilsConfigWithDefaults({
      host,
      port: sim.port,
      institution: 'DEMO',
      heartbeat_seconds: 0,
      cache_seconds: 0,
      ...overrides,
    });
  const figures: Figures[] = [];
  try {
    const bare = await bareRoundTrips(sim.port, lookups);
    figures.push(
      summary(
        'bare socket round trip (63→64)',
        bare,
        bare.reduce((a, b) => a + b, 0),
      ),
    );

    // Sequential swipes through the whole source (codec, checksum, standing), one connection.
    const source = createIlsPatronSource(base({}), { log, readSecret: () => '', warmUp: false });
    for (let i = 0; i < 100; i++) await source.lookup('10000001', '1234');
    const samples: number[] = [];
    const wall = process.hrtime.bigint();
    for (let i = 0; i < lookups; i++) {
      const start = process.hrtime.bigint();
      const result = await source.lookup(i % 2 ? '10000001' : '10000007', i % 2 ? '1234' : '7890');
      if (result.status !== 'ok') throw new Error(`lookup failed: ${result.error}`);
      samples.push(ms(process.hrtime.bigint() - start));
    }
    const sequential = summary(
      'live lookup, sequential, pool 1',
      samples,
      ms(process.hrtime.bigint() - wall),
    );
    sequential['overhead p99 ms'] = round(
      (sequential['p99 ms'] as number) -
        pct(
          [...bare].sort((a, b) => a - b),
          99,
        ),
    );
    figures.push(sequential);
    await source.close();

    // Parallel swipes, pool of 4.
    const pooled = createIlsPatronSource(base({ pool_size: 4 }), {
      log,
      readSecret: () => '',
      warmUp: false,
    });
    const parallel: number[] = [];
    const wallParallel = process.hrtime.bigint();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < lookups) {
          next++;
          const start = process.hrtime.bigint();
          await pooled.lookup('10000001', '1234');
          parallel.push(ms(process.hrtime.bigint() - start));
        }
      }),
    );
    figures.push(
      summary('live lookup, 16 at once, pool 4', parallel, ms(process.hrtime.bigint() - wallParallel)),
    );
    await pooled.close();

    // Cache hits.
    const cached = createIlsPatronSource(base({ cache_seconds: 60 }), {
      log,
      readSecret: () => '',
      warmUp: false,
    });
    await cached.lookup('10000001', '1234');
    const hits: number[] = [];
    const wallHits = process.hrtime.bigint();
    for (let i = 0; i < lookups; i++) {
      const start = process.hrtime.bigint();
      await cached.lookup('10000001', '1234');
      hits.push(ms(process.hrtime.bigint() - start));
    }
    figures.push(summary('cache hit', hits, ms(process.hrtime.bigint() - wallHits)));
    await cached.close();

    // Library system down: the first swipe finds out, then the open breaker answers at once.
    const offline = createIlsPatronSource(
      base({
        request_timeout_ms: 1000,
        circuit: { failure_threshold: 1, backoff_min_ms: 60000, backoff_max_ms: 60000 },
      }),
      { log, readSecret: () => '', warmUp: false },
    );
    await offline.lookup('10000001', '1234');
    sim.setFault('silent');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const firstStart = process.hrtime.bigint();
    await offline.lookup('10000001', '1234');
    const first = ms(process.hrtime.bigint() - firstStart);
    const down: number[] = [];
    const wallDown = process.hrtime.bigint();
    for (let i = 0; i < lookups; i++) {
      const start = process.hrtime.bigint();
      const result = await offline.lookup('10000001', '1234');
      if (result.status !== 'unavailable') throw new Error('expected unavailable while down');
      down.push(ms(process.hrtime.bigint() - start));
    }
    const open = summary('system down, breaker open', down, ms(process.hrtime.bigint() - wallDown));
    open['first swipe (timeout) ms'] = round(first, 1);
    figures.push(open);
    await offline.close();
  } finally {
    sim.stop();
  }
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const f of await benchSip2()) console.log(f);
}
