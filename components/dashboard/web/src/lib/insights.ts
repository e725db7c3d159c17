// Per-campaign extras for board cards — objective pace (GET .../report) and open
// alerts (GET /api/evaluations/alerts?campaign_id=) — fetched only for cards
// that scroll into view, three campaigns at a time, kept for a minute.
import { get } from '../api/client';
import type { Alert, PaceStatus, SuccessReport } from '../api/types';

export type Insight = {
  pace: PaceStatus;
  /** How much of its target the worst-paced objective has reached (0.5 = 50%), when known. */
  achieved: number | null;
  firing: number;
  pending: number;
  error: boolean;
};

const TTL = 60_000;
const CONCURRENCY = 3;
const cache = new Map<string, { at: number; value: Insight }>();
const waiting: { id: string; resolve: (v: Insight) => void }[] = [];
const pendingById = new Map<string, Promise<Insight>>();
let running = 0;

const ORDER: PaceStatus[] = ['behind', 'on_track', 'ahead', 'no_data'];

export function summarisePace(report: SuccessReport): { pace: PaceStatus; achieved: number | null } {
  let worst: PaceStatus = 'no_data';
  let achieved: number | null = null;
  for (const k of report.kpis ?? []) {
    const s = k.pace?.status ?? 'no_data';
    if (ORDER.indexOf(s) < ORDER.indexOf(worst)) {
      worst = s;
      achieved = k.pace?.achieved_fraction ?? null;
    }
  }
  return { pace: worst, achieved };
}

export function countAlerts(items: Alert[]): { firing: number; pending: number } {
  return {
    firing: items.filter((a) => a.state === 'firing').length,
    pending: items.filter((a) => a.state === 'pending').length,
  };
}

async function fetchInsight(id: string): Promise<Insight> {
  const [report, alerts] = await Promise.allSettled([
    get('/api/campaigns/{id}/report', { path: { id } }),
    get('/api/evaluations/alerts', { query: { campaign_id: id } }),
  ]);
  const pace = report.status === 'fulfilled' ? summarisePace(report.value) : { pace: 'no_data' as const, achieved: null };
  const counts = alerts.status === 'fulfilled' ? countAlerts(alerts.value.items ?? []) : { firing: 0, pending: 0 };
  return {
    pace: pace.pace,
    achieved: pace.achieved,
    ...counts,
    error: report.status === 'rejected' || alerts.status === 'rejected',
  };
}

function pump() {
  while (running < CONCURRENCY && waiting.length) {
    const job = waiting.shift();
    if (!job) break;
    running += 1;
    fetchInsight(job.id)
      .then((v) => {
        cache.set(job.id, { at: Date.now(), value: v });
        job.resolve(v);
      })
      .finally(() => {
        running -= 1;
        pendingById.delete(job.id);
        pump();
      });
  }
}

export function cachedInsight(id: string): Insight | null {
  const c = cache.get(id);
  return c ? c.value : null;
}

/** The card's insight, from cache when fresh, else queued. */
export function insight(id: string): Promise<Insight> {
  const c = cache.get(id);
  if (c && Date.now() - c.at < TTL) return Promise.resolve(c.value);
  const p = pendingById.get(id);
  if (p) return p;
  const promise = new Promise<Insight>((resolve) => waiting.push({ id, resolve }));
  pendingById.set(id, promise);
  pump();
  return promise;
}
