// Campaign board: one column per stage, cards with owners, priority, objective
// pace and open alerts. Campaigns come from the shared list (lib/campaigns.ts):
// the columns are drawn as soon as its first page (200) arrives and fill in as
// the rest loads in the background, with counts marked "loading…" until it is
// complete. Campaigns are grouped and sorted once per page; a filter change
// only filters those sorted groups. Each column renders its first 20 cards and
// grows by "Show more", and a column's cards are rendered again only when the
// cards it shows change. Pace and alerts are fetched only for cards that
// scroll into view once the list is complete (see lib/insights.ts).
import type { VNode } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Campaign, Stage } from '../api/types';
import { OPEN_STAGES, STAGES } from '../api/types';
import { can } from '../auth';
import { lazyComponent } from '../components/lazy';
import { Badge, DataState, Empty, Link, PageHead, PaceBadge, PriorityBadge, Updated } from '../components/ui';
import { upsertCampaign, useCampaigns } from '../lib/campaigns';
import { titleCase } from '../lib/format';
import { cachedInsight, insight, type Insight } from '../lib/insights';
import { location, navigate, setQuery } from '../router';

const PAGE = 20;

const CampaignForm = lazyComponent(() => import('../components/CampaignForm').then((m) => m.CampaignForm));

function useQuery() {
  const q = new URLSearchParams(location.value.search);
  return {
    owner: q.get('owner') ?? '',
    stage: (q.get('stage') ?? '') as Stage | '',
    closed: q.get('closed') === '1',
    text: q.get('q') ?? '',
  };
}

const collator = new Intl.Collator();
const byPriorityThenName = (a: Campaign, b: Campaign) =>
  (a.priority ?? 5) - (b.priority ?? 5) || collator.compare(a.name ?? '', b.name ?? '');

/** Campaigns per stage, each sorted by priority then name. */
function groupByStage(list: Campaign[]): Map<Stage, Campaign[]> {
  const g = new Map<Stage, Campaign[]>(STAGES.map((s) => [s, []]));
  for (const c of list) if (c.stage) g.get(c.stage)?.push(c);
  for (const l of g.values()) l.sort(byPriorityThenName);
  return g;
}

export function Board() {
  const live = useCampaigns();
  const [creating, setCreating] = useState(false);
  const filters = useQuery();
  const campaigns = live.data;
  const complete = live.complete;

  const owners = useMemo(() => {
    const m = new Set<string>();
    const o = new Set<string>();
    for (const c of campaigns ?? []) {
      if (c.marketing_owner) m.add(c.marketing_owner);
      if (c.operations_owner) o.add(c.operations_owner);
    }
    return { all: [...new Set([...m, ...o])].sort(), operations: [...o].sort() };
  }, [campaigns]);

  const columns: Stage[] = filters.stage
    ? [filters.stage]
    : filters.closed
      ? STAGES
      : OPEN_STAGES;

  const sorted = useMemo(() => groupByStage(campaigns ?? []), [campaigns]);
  const grouped = useMemo(() => {
    const text = filters.text.trim().toLowerCase();
    if (!filters.owner && !text) return sorted;
    const keep = (c: Campaign) =>
      (!filters.owner || c.marketing_owner === filters.owner || c.operations_owner === filters.owner) &&
      (!text || (c.name ?? '').toLowerCase().includes(text));
    return new Map([...sorted].map(([s, l]) => [s, l.filter(keep)] as const));
  }, [sorted, filters.owner, filters.text]);

  const shown = columns.reduce((n, s) => n + (grouped.get(s)?.length ?? 0), 0);
  const total = campaigns?.length ?? 0;

  return (
    <div class="page page-wide">
      <PageHead
        title="Campaigns"
        sub={
          !campaigns
            ? 'Loading campaigns…'
            : complete
              ? `${shown} of ${total} campaigns shown`
              : `${shown} of the first ${total} campaigns shown; loading the rest…`
        }
        actions={
          <>
            <Updated lives={[live]} />
            {can('marketing') && !creating ? (
              <button type="button" class="btn btn-primary" onClick={() => setCreating(true)}>
                New campaign
              </button>
            ) : null}
          </>
        }
      />

      {creating ? (
        <CampaignForm
          owners={owners}
          onCancel={() => setCreating(false)}
          onCreated={(c) => {
            upsertCampaign(c);
            setCreating(false);
            if (c.id) navigate(`/campaigns/${encodeURIComponent(c.id)}`);
          }}
        />
      ) : null}

      <form class="filters" aria-label="Board filters" onSubmit={(e) => e.preventDefault()}>
        <label class="field">
          <span class="field-label">Search</span>
          <input
            type="search"
            placeholder="Campaign name"
            value={filters.text}
            onInput={(e) => setQuery({ q: e.currentTarget.value })}
          />
        </label>
        <label class="field">
          <span class="field-label">Owner</span>
          <select value={filters.owner} onChange={(e) => setQuery({ owner: e.currentTarget.value })}>
            <option value="">All owners</option>
            {owners.all.map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
        </label>
        <label class="field">
          <span class="field-label">Stage</span>
          <select value={filters.stage} onChange={(e) => setQuery({ stage: e.currentTarget.value })}>
            <option value="">All open stages</option>
            {STAGES.map((s) => (
              <option key={s} value={s}>
                {titleCase(s)}
              </option>
            ))}
          </select>
        </label>
        <label class="check">
          <input
            type="checkbox"
            checked={filters.closed}
            onChange={(e) => setQuery({ closed: e.currentTarget.checked ? '1' : null })}
          />
          Show completed and cancelled
        </label>
      </form>

      <DataState live={live} loadingLabel="Loading campaigns…">
        {(list) =>
          list.length === 0 ? (
            <Empty>
              No campaigns yet.{' '}
              {can('marketing') ? 'Create the first one with “New campaign”.' : 'Marketing creates campaigns.'}
            </Empty>
          ) : (
            <div class="board" data-columns={columns.length}>
              {columns.map((stage) => (
                <Column key={stage} stage={stage} items={grouped.get(stage) ?? []} complete={complete} />
              ))}
            </div>
          )
        }
      </DataState>
    </div>
  );
}

function Column({ stage, items, complete }: { stage: Stage; items: Campaign[]; complete: boolean }) {
  const [limit, setLimit] = useState(PAGE);
  const id = `col-${stage}`;
  const visible = items.slice(0, limit);
  // The same cards (and versions) as last time: hand Preact the same vnode, which it skips.
  const key = `${complete ? 1 : 0} ${visible.map((c) => `${c.id}@${c.version}`).join(' ')}`;
  const cards = useMemo<VNode | null>(
    () =>
      visible.length ? (
        <ul class="cards">
          {visible.map((c) => (
            <Card key={c.id} c={c} ready={complete} />
          ))}
        </ul>
      ) : null,
    [key],
  );
  const count = complete ? `${items.length}` : `${items.length}, loading…`;
  return (
    <section class={`column column-${stage}`} aria-labelledby={id}>
      <h2 id={id} class="column-head">
        <span>{titleCase(stage)}</span>
        <span class="count" aria-label={complete ? `${items.length} campaigns` : `${items.length} campaigns so far, loading`}>
          {count}
        </span>
      </h2>
      {cards ?? <p class="column-empty">{complete ? 'No campaigns' : 'None loaded yet'}</p>}
      {items.length > limit ? (
        <button type="button" class="btn btn-small btn-block" onClick={() => setLimit((l) => l + PAGE * 2)}>
          Show more ({items.length - limit}
          {complete ? '' : '+'} more in {titleCase(stage)})
        </button>
      ) : null}
    </section>
  );
}

/** A campaign card; its pace and alerts load once it is on screen and the list has finished loading. */
function Card({ c, ready }: { c: Campaign; ready: boolean }) {
  const ref = useRef<HTMLLIElement>(null);
  const [info, setInfo] = useState<Insight | null>(() => (c.id ? cachedInsight(c.id) : null));
  useEffect(() => {
    const el = ref.current;
    const id = c.id;
    if (!el || !id || !ready) return;
    let live = true;
    const io = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) {
          io.disconnect();
          void insight(id).then((v) => live && setInfo(v));
        }
      },
      { rootMargin: '100px' },
    );
    io.observe(el);
    return () => {
      live = false;
      io.disconnect();
    };
  }, [c.id, c.version, ready]);

  const href = `/campaigns/${encodeURIComponent(c.id ?? '')}`;
  return (
    <li class={`card card-${c.stage}`} ref={ref}>
      <Link href={href} class="card-title">
        {c.name}
      </Link>
      <p class="card-meta">
        <PriorityBadge priority={c.priority} />
        <span class="card-owners">
          <abbr title="Marketing owner">Mkt</abbr> {c.marketing_owner} · <abbr title="Operations owner">Ops</abbr>{' '}
          {c.operations_owner}
        </span>
      </p>
      <div class="card-insight">
        {info ? (
          <>
            <PaceBadge
              prefix="Pace"
              status={info.pace}
              detail={info.achieved !== null && info.pace !== 'no_data' ? `${Math.round(info.achieved * 100)}% of target` : undefined}
            />
            {info.firing > 0 ? (
              <Badge tone="bad" icon="⚑">
                {info.firing} alert{info.firing === 1 ? '' : 's'} firing
              </Badge>
            ) : info.pending > 0 ? (
              <Badge tone="warn" icon="◔">
                {info.pending} pending
              </Badge>
            ) : (
              <span class="muted small">No open alerts</span>
            )}
          </>
        ) : (
          <span class="muted small">Pace and alerts…</span>
        )}
      </div>
    </li>
  );
}
