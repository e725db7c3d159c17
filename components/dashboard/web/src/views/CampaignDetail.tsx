// Campaign detail: the gate for the next stage and the transition, objectives
// vs actual with pace, metric charts, allocations, linked content with its
// approval state, handoffs, and the audit timeline (people vs automation).
import { useEffect, useMemo, useState } from 'preact/hooks';
import { get, getAll, post, request } from '../api/client';
import type {
  AuditEntry,
  Campaign,
  CampaignMetrics,
  ContentItem,
  Handoff,
  Resource,
  Stage,
  SuccessReport,
  Unmet,
} from '../api/types';
import { OPEN_STAGES, reviewOf } from '../api/types';
import { can, me } from '../auth';
import { AllocationForm } from '../components/AllocationForm';
import { AllocationTable } from '../components/AllocationTable';
import { AuditTimeline } from '../components/AuditTimeline';
import { DownloadCsv } from '../components/DownloadCsv';
import { ContentForm } from '../components/ContentForm';
import { MetricsChart, toChartData } from '../components/MetricsChart';
import {
  ActionButton,
  ActionResult,
  ActorBadge,
  Badge,
  type Column,
  DataState,
  Empty,
  ErrorBox,
  InlineSelect,
  Link,
  Loading,
  PaceBadge,
  PriorityBadge,
  RoleNote,
  Section,
  StageBadge,
  styled,
  Table,
  UnmetList,
  Updated,
  useAction,
} from '../components/ui';
import { ContentStateBadge } from '../components/content';
import { isOpen, upsertCampaign } from '../lib/campaigns';
import { addDays, dateOnly, dateTime, isAutomated, isoDay, money, num, percent, titleCase } from '../lib/format';
import { useLive } from '../lib/live';
import { allResources } from '../lib/resources';
import type { Route } from '../router';

export default function CampaignDetail({ route }: { route: Route }) {
  const id = route.view === 'campaign' ? route.id : '';
  const campaign = useLive(async (signal) => request('get', '/api/campaigns/{id}', { path: { id }, signal }), [id]);
  const gate = useLive((signal) => get('/api/campaigns/{id}/gate', { path: { id }, signal }), [id]);
  const report = useLive((signal) => get('/api/campaigns/{id}/report', { path: { id }, signal }), [id]);
  // Whatever this page learns of the campaign goes into the shared list: the board shows it without a full reload.
  const latest = campaign.data?.data;
  useEffect(() => {
    if (latest) upsertCampaign(latest);
  }, [latest]);

  if (campaign.data === undefined) {
    return (
      <div class="page">
        <p>
          <Link href="/">← Campaign board</Link>
        </p>
        {campaign.error ? (
          <>
            <h1>Campaign</h1>
            <ErrorBox error={campaign.error} />
          </>
        ) : (
          <Loading label="Loading campaign…" />
        )}
      </div>
    );
  }
  const c = campaign.data.data;
  const reloadAll = () => {
    void campaign.reload();
    void gate.reload();
    void report.reload();
  };
  return (
    <div class="page">
      <p class="breadcrumb">
        <Link href="/">← Campaign board</Link>
      </p>
      <div class="page-head">
        <div>
          <h1 class="campaign-title">{c.name}</h1>
          <p class="meta-line">
            <StageBadge stage={c.stage} /> <PriorityBadge priority={c.priority} />{' '}
            <span>
              Marketing <strong>{c.marketing_owner}</strong>
            </span>{' '}
            ·{' '}
            <span>
              Operations <strong>{c.operations_owner}</strong>
            </span>{' '}
            · <span>{scheduleText(c)}</span>
          </p>
        </div>
        <Updated lives={[campaign, gate, report]} />
      </div>
      {campaign.error ? <ErrorBox error={campaign.error} title="Could not refresh; showing the last data" /> : null}
      <StageSteps stage={c.stage} />
      <GatePanel campaign={c} gate={gate} onMoved={reloadAll} />
      <ReportPanel id={id} report={report} />
      {can('marketing', 'operations', 'viewer') ? (
        <MetricsPanel id={id} channels={(c.channels ?? []).map((ch) => ch.channel ?? '').filter(Boolean)} />
      ) : (
        <Section title="Metrics over time" id="metrics">
          <RoleNote>Metrics are shown to marketing, operations and viewers.</RoleNote>
        </Section>
      )}
      <AllocationsPanel campaign={c} onChanged={reloadAll} />
      <ContentPanel campaign={c} onChanged={reloadAll} />
      <HandoffsPanel id={id} />
      <AuditPanel id={id} />
    </div>
  );
}

/** The last day a schedule covers (its end is exclusive: midnight UTC ends the day before). */
function lastDay(end: Date): Date {
  return addDays(end, end.getUTCHours() === 0 && end.getUTCMinutes() === 0 ? -1 : 0);
}

function scheduleText(c: Campaign): string {
  if (!c.schedule) return '';
  return `${dateOnly(c.schedule.start)} – ${dateOnly(isoDay(lastDay(new Date(c.schedule.end))))}`;
}

function StageSteps({ stage }: { stage: Stage | undefined }) {
  const at = OPEN_STAGES.indexOf(stage as Stage);
  const steps: Stage[] = [...OPEN_STAGES, 'completed'];
  return (
    <ol class="steps" aria-label="Stages">
      {steps.map((s, i) => {
        const state = stage === 'cancelled' ? 'todo' : stage === 'completed' || i < at ? 'done' : i === at ? 'current' : 'todo';
        return (
          <li key={s} class={`step step-${state} stage-${s}`} aria-current={state === 'current' ? 'step' : undefined}>
            <span class="step-dot" aria-hidden="true">
              {state === 'done' ? '✓' : i + 1}
            </span>
            <span>{titleCase(s)}</span>
            <span class="sr-only">{state === 'done' ? ' (done)' : state === 'current' ? ' (current)' : ''}</span>
          </li>
        );
      })}
      {stage === 'cancelled' ? (
        <li class="step step-current stage-cancelled" aria-current="step">
          <span class="step-dot" aria-hidden="true">
            ✗
          </span>
          Cancelled
        </li>
      ) : null}
    </ol>
  );
}

function GatePanel({
  campaign,
  gate,
  onMoved,
}: {
  campaign: Campaign;
  gate: ReturnType<typeof useLive<Awaited<ReturnType<typeof get<'/api/campaigns/{id}/gate'>>>>>;
  onMoved: () => void;
}) {
  const move = useAction();
  const [confirmCancel, setConfirmCancel] = useState(false);
  // Unmet items name resources and content by id: show their names too.
  const names = useLive(
    async () => {
      const [resources, content] = await Promise.all([
        allResources().catch(() => [] as Resource[]),
        getAll<ContentItem, '/api/content'>('/api/content', { query: { campaign: campaign.id ?? '' } }).catch(() => [] as ContentItem[]),
      ]);
      return new Map<string, string>([
        ...resources.map((r) => [r.id ?? '', r.name ?? ''] as [string, string]),
        ...content.map((c) => [c.id ?? '', `“${c.title ?? ''}”`] as [string, string]),
      ]);
    },
    [campaign.id, campaign.version],
  );
  const named = (items: Unmet[] | undefined) =>
    (items ?? []).map((u) => {
      const n = u.subject ? names.data?.get(u.subject) : undefined;
      return n && u.subject ? { ...u, message: u.message.replace(u.subject, n) } : u;
    });
  const mayMove = can('marketing', 'operations');
  const closed = !isOpen(campaign);
  const transition = (target: Stage) =>
    move.run(async () => {
      await post('/api/campaigns/{id}/transitions', {
        path: { id: campaign.id ?? '' },
        body: { target },
      });
      setConfirmCancel(false);
      onMoved();
    }, target === 'cancelled' ? 'Campaign cancelled.' : `Moved to ${titleCase(target)}.`);
  return (
    <Section title="Gate to the next stage" id="gate">
      <DataState live={gate} loadingLabel="Checking the gate…">
        {(g) =>
          !g.next ? (
            <p class="muted">This campaign is {g.stage}; it has no next stage.</p>
          ) : (
            <div class="gate">
              <p class="gate-summary">
                {g.ready ? (
                  <Badge tone="ok" icon="✓">
                    Gate open
                  </Badge>
                ) : (
                  <Badge tone="bad" icon="✗">
                    Gate closed
                  </Badge>
                )}{' '}
                <span>
                  {titleCase(g.stage ?? '')} → <strong>{titleCase(g.next)}</strong>
                  {g.ready ? ': every item is met.' : `: ${g.unmet?.length ?? 0} item(s) unmet.`}
                </span>
              </p>
              {g.unmet?.length ? <UnmetList items={named(g.unmet)} label="Unmet gate items" /> : null}
              {mayMove && !closed ? (
                <div class="form-actions">
                  <button type="button" class="btn btn-primary" disabled={move.busy} onClick={() => transition(g.next as Stage)}>
                    Move to {titleCase(g.next)}
                  </button>
                  {confirmCancel ? (
                    <>
                      <button type="button" class="btn btn-danger" disabled={move.busy} onClick={() => transition('cancelled')}>
                        Confirm: cancel campaign
                      </button>
                      <button type="button" class="btn btn-ghost" onClick={() => setConfirmCancel(false)}>
                        Keep campaign
                      </button>
                    </>
                  ) : (
                    <button type="button" class="btn btn-ghost" onClick={() => setConfirmCancel(true)}>
                      Cancel campaign…
                    </button>
                  )}
                </div>
              ) : !closed ? (
                <RoleNote>Marketing and operations move campaigns between stages.</RoleNote>
              ) : null}
              <ActionResult action={move} />
            </div>
          )
        }
      </DataState>
    </Section>
  );
}

function ReportPanel({ id, report }: { id: string; report: ReturnType<typeof useLive<SuccessReport>> }) {
  return (
    <Section
      title="Objectives and pace"
      id="report"
      actions={<DownloadCsv path="/api/campaigns/{id}/report" filename={`campaign-${id}-report.csv`} options={{ path: { id } }} />}
    >
      <DataState live={report} loadingLabel="Loading the report…">
        {(r) => (
          <>
            {r.notes?.length ? (
              <ul class="notes">
                {r.notes.map((n, i) => (
                  <li key={i}>{n}</li>
                ))}
              </ul>
            ) : null}
            {r.kpis?.length ? (
              <Table
                caption="Objectives: target, actual and pace"
                columns={['KPI', ['Target', 'num'], ['Actual', 'num'], 'Achieved', 'Pace', 'Deadline']}
              >
                {r.kpis.map((k) => (
                  <tr key={k.kpi}>
                    <th scope="row">{k.kpi}</th>
                    <td class="num">{num(k.target)}</td>
                    <td class="num">{num(k.actual)}</td>
                    <td>
                      <Progress value={k.percent_achieved ?? null} expected={(k.pace?.expected_fraction ?? 0) * 100} />
                    </td>
                    <td>
                      <PaceBadge status={k.pace?.status} />
                      {k.met ? (
                        <>
                          {' '}
                          <Badge tone="ok" icon="✓">
                            Met
                          </Badge>
                        </>
                      ) : null}
                    </td>
                    <td>
                      {dateOnly(k.deadline)}
                      {k.deadline_passed ? <span class="muted"> (passed)</span> : null}
                    </td>
                  </tr>
                ))}
              </Table>
            ) : (
              <Empty>No KPI targets set yet.</Empty>
            )}
            {r.channels?.length ? (
              <Table
                caption="Channel breakdown"
                showCaption
                columns={['Channel', 'Planned', ['Budget', 'num'], ['Budget used', 'num'], 'Metrics']}
              >
                {r.channels.map((ch) => (
                  <tr key={ch.channel}>
                    <th scope="row">{ch.channel}</th>
                    <td>{ch.planned ? 'Yes' : 'No'}</td>
                    <td class="num">{money(ch.budget_minor)}</td>
                    <td class="num">{percent(ch.budget_used_percent, 1)}</td>
                    <td class="small">
                      {Object.entries(ch.metrics ?? {})
                        .map(([k, v]) => `${titleCase(k)} ${num(v)}`)
                        .join(' · ') || '—'}
                    </td>
                  </tr>
                ))}
              </Table>
            ) : null}
            <p class="muted small">
              Triggers fired: {num(r.triggers_fired)} · Actions taken: {num(r.actions_taken)} · Generated{' '}
              {dateTime(r.generated_at)}
            </p>
          </>
        )}
      </DataState>
    </Section>
  );
}

function Progress({ value, expected }: { value: number | null; expected: number }) {
  if (value === null) return <span class="muted">No data</span>;
  const w = Math.max(0, Math.min(100, value));
  return (
    <span class="progress-cell">
      <span class="progress" aria-hidden="true">
        <span class="progress-bar" ref={styled({ width: `${w}%` })} />
        <span class="progress-mark" ref={styled({ left: `${Math.max(0, Math.min(100, expected))}%` })} />
      </span>
      <span>
        {percent(value, 1)} <span class="muted small">(expected {percent(expected)})</span>
      </span>
    </span>
  );
}

function MetricsPanel({ id, channels }: { id: string; channels: string[] }) {
  const [granularity, setGranularity] = useState<'hour' | 'day'>('day');
  const [channel, setChannel] = useState('');
  const metrics = useLive(
    (signal) =>
      get('/api/campaigns/{id}/metrics', {
        path: { id },
        query: channel ? { granularity, channel } : { granularity },
        signal,
      }),
    [id, granularity, channel],
  );
  return (
    <Section
      title="Metrics over time"
      id="metrics"
      actions={
        <div class="toolbar">
          <InlineSelect
            label="Channel"
            value={channel}
            options={[['', 'All channels'], ...channels.map((ch): [string, string] => [ch, ch])]}
            onChange={setChannel}
          />
          <div class="segmented" role="group" aria-label="Time range">
            <button type="button" class="btn btn-small" aria-pressed={granularity === 'hour'} onClick={() => setGranularity('hour')}>
              Last 24 hours, hourly
            </button>
            <button type="button" class="btn btn-small" aria-pressed={granularity === 'day'} onClick={() => setGranularity('day')}>
              Last 30 days, daily
            </button>
          </div>
        </div>
      }
    >
      <DataState live={metrics} loadingLabel="Loading metrics…">
        {(m) => <MetricsBody m={m} />}
      </DataState>
    </Section>
  );
}

function MetricsBody({ m }: { m: CampaignMetrics }) {
  const kinds = Object.keys(m.totals ?? {}).filter((k) => (m.totals?.[k] ?? 0) !== 0);
  const channels = Object.entries(m.by_channel ?? {});
  const data = useMemo(() => toChartData(m, kinds), [m, kinds.join(',')]);
  if (!kinds.length) return <Empty>No metrics recorded in this period yet.</Empty>;
  return (
    <>
      <MetricsChart
        data={data}
        label={`${m.channel ? `Channel ${m.channel}:` : 'All channels:'} counts per ${m.granularity === 'day' ? 'day' : 'hour'}`}
      />
      <Table
        caption="Totals by channel in this period"
        showCaption
        columns={['Channel', ...kinds.map((k): Column => [titleCase(k), 'num'])]}
      >
        {channels.map(([ch, counts]) => (
          <tr key={ch}>
            <th scope="row">{ch}</th>
            {kinds.map((k) => (
              <td class="num" key={k}>
                {num(counts[k] ?? 0)}
              </td>
            ))}
          </tr>
        ))}
        <tr class="total-row">
          <th scope="row">All channels</th>
          {kinds.map((k) => (
            <td class="num" key={k}>
              {num(m.totals?.[k] ?? 0)}
            </td>
          ))}
        </tr>
      </Table>
    </>
  );
}

function AllocationsPanel({ campaign, onChanged }: { campaign: Campaign; onChanged: () => void }) {
  const id = campaign.id ?? '';
  const allocations = useLive(
    (signal) => get('/api/resources/allocations', { query: { campaign_id: id }, signal }),
    [id],
  );
  const resources = useLive(() => allResources(), [], { interval: 30_000 });
  const [adding, setAdding] = useState(false);
  const start = campaign.schedule?.start?.slice(0, 10) ?? isoDay(new Date());
  const endRaw = campaign.schedule?.end ? new Date(campaign.schedule.end) : addDays(new Date(), 14);
  const last = isoDay(lastDay(endRaw));
  const mayAllocate = can('operations');
  const changed = () => {
    void allocations.reload();
    onChanged();
  };
  return (
    <Section
      title="Resource allocations"
      id="allocations"
      actions={
        mayAllocate && isOpen(campaign) && !adding ? (
          <button type="button" class="btn btn-small" onClick={() => setAdding(true)}>
            Allocate a resource
          </button>
        ) : null
      }
    >
      {adding && resources.data ? (
        <div class="subpanel">
          <AllocationForm
            resources={resources.data}
            fixedCampaign={campaign}
            defaultFrom={start}
            defaultTo={last}
            onCreated={changed}
          />
          <button type="button" class="btn btn-small btn-ghost" onClick={() => setAdding(false)}>
            Close allocation form
          </button>
        </div>
      ) : adding ? (
        <Loading label="Loading resources…" />
      ) : null}
      {!mayAllocate ? <RoleNote>Operations allocates resources.</RoleNote> : null}
      <DataState live={allocations} loadingLabel="Loading allocations…">
        {(a) => (
          <AllocationTable
            items={a.items}
            resources={resources.data ?? []}
            caption="Allocations of this campaign"
            empty="No resources allocated yet. The planning gate needs every schedule day covered."
            onChanged={changed}
          />
        )}
      </DataState>
    </Section>
  );
}

function ContentPanel({ campaign, onChanged }: { campaign: Campaign; onChanged: () => void }) {
  const id = campaign.id ?? '';
  const content = useLive(
    () => getAll<ContentItem, '/api/content'>('/api/content', { query: { campaign: id } }),
    [id],
  );
  const [adding, setAdding] = useState(false);
  const submit = useAction();
  const channels = (campaign.channels ?? []).map((c) => c.channel);
  const mayWrite = can('marketing');
  return (
    <Section
      title="Content"
      id="content"
      actions={
        mayWrite && isOpen(campaign) && !adding ? (
          <button type="button" class="btn btn-small" onClick={() => setAdding(true)}>
            New content
          </button>
        ) : null
      }
    >
      {adding ? (
        <ContentForm
          campaignId={id}
          channels={channels}
          scheduleStart={campaign.schedule?.start}
          onCancel={() => setAdding(false)}
          onCreated={() => {
            setAdding(false);
            void content.reload();
            onChanged();
          }}
        />
      ) : null}
      <ActionResult action={submit} />
      <DataState live={content} loadingLabel="Loading content…">
        {(items) =>
          !items.length ? (
            <Empty>No content linked yet. Distribution needs approved content on every channel.</Empty>
          ) : (
            <Table
              caption="Content of this campaign"
              columns={['Title', 'Channel', 'State', 'Review', 'Checks', 'Due', 'Author', 'Actions']}
            >
              {items.map((item) => {
                const review = reviewOf(item);
                const mine = item.author === me.value?.sub;
                const canSubmit =
                  mayWrite && (item.state === 'draft' || item.state === 'changes_requested');
                return (
                  <tr key={item.id}>
                    <th scope="row">
                      <Link href={`/content/${encodeURIComponent(item.id ?? '')}`}>{item.title}</Link>
                    </th>
                    <td>{item.channel}</td>
                    <td>
                      <ContentStateBadge state={item.state} />
                    </td>
                    <td class="small">
                      {review.stages.length
                        ? review.stages
                            .map((s) => `${s.complete ? '✓' : s.open ? '…' : '·'} ${titleCase(s.name)}`)
                            .join('  ')
                        : '—'}
                    </td>
                    <td>
                      {item.checks?.passed ? (
                        <Badge tone="ok" icon="✓">
                          Passed
                        </Badge>
                      ) : (
                        <Badge tone="bad" icon="✗">
                          {item.checks?.failures?.length ?? 0} failed
                        </Badge>
                      )}
                    </td>
                    <td>{dateOnly(item.due)}</td>
                    <td>
                      {item.author}
                      {mine ? <span class="muted"> (you)</span> : null}
                    </td>
                    <td>
                      {canSubmit ? (
                        <ActionButton
                          action={submit}
                          run={async () => {
                            await post('/api/content/{id}/submit', { path: { id: item.id ?? '' }, ifMatch: item.version ?? 0 });
                            void content.reload();
                            onChanged();
                          }}
                          done={`“${item.title}” submitted for review.`}
                        >
                          Submit “{item.title}” for review
                        </ActionButton>
                      ) : (
                        <Link href={`/content/${encodeURIComponent(item.id ?? '')}`} class="small">
                          Open
                        </Link>
                      )}
                    </td>
                  </tr>
                );
              })}
            </Table>
          )
        }
      </DataState>
    </Section>
  );
}

function HandoffsPanel({ id }: { id: string }) {
  const handoffs = useLive((signal) => get('/api/campaigns/{id}/handoffs', { path: { id }, signal }), [id]);
  return (
    <Section title="Handoffs" id="handoffs">
      <DataState live={handoffs} loadingLabel="Loading handoffs…">
        {(h) =>
          !h.items.length ? (
            <Empty>No handoffs yet: the campaign has not left planning.</Empty>
          ) : (
            <ol class="handoffs">
              {h.items.map((x: Handoff, i: number) => (
                <li key={i} class="handoff">
                  <p>
                    <StageBadge stage={x.from} /> → <StageBadge stage={x.to} /> by <ActorBadge actor={x.by} />{' '}
                    <span class="muted">{dateTime(x.at)}</span>
                  </p>
                  <dl class="deliverables">
                    <div>
                      <dt>Marketing deliverable</dt>
                      <dd>
                        {x.marketing_deliverable?.kind ? `${titleCase(x.marketing_deliverable.kind)}: ` : ''}
                        {x.marketing_deliverable?.summary ?? '—'}
                      </dd>
                    </div>
                    <div>
                      <dt>Operations deliverable</dt>
                      <dd>
                        {x.operations_deliverable?.kind ? `${titleCase(x.operations_deliverable.kind)}: ` : ''}
                        {x.operations_deliverable?.summary ?? '—'}
                      </dd>
                    </div>
                  </dl>
                </li>
              ))}
            </ol>
          )
        }
      </DataState>
    </Section>
  );
}

function AuditPanel({ id }: { id: string }) {
  const audit = useLive(
    () => getAll<AuditEntry, '/api/campaigns/{id}/audit'>('/api/campaigns/{id}/audit', { path: { id }, max: 2_000 }),
    [id],
  );
  const [who, setWho] = useState<'all' | 'people' | 'automated'>('all');
  const resources = useLive(() => allResources(), [], { interval: 60_000 });
  const resourceName = (rid: string) => resources.data?.find((r) => r.id === rid)?.name;
  return (
    <Section
      title="Audit timeline"
      id="audit"
      actions={
        <>
          <InlineSelect
            label="Show"
            value={who}
            options={[
              ['all', 'Everyone'],
              ['people', 'People only'],
              ['automated', 'Automated only'],
            ]}
            onChange={(v) => setWho(v as typeof who)}
          />
          <DownloadCsv
            path="/api/campaigns/{id}/audit"
            filename={`campaign-${id}-audit.csv`}
            options={{ path: { id }, query: { limit: 200 } }}
          />
        </>
      }
    >
      <DataState live={audit} loadingLabel="Loading the audit log…">
        {(entries) => {
          const shown = entries
            .filter((e) => who === 'all' || (who === 'automated') === isAutomated(e.actor))
            .slice()
            .reverse();
          return !shown.length ? (
            <Empty>No audit entries{who !== 'all' ? ' for this filter' : ''}.</Empty>
          ) : (
            <AuditTimeline entries={shown.slice(0, 300)} resourceName={resourceName} />
          );
        }}
      </DataState>
    </Section>
  );
}

