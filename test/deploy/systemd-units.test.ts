import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WORKER_NICE } from '../../src/worker/supervisor.ts';
import { tempDir } from '../helpers/tmp.ts';
import { unitNice } from '../helpers/unit-flags.ts';

/**
 * The unit files as shipped, checked by systemd's own tools. `verify` wants the ExecStart binary to
 * exist: the units name /usr/bin/node (Debian's nodejs); where node lives elsewhere the copy under
 * test points at this node instead, and nothing else is rewritten.
 */
const UNITS = ['dorvakt.service', 'dorvakt-nvr-agent.service', 'dorvakt-fleet.service'];
/**
 * systemd rates exposure 0 (locked down) … 10 (unprotected). With everything this service can use
 * the score is about 1.5; what is left is inherent to the job: network (MQTT, SIP2, dashboard), the
 * reader and GPIO devices, the notify helper, and V8's W+X JIT pages. 2.0 fails as soon as one main
 * protection (capability bounding, syscall filter, ProtectSystem, NoNewPrivileges …) is dropped.
 */
const MAX_EXPOSURE = 2.0;

const dir = tempDir('units-');
afterAll(() => dir.cleanup());

function copyForVerify(unit: string): string {
  let text = readFileSync(join('systemd', unit), 'utf8');
  if (!existsSync('/usr/bin/node')) text = text.replaceAll('/usr/bin/node', process.execPath);
  const path = join(dir.path, unit);
  writeFileSync(path, text);
  return path;
}

function exposure(path: string): number {
  const out = execFileSync('systemd-analyze', ['security', '--offline=yes', path], { encoding: 'utf8' });
  const match = /Overall exposure level for \S+: ([\d.]+)/.exec(out);
  if (!match) throw new Error(`no exposure score in:\n${out}`);
  return Number(match[1]);
}

describe.each(UNITS)('systemd/%s', (unit) => {
  const text = readFileSync(join('systemd', unit), 'utf8');

  it('passes systemd-analyze verify without a single warning', () => {
    const path = copyForVerify(unit);
    const result = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8' });
    const complaints = `${result.stdout}${result.stderr}`
      .split('\n')
      .filter((l) => l.includes(unit) || /unknown|invalid|failed/i.test(l));
    expect(complaints).toEqual([]);
    expect(result.status).toBe(0);
  });

  it(`has an exposure score below ${MAX_EXPOSURE} (systemd-analyze security)`, () => {
    const score = exposure(copyForVerify(unit));
    process.stdout.write(`systemd-analyze security ${unit}: exposure ${score}\n`);
    expect(score).toBeLessThan(MAX_EXPOSURE);
  });

  it('is Type=notify with a watchdog, restarts always, runs as dorvakt under strict hardening', () => {
    for (const line of [
      'Type=notify',
      'NotifyAccess=all',
      'Restart=always',
      'User=dorvakt',
      'ProtectSystem=strict',
      'NoNewPrivileges=yes',
      'PrivateTmp=yes',
      'ProtectHome=yes',
      'CapabilityBoundingSet=',
      'SystemCallFilter=@system-service',
      'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6',
    ]) {
      expect(text.split('\n')).toContain(line);
    }
    expect(text).toMatch(/^WatchdogSec=\d+s$/m);
    expect(text).toMatch(
      /^ExecStart=\/usr\/bin\/node (--[\w-]+(=\d+)? )*\/opt\/dorvakt\/dist\/\S+\.js (fleet )?--config \/etc\/dorvakt\/\S+\.yaml$/m,
    );
  });
});

/** One syscall filter token (`@group` or a syscall) as systemd expands it, nested groups included. */
const groupCache = new Map<string, string[]>();
function syscallsOf(token: string): string[] {
  if (!token.startsWith('@')) return [token];
  let members = groupCache.get(token);
  if (members === undefined) {
    const out = execFileSync('systemd-analyze', ['syscall-filter', '--no-pager', token], {
      encoding: 'utf8',
    });
    members = out
      .split('\n')
      .slice(1) // the group's own name
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    groupCache.set(token, members);
  }
  return members.flatMap(syscallsOf);
}

/**
 * The syscalls a unit's SystemCallFilter= lines let through, by systemd.exec's rule: the first line is the
 * allow list, each later `~` line removes from it, each later plain line adds to it.
 */
function allowedSyscalls(unitText: string): Set<string> {
  const lines = unitText.match(/^SystemCallFilter=.*$/gm) ?? [];
  const [first, ...rest] = lines.map((l) => l.slice('SystemCallFilter='.length).trim());
  if (first === undefined || first.startsWith('~')) throw new Error('expected an allow list first');
  const allowed = new Set(first.split(/\s+/).flatMap(syscallsOf));
  for (const line of rest) {
    const deny = line.startsWith('~');
    for (const call of (deny ? line.slice(1) : line).trim().split(/\s+/).flatMap(syscallsOf)) {
      if (deny) allowed.delete(call);
      else allowed.add(call);
    }
  }
  return allowed;
}

describe('systemd/dorvakt.service specifics', () => {
  const text = readFileSync('systemd/dorvakt.service', 'utf8');

  it('may write only its state, its cache, the sysfs GPIO tree and the reader/GPIO devices', () => {
    const rw = text.match(/^ReadWritePaths=.*$/gm)?.join(' ') ?? '';
    expect(rw).toContain('/var/lib/dorvakt');
    expect(rw).toContain('/sys/class/gpio');
    // And its cache (the loaded config between starts), which systemd makes writable and owner-only.
    expect(text).toMatch(/^CacheDirectory=dorvakt$/m);
    expect(text).toMatch(/^CacheDirectoryMode=0700$/m);
    expect(text).toMatch(/^DevicePolicy=closed$/m);
    expect(text).toMatch(/^DeviceAllow=\/dev\/dorvakt-reader rw$/m);
    expect(text).toMatch(/^DeviceAllow=char-gpiochip rw$/m);
  });

  it('starts the door process ahead of the rest of the box, and its worker behind everything', () => {
    expect(unitNice()).toBeLessThan(0);
    expect(WORKER_NICE).toBeGreaterThan(0);
  });

  // A denied syscall fails with EPERM (SystemCallErrorNumber), which the code only logs: nothing else notices.
  it('lets through the syscalls the service makes on purpose, and still refuses the dangerous ones', () => {
    const allowed = allowedSyscalls(text);
    // The door process lowers the worker's CPU priority (src/worker/supervisor.ts, os.setPriority).
    expect(allowed.has('setpriority')).toBe(true);
    // It keeps the worker off the door's CPU (src/worker/cpus.ts, taskset): sched_setaffinity.
    expect(allowed.has('sched_setaffinity')).toBe(true);
    for (const call of [
      'reboot',
      'mount',
      'ptrace',
      'init_module',
      'setrlimit',
      'sched_setscheduler',
      'setuid',
    ]) {
      expect(allowed.has(call), call).toBe(false);
    }
  });

  it('the threshold has teeth: the same unit without capability bounding scores above it', () => {
    const weak = readFileSync('systemd/dorvakt.service', 'utf8')
      .split('\n')
      .filter((l) => !/^(CapabilityBoundingSet|SystemCallFilter)=/.test(l))
      .join('\n');
    const path = join(dir.path, 'weak.service');
    writeFileSync(path, weak);
    const score = exposure(path);
    process.stdout.write(`weakened copy: exposure ${score}\n`);
    expect(score).toBeGreaterThan(MAX_EXPOSURE);
  });
});
