import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';

const docs = readFileSync(new URL('../../docs/states.md', import.meta.url), 'utf8');
const blocks = [...docs.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

const BASE = `
site: { id: docs, timezone: Europe/Oslo, country: NO, language: nb }
secrets: { card_hmac_key: { env: K } }
doors:
  - id: main
    schedule: { staffed: "Mo-Fr 10:00-16:00", staffless: "Mo-Su 07:00-22:00" }
    reader: { path: /dev/ttyUSB0 }
`;

describe('docs/states.md', () => {
  it('its config examples load as they are written', () => {
    expect(blocks.length).toBe(3);
    const outputs = parseConfig(BASE + blocks[0]!);
    expect(outputs.states.outputs.map((o) => o.id)).toEqual(['lights', 'alarm', 'panel', 'mode']);
    const announcements = parseConfig(BASE + blocks[1]!.replace('    # dir:', '    # '));
    expect(announcements.states.announcements).toMatchObject({ enabled: true, languages: ['nb', 'en'] });
    // The closing sweep names the alarm output of the first example.
    const sweep = parseConfig(BASE + blocks[0]! + blocks[2]!);
    expect(sweep.occupancy?.closing_sweep).toMatchObject({ output: 'alarm', recheck_seconds: 60 });
  });

  it('a config mistake names its key', () => {
    expect(() =>
      parseConfig(
        `${BASE}states:\n  enabled: true\n  door: side\n  outputs:\n    - { id: x, gpio: { pin: 3 }, mqtt: { topic: a }, values: { closed: dim } }\n`,
      ),
    ).toThrow(/states\.door[\s\S]*states\.outputs\.0[\s\S]*states\.outputs\.0\.values\.closed/);
  });
});
