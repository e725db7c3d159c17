// "New campaign" (marketing): name, owners, schedule, priority, objectives and
// channels with budgets and send plans — what the stage gates will ask for.
import { useState } from 'preact/hooks';
import { post } from '../api/client';
import type { Campaign, CampaignInput } from '../api/types';
import { me } from '../auth';
import { addDays, commaList, isoDay, todayUtc, uid } from '../lib/format';
import { Field, FormActions, useAction } from './ui';

type ObjectiveRow = { key: string; kpi: string; target: string; deadline: string };
type ChannelRow = { key: string; channel: string; budget: string; sendsPerDay: string; fallback: string };

const KPIS = ['conversions', 'clicked', 'opened', 'delivered', 'sent', 'spend'];

/** Rows of a repeated group of fields, each with a stable key: edit, remove and add. */
function useRows<R extends { key: string }>(first: Omit<R, 'key'>) {
  const [rows, setRows] = useState<R[]>(() => [{ ...first, key: uid() } as R]);
  return {
    rows,
    update: (key: string, patch: Partial<R>) => setRows((rs) => rs.map((r) => (r.key === key ? { ...r, ...patch } : r))),
    remove: (key: string) => setRows((rs) => rs.filter((r) => r.key !== key)),
    add: (row: Omit<R, 'key'>) => setRows((rs) => [...rs, { ...row, key: uid() } as R]),
  };
}

/** The button that removes row `n` of a group (named for screen readers: "Remove channel 2"). */
function RemoveRow({ what, n, onRemove }: { what: string; n: number; onRemove: () => void }) {
  return (
    <button type="button" class="btn btn-small btn-ghost" onClick={onRemove}>
      Remove {what} {n}
    </button>
  );
}

export function CampaignForm({
  onCreated,
  onCancel,
  owners,
}: {
  onCreated: (c: Campaign) => void;
  onCancel: () => void;
  owners: { operations: string[] };
}) {
  const start = addDays(todayUtc(), 14);
  const [name, setName] = useState('');
  const [marketingOwner, setMarketingOwner] = useState(me.value?.sub ?? '');
  const [operationsOwner, setOperationsOwner] = useState('');
  const [first, setFirst] = useState(isoDay(start));
  const [last, setLast] = useState(isoDay(addDays(start, 13)));
  const [priority, setPriority] = useState('3');
  const objectives = useRows<ObjectiveRow>({ kpi: 'conversions', target: '', deadline: isoDay(addDays(start, 13)) });
  const channels = useRows<ChannelRow>({ channel: 'email', budget: '', sendsPerDay: '', fallback: '' });
  const action = useAction();
  const updateObjective = objectives.update;
  const updateChannel = channels.update;

  const submit = async (e: Event) => {
    e.preventDefault();
    const body: CampaignInput = {
      name,
      marketing_owner: marketingOwner.trim(),
      operations_owner: operationsOwner.trim(),
      schedule: { start: `${first}T00:00:00Z`, end: `${isoDay(addDays(new Date(`${last}T00:00:00Z`), 1))}T00:00:00Z` },
      priority: Number(priority),
      objectives: objectives.rows
        .filter((o) => o.kpi.trim() || o.target.trim())
        .map((o) => ({ kpi: o.kpi.trim(), target: Number(o.target), deadline: `${o.deadline}T00:00:00Z` })),
      channels: channels.rows
        .filter((c) => c.channel.trim())
        .map((c) => ({
          channel: c.channel.trim(),
          budget_minor: Math.round(Number(c.budget || '0') * 100),
          fallback_channels: commaList(c.fallback),
          send_plan: c.sendsPerDay.trim() ? { sends_per_day: Number(c.sendsPerDay) } : null,
        })),
    };
    await action.run(async () => {
      const created = await post('/api/campaigns', { body });
      onCreated(created);
    });
  };

  return (
    <form class="panel form-panel" aria-labelledby="new-campaign-title" onSubmit={submit}>
      <div class="panel-head">
        <h2 id="new-campaign-title">New campaign</h2>
      </div>
      <div class="form-grid">
        <Field label="Campaign name" wide>
          <input required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <Field label="Marketing owner">
          <input required value={marketingOwner} onInput={(e) => setMarketingOwner(e.currentTarget.value)} />
        </Field>
        <Field label="Operations owner" hint="User id of the operations lead">
          <input
            required
            list="ops-owners"
            value={operationsOwner}
            onInput={(e) => setOperationsOwner(e.currentTarget.value)}
          />
        </Field>
        <datalist id="ops-owners">
          {owners.operations.map((o) => (
            <option key={o} value={o} />
          ))}
        </datalist>
        <Field label="First day">
          <input type="date" required value={first} onInput={(e) => setFirst(e.currentTarget.value)} />
        </Field>
        <Field label="Last day">
          <input type="date" required value={last} onInput={(e) => setLast(e.currentTarget.value)} />
        </Field>
        <Field label="Priority">
          <select value={priority} onChange={(e) => setPriority(e.currentTarget.value)}>
            <option value="1">1 · Critical</option>
            <option value="2">2 · High</option>
            <option value="3">3 · Medium</option>
            <option value="4">4 · Low</option>
            <option value="5">5 · Lowest</option>
          </select>
        </Field>
      </div>

      <fieldset class="rows">
        <legend>Objectives (KPI targets)</legend>
        <datalist id="kpi-names">
          {KPIS.map((k) => (
            <option key={k} value={k} />
          ))}
        </datalist>
        {objectives.rows.map((o, i) => (
          <div class="row-grid" key={o.key}>
            <Field label={`KPI ${i + 1}`}>
              <input list="kpi-names" value={o.kpi} onInput={(e) => updateObjective(o.key, { kpi: e.currentTarget.value })} />
            </Field>
            <Field label={`Target ${i + 1}`}>
              <input
                type="number"
                min="0"
                step="any"
                value={o.target}
                onInput={(e) => updateObjective(o.key, { target: e.currentTarget.value })}
              />
            </Field>
            <Field label={`Deadline ${i + 1}`}>
              <input
                type="date"
                value={o.deadline}
                onInput={(e) => updateObjective(o.key, { deadline: e.currentTarget.value })}
              />
            </Field>
            <RemoveRow what="objective" n={i + 1} onRemove={() => objectives.remove(o.key)} />
          </div>
        ))}
        <button
          type="button"
          class="btn btn-small"
          onClick={() => objectives.add({ kpi: '', target: '', deadline: last })}
        >
          Add objective
        </button>
      </fieldset>

      <fieldset class="rows">
        <legend>Channels, budgets and send plans</legend>
        {channels.rows.map((c, i) => (
          <div class="row-grid" key={c.key}>
            <Field label={`Channel ${i + 1}`} hint="e.g. email, sms, social">
              <input value={c.channel} onInput={(e) => updateChannel(c.key, { channel: e.currentTarget.value })} />
            </Field>
            <Field label={`Budget ${i + 1}`} hint="In currency units">
              <input
                type="number"
                min="0"
                step="0.01"
                value={c.budget}
                onInput={(e) => updateChannel(c.key, { budget: e.currentTarget.value })}
              />
            </Field>
            <Field label={`Sends per day ${i + 1}`}>
              <input
                type="number"
                min="1"
                value={c.sendsPerDay}
                onInput={(e) => updateChannel(c.key, { sendsPerDay: e.currentTarget.value })}
              />
            </Field>
            <Field label={`Fallback channels ${i + 1}`} hint="Comma separated">
              <input value={c.fallback} onInput={(e) => updateChannel(c.key, { fallback: e.currentTarget.value })} />
            </Field>
            <RemoveRow what="channel" n={i + 1} onRemove={() => channels.remove(c.key)} />
          </div>
        ))}
        <button
          type="button"
          class="btn btn-small"
          onClick={() => channels.add({ channel: '', budget: '', sendsPerDay: '', fallback: '' })}
        >
          Add channel
        </button>
      </fieldset>

      <FormActions action={action} submit="Create campaign" busy="Creating…" onCancel={onCancel} />
    </form>
  );
}
