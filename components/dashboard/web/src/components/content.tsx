// A content item as reviewers and authors see it: text (always rendered as
// text), automated check results, review progress, what changed since the last
// round, decisions, and the actions the signed-in roles allow.
import { useEffect, useState } from 'preact/hooks';
import { get, getAll, post, request } from '../api/client';
import type { AuditEntry, ContentItem, ContentState, Decision } from '../api/types';
import { reviewOf, type Review, type ReviewStage, type ScheduledSend } from '../api/types';
import { can, me, roles } from '../auth';
import { dateOnly, dateTime, titleCase, utcDateTime, words } from '../lib/format';
import { useLive } from '../lib/live';
import { AuditTimeline } from './AuditTimeline';
import { DownloadCsv } from './DownloadCsv';
import { ActionButton, ActionResult, Badge, DataState, ErrorBox, Field, FormActions, Link, Loading, RoleNote, Updated, useAction } from './ui';

const STATE_TONE: Record<ContentState, 'ok' | 'warn' | 'bad' | 'info' | 'muted'> = {
  draft: 'muted',
  in_review: 'info',
  changes_requested: 'warn',
  approved: 'ok',
  scheduled: 'ok',
  published: 'ok',
  withdrawn: 'muted',
};
const STATE_ICON: Record<ContentState, string> = {
  draft: '✎',
  in_review: '…',
  changes_requested: '↺',
  approved: '✓',
  scheduled: '◔',
  published: '✓',
  withdrawn: '✗',
};

export function ContentStateBadge({ state }: { state: ContentState | undefined }) {
  if (!state) return null;
  return (
    <Badge tone={STATE_TONE[state]} icon={STATE_ICON[state]}>
      {titleCase(state)}
    </Badge>
  );
}

/** Open stages the signed-in user may decide (by role and named approvers), not yet decided by them this round. */
export function decidableStages(item: ContentItem, review: Review = reviewOf(item)): ReviewStage[] {
  const user = me.value?.sub;
  if (!user || item.state !== 'in_review') return [];
  const r = roles.value;
  const wf = (item.workflow?.stages ?? []) as { name: string; approvers?: string[] }[];
  return review.stages.filter((s) => {
    if (!s.open) return false;
    if (!(r.has(s.role) || r.has('admin'))) return false;
    const approvers = wf.find((w) => w.name === s.name)?.approvers ?? [];
    if (approvers.length && !approvers.includes(user)) return false;
    const decided = (item.decisions ?? []).some(
      (d) => !d.void && d.stage === s.name && d.approver === user && d.round === review.round,
    );
    return !decided;
  });
}

/** Whether the signed-in user wrote or edited the item (and so may never decide on it). */
export function isOwnItem(item: ContentItem): boolean {
  const user = me.value?.sub;
  return !!user && (item.author === user || (item.editors ?? []).includes(user));
}

export function ContentDetail({ id, onChanged }: { id: string; onChanged?: () => void }) {
  const item = useLive((signal) => request('get', '/api/content/{id}', { path: { id }, signal }), [id]);
  const checks = useLive((signal) => get('/api/content/{id}/checks', { path: { id }, signal }), [id]);
  const audit = useLive(
    () => getAll<AuditEntry, '/api/content/{id}/audit'>('/api/content/{id}/audit', { path: { id }, max: 1_000 }).catch(() => []),
    [id],
  );
  const campaignId = item.data?.data.campaign_id;
  const campaign = useLive(
    (signal) => (campaignId ? get('/api/campaigns/{id}', { path: { id: campaignId }, signal }) : Promise.resolve(null)),
    [campaignId],
    { refresh: false },
  );
  const changed = () => {
    void item.reload();
    void checks.reload();
    void audit.reload();
    onChanged?.();
  };
  return (
    <DataState live={item} loadingLabel="Loading content…">
      {({ data: c }) => (
        <article class="content-detail" aria-labelledby={`content-${id}`}>
          <header class="content-head">
            <div class="content-title-row">
              <h2 id={`content-${id}`}>{c.title}</h2>
              <Updated lives={[item, checks]} />
            </div>
            <p class="meta-line">
              <ContentStateBadge state={c.state} /> <span class="badge tone-muted">{c.channel}</span>{' '}
              <span>
                by <strong>{c.author}</strong>
                {isOwnItem(c) ? ' (you)' : ''}
              </span>{' '}
              · <span>Round {c.round ?? 0}</span> · <span>Due {dateOnly(c.due)}</span> ·{' '}
              <span>
                Campaign{' '}
                <Link href={`/campaigns/${encodeURIComponent(c.campaign_id ?? '')}`}>{campaign.data?.name ?? 'open'}</Link>
              </span>
            </p>
          </header>
          {item.error ? <ErrorBox error={item.error} title="Could not refresh; showing the last data" /> : null}
          {c.refresh && !c.refresh.resolved_at ? (
            <div class="notice notice-warn" role="status">
              <p class="notice-title">{c.refresh.variant ? 'A variant is requested' : 'A refresh is requested'}</p>
              <p>
                {c.refresh.reason} — by {c.refresh.requested_by}, {dateTime(c.refresh.requested_at)}. Round{' '}
                {c.refresh.round} decides it.
              </p>
            </div>
          ) : null}
          <Actions item={c} onChanged={changed} />
          <section class="content-body" aria-label="Text">
            <h3>Text</h3>
            {c.subject ? (
              <p>
                <span class="field-label">Subject</span> <span class="content-subject">{c.subject}</span>
              </p>
            ) : null}
            <div class="content-text">{c.body}</div>
            {c.links?.length ? (
              <>
                <p class="field-label">Links</p>
                <ul class="links">
                  {c.links.map((l) => (
                    <li key={l} class="mono small">
                      {l}
                    </li>
                  ))}
                </ul>
              </>
            ) : null}
          </section>
          <section aria-label="Automated checks">
            <h3>Automated checks</h3>
            <DataState live={checks} loadingLabel="Loading checks…">
              {(r) => (
                <>
                  <p>
                    {r.passed ? (
                      <Badge tone="ok" icon="✓">
                        Every check passed
                      </Badge>
                    ) : (
                      <Badge tone="bad" icon="✗">
                        {r.failures?.length ?? 0} check(s) failed
                      </Badge>
                    )}{' '}
                    <span class="muted small">Brand standard version {r.standard_version ?? 0}</span>
                  </p>
                  <ul class="checks">
                    {(r.failures ?? []).map((f, i) => (
                      <li key={`f${i}`} class="check-bad">
                        <span aria-hidden="true">✗ </span>
                        <strong>{titleCase(f.check ?? '')}</strong>
                        {f.field ? ` (${f.field})` : ''}: {f.message}
                      </li>
                    ))}
                    {(r.checks ?? [])
                      .filter((name) => !(r.failures ?? []).some((f) => f.check === name))
                      .map((name) => (
                        <li key={name} class="check-ok">
                          <span aria-hidden="true">✓ </span>
                          {titleCase(name)}
                        </li>
                      ))}
                  </ul>
                </>
              )}
            </DataState>
          </section>
          <ReviewProgress item={c} />
          <SinceLastRound item={c} audit={audit.data ?? null} />
          <Decisions decisions={c.decisions ?? []} />
          <details class="content-audit">
            <summary>Audit trail of this item</summary>
            <DownloadCsv
              path="/api/content/{id}/audit"
              filename={`content-${id}-audit.csv`}
              options={{ path: { id }, query: { limit: 200 } }}
            />
            {audit.data ? (
              <AuditTimeline entries={audit.data.slice().reverse()} />
            ) : (
              <Loading />
            )}
          </details>
        </article>
      )}
    </DataState>
  );
}

function ReviewProgress({ item }: { item: ContentItem }) {
  const review = reviewOf(item);
  if (!review.stages.length) return null;
  return (
    <section aria-label="Review progress">
      <h3>Review, round {review.round}</h3>
      <ol class="review-stages">
        {review.stages.map((s) => (
          <li key={s.name} class={s.complete ? 'rs rs-done' : s.open ? 'rs rs-open' : 'rs rs-todo'}>
            <span class="rs-mark" aria-hidden="true">
              {s.complete ? '✓' : s.open ? '…' : '○'}
            </span>
            <span>
              <strong>{titleCase(s.name)}</strong> <span class="muted">({titleCase(s.role)})</span>
              <br />
              <span class="small">
                {s.complete ? 'Approved' : s.open ? 'Waiting' : 'Not started'}
                {s.approvals.length ? ` · by ${s.approvals.join(', ')}` : ''}
              </span>
            </span>
          </li>
        ))}
      </ol>
    </section>
  );
}

/**
 * What changed since the last review round. The API keeps only the current
 * text (and content hashes), so this lists what the audit trail records since
 * the previous round — edits with their hashes — and the previous round's
 * decisions and comments; no word-level diff is possible.
 */
function SinceLastRound({ item, audit }: { item: ContentItem; audit: AuditEntry[] | null }) {
  const round = item.round ?? 0;
  if (round <= 1) return null;
  const previous = (item.decisions ?? []).filter((d) => d.round === round - 1);
  // Edits after the last review_started of the previous round.
  let edits: AuditEntry[] = [];
  if (audit) {
    const starts = audit.filter((e) => e.action === 'content.review_started' || e.action === 'content.submitted');
    const prevStart = starts.length >= 2 ? starts[starts.length - 2] : undefined;
    edits = audit.filter(
      (e) => e.action === 'content.updated' && (!prevStart || (e.seq ?? 0) > (prevStart.seq ?? 0)),
    );
  }
  return (
    <section aria-label="Changes since the last round" class="since">
      <h3>Since round {round - 1}</h3>
      <p class="muted small">
        The API keeps only the current text, so a word-by-word comparison with round {round - 1} is not available. Shown
        here: the edits the audit trail recorded and what reviewers said in round {round - 1}.
      </p>
      {edits.length ? (
        <ul>
          {edits.map((e) => {
            const d = (e.detail ?? {}) as { previous_hash?: string; content_hash?: string; checks_passed?: boolean };
            return (
              <li key={e.seq}>
                Edited by <strong>{e.actor}</strong> {dateTime(e.at)}
                {d.previous_hash && d.content_hash && d.previous_hash !== d.content_hash
                  ? ' — text changed'
                  : ' — no text change'}
                {d.checks_passed === false ? ' (checks failing)' : ''}
              </li>
            );
          })}
        </ul>
      ) : (
        <p class="small">No edits recorded since round {round - 1}.</p>
      )}
      {previous.length ? (
        <ul>
          {previous.map((d, i) => (
            <li key={i}>
              <strong>{d.approver}</strong> ({titleCase(d.stage ?? '')}) {d.outcome === 'approve' ? 'approved' : 'requested changes'}
              {d.comment ? <>: “{d.comment}”</> : null}
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

function Decisions({ decisions }: { decisions: Decision[] }) {
  if (!decisions.length) return null;
  return (
    <section aria-label="Decisions">
      <h3>Decisions</h3>
      <ol class="timeline">
        {decisions
          .slice()
          .reverse()
          .map((d, i) => (
            <li key={i} class={d.void ? 'tl-item tl-void' : 'tl-item'}>
              <div class="tl-head">
                {d.outcome === 'approve' ? (
                  <Badge tone="ok" icon="✓">
                    Approved
                  </Badge>
                ) : (
                  <Badge tone="warn" icon="↺">
                    Changes requested
                  </Badge>
                )}{' '}
                <strong>{d.approver}</strong> for {titleCase(d.stage ?? '')} · round {d.round}{' '}
                <span class="muted">{dateTime(d.at)}</span>
                {d.void ? <span class="badge tone-muted">Void (earlier version)</span> : null}
              </div>
              {d.comment ? <p class="tl-detail">“{d.comment}”</p> : null}
            </li>
          ))}
      </ol>
    </section>
  );
}

function Actions({ item, onChanged }: { item: ContentItem; onChanged: () => void }) {
  const action = useAction();
  const [comment, setComment] = useState('');
  const review = reviewOf(item);
  const decidable = decidableStages(item, review);
  const [stage, setStage] = useState<string>('');
  useEffect(() => setStage(decidable[0]?.name ?? ''), [item.version, decidable.length]);
  const own = isOwnItem(item);
  const id = item.id ?? '';
  const version = item.version ?? 0;
  const [at, setAt] = useState('');
  const [editing, setEditing] = useState(false);

  const decide = (outcome: 'approve' | 'request_changes') =>
    action.run(
      async () => {
        await post('/api/content/{id}/decisions', {
          path: { id },
          body: {
            outcome,
            ...(comment.trim() ? { comment: comment.trim() } : {}),
            ...(decidable.length > 1 && stage ? { stage } : {}),
            ...(item.content_hash ? { content_hash: item.content_hash } : {}),
          },
        });
        setComment('');
        onChanged();
      },
      outcome === 'approve' ? 'Approved.' : 'Changes requested.',
    );

  const simple = (path: '/api/content/{id}/submit' | '/api/content/{id}/publish' | '/api/content/{id}/withdraw', done: string) =>
    action.run(async () => {
      await post(path, { path: { id }, ifMatch: version });
      onChanged();
    }, done);

  const inReview = item.state === 'in_review';
  const mayDecide = inReview && !own && decidable.length > 0;
  const reviewerRole = review.stages.some((s) => s.open && (roles.value.has(s.role) || roles.value.has('admin')));
  return (
    <section class="content-actions" aria-label="Actions">
      {mayDecide ? (
        <form class="decision-form" aria-label="Your decision" onSubmit={(e) => e.preventDefault()}>
          {decidable.length > 1 ? (
            <Field label="Stage">
              <select value={stage} onChange={(e) => setStage(e.currentTarget.value)}>
                {decidable.map((s) => (
                  <option key={s.name} value={s.name}>
                    {titleCase(s.name)}
                  </option>
                ))}
              </select>
            </Field>
          ) : (
            <p class="small">
              You review the <strong>{titleCase(decidable[0]?.name ?? '')}</strong> stage.
            </p>
          )}
          <Field label="Comment" hint="Required when requesting changes" wide>
            <textarea rows={2} maxLength={2000} value={comment} onInput={(e) => setComment(e.currentTarget.value)} />
          </Field>
          <div class="form-actions">
            <button type="button" class="btn btn-primary" disabled={action.busy} onClick={() => decide('approve')}>
              Approve
            </button>
            <button type="button" class="btn" disabled={action.busy} onClick={() => decide('request_changes')}>
              Request changes
            </button>
          </div>
        </form>
      ) : inReview && own && reviewerRole ? (
        <RoleNote>You wrote or edited this item, so you cannot review it.</RoleNote>
      ) : inReview && reviewerRole && !own ? (
        <p class="muted small">You have decided on the open stage for this version.</p>
      ) : null}

      <div class="form-actions">
        {can('marketing') && (item.state === 'draft' || item.state === 'changes_requested') ? (
          <button type="button" class="btn btn-primary" disabled={action.busy} onClick={() => simple('/api/content/{id}/submit', 'Submitted for review.')}>
            Submit for review
          </button>
        ) : null}
        {can('marketing') && item.state !== 'published' && item.state !== 'withdrawn' && !editing ? (
          <button type="button" class="btn" onClick={() => setEditing(true)}>
            Edit
          </button>
        ) : null}
        {can('operations') && item.state === 'approved' ? (
          <>
            <label class="field field-inline">
              <span class="field-label">Send at (UTC, optional)</span>
              <input type="datetime-local" value={at} onInput={(e) => setAt(e.currentTarget.value)} />
            </label>
            <ActionButton
              action={action}
              class="btn btn-primary"
              run={async () => {
                await post('/api/content/{id}/schedule', {
                  path: { id },
                  ifMatch: version,
                  body: at ? { at: `${at.length === 16 ? `${at}:00` : at}Z` } : {},
                });
                setAt('');
                onChanged();
              }}
              done="Scheduled."
            >
              {at ? 'Schedule at this time' : 'Schedule at the best time'}
            </ActionButton>
          </>
        ) : null}
        {can('operations') && item.state === 'scheduled' ? (
          <button type="button" class="btn btn-primary" disabled={action.busy} onClick={() => simple('/api/content/{id}/publish', 'Published.')}>
            Publish
          </button>
        ) : null}
        {can('marketing', 'operations') && item.state !== 'published' && item.state !== 'withdrawn' ? (
          <button type="button" class="btn btn-ghost" disabled={action.busy} onClick={() => simple('/api/content/{id}/withdraw', 'Withdrawn.')}>
            Withdraw
          </button>
        ) : null}
      </div>
      {item.scheduled ? (
        <p class="small">
          <span aria-hidden="true">◔ </span>Scheduled for {utcDateTime((item.scheduled as unknown as ScheduledSend).at)} (
          {(item.scheduled as unknown as ScheduledSend).picked === 'auto' ? 'best time picked from engagement' : 'time chosen by operations'})
        </p>
      ) : null}
      <ActionResult action={action} />
      {editing ? <EditForm item={item} onDone={() => setEditing(false)} onChanged={onChanged} /> : null}
    </section>
  );
}

function EditForm({ item, onDone, onChanged }: { item: ContentItem; onDone: () => void; onChanged: () => void }) {
  const [title, setTitle] = useState(item.title ?? '');
  const [subject, setSubject] = useState(item.subject ?? '');
  const [body, setBody] = useState(item.body ?? '');
  const [links, setLinks] = useState((item.links ?? []).join('\n'));
  const action = useAction();
  return (
    <form
      class="subpanel"
      aria-label="Edit content"
      onSubmit={async (e) => {
        e.preventDefault();
        const ok = await action.run(async () => {
          await request('patch', '/api/content/{id}', {
            path: { id: item.id ?? '' },
            ifMatch: item.version ?? 0,
            body: {
              title,
              body,
              subject: subject.trim() ? subject : null,
              links: words(links),
            },
          });
          onChanged();
        });
        if (ok) onDone();
      }}
    >
      <p class="muted small">
        Saving a change to the text voids earlier decisions and restarts review; whoever edits may no longer review it.
      </p>
      <div class="form-grid">
        <Field label="Title" wide>
          <input required value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
        </Field>
        <Field label="Subject" wide>
          <input value={subject} onInput={(e) => setSubject(e.currentTarget.value)} />
        </Field>
        <Field label="Body" wide>
          <textarea rows={6} value={body} onInput={(e) => setBody(e.currentTarget.value)} />
        </Field>
        <Field label="Links" hint="One per line" wide>
          <textarea rows={2} value={links} onInput={(e) => setLinks(e.currentTarget.value)} />
        </Field>
      </div>
      <FormActions action={action} submit="Save changes" onCancel={onDone} cancel="Discard changes" />
    </form>
  );
}
