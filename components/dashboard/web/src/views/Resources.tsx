// Resources: utilization heat map (people × days, overallocation marked by
// colour AND a "!" marker with text), allocations, new resources and
// allocations (operations), and rebalance proposals with approve / reject
// (the author never sees approve on their own proposal).
import { useMemo, useState } from 'preact/hooks';
import { get, post } from '../api/client';
import type { RebalanceProposal, Resource, Utilization } from '../api/types';
import { can, me } from '../auth';
import { AllocationForm } from '../components/AllocationForm';
import { AllocationTable } from '../components/AllocationTable';
import { ActionButton, ActionResult, Badge, DataState, Empty, Field, FormActions, InlineSelect, type Look, PageHead, RoleNote, Section, StatusBadge, Table, Updated, useAction } from '../components/ui';
import { campaignName, useCampaigns } from '../lib/campaigns';
import { addDays, commaList, dateTime, daysBetween, isoDay, todayUtc } from '../lib/format';
import { useLive } from '../lib/live';
import { allResources } from '../lib/resources';
import { location, setQuery } from '../router';

export default function Resources() {
  const q = new URLSearchParams(location.value.search);
  const span = Number(q.get('days') ?? '28') || 28;
  const fromParam = q.get('from');
  const from = fromParam && /^\d{4}-\d{2}-\d{2}$/.test(fromParam) ? fromParam : isoDay(todayUtc());
  const to = isoDay(addDays(new Date(`${from}T00:00:00Z`), span - 1));

  const util = useLive((signal) => get('/api/resources/utilization', { query: { from, to }, signal }), [from, to]);
  const resources = useLive(() => allResources(1_000), []);
  const allocations = useLive((signal) => get('/api/resources/allocations', { signal }), []);
  const proposals = useLive((signal) => get('/api/resources/rebalance-proposals', { signal }), []);
  const campaigns = useCampaigns();
  const reloadAll = () => {
    void util.reload();
    void resources.reload();
    void allocations.reload();
    void proposals.reload();
  };
  const ops = can('operations');

  return (
    <div class="page page-wide">
      <PageHead
        title="Resources"
        sub={`Load per resource and day from ${from} to ${to} (UTC days).`}
        actions={<Updated lives={[util, resources, allocations, proposals]} />}
      />
      <div class="toolbar" role="group" aria-label="Period">
        <button type="button" class="btn btn-small" onClick={() => setQuery({ from: isoDay(addDays(new Date(`${from}T00:00:00Z`), -span)) })}>
          ← Earlier
        </button>
        <button type="button" class="btn btn-small" onClick={() => setQuery({ from: null })}>
          From today
        </button>
        <button type="button" class="btn btn-small" onClick={() => setQuery({ from: isoDay(addDays(new Date(`${from}T00:00:00Z`), span)) })}>
          Later →
        </button>
        <label class="field field-inline">
          <span class="field-label">Start day</span>
          <input type="date" value={from} onChange={(e) => setQuery({ from: e.currentTarget.value || null })} />
        </label>
        <InlineSelect
          label="Days shown"
          value={String(span)}
          options={['14', '28', '56', '91'].map((d): [string, string] => [d, d])}
          onChange={(v) => setQuery({ days: v === '28' ? null : v })}
        />
      </div>

      <Section title="Utilization" id="utilization">
        <DataState live={util} loadingLabel="Loading utilization…">
          {(u) => <HeatMap u={u} from={from} to={to} resources={resources.data ?? []} />}
        </DataState>
      </Section>

      <RebalancePanel
        from={from}
        to={to}
        proposals={proposals}
        resources={resources.data ?? []}
        names={campaigns.data}
        onChanged={reloadAll}
      />

      <Section title="Allocations" id="allocations">
        {ops && resources.data ? (
          <details class="subpanel">
            <summary>Allocate a resource to a campaign</summary>
            <AllocationForm
              resources={resources.data}
              campaigns={campaigns.data ?? []}
              defaultFrom={from}
              defaultTo={isoDay(addDays(new Date(`${from}T00:00:00Z`), 6))}
              onCreated={reloadAll}
            />
          </details>
        ) : !ops ? (
          <RoleNote>Operations creates and removes allocations.</RoleNote>
        ) : null}
        <DataState live={allocations} loadingLabel="Loading allocations…">
          {(a) => (
            <AllocationTable
              items={a.items.filter((x) => (x.to ?? '') >= from && (x.from ?? '') <= to)}
              resources={resources.data ?? []}
              campaigns={campaigns.data ?? null}
              caption="Allocations overlapping this period"
              empty="No allocations in this period."
              onChanged={reloadAll}
            />
          )}
        </DataState>
      </Section>

      <Section title="People, teams and budget pools" id="resource-list">
        {ops ? (
          <details class="subpanel">
            <summary>Add a resource</summary>
            <ResourceForm onCreated={reloadAll} />
          </details>
        ) : null}
        <DataState live={resources} loadingLabel="Loading resources…">
          {(list) =>
            !list.length ? (
              <Empty>No resources yet.{ops ? ' Add the first with “Add a resource”.' : ''}</Empty>
            ) : (
              <Table caption="Resources" columns={['Name', 'Kind', ['Capacity per day', 'num'], 'Skills']}>
                {list.map((r) => (
                  <tr key={r.id}>
                    <th scope="row">{r.name}</th>
                    <td>{kindLabel(r.kind)}</td>
                    <td class="num">
                      {r.capacity_per_day} {r.kind === 'budget_pool' ? 'minor units' : 'h'}
                    </td>
                    <td>{(r.skills ?? []).join(', ') || '—'}</td>
                  </tr>
                ))}
              </Table>
            )
          }
        </DataState>
      </Section>
    </div>
  );
}

/** A number short enough for a heat-map cell (budget pools count minor units). */
function compact(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${Math.round(n / 1000)}k`;
  return `${Math.round(n / 1_000_000)}M`;
}

function kindLabel(k: string | undefined) {
  return k === 'budget_pool' ? 'Budget pool' : k === 'team' ? 'Team' : 'Person';
}

/** Heat level of a day: 0 free … 4 full, 5 overallocated. */
function level(ratio: number, allocated: number): number {
  if (ratio > 1) return 5;
  if (allocated === 0) return 0;
  if (ratio < 0.5) return 1;
  if (ratio < 0.8) return 2;
  if (ratio < 1) return 3;
  return 4;
}

function HeatMap({ u, from, to, resources }: { u: Utilization; from: string; to: string; resources: Resource[] }) {
  const days = daysBetween(from, to);
  const names = new Map(resources.map((r) => [r.id, r]));
  const rows = u.resources ?? [];
  if (!rows.length) return <Empty>No resources to show. Operations adds people, teams and budget pools.</Empty>;
  const over = u.overallocations ?? [];
  return (
    <>
      {over.length ? (
        <p class="notice notice-warn" role="status">
          <span aria-hidden="true">! </span>
          {over.length} overallocated resource-day{over.length === 1 ? '' : 's'} in this period. The planning gate stays
          closed for affected campaigns until it is rebalanced.
        </p>
      ) : (
        <p class="notice notice-ok">
          <span aria-hidden="true">✓ </span>Nobody is overallocated in this period.
        </p>
      )}
      <ul class="legend heat-legend" aria-label="Legend">
        <li>
          <span class="heat heat-0" aria-hidden="true" /> Free
        </li>
        <li>
          <span class="heat heat-1" aria-hidden="true" /> Under 50%
        </li>
        <li>
          <span class="heat heat-2" aria-hidden="true" /> 50–79%
        </li>
        <li>
          <span class="heat heat-3" aria-hidden="true" /> 80–99%
        </li>
        <li>
          <span class="heat heat-4" aria-hidden="true" /> Full
        </li>
        <li>
          <span class="heat heat-5" aria-hidden="true">
            !
          </span>{' '}
          Overallocated (marked “!”)
        </li>
      </ul>
      <div class="table-wrap heat-wrap">
        <table class="heatmap">
          <caption class="sr-only">Allocated amount per resource and day; cells marked ! are overallocated</caption>
          <thead>
            <tr>
              <th scope="col" class="sticky-col">
                Resource
              </th>
              {days.map((d) => {
                const date = new Date(`${d}T00:00:00Z`);
                const weekend = date.getUTCDay() === 0 || date.getUTCDay() === 6;
                return (
                  <th scope="col" key={d} class={weekend ? 'day weekend' : 'day'} title={d}>
                    <span class="day-dow">{date.toLocaleDateString([], { weekday: 'narrow', timeZone: 'UTC' })}</span>
                    <span class="day-n">{date.getUTCDate()}</span>
                  </th>
                );
              })}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => {
              const res = names.get(r.resource_id);
              const unit = r.unit === 'minor_units' ? 'minor units' : 'h';
              const byDay = new Map((r.days ?? []).map((d) => [d.date, d]));
              return (
                <tr key={r.resource_id}>
                  <th scope="row" class="sticky-col">
                    {res?.name ?? r.resource_id}
                    <span class="muted small">
                      {' '}
                      {kindLabel(r.kind)}
                      {r.overallocated_days ? (
                        <>
                          {' '}
                          <Badge tone="bad" icon="!">
                            {r.overallocated_days} day{r.overallocated_days === 1 ? '' : 's'} over
                          </Badge>
                        </>
                      ) : null}
                    </span>
                  </th>
                  {days.map((d) => {
                    const day = byDay.get(d);
                    const allocated = day?.allocated ?? 0;
                    const capacity = day?.capacity ?? res?.capacity_per_day ?? 0;
                    const ratio = day?.ratio ?? (capacity ? allocated / capacity : 0);
                    const lv = level(ratio, allocated);
                    const label = `${d}: ${allocated} of ${capacity} ${unit} (${Math.round(ratio * 100)}%)${lv === 5 ? ', overallocated' : ''}`;
                    return (
                      <td key={d} class={`heat heat-${lv}`} title={label}>
                        <span aria-hidden="true">
                          {lv === 5 ? '!' : ''}
                          {allocated ? compact(allocated) : ''}
                        </span>
                        <span class="sr-only">{label}</span>
                      </td>
                    );
                  })}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </>
  );
}

function ResourceForm({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [kind, setKind] = useState<'person' | 'team' | 'budget_pool'>('person');
  const [capacity, setCapacity] = useState('8');
  const [skills, setSkills] = useState('');
  const action = useAction();
  return (
    <form
      class="inline-form"
      aria-label="New resource"
      onSubmit={async (e) => {
        e.preventDefault();
        const ok = await action.run(async () => {
          await post('/api/resources', {
            body: {
              name,
              kind,
              capacity_per_day: Number(capacity),
              skills: commaList(skills),
            },
          });
          onCreated();
        }, `Resource “${name}” added.`);
        if (ok) setName('');
      }}
    >
      <Field label="Resource name">
        <input required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </Field>
      <Field label="Kind">
        <select value={kind} onChange={(e) => setKind(e.currentTarget.value as typeof kind)}>
          <option value="person">Person</option>
          <option value="team">Team</option>
          <option value="budget_pool">Budget pool</option>
        </select>
      </Field>
      <Field label="Capacity per day" hint="Hours; minor units for budget pools">
        <input type="number" min="1" required value={capacity} onInput={(e) => setCapacity(e.currentTarget.value)} />
      </Field>
      <Field label="Skills" hint="Comma separated">
        <input value={skills} onInput={(e) => setSkills(e.currentTarget.value)} />
      </Field>
      <FormActions action={action} submit="Add resource" />
    </form>
  );
}

const PROPOSAL: Record<string, Look> = {
  pending: { tone: 'warn', icon: '…', label: 'Pending' },
  approved: { tone: 'ok', icon: '✓', label: 'Approved' },
  rejected: { tone: 'muted', icon: '✗', label: 'Rejected' },
};

function RebalancePanel({
  from,
  to,
  proposals,
  resources,
  names,
  onChanged,
}: {
  from: string;
  to: string;
  proposals: ReturnType<typeof useLive<{ items: RebalanceProposal[] }>>;
  resources: Resource[];
  names: Parameters<typeof campaignName>[0];
  onChanged: () => void;
}) {
  const action = useAction();
  const [limit, setLimit] = useState(8);
  const ops = can('operations');
  const byId = new Map(resources.map((r) => [r.id, r.name]));
  const sorted = useMemo(
    () =>
      (proposals.data?.items ?? [])
        .slice()
        .sort((a, b) => (a.status === 'pending' ? 0 : 1) - (b.status === 'pending' ? 0 : 1) || (b.created_at ?? '').localeCompare(a.created_at ?? '')),
    [proposals.data],
  );
  // Every pending proposal (8 at a time) and the five latest decided ones.
  const listed = [...sorted.filter((p) => p.status === 'pending'), ...sorted.filter((p) => p.status !== 'pending').slice(0, 5)];
  const decide = (p: RebalanceProposal, decision: 'approve' | 'reject') =>
    action.run(async () => {
      await post('/api/resources/rebalance-proposals/{id}/decision', { path: { id: p.id ?? '' }, body: { decision } });
      onChanged();
    }, decision === 'approve' ? 'Proposal approved and applied.' : 'Proposal rejected.');
  return (
    <Section
      title="Rebalance proposals"
      id="rebalance"
      actions={
        ops ? (
          <ActionButton
            action={action}
            run={async () => {
              await post('/api/resources/rebalance-proposals', { body: { from, to } });
              onChanged();
            }}
            done="Proposal created."
          >
            Propose a rebalance for this period
          </ActionButton>
        ) : null
      }
    >
      <ActionResult action={action} />
      <DataState live={proposals} loadingLabel="Loading proposals…">
        {() =>
          !sorted.length ? (
            <Empty>No rebalance proposals.</Empty>
          ) : (
            <ul class="proposals">
              {listed.slice(0, limit).map((p) => {
                const own = p.author === me.value?.sub;
                return (
                  <li key={p.id} class="proposal">
                    <p>
                      <StatusBadge look={PROPOSAL[p.status ?? 'rejected'] ?? PROPOSAL.rejected} />{' '}
                      <strong>
                        {p.range?.from} – {p.range?.to}
                      </strong>{' '}
                      proposed by {p.author}
                      {own ? ' (you)' : ''} <span class="muted">{dateTime(p.created_at)}</span>
                      {p.decided_by ? (
                        <span class="muted">
                          {' '}
                          · decided by {p.decided_by} {dateTime(p.decided_at)}
                        </span>
                      ) : null}
                    </p>
                    {p.moves?.length ? (
                      <ul class="small">
                        {p.moves.map((m, i) => (
                          <li key={i}>
                            Move {m.amount_per_day}/day of {campaignName(names, m.campaign_id)} from{' '}
                            <strong>{byId.get(m.from_resource) ?? m.from_resource}</strong> to{' '}
                            <strong>{byId.get(m.to_resource) ?? m.to_resource}</strong>, {m.days?.from} – {m.days?.to}
                          </li>
                        ))}
                      </ul>
                    ) : (
                      <p class="small muted">No moves possible.</p>
                    )}
                    {p.unresolved?.length ? (
                      <p class="small">
                        <span aria-hidden="true">! </span>
                        {p.unresolved.length} overallocated day(s) stay unresolved (no free resource with the skill).
                      </p>
                    ) : null}
                    {ops && p.status === 'pending' ? (
                      <div class="form-actions">
                        {own ? (
                          <span class="role-note small">You proposed this; another operations user approves it.</span>
                        ) : (
                          <button type="button" class="btn btn-small btn-primary" disabled={action.busy} onClick={() => decide(p, 'approve')}>
                            Approve proposal
                          </button>
                        )}
                        <button type="button" class="btn btn-small" disabled={action.busy} onClick={() => decide(p, 'reject')}>
                          Reject proposal
                        </button>
                      </div>
                    ) : null}
                  </li>
                );
              })}
              {listed.length > limit ? (
                <li>
                  <button type="button" class="btn btn-small" onClick={() => setLimit((l) => l + 20)}>
                    Show more proposals
                  </button>
                </li>
              ) : null}
            </ul>
          )
        }
      </DataState>
    </Section>
  );
}
