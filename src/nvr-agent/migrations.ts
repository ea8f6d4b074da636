/**
 * The agent config's versions (src/config/migrate.ts). A file without `version` is version 1: the shape
 * with `recordings: {root, layout, segment_seconds}` or, later, `recorder:` without a version.
 */
import type { Migration } from '../config/migrate.ts';

export const AGENT_CONFIG_VERSION = 2;

export const agentMigrations: readonly Migration[] = [
  {
    version: 2,
    steps: [
      {
        op: 'remove',
        path: ['recordings', 'segment_seconds'],
        note: 'recordings.segment_seconds is ignored: segment ends now come from the recordings themselves',
      },
      {
        op: 'move',
        path: ['recordings'],
        to: ['recorder'],
        add: { kind: 'files' },
        note: 'the recordings: section is deprecated; read as recorder: {kind: files, root, layout}',
      },
    ],
  },
];
