// "New content" (marketing): a draft linked to a campaign channel. The API runs
// the automated checks at once; the draft is submitted for review from its page.
import { useState } from 'preact/hooks';
import { post } from '../api/client';
import type { ContentItem } from '../api/types';
import { addDays, isoDay, words } from '../lib/format';
import { Field, FormActions, useAction } from './ui';

export function ContentForm({
  campaignId,
  channels,
  scheduleStart,
  onCreated,
  onCancel,
}: {
  campaignId: string;
  channels: string[];
  scheduleStart?: string;
  onCreated: (item: ContentItem) => void;
  onCancel: () => void;
}) {
  const start = scheduleStart ? new Date(scheduleStart) : addDays(new Date(), 7);
  const [channel, setChannel] = useState(channels[0] ?? 'email');
  const [title, setTitle] = useState('');
  const [subject, setSubject] = useState('');
  const [body, setBody] = useState('');
  const [links, setLinks] = useState('');
  const [due, setDue] = useState(isoDay(addDays(start, -1)));
  const action = useAction();
  return (
    <form
      class="panel form-panel"
      aria-labelledby="new-content-title"
      onSubmit={async (e) => {
        e.preventDefault();
        await action.run(async () => {
          const item = await post('/api/content', {
            body: {
              campaign_id: campaignId,
              channel,
              title,
              body,
              ...(subject.trim() ? { subject } : {}),
              links: words(links),
              ...(due ? { due: `${due}T00:00:00Z` } : {}),
            },
          });
          onCreated(item);
        });
      }}
    >
      <div class="panel-head">
        <h3 id="new-content-title">New content</h3>
      </div>
      <div class="form-grid">
        <Field label="Channel">
          {channels.length ? (
            <select value={channel} onChange={(e) => setChannel(e.currentTarget.value)}>
              {channels.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          ) : (
            <input required value={channel} onInput={(e) => setChannel(e.currentTarget.value)} />
          )}
        </Field>
        <Field label="Title" wide>
          <input required maxLength={200} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
        </Field>
        <Field label="Subject" hint="Required for email (at most 78 characters)" wide>
          <input maxLength={500} value={subject} onInput={(e) => setSubject(e.currentTarget.value)} />
        </Field>
        <Field label="Body" wide>
          <textarea rows={6} maxLength={50000} value={body} onInput={(e) => setBody(e.currentTarget.value)} />
        </Field>
        <Field label="Links" hint="One per line; https with utm_source, utm_medium and utm_campaign" wide>
          <textarea rows={2} value={links} onInput={(e) => setLinks(e.currentTarget.value)} />
        </Field>
        <Field label="Due" hint="Due by the campaign start">
          <input type="date" value={due} onInput={(e) => setDue(e.currentTarget.value)} />
        </Field>
      </div>
      <FormActions action={action} submit="Save draft" busy="Saving…" onCancel={onCancel} />
    </form>
  );
}
