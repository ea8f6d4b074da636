import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/ops/metrics.ts';

describe('metrics counted before prom-client is loaded (it loads once the doors are quiet)', () => {
  it('are replayed on it: counters, gauges, histograms and timers', async () => {
    const metrics = new Metrics();
    metrics.swipes.inc({ door: 'main', outcome: 'granted', reason: 'allow' });
    metrics.swipes.inc({ door: 'main', outcome: 'granted', reason: 'allow' });
    metrics.doorLocked.set({ door: 'main' }, 1);
    metrics.decisionSeconds.observe({ door: 'main' }, 0.002);
    const end = metrics.entrySyncSeconds.startTimer();
    end();
    await metrics.load();
    // And after it, straight on.
    metrics.swipes.inc({ door: 'main', outcome: 'denied', reason: 'closed' });
    const text = (await metrics.scrape()).body;
    expect(text).toContain('dorvakt_swipes_total{door="main",outcome="granted",reason="allow"} 2');
    expect(text).toContain('dorvakt_swipes_total{door="main",outcome="denied",reason="closed"} 1');
    expect(text).toContain('dorvakt_door_locked{door="main"} 1');
    expect(text).toContain('dorvakt_decision_seconds_count{door="main"} 1');
    expect(text).toContain('dorvakt_entry_sync_seconds_count 1');
    // The process's own figures come with them.
    expect(text).toContain('dorvakt_process_resident_memory_bytes');
  });

  it('a timer started before and ended after the load is observed once', async () => {
    const metrics = new Metrics();
    const end = metrics.entrySyncSeconds.startTimer();
    await metrics.load();
    end();
    expect(await metrics.text('dorvakt_entry_sync_seconds')).toContain('dorvakt_entry_sync_seconds_count 1');
  });

  it("reading a metric's value before the load loads it, and answers with what was counted", async () => {
    const metrics = new Metrics();
    metrics.ilsUp.set(1);
    metrics.swipes.inc({ door: 'main', outcome: 'granted', reason: 'allow' });
    expect(metrics.loadStarted).toBe(false);
    expect((await metrics.ilsUp.get()).values[0]?.value).toBe(1);
    expect((await metrics.swipes.get()).values).toEqual([
      expect.objectContaining({ value: 1, labels: { door: 'main', outcome: 'granted', reason: 'allow' } }),
    ]);
  });

  it('a stand-in metric is not taken for a promise', async () => {
    const metrics = new Metrics();
    // Awaiting it must give it back, not hang on a `then` the stand-in would otherwise offer.
    expect(await Promise.resolve(metrics.swipes)).toBe(metrics.swipes);
  });
});
