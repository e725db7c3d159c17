// Formatting and small sums for the Process view (GET /api/analytics/process):
// durations in words ("3 d 4 h", "45 min"), shares (0–1) as percentages,
// null as "—".
import type { Schemas } from '../api/client';

export type ProcessAnalytics = Schemas['ProcessAnalytics'];
export type StageTime = Schemas['StageTime'];
export type Turnaround = Schemas['Turnaround'];
export type OnTime = Schemas['OnTime'];
export type WeekUtilization = Schemas['WeekUtilization'];
export type Bottleneck = Schemas['Bottleneck'];
export type ActionEffect = Schemas['ActionEffect'];
/** GET /api/analytics/effects: the effects of automated actions, served beside the rules. */
export type Effects = import('../api/schema').operations['action_effects']['responses'][200]['content']['application/json'];
export type ProcessTable = NonNullable<NonNullable<NonNullable<import('../api/schema').operations['process_analytics']['parameters']['query']>['table']>>;

/** A duration in whole seconds, in the two largest units: "3 d 4 h", "2 h 5 min", "45 min", "30 s"; null as "—". */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min`;
  const totalMin = Math.round(s / 60);
  const h = Math.floor(totalMin / 60);
  const m = totalMin % 60;
  if (h < 24) return m ? `${h} h ${m} min` : `${h} h`;
  const totalH = Math.round(s / 3600);
  const d = Math.floor(totalH / 24);
  const hh = totalH % 24;
  return hh ? `${d} d ${hh} h` : `${d} d`;
}

/** A share (0–1) as a percentage: whole percents, one decimal under 10 %; null as "—". */
export function share(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  const p = v * 100;
  const digits = p !== 0 && Math.abs(p) < 10 && Math.round(p) !== p ? 1 : 0;
  return `${p.toLocaleString([], { maximumFractionDigits: digits, minimumFractionDigits: 0 })}%`;
}

/** `part / whole` as a share, null when `whole` is 0. */
export function ratio(part: number, whole: number): number | null {
  return whole ? part / whole : null;
}

/** The unit a set of durations reads best in on a chart axis: seconds, minutes, hours or days. */
export function durationUnit(maxSeconds: number): { label: string; short: string; seconds: number } {
  if (maxSeconds >= 3 * 86_400) return { label: 'days', short: 'd', seconds: 86_400 };
  if (maxSeconds >= 3 * 3_600) return { label: 'hours', short: 'h', seconds: 3_600 };
  if (maxSeconds >= 3 * 60) return { label: 'minutes', short: 'min', seconds: 60 };
  return { label: 'seconds', short: 's', seconds: 1 };
}

/** On-time rows summed: items, on time, late and the share. */
export function onTimeTotal(rows: OnTime[]): { items: number; on_time: number; late: number; share: number | null } {
  const items = rows.reduce((n, r) => n + r.items, 0);
  const on = rows.reduce((n, r) => n + r.on_time, 0);
  const late = rows.reduce((n, r) => n + r.late, 0);
  return { items, on_time: on, late, share: ratio(on, items) };
}

/** Whether the period holds no figure at all (a new install, or filters that match nothing). */
export function isEmpty(p: ProcessAnalytics): boolean {
  return (
    !p.stages.some((s) => s.count > 0) &&
    !p.longest_handoffs.length &&
    !p.approvals.by_stage.some((s) => s.count > 0) &&
    !p.approvals.by_reviewer.some((s) => s.count > 0) &&
    !p.approvals.queue.some((q) => q.waiting > 0) &&
    p.rework.items_reviewed === 0 &&
    !p.on_time.by_channel.some((r) => r.items > 0) &&
    !p.on_time.by_campaign.some((r) => r.items > 0) &&
    p.automation.approved_items === 0 &&
    p.automation.triggers.fired === 0 &&
    !p.utilization.some((u) => u.allocated > 0) &&
    !p.bottlenecks.some((b) => b.waiting_seconds > 0 || b.count > 0)
  );
}

/** Monday (UTC) of the ISO week of `d`. */
export function mondayOf(d: Date): Date {
  const x = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const dow = (x.getUTCDay() + 6) % 7;
  x.setUTCDate(x.getUTCDate() - dow);
  return x;
}

/** How many ISO weeks the days `from`..`to` (YYYY-MM-DD) touch. */
export function isoWeeksTouched(from: string, to: string): number {
  const a = mondayOf(new Date(`${from}T00:00:00Z`)).getTime();
  const b = mondayOf(new Date(`${to}T00:00:00Z`)).getTime();
  return Math.round((b - a) / (7 * 86_400_000)) + 1;
}
