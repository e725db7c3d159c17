// Allocations as a table — resource, campaign (unless the table is a single
// campaign's), days, amount and skill — with Remove for operations.
import { request } from '../api/client';
import type { Allocation, Campaign, Resource } from '../api/types';
import { can } from '../auth';
import { campaignName } from '../lib/campaigns';
import { ActionButton, ActionResult, Empty, Link, Table, useAction } from './ui';

export function AllocationTable({
  items,
  resources,
  campaigns,
  caption,
  empty,
  onChanged,
}: {
  items: Allocation[];
  resources: Resource[];
  /** Names for a Campaign column; leave out for one campaign's allocations. */
  campaigns?: Campaign[] | undefined | null;
  caption: string;
  /** What to say when there are none. */
  empty: string;
  onChanged: () => void;
}) {
  const del = useAction();
  const byId = new Map(resources.map((r) => [r.id, r]));
  const ops = can('operations');
  const withCampaign = campaigns !== undefined;
  if (!items.length) {
    return (
      <>
        <ActionResult action={del} />
        <Empty>{empty}</Empty>
      </>
    );
  }
  return (
    <>
      <ActionResult action={del} />
      <Table
        caption={caption}
        columns={['Resource', withCampaign ? 'Campaign' : null, 'From', 'To', ['Per day', 'num'], 'Skill', ops ? 'Actions' : null]}
      >
        {items.map((a) => {
          const r = byId.get(a.resource_id);
          const name = r?.name ?? a.resource_id;
          const campaign = withCampaign ? campaignName(campaigns ?? undefined, a.campaign_id) : null;
          return (
            <tr key={a.id}>
              <th scope="row">{name}</th>
              {withCampaign ? (
                <td>
                  <Link href={`/campaigns/${encodeURIComponent(a.campaign_id ?? '')}`}>{campaign}</Link>
                </td>
              ) : null}
              <td>{a.from}</td>
              <td>{a.to}</td>
              <td class="num">
                {a.amount_per_day} {r?.kind === 'budget_pool' ? 'minor units' : 'h'}
              </td>
              <td>{a.skill ?? '—'}</td>
              {ops ? (
                <td>
                  <ActionButton
                    action={del}
                    class="btn btn-small btn-ghost"
                    run={async () => {
                      await request('delete', '/api/resources/allocations/{id}', { path: { id: a.id ?? '' } });
                      onChanged();
                    }}
                    done="Allocation removed."
                  >
                    Remove
                    <span class="sr-only">
                      {' '}
                      allocation of {name}
                      {campaign ? ` to ${campaign}` : ''}
                    </span>
                  </ActionButton>
                </td>
              ) : null}
            </tr>
          );
        })}
      </Table>
    </>
  );
}
