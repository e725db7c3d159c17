// Small building blocks shared by the views: states (loading, empty, error),
// badges, links, and an action helper that shows the API's refusal.
import { cloneElement, type ComponentChildren, type JSX, type VNode } from 'preact';
import { useCallback, useId, useState } from 'preact/hooks';
import { ApiError, describeError, type Problem } from '../api/client';
import type { PaceStatus, Stage } from '../api/types';
import { hms, isAutomated, PRIORITY_LABEL, titleCase } from '../lib/format';
import type { Live } from '../lib/live';
import { navigate } from '../router';

/** The problem's detail, with its per-field errors and unmet gate items. */
export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  const problem: Problem | null = error instanceof ApiError ? error.problem : null;
  const status = error instanceof ApiError ? error.status : null;
  return (
    <div class="notice notice-error" role="alert">
      <p class="notice-title">
        <span aria-hidden="true">⚠ </span>
        {title ?? (problem?.title && problem.title !== problem.detail ? problem.title : 'Something went wrong')}
        {status ? <span class="muted"> ({status})</span> : null}
      </p>
      <p>{describeError(error)}</p>
      {problem?.errors?.length ? (
        <ul class="problem-list">
          {problem.errors.map((e, i) => (
            <li key={i}>
              {e.field ? <strong>{e.field}: </strong> : null}
              {e.message}
            </li>
          ))}
        </ul>
      ) : null}
      {problem?.unmet?.length ? <UnmetList items={problem.unmet} label="Unmet" /> : null}
    </div>
  );
}

export function UnmetList({ items, label }: { items: { code: string; message: string; subject?: string }[]; label: string }) {
  return (
    <ul class="unmet-list" aria-label={label}>
      {items.map((u, i) => (
        <li key={i}>
          <span class="icon-bad" aria-hidden="true">✗</span> {u.message}
          <span class="code"> {u.code}</span>
        </li>
      ))}
    </ul>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p class="state-loading" role="status">
      <span class="spinner" aria-hidden="true" /> {label}
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="state-empty">{children}</p>;
}

/** Renders `live` data through `children`, with loading, error and refresh-failure states. */
export function DataState<T>({
  live,
  children,
  loadingLabel,
}: {
  live: Live<T>;
  children: (data: T) => ComponentChildren;
  loadingLabel?: string;
}) {
  if (live.data === undefined) {
    if (live.error) return <ErrorBox error={live.error} />;
    return <Loading label={loadingLabel} />;
  }
  return (
    <>
      {live.error ? <ErrorBox error={live.error} title="Could not refresh; showing the last data" /> : null}
      {children(live.data)}
    </>
  );
}

/** "Updated hh:mm:ss" and a manual refresh. */
export function Updated({ lives }: { lives: Live<unknown>[] }) {
  const times = lives.map((l) => l.updatedAt).filter((t): t is Date => !!t);
  const oldest = times.length ? new Date(Math.min(...times.map((t) => t.getTime()))) : null;
  const busy = lives.some((l) => l.loading);
  return (
    <p class="updated">
      <span>{oldest ? `Updated ${hms(oldest)}` : busy ? 'Loading…' : 'Not loaded'}</span>
      <button type="button" class="btn btn-small btn-ghost" onClick={() => lives.forEach((l) => void l.reload())}>
        Refresh
      </button>
    </p>
  );
}

/** A view's title row: the heading, a line under it, and its actions (refresh, create…) on the right. */
export function PageHead({ title, sub, actions }: { title: string; sub?: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <div class="page-head">
      <div>
        <h1>{title}</h1>
        {sub ? <p class="muted">{sub}</p> : null}
      </div>
      {actions ? <div class="page-actions">{actions}</div> : null}
    </div>
  );
}

/** A column heading: its text, or [text, 'num'] for a right-aligned number column; null leaves it out. */
export type Column = string | [string, 'num'] | null;

/**
 * A scrollable table with a caption (for screen readers only unless
 * `showCaption`) and column headings; `children` are its body rows.
 */
export function Table({
  caption,
  showCaption,
  columns,
  class: cls,
  scrollFocus,
  children,
}: {
  caption: string;
  showCaption?: boolean;
  columns: Column[];
  class?: string;
  /** The scrolling box takes keyboard focus, so a table wider than a phone scrolls with the arrow keys. */
  scrollFocus?: boolean;
  children: ComponentChildren;
}) {
  return (
    <div class="table-wrap" tabIndex={scrollFocus ? 0 : undefined}>
      <table class={cls}>
        <caption class={showCaption ? undefined : 'sr-only'}>{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) =>
              c === null ? null : typeof c === 'string' ? (
                <th scope="col" key={c}>
                  {c}
                </th>
              ) : (
                <th scope="col" class="num" key={c[0]}>
                  {c[0]}
                </th>
              ),
            )}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

export function Link({ href, children, class: cls, ...rest }: JSX.HTMLAttributes<HTMLAnchorElement> & { href: string }) {
  return (
    <a
      href={href}
      class={cls}
      {...rest}
      onClick={(e) => {
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(href);
      }}
    >
      {children}
    </a>
  );
}

export function StageBadge({ stage }: { stage: Stage | undefined }) {
  if (!stage) return null;
  return <span class={`badge stage stage-${stage}`}>{titleCase(stage)}</span>;
}

export function PriorityBadge({ priority }: { priority: number | undefined }) {
  if (priority === undefined) return null;
  return (
    <span class={`badge prio prio-${priority}`} title={`Priority ${priority}: ${PRIORITY_LABEL[priority] ?? ''}`}>
      P{priority} {PRIORITY_LABEL[priority] ?? ''}
    </span>
  );
}

const PACE: Record<PaceStatus, { icon: string; label: string }> = {
  ahead: { icon: '▲', label: 'Ahead' },
  on_track: { icon: '●', label: 'On track' },
  behind: { icon: '▼', label: 'Behind' },
  no_data: { icon: '○', label: 'No data' },
};

export function PaceBadge({ status, detail, prefix }: { status: PaceStatus | undefined; detail?: string; prefix?: string }) {
  const s = status ?? 'no_data';
  return (
    <span class={`badge pace pace-${s}`}>
      <span aria-hidden="true">{PACE[s].icon} </span>
      {prefix ? `${prefix}: ` : ''}
      {prefix ? PACE[s].label.toLowerCase() : PACE[s].label}
      {detail ? ` ${detail}` : ''}
    </span>
  );
}

/** A drop-down with its label beside it, for a view's or panel's filters: `options` are [value, text] pairs. */
export function InlineSelect({
  label,
  value,
  options,
  onChange,
}: {
  label: string;
  value: string;
  options: [string, string][];
  onChange: (value: string) => void;
}) {
  return (
    <label class="field field-inline">
      <span class="field-label">{label}</span>
      <select value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        {options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );
}

export type Tone = 'ok' | 'warn' | 'bad' | 'info' | 'muted';
/** How a status shows: its colour, icon and word. */
export type Look = { tone: Tone; icon: string; label: string };

/** A status shown by its look (`fallback` text when it has none). */
export function StatusBadge({ look, fallback }: { look: Look | undefined; fallback?: string }) {
  return (
    <Badge tone={look?.tone ?? 'muted'} icon={look?.icon}>
      {look?.label ?? fallback}
    </Badge>
  );
}

/** A status word in a tinted badge; `tone` picks the colour, the text carries the meaning. */
export function Badge({ tone, children, icon }: { tone: Tone; children: ComponentChildren; icon?: string }) {
  return (
    <span class={`badge tone-${tone}`}>
      {icon ? <span aria-hidden="true">{icon} </span> : null}
      {children}
    </span>
  );
}

export function ActorBadge({ actor }: { actor: string | null | undefined }) {
  return isAutomated(actor) ? (
    <span class="actor actor-system">
      <span class="badge tone-info">
        <span aria-hidden="true">⚙ </span>Automated
      </span>{' '}
      <span class="mono">{actor}</span>
    </span>
  ) : (
    <span class="actor actor-person">
      <span class="badge tone-muted">
        Person
      </span>{' '}
      <strong>{actor ?? 'unknown'}</strong>
    </span>
  );
}

/** Runs an API mutation, remembering the error (shown by <ActionError>) and the busy state. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const run = useCallback(async (fn: () => Promise<unknown>, success?: string) => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      await fn();
      if (success) setDone(success);
      return true;
    } catch (e) {
      setError(e);
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  const clear = useCallback(() => {
    setError(null);
    setDone(null);
  }, []);
  return { busy, error, done, run, clear };
}

/** A button that runs an API call through `action` (disabled while one runs); `done` is the message on success. */
export function ActionButton({
  action,
  run,
  done,
  class: cls = 'btn btn-small',
  children,
}: {
  action: ReturnType<typeof useAction>;
  run: () => Promise<unknown>;
  done?: string;
  class?: string;
  children: ComponentChildren;
}) {
  return (
    <button type="button" class={cls} disabled={action.busy} onClick={() => void action.run(run, done)}>
      {children}
    </button>
  );
}

export function ActionResult({ action }: { action: { error: unknown; done: string | null } }) {
  if (action.error) return <ErrorBox error={action.error} title="The API refused this" />;
  if (action.done)
    return (
      <p class="notice notice-ok" role="status">
        <span aria-hidden="true">✓ </span>
        {action.done}
      </p>
    );
  return null;
}

/** The end of a form: what the API answered, the submit button (its busy label while sending) and Cancel. */
export function FormActions({
  action,
  submit,
  busy,
  onCancel,
  cancel = 'Cancel',
  disabled,
}: {
  action: { busy: boolean; error: unknown; done: string | null };
  submit: string;
  busy?: string;
  onCancel?: () => void;
  cancel?: string;
  disabled?: boolean;
}) {
  return (
    <>
      <ActionResult action={action} />
      <div class="form-actions">
        <button type="submit" class="btn btn-primary" disabled={action.busy || disabled}>
          {action.busy && busy ? busy : submit}
        </button>
        {onCancel ? (
          <button type="button" class="btn" onClick={onCancel}>
            {cancel}
          </button>
        ) : null}
      </div>
    </>
  );
}

/**
 * A labelled control: the label names the control (its accessible name is the
 * label alone) and the hint is attached with aria-describedby.
 */
export function Field({
  label,
  children,
  hint,
  wide,
}: {
  label: string;
  children: VNode;
  hint?: string;
  wide?: boolean;
}) {
  const id = useId();
  const hintId = `${id}-hint`;
  const control = cloneElement(children, {
    id,
    ...(hint ? { 'aria-describedby': hintId } : {}),
  });
  return (
    <div class={wide ? 'field field-wide' : 'field'}>
      <label class="field-label" for={id}>
        {label}
      </label>
      {control}
      {hint ? (
        <span class="field-hint" id={hintId}>
          {hint}
        </span>
      ) : null}
    </div>
  );
}

export function Section({
  title,
  id,
  actions,
  children,
  level = 2,
}: {
  title: string;
  id?: string;
  actions?: ComponentChildren;
  children: ComponentChildren;
  level?: 2 | 3;
}) {
  const H = level === 2 ? 'h2' : 'h3';
  const hid = id ?? `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return (
    <section class="panel" aria-labelledby={hid}>
      <div class="panel-head">
        <H id={hid}>{title}</H>
        {actions ? <div class="panel-actions">{actions}</div> : null}
      </div>
      {children}
    </section>
  );
}

export function RoleNote({ children }: { children: ComponentChildren }) {
  return (
    <p class="role-note">
      <span aria-hidden="true">⊘ </span>
      {children}
    </p>
  );
}

/** A ref that sets inline styles through the DOM (allowed by the page's CSP, unlike style attributes). */
export function styled(style: Partial<Record<'width' | 'left' | 'background', string>>) {
  return (el: HTMLElement | null) => {
    if (el) Object.assign(el.style, style);
  };
}
