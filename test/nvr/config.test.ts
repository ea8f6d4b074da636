import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { checkNvrConfig, type NvrConfig, nvrSchema } from '../../src/nvr/config.ts';
import { checkAgentConfig } from '../../src/nvr-agent/config.ts';

const validate = new Ajv({ allErrors: true, useDefaults: true, strict: false }).compile(nvrSchema);

function load(data: Record<string, unknown>): { ok: boolean; config: NvrConfig; errors: string[] } {
  const ok = validate(data);
  return {
    ok,
    config: data as unknown as NvrConfig,
    errors: (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`),
  };
}

describe('nvr config section', () => {
  it('fills the defaults: 7 days, hourly purge, 30-day holds', () => {
    const { ok, config } = load({});
    expect(ok).toBe(true);
    expect(config).toMatchObject({
      retention_days: 7,
      purge_cron: '0 * * * *',
      hold_max_days: 30,
      cameras: [],
      backoff: { factor: 2, max_ms: 600_000 },
    });
    expect(checkNvrConfig(config)).toEqual([]);
  });

  it('refuses more than 7 days unless a legal override is set', () => {
    const refused = load({ retention_days: 8 });
    expect(refused.ok).toBe(false);
    expect(refused.errors.join()).toMatch(/retention_days must be <= 7/);
    expect(
      checkNvrConfig(refused.config)
        .map((p) => p.message)
        .join(),
    ).toMatch(/legal_override/);

    const allowed = load({
      retention_days: 14,
      legal_override: { reason: 'court order 2026-123', max_days: 14 },
    });
    expect(allowed.ok).toBe(true);
    expect(checkNvrConfig(allowed.config)).toEqual([]);

    const above = load({
      retention_days: 20,
      legal_override: { reason: 'court order 2026-123', max_days: 14 },
    });
    expect(above.ok).toBe(true);
    expect(checkNvrConfig(above.config)).toEqual([
      { key: 'retention_days', message: 'retention_days 20 is above legal_override.max_days 14' },
    ]);
  });

  it('refuses bad camera names and a bad cron expression', () => {
    expect(load({ cameras: ['../etc'] }).ok).toBe(false);
    expect(load({ cameras: ['a b'] }).ok).toBe(false);
    const { config } = load({ purge_cron: 'every hour please' });
    expect(checkNvrConfig(config).map((p) => p.key)).toContain('purge_cron');
  });

  it("refuses an nvr base topic equal to the controller's own", () => {
    const { config } = load({ base_topic: 'dorvakt/site1' });
    expect(checkNvrConfig(config, 'dorvakt/site1').map((p) => p.key)).toEqual(['base_topic']);
    expect(checkNvrConfig(config, 'dorvakt/site2')).toEqual([]);
  });
});

describe('agent config', () => {
  const base = () => ({
    recorder: { kind: 'files', root: 'rec' },
    exports_dir: 'exp',
    state_file: 'state/agent.json',
  });

  it('fills defaults and resolves paths against the config file directory', () => {
    const cfg = checkAgentConfig({ ...base(), media_root: 'media' }, '/srv/agent');
    expect(cfg.recorder).toEqual({ kind: 'files', root: '/srv/agent/rec', layout: 'frigate' });
    expect(cfg.media_root).toBe('/srv/agent/media');
    expect(cfg.exports_dir).toBe('/srv/agent/exp');
    expect(cfg.retention_days).toBe(7);
    expect(cfg.mqtt.protocol_version).toBe(5);
    expect(cfg).toMatchObject({ exports_budget_mb: 20_480, max_window_hours: 24, hold_max_days: 30 });
    expect(cfg.warnings).toBeUndefined();
  });

  it('still reads the old recordings: section as a files recorder, with a warning (segment_seconds ignored)', () => {
    const old = {
      recordings: { root: 'rec', layout: 'flat', segment_seconds: 10 },
      exports_dir: 'exp',
      state_file: 's.json',
    };
    const cfg = checkAgentConfig(old, '/srv/agent');
    expect(cfg.recorder).toEqual({ kind: 'files', root: '/srv/agent/rec', layout: 'flat' });
    expect('recordings' in cfg).toBe(false);
    expect(cfg.warnings?.join('\n')).toMatch(/recordings: section is deprecated/);
    expect(cfg.warnings?.join('\n')).toMatch(/segment_seconds is ignored/);
    const minimal = checkAgentConfig(
      { recordings: { root: 'rec' }, exports_dir: 'exp', state_file: 's.json' },
      '/srv',
    );
    expect(minimal.recorder).toEqual({ kind: 'files', root: '/srv/rec', layout: 'frigate' });
    // The old section is still checked as it was.
    expect(() =>
      checkAgentConfig(
        { recordings: { root: 'rec', surprise: 1 }, exports_dir: 'exp', state_file: 's.json' },
        '/srv',
      ),
    ).toThrow(/additional/);
  });

  it('refuses both sections, neither, and an unknown recorder kind', () => {
    expect(() => checkAgentConfig({ ...base(), recordings: { root: 'rec' } }, '/srv')).toThrow(/not both/);
    expect(() => checkAgentConfig({ exports_dir: 'exp', state_file: 's.json' }, '/srv')).toThrow(/required/);
    expect(() => checkAgentConfig({ ...base(), recorder: { kind: 'milestone', root: 'x' } }, '/srv')).toThrow(
      /recorder/,
    );
    expect(() => checkAgentConfig({ ...base(), recorder: { kind: 'files' } }, '/srv')).toThrow(/root/);
    expect(() => checkAgentConfig({ ...base(), max_window_hours: 0 }, '/srv')).toThrow(/max_window_hours/);
  });

  it('refuses exports inside the recordings, more than 7 days without override, and unknown keys', () => {
    expect(() => checkAgentConfig({ ...base(), exports_dir: join('rec', 'exports') }, '/srv')).toThrow(
      /contain each other/,
    );
    expect(() => checkAgentConfig({ ...base(), retention_days: 10 }, '/srv')).toThrow(/retention_days/);
    expect(() => checkAgentConfig({ ...base(), surprise: 1 }, '/srv')).toThrow(/additional/);
    expect(() => checkAgentConfig({ ...base(), purge_cron: 'nope' }, '/srv')).toThrow(/purge_cron/);
  });
});
