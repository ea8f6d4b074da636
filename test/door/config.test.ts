import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { doorHardwareDefaults, doorHardwareSchema } from '../../src/door/config.ts';

const validate = new Ajv({ useDefaults: true, strict: false, allErrors: true }).compile(doorHardwareSchema);

describe('door hardware config', () => {
  it('doorHardwareDefaults() matches what the schema fills in', () => {
    const filled: Record<string, unknown> = {};
    expect(validate(filled)).toBe(true);
    expect(filled).toEqual(doorHardwareDefaults());
  });

  it('accepts a pin as chip label + line and fills input defaults', () => {
    const cfg = {
      driver: 'gpio',
      relay: { pin: { chip: 'pinctrl-rp1', line: 17 }, active_low: true },
      fire: { pin: 22 },
    };
    expect(validate(cfg)).toBe(true);
    expect(cfg.fire).toEqual({ pin: 22, active_low: false, debounce_ms: 30 });
  });

  it('requires a relay for the gpio driver and rejects a malformed pin', () => {
    expect(validate({ driver: 'gpio' })).toBe(false);
    expect(validate({ driver: 'gpio', relay: { pin: { chip: 'pinctrl-rp1' } } })).toBe(false);
    expect(validate({ driver: 'gpio', relay: { pin: -1 } })).toBe(false);
  });
});
