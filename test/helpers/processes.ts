import { readdirSync, readFileSync } from 'node:fs';

/** `pid (comm) state ppid …` as /proc/<pid>/stat prints it; comm may hold spaces and parentheses. */
export function parseProcStat(
  text: string,
): { pid: number; comm: string; state: string; ppid: number } | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const [state, ppid] = text.slice(close + 2).split(' ');
  return {
    pid: Number.parseInt(text, 10),
    comm: text.slice(text.indexOf('(') + 1, close),
    state: state!,
    ppid: Number(ppid),
  };
}

function stat(pid: number): { ppid: number; state: string } | null {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** The live child processes of `pid`, from /proc. */
export function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((p) => stat(p)?.ppid === pid);
}

/** Gone, or a zombie nobody has reaped yet (it runs nothing). */
export function processGone(pid: number): boolean {
  const s = stat(pid);
  return s === null || s.state === 'Z';
}
