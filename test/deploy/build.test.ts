import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, waitFor } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';
import { unitNodeFlags } from '../helpers/unit-flags.ts';

/** systemd runs the compiled build (dist/), not the source: build it and run it as the unit does. */
describe('npm run build → node dist/cli/dorvakt.js', () => {
  const dir = tempDir('build-');
  let child: ChildProcess | undefined;
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    dir.cleanup();
  });

  it('builds, with the migrations and the dashboard assets beside the code', () => {
    execFileSync('npm', ['run', 'build'], { stdio: 'pipe' });
    for (const file of [
      'dist/cli/dorvakt.js',
      'dist/nvr-agent/main.js',
      'dist/store/migrations/001_core.sql',
      'dist/config/config-validator.cjs',
      'dist/web/static/app.css',
      'dist/web/static/now.js',
      'dist/web/static/menu.js',
      'dist/web/static/alarms.js',
    ]) {
      expect(existsSync(file), file).toBe(true);
    }
  }, 120_000);

  it('the built service starts with the dashboard and answers /healthz and the login page', async () => {
    const [opsPort, webPort] = [await freePort(), await freePort()];
    writeFileSync(join(dir.path, 'key'), 'build-site-key-0123456789abcdef', { mode: 0o600 });
    const config = join(dir.path, 'dorvakt.yaml');
    writeFileSync(
      config,
      `site: { id: build }
secrets: { card_hmac_key: { file: key } }
doors:
  - id: main
    schedule: { staffless: "Mo-Su 00:00-24:00" }
    reader: { path: ${join(dir.path, 'no-reader-yet')} }
store: { path: store.sqlite }
mqtt: { url: "mqtt://127.0.0.1:${await freePort()}" }
ops: { port: ${opsPort} }
web: { port: ${webPort} }
`,
    );
    expect(
      execFileSync(process.execPath, ['dist/cli/dorvakt.js', 'check-config', config], { encoding: 'utf8' }),
    ).toContain(': ok');
    // The built validator (config-validator.cjs) still refuses what the schema refuses.
    const wrong = join(dir.path, 'wrong.yaml');
    writeFileSync(wrong, `${readFileSync(config, 'utf8')}surprise: 1\n`);
    const refused = spawnSync(process.execPath, ['dist/cli/dorvakt.js', 'check-config', wrong], {
      encoding: 'utf8',
    });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('unknown key "surprise"');
    // With the unit's own Node flags; the schedule compiler child runs from dist/ too.
    child = spawn(process.execPath, [...unitNodeFlags(), 'dist/cli/dorvakt.js', '--config', config], {
      stdio: 'ignore',
    });
    const health = await waitFor(
      () =>
        fetch(`http://127.0.0.1:${opsPort}/healthz`).then(
          (r) => r,
          () => undefined,
        ),
      20_000,
      '/healthz',
    );
    expect(health.status).toBe(200);
    const loginPage = await waitFor(
      () =>
        fetch(`http://127.0.0.1:${webPort}/login`).then(
          (r) => r,
          () => undefined,
        ),
      20_000,
      'the login page',
    );
    expect(loginPage.status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${webPort}/static/app.css`)).status).toBe(200);
  }, 60_000);
});
