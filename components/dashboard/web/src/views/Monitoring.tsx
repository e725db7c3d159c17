// Monitoring: alert state per rule and scope, the trigger outbox (awaiting
// approval, dead letters, ...) with approve / reject / replay, recent
// evaluation runs, and the rules with create / edit / enable-disable.
import { useMemo, useState } from 'preact/hooks';
import { get, getAll, post, request } from '../api/client';
import type { Alert, Campaign, EvaluationRun, MonitoringRule, Trigger, TriggerStatus } from '../api/types';
import { can, me } from '../auth';
import { RuleForm, ruleInputOf } from '../components/RuleForm';
import { DownloadCsv } from '../components/DownloadCsv';
import { ActionResult, ActorBadge, Badge, type Column, DataState, Empty, Field, InlineSelect, Link, type Look, PageHead, RoleNote, Section, StatusBadge, Table, Updated, useAction } from '../components/ui';
import { allCampaigns, campaignName, useCampaigns } from '../lib/campaigns';
import { dateTime, num, titleCase } from '../lib/format';
import { useLive } from '../lib/live';
import { location, setQuery } from '../router';

const WATCHED: Campaign['stage'][] = ['distribution', 'monitoring', 'optimization'];
const ALERT_CAMPAIGNS = 60;

type AlertRow = Alert & { owner: string };

async function loadAlerts(campaigns: Campaign[], rules: MonitoringRule[]): Promise<{ rows: AlertRow[]; watched: number; capped: boolean }> {
  const named = new Set(
    rules.flatMap((r) => {
      const s = r.scope as { kind: string; campaign_id?: string };
      return s.kind === 'campaign' && s.campaign_id ? [s.campaign_id] : [];
    }),
  );
  const ids = campaigns
    .filter((c) => c.id && (WATCHED.includes(c.stage) || (named.has(c.id) && c.stage !== 'completed' && c.stage !== 'cancelled')))
    .map((c) => c.id as string)
    .sort()
    .reverse();
  const picked = ids.slice(0, ALERT_CAMPAIGNS);
  const owners = ['resources', ...picked];
  const rows: AlertRow[] = [];
  let next = 0;
  const worker = async () => {
    while (next < owners.length) {
      const owner = owners[next++] as string;
      const res = await get('/api/evaluations/alerts', {
        query: owner === 'resources' ? { scope: 'resources' } : { campaign_id: owner },
      }).catch(() => ({ items: [] as Alert[] }));
      for (const a of res.items ?? []) rows.push({ ...a, owner });
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return { rows, watched: ids.length, capped: ids.length > picked.length };
}

/** What an alert's scope key adds to its owner: the channel of a per-channel alert, say. */
function scopeDetail(scope: string | undefined, owner: string): string {
  if (!scope) return '';
  const rest = scope.replace(`campaign:${owner}`, '').replace(/^:/, '');
  if (!rest || rest === owner || scope === 'resources') return '';
  return rest.replace(/^channel:/, 'channel ');
}

const ALERT_TONE: Record<string, Look> = {
  firing: { tone: 'bad', icon: '⚑', label: 'Firing' },
  pending: { tone: 'warn', icon: '◔', label: 'Pending' },
  resolved: { tone: 'ok', icon: '✓', label: 'Resolved' },
  no_data: { tone: 'info', icon: '○', label: 'No data' },
  inactive: { tone: 'muted', icon: '·', label: 'Inactive' },
};

const STATUS: Record<TriggerStatus, Look> = {
  awaiting_approval: { tone: 'warn', icon: '⚑', label: 'Awaiting approval' },
  pending: { tone: 'info', icon: '…', label: 'Pending' },
  dispatching: { tone: 'info', icon: '⇢', label: 'Dispatching' },
  succeeded: { tone: 'ok', icon: '✓', label: 'Succeeded' },
  dead_letter: { tone: 'bad', icon: '✖', label: 'Dead letter' },
  rejected: { tone: 'muted', icon: '✗', label: 'Rejected' },
};

/** [value, label] pairs of a status table, for a filter. */
const choices = (looks: Record<string, Look>) => Object.entries(looks).map(([k, v]): [string, string] => [k, v.label]);

export function actionText(a: unknown): string {
  const x = (a ?? {}) as Record<string, unknown>;
  switch (x.kind) {
    case 'shift_budget':
      return `Shift budget (max ${x.max_shift_percent}%)`;
    case 'channel_failover':
      return `Channel failover (max ${x.max_shift_percent}%)`;
    case 'content_refresh':
      return `Open a content refresh${x.variant ? ` (variant ${x.variant})` : ''}`;
    case 'timing_change':
      return `Move scheduled sends later (max ${x.max_delay_hours ?? 24} h)`;
    case 'rebalance_resources':
      return 'Propose resource rebalancing';
    case 'notify':
      return `Notify ${x.url}`;
    default:
      return String(x.kind ?? '—');
  }
}

export default function Monitoring() {
  const campaigns = useCampaigns();
  const rules = useLive(
    () => getAll<MonitoringRule, '/api/evaluations/rules'>('/api/evaluations/rules'),
    [],
  );
  // One request per watched campaign: refreshed every 30 s rather than 10.
  const alerts = useLive(
    async () => loadAlerts(await allCampaigns(), rules.data ?? (await getAll<MonitoringRule, '/api/evaluations/rules'>('/api/evaluations/rules'))),
    [],
    { interval: 30_000 },
  );
  const runs = useLive((signal) => get('/api/evaluations/runs', { query: { limit: 15 }, signal }), []);
  const q = new URLSearchParams(location.value.search);
  const status = (q.get('status') ?? '') as TriggerStatus | '';
  const triggers = useLive(
    (signal) => get('/api/triggers', { query: { limit: 100, ...(status ? { status } : {}) }, signal }),
    [status],
  );
  const ruleNames = useMemo(() => new Map((rules.data ?? []).map((r) => [r.id, r.name])), [rules.data]);

  return (
    <div class="page page-wide">
      <PageHead
        title="Monitoring"
        sub="Alert states, automated actions waiting in the outbox, evaluation runs and rules."
        actions={<Updated lives={[alerts, triggers, runs, rules]} />}
      />
      <TriggersPanel triggers={triggers} status={status} names={campaigns.data} />
      <AlertsPanel alerts={alerts} ruleNames={ruleNames} names={campaigns.data} />
      <RunsPanel runs={runs} />
      <RulesPanel rules={rules} campaigns={campaigns.data ?? []} />
    </div>
  );
}

function AlertsPanel({
  alerts,
  ruleNames,
  names,
}: {
  alerts: ReturnType<typeof useLive<Awaited<ReturnType<typeof loadAlerts>>>>;
  ruleNames: Map<string | undefined, string | undefined>;
  names: Campaign[] | undefined;
}) {
  const [state, setState] = useState('');
  return (
    <Section
      title="Alerts"
      id="alerts"
      actions={
        <InlineSelect label="Alert state" value={state} options={[['', 'Any state'], ...choices(ALERT_TONE)]} onChange={setState} />
      }
    >
      <DataState live={alerts} loadingLabel="Loading alert states…">
        {({ rows, watched, capped }) => {
          const order = ['firing', 'pending', 'no_data', 'resolved', 'inactive'];
          const shown = rows
            .filter((r) => !state || r.state === state)
            .sort((a, b) => order.indexOf(a.state ?? '') - order.indexOf(b.state ?? '') || (b.evaluated_at ?? 0) - (a.evaluated_at ?? 0));
          const counts = Object.keys(ALERT_TONE).map((k) => [k, rows.filter((r) => r.state === k).length] as const);
          return (
            <>
              <p class="alert-counts">
                {counts.map(([k, n]) => (
                  <span key={k} class="count-chip">
                    <Badge tone={ALERT_TONE[k]?.tone ?? 'muted'} icon={ALERT_TONE[k]?.icon}>
                      {ALERT_TONE[k]?.label}: {n}
                    </Badge>
                  </span>
                ))}
              </p>
              <p class="muted small">
                Alerts of the resource pool and of {watched} watched campaign{watched === 1 ? '' : 's'} (in distribution,
                monitoring or optimization, or named by a rule)
                {capped ? `; showing the ${ALERT_CAMPAIGNS} newest — open a campaign for the others` : ''}.
              </p>
              {!shown.length ? (
                <Empty>No alerts{state ? ' in this state' : ''}. Alerts appear after an evaluation run.</Empty>
              ) : (
                <Table
                  class="wide-table"
                  caption="Alert state per rule and scope"
                  columns={['State', 'Rule', 'Scope', ['Value', 'num'], 'Since', 'Episode', 'Evaluated']}
                >
                  {shown.slice(0, 200).map((a) => (
                    <tr key={`${a.owner} ${a.rule_id} ${a.scope}`}>
                      <td>
                        <StatusBadge look={ALERT_TONE[a.state ?? '']} fallback={a.state} />
                      </td>
                      <th scope="row">{ruleNames.get(a.rule_id) ?? a.rule_id}</th>
                      <td>
                        {a.owner === 'resources' ? (
                          'Resource pool'
                        ) : (
                          <Link href={`/campaigns/${encodeURIComponent(a.owner)}`}>{campaignName(names, a.owner)}</Link>
                        )}
                        {scopeDetail(a.scope, a.owner) ? <span class="muted small"> · {scopeDetail(a.scope, a.owner)}</span> : null}
                      </td>
                      <td class="num">{a.value === null || a.value === undefined ? '—' : num(a.value, 3)}</td>
                      <td>{dateTime(a.since)}</td>
                      <td>{a.episode ?? 0}</td>
                      <td>{dateTime(a.evaluated_at)}</td>
                    </tr>
                  ))}
                </Table>
              )}
            </>
          );
        }}
      </DataState>
    </Section>
  );
}

function TriggersPanel({
  triggers,
  status,
  names,
}: {
  triggers: ReturnType<typeof useLive<{ items: Trigger[]; next_cursor?: string | null }>>;
  status: TriggerStatus | '';
  names: Campaign[] | undefined;
}) {
  const action = useAction();
  const [reason, setReason] = useState('');
  const ops = can('operations');
  const act = (t: Trigger, what: 'approve' | 'reject' | 'replay') =>
    action.run(
      async () => {
        const path =
          what === 'approve' ? '/api/triggers/{id}/approve' : what === 'reject' ? '/api/triggers/{id}/reject' : '/api/triggers/{id}/replay';
        await post(path, { path: { id: t.id ?? '' }, body: reason.trim() ? { reason: reason.trim() } : {} });
        setReason('');
        void triggers.reload();
      },
      what === 'approve' ? 'Approved: it runs on the next dispatch.' : what === 'reject' ? 'Rejected.' : 'Back in the outbox: it runs on the next dispatch.',
    );
  return (
    <Section
      title="Trigger outbox"
      id="triggers"
      actions={
        <>
          <InlineSelect
            label="Status"
            value={status}
            options={[['', 'Any status'], ...choices(STATUS)]}
            onChange={(v) => setQuery({ status: v || null })}
          />
          <DownloadCsv
            path="/api/triggers"
            filename={`triggers${status ? `-${status}` : ''}.csv`}
            options={{ query: { limit: 200, ...(status ? { status } : {}) } }}
          />
        </>
      }
    >
      {ops ? (
        <Field label="Reason sent with your next decision (optional)" wide>
          <input maxLength={500} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
        </Field>
      ) : (
        <RoleNote>Operations approves, rejects and replays triggers.</RoleNote>
      )}
      <ActionResult action={action} />
      <DataState live={triggers} loadingLabel="Loading triggers…">
        {(page) =>
          !page.items.length ? (
            <Empty>No triggers{status ? ` with status “${STATUS[status].label}”` : ''}.</Empty>
          ) : (
            <ul class="triggers">
              {page.items.map((t) => {
                const st = STATUS[t.status ?? 'pending'];
                const own = t.requested_by === me.value?.sub;
                return (
                  <li key={t.id} class={`trigger trigger-${t.status}`}>
                    <div class="trigger-head">
                      <StatusBadge look={st} />{' '}
                      <strong class="trigger-rule">{t.rule_name}</strong>{' '}
                      <span class={`badge sev sev-${t.severity}`}>{titleCase(t.severity ?? '')}</span>{' '}
                      {t.campaign_id ? (
                        <Link href={`/campaigns/${encodeURIComponent(t.campaign_id)}`}>{campaignName(names, t.campaign_id)}</Link>
                      ) : (
                        <span>{t.scope}</span>
                      )}
                      {t.channel ? <span class="muted"> · {t.channel}</span> : null}
                    </div>
                    <p class="small">
                      {actionText(t.action)} · {t.approval === 'requires_approval' ? 'needs approval' : 'automatic'} · value{' '}
                      {t.value === null || t.value === undefined ? 'no data' : num(t.value, 4)} · attempts {t.attempts ?? 0}/
                      {t.max_attempts ?? '?'} · created {dateTime(t.created_at)}
                    </p>
                    <p class="small">
                      Requested by <ActorBadge actor={t.requested_by} />
                      {t.decided_by ? (
                        <>
                          {' '}
                          · decided by <ActorBadge actor={t.decided_by} />
                        </>
                      ) : null}
                    </p>
                    {t.last_error ? (
                      <p class="small error-text">
                        <span aria-hidden="true">⚠ </span>Last error: {t.last_error}
                      </p>
                    ) : null}
                    {ops ? (
                      <div class="form-actions">
                        {t.status === 'awaiting_approval' && !own ? (
                          <button type="button" class="btn btn-small btn-primary" disabled={action.busy} onClick={() => act(t, 'approve')}>
                            Approve trigger
                          </button>
                        ) : null}
                        {t.status === 'awaiting_approval' && own ? (
                          <span class="role-note small">You requested this run; another operations user approves it.</span>
                        ) : null}
                        {t.status === 'awaiting_approval' ? (
                          <button type="button" class="btn btn-small" disabled={action.busy} onClick={() => act(t, 'reject')}>
                            Reject trigger
                          </button>
                        ) : null}
                        {t.status === 'dead_letter' ? (
                          <button type="button" class="btn btn-small btn-primary" disabled={action.busy} onClick={() => act(t, 'replay')}>
                            Replay trigger
                          </button>
                        ) : null}
                      </div>
                    ) : null}
                  </li>
                );
              })}
            </ul>
          )
        }
      </DataState>
    </Section>
  );
}

/** The counts of a run, in column order. */
const RUN_COUNTS = ['rules', 'campaigns', 'fired', 'firing', 'pending', 'resolved', 'no_data'] as const;
const RUN_COLUMNS: Column[] = [
  'Run at',
  'Requested by',
  'Categories',
  ...RUN_COUNTS.map((k): Column => [titleCase(k), 'num']),
  ['Took', 'num'],
];

function RunsPanel({ runs }: { runs: ReturnType<typeof useLive<{ items: EvaluationRun[] }>> }) {
  return (
    <Section title="Recent evaluation runs" id="runs">
      <DataState live={runs} loadingLabel="Loading runs…">
        {(page) =>
          !page.items.length ? (
            <Empty>No evaluation runs yet. The scheduler runs them every minute where it is deployed.</Empty>
          ) : (
            <Table class="wide-table" caption="Evaluation runs, newest first" columns={RUN_COLUMNS}>
              {page.items.map((r) => (
                <tr key={r.id}>
                  <th scope="row">{dateTime(r.now)}</th>
                  <td>
                    <ActorBadge actor={r.requested_by} />
                  </td>
                  <td class="small">{(r.categories ?? []).map(titleCase).join(', ') || '—'}</td>
                  {RUN_COUNTS.map((k) => (
                    <td class="num" key={k}>
                      {num(r[k])}
                    </td>
                  ))}
                  <td class="num">{num(r.duration_ms)} ms</td>
                </tr>
              ))}
            </Table>
          )
        }
      </DataState>
    </Section>
  );
}

const ENABLED: Look = { tone: 'ok', icon: '●', label: 'Enabled' };
const DISABLED: Look = { tone: 'muted', icon: '□', label: 'Disabled' };

function RulesPanel({ rules, campaigns }: { rules: ReturnType<typeof useLive<MonitoringRule[]>>; campaigns: Campaign[] }) {
  const ops = can('operations');
  const [editing, setEditing] = useState<MonitoringRule | 'new' | null>(null);
  const action = useAction();
  const toggle = (r: MonitoringRule) =>
    action.run(async () => {
      await request('put', '/api/evaluations/rules/{id}', {
        path: { id: r.id ?? '' },
        ifMatch: r.version ?? 0,
        body: { ...ruleInputOf(r), enabled: r.enabled === false },
      });
      void rules.reload();
    }, r.enabled === false ? `“${r.name}” enabled.` : `“${r.name}” disabled.`);
  return (
    <Section
      title="Rules"
      id="rules"
      actions={
        ops && editing === null ? (
          <button type="button" class="btn btn-small btn-primary" onClick={() => setEditing('new')}>
            New rule
          </button>
        ) : null
      }
    >
      {!ops ? <RoleNote>Operations owns the monitoring rules.</RoleNote> : null}
      {editing ? (
        <RuleForm
          initial={editing === 'new' ? null : editing}
          campaigns={campaigns}
          onCancel={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            void rules.reload();
          }}
        />
      ) : null}
      <ActionResult action={action} />
      <DataState live={rules} loadingLabel="Loading rules…">
        {(list) =>
          !list.length ? (
            <Empty>No rules.</Empty>
          ) : (
            <Table
              class="wide-table"
              caption="Monitoring rules"
              columns={['Rule', 'Category', 'Scope', 'Condition', 'Action', 'Status', ops ? 'Actions' : null]}
            >
              {list.map((r) => (
                <tr key={r.id}>
                  <th scope="row">
                    {r.name}
                    {r.builtin ? <span class="badge tone-muted">Built-in</span> : null}
                  </th>
                  <td>{titleCase(r.category)}</td>
                  <td class="small">{scopeText(r.scope, campaigns)}</td>
                  <td class="small">{conditionText(r)}</td>
                  <td class="small">
                    {actionText(r.action)}
                    <br />
                    {r.approval === 'requires_approval' ? 'Needs approval' : 'Automatic'}
                  </td>
                  <td>
                    <StatusBadge look={r.enabled === false ? DISABLED : ENABLED} />
                  </td>
                  {ops ? (
                    <td class="nowrap">
                      <button type="button" class="btn btn-small" onClick={() => setEditing(r)}>
                        Edit<span class="sr-only"> rule {r.name}</span>
                      </button>{' '}
                      <button type="button" class="btn btn-small btn-ghost" disabled={action.busy} onClick={() => toggle(r)}>
                        {r.enabled === false ? 'Enable' : 'Disable'}
                        <span class="sr-only"> rule {r.name}</span>
                      </button>
                    </td>
                  ) : null}
                </tr>
              ))}
            </Table>
          )
        }
      </DataState>
    </Section>
  );
}

const CMP: Record<string, string> = { gt: '>', ge: '≥', lt: '<', le: '≤' };

export function scopeText(scope: unknown, campaigns: Campaign[]): string {
  const s = (scope ?? {}) as { kind?: string; campaign_id?: string; channel?: string; each_channel?: boolean };
  switch (s.kind) {
    case 'all_campaigns':
      return 'All campaigns';
    case 'campaign':
      return `Campaign ${campaignName(campaigns, s.campaign_id)}${s.each_channel ? ', per channel' : ''}`;
    case 'channel':
      return `Channel ${s.channel}`;
    case 'each_channel':
      return 'Each channel of each campaign';
    case 'resources':
      return 'Resource pool';
    default:
      return String(s.kind ?? '—');
  }
}

export function conditionText(r: MonitoringRule): string {
  const m = (r.metric ?? {}) as Record<string, unknown>;
  let metric: string;
  switch (m.kind) {
    case 'kpi_pace':
      metric = `pace of ${m.kpi ?? 'worst KPI'}`;
      break;
    case 'ratio':
      metric = `(${(m.numerator as string[]).join('+')}) / (${(m.denominator as string[]).join('+')}) over ${Number(m.window_secs) / 3600} h`;
      break;
    case 'baseline_change':
      metric = `change of (${(m.numerator as string[]).join('+')}) / (${(m.denominator as string[]).join('+')}) vs ${Number(m.baseline_secs) / 3600} h baseline`;
      break;
    case 'utilization':
      metric = `peak utilization next ${m.horizon_days} days`;
      break;
    default:
      metric = String(m.kind);
  }
  const clear = r.clear_threshold !== undefined && r.clear_threshold !== r.fire_threshold ? `, clears at ${r.clear_threshold}` : '';
  const forN = r.for && r.for > 1 ? `, ${r.for} evaluations in a row` : '';
  return `${metric} ${CMP[r.comparator] ?? r.comparator} ${r.fire_threshold}${clear}${forN}`;
}
