// Content calendar: scheduled sends per channel over a week (hour by day grid)
// or a month (day grid), with each channel's hourly cap (GET
// /api/content/channels/{channel}) and hours at the cap marked. Send slots are
// hours in UTC, so the calendar is in UTC.
import { useMemo } from 'preact/hooks';
import { get } from '../api/client';
import type { Calendar as CalendarDoc, CalendarEntry } from '../api/types';
import { CalendarFeed } from '../components/CalendarFeed';
import { Badge, DataState, Empty, InlineSelect, Link, PageHead, styled, Updated } from '../components/ui';
import { campaignName, knownChannels, useCampaigns } from '../lib/campaigns';
import { addDays, daysBetween, isoDay, todayUtc } from '../lib/format';
import { useLive } from '../lib/live';
import { location, setQuery } from '../router';

type Mode = 'week' | 'month';

const CHANNEL_COLORS = ['#1d4ed8', '#0f766e', '#7c3aed', '#b45309', '#be185d', '#15803d', '#4b5563'];

function range(mode: Mode, anchor: Date): { from: string; to: string } {
  if (mode === 'week') {
    const dow = (anchor.getUTCDay() + 6) % 7; // Monday first
    const start = addDays(anchor, -dow);
    return { from: isoDay(start), to: isoDay(addDays(start, 6)) };
  }
  const start = new Date(Date.UTC(anchor.getUTCFullYear(), anchor.getUTCMonth(), 1));
  const end = new Date(Date.UTC(anchor.getUTCFullYear(), anchor.getUTCMonth() + 1, 0));
  return { from: isoDay(start), to: isoDay(end) };
}

type ChannelData = { channel: string; calendar: CalendarDoc; cap: number };

export default function Calendar() {
  const q = new URLSearchParams(location.value.search);
  const mode: Mode = q.get('view') === 'month' ? 'month' : 'week';
  const anchor = q.get('date') ? new Date(`${q.get('date')}T00:00:00Z`) : todayUtc();
  const validAnchor = Number.isNaN(anchor.getTime()) ? todayUtc() : anchor;
  const { from, to } = range(mode, validAnchor);
  const campaigns = useCampaigns();
  const channels = useMemo(() => {
    const known = knownChannels(campaigns.data);
    return known.length ? known : ['email'];
  }, [campaigns.data]);
  const wanted = q.get('channel') ?? '';
  const selected = wanted && channels.includes(wanted) ? [wanted] : channels;

  const data = useLive(
    async (signal) =>
      Promise.all(
        selected.map(async (channel): Promise<ChannelData> => {
          const [calendar, policy] = await Promise.all([
            get('/api/content/calendar', { query: { channel, from, to }, signal }),
            get('/api/content/channels/{channel}', { path: { channel }, signal }).catch(() => null),
          ]);
          return { channel, calendar, cap: policy?.cap_per_hour ?? calendar.cap_per_hour ?? 10 };
        }),
      ),
    [selected.join(','), from, to],
  );

  const step = (n: number) => {
    const next = mode === 'week' ? addDays(validAnchor, 7 * n) : new Date(Date.UTC(validAnchor.getUTCFullYear(), validAnchor.getUTCMonth() + n, 1));
    setQuery({ date: isoDay(next) });
  };
  const colorOf = (ch: string) => CHANNEL_COLORS[Math.max(0, channels.indexOf(ch)) % CHANNEL_COLORS.length] ?? '#1d4ed8';
  const title =
    mode === 'week'
      ? `Week of ${new Date(`${from}T00:00:00Z`).toLocaleDateString([], { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' })}`
      : validAnchor.toLocaleDateString([], { month: 'long', year: 'numeric', timeZone: 'UTC' });

  return (
    <div class="page page-wide">
      <PageHead
        title="Content calendar"
        sub="Scheduled sends by channel; all times UTC (send slots are UTC hours)."
        actions={<Updated lives={[data]} />}
      />
      <div class="toolbar" role="group" aria-label="Calendar controls">
        <div class="segmented" role="group" aria-label="Period">
          <button type="button" class="btn btn-small" aria-pressed={mode === 'week'} onClick={() => setQuery({ view: null })}>
            Week
          </button>
          <button type="button" class="btn btn-small" aria-pressed={mode === 'month'} onClick={() => setQuery({ view: 'month' })}>
            Month
          </button>
        </div>
        <button type="button" class="btn btn-small" onClick={() => step(-1)}>
          ← Previous {mode}
        </button>
        <button type="button" class="btn btn-small" onClick={() => setQuery({ date: null })}>
          Today
        </button>
        <button type="button" class="btn btn-small" onClick={() => step(1)}>
          Next {mode} →
        </button>
        <InlineSelect
          label="Channel"
          value={wanted}
          options={[['', 'All channels'], ...channels.map((c): [string, string] => [c, c])]}
          onChange={(v) => setQuery({ channel: v || null })}
        />
        <strong class="toolbar-title">{title}</strong>
      </div>
      <DataState live={data} loadingLabel="Loading the calendar…">
        {(list) => (
          <>
            <ul class="legend" aria-label="Channels and hourly caps">
              {list.map((d) => (
                <li key={d.channel}>
                  <span class="swatch" aria-hidden="true" ref={styled({ background: colorOf(d.channel) })} />
                  <span>
                    <strong>{d.channel}</strong>: cap {d.cap} sends per hour · {d.calendar.items?.length ?? 0} scheduled
                  </span>
                </li>
              ))}
            </ul>
            {list.every((d) => !(d.calendar.items ?? []).length) ? (
              <Empty>No sends scheduled in this {mode}. Operations schedules approved content from the inbox.</Empty>
            ) : null}
            {mode === 'week' ? (
              <WeekGrid from={from} to={to} list={list} colorOf={colorOf} names={campaigns.data} />
            ) : (
              <MonthGrid from={from} to={to} list={list} colorOf={colorOf} />
            )}
          </>
        )}
      </DataState>
      <CalendarFeed channels={channels} />
    </div>
  );
}

type Send = CalendarEntry & { channel: string; cap: number };

function sendsOf(list: ChannelData[]): Send[] {
  return list.flatMap((d) => ((d.calendar.items ?? []) as unknown as CalendarEntry[]).map((e) => ({ ...e, channel: d.channel, cap: d.cap })));
}

function hourCount(list: ChannelData[], channel: string, slot: string): number {
  const d = list.find((x) => x.channel === channel);
  return d?.calendar.sends_per_hour?.[slot] ?? 0;
}

function slotKey(s: Send): { day: string; hour: number } {
  const d = new Date(s.slot_hour || s.at);
  return { day: isoDay(d), hour: d.getUTCHours() };
}

function WeekGrid({
  from,
  to,
  list,
  colorOf,
  names,
}: {
  from: string;
  to: string;
  list: ChannelData[];
  colorOf: (c: string) => string;
  names: Parameters<typeof campaignName>[0];
}) {
  const days = daysBetween(from, to);
  const sends = sendsOf(list);
  const byCell = new Map<string, Send[]>();
  for (const s of sends) {
    const k = slotKey(s);
    const key = `${k.day} ${k.hour}`;
    byCell.set(key, [...(byCell.get(key) ?? []), s]);
  }
  const busyHours = new Set(sends.map((s) => slotKey(s).hour));
  // Show working hours plus any hour with a send.
  const hours = Array.from({ length: 24 }, (_, h) => h).filter((h) => (h >= 7 && h <= 19) || busyHours.has(h));
  return (
    <div class="table-wrap">
      <table class="week-grid">
        <caption class="sr-only">Sends per hour and day, with the hourly cap</caption>
        <thead>
          <tr>
            <th scope="col">Hour (UTC)</th>
            {days.map((d) => (
              <th scope="col" key={d}>
                {new Date(`${d}T00:00:00Z`).toLocaleDateString([], { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' })}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {hours.map((h) => (
            <tr key={h}>
              <th scope="row">{String(h).padStart(2, '0')}:00</th>
              {days.map((d) => {
                const cell = byCell.get(`${d} ${h}`) ?? [];
                const perChannel = [...new Set(cell.map((s) => s.channel))].map((ch) => {
                  const slot = cell.find((s) => s.channel === ch)?.slot_hour ?? '';
                  const cap = cell.find((s) => s.channel === ch)?.cap ?? 10;
                  return { ch, count: hourCount(list, ch, slot) || cell.filter((s) => s.channel === ch).length, cap };
                });
                const full = perChannel.some((p) => p.count >= p.cap);
                return (
                  <td key={d} class={full ? 'cell-full' : cell.length ? 'cell-busy' : ''}>
                    {perChannel.map((p) => (
                      <p key={p.ch} class="cap-line small">
                        {p.ch}: {p.count}/{p.cap}
                        {p.count >= p.cap ? (
                          <Badge tone="bad" icon="■">
                            Full
                          </Badge>
                        ) : null}
                      </p>
                    ))}
                    {cell.map((s) => (
                      <p key={s.content_id} class="send">
                        <span class="swatch" aria-hidden="true" ref={styled({ background: colorOf(s.channel) })} />
                        <Link href={`/content/${encodeURIComponent(s.content_id)}`}>{s.title}</Link>
                        <span class="muted small"> {campaignName(names, s.campaign_id)}</span>
                      </p>
                    ))}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function MonthGrid({ from, to, list, colorOf }: { from: string; to: string; list: ChannelData[]; colorOf: (c: string) => string }) {
  const days = daysBetween(from, to);
  const sends = sendsOf(list);
  const first = new Date(`${from}T00:00:00Z`);
  const lead = (first.getUTCDay() + 6) % 7;
  const cells: (string | null)[] = [...Array.from({ length: lead }, () => null), ...days];
  while (cells.length % 7) cells.push(null);
  const weeks: (string | null)[][] = [];
  for (let i = 0; i < cells.length; i += 7) weeks.push(cells.slice(i, i + 7));
  const today = isoDay(new Date());
  return (
    <div class="table-wrap">
      <table class="month-grid">
        <caption class="sr-only">Sends per day</caption>
        <thead>
          <tr>
            {['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].map((d) => (
              <th scope="col" key={d}>
                {d}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {weeks.map((w, i) => (
            <tr key={i}>
              {w.map((d, j) => {
                if (!d) return <td key={j} class="cell-out" />;
                const daySends = sends.filter((s) => slotKey(s).day === d);
                const peak = new Map<string, number>();
                for (const s of daySends) {
                  const key = `${s.channel} ${s.slot_hour}`;
                  peak.set(key, (peak.get(key) ?? 0) + 1);
                }
                const atCap = daySends.some((s) => (peak.get(`${s.channel} ${s.slot_hour}`) ?? 0) >= s.cap);
                return (
                  <td key={j} class={`${d === today ? 'cell-today' : ''} ${atCap ? 'cell-full' : ''}`}>
                    <p class="day-num">
                      {Number(d.slice(8))}
                      {daySends.length ? <span class="muted small"> · {daySends.length} send{daySends.length === 1 ? '' : 's'}</span> : null}
                    </p>
                    {atCap ? (
                      <Badge tone="bad" icon="■">
                        An hour is full
                      </Badge>
                    ) : null}
                    {daySends.slice(0, 4).map((s) => (
                      <p key={s.content_id} class="send small">
                        <span class="swatch" aria-hidden="true" ref={styled({ background: colorOf(s.channel) })} />
                        {new Date(s.at).toISOString().slice(11, 16)}{' '}
                        <Link href={`/content/${encodeURIComponent(s.content_id)}`}>{s.title}</Link>
                      </p>
                    ))}
                    {daySends.length > 4 ? <p class="small muted">+{daySends.length - 4} more</p> : null}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
