// One readable line per audit entry: the known actions get a sentence, others
// a few of their fields. Values are shown as text, never as markup.

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function short(v: unknown, max = 80): string {
  if (v === null || v === undefined) return '—';
  const t = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

function fields(d: Obj, max = 4): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(d)) {
    if (v === null || v === undefined || k === 'id' || k.endsWith('_id') || k === 'handoff') continue;
    if (isObj(v)) continue;
    parts.push(`${k.replace(/_/g, ' ')}: ${short(v)}`);
    if (parts.length >= max) break;
  }
  return parts.join(' · ');
}

export function auditSummary(action: string | undefined, detail: unknown, resourceName?: (id: string) => string | undefined): string {
  if (!isObj(detail)) return detail === undefined || detail === null ? '' : short(detail, 200);
  const d = detail;
  switch (action) {
    case 'campaign.created':
      return `Created “${short(d.name, 120)}” in ${short(d.stage)}`;
    case 'campaign.transitioned':
      return `${short(d.from)} → ${short(d.to)}`;
    case 'campaign.updated': {
      const changed = Array.isArray(d.fields) ? (d.fields as string[]) : [];
      const before = isObj(d.before) ? d.before : {};
      const after = isObj(d.after) ? d.after : {};
      return `Changed ${changed
        .map((f) => {
          const b = before[f];
          const a = after[f];
          return typeof a !== 'object' && typeof b !== 'object' ? `${f.replace(/_/g, ' ')} ${short(b, 40)} → ${short(a, 40)}` : f.replace(/_/g, ' ');
        })
        .join(', ')}`;
    }
    case 'allocation.created':
    case 'allocation.deleted': {
      const a = isObj(d.allocation) ? d.allocation : d;
      const who = typeof a.resource_id === 'string' ? (resourceName?.(a.resource_id) ?? 'a resource') : 'a resource';
      const over = Array.isArray(d.overallocations) ? d.overallocations.length : 0;
      return `${short(a.amount_per_day)}/day of ${who}, ${short(a.from)} – ${short(a.to)}${over ? ` · ${over} overallocated day(s)` : ''}`;
    }
    case 'alert.fired':
    case 'alert.resolved':
      return `${short(d.rule_name, 100)}: value ${short(d.value)} (fires at ${short(d.fire_threshold)}) · episode ${short(d.episode)}${d.scope ? ` · ${short(d.scope)}` : ''}`;
    default: {
      const base = fields(d);
      const nested = Object.entries(d)
        .filter(([k, v]) => isObj(v) && k !== 'handoff')
        .map(([k, v]) => `${k.replace(/_/g, ' ')}: ${fields(v as Obj, 3) || short(v, 60)}`)
        .slice(0, 2);
      return [base, ...nested].filter(Boolean).join(' · ');
    }
  }
}
