// Formatting shared by the views. Times are shown in UTC where the API counts
// in UTC (send slots, utilization days), in the browser's zone elsewhere.

export function hms(d: Date): string {
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

export function dateTime(v: string | number | null | undefined): string {
  if (v === null || v === undefined || v === '') return '—';
  const d = typeof v === 'number' ? new Date(v * 1000) : new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  return d.toLocaleString([], { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false });
}

export function dateOnly(v: string | null | undefined): string {
  if (!v) return '—';
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return v;
  return d.toLocaleDateString([], { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' });
}

export function utcDateTime(v: string | number | null | undefined): string {
  if (v === null || v === undefined || v === '') return '—';
  const d = typeof v === 'number' ? new Date(v * 1000) : new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** YYYY-MM-DD of a date, in UTC. */
export function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

export function addDays(d: Date, n: number): Date {
  const x = new Date(d.getTime());
  x.setUTCDate(x.getUTCDate() + n);
  return x;
}

/** Today at 00:00 UTC. */
export function todayUtc(): Date {
  const d = new Date();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
}

export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = new Date(`${from}T00:00:00Z`); isoDay(d) <= to && out.length < 400; d = addDays(d, 1)) out.push(isoDay(d));
  return out;
}

export function num(v: number | null | undefined, digits = 0): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  return v.toLocaleString([], { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function percent(v: number | null | undefined, digits = 0): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  return `${num(v, digits)}%`;
}

export function money(minor: number | null | undefined): string {
  if (minor === null || minor === undefined) return '—';
  return (minor / 100).toLocaleString([], { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

export function titleCase(s: string): string {
  const t = s.replace(/_/g, ' ');
  return t.charAt(0).toUpperCase() + t.slice(1);
}

export const PRIORITY_LABEL: Record<number, string> = { 1: 'Critical', 2: 'High', 3: 'Medium', 4: 'Low', 5: 'Lowest' };

export function isAutomated(actor: string | null | undefined): boolean {
  return !!actor && actor.startsWith('system:');
}

/** A short unique-enough key for Idempotency-Key headers and form ids. */
export function uid(): string {
  return Math.random().toString(36).slice(2, 10);
}

/** The non-empty, trimmed parts of `s` split at commas (skills, metric names, fallback channels). */
export function commaList(s: string): string[] {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}

/** The non-empty parts of `s` split at white space (links, one per line). */
export function words(s: string): string[] {
  return s.split(/\s+/).filter(Boolean);
}
