// Merges docs/openapi/*.json into one OpenAPI document exactly as the server
// does (crates/api/src/openapi.rs::merge, fragment order from
// components/campaign-intake/build.rs): start from base.json, then each
// fragment contributes every `paths` entry and every entry of
// `components.{schemas,responses,parameters,headers}`; a key defined twice is an
// error. The result feeds openapi-typescript,
// so an API change that breaks the UI breaks `npm run build`.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const docs = join(here, '..', '..', '..', '..', 'docs', 'openapi');
const out = process.argv[2] ?? join(here, '..', 'generated', 'openapi.json');
const FRAGMENTS = ['campaigns', 'webhooks', 'content', 'evaluations', 'triggers', 'analytics'];

function read(name) {
  const file = join(docs, `${name}.json`);
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${name}: ${e.message}`);
  }
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function pointer(v, path) {
  return path.split('/').reduce((cur, k) => (isObject(cur) ? cur[k] : undefined), v);
}

/** The object at `path`, created (or replacing a non-object) on the way, as the server does. */
function pointerMut(v, path) {
  let cur = v;
  for (const k of path.split('/')) {
    if (!isObject(cur[k])) cur[k] = {};
    cur = cur[k];
  }
  return cur;
}

const SECTIONS = [
  'paths',
  'components/schemas',
  'components/responses',
  'components/parameters',
  'components/headers',
];

export function merge(base, fragments) {
  const doc = structuredClone(base);
  fragments.forEach((frag, i) => {
    for (const section of SECTIONS) {
      const src = pointer(frag, section);
      if (!isObject(src)) continue;
      const dst = pointerMut(doc, section);
      for (const [k, v] of Object.entries(src)) {
        if (Object.prototype.hasOwnProperty.call(dst, k)) {
          throw new Error(`fragment ${i}: ${section} '${k}' defined twice`);
        }
        dst[k] = v;
      }
    }
  });
  return doc;
}

try {
  const doc = merge(read('base'), FRAGMENTS.map(read));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(doc, null, 1));
  const ops = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0);
  console.log(`openapi: merged ${FRAGMENTS.length + 1} documents, ${Object.keys(doc.paths).length} paths, ${ops} operations -> ${out}`);
} catch (e) {
  console.error(`openapi merge failed: ${e.message}`);
  process.exit(1);
}
