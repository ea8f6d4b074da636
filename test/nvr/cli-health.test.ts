import { describe, expect, it } from 'vitest';
import type { NvrAdmin, RetentionHealth } from '../../src/contract/nvr-admin.ts';
import { runExportCommand } from '../../src/nvr/cli.ts';

const health: RetentionHealth = {
  retentionDays: 7,
  lastPurgeRequestAt: '2026-11-30T00:00:00.000Z',
  lastPurgeAnsweredAt: '2026-11-30T00:00:01.000Z',
  lastPurgeDeleted: 3,
  oldest: '2026-11-24T00:00:00.000Z',
  cameras: [],
  statusAt: '2026-11-30T00:00:02.000Z',
  breach: true,
  unreachable: false,
  forgery: true,
  pendingRequests: 0,
  findings: [
    { kind: 'config_alerts', detail: 'record.alerts.retain.days = 30 days', camera: '_hall' },
    {
      kind: 'stale_snapshots',
      detail: '4 snapshots older than 7 days',
      count: 4,
      oldest: '2026-11-01T00:00:00.000Z',
    },
  ],
  skipped: [{ path: 'clips/previews', why: 'symlink' }],
  recorder: { kind: 'frigate', version: '0.16.2', purges: false, note: 'Frigate 0.16: Frigate deletes' },
};

describe('dorvakt export health', () => {
  it('lists each finding with its kind, and what the agent could not check', async () => {
    const out: string[] = [];
    const io = { out: (l: string) => void out.push(l), err: () => undefined };
    const admin = { health: () => health } as unknown as NvrAdmin;
    expect(await runExportCommand(['health'], { admin: () => admin, actor: 'cli:test' }, io)).toBe(0);
    expect(out[2]).toBe('pending requests 0; breach YES; unreachable no; forgery YES');
    expect(out.slice(3)).toEqual([
      'recorder Frigate 0.16: Frigate deletes',
      'findings 2:',
      '  config_alerts: record.alerts.retain.days = 30 days (camera _hall)',
      '  stale_snapshots: 4 snapshots older than 7 days (4 files; oldest 2026-11-01T00:00:00.000Z)',
      'not checked 1:',
      '  clips/previews: symlink',
    ]);
    out.length = 0;
    expect(await runExportCommand(['health', '--json'], { admin: () => admin, actor: 'cli:test' }, io)).toBe(
      0,
    );
    expect(JSON.parse(out.join('\n'))).toMatchObject({ findings: health.findings, skipped: health.skipped });
  });
});
