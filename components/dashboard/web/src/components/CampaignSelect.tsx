// A required picker of the open campaigns (forms that attach something to a campaign).
import type { Campaign } from '../api/types';
import { openCampaigns } from '../lib/campaigns';

export function CampaignSelect({
  campaigns,
  value,
  onChange,
  id,
}: {
  campaigns: Campaign[] | undefined;
  value: string;
  onChange: (id: string) => void;
  /** Set by <Field>, which labels the control. */
  id?: string;
}) {
  return (
    <select id={id} required value={value} onChange={(e) => onChange(e.currentTarget.value)}>
      <option value="">Choose a campaign</option>
      {openCampaigns(campaigns).map((c) => (
        <option key={c.id} value={c.id}>
          {c.name}
        </option>
      ))}
    </select>
  );
}
