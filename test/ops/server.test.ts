import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/ops/metrics.ts';
import { type OpsServer, startOpsServer } from '../../src/ops/server.ts';

let server: OpsServer;
let healthy = true;

beforeAll(async () => {
  server = await startOpsServer(
    {
      doors: () => [],
      alarms: () => [],
      health: () => ({ ok: healthy, checks: { store: healthy } }),
      metrics: new Metrics(),
      startedAt: Date.now(),
    },
    '127.0.0.1',
    0,
  );
});
afterAll(() => server.close());

/** Sends raw bytes and returns the whole answer, as a scraper or an attacker on the box would. */
function raw(request: string): Promise<string> {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk.toString();
    });
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
    socket.end(request);
  });
}

describe('ops server (node:http on loopback)', () => {
  it('answers /healthz with 200, and 503 once the door loop is unhealthy', async () => {
    const ok = await fetch(`${server.url}/healthz?probe=1`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('cache-control')).toBe('no-store');
    expect(await ok.json()).toMatchObject({ status: 'ok', checks: { store: true } });
    healthy = false;
    const bad = await fetch(`${server.url}/healthz`);
    healthy = true;
    expect(bad.status).toBe(503);
    expect(await bad.json()).toMatchObject({ status: 'degraded' });
  });

  it('serves Prometheus text on /metrics', async () => {
    const response = await fetch(`${server.url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await response.text()).toContain('dorvakt_');
  });

  it('refuses unknown paths, other methods and prototype keys', async () => {
    expect((await fetch(`${server.url}/admin`)).status).toBe(404);
    expect((await fetch(`${server.url}/constructor`)).status).toBe(404);
    expect((await fetch(`${server.url}/__proto__`)).status).toBe(404);
    expect((await fetch(`${server.url}/healthz`, { method: 'POST', body: 'x'.repeat(10_000) })).status).toBe(
      405,
    );
    const head = await fetch(`${server.url}/api/state`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('answers garbage and oversized headers with 4xx and stays up', async () => {
    expect(await raw('\x00\xff garbage\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    expect(await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)).toMatch(
      /^HTTP\/1\.1 431/,
    );
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});
