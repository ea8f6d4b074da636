import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { get } from './routing.ts';

const staticDir = join(dirname(fileURLToPath(import.meta.url)), 'static');

/** A fixed list, read once: no path from the request ever reaches the file system. */
const FILES: Record<string, string> = {
  'app.css': 'text/css; charset=utf-8',
  'now.js': 'text/javascript; charset=utf-8',
  'menu.js': 'text/javascript; charset=utf-8',
  'alarms.js': 'text/javascript; charset=utf-8',
};

export function registerStatic(app: FastifyInstance): void {
  const contents = new Map(Object.keys(FILES).map((name) => [name, readFileSync(join(staticDir, name))]));
  get(app, 'public', '/static/:file', async (req, reply) => {
    const name = (req.params as { file: string }).file;
    const body = Object.hasOwn(FILES, name) ? contents.get(name) : undefined;
    if (!body) return reply.code(404).send({ error: 'not found' });
    return reply.type(FILES[name]!).header('cache-control', 'public, max-age=300').send(body);
  });
}
