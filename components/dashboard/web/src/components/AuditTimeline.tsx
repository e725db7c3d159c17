// An audit log as a timeline, newest first: each entry's action, who did it (a
// person or automation), when, and a readable summary of its detail.
import type { AuditEntry } from '../api/types';
import { auditSummary } from '../lib/audit';
import { dateTime, isAutomated } from '../lib/format';
import { ActorBadge } from './ui';

export function AuditTimeline({
  entries,
  resourceName,
}: {
  /** Newest first. */
  entries: AuditEntry[];
  resourceName?: (id: string) => string | undefined;
}) {
  return (
    <ol class="timeline" aria-label="Audit entries, newest first">
      {entries.map((e) => {
        const summary = auditSummary(e.action, e.detail, resourceName);
        return (
          <li key={e.seq} class={isAutomated(e.actor) ? 'tl-item tl-system' : 'tl-item tl-person'}>
            <div class="tl-head">
              <span class="tl-action">{e.action}</span> <ActorBadge actor={e.actor} />{' '}
              <time class="muted" dateTime={e.at}>
                {dateTime(e.at)}
              </time>
            </div>
            {summary ? <p class="tl-detail small">{summary}</p> : null}
          </li>
        );
      })}
    </ol>
  );
}
