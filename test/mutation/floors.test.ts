import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkFloors, scoreOf } from '../../bin/mutation-floors.mjs';
import { GROUPS } from '../../bin/mutation-groups.mjs';

const mutants = (counts: Record<string, number>) =>
  Object.entries(counts).flatMap(([status, n]) => Array.from({ length: n }, () => ({ status })));

const reportOf = (counts: Record<string, number>) => ({
  files: { 'src/x.ts': { mutants: mutants(counts) } },
});

describe('mutation floors', () => {
  it('scores as Stryker does: not covered counts against, compile and runtime errors not at all', () => {
    const s = scoreOf(
      mutants({ Killed: 6, Timeout: 2, Survived: 1, NoCoverage: 1, CompileError: 5, RuntimeError: 3 }),
    );
    expect(s).toEqual({ detected: 8, undetected: 2, valid: 10, score: 80 });
  });

  it('fails a group under its floor and passes one at or over it', () => {
    const floor = GROUPS.access!.floor;
    const atFloor = reportOf({ Killed: floor, Survived: 100 - floor });
    // Half a point under: a floor check that rounds would let it through.
    const under = reportOf({ Killed: 2 * floor - 1, Survived: 201 - 2 * floor });
    expect(checkFloors(['access'], () => atFloor).failures).toEqual([]);
    const { failures } = checkFloors(['access'], () => under);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/access: mutation score .* is under its floor/);
  });

  it('fails when a report is missing or has no valid mutant (a mutate glob that matches nothing)', () => {
    expect(checkFloors(['access'], () => null).failures[0]).toMatch(/no report/);
    expect(checkFloors(['access'], () => reportOf({ CompileError: 3 })).failures[0]).toMatch(
      /no valid mutants/,
    );
    expect(checkFloors(['nope'], () => null).failures[0]).toMatch(/no such group/);
  });

  it('every group names source and test files that exist (a renamed file must not drop out silently)', () => {
    for (const [name, group] of Object.entries(GROUPS)) {
      for (const path of [...group.mutate.map((m) => m.replace(/:\d+-\d+$/, '')), ...group.tests])
        expect(existsSync(path), `${name}: ${path}`).toBe(true);
    }
  });
});
