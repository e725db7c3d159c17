// "Subscribe in a calendar app": the signed-in user's iCalendar feed of scheduled
// sends. Calendar apps cannot send a bearer token, so the feed lives at a secret
// URL the API shows once, when it is made; making a new one or turning it off
// stops the old URL at once.
import { useState } from 'preact/hooks';
import { get, request } from '../api/client';
import { dateTime } from '../lib/format';
import { useLive } from '../lib/live';
import { ActionResult, DataState, Section, useAction } from './ui';

/** Most channels one feed shows (the API's limit). */
const MAX_CHANNELS = 4;

export function CalendarFeed({ channels }: { channels: string[] }) {
  const state = useLive((signal) => get('/api/content/calendar/feed', { signal }), []);
  const [picked, setPicked] = useState<string[] | null>(null);
  const [url, setUrl] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const action = useAction();
  // The feed's channels when it has one, else every channel shown (up to the limit).
  const current = state.data?.active ? state.data.channels.filter((c) => channels.includes(c)) : [];
  const chosen = picked ?? (current.length ? current : channels.slice(0, MAX_CHANNELS));

  const toggle = (channel: string, on: boolean) => {
    const next = on ? [...chosen, channel] : chosen.filter((c) => c !== channel);
    setPicked(next.slice(0, MAX_CHANNELS));
  };
  const make = (success: string) =>
    action.run(async () => {
      const made = await request('post', '/api/content/calendar/feed', { body: { channels: chosen } });
      setUrl(made.data.url);
      setCopied(false);
      await state.reload();
    }, success);
  const turnOff = () =>
    action.run(async () => {
      await request('delete', '/api/content/calendar/feed');
      setUrl(null);
      await state.reload();
    }, 'The feed is off: its URL no longer answers.');
  const copy = async () => {
    if (!url) return;
    try {
      await navigator.clipboard.writeText(url);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  };

  return (
    <Section title="Subscribe in a calendar app" id="feed">
      <DataState live={state} loadingLabel="Loading your calendar feed…">
        {(feed) => (
          <div class="feed">
            <p class="muted">
              {feed.active
                ? `Your feed shows ${feed.channels.join(', ')}${feed.created_at ? ` (URL made ${dateTime(feed.created_at)})` : ''}. Anyone with its URL sees these sends; make a new URL or turn it off to stop the old one.`
                : 'Get a private URL that Google Calendar, Outlook or Apple Calendar can subscribe to: it lists the scheduled sends of the channels you pick, from a week ago to twelve weeks ahead.'}
            </p>
            <fieldset class="feed-channels">
              <legend>Channels (up to {MAX_CHANNELS})</legend>
              {channels.map((c) => (
                <label key={c} class="check">
                  <input
                    type="checkbox"
                    checked={chosen.includes(c)}
                    disabled={!chosen.includes(c) && chosen.length >= MAX_CHANNELS}
                    onChange={(e) => toggle(c, e.currentTarget.checked)}
                  />{' '}
                  {c}
                </label>
              ))}
            </fieldset>
            <div class="form-actions">
              <button
                type="button"
                class="btn btn-small btn-primary"
                disabled={action.busy || !chosen.length}
                onClick={() => make(feed.active ? 'A new URL is made; the old one no longer answers.' : 'Your feed URL is ready.')}
              >
                {feed.active ? 'Make a new URL' : 'Create feed URL'}
              </button>
              {feed.active ? (
                <button type="button" class="btn btn-small" disabled={action.busy} onClick={turnOff}>
                  Turn off
                </button>
              ) : null}
            </div>
            <ActionResult action={action} />
            {url ? (
              <div class="feed-url">
                <label for="feed-url">Your feed URL (shown once: copy it now)</label>
                <div class="feed-url-row">
                  <input id="feed-url" class="mono" readOnly value={url} onFocus={(e) => e.currentTarget.select()} />
                  <button type="button" class="btn btn-small" onClick={copy}>
                    {copied ? 'Copied ✓' : 'Copy'}
                  </button>
                </div>
                <p class="muted">In your calendar app, add a calendar “from URL” (or “subscribe”) and paste it.</p>
              </div>
            ) : null}
          </div>
        )}
      </DataState>
    </Section>
  );
}
