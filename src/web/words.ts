/** Codes as staff read them: door names, category names from the config, reasons in the patron's words. */
import type { DorvaktConfig } from '../config/types.ts';
import { type Html, html } from './html.ts';
import { reasonText } from './i18n.ts';
import type { Language } from './users.ts';

/** The door's name from the config; its id when it has none (or the door is gone from the config). */
export function doorName(config: Pick<DorvaktConfig, 'doors'>, id: string): string {
  return config.doors.find((d) => d.id === id)?.name ?? id;
}

/** A category's label in this language, else in another, else the code itself. */
export function categoryName(config: Pick<DorvaktConfig, 'access'>, code: string, lang: Language): string {
  const labels = config.access.category_labels;
  const label = labels && Object.hasOwn(labels, code) ? labels[code] : undefined;
  return label?.[lang] ?? label?.nb ?? label?.da ?? label?.en ?? code;
}

/** A reason in words with its code on hover (the code is what logs and statistics use). */
export function reasonCell(code: string, lang: Language): Html {
  return html`<span class="reason" title="${code}">${reasonText(code, lang)}</span>`;
}

/** A category in words with its code on hover; empty for none. */
export function categoryCell(
  config: Pick<DorvaktConfig, 'access'>,
  code: string | null | undefined,
  lang: Language,
): Html {
  if (!code) return html``;
  const name = categoryName(config, code, lang);
  return name === code ? html`${code}` : html`<span title="${code}">${name}</span>`;
}

/** What the live script needs to show a new entry in the same words as the page. */
export function liveWords(config: DorvaktConfig, lang: Language, reasons: readonly string[]) {
  return {
    reasons: Object.fromEntries(reasons.map((r) => [r, reasonText(r, lang)])),
    doors: Object.fromEntries(config.doors.map((d) => [d.id, d.name ?? d.id])),
    categories: Object.fromEntries(
      Object.keys(config.access.category_labels ?? {}).map((c) => [c, categoryName(config, c, lang)]),
    ),
  };
}
