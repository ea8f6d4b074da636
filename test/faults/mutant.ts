import { cpSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A deliberate bug: textual edits to one source file, each of which must match exactly once. */
export interface DeliberateBug {
  file: string;
  edits: [from: string, to: string][];
}

/** The relay pulsed before the entry is committed (the bug the kill -9 and disk-full tests guard). */
export const PULSE_BEFORE_COMMIT: DeliberateBug = {
  file: 'src/access/gate.ts',
  edits: [
    [
      '    let entryId: number;\n    try {\n      entryId = deps.entries.record({',
      '    if (decision.allow) door.grant();\n    let entryId: number;\n    try {\n      entryId = deps.entries.record({',
    ],
    [
      '    if (decision.allow) door.grant();\n    else door.deny?.();',
      '    if (!decision.allow) door.deny?.();',
    ],
  ],
};

const repo = fileURLToPath(new URL('../../', import.meta.url));

/**
 * A copy of the service (bin/ and src/, sharing node_modules) under `dir` with the bug in it, so a
 * fault test can show that it fails against the bug it guards. Returns the CLI's path in the copy.
 */
export function mutantCli(dir: string, bug: DeliberateBug): string {
  const root = join(dir, 'mutant');
  mkdirSync(root);
  for (const part of ['bin', 'src', 'package.json', 'tsconfig.json'])
    cpSync(join(repo, part), join(root, part), { recursive: true });
  symlinkSync(realpathSync(join(repo, 'node_modules')), join(root, 'node_modules'));
  const path = join(root, bug.file);
  let text = readFileSync(path, 'utf8');
  for (const [from, to] of bug.edits) {
    const at = text.indexOf(from);
    if (at < 0 || text.indexOf(from, at + 1) >= 0)
      throw new Error(`deliberate bug: the text to change is not in ${bug.file} exactly once: ${from}`);
    text = text.slice(0, at) + to + text.slice(at + from.length);
  }
  writeFileSync(path, text);
  return join(root, 'bin', 'dorvakt.mjs');
}
