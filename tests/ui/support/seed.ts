// A small realistic data set for the views that need something to show
// (screenshots, accessibility): campaigns in several stages, people with one
// overallocated, metrics over the last two days, content in review and a
// scheduled send in the calendar. Every name carries a unique tag.
import { Api, day, unique, unixNow } from './api';

export type Showcase = { tag: string; campaignId: string; campaignName: string; inReviewId: string; scheduledId: string };

export async function seedShowcase(api: Api): Promise<Showcase> {
  const tag = unique('').trim();
  const main = await api.campaign({ name: `Holiday launch ${tag}`, startIn: -2, days: 30, channels: ['email', 'sms'] });
  await api.campaign({ name: `Spring catalogue ${tag}`, startIn: 25, days: 10 });
  const prod = await api.campaignInProduction({ name: `Loyalty relaunch ${tag}`, startIn: 40, days: 3 });
  void prod;

  // People: Ann covers the main campaign; Ben is overbooked on two days.
  const ann = await api.resource(`Ann ${tag}`);
  const ben = await api.resource(`Ben ${tag}`);
  await api.allocate(ann.id, main.id, main.start, main.last, 6);
  await api.allocate(ben.id, main.id, day(0), day(6), 6);
  await api.allocate(ben.id, main.id, day(2), day(3), 4);

  // Metrics: hourly samples over the last 48 hours on two channels.
  const now = unixNow();
  const samples: unknown[] = [];
  for (let h = 47; h >= 0; h--) {
    const at = now - h * 3600 - 120;
    const wave = 1 + Math.sin(h / 4) * 0.4;
    for (const [channel, scale] of [
      ['email', 1],
      ['sms', 0.35],
    ] as const) {
      const sent = Math.round(400 * wave * scale);
      const delivered = Math.round(sent * 0.96);
      const opened = Math.round(delivered * 0.31);
      const clicked = Math.round(opened * 0.22);
      const conversions = Math.round(clicked * 0.3);
      for (const [kind, value] of Object.entries({ sent, delivered, opened, clicked, conversions, bounced: sent - delivered })) {
        samples.push({ id: `${main.id}-${channel}-${kind}-${h}`, kind, value, at, channel });
      }
    }
  }
  for (let i = 0; i < samples.length; i += 1000) {
    await api.post(`/api/campaigns/${main.id}/metrics`, 'operations', { samples: samples.slice(i, i + 1000) });
  }

  // Content: one approved and scheduled tomorrow at 10:00 UTC, one in review.
  const scheduled = await api.content(main.id, { title: `Holiday teaser ${tag}`, due: main.start });
  await api.post(`/api/content/${scheduled.id}/submit`, 'marketing');
  for (const who of ['brand', 'compliance', 'operations'] as const) {
    await api.post(`/api/content/${scheduled.id}/decisions`, who, { outcome: 'approve' });
  }
  const at = `${day(1)}T10:00:00Z`;
  const sch = await api.raw('POST', `/api/content/${scheduled.id}/schedule`, 'operations', { at });
  if (!sch.ok()) await api.post(`/api/content/${scheduled.id}/schedule`, 'operations', {});

  const inReview = await api.content(main.id, { title: `Holiday reminder ${tag}`, due: main.start });
  await api.post(`/api/content/${inReview.id}/submit`, 'marketing');

  // A pending rebalance proposal for Ben's overbooked days (may be refused when many are pending).
  await api.raw('POST', '/api/resources/rebalance-proposals', 'operations', { from: day(2), to: day(3) });

  return { tag, campaignId: main.id, campaignName: main.name, inReviewId: inReview.id, scheduledId: scheduled.id };
}
