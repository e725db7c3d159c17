// Approval inbox: content waiting for the signed-in reviewer's stage and role
// (GET /api/content?state=in_review, narrowed here by the open stages' roles
// and named approvers), approved items to schedule and scheduled items to
// publish (operations), and the signed-in author's own items (marketing).
import { useMemo } from 'preact/hooks';
import { getAll } from '../api/client';
import type { ContentItem, ContentState } from '../api/types';
import { reviewOf } from '../api/types';
import { can, me } from '../auth';
import { ContentDetail, ContentStateBadge, decidableStages, isOwnItem } from '../components/content';
import { DataState, Empty, Link, PageHead, Updated } from '../components/ui';
import { campaignName, useCampaigns } from '../lib/campaigns';
import { dateOnly, titleCase } from '../lib/format';
import { useLive } from '../lib/live';
import { location, type Route } from '../router';

type Tab = 'waiting' | 'review' | 'approved' | 'scheduled' | 'mine';

const TABS: { id: Tab; label: string; state?: ContentState; show: () => boolean }[] = [
  { id: 'waiting', label: 'Waiting for me', state: 'in_review', show: () => can('brand_reviewer', 'compliance_reviewer', 'operations') },
  { id: 'approved', label: 'Approved, to schedule', state: 'approved', show: () => can('operations') },
  { id: 'scheduled', label: 'Scheduled, to publish', state: 'scheduled', show: () => can('operations') },
  { id: 'mine', label: 'My content', show: () => can('marketing') },
  { id: 'review', label: 'All in review', state: 'in_review', show: () => true },
];

function loadFor(tab: Tab): Promise<ContentItem[]> {
  const t = TABS.find((x) => x.id === tab);
  return getAll<ContentItem, '/api/content'>('/api/content', { query: t?.state ? { state: t.state } : {} });
}

export default function Inbox({ route }: { route: Route }) {
  const selected = route.view === 'inbox' ? route.id : null;
  const tabs = TABS.filter((t) => t.show());
  const asked = new URLSearchParams(location.value.search).get('tab') as Tab | null;
  const tab: Tab = asked && tabs.some((t) => t.id === asked) ? asked : (tabs[0]?.id ?? 'review');
  const items = useLive(() => loadFor(tab), [tab]);
  const campaigns = useCampaigns();

  const shown = useMemo(() => {
    const all = items.data ?? [];
    const user = me.value?.sub;
    switch (tab) {
      case 'waiting':
        return all.filter((i) => !isOwnItem(i) && decidableStages(i).length > 0);
      case 'mine':
        return all.filter((i) => i.author === user || (i.editors ?? []).includes(user ?? ''));
      default:
        return all;
    }
  }, [items.data, tab, me.value?.sub]);

  const q = (t: Tab) => (t === tabs[0]?.id ? '' : `?tab=${t}`);
  return (
    <div class="page page-wide">
      <PageHead
        title="Approval inbox"
        sub={
          tab === 'waiting'
            ? 'Content whose open review stage is decided by one of your roles.'
            : tab === 'mine'
              ? 'Content you wrote or edited: drafts to submit, changes requested, and what is in review.'
              : tab === 'approved'
                ? 'Approved content waiting for a send time.'
                : tab === 'scheduled'
                  ? 'Scheduled sends to record as published once they went out.'
                  : 'Everything in review.'
        }
        actions={<Updated lives={[items]} />}
      />
      <nav class="tabs" aria-label="Inbox lists">
        {tabs.map((t) => (
          <Link key={t.id} href={`/inbox${q(t.id)}`} class="tab" aria-current={t.id === tab ? 'page' : undefined}>
            {t.label}
          </Link>
        ))}
      </nav>
      <div class={selected ? 'split split-open' : 'split'}>
        <section class="split-list" aria-label="Items">
          <DataState live={items} loadingLabel="Loading content…">
            {() =>
              !shown.length ? (
                <Empty>
                  {tab === 'waiting' ? 'Nothing is waiting for your review. ' : 'Nothing here. '}
                  {tab === 'mine' ? 'Write content from a campaign’s page.' : ''}
                </Empty>
              ) : (
                <ul class="inbox-list">
                  {shown.map((i) => {
                    const review = reviewOf(i);
                    const openStage = review.stages.find((s) => s.open);
                    return (
                      <li key={i.id} class={i.id === selected ? 'inbox-item is-selected' : 'inbox-item'}>
                        <Link
                          href={`/inbox/${encodeURIComponent(i.id ?? '')}${q(tab)}`}
                          aria-current={i.id === selected ? 'true' : undefined}
                          class="inbox-link"
                        >
                          {i.title}
                        </Link>
                        <p class="small muted inbox-campaign">{campaignName(campaigns.data, i.campaign_id)}</p>
                        <p class="small">
                          <ContentStateBadge state={i.state} /> <span class="badge tone-muted">{i.channel}</span>
                          {openStage ? <span> · {titleCase(openStage.name)} stage</span> : null} · round {i.round ?? 0} · due{' '}
                          {dateOnly(i.due)}
                        </p>
                      </li>
                    );
                  })}
                </ul>
              )
            }
          </DataState>
        </section>
        <section class="split-detail panel" aria-label="Selected item">
          {selected ? (
            <>
              <p class="split-back">
                <Link href={`/inbox${q(tab)}`}>← Back to the list</Link>
              </p>
              <ContentDetail id={selected} onChanged={() => void items.reload()} />
            </>
          ) : (
            <Empty>Choose an item to see its text, checks and review.</Empty>
          )}
        </section>
      </div>
    </div>
  );
}
