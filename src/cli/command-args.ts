/** The flags of a subcommand: parsed strictly, usage on a mistake (exit 2) and on --help (exit 0). */
import { parseArgs } from 'node:util';

type Flags = Record<string, { type: 'string' } | { type: 'boolean'; short?: string }>;
type Writer = { write(text: string): unknown };

export function parseCommandFlags<T extends Record<string, string | boolean | undefined>>(
  args: string[],
  flags: Flags,
  usage: string,
  io: { out: Writer; err: Writer },
): { values: T } | { exit: number } {
  let values: T;
  try {
    values = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: { ...flags, help: { type: 'boolean', short: 'h' } },
    }).values as T;
  } catch (error) {
    io.err.write(`${(error as Error).message}\n${usage}`);
    return { exit: 2 };
  }
  if (values.help) {
    io.out.write(usage);
    return { exit: 0 };
  }
  return { values };
}
