import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkAgentConfig } from '../../src/nvr-agent/config.ts';

const page = readFileSync(new URL('../../docs/nvr-agent.md', import.meta.url), 'utf8');
const yamlBlocks = [...page.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

/** docs/nvr-agent.md shows configs a reader will copy: they must load as the page says. */
describe('docs/nvr-agent.md', () => {
  it('the full agent config loads, with the files recorder and the key from a file', () => {
    const full = yamlBlocks.find((b) => b.startsWith('# /etc/dorvakt/nvr-agent.yaml'));
    expect(full).toBeDefined();
    const cfg = checkAgentConfig(parse(full!), '/etc/dorvakt');
    expect(cfg.recorder).toMatchObject({ kind: 'files', layout: 'frigate' });
    expect(cfg.auth.keys[0]).toMatchObject({ secret_file: '/etc/dorvakt/nvr.key' });
    expect(cfg).toMatchObject({ max_window_hours: 24, hold_max_days: 30, retention_days: 7 });
  });

  it('the Frigate recorder section loads in place of the files one', () => {
    const full = parse(yamlBlocks.find((b) => b.startsWith('# /etc/dorvakt/nvr-agent.yaml'))!);
    const frigate = parse(yamlBlocks.find((b) => b.startsWith('recorder:\n  kind: frigate'))!);
    const cfg = checkAgentConfig({ ...full, ...frigate }, '/etc/dorvakt');
    expect(cfg.recorder).toMatchObject({
      kind: 'frigate',
      url: 'http://frigate.local:5000',
      verify_tls: true,
    });
    expect(cfg.media_root).toBe('/media/frigate');
  });

  it('links only to files that exist', () => {
    for (const [, target] of page.matchAll(/\]\(((?!https?:)[^)#]+)(#[^)]*)?\)/g)) {
      expect(() => readFileSync(new URL(`../../docs/${target}`, import.meta.url)), target).not.toThrow();
    }
  });
});
