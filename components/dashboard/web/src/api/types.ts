// Names for the generated schema types the views use.
import type { Schemas } from './client';

export type Me = Schemas['Me'];
export type Stage = Schemas['Stage'];
export type Campaign = Schemas['Campaign'];
export type CampaignInput = Schemas['CampaignInput'];
export type GateStatus = Schemas['GateStatus'];
export type Unmet = Schemas['Unmet'];
export type Handoff = Schemas['Handoff'];
export type AuditEntry = Schemas['AuditEntry'];
export type SuccessReport = Schemas['SuccessReport'];
export type Kpi = NonNullable<SuccessReport['kpis']>[number];
export type PaceStatus = NonNullable<NonNullable<Kpi['pace']>['status']>;
export type Resource = Schemas['Resource'];
export type Allocation = Schemas['Allocation'];
export type Utilization = Schemas['Utilization'];
export type Overallocation = Schemas['Overallocation'];
export type RebalanceProposal = Schemas['RebalanceProposal'];
export type CampaignMetrics = Schemas['CampaignMetrics'];
export type ContentItem = Schemas['ContentItem'];
export type ContentState = NonNullable<ContentItem['state']>;
export type CheckReport = Schemas['CheckReport'];
export type Decision = NonNullable<ContentItem['decisions']>[number];
export type Calendar = Schemas['Calendar'];
export type ChannelPolicy = Schemas['ChannelPolicy'];
export type MonitoringRule = Schemas['MonitoringRule'];
export type MonitoringRuleInput = Schemas['MonitoringRuleInput'];
export type MonitoringCategory = Schemas['MonitoringCategory'];
export type MonitoringAction = Schemas['MonitoringAction'];
export type EvaluationRun = Schemas['EvaluationRun'];
export type Alert = Schemas['Alert'];
export type Trigger = Schemas['Trigger'];
export type TriggerStatus = NonNullable<Trigger['status']>;

/** Stages in workflow order; the last two are closed. */
export const STAGES: Stage[] = ['planning', 'production', 'distribution', 'monitoring', 'optimization', 'completed', 'cancelled'];
export const OPEN_STAGES: Stage[] = ['planning', 'production', 'distribution', 'monitoring', 'optimization'];

/** The review progress the API adds to a content item (`review`, untyped in the schema). */
export type ReviewStage = {
  name: string;
  role: string;
  rule?: string;
  needed?: number;
  approvals: string[];
  complete: boolean;
  open: boolean;
};
export type Review = { round: number; stages: ReviewStage[]; approved_for_current_hash: boolean };

export function reviewOf(item: ContentItem): Review {
  const r = (item.review ?? {}) as Partial<Review>;
  return { round: r.round ?? item.round ?? 0, stages: r.stages ?? [], approved_for_current_hash: !!r.approved_for_current_hash };
}

/** A calendar entry (`Calendar.items`, untyped in the schema). */
export type CalendarEntry = {
  content_id: string;
  campaign_id: string;
  at: string;
  slot_hour: string;
  title: string;
  state: string;
};

/** A scheduled send on a content item (`scheduled`, untyped in the schema). */
export type ScheduledSend = { at: string; slot_hour: number; picked: 'auto' | 'explicit' };
