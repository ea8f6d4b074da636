/**
 * One CSV field (RFC 4180): quoted when it holds a quote, comma, apostrophe or line break; a text starting
 * with = + - @ or a tab/CR gets a leading apostrophe, so a spreadsheet shows it instead of running it.
 */
export function csvCell(value: string | number): string {
  if (typeof value === 'number') return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n']/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
