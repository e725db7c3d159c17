// Board benchmark (a program, not a test): seeds 1,000 campaigns through the
// API at OPSFLOW_URL (skipped when 1,000 already exist), then measures in
// Chromium, over 5 runs, the time from navigation to an interactive board —
// every open-stage column on screen with cards in it, then the owner filter
// answering (every card shown is the chosen owner's) — and, as the board keeps
// loading in the background, to the whole list loaded (the count final); then
// prints the dashboard's JS/CSS bundle sizes, raw and gzipped.
//
//   OPSFLOW_URL=http://127.0.0.1:3000 node bench-board.mjs
//
// Env: OPSFLOW_URL (required), CHROMIUM_PATH (default /usr/bin/chromium),
// BENCH_RUNS (default 5), BENCH_CAMPAIGNS (default 1000).
import { chromium } from '@playwright/test';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const base = process.env.OPSFLOW_URL;
if (!base) {
  console.error('Set OPSFLOW_URL to the running app, e.g. OPSFLOW_URL=http://127.0.0.1:3000');
  process.exit(2);
}
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const WANT = Number(process.env.BENCH_CAMPAIGNS ?? 1000);
const here = dirname(fileURLToPath(import.meta.url));
const assets = join(here, '..', '..', 'components', 'dashboard', 'web', 'dist', 'assets');

async function api(method, path, token, body) {
  const res = await fetch(new URL(path, base), {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}

async function countCampaigns(stopAt) {
  let n = 0;
  let cursor = '';
  for (;;) {
    const page = await api('GET', `/api/campaigns?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, 'viewer-token');
    n += page.items.length;
    if (!page.next_cursor || n >= stopAt) return n;
    cursor = page.next_cursor;
  }
}

/** Runs `fn` over `items` with `width` requests in flight. */
async function pool(items, width, fn) {
  let next = 0;
  let done = 0;
  const workers = Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
      done += 1;
      if (done % 100 === 0) process.stdout.write(`  ${done}/${items.length}\n`);
    }
  });
  await Promise.all(workers);
}

function day(offset) {
  const d = new Date();
  d.setUTCHours(0, 0, 0, 0);
  d.setUTCDate(d.getUTCDate() + offset);
  return d.toISOString().slice(0, 10);
}

async function seed(have) {
  const missing = WANT - have;
  console.log(`seeding ${missing} campaigns (${have} exist)…`);
  const started = Date.now();
  const owners = ['mia', 'max', 'nora', 'liam', 'zoe'];
  const ops = ['olga', 'omar', 'ivan'];
  const channels = ['email', 'sms', 'social', 'paid_social'];
  // One big team absorbs the allocations that let 40% of them move to production.
  const team = await api('POST', '/api/resources', 'operations-token', {
    name: `Bench team ${Date.now().toString(36)}`,
    kind: 'team',
    capacity_per_day: 24000,
  });
  await pool(
    Array.from({ length: missing }, (_, i) => i),
    4,
    async (i) => {
      const start = 30 + (i % 60);
      const c = await api('POST', '/api/campaigns', 'marketing-token', {
        name: `Bench campaign ${have + i + 1}`,
        marketing_owner: owners[i % owners.length],
        operations_owner: ops[i % ops.length],
        priority: 1 + (i % 5),
        objectives: [{ kpi: 'conversions', target: 100 + (i % 10) * 50, deadline: `${day(start + 7)}T00:00:00Z` }],
        channels: [{ channel: channels[i % channels.length], budget_minor: 50_000 + i * 10, send_plan: { sends_per_day: 1000 } }],
        schedule: { start: `${day(start)}T00:00:00Z`, end: `${day(start + 7)}T00:00:00Z` },
      });
      if (i % 5 < 2) {
        await api('POST', '/api/resources/allocations', 'operations-token', {
          resource_id: team.id,
          campaign_id: c.id,
          from: day(start),
          to: day(start + 6),
          amount_per_day: 1,
        });
        await api('POST', `/api/campaigns/${c.id}/transitions`, 'operations-token', { target: 'production' });
      }
    },
  );
  console.log(`seeded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

async function measure(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addInitScript(() => sessionStorage.setItem('opsflow.token', 'viewer-token'));
  const page = await context.newPage();
  const t0 = performance.now();
  await page.goto(new URL('/', base).toString(), { waitUntil: 'commit' });
  // In the background: when the whole list has arrived (the count no longer says it is loading).
  const complete = page
    .waitForFunction(
      (want) => {
        const m = /^(\d+) of (\d+) campaigns shown$/.exec(document.querySelector('.page-head p')?.textContent ?? '');
        return !!m && Number(m[2]) >= want;
      },
      WANT,
      { timeout: 120_000, polling: 'raf' },
    )
    .then(() => performance.now() - t0);
  // Every open-stage column on screen, with cards in it (and the first owner the filter offers).
  const ready = await page.waitForFunction(
    () =>
      document.querySelectorAll('.board .column').length >= 5 &&
      document.querySelectorAll('.board .card').length > 0 &&
      [...document.querySelectorAll('.filters select')].find((s) => s.closest('label')?.textContent?.startsWith('Owner'))?.options[1]?.value,
    null,
    { timeout: 120_000, polling: 'raf' },
  );
  const rendered = performance.now() - t0;
  const who = String(await ready.jsonValue());
  // The owner filter answers: pick that owner, and wait until every card on the board is one of theirs.
  await page.getByLabel('Owner').selectOption(who);
  await page.waitForFunction(
    (w) => {
      const cards = [...document.querySelectorAll('.board .card')];
      return cards.length > 0 && cards.every((c) => (c.querySelector('.card-owners')?.textContent ?? '').split(/[\s·]+/).includes(w));
    },
    who,
    { timeout: 120_000, polling: 'raf' },
  );
  const interactive = performance.now() - t0;
  const loaded = await complete;
  const cards = await page.locator('.board .card').count();
  await context.close();
  return { rendered, interactive, loaded, cards };
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)], max: s[s.length - 1] };
}

function bundleTable() {
  if (!existsSync(assets)) {
    console.log(`\n(no build at ${assets}: run npm run build in components/dashboard/web)`);
    return;
  }
  const html = readFileSync(join(assets, '..', 'index.html'), 'utf8');
  const rows = readdirSync(assets)
    .filter((f) => f.endsWith('.js') || f.endsWith('.css'))
    .map((f) => {
      const buf = readFileSync(join(assets, f));
      return { file: f, raw: buf.length, gzip: gzipSync(buf, { level: 9 }).length, first: html.includes(`/assets/${f}`) };
    })
    .sort((a, b) => b.raw - a.raw);
  const kb = (n) => (n / 1024).toFixed(1).padStart(7);
  console.log('\nbundle (components/dashboard/web/dist/assets)');
  console.log(`${'file'.padEnd(34)} ${'raw KB'.padStart(7)} ${'gzip KB'.padStart(7)}  first load`);
  for (const r of rows) console.log(`${r.file.padEnd(34)} ${kb(r.raw)} ${kb(r.gzip)}  ${r.first ? 'yes' : 'lazy'}`);
  const sum = (pick) => rows.filter(pick).reduce((a, r) => ({ raw: a.raw + r.raw, gzip: a.gzip + r.gzip }), { raw: 0, gzip: 0 });
  const first = sum((r) => r.first);
  const all = sum(() => true);
  const js = sum((r) => r.file.endsWith('.js'));
  const css = sum((r) => r.file.endsWith('.css'));
  console.log(`${'first load (JS+CSS)'.padEnd(34)} ${kb(first.raw)} ${kb(first.gzip)}`);
  console.log(`${'all JS'.padEnd(34)} ${kb(js.raw)} ${kb(js.gzip)}`);
  console.log(`${'all CSS'.padEnd(34)} ${kb(css.raw)} ${kb(css.gzip)}`);
  console.log(`${'everything'.padEnd(34)} ${kb(all.raw)} ${kb(all.gzip)}`);
}

const have = await countCampaigns(WANT);
if (have >= WANT) console.log(`${have}+ campaigns exist: seeding skipped`);
else await seed(have);
const total = await countCampaigns(1e9);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const runs = [];
try {
  for (let i = 0; i < RUNS; i++) {
    const r = await measure(browser);
    runs.push(r);
    console.log(
      `run ${i + 1}: columns with cards ${r.rendered.toFixed(0)} ms, owner filter answered ${r.interactive.toFixed(0)} ms, ` +
        `all campaigns loaded ${r.loaded.toFixed(0)} ms (${r.cards} cards in the DOM)`,
    );
  }
} finally {
  await browser.close();
}
const ms = (n) => `${n.toFixed(0)}`.padStart(7);
console.log(`\nboard with ${total} campaigns, ${RUNS} runs (Chromium, 1280×800)`);
console.log(`${'metric'.padEnd(40)} ${'min'.padStart(7)} ${'median'.padStart(7)} ${'max'.padStart(7)}  ms`);
for (const [label, key] of [
  ['navigation → columns with cards', 'rendered'],
  ['navigation → owner filter answered', 'interactive'],
  ['navigation → all campaigns loaded', 'loaded'],
]) {
  const s = stats(runs.map((r) => r[key]));
  console.log(`${label.padEnd(40)} ${ms(s.min)} ${ms(s.median)} ${ms(s.max)}`);
}
bundleTable();
