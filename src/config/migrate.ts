/**
 * Config versions and migrations, shared by the controller's and the agent's config. A migration lifts a
 * config from the previous version to its `version`; its steps rename, move, remove or change keys, each
 * with a note for the operator. They work on a yaml Document, so the same steps serve the load (in memory)
 * and `check-config --migrate` (written back with the comments kept).
 */
import { type Document, isMap, isScalar, isSeq, Pair, Scalar, type YAMLMap } from 'yaml';

/** Keys from the top; `*` stands for every item of a list or every key of a map. */
export type ConfigPath = readonly string[];

export type MigrationStep =
  /** The last key of `path` gets the name `to`, in place (comments and order kept). */
  | { op: 'rename'; path: ConfigPath; to: string; note: string }
  /** The value at `path` moves to `to`; `add` fills keys missing in a moved map. */
  | { op: 'move'; path: ConfigPath; to: ConfigPath; add?: Record<string, unknown>; note: string }
  | { op: 'remove'; path: ConfigPath; note: string }
  /** A value that `when` matches becomes `to(value)`; only for configs older than the migration. */
  | {
      op: 'change';
      path: ConfigPath;
      when: (value: unknown) => boolean;
      to: (value: unknown) => unknown;
      note: string;
    };

export interface Migration {
  /** The version this migration lifts a config to. */
  version: number;
  steps: readonly MigrationStep[];
}

export interface AppliedMigration {
  version: number;
  /** Dotted key path where the step applied, e.g. `web.trust_proxy`. */
  key: string;
  note: string;
}

export interface MigrationProblem {
  key: string;
  /** Offset in the text, for a line number. */
  offset: number | undefined;
  message: string;
}

export interface MigrationOutcome {
  /** The version the file says (a file without `version` is version 1, the oldest shape). */
  from: number;
  applied: AppliedMigration[];
  problems: MigrationProblem[];
}

const rangeStart = (node: unknown): number | undefined =>
  (node as { range?: [number, number, number] } | null)?.range?.[0];

/** The version the document says, or a problem when it is no version this build reads. */
export function versionOf(
  doc: Document,
  current: number,
): { version: number; problem?: MigrationProblem | undefined } {
  if (!isMap(doc.contents)) return { version: 1 };
  const pair = doc.contents.items.find((p) => isScalar(p.key) && p.key.value === 'version');
  if (!pair) return { version: 1 };
  const value = isScalar(pair.value) ? pair.value.value : undefined;
  const offset = rangeStart(pair.key);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    return {
      version: 1,
      problem: { key: 'version', offset, message: `must be a whole number from 1 to ${current}` },
    };
  }
  if (value > current) {
    return {
      version: value,
      problem: {
        key: 'version',
        offset,
        message: `version ${value} is newer than this release reads (up to ${current}): upgrade, or restore the backup the newer release's --migrate wrote`,
      },
    };
  }
  return { version: value };
}

interface Match {
  parent: YAMLMap;
  pair: Pair;
  key: string[];
}

/** Every pair at path (wildcards expanded). */
function matches(node: unknown, path: ConfigPath, prefix: string[] = []): Match[] {
  const [head, ...rest] = path;
  if (head === undefined) return [];
  const out: Match[] = [];
  if (isMap(node)) {
    for (const pair of node.items) {
      const name = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (name === undefined || (head !== '*' && name !== head)) continue;
      if (rest.length === 0) out.push({ parent: node, pair: pair as Pair, key: [...prefix, name] });
      else out.push(...matches(pair.value, rest, [...prefix, name]));
    }
  } else if (isSeq(node) && rest.length > 0) {
    node.items.forEach((item, i) => {
      if (head === '*' || head === String(i)) out.push(...matches(item, rest, [...prefix, String(i)]));
    });
  }
  return out;
}

const hasKey = (map: YAMLMap, name: string) =>
  map.items.some((p) => isScalar(p.key) && String(p.key.value) === name);

const plainValue = (node: unknown): unknown =>
  isScalar(node) ? node.value : (node as { toJSON?: () => unknown } | null)?.toJSON?.();

function applyStep(doc: Document, step: MigrationStep, version: number, outcome: MigrationOutcome): void {
  for (const { parent, pair, key } of matches(doc.contents, step.path)) {
    const at = key.join('.');
    const offset = rangeStart(pair.key);
    if (step.op === 'rename') {
      if (hasKey(parent, step.to)) {
        outcome.problems.push({
          key: at,
          offset,
          message: `give ${step.to} or the old ${key.at(-1)}, not both`,
        });
        continue;
      }
      (pair.key as Scalar).value = step.to;
    } else if (step.op === 'move') {
      const target = step.to.slice(0, -1);
      const name = step.to.at(-1)!;
      const targetParent = target.length === 0 ? doc.contents : doc.getIn(target, true);
      if (isMap(targetParent) && hasKey(targetParent, name)) {
        outcome.problems.push({
          key: at,
          offset,
          message: `give ${step.to.join('.')} or the old ${at}, not both`,
        });
        continue;
      }
      if (isMap(pair.value) && step.add) {
        for (const [k, v] of Object.entries(step.add).reverse()) {
          if (!hasKey(pair.value, k)) pair.value.items.unshift(doc.createPair(k, v) as Pair);
        }
      }
      if (targetParent === parent) {
        // Same map: the key changes in place, so the comments around it stay where they were.
        (pair.key as Scalar).value = name;
      } else {
        parent.items.splice(parent.items.indexOf(pair), 1);
        const moved = new Pair(new Scalar(name), pair.value);
        (moved.key as Scalar).commentBefore = (pair.key as Scalar).commentBefore;
        if (isMap(targetParent)) targetParent.items.push(moved);
        else doc.setIn(step.to, pair.value);
      }
    } else if (step.op === 'remove') {
      parent.items.splice(parent.items.indexOf(pair), 1);
    } else {
      if (!step.when(plainValue(pair.value))) continue;
      const node = doc.createNode(step.to(plainValue(pair.value)));
      if (isMap(node) || isSeq(node)) node.flow = true;
      // The operator's comment on the line stays with the new value.
      node.comment = (pair.value as Scalar | null)?.comment;
      pair.value = node;
    }
    outcome.applied.push({ version, key: at, note: step.note });
  }
}

/**
 * Applies the migrations to doc, in order. Renames, moves and removals apply whenever their old key is
 * there (that key is unknown to the current schema, so an old snippet pasted into a new config is read
 * too); value changes only to a config older than their migration, since the value means something else
 * now. Does not touch `version` (see setVersion).
 */
export function migrateDocument(
  doc: Document,
  migrations: readonly Migration[],
  current: number,
): MigrationOutcome {
  const { version, problem } = versionOf(doc, current);
  const outcome: MigrationOutcome = { from: version, applied: [], problems: [] };
  if (problem) {
    outcome.problems.push(problem);
    return outcome;
  }
  for (const migration of migrations) {
    for (const step of migration.steps) {
      if (step.op === 'change' && version >= migration.version) continue;
      applyStep(doc, step, migration.version, outcome);
    }
  }
  return outcome;
}

/** Sets `version` (a new key goes first, where a reader looks for it). */
export function setVersion(doc: Document, version: number): void {
  if (!isMap(doc.contents)) return;
  const pair = doc.contents.items.find((p) => isScalar(p.key) && p.key.value === 'version');
  if (pair) {
    pair.value = doc.createNode(version);
    return;
  }
  const added = doc.createPair('version', version) as Pair<Scalar, Scalar>;
  // A comment above the first key is the file's header: it stays above the new first key.
  const first = doc.contents.items[0]?.key as Scalar | undefined;
  if (first?.commentBefore) {
    added.key.commentBefore = first.commentBefore;
    first.commentBefore = undefined;
  }
  doc.contents.items.unshift(added);
}
