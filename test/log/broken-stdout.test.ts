import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const child = fileURLToPath(new URL('./broken-stdout-child.ts', import.meta.url));

// sonic-boom 4's synchronous flush at exit retried EPIPE forever: an orphaned worker never ended.
it('a process exits although its stdout reader is gone and lines are still buffered', async () => {
  const proc = spawn(process.execPath, ['--import', 'tsx', child], { stdio: ['pipe', 'pipe', 'ignore'] });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  proc.stdout.destroy();
  proc.stdin.write('go\n');
  const result = await Promise.race([
    exited,
    new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000)),
  ]);
  if (result === 'hung') proc.kill('SIGKILL');
  expect(result).not.toBe('hung');
}, 20_000);
