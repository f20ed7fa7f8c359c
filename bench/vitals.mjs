// Lab Core Web Vitals and page weight in Chromium, for `cargo xtask bench --only vitals`.
//
//   EMPORIUM_BASE_URL=http://127.0.0.1:3000 CHROMIUM_PATH=/usr/bin/chromium node bench/vitals.mjs
//
// Home, a listing, a product page and the cart (holding one item), each loaded RUNS times in a
// fresh browser context (a cold cache, as a first visit), unthrottled, on the machine that
// serves them. Per load: LCP and CLS from PerformanceObserver (shifts right after input
// excluded), TTFB from navigation timing, and the bytes that crossed the wire (compressed:
// CDP's encodedDataLength), with the JS + WASM share apart. Writes VITALS_OUT (JSON) and
// prints a table with each target met or missed; exits 0 unless the measuring itself failed.
import { createRequire } from 'node:module';
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const require = createRequire(new URL('../end2end/package.json', import.meta.url));
const { chromium } = require('@playwright/test');

const base = process.env.EMPORIUM_BASE_URL ?? 'http://127.0.0.1:3000';
const runs = Number(process.env.VITALS_RUNS ?? 5);
const out = process.env.VITALS_OUT ?? 'target/bench/vitals.json';
const targets = { lcp: 1200, cls: 0.02, productKb: 250, jsWasmKb: 100 };

const observe = () => {
  window.__vitals = { lcp: 0, cls: 0, lcpElement: '' };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      window.__vitals.lcp = e.startTime;
      window.__vitals.lcpElement = e.element ? e.element.tagName.toLowerCase() +
        (e.element.className ? '.' + String(e.element.className).split(' ')[0] : '') : '';
    }
  }).observe({ type: 'largest-contentful-paint', buffered: true });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (!e.hadRecentInput) window.__vitals.cls += e.value;
  }).observe({ type: 'layout-shift', buffered: true });
};

async function json(path) {
  const r = await fetch(base + path);
  if (!r.ok) throw new Error(`GET ${path}: ${r.status}`);
  return r.json();
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});

// One load of `path` in `context` (cold unless `warm`): the figures.
async function load(context, path) {
  const page = await context.newPage();
  await page.addInitScript(observe);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.clearBrowserCache');
  const kinds = new Map();
  const encodings = new Map();
  let total = 0, jsWasm = 0;
  cdp.on('Network.responseReceived', (e) => {
    kinds.set(e.requestId, e.response.mimeType);
    const enc = e.response.headers['content-encoding'] ?? e.response.headers['Content-Encoding'];
    encodings.set(e.response.url.replace(base, ''), enc ?? 'identity');
  });
  cdp.on('Network.loadingFinished', (e) => {
    total += e.encodedDataLength;
    const kind = kinds.get(e.requestId) ?? '';
    if (kind.includes('javascript') || kind.includes('wasm')) jsWasm += e.encodedDataLength;
  });
  await page.goto(base + path, { waitUntil: 'load' });
  await page.waitForLoadState('networkidle');
  await page.waitForTimeout(500);
  const v = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    return { ...window.__vitals, ttfb: nav.responseStart, load: nav.loadEventEnd };
  });
  await page.close();
  return { ...v, totalKb: total / 1024, jsWasmKb: jsWasm / 1024, encodings: Object.fromEntries(encodings) };
}

const products = await json('/api/v1/products?per_page=1');
const categories = await json('/api/v1/categories');
const productPath = products.products[0].url;
const pages = [
  { name: 'home', path: '/' },
  { name: 'listing', path: categories.categories[0].url },
  { name: 'product', path: productPath },
  { name: 'cart', path: '/cart', prepare: async (context) => {
    // One item in the cart, put there the way a shopper does (the form works without JS).
    const page = await context.newPage();
    await page.goto(base + productPath, { waitUntil: 'load' });
    await page.getByRole('button', { name: /add to cart/i }).first().click();
    await page.waitForLoadState('networkidle');
    await page.close();
  } },
];

const pct = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.round((s.length - 1) * q))];
};
const results = [];
for (const p of pages) {
  const loads = [];
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext();
    if (p.prepare) await p.prepare(context);
    loads.push(await load(context, p.path));
    await context.close();
  }
  const lcps = loads.map((l) => l.lcp);
  results.push({
    name: p.name,
    path: p.path,
    lcp: { p50: pct(lcps, 0.5), p75: pct(lcps, 0.75) },
    cls: Math.max(...loads.map((l) => l.cls)),
    ttfb_p50: pct(loads.map((l) => l.ttfb), 0.5),
    load_p50: pct(loads.map((l) => l.load), 0.5),
    bytes: { total_kb: pct(loads.map((l) => l.totalKb), 0.5), js_wasm_kb: pct(loads.map((l) => l.jsWasmKb), 0.5) },
    lcp_element: loads[0].lcpElement,
    encodings: loads[0].encodings,
  });
}
await browser.close();

mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ base, runs, throttling: 'none', targets, pages: results }, null, 2));

const f = (x, d = 0) => x.toFixed(d);
console.log(`| page | LCP p50 / p75 (ms) | CLS max | TTFB p50 (ms) | first view (KB, compressed) | JS + WASM (KB) | LCP element |`);
console.log(`|---|---:|---:|---:|---:|---:|---|`);
for (const r of results) {
  console.log(`| ${r.name} (\`${r.path}\`) | ${f(r.lcp.p50)} / ${f(r.lcp.p75)} ${r.lcp.p75 <= targets.lcp ? '✔' : '✘'} | ${f(r.cls, 3)} ${r.cls <= targets.cls ? '✔' : '✘'} | ${f(r.ttfb_p50, 1)} | ${f(r.bytes.total_kb)}${r.name === 'product' ? (r.bytes.total_kb <= targets.productKb ? ' ✔' : ' ✘') : ''} | ${f(r.bytes.js_wasm_kb)} ${r.bytes.js_wasm_kb <= targets.jsWasmKb ? '✔' : '✘'} | ${r.lcp_element} |`);
}
const product = results.find((r) => r.name === 'product');
console.log(`\nencodings on the product page: ${JSON.stringify(product.encodings)}`);
