import { type Html, html } from './html.ts';

export interface Series {
  name: string;
  values: number[];
  colour: string;
}

/**
 * A stacked bar chart as inline SVG, drawn on the server: no script, and colours as presentation
 * attributes (the CSP forbids inline styles).
 */
export function barChart(input: { title: string; labels: string[]; series: Series[]; id?: string }): Html {
  const { labels, series } = input;
  const width = 900;
  const height = 260;
  const left = 48;
  const bottom = 40;
  const top = 24;
  const plotHeight = height - top - bottom;
  const totals = labels.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const step = labels.length > 0 ? (width - left - 8) / labels.length : 0;
  const barWidth = Math.max(1, step * 0.8);
  // Label at most ~24 ticks so text does not overlap.
  const every = Math.max(1, Math.ceil(labels.length / 24));
  const bars = labels.map((label, i) => {
    let y = top + plotHeight;
    const x = left + i * step + (step - barWidth) / 2;
    const parts = series.map((s) => {
      const value = s.values[i] ?? 0;
      const h = (value / max) * plotHeight;
      y -= h;
      return value > 0
        ? html`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${barWidth.toFixed(1)}" height="${h.toFixed(1)}" fill="${s.colour}"><title>${label}: ${s.name} ${value}</title></rect>`
        : '';
    });
    const tick =
      i % every === 0
        ? html`<text x="${(x + barWidth / 2).toFixed(1)}" y="${height - bottom + 14}" font-size="11" text-anchor="middle" fill="#5c6670">${label}</text>`
        : '';
    return html`${parts}${tick}`;
  });
  const legend = series.map(
    (s, i) =>
      html`<rect x="${left + i * 140}" y="4" width="12" height="12" fill="${s.colour}"></rect><text x="${left + i * 140 + 16}" y="14" font-size="12" fill="#1b1f23">${s.name}</text>`,
  );
  return html`<figure class="chart"${input.id ? html` id="${input.id}"` : ''}><figcaption>${input.title}</figcaption>
<svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${input.title}" xmlns="http://www.w3.org/2000/svg">
<line x1="${left}" y1="${top + plotHeight}" x2="${width - 4}" y2="${top + plotHeight}" stroke="#d8dde3"></line>
<text x="${left - 6}" y="${top + 4}" font-size="11" text-anchor="end" fill="#5c6670">${max}</text>
<text x="${left - 6}" y="${top + plotHeight}" font-size="11" text-anchor="end" fill="#5c6670">0</text>
${legend}${bars}
</svg></figure>`;
}
