#!/usr/bin/env node
// In a checkout the TypeScript source runs through tsx (no build step, never a stale build);
// an installed package without src/ runs the compiled dist/ (see systemd/, which calls dist directly).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const source = fileURLToPath(new URL('../src/cli/dorvakt.ts', import.meta.url));
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(source).href);
} else {
  await import(new URL('../dist/cli/dorvakt.js', import.meta.url).href);
}
