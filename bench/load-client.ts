/**
 * Load for bench/door-under-load.ts, in its own process so that parsing answers never runs on the door's
 * event loop: `stats` keeps six requests in flight, `sse` holds 20 live-event streams. On SIGTERM it prints
 * what it did as one JSON line and exits.
 * Usage: node bin/run-ts.mjs bench/load-client.ts stats|sse BASE COOKIE [PATH…]
 */
const [mode, base, cookie, ...paths] = process.argv.slice(2);
if (!mode || !base || !cookie) {
  console.error('usage: load-client.ts stats|sse BASE COOKIE [PATH…]');
  process.exit(2);
}
let running = true;
const counts = { requests: 0, failures: 0, events: 0 };

async function statsClient(k: number): Promise<void> {
  for (let i = k; running; i++) {
    const res = await fetch(`${base}${paths[i % paths.length]}`, { headers: { cookie: cookie! } }).catch(
      () => null,
    );
    await res?.arrayBuffer().catch(() => undefined);
    if (res?.status === 200) counts.requests++;
    else if (running) counts.failures++;
  }
}

async function sseClient(): Promise<void> {
  const res = await fetch(`${base}/api/events`, { headers: { cookie: cookie! } });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  while (running) {
    const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
    if (done) return;
    counts.events += (decoder.decode(value).match(/^data: /gm) ?? []).length;
  }
}

process.once('SIGTERM', () => {
  running = false;
  process.stdout.write(`${JSON.stringify(counts)}\n`, () => process.exit(0));
});
if (mode === 'stats') for (let k = 0; k < 6; k++) void statsClient(k);
else for (let k = 0; k < 20; k++) void sseClient();
process.stdout.write('started\n');
