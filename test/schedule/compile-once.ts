import { type CompileRequest, compilePlans } from '../../src/schedule/compiler.ts';
import type { DayPlan } from '../../src/schedule/day-plan.ts';

/**
 * The real compiler (a child process), asked once per distinct request within a test file: each child
 * costs a tsx start and the libraries' load, and the same request always gets the same answer. Each
 * caller gets its own copy of the plans; a failure is not kept, so the next call asks the child again.
 */
export function compileOnce(): typeof compilePlans & { children: () => number } {
  const answers = new Map<string, Promise<Map<string, Map<string, DayPlan>>>>();
  let children = 0;
  const compile = (request: CompileRequest, timeoutMs?: number) => {
    const key = JSON.stringify(request);
    let answer = answers.get(key);
    if (!answer) {
      children++;
      answer = compilePlans(request, timeoutMs);
      answers.set(key, answer);
      answer.catch(() => answers.delete(key));
    }
    return answer.then((plans) => structuredClone(plans));
  };
  return Object.assign(compile, { children: () => children });
}
