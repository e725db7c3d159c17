// "Allocate" (operations): a resource to a campaign for a date range. The API
// allows overallocation and reports it; this form shows what it reported.
import { useState } from 'preact/hooks';
import { post } from '../api/client';
import type { Campaign, Overallocation, Resource } from '../api/types';
import { CampaignSelect } from './CampaignSelect';
import { Field, FormActions, useAction } from './ui';

export function AllocationForm({
  resources,
  campaigns,
  fixedCampaign,
  defaultFrom,
  defaultTo,
  onCreated,
}: {
  resources: Resource[];
  campaigns?: Campaign[];
  fixedCampaign?: Campaign;
  defaultFrom: string;
  defaultTo: string;
  onCreated: () => void;
}) {
  const [resourceId, setResourceId] = useState(resources[0]?.id ?? '');
  const [campaignId, setCampaignId] = useState(fixedCampaign?.id ?? '');
  const [from, setFrom] = useState(defaultFrom);
  const [to, setTo] = useState(defaultTo);
  const [amount, setAmount] = useState('4');
  const [skill, setSkill] = useState('');
  const [over, setOver] = useState<Overallocation[]>([]);
  const action = useAction();
  return (
    <form
      class="inline-form"
      aria-label="New allocation"
      onSubmit={async (e) => {
        e.preventDefault();
        setOver([]);
        await action.run(async () => {
          const r = await post('/api/resources/allocations', {
            body: {
              resource_id: resourceId,
              campaign_id: campaignId,
              from,
              to,
              amount_per_day: Number(amount),
              ...(skill.trim() ? { skill: skill.trim() } : {}),
            },
          });
          setOver(r.overallocations ?? []);
          onCreated();
        }, 'Allocation created.');
      }}
    >
      <Field label="Resource">
        <select required value={resourceId} onChange={(e) => setResourceId(e.currentTarget.value)}>
          {resources.length === 0 ? <option value="">No resources yet</option> : null}
          {resources.map((r) => (
            <option key={r.id} value={r.id}>
              {r.name} ({r.kind}, {r.capacity_per_day}/day)
            </option>
          ))}
        </select>
      </Field>
      {fixedCampaign ? null : (
        <Field label="Campaign">
          <CampaignSelect campaigns={campaigns} value={campaignId} onChange={setCampaignId} />
        </Field>
      )}
      <Field label="From">
        <input type="date" required value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
      </Field>
      <Field label="To">
        <input type="date" required value={to} onInput={(e) => setTo(e.currentTarget.value)} />
      </Field>
      <Field label="Amount per day" hint="Hours, or minor units for budget pools">
        <input type="number" min="1" required value={amount} onInput={(e) => setAmount(e.currentTarget.value)} />
      </Field>
      <Field label="Skill (optional)">
        <input value={skill} onInput={(e) => setSkill(e.currentTarget.value)} />
      </Field>
      <FormActions action={action} submit="Allocate" busy="Allocating…" disabled={!resourceId} />
      {over.length ? (
        <div class="notice notice-warn" role="status">
          <p>
            <span aria-hidden="true">⚠ </span>Overallocated on {over.length} day{over.length === 1 ? '' : 's'}: the planning gate
            stays closed until this is rebalanced.
          </p>
          <ul>
            {over.slice(0, 5).map((o) => (
              <li key={`${o.resource_id}-${o.date}`}>
                {o.date}: {o.allocated} of {o.capacity} (+{o.excess})
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </form>
  );
}
