// Process: how work flows, for process-excellence leads (GET /api/analytics/process).
// Where time goes (bottleneck ranking, time per campaign stage, longest
// handoffs), approvals (turnaround per step and reviewer, the queue now),
// rework, on-time content, automation (trigger funnel, effects) and weekly
// utilization. Filters live in the URL; every table downloads as CSV.
import type { ComponentChildren } from 'preact';
import { useId, useMemo, useState } from 'preact/hooks';
import { describeError, get, getAll, post } from '../api/client';
import type { Campaign, MonitoringRule } from '../api/types';
import { can } from '../auth';
import { BarChart, type BarData } from '../components/BarChart';
import { CampaignSelect } from '../components/CampaignSelect';
import { DownloadCsv } from '../components/DownloadCsv';
import { Badge, DataState, Empty, Link, PageHead, Section, Table, Updated } from '../components/ui';
import { campaignName, knownChannels, useCampaigns } from '../lib/campaigns';
import { addDays, dateOnly, dateTime, isoDay, money, num, titleCase, todayUtc } from '../lib/format';
import { type Live, useLive } from '../lib/live';
import {
  type ActionEffect,
  type Bottleneck,
  type Effects,
  duration,
  durationUnit,
  isEmpty,
  isoWeeksTouched,
  mondayOf,
  onTimeTotal,
  type ProcessAnalytics,
  type ProcessTable,
  ratio,
  share,
  type StageTime,
  type Turnaround,
  type WeekUtilization,
} from '../lib/process';
import { location, setQuery } from '../router';

type Team = 'marketing' | 'operations';
type Query = { from?: string; to?: string; campaign_id?: string; channel?: string; owner?: string; team?: Team };

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const MAX_WEEKS = 8;

const COLORS = { median: '#1d4ed8', p90: '#b45309', campaign_stage: '#6d28d9', approval_stage: '#0f766e' };
const KIND_LABEL: Record<Bottleneck['kind'], string> = { campaign_stage: 'Campaign stage', approval_stage: 'Approval step' };

function dayParam(v: string | null): string {
  return v && DAY.test(v) ? v : '';
}

export default function Process() {
  const q = new URLSearchParams(location.value.search);
  const f = {
    from: dayParam(q.get('from')),
    to: dayParam(q.get('to')),
    campaign_id: q.get('campaign_id') ?? '',
    channel: q.get('channel') ?? '',
    owner: q.get('owner') ?? '',
    team: (q.get('team') === 'marketing' || q.get('team') === 'operations' ? q.get('team') : '') as Team | '',
  };
  // What the API defaults to: the 28 days ending today (UTC).
  const shownTo = f.to || isoDay(todayUtc());
  const shownFrom = f.from || isoDay(addDays(new Date(`${shownTo}T00:00:00Z`), -27));
  const query: Query = {};
  if (f.from) query.from = f.from;
  if (f.to) query.to = f.to;
  if (f.campaign_id) query.campaign_id = f.campaign_id;
  if (f.channel) query.channel = f.channel;
  if (f.owner) query.owner = f.owner;
  if (f.team) query.team = f.team;
  const key = JSON.stringify(query);

  const campaigns = useCampaigns();
  // The figures come from rollups kept as events happen: a minute between refreshes is plenty.
  const data = useLive((signal) => get('/api/analytics/process', { query, signal }), [key], { interval: 60_000 });
  const effects = useLive((signal) => get('/api/analytics/effects', { query, signal }), [key], { interval: 60_000 });
  const rules = useLive(
    () => getAll<MonitoringRule, '/api/evaluations/rules'>('/api/evaluations/rules', { max: 1_000 }).catch(() => [] as MonitoringRule[]),
    [],
    { refresh: false },
  );
  const filtered = !!(f.campaign_id || f.channel || f.owner || f.team);

  return (
    <div class="page page-wide process">
      <PageHead
        title="Process"
        sub={
          <>
            Where time goes from stage to stage, in review and in automation, {dateOnly(data.data?.period.from ?? shownFrom)} –{' '}
            {dateOnly(data.data?.period.to ?? shownTo)} (UTC days)
            {data.data?.period.weeks.length ? `, ISO weeks ${weekRange(data.data.period.weeks)}` : ''}.
          </>
        }
        actions={<Updated lives={[data, effects]} />}
      />
      <Filters f={f} from={shownFrom} to={shownTo} campaigns={campaigns.data} />
      <DataState live={data} loadingLabel="Loading process figures…">
        {(p) =>
          isEmpty(p) ? (
            <NoData filtered={filtered} onRebuilt={() => void data.reload()} />
          ) : (
            <Figures p={p} query={query} campaigns={campaigns.data} rules={rules.data} effects={effects} />
          )
        }
      </DataState>
    </div>
  );
}

function weekRange(weeks: string[]): string {
  if (weeks.length === 1) return weeks[0];
  return `${weeks[0]} – ${weeks[weeks.length - 1]}`;
}

/** The period and the filters, kept in the URL. */
function Filters({
  f,
  from,
  to,
  campaigns,
}: {
  f: { from: string; to: string; campaign_id: string; channel: string; owner: string; team: Team | '' };
  from: string;
  to: string;
  campaigns: Campaign[] | undefined;
}) {
  const channels = knownChannels(campaigns);
  if (f.channel && !channels.includes(f.channel)) channels.push(f.channel);
  const owners = useMemo(() => {
    const s = new Set<string>();
    for (const c of campaigns ?? []) {
      if (c.marketing_owner) s.add(c.marketing_owner);
      if (c.operations_owner) s.add(c.operations_owner);
    }
    if (f.owner) s.add(f.owner);
    return [...s].sort();
  }, [campaigns, f.owner]);
  const span = Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000) + 1;
  const shift = (days: number) =>
    setQuery({
      from: isoDay(addDays(new Date(`${from}T00:00:00Z`), days)),
      to: isoDay(addDays(new Date(`${to}T00:00:00Z`), days)),
    });
  const weeks = from <= to ? isoWeeksTouched(from, to) : 0;
  const today = todayUtc();
  const campaignId = useId();
  return (
    <div class="filters process-filters" role="group" aria-label="Period and filters">
      <div class="process-period">
        <label class="field">
          <span class="field-label">From</span>
          <input type="date" value={from} max={to} onChange={(e) => setQuery({ from: e.currentTarget.value || null })} />
        </label>
        <label class="field">
          <span class="field-label">To</span>
          <input type="date" value={to} min={from} onChange={(e) => setQuery({ to: e.currentTarget.value || null })} />
        </label>
        <div class="process-period-buttons">
          <button type="button" class="btn btn-small" onClick={() => shift(span > 0 ? -span : -28)} aria-label="Earlier period">
            ← Earlier
          </button>
          <button type="button" class="btn btn-small" onClick={() => shift(span > 0 ? span : 28)} aria-label="Later period">
            Later →
          </button>
          <button type="button" class="btn btn-small" aria-pressed={!f.from && !f.to} onClick={() => setQuery({ from: null, to: null })}>
            Last 28 days
          </button>
          <button
            type="button"
            class="btn btn-small"
            onClick={() => setQuery({ from: isoDay(addDays(mondayOf(today), -7 * (MAX_WEEKS - 1))), to: isoDay(today) })}
          >
            Last 8 weeks
          </button>
        </div>
      </div>
      <div class="process-scope">
        <div class="field">
          <label class="field-label" for={campaignId}>
            Campaign
          </label>
          <CampaignSelect
            id={campaignId}
            campaigns={campaigns}
            value={f.campaign_id}
            onChange={(id) => setQuery({ campaign_id: id || null })}
            emptyLabel="All campaigns"
            required={false}
            includeClosed
          />
        </div>
        <Select label="Channel" value={f.channel} options={[['', 'All channels'], ...channels.map((c): [string, string] => [c, c])]} onChange={(v) => setQuery({ channel: v || null })} />
        <Select label="Owner" value={f.owner} options={[['', 'All owners'], ...owners.map((o): [string, string] => [o, o])]} onChange={(v) => setQuery({ owner: v || null })} />
        <Select
          label="Team"
          value={f.team}
          options={[
            ['', 'Both teams'],
            ['marketing', 'Marketing'],
            ['operations', 'Operations'],
          ]}
          onChange={(v) => setQuery({ team: v || null })}
        />
        {f.campaign_id || f.channel || f.owner || f.team ? (
          <button type="button" class="btn btn-small btn-ghost" onClick={() => setQuery({ campaign_id: null, channel: null, owner: null, team: null })}>
            Clear filters
          </button>
        ) : null}
      </div>
      {from > to ? (
        <p class="notice notice-warn process-filter-note" role="status">
          <span aria-hidden="true">! </span>The first day is after the last.
        </p>
      ) : weeks > MAX_WEEKS ? (
        <p class="notice notice-warn process-filter-note" role="status">
          <span aria-hidden="true">! </span>A period spans at most {MAX_WEEKS} ISO weeks; this one touches {weeks}. Shorten it.
        </p>
      ) : f.channel ? (
        <p class="muted small process-filter-note">The channel filter applies to content figures; campaign-stage times are for whole campaigns.</p>
      ) : null}
    </div>
  );
}

/** A drop-down with its label above it: `options` are [value, text] pairs. */
function Select({ label, value, options, onChange }: { label: string; value: string; options: [string, string][]; onChange: (v: string) => void }) {
  const id = useId();
  return (
    <div class="field">
      <label class="field-label" for={id}>
        {label}
      </label>
      <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        {options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
    </div>
  );
}

/** A new install (or filters that match nothing): what will appear, and for an admin, a rebuild from the audit logs. */
function NoData({ filtered, onRebuilt }: { filtered: boolean; onRebuilt: () => void }) {
  return (
    <Section title="No process figures yet" id="process-empty">
      <Empty>
        {filtered
          ? 'Nothing matches these filters in this period. Try a longer period, or clear the filters.'
          : 'Nothing has happened in this period yet. Figures appear here as campaigns move between stages, content is reviewed, approved and scheduled, triggers fire and resources are allocated.'}
      </Empty>
      {!filtered && can('admin') ? <Backfill onDone={onRebuilt} /> : null}
    </Section>
  );
}

function Backfill({ onDone }: { onDone: () => void }) {
  const [state, setState] = useState<{ busy: boolean; text: string | null; error: string | null }>({ busy: false, text: null, error: null });
  const run = async () => {
    setState({ busy: true, text: 'Reading the audit logs…', error: null });
    let campaigns = 0;
    let samples = 0;
    try {
      for (let i = 0, restart = true; i < 500; i++, restart = false) {
        const r = await post('/api/analytics/backfill', { query: { restart, limit: 100 } });
        campaigns += r.campaigns;
        samples += r.samples;
        setState({ busy: true, text: `Read ${num(campaigns)} campaigns, ${num(samples)} samples…`, error: null });
        if (r.done) break;
      }
      setState({ busy: false, text: `Done: ${num(campaigns)} campaigns read, ${num(samples)} samples written.`, error: null });
      onDone();
    } catch (e) {
      setState({ busy: false, text: null, error: describeError(e) });
    }
  };
  return (
    <div class="process-backfill">
      <p class="small">
        History from before the figures were kept (an upgrade) can be rebuilt from the audit logs. It is safe to run again.
      </p>
      <button type="button" class="btn btn-small" disabled={state.busy} onClick={() => void run()}>
        Rebuild figures from the audit logs
      </button>
      {state.text ? (
        <p class="small" role="status">
          {state.text}
        </p>
      ) : null}
      {state.error ? (
        <p class="field-error" role="alert">
          {state.error}
        </p>
      ) : null}
    </div>
  );
}

/** The period in a file name, when one is chosen. */
function periodSuffix(query: Query): string {
  return query.from || query.to ? `-${query.from ?? ''}_${query.to ?? ''}` : '';
}

/** "Download CSV" of one table of the figures, with the view's filters. */
function Csv({ table, query, what }: { table: ProcessTable; query: Query; what: string }) {
  return (
    <DownloadCsv
      path="/api/analytics/process"
      filename={`process-${table}${periodSuffix(query)}.csv`}
      options={{ query: { ...query, table } }}
      what={what}
    />
  );
}

/** A titled part of a section, with its CSV download. */
function Block({ title, table, query, children, note, actions }: { title: string; table?: ProcessTable; query: Query; children: ComponentChildren; note?: ComponentChildren; actions?: ComponentChildren }) {
  const id = useId();
  return (
    <section class="process-block" aria-labelledby={id}>
      <div class="panel-head">
        <h3 id={id}>{title}</h3>
        {actions ?? (table ? <Csv table={table} query={query} what={title} /> : null)}
      </div>
      {note ? <p class="muted small">{note}</p> : null}
      {children}
    </section>
  );
}

function Figures({ p, query, campaigns, rules, effects }: { p: ProcessAnalytics; query: Query; campaigns: Campaign[] | undefined; rules: MonitoringRule[] | undefined; effects: Live<Effects> }) {
  return (
    <>
      <Glance p={p} />
      <Bottlenecks p={p} query={query} />
      <Stages p={p} query={query} campaigns={campaigns} />
      <Approvals p={p} query={query} />
      <div class="process-pair">
        <Rework p={p} query={query} />
        <OnTimeSection p={p} query={query} campaigns={campaigns} />
      </div>
      <Automation p={p} query={query} campaigns={campaigns} rules={rules} effects={effects} />
      <UtilizationSection rows={p.utilization} weeks={p.period.weeks} query={query} />
    </>
  );
}

/** The headline figures. */
function Glance({ p }: { p: ProcessAnalytics }) {
  const waiting = p.approvals.queue.reduce((n, q) => n + q.waiting, 0);
  const oldest = p.approvals.queue.reduce((m, q) => (q.waiting > 0 ? Math.max(m, q.oldest_seconds) : m), 0);
  const ot = onTimeTotal(p.on_time.by_channel);
  const top = p.bottlenecks.find((b) => b.waiting_seconds > 0);
  const t = p.automation.triggers;
  const tiles: { label: string; value: string; sub: string; tone?: 'warn' }[] = [
    {
      label: 'Biggest bottleneck',
      value: top ? titleCase(top.name) : '—',
      sub: top ? `${KIND_LABEL[top.kind].toLowerCase()}: ${duration(top.waiting_seconds)} waiting in total` : 'no waiting time recorded',
    },
    {
      label: 'Decisions waiting now',
      value: num(waiting),
      sub: waiting ? `oldest waiting ${duration(oldest)}` : 'nothing in the queue',
      tone: oldest > 2 * 86_400 ? 'warn' : undefined,
    },
    {
      label: 'Rework',
      value: share(p.rework.share),
      sub: `${num(p.rework.items_reworked)} of ${num(p.rework.items_reviewed)} reviewed ${plural(p.rework.items_reviewed, 'item')}`,
    },
    {
      label: 'On time',
      value: share(ot.share),
      sub: `${num(ot.on_time)} of ${items(ot.items)} with a due time`,
    },
    {
      label: 'Approved automatically',
      value: share(p.automation.auto_share),
      sub: `${num(p.automation.auto_approved_items)} of ${num(p.automation.approved_items)} approved ${plural(p.automation.approved_items, 'item')}`,
    },
    {
      label: 'Triggers succeeded',
      value: share(ratio(t.succeeded, t.fired)),
      sub: `${num(t.succeeded)} of ${num(t.fired)} fired`,
    },
  ];
  return (
    <section class="process-glance" aria-label="At a glance">
      <ul class="tiles">
        {tiles.map((x) => (
          <li key={x.label} class={x.tone ? `tile tile-${x.tone}` : 'tile'}>
            <span class="tile-label">{x.label}</span>
            <span class="tile-value">{x.value}</span>
            <span class="tile-sub">{x.sub}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Bottlenecks({ p, query }: { p: ProcessAnalytics; query: Query }) {
  const rows = p.bottlenecks.filter((b) => b.waiting_seconds > 0 || b.count > 0);
  const chart = useMemo((): BarData | null => {
    const top = rows.slice(0, 10);
    // Nothing to draw while every wait rounds to nothing (the table says "0 s").
    if (!top.some((b) => b.waiting_seconds > 0)) return null;
    const unit = durationUnit(Math.max(...top.map((b) => b.waiting_seconds)));
    const label = (b: Bottleneck) => `${titleCase(b.name)}${b.kind === 'approval_stage' ? ' review' : ''}`;
    return {
      categories: top.map(label),
      unit: `total waiting, ${unit.label}`,
      format: (v) => (v === null ? '—' : duration(v * unit.seconds)),
      series: (['campaign_stage', 'approval_stage'] as const)
        .filter((k) => top.some((b) => b.kind === k))
        .map((k) => ({
          label: KIND_LABEL[k],
          color: COLORS[k],
          values: top.map((b) => (b.kind === k ? b.waiting_seconds / unit.seconds : null)),
        })),
    };
  }, [p]);
  return (
    <Section title="Bottlenecks" id="bottlenecks" actions={<Csv table="bottlenecks" query={query} what="bottlenecks" />}>
      <p class="muted small">Total waiting time added in the period, largest first: time campaigns spent in a stage and content waited for an approval step.</p>
      {!rows.length ? (
        <Empty>No waiting time recorded in this period.</Empty>
      ) : (
        <div class="process-chart-table">
          {chart ? <BarChart data={chart} label="Total waiting time per campaign stage and approval step, largest first" /> : null}
          <Table scrollFocus caption="Bottleneck ranking" columns={['#', 'Where', 'Kind', ['Total waiting', 'num'], ['Samples', 'num'], ['Average', 'num']]}>
            {rows.map((b, i) => (
              <tr key={`${b.kind}-${b.name}`}>
                <td class="num">{i + 1}</td>
                <th scope="row">{titleCase(b.name)}</th>
                <td>{KIND_LABEL[b.kind]}</td>
                <td class="num nowrap">{duration(b.waiting_seconds)}</td>
                <td class="num">{num(b.count)}</td>
                <td class="num nowrap">{b.count ? duration(b.waiting_seconds / b.count) : '—'}</td>
              </tr>
            ))}
          </Table>
        </div>
      )}
    </Section>
  );
}

const DURATION_COLUMNS = [['Samples', 'num'], ['Median', 'num'], ['90th percentile', 'num'], ['Longest', 'num'], ['Total', 'num']] as [string, 'num'][];

function DurationCells({ d }: { d: { count: number; median_seconds: number | null; p90_seconds: number | null; max_seconds: number | null; total_seconds: number } }) {
  return (
    <>
      <td class="num">{num(d.count)}</td>
      <td class="num nowrap">{duration(d.median_seconds)}</td>
      <td class="num nowrap">{duration(d.p90_seconds)}</td>
      <td class="num nowrap">{duration(d.max_seconds)}</td>
      <td class="num nowrap">{d.count ? duration(d.total_seconds) : '—'}</td>
    </>
  );
}

function Stages({ p, query, campaigns }: { p: ProcessAnalytics; query: Query; campaigns: Campaign[] | undefined }) {
  const stages = p.stages.filter((s) => s.count > 0);
  const chart = useMemo((): BarData | null => {
    if (!stages.some((s) => (s.p90_seconds ?? 0) > 0)) return null;
    const unit = durationUnit(Math.max(...stages.map((s) => s.p90_seconds ?? 0)));
    const v = (x: number | null) => (x === null ? null : x / unit.seconds);
    return {
      categories: stages.map((s) => titleCase(s.stage)),
      unit: unit.label,
      grouped: true,
      format: (x) => (x === null ? '—' : duration(x * unit.seconds)),
      series: [
        { label: 'Median', color: COLORS.median, values: stages.map((s) => v(s.median_seconds)) },
        { label: '90th percentile', color: COLORS.p90, values: stages.map((s) => v(s.p90_seconds)) },
      ],
    };
  }, [p]);
  return (
    <Section title="Time in campaign stages" id="stages" actions={<Csv table="stages" query={query} what="time in campaign stages" />}>
      <p class="muted small">How long campaigns stayed in a stage before moving on (stages left in the period).</p>
      {!stages.length ? (
        <Empty>No campaign left a stage in this period.</Empty>
      ) : (
        <div class="process-chart-table">
          {chart ? <BarChart data={chart} label="Median and 90th percentile time in each campaign stage" /> : null}
          <Table scrollFocus caption="Time in campaign stages" columns={['Stage', 'Team', ...DURATION_COLUMNS]}>
            {stages.map((s: StageTime) => (
              <tr key={s.stage}>
                <th scope="row">{titleCase(s.stage)}</th>
                <td>{s.team ? titleCase(s.team) : '—'}</td>
                <DurationCells d={s} />
              </tr>
            ))}
          </Table>
        </div>
      )}
      <Block title="Longest handoffs" table="handoffs" query={query}>
        {!p.longest_handoffs.length ? (
          <Empty>No handoffs in this period.</Empty>
        ) : (
          <Table scrollFocus caption="Longest handoffs" columns={['Campaign', 'Handoff', ['Waited', 'num'], 'When']}>
            {p.longest_handoffs.map((h, i) => (
              <tr key={`${h.campaign_id}-${h.at}-${i}`}>
                <th scope="row">
                  <Link href={`/campaigns/${encodeURIComponent(h.campaign_id)}`}>{h.campaign_name || campaignName(campaigns, h.campaign_id)}</Link>
                </th>
                <td class="nowrap">
                  {titleCase(h.from)} <span aria-hidden="true">→</span>
                  <span class="sr-only">to</span> {titleCase(h.to)}
                </td>
                <td class="num nowrap">{duration(h.waited_seconds)}</td>
                <td class="nowrap">{dateTime(h.at)}</td>
              </tr>
            ))}
          </Table>
        )}
      </Block>
    </Section>
  );
}

function TurnaroundTable({ rows, caption, first }: { rows: Turnaround[]; caption: string; first: string }) {
  return (
    <Table scrollFocus caption={caption} columns={[first, ...DURATION_COLUMNS]}>
      {rows.map((r) => (
        <tr key={r.key}>
          <th scope="row">{first === 'Reviewer' ? r.key : titleCase(r.key)}</th>
          <DurationCells d={r} />
        </tr>
      ))}
    </Table>
  );
}

function Approvals({ p, query }: { p: ProcessAnalytics; query: Query }) {
  const queue = p.approvals.queue;
  const byStage = p.approvals.by_stage.filter((r) => r.count > 0);
  const byReviewer = p.approvals.by_reviewer.filter((r) => r.count > 0).sort((a, b) => (b.median_seconds ?? 0) - (a.median_seconds ?? 0));
  return (
    <Section title="Approvals" id="approvals">
      <div class="process-pair process-pair-inner">
        <Block title="Review queue now" table="queue" query={query} note="Items waiting for each step's decision at this moment, whatever the period (items in review for more than 8 weeks are left out).">
          {!queue.some((q) => q.waiting > 0) ? (
            <Empty>Nothing is waiting for a decision.</Empty>
          ) : (
            <Table scrollFocus caption="Review queue now" columns={['Approval step', ['Waiting', 'num'], ['Oldest wait', 'num']]}>
              {queue.map((q) => (
                <tr key={q.stage}>
                  <th scope="row">{titleCase(q.stage)}</th>
                  <td class="num">{num(q.waiting)}</td>
                  <td class="num nowrap">
                    {q.waiting ? duration(q.oldest_seconds) : '—'}
                    {q.waiting && q.oldest_seconds > 2 * 86_400 ? (
                      <>
                        {' '}
                        <Badge tone="warn" icon="!">
                          over 2 days
                        </Badge>
                      </>
                    ) : null}
                  </td>
                </tr>
              ))}
            </Table>
          )}
        </Block>
        <Block title="Turnaround by approval step" table="approval_stages" query={query} note="From the start of the item's review round (submit, or reopen after an edit) to each decision of the step.">
          {!byStage.length ? <Empty>No decisions in this period.</Empty> : <TurnaroundTable rows={byStage} caption="Turnaround by approval step" first="Approval step" />}
        </Block>
      </div>
      <Block title="Turnaround by reviewer" table="reviewers" query={query} note="From the start of the item's review round to the reviewer's decision (approval or changes requested); slowest median first.">
        {!byReviewer.length ? <Empty>No reviewer decided anything in this period.</Empty> : <TurnaroundTable rows={byReviewer} caption="Turnaround by reviewer" first="Reviewer" />}
      </Block>
    </Section>
  );
}

function Rework({ p, query }: { p: ProcessAnalytics; query: Query }) {
  const r = p.rework;
  return (
    <Section title="Rework" id="rework" actions={<Csv table="rework" query={query} what="rework" />}>
      {!r.items_reviewed ? (
        <Empty>No content was reviewed in this period.</Empty>
      ) : (
        <dl class="figures">
          <div>
            <dt>Reworked</dt>
            <dd>
              <strong>{share(r.share)}</strong> <span class="muted">({num(r.items_reworked)} of {num(r.items_reviewed)} reviewed {plural(r.items_reviewed, 'item')})</span>
            </dd>
          </div>
          <div>
            <dt>Changes requested</dt>
            <dd>{items(r.changes_requested_items)}</dd>
          </div>
          <div>
            <dt>Edited after approval</dt>
            <dd>{items(r.edited_after_approval_items)}</dd>
          </div>
          <div>
            <dt>Review rounds per item</dt>
            <dd>
              {num(r.rounds_mean, 1)} on average, {num(r.rounds_max)} at most
            </dd>
          </div>
        </dl>
      )}
    </Section>
  );
}

function OnTimeTable({ rows, caption, first, name }: { rows: { key: string; items: number; on_time: number; late: number; share: number | null }[]; caption: string; first: string; name: (key: string) => ComponentChildren }) {
  return (
    <Table scrollFocus caption={caption} columns={[first, ['Items', 'num'], ['On time', 'num'], ['Late', 'num'], ['On-time share', 'num']]}>
      {rows.map((r) => (
        <tr key={r.key}>
          <th scope="row">{name(r.key)}</th>
          <td class="num">{num(r.items)}</td>
          <td class="num">{num(r.on_time)}</td>
          <td class="num">{r.late ? <strong class="error-text">{num(r.late)}</strong> : num(r.late)}</td>
          <td class="num">{share(r.share)}</td>
        </tr>
      ))}
    </Table>
  );
}

function OnTimeSection({ p, query, campaigns }: { p: ProcessAnalytics; query: Query; campaigns: Campaign[] | undefined }) {
  const channels = p.on_time.by_channel.filter((r) => r.items > 0);
  const byCampaign = p.on_time.by_campaign.filter((r) => r.items > 0).sort((a, b) => (a.share ?? 1) - (b.share ?? 1));
  return (
    <Section title="On time" id="on-time">
      <p class="muted small">Content with a due time, approved (and scheduled, when it was) before it was due.</p>
      <Block title="By channel" table="on_time_channels" query={query}>
        {!channels.length ? <Empty>No content with a due time was approved in this period.</Empty> : <OnTimeTable rows={channels} caption="On time by channel" first="Channel" name={(k) => k} />}
      </Block>
      <Block title="By campaign" table="on_time_campaigns" query={query} note={byCampaign.length > 1 ? 'Lowest on-time share first.' : undefined}>
        {!byCampaign.length ? (
          <Empty>No campaign had content due in this period.</Empty>
        ) : (
          <OnTimeTable
            rows={byCampaign}
            caption="On time by campaign"
            first="Campaign"
            name={(k) => <Link href={`/campaigns/${encodeURIComponent(k)}`}>{campaignName(campaigns, k)}</Link>}
          />
        )}
      </Block>
    </Section>
  );
}

function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
}

function items(n: number): string {
  return `${num(n)} ${plural(n, 'item')}`;
}

function metricValue(v: number | null): string {
  if (v === null) return '—';
  return Math.abs(v) < 1 && v !== 0 ? v.toLocaleString([], { maximumSignificantDigits: 3 }) : num(v, 2);
}

function Automation({ p, query, campaigns, rules, effects }: { p: ProcessAnalytics; query: Query; campaigns: Campaign[] | undefined; rules: MonitoringRule[] | undefined; effects: Live<Effects> }) {
  const a = p.automation;
  const t = a.triggers;
  const ruleName = (id: string) => rules?.find((r) => r.id === id)?.name ?? id;
  const funnel: { step: string; n: number; note: string }[] = [
    { step: 'Fired', n: t.fired, note: 'rules whose condition held (counted once attempted or decided: one awaiting approval counts when decided)' },
    { step: 'Executed', n: t.executed, note: 'actions run' },
    { step: 'Succeeded', n: t.succeeded, note: 'actions that worked' },
    { step: 'Dead-lettered', n: t.dead_lettered, note: 'failed after every retry' },
    { step: 'Rejected', n: t.rejected, note: 'turned down by a person' },
  ];
  return (
    <Section title="Automation" id="automation">
      <p>
        <strong>{share(a.auto_share)}</strong> of approved content was approved automatically ({num(a.auto_approved_items)} of {num(a.approved_items)}).
        {a.firing_to_action.count ? (
          <>
            {' '}
            From a rule firing to its action: median <strong>{duration(a.firing_to_action.median_seconds)}</strong>, 90th percentile{' '}
            {duration(a.firing_to_action.p90_seconds)}, longest {duration(a.firing_to_action.max_seconds)} ({num(a.firing_to_action.count)} actions).
          </>
        ) : null}
      </p>
      <div class="process-automation">
        <Block title="Trigger funnel" table="triggers" query={query}>
          {!t.fired ? (
            <Empty>No rule fired in this period.</Empty>
          ) : (
            <Table scrollFocus caption="Trigger funnel" columns={['Step', ['Triggers', 'num'], ['Of fired', 'num'], 'Meaning']}>
              {funnel.map((s) => (
                <tr key={s.step} class={s.step === 'Dead-lettered' && s.n ? 'row-bad' : undefined}>
                  <th scope="row">{s.step}</th>
                  <td class="num">{num(s.n)}</td>
                  <td class="num">{share(ratio(s.n, t.fired))}</td>
                  <td class="muted small">{s.note}</td>
                </tr>
              ))}
            </Table>
          )}
        </Block>
        <Block
          title="Effects of actions"
          query={query}
          actions={<DownloadCsv path="/api/analytics/effects" filename={`process-effects${periodSuffix(query)}.csv`} options={{ query }} what="effects of actions" />}
          note="The latest actions that succeeded in the period (20 at most): the value the rule measured when it fired, and its measurement over the same windows 24 h after the action, once those 24 h have passed."
        >
          <DataState live={effects} loadingLabel="Loading effects…">
            {(eff) => !eff.items.length ? (
              <Empty>No automated action succeeded in this period.</Empty>
            ) : (
              <Table scrollFocus caption="Effects of automated actions" columns={['Acted', 'Campaign', 'Rule', 'Metric', ['Before', 'num'], ['After', 'num'], ['Change', 'num']]}>
                {eff.items.map((e: ActionEffect) => {
                  const change = e.before !== null && e.after !== null && e.before !== 0 ? (e.after - e.before) / Math.abs(e.before) : null;
                  return (
                    <tr key={e.trigger_id}>
                      <td class="nowrap">{dateTime(e.acted_at)}</td>
                      <td>{e.campaign_id ? <Link href={`/campaigns/${encodeURIComponent(e.campaign_id)}`}>{campaignName(campaigns, e.campaign_id)}</Link> : '—'}</td>
                      <th scope="row">{ruleName(e.rule_id)}</th>
                      <td>{e.metric.replace(/_/g, ' ')}</td>
                      <td class="num">{metricValue(e.before)}</td>
                      <td class="num">{e.after === null ? <span class="muted small">not yet</span> : metricValue(e.after)}</td>
                      <td class="num nowrap">{change === null ? '—' : `${change > 0 ? '+' : ''}${share(change)}`}</td>
                    </tr>
                  );
                })}
              </Table>
            )}
          </DataState>
        </Block>
      </div>
    </Section>
  );
}

function UtilizationSection({ rows, weeks, query }: { rows: WeekUtilization[]; weeks: string[]; query: Query }) {
  const [showIdle, setShowIdle] = useState(false);
  // Busiest first (the highest week), then by name; resources with nothing allocated apart.
  const { busy, idle } = useMemo(() => {
    const m = new Map<string, { name: string; peak: number; allocated: number; byWeek: Map<string, WeekUtilization> }>();
    for (const r of rows) {
      let e = m.get(r.resource_id);
      if (!e) m.set(r.resource_id, (e = { name: r.resource_name || r.resource_id, peak: 0, allocated: 0, byWeek: new Map() }));
      e.byWeek.set(r.week, r);
      e.peak = Math.max(e.peak, r.utilization ?? 0);
      e.allocated += allocatedOf(r);
    }
    const all = [...m.entries()].sort((a, b) => b[1].peak - a[1].peak || a[1].name.localeCompare(b[1].name));
    return { busy: all.filter(([, e]) => e.allocated > 0), idle: all.filter(([, e]) => e.allocated === 0) };
  }, [rows]);
  const resources = showIdle ? [...busy, ...idle] : busy;
  const cols = weeks.length ? weeks : [...new Set(rows.map((r) => r.week))].sort();
  const over = rows.filter((r) => (r.utilization ?? 0) > 1);
  return (
    <Section title="Utilization per week" id="utilization" actions={<Csv table="utilization" query={query} what="utilization" />}>
      {!busy.length && !showIdle ? (
        <Empty>No resource was allocated in this period.</Empty>
      ) : (
        <>
          {over.length ? (
            <p class="notice notice-warn" role="status">
              <span aria-hidden="true">! </span>
              {over.length} resource-week{over.length === 1 ? '' : 's'} over capacity (marked “!”).
            </p>
          ) : (
            <p class="notice notice-ok">
              <span aria-hidden="true">✓ </span>No resource is over capacity in any week.
            </p>
          )}
          <div class="table-wrap" tabIndex={0}>
            <table class="util-table">
              <caption class="sr-only">Allocated amount (hours; money for budget pools) as a share of capacity, per resource and ISO week; cells marked ! are over capacity</caption>
              <thead>
                <tr>
                  <th scope="col" class="sticky-col">
                    Resource
                  </th>
                  {cols.map((w) => (
                    <th scope="col" class="num" key={w}>
                      {w}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {resources.map(([id, r]) => (
                  <tr key={id}>
                    <th scope="row" class="sticky-col">
                      {r.name}
                    </th>
                    {cols.map((w) => {
                      const u = r.byWeek.get(w);
                      if (!u) return <td key={w} class="num muted">—</td>;
                      const isOver = (u.utilization ?? 0) > 1;
                      const hours = u.unit === 'minor_units' ? `${money(u.allocated)} of ${money(u.capacity)}` : `${num(u.allocated)} of ${num(u.capacity)} h`;
                      return (
                        <td key={w} class={isOver ? 'num util util-over' : 'num util'} title={hours}>
                          <span class="util-share">
                            {isOver ? <span aria-hidden="true">! </span> : null}
                            {u.utilization === null ? <span class="muted small">no capacity</span> : share(u.utilization)}
                          </span>
                          <span class="util-hours">{hours}</span>
                          {isOver ? <span class="sr-only"> (over capacity)</span> : null}
                        </td>
                      );
                    })}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      {idle.length ? (
        <button type="button" class="btn btn-small btn-ghost" aria-expanded={showIdle} onClick={() => setShowIdle((v) => !v)}>
          {showIdle ? 'Hide' : 'Show'} {idle.length} resource{idle.length === 1 ? '' : 's'} with nothing allocated
        </button>
      ) : null}
    </Section>
  );
}

/** Allocated amount of a resource-week (hours, or a budget pool's minor units). */
function allocatedOf(u: WeekUtilization): number {
  return u.allocated;
}
