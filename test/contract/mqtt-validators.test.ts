import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDoorState, checkEvent, checkInfo } from '../../src/contract/mqtt-check.ts';
import { mqttValidatorsSource } from '../../src/contract/validator-source.ts';

const TS = '2026-11-30T02:00:00.000Z';
const EVENTS: [unknown, boolean][] = [
  [
    { v: 2, type: 'entry', door: 'front', outcome: 'granted', reason: 'allow', mode: 'staffless', ts: TS },
    true,
  ],
  // A granted entry with a denying reason, an identity key, minutes as a string: each refused.
  [
    { v: 2, type: 'entry', door: 'front', outcome: 'granted', reason: 'closed', mode: 'staffless', ts: TS },
    false,
  ],
  [
    {
      v: 2,
      type: 'entry',
      door: 'front',
      outcome: 'denied',
      reason: 'closed',
      mode: 'closed',
      ts: TS,
      card: '1',
    },
    false,
  ],
  [{ v: 2, type: 'closing_soon', door: 'front', minutes: 10, at: TS, ts: TS }, true],
  [{ v: 2, type: 'closing_soon', door: 'front', minutes: '10', at: TS, ts: TS }, false],
  [{ v: 1, type: 'entry', door: 'front', outcome: 'granted', reason: 'allow', ts: TS }, false],
];

/** The built service loads the validators written out as code: they must judge exactly as the compiled ones. */
describe('MQTT validators written out as code (npm run build)', () => {
  it('accept and refuse the same payloads as the schemas compiled at run time', () => {
    // Inside the checkout, so the written code finds ajv's runtime helpers as it does in dist/.
    const dir = mkdtempSync(join(process.cwd(), '.mqtt-validators-'));
    const file = join(dir, 'mqtt-validators.cjs');
    writeFileSync(file, mqttValidatorsSource());
    const built = createRequire(import.meta.url)(file) as Record<string, (value: unknown) => boolean>;
    for (const [payload, ok] of EVENTS) {
      expect(checkEvent(payload).ok, JSON.stringify(payload)).toBe(ok);
      expect(built['event']!(payload), JSON.stringify(payload)).toBe(ok);
    }
    const door = { locked: true, open: false, held: false, fire: false, mode: 'closed', alarm: null, ts: TS };
    for (const [payload, ok] of [
      [door, checkDoorState(door).ok],
      [{ ...door, card: 'x' }, false],
    ] as const) {
      expect(built['doorState']!(payload)).toBe(ok);
    }
    expect(built['info']!({})).toBe(checkInfo({}).ok);
    rmSync(dir, { recursive: true, force: true });
  });
});
