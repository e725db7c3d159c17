// A small typed client for the opsflow JSON API.
//
// Paths, parameters, bodies and responses come from `schema.d.ts`, which
// `npm run build` generates from docs/openapi/*.json: a request the API no
// longer accepts, or a response field it no longer returns, fails `tsc`.
//
// - Every call sends the signed-in user's bearer token (kept by `auth.ts`).
// - Errors are RFC 9457 problem documents: a non-2xx answer throws `ApiError`
//   carrying the problem (its `detail`, and `errors` / `unmet` when present).
// - GETs remember the ETag they saw and send `If-None-Match` on the next
//   request for the same URL; a 304 answers from the remembered body.
// - Mutations of versioned records take `ifMatch` (the record version or ETag).
import type { components, paths } from './schema';

export type Schemas = components['schemas'];
export type Problem = Schemas['Problem'] & {
  unmet?: Schemas['Unmet'][];
  [extra: string]: unknown;
};

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** The operation object of `method` on `path`, or `never` when the API has no such operation. */
type Op<P extends keyof paths, M extends Method> = paths[P][M] extends infer O
  ? O extends { responses: unknown }
    ? O
    : never
  : never;

/** Paths that have an operation for `M`. */
export type PathsWith<M extends Method> = {
  [P in keyof paths]: Op<P, M> extends never ? never : P;
}[keyof paths];

type Params<O> = O extends { parameters: infer X } ? X : never;
type PathParams<O> = Params<O> extends { path: infer X } ? X : never;
type QueryParams<O> = Params<O> extends { query?: infer X } ? X : never;
type JsonBody<O> = O extends { requestBody?: infer R }
  ? NonNullable<R> extends { content: { 'application/json': infer B } }
    ? B
    : never
  : never;
type Json<R> = R extends { content: { 'application/json': infer J } } ? J : undefined;
type Responses<O> = O extends { responses: infer R } ? R : never;

/** The JSON body of the operation's success answer (200, else 201, else 204 = undefined). */
export type Ok<O> =
  200 extends keyof Responses<O>
    ? Json<Responses<O>[200]>
    : 201 extends keyof Responses<O>
      ? Json<Responses<O>[201]>
      : undefined;

export type Options<O> = {
  /** Fills `{name}` segments of the path. */
  path?: PathParams<O>;
  /** Query parameters; undefined and empty values are left out. */
  query?: QueryParams<O>;
  /** The JSON request body. */
  body?: JsonBody<O>;
  /** The version read (a number or an ETag), sent as `If-Match`. */
  ifMatch?: string | number;
  signal?: AbortSignal;
};

/** A success answer. */
export type Reply<T> = { data: T; etag: string | null; status: number };

/** A refused or failed request, with the API's problem document (or one made up for network errors). */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;
  constructor(status: number, problem: Problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/** Where the token comes from and what happens on a 401 (set by auth.ts). */
let tokenSource: () => string | null = () => null;
let onUnauthorized: (p: Problem, token: string | null) => void = () => {};
/** The current token for requests, and what to do when the API answers 401 to a request sent with `token`. */
export function currentToken(): string | null {
  return tokenSource();
}
export function configureClient(source: () => string | null, unauthorized: (p: Problem, token: string | null) => void) {
  tokenSource = source;
  onUnauthorized = unauthorized;
}

/** ETags and bodies of recent GETs, for If-None-Match (bounded, oldest dropped first). */
const remembered = new Map<string, { etag: string; body: unknown }>();
const REMEMBER = 300;
export function forgetCache() {
  remembered.clear();
}

function fillPath(template: string, params: Record<string, unknown> | undefined): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const v = params?.[name];
    if (v === undefined || v === null) throw new Error(`missing path parameter ${name}`);
    return encodeURIComponent(String(v));
  });
}

function queryString(query: Record<string, unknown> | undefined): string {
  if (!query) return '';
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

function etagOf(v: string | number): string {
  return typeof v === 'number' ? `"${v}"` : v;
}

async function problemOf(res: Response): Promise<Problem> {
  const type = res.headers.get('content-type') ?? '';
  const text = await res.text().catch(() => '');
  if (type.includes('json') && text) {
    try {
      const p = JSON.parse(text) as Partial<Problem>;
      return {
        type: p.type ?? 'about:blank',
        title: p.title ?? res.statusText,
        status: p.status ?? res.status,
        detail: p.detail ?? p.title ?? `The server answered ${res.status}.`,
        ...p,
      } as Problem;
    } catch {
      /* fall through */
    }
  }
  return {
    type: 'about:blank',
    title: res.statusText || `HTTP ${res.status}`,
    status: res.status,
    detail: text.slice(0, 300) || `The server answered ${res.status} ${res.statusText}.`,
  };
}

/** Sends one request; throws ApiError unless the answer is 2xx (or a 304 we can answer). */
export async function request<P extends PathsWith<M>, M extends Method>(
  method: M,
  path: P,
  opts: Options<Op<P, M>> = {},
  token: string | null = tokenSource(),
): Promise<Reply<Ok<Op<P, M>>>> {
  const url =
    fillPath(path as string, opts.path as Record<string, unknown> | undefined) +
    queryString(opts.query as Record<string, unknown> | undefined);
  if (!token) {
    throw new ApiError(401, { type: 'about:blank', title: 'Not signed in', status: 401, detail: 'Sign in to continue.' });
  }
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
  headers.authorization = `Bearer ${token}`;
  if (opts.ifMatch !== undefined) headers['if-match'] = etagOf(opts.ifMatch);
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  } else if (method === 'post') {
    // Action routes (submit, approve, ...) take an optional body; send an empty object.
    headers['content-type'] = 'application/json';
    body = '{}';
  }
  const key = `${token ?? ''} ${url}`;
  const known = method === 'get' ? remembered.get(key) : undefined;
  if (known) headers['if-none-match'] = known.etag;

  let res: Response;
  try {
    res = await fetch(url, { method: method.toUpperCase(), headers, body, signal: opts.signal, cache: 'no-store' });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, {
      type: 'about:blank',
      title: 'Network error',
      status: 0,
      detail: 'The API could not be reached. Check your connection; the view retries on its own.',
    });
  }
  const etag = res.headers.get('etag');
  if (res.status === 304 && known) {
    return { data: known.body as Ok<Op<P, M>>, etag: known.etag, status: 200 };
  }
  if (!res.ok) {
    const problem = await problemOf(res);
    if (res.status === 401) onUnauthorized(problem, token);
    throw new ApiError(res.status, problem);
  }
  const text = res.status === 204 ? '' : await res.text();
  const data = (text ? JSON.parse(text) : undefined) as Ok<Op<P, M>>;
  if (method === 'get' && etag) {
    remembered.delete(key);
    remembered.set(key, { etag, body: data });
    if (remembered.size > REMEMBER) {
      const oldest = remembered.keys().next().value;
      if (oldest !== undefined) remembered.delete(oldest);
    }
  }
  return { data, etag, status: res.status };
}

/** GET returning the body only. */
export async function get<P extends PathsWith<'get'>>(path: P, opts: Options<Op<P, 'get'>> = {}) {
  return (await request('get', path, opts)).data;
}

/** POST returning the body only. */
export async function post<P extends PathsWith<'post'>>(path: P, opts: Options<Op<P, 'post'>> = {}) {
  return (await request('post', path, opts)).data;
}

type Page<T> = { items: T[]; next_cursor?: string | null };

/**
 * Follows `next_cursor` until the end (or `max` items), 200 per page; `onPage`
 * sees the items gathered so far after each page (for progressive rendering).
 */
export async function getAll<T, P extends PathsWith<'get'>>(
  path: P,
  opts: Options<Op<P, 'get'>> & { max?: number; onPage?: (items: T[]) => void } = {},
): Promise<T[]> {
  const { max = 10_000, onPage, ...rest } = opts;
  // Every page goes out with the token of the first: a sign-out midway fails the rest instead of mixing users.
  const token = tokenSource();
  const out: T[] = [];
  let cursor: string | undefined;
  for (;;) {
    const query = { ...(rest.query as object), limit: 200, cursor } as QueryParams<Op<P, 'get'>>;
    const page = (await request('get', path, { ...rest, query }, token)).data as unknown as Page<T>;
    out.push(...page.items);
    onPage?.(out.slice());
    if (!page.next_cursor || out.length >= max || page.items.length === 0) break;
    cursor = page.next_cursor;
  }
  return out;
}

/** The message to show for an error: the problem's detail, else the error's text. */
export function describeError(e: unknown): string {
  if (e instanceof ApiError) return e.problem.detail || e.problem.title;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Pages a CSV download follows at most (`Link: rel="next"`), so a huge log cannot hang the tab. */
const CSV_MAX_PAGES = 100;

/** The `rel="next"` target of a `Link` header, if any. */
function nextLink(header: string | null): string | null {
  if (!header) return null;
  for (const part of header.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/i.exec(part.trim());
    if (m) return m[1];
  }
  return null;
}

/**
 * Fetches `path` as CSV (`format=csv`, with the bearer token, so a plain link
 * cannot do it), following `Link: rel="next"` to gather every page (their
 * header rows after the first dropped), and hands the file to the browser as a
 * download named `filename`.
 */
export async function downloadCsv<P extends PathsWith<'get'>>(
  path: P,
  filename: string,
  opts: Options<Op<P, 'get'>> = {},
): Promise<void> {
  const token = tokenSource();
  if (!token) {
    throw new ApiError(401, { type: 'about:blank', title: 'Not signed in', status: 401, detail: 'Sign in to continue.' });
  }
  const query = { ...(opts.query as Record<string, unknown> | undefined), format: 'csv' };
  let url: string | null = fillPath(path as string, opts.path as Record<string, unknown> | undefined) + queryString(query);
  const parts: string[] = [];
  for (let page = 0; url && page < CSV_MAX_PAGES; page++) {
    const res: Response = await fetch(url, {
      headers: { accept: 'text/csv, application/problem+json', authorization: `Bearer ${token}` },
      cache: 'no-store',
      signal: opts.signal,
    });
    if (!res.ok) {
      const problem = await problemOf(res);
      if (res.status === 401) onUnauthorized(problem, token);
      throw new ApiError(res.status, problem);
    }
    const text = await res.text();
    // RFC 4180 rows end in CRLF; a quoted cell may hold one too, so only the
    // first line (the header, plain column names) is cut from later pages.
    const body = page === 0 ? text : text.slice(text.indexOf('\r\n') + 2);
    parts.push(body);
    url = nextLink(res.headers.get('link'));
  }
  const blob = new Blob(parts, { type: 'text/csv;charset=utf-8' });
  const href = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = href;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
}
