/**
 * The controller config's versions. A file without `version` is version 1, the shape before versions.
 * Add a migration here (never edit a released one) whenever a key is renamed, moved, removed or changes
 * meaning, and a fixture of the old shape under test/config/fixtures/.
 */
import type { Migration } from './migrate.ts';

export const CONFIG_VERSION = 2;

export const configMigrations: readonly Migration[] = [
  {
    version: 2,
    steps: [
      {
        op: 'change',
        path: ['web', 'trust_proxy'],
        when: (value) => value === true,
        to: () => ['loopback'],
        note: "web.trust_proxy: true trusted every hop, so clients could pick their own address; read as [loopback] (a proxy on this machine). Give the proxies' addresses, or their number, if the proxy runs elsewhere",
      },
    ],
  },
];
