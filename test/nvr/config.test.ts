import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.ts';
import { checkNvrConfig, type NvrConfig, nvrSchema } from '../../src/nvr/config.ts';
import { readNvrKeys } from '../../src/nvr/keys.ts';
import { checkAgentConfig } from '../../src/nvr-agent/config.ts';
import { tempDir } from '../helpers/tmp.ts';

const validate = new Ajv({ allErrors: true, useDefaults: true, strict: false }).compile(nvrSchema);

function load(data: Record<string, unknown>): { ok: boolean; config: NvrConfig; errors: string[] } {
  const ok = validate(data);
  return {
    ok,
    config: data as unknown as NvrConfig,
    errors: (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`),
  };
}

const AUTH = { keys: [{ id: 'k1', secret_file: 'nvr.key' }] };

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

describe('nvr.auth', () => {
  it('is required when nvr is enabled, with key and message', () => {
    const { config } = load({ enabled: true });
    expect(checkNvrConfig(config)).toEqual([
      { key: 'auth', message: expect.stringMatching(/required when nvr.enabled/) },
    ]);
    const withAuth = load({
      enabled: true,
      auth: { keys: [{ id: 'k1', secret: { file: '/etc/dorvakt/nvr.key' } }] },
    });
    expect(withAuth.ok).toBe(true);
    expect(withAuth.config.auth).toMatchObject({ max_skew_seconds: 300, forgery_quiet_hours: 24 });
    expect(checkNvrConfig(withAuth.config)).toEqual([]);
  });

  it('never takes a secret inline; ids are unique; a key is at least 32 characters', () => {
    expect(load({ auth: { keys: [{ id: 'k1', secret: 'inline-secret-inline-secret-inline' }] } }).ok).toBe(
      false,
    );
    const dup = load({
      enabled: true,
      auth: {
        keys: [
          { id: 'k1', secret: { env: 'A' } },
          { id: 'k1', secret: { env: 'B' } },
        ],
      },
    });
    expect(checkNvrConfig(dup.config).map((p) => p.key)).toEqual(['auth.keys']);
    const auth = {
      keys: [{ id: 'k1', secret: { env: 'X' } }],
      max_skew_seconds: 300,
      forgery_quiet_hours: 24,
    };
    expect(() => readNvrKeys(auth, () => 'short')).toThrow(/k1 must be at least 32/);
    expect(readNvrKeys(auth, () => 'x'.repeat(32))).toEqual([{ id: 'k1', secret: 'x'.repeat(32) }]);
    expect(() =>
      readNvrKeys(auth, () => {
        throw new Error('secret: environment variable X is not set');
      }),
    ).toThrow(/nvr.auth key k1: secret: environment variable X/);
  });
});

describe('nvr.auth and mqtt.tls in the whole config file', () => {
  const file = `site: { id: demo }
secrets: { card_hmac_key: { env: KEY } }
doors:
  - id: main
    schedule: { staffless: "Mo-Su 07:00-22:00" }
    reader: { path: /dev/ttyUSB0 }
mqtt: { url: "mqtts://broker:8883", tls: { ca_file: ca.pem, cert_file: c.pem, key_file: c.key } }
nvr:
  enabled: true
`;

  it('the config check names nvr.auth, with its line, when nvr is enabled without keys', () => {
    try {
      parseConfig(file);
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual([
        { key: 'nvr.auth', line: 8, message: expect.stringMatching(/required when nvr.enabled/) },
      ]);
    }
  });

  it('relative key and TLS files are relative to the config file', () => {
    const dir = tempDir('nvr-cfg-');
    try {
      const path = join(dir.path, 'dorvakt.yaml');
      writeFileSync(path, `${file}  auth: { keys: [{ id: k1, secret: { file: nvr.key } }] }\n`);
      const config = loadConfig(path);
      expect(config.nvr.auth?.keys[0]?.secret).toEqual({ file: join(dir.path, 'nvr.key') });
      expect(config.mqtt.tls).toEqual({
        ca_file: join(dir.path, 'ca.pem'),
        cert_file: join(dir.path, 'c.pem'),
        key_file: join(dir.path, 'c.key'),
        reject_unauthorized: true,
      });
    } finally {
      dir.cleanup();
    }
  });
});

describe('agent config', () => {
  const base = () => ({
    recorder: { kind: 'files', root: 'rec' },
    exports_dir: 'exp',
    state_file: 'state/agent.json',
    auth: { keys: [{ id: 'k1', secret_file: 'nvr.key' }] },
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
    expect(cfg.auth).toEqual({
      keys: [{ id: 'k1', secret_file: '/srv/agent/nvr.key' }],
      max_skew_seconds: 300,
    });
  });

  it('still reads the old recordings: section as a files recorder, with a warning (segment_seconds ignored)', () => {
    const old = {
      recordings: { root: 'rec', layout: 'flat', segment_seconds: 10 },
      exports_dir: 'exp',
      state_file: 's.json',
      auth: AUTH,
    };
    const cfg = checkAgentConfig(old, '/srv/agent');
    expect(cfg.recorder).toEqual({ kind: 'files', root: '/srv/agent/rec', layout: 'flat' });
    expect('recordings' in cfg).toBe(false);
    expect(cfg.warnings?.join('\n')).toMatch(/recordings: section is deprecated/);
    expect(cfg.warnings?.join('\n')).toMatch(/segment_seconds is ignored/);
    const minimal = checkAgentConfig(
      { recordings: { root: 'rec' }, exports_dir: 'exp', state_file: 's.json', auth: AUTH },
      '/srv',
    );
    expect(minimal.recorder).toEqual({ kind: 'files', root: '/srv/rec', layout: 'frigate' });
    // The old section is still checked as it was.
    expect(() =>
      checkAgentConfig(
        { recordings: { root: 'rec', surprise: 1 }, exports_dir: 'exp', state_file: 's.json', auth: AUTH },
        '/srv',
      ),
    ).toThrow(/additional/);
  });

  it('refuses both sections, neither, and an unknown recorder kind', () => {
    expect(() => checkAgentConfig({ ...base(), recordings: { root: 'rec' } }, '/srv')).toThrow(/not both/);
    expect(() => checkAgentConfig({ exports_dir: 'exp', state_file: 's.json', auth: AUTH }, '/srv')).toThrow(
      /required/,
    );
    expect(() => checkAgentConfig({ ...base(), recorder: { kind: 'milestone', root: 'x' } }, '/srv')).toThrow(
      /recorder/,
    );
    expect(() => checkAgentConfig({ ...base(), recorder: { kind: 'files' } }, '/srv')).toThrow(/root/);
    expect(() => checkAgentConfig({ ...base(), max_window_hours: 0 }, '/srv')).toThrow(/max_window_hours/);
  });

  it('requires auth keys from a file or the environment, one source each, unique ids', () => {
    const { auth: _, ...noAuth } = base();
    expect(() => checkAgentConfig(noAuth, '/srv')).toThrow(/auth/);
    const key = (k: Record<string, unknown>) => ({ ...base(), auth: { keys: [k] } });
    expect(() => checkAgentConfig(key({ id: 'k1', secret: 'inline-secret' }), '/srv')).toThrow(/additional/);
    expect(() => checkAgentConfig(key({ id: 'k1' }), '/srv')).toThrow(/auth/);
    expect(() => checkAgentConfig(key({ id: 'k1', secret_file: 'a', secret_env: 'B' }), '/srv')).toThrow(
      /auth/,
    );
    expect(checkAgentConfig(key({ id: 'k1', secret_env: 'NVR_KEY' }), '/srv').auth.keys).toEqual([
      { id: 'k1', secret_env: 'NVR_KEY' },
    ]);
    const twice = {
      ...base(),
      auth: {
        keys: [
          { id: 'k1', secret_env: 'A' },
          { id: 'k1', secret_env: 'B' },
        ],
      },
    };
    expect(() => checkAgentConfig(twice, '/srv')).toThrow(/unique/);
    const tls = checkAgentConfig(
      { ...base(), mqtt: { url: 'mqtts://nvr:8883', tls: { ca_file: 'ca.pem' } } },
      '/srv',
    );
    expect(tls.mqtt.tls).toEqual({ ca_file: '/srv/ca.pem', reject_unauthorized: true });
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
