// A picker of campaigns: required and open campaigns only for forms that attach
// something to a campaign (the default); optional, with every campaign, for
// filters (`emptyLabel` names the "any campaign" choice, `includeClosed`).
import type { Campaign } from '../api/types';
import { isOpen, openCampaigns } from '../lib/campaigns';

export function CampaignSelect({
  campaigns,
  value,
  onChange,
  id,
  emptyLabel = 'Choose a campaign',
  required = true,
  includeClosed = false,
}: {
  campaigns: Campaign[] | undefined;
  value: string;
  onChange: (id: string) => void;
  /** Set by <Field>, which labels the control. */
  id?: string;
  emptyLabel?: string;
  required?: boolean;
  /** List completed and cancelled campaigns too (after the open ones). */
  includeClosed?: boolean;
}) {
  const open = openCampaigns(campaigns);
  const closed = includeClosed ? (campaigns ?? []).filter((c) => !isOpen(c)) : [];
  const byName = (a: Campaign, b: Campaign) => (a.name ?? '').localeCompare(b.name ?? '');
  // A filter set in the URL before the list arrives (or to a campaign not listed) still shows its id.
  const known = !includeClosed || !value || (campaigns ?? []).some((c) => c.id === value);
  return (
    <select id={id} required={required} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
      <option value="">{emptyLabel}</option>
      {!known ? <option value={value}>{value}</option> : null}
      {includeClosed ? (
        <>
          <optgroup label="Open">
            {open.sort(byName).map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </optgroup>
          {closed.length ? (
            <optgroup label="Completed or cancelled">
              {closed.sort(byName).map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </optgroup>
          ) : null}
        </>
      ) : (
        open.map((c) => (
          <option key={c.id} value={c.id}>
            {c.name}
          </option>
        ))
      )}
    </select>
  );
}
