// Test data through the public API: small builders so each test makes its own
// uniquely named campaigns, resources, content and rules in the shared app.
import { expect, type APIRequestContext, type APIResponse } from '@playwright/test';

/** Tokens the test app accepts (token → user, roles). */
export const TOKENS = {
  marketing: 'marketing-token', // mia
  marketing2: 'marketing2-token', // max
  operations: 'operations-token', // olga
  operations2: 'operations2-token', // omar
  brand: 'brand-token', // bree
  compliance: 'compliance-token', // cole
  admin: 'admin-token', // ada
  viewer: 'viewer-token', // vic
  scheduler: 'scheduler-token', // system:scheduler
} as const;
export type Who = keyof typeof TOKENS;

export const USERS: Record<Who, string> = {
  marketing: 'mia',
  marketing2: 'max',
  operations: 'olga',
  operations2: 'omar',
  brand: 'bree',
  compliance: 'cole',
  admin: 'ada',
  viewer: 'vic',
  scheduler: 'system:scheduler',
};

let counter = 0;
/** A name no other test run uses. */
export function unique(prefix: string): string {
  counter += 1;
  return `${prefix} ${Date.now().toString(36)}${counter}${Math.random().toString(36).slice(2, 5)}`;
}

export function day(offsetDays: number, from = new Date()): string {
  const d = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()));
  d.setUTCDate(d.getUTCDate() + offsetDays);
  return d.toISOString().slice(0, 10);
}

export function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}

export class Api {
  constructor(private readonly request: APIRequestContext) {}

  private headers(who: Who, extra: Record<string, string> = {}) {
    return { authorization: `Bearer ${TOKENS[who]}`, 'content-type': 'application/json', ...extra };
  }

  async raw(method: string, path: string, who: Who, body?: unknown, extra: Record<string, string> = {}): Promise<APIResponse> {
    return this.request.fetch(path, {
      method,
      headers: this.headers(who, extra),
      ...(body === undefined ? {} : { data: JSON.stringify(body) }),
    });
  }

  /** A request that must succeed; returns the JSON body. */
  async ok<T = any>(method: string, path: string, who: Who, body?: unknown, extra: Record<string, string> = {}): Promise<T> {
    const r = await this.raw(method, path, who, body, extra);
    const text = await r.text();
    expect(r.ok(), `${method} ${path} as ${who}: ${r.status()} ${text}`).toBeTruthy();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  get<T = any>(path: string, who: Who = 'viewer') {
    return this.ok<T>('GET', path, who);
  }
  post<T = any>(path: string, who: Who, body: unknown = {}) {
    return this.ok<T>('POST', path, who, body);
  }

  /** A campaign starting in `startIn` days for `days` days on the given channels (with send plans). */
  async campaign(
    opts: { name?: string; startIn?: number; days?: number; channels?: string[]; who?: Who; objectives?: boolean } = {},
  ): Promise<{ id: string; name: string; start: string; last: string; version: number }> {
    const name = opts.name ?? unique('UI campaign');
    const startIn = opts.startIn ?? 20;
    const days = opts.days ?? 3;
    const start = day(startIn);
    const last = day(startIn + days - 1);
    const end = day(startIn + days);
    const c = await this.post('/api/campaigns', opts.who ?? 'marketing', {
      name,
      marketing_owner: 'mia',
      operations_owner: 'olga',
      objectives:
        opts.objectives === false ? [] : [{ kpi: 'conversions', target: 500, deadline: `${end}T00:00:00Z` }],
      channels: (opts.channels ?? ['email']).map((channel) => ({
        channel,
        budget_minor: 100000,
        send_plan: { sends_per_day: 2000 },
      })),
      schedule: { start: `${start}T00:00:00Z`, end: `${end}T00:00:00Z` },
      priority: 2,
    });
    return { id: c.id, name, start, last, version: c.version };
  }

  async resource(name = unique('Person'), capacity = 8): Promise<{ id: string; name: string }> {
    const r = await this.post('/api/resources', 'operations', { name, kind: 'person', capacity_per_day: capacity, skills: ['copywriting'] });
    return { id: r.id, name };
  }

  async allocate(resourceId: string, campaignId: string, from: string, to: string, amount = 4) {
    return this.post('/api/resources/allocations', 'operations', {
      resource_id: resourceId,
      campaign_id: campaignId,
      from,
      to,
      amount_per_day: amount,
    });
  }

  /** Email content that passes the default brand standard. */
  async content(campaignId: string, opts: { title?: string; body?: string; due?: string; channel?: string } = {}) {
    const link = 'https://acme.test/spring?utm_source=news&utm_medium=email&utm_campaign=spring';
    return this.post('/api/content', 'marketing', {
      campaign_id: campaignId,
      channel: opts.channel ?? 'email',
      title: opts.title ?? unique('Content'),
      subject: 'Spring is here',
      body: opts.body ?? `Shop now: ${link}`,
      links: [link],
      due: `${opts.due ?? day(1)}T00:00:00Z`,
    });
  }

  /** A campaign moved to production: a person allocated for every schedule day. */
  async campaignInProduction(opts: Parameters<Api['campaign']>[0] = {}) {
    const c = await this.campaign(opts);
    const r = await this.resource();
    await this.allocate(r.id, c.id, c.start, c.last, 4);
    await this.post(`/api/campaigns/${c.id}/transitions`, 'operations', { target: 'production' });
    return c;
  }
}
