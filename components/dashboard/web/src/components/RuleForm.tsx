// Create or edit a monitoring rule (operations): POST a new rule, or PUT the
// whole rule with If-Match on its version.
import { useState } from 'preact/hooks';
import { post, request } from '../api/client';
import type { Campaign, MonitoringCategory, MonitoringRule, MonitoringRuleInput } from '../api/types';
import { commaList, titleCase } from '../lib/format';
import { CampaignSelect } from './CampaignSelect';
import { Field, FormActions, useAction } from './ui';

const CATEGORIES: MonitoringCategory[] = ['campaign_performance', 'content_engagement', 'distribution_success', 'resource_utilization'];
const CADENCE: Record<MonitoringCategory, string> = {
  campaign_performance: 'every run',
  content_engagement: 'hourly',
  distribution_success: 'every run',
  resource_utilization: 'daily',
};

/** The writable fields of a rule, for PUT. */
export function ruleInputOf(r: MonitoringRule): MonitoringRuleInput {
  const { id: _i, version: _v, builtin: _b, created_by: _c, created_at: _ca, updated_at: _u, ...rest } = r;
  return rest as MonitoringRuleInput;
}

type State = {
  name: string;
  category: MonitoringCategory;
  scopeKind: string;
  campaignId: string;
  eachChannel: boolean;
  channel: string;
  metricKind: string;
  kpi: string;
  numerator: string;
  denominator: string;
  windowHours: string;
  baselineHours: string;
  horizonDays: string;
  comparator: string;
  fire: string;
  clear: string;
  forN: string;
  keepFiringMinutes: string;
  repeatMinutes: string;
  severity: string;
  actionKind: string;
  maxShift: string;
  maxDelay: string;
  variant: string;
  url: string;
  approval: string;
  maxAttempts: string;
  enabled: boolean;
};

function initial(r: MonitoringRule | null): State {
  const scope = (r?.scope ?? { kind: 'campaign' }) as Record<string, unknown>;
  const metric = (r?.metric ?? { kind: 'ratio' }) as Record<string, unknown>;
  const action = (r?.action ?? { kind: 'content_refresh' }) as Record<string, unknown>;
  return {
    name: r?.name ?? '',
    category: r?.category ?? 'distribution_success',
    scopeKind: String(scope.kind ?? 'campaign'),
    campaignId: String(scope.campaign_id ?? ''),
    eachChannel: !!scope.each_channel,
    channel: String(scope.channel ?? ''),
    metricKind: String(metric.kind ?? 'ratio'),
    kpi: String(metric.kpi ?? ''),
    numerator: ((metric.numerator as string[] | undefined) ?? ['bounced']).join(', '),
    denominator: ((metric.denominator as string[] | undefined) ?? ['sent']).join(', '),
    windowHours: String(Number(metric.window_secs ?? 7200) / 3600),
    baselineHours: String(Number(metric.baseline_secs ?? 86400 * 7) / 3600),
    horizonDays: String(metric.horizon_days ?? 14),
    comparator: r?.comparator ?? 'gt',
    fire: r ? String(r.fire_threshold) : '0.1',
    clear: r?.clear_threshold !== undefined ? String(r.clear_threshold) : '',
    forN: String(r?.for ?? 1),
    keepFiringMinutes: r?.keep_firing_for_secs ? String(r.keep_firing_for_secs / 60) : '',
    repeatMinutes: r?.repeat_interval_secs ? String(r.repeat_interval_secs / 60) : '',
    severity: r?.severity ?? 'warning',
    actionKind: String(action.kind ?? 'content_refresh'),
    maxShift: String(action.max_shift_percent ?? 20),
    maxDelay: String(action.max_delay_hours ?? 24),
    variant: String(action.variant ?? ''),
    url: String(action.url ?? 'https://'),
    approval: r?.approval ?? 'requires_approval',
    maxAttempts: String(r?.max_attempts ?? 5),
    enabled: r?.enabled !== false,
  };
}

function toInput(s: State): MonitoringRuleInput {
  const scope =
    s.scopeKind === 'campaign'
      ? { kind: 'campaign' as const, campaign_id: s.campaignId, each_channel: s.eachChannel }
      : s.scopeKind === 'channel'
        ? { kind: 'channel' as const, channel: s.channel }
        : { kind: s.scopeKind as 'all_campaigns' | 'each_channel' | 'resources' };
  const metric =
    s.metricKind === 'kpi_pace'
      ? { kind: 'kpi_pace' as const, kpi: s.kpi.trim() || null }
      : s.metricKind === 'utilization'
        ? { kind: 'utilization' as const, horizon_days: Number(s.horizonDays) }
        : s.metricKind === 'baseline_change'
          ? {
              kind: 'baseline_change' as const,
              numerator: commaList(s.numerator),
              denominator: commaList(s.denominator),
              window_secs: Math.round(Number(s.windowHours) * 3600),
              baseline_secs: Math.round(Number(s.baselineHours) * 3600),
            }
          : {
              kind: 'ratio' as const,
              numerator: commaList(s.numerator),
              denominator: commaList(s.denominator),
              window_secs: Math.round(Number(s.windowHours) * 3600),
            };
  const action =
    s.actionKind === 'shift_budget' || s.actionKind === 'channel_failover'
      ? { kind: s.actionKind, max_shift_percent: Number(s.maxShift) }
      : s.actionKind === 'notify'
        ? { kind: 'notify' as const, url: s.url }
        : s.actionKind === 'rebalance_resources'
          ? { kind: 'rebalance_resources' as const }
          : s.actionKind === 'timing_change'
            ? { kind: 'timing_change' as const, max_delay_hours: Number(s.maxDelay) }
            : { kind: 'content_refresh' as const, variant: s.variant.trim() || null };
  const input: MonitoringRuleInput = {
    name: s.name,
    category: s.category,
    scope,
    metric,
    comparator: s.comparator as MonitoringRuleInput['comparator'],
    fire_threshold: Number(s.fire),
    for: Number(s.forN) || 1,
    severity: s.severity as MonitoringRuleInput['severity'],
    action: action as MonitoringRuleInput['action'],
    approval: s.approval as MonitoringRuleInput['approval'],
    max_attempts: Number(s.maxAttempts) || 5,
    enabled: s.enabled,
  };
  if (s.clear.trim()) input.clear_threshold = Number(s.clear);
  if (s.keepFiringMinutes.trim()) input.keep_firing_for_secs = Math.round(Number(s.keepFiringMinutes) * 60);
  if (s.repeatMinutes.trim() && s.actionKind === 'notify') input.repeat_interval_secs = Math.round(Number(s.repeatMinutes) * 60);
  return input;
}

export function RuleForm({
  initial: rule,
  campaigns,
  onSaved,
  onCancel,
}: {
  initial: MonitoringRule | null;
  campaigns: Campaign[];
  onSaved: () => void;
  onCancel: () => void;
}) {
  const [s, setS] = useState<State>(() => initial(rule));
  const set = <K extends keyof State>(k: K, v: State[K]) => setS((x) => ({ ...x, [k]: v }));
  const action = useAction();
  const title = rule ? `Edit rule “${rule.name}”` : 'New rule';
  return (
    <form
      class="subpanel form-panel"
      aria-label={title}
      onSubmit={async (e) => {
        e.preventDefault();
        await action.run(async () => {
          const body = toInput(s);
          if (rule?.id) {
            await request('put', '/api/evaluations/rules/{id}', { path: { id: rule.id }, ifMatch: rule.version ?? 0, body });
          } else {
            await post('/api/evaluations/rules', { body });
          }
          onSaved();
        });
      }}
    >
      <h3>{title}</h3>
      <div class="form-grid">
        <Field label="Rule name" wide>
          <input required maxLength={120} value={s.name} onInput={(e) => set('name', e.currentTarget.value)} />
        </Field>
        <Field label="Category" hint={`Evaluated ${CADENCE[s.category]}`}>
          <select value={s.category} onChange={(e) => set('category', e.currentTarget.value as MonitoringCategory)}>
            {CATEGORIES.map((c) => (
              <option key={c} value={c}>
                {titleCase(c)}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Scope">
          <select value={s.scopeKind} onChange={(e) => set('scopeKind', e.currentTarget.value)}>
            <option value="campaign">One campaign</option>
            <option value="all_campaigns">All campaigns</option>
            <option value="channel">One channel</option>
            <option value="each_channel">Each channel</option>
            <option value="resources">Resource pool</option>
          </select>
        </Field>
        {s.scopeKind === 'campaign' ? (
          <>
            <Field label="Campaign">
              <CampaignSelect campaigns={campaigns} value={s.campaignId} onChange={(id) => set('campaignId', id)} />
            </Field>
            <label class="check">
              <input type="checkbox" checked={s.eachChannel} onChange={(e) => set('eachChannel', e.currentTarget.checked)} />
              One alert per channel
            </label>
          </>
        ) : null}
        {s.scopeKind === 'channel' ? (
          <Field label="Channel">
            <input required value={s.channel} onInput={(e) => set('channel', e.currentTarget.value)} />
          </Field>
        ) : null}
        <Field label="Metric">
          <select value={s.metricKind} onChange={(e) => set('metricKind', e.currentTarget.value)}>
            <option value="ratio">Ratio over a window</option>
            <option value="baseline_change">Change vs trailing baseline</option>
            <option value="kpi_pace">KPI pace</option>
            <option value="utilization">Resource utilization</option>
          </select>
        </Field>
        {s.metricKind === 'kpi_pace' ? (
          <Field label="KPI" hint="Empty: the worst objective">
            <input value={s.kpi} onInput={(e) => set('kpi', e.currentTarget.value)} />
          </Field>
        ) : null}
        {s.metricKind === 'ratio' || s.metricKind === 'baseline_change' ? (
          <>
            <Field label="Numerator metrics" hint="Comma separated, e.g. bounced, dropped">
              <input required value={s.numerator} onInput={(e) => set('numerator', e.currentTarget.value)} />
            </Field>
            <Field label="Denominator metrics" hint="e.g. sent">
              <input required value={s.denominator} onInput={(e) => set('denominator', e.currentTarget.value)} />
            </Field>
            <Field label="Window (hours)">
              <input type="number" min="1" step="1" required value={s.windowHours} onInput={(e) => set('windowHours', e.currentTarget.value)} />
            </Field>
          </>
        ) : null}
        {s.metricKind === 'baseline_change' ? (
          <Field label="Baseline (hours)">
            <input type="number" min="1" required value={s.baselineHours} onInput={(e) => set('baselineHours', e.currentTarget.value)} />
          </Field>
        ) : null}
        {s.metricKind === 'utilization' ? (
          <Field label="Horizon (days)">
            <input type="number" min="1" max="90" required value={s.horizonDays} onInput={(e) => set('horizonDays', e.currentTarget.value)} />
          </Field>
        ) : null}
        <Field label="Comparator">
          <select value={s.comparator} onChange={(e) => set('comparator', e.currentTarget.value)}>
            <option value="gt">greater than (&gt;)</option>
            <option value="ge">at least (≥)</option>
            <option value="lt">less than (&lt;)</option>
            <option value="le">at most (≤)</option>
          </select>
        </Field>
        <Field label="Fire threshold">
          <input type="number" step="any" required value={s.fire} onInput={(e) => set('fire', e.currentTarget.value)} />
        </Field>
        <Field label="Clear threshold" hint="Hysteresis; empty: same as fire">
          <input type="number" step="any" value={s.clear} onInput={(e) => set('clear', e.currentTarget.value)} />
        </Field>
        <Field label="Breaches before firing">
          <input type="number" min="1" max="100" value={s.forN} onInput={(e) => set('forN', e.currentTarget.value)} />
        </Field>
        <Field label="Keep firing for (minutes)">
          <input type="number" min="0" value={s.keepFiringMinutes} onInput={(e) => set('keepFiringMinutes', e.currentTarget.value)} />
        </Field>
        <Field label="Severity">
          <select value={s.severity} onChange={(e) => set('severity', e.currentTarget.value)}>
            <option value="info">Info</option>
            <option value="warning">Warning</option>
            <option value="critical">Critical</option>
          </select>
        </Field>
        <Field label="Action">
          <select value={s.actionKind} onChange={(e) => set('actionKind', e.currentTarget.value)}>
            <option value="content_refresh">Open a content refresh (new review round)</option>
            <option value="shift_budget">Shift budget between channels</option>
            <option value="channel_failover">Fail over to fallback channel</option>
            <option value="timing_change">Move scheduled sends later (timing change)</option>
            <option value="rebalance_resources">Propose resource rebalancing</option>
            <option value="notify">Notify (signed webhook)</option>
          </select>
        </Field>
        {s.actionKind === 'shift_budget' || s.actionKind === 'channel_failover' ? (
          <Field label="Max shift (%)">
            <input type="number" min="1" max="100" required value={s.maxShift} onInput={(e) => set('maxShift', e.currentTarget.value)} />
          </Field>
        ) : null}
        {s.actionKind === 'timing_change' ? (
          <Field label="Max delay (hours)" hint="Sends due within it move, each at most this much later">
            <input type="number" min="1" max="168" required value={s.maxDelay} onInput={(e) => set('maxDelay', e.currentTarget.value)} />
          </Field>
        ) : null}
        {s.actionKind === 'content_refresh' ? (
          <Field label="Variant (optional)">
            <input value={s.variant} onInput={(e) => set('variant', e.currentTarget.value)} />
          </Field>
        ) : null}
        {s.actionKind === 'notify' ? (
          <>
            <Field label="Webhook URL">
              <input type="url" required value={s.url} onInput={(e) => set('url', e.currentTarget.value)} />
            </Field>
            <Field label="Repeat every (minutes)" hint="While firing; empty: once">
              <input type="number" min="1" value={s.repeatMinutes} onInput={(e) => set('repeatMinutes', e.currentTarget.value)} />
            </Field>
          </>
        ) : null}
        <Field label="Approval">
          <select value={s.approval} onChange={(e) => set('approval', e.currentTarget.value)}>
            <option value="requires_approval">Requires approval by operations</option>
            <option value="auto">Automatic</option>
          </select>
        </Field>
        <Field label="Max attempts">
          <input type="number" min="1" max="20" value={s.maxAttempts} onInput={(e) => set('maxAttempts', e.currentTarget.value)} />
        </Field>
        <label class="check">
          <input type="checkbox" checked={s.enabled} onChange={(e) => set('enabled', e.currentTarget.checked)} />
          Enabled
        </label>
      </div>
      <FormActions action={action} submit={rule ? 'Save rule' : 'Create rule'} onCancel={onCancel} />
    </form>
  );
}
