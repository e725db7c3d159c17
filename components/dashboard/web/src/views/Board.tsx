// Campaign board: one column per stage, cards with owners, priority, objective
// pace and open alerts. All campaigns are paged in (200 per request) and
// grouped here; each column renders 20 cards and grows by "Show more", so the
// board stays quick with thousands of campaigns. Pace and alerts are fetched
// only for cards that scroll into view (see lib/insights.ts).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Campaign, Stage } from '../api/types';
import { OPEN_STAGES } from '../api/types';
import { can } from '../auth';
import { CampaignForm } from '../components/CampaignForm';
import { Badge, DataState, Link, PaceBadge, PriorityBadge, Updated } from '../components/ui';
import { allCampaigns, invalidateCampaigns } from '../lib/campaigns';
import { titleCase } from '../lib/format';
import { cachedInsight, insight, type Insight } from '../lib/insights';
import { useLive } from '../lib/live';
import { location, navigate, setQuery } from '../router';

const PAGE = 20;

function useQuery() {
  const q = new URLSearchParams(location.value.search);
  return {
    owner: q.get('owner') ?? '',
    stage: (q.get('stage') ?? '') as Stage | '',
    closed: q.get('closed') === '1',
    text: q.get('q') ?? '',
  };
}

export function Board() {
  const [partial, setPartial] = useState<Campaign[] | null>(null);
  const live = useLive(
    () =>
      allCampaigns({
        maxAge: 1_000,
        onPage: (items) => setPartial(items),
      }),
    [],
  );
  const [creating, setCreating] = useState(false);
  const filters = useQuery();
  const campaigns = live.data ?? partial ?? undefined;
  const stillLoading = !live.data && !!partial;

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
      ? [...OPEN_STAGES, 'completed', 'cancelled']
      : OPEN_STAGES;

  const grouped = useMemo(() => {
    const g = new Map<Stage, Campaign[]>();
    const text = filters.text.trim().toLowerCase();
    for (const c of campaigns ?? []) {
      if (!c.stage) continue;
      if (filters.owner && c.marketing_owner !== filters.owner && c.operations_owner !== filters.owner) continue;
      if (text && !(c.name ?? '').toLowerCase().includes(text)) continue;
      const list = g.get(c.stage) ?? [];
      list.push(c);
      g.set(c.stage, list);
    }
    for (const list of g.values()) list.sort((a, b) => (a.priority ?? 5) - (b.priority ?? 5) || (a.name ?? '').localeCompare(b.name ?? ''));
    return g;
  }, [campaigns, filters.owner, filters.text]);

  const shown = columns.reduce((n, s) => n + (grouped.get(s)?.length ?? 0), 0);

  return (
    <div class="page page-wide">
      <div class="page-head">
        <div>
          <h1>Campaigns</h1>
          <p class="muted">
            {campaigns ? `${shown} of ${campaigns.length} campaigns shown` : 'Loading campaigns…'}
            {stillLoading ? ' (still loading)' : ''}
          </p>
        </div>
        <div class="page-actions">
          <Updated lives={[live]} />
          {can('marketing') && !creating ? (
            <button type="button" class="btn btn-primary" onClick={() => setCreating(true)}>
              New campaign
            </button>
          ) : null}
        </div>
      </div>

      {creating ? (
        <CampaignForm
          owners={owners}
          onCancel={() => setCreating(false)}
          onCreated={(c) => {
            invalidateCampaigns();
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
            {[...OPEN_STAGES, 'completed' as const, 'cancelled' as const].map((s) => (
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

      <DataState live={{ ...live, data: campaigns }} loadingLabel="Loading campaigns…">
        {(list) =>
          list.length === 0 ? (
            <p class="state-empty">
              No campaigns yet.{' '}
              {can('marketing') ? 'Create the first one with “New campaign”.' : 'Marketing creates campaigns.'}
            </p>
          ) : (
            <div class="board" data-columns={columns.length}>
              {columns.map((stage) => (
                <Column key={stage} stage={stage} items={grouped.get(stage) ?? []} ready={!!live.data} />
              ))}
            </div>
          )
        }
      </DataState>
    </div>
  );
}

function Column({ stage, items, ready }: { stage: Stage; items: Campaign[]; ready: boolean }) {
  const [limit, setLimit] = useState(PAGE);
  const id = `col-${stage}`;
  return (
    <section class={`column column-${stage}`} aria-labelledby={id}>
      <h2 id={id} class="column-head">
        <span>{titleCase(stage)}</span>
        <span class="count" aria-label={`${items.length} campaigns`}>
          {items.length}
        </span>
      </h2>
      {items.length === 0 ? (
        <p class="column-empty">No campaigns</p>
      ) : (
        <ul class="cards">
          {items.slice(0, limit).map((c) => (
            <Card key={c.id} c={c} ready={ready} />
          ))}
        </ul>
      )}
      {items.length > limit ? (
        <button type="button" class="btn btn-small btn-block" onClick={() => setLimit((l) => l + PAGE * 2)}>
          Show more ({items.length - limit} more in {titleCase(stage)})
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
              detail={info.paceRatio !== null && info.pace !== 'no_data' ? `${Math.round(info.paceRatio * 100)}%` : undefined}
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
