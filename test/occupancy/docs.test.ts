import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';

const docs = readFileSync(new URL('../../docs/occupancy.md', import.meta.url), 'utf8');
const blocks = [...docs.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

const BASE = `
site: { id: docs, timezone: Europe/Oslo, country: NO, language: nb }
secrets: { card_hmac_key: { env: K } }
doors:
  - { id: main, schedule: { staffless: "Mo-Su 07:00-22:00" }, reader: { path: /dev/ttyUSB0 } }
  - { id: back, schedule: { staffless: "Mo-Su 07:00-22:00" }, reader: { path: /dev/ttyUSB1 } }
states:
  enabled: true
  outputs: [{ id: alarm, mqtt: { topic: building/alarm }, values: { closed: armed, staffless: disarmed } }]
`;

describe('docs/occupancy.md', () => {
  it('its config example loads as written, defaults filled in', () => {
    expect(blocks).toHaveLength(1);
    const config = parseConfig(BASE + blocks[0]!);
    expect(config.occupancy?.doors.map((d) => d.door)).toEqual(['main', 'back']);
    expect(config.occupancy?.doors[0]?.beams).toMatchObject({ debounce_ms: 30, timeout_ms: 3000 });
    expect(config.occupancy?.closing_sweep.webhook).toMatchObject({ retries: 3, timeout_ms: 5000 });
    expect(config.occupancy?.tailgating).toEqual({ enabled: true, bookmark: false });
  });
});
