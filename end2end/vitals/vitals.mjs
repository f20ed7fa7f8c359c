// Lab Core Web Vitals and page weight in Chromium (issue 7, item 4). Not a Playwright test:
// it lives outside end2end/tests and is run by hand or by `cargo xtask bench`.
//
//   EMPORIUM_BASE_URL=http://127.0.0.1:3000 CHROMIUM_PATH=/usr/bin/chromium \
//     node end2end/vitals/vitals.mjs
//
// Pages: home, a listing (the first category of /api/v1/categories), a product page (the first
// product of /api/v1/products) and the cart holding one item (a cart made through the API and
// handed to the browser in the `emporium_cart` cookie, as the storefront does).
//
// Each page is loaded VITALS_RUNS times (default 5), each in a fresh browser context (cold
// cache, a first visit), unthrottled: the lab figures. Per load: LCP and CLS from
// PerformanceObserver (buffered; shifts within 500 ms of input excluded), read once the network
// is idle plus 500 ms; TTFB and load from navigation timing; bytes over the wire from CDP's
// Network.loadingFinished encodedDataLength (headers + compressed body), per kind, with the
// JS + WASM share apart; the Content-Encoding of every response. After the first cold load of
// each run the same page is viewed again in the same context (warm: the HTTP cache is kept).
// Then VITALS_THROTTLED_RUNS more cold loads (default 3, 0 skips them) with the CPU slowed
// VITALS_CPU_THROTTLE times (default 4, CDP Emulation.setCPUThrottlingRate): "mid-range phone"
// figures. The network is never throttled (loopback).
//
// Writes VITALS_OUT (default end2end/vitals/results.json) and prints a table with PASS/MISS per
// target. Exits 0 when targets are missed; 1 only when the measuring itself failed.
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(new URL('../package.json', import.meta.url));
const { chromium } = require('@playwright/test');

const base = (process.env.EMPORIUM_BASE_URL ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
const runs = Number(process.env.VITALS_RUNS ?? 5);
const throttledRuns = Number(process.env.VITALS_THROTTLED_RUNS ?? 3);
const cpuRate = Number(process.env.VITALS_CPU_THROTTLE ?? 4);
const out = process.env.VITALS_OUT ??
  fileURLToPath(new URL('./results.json', import.meta.url));
const targets = { lcp_ms: 1200, cls: 0.02, product_first_view_kb: 250, js_wasm_kb: 100 };

// Injected before any page script: collects LCP and CLS with the elements behind them.
const observe = () => {
  const describe = (node) => {
    if (!node || !node.tagName) return '';
    let s = node.tagName.toLowerCase();
    if (node.id) s += '#' + node.id;
    if (node.classList && node.classList.length) s += '.' + [...node.classList].join('.');
    return s;
  };
  window.__vitals = { lcp: 0, lcpElement: '', lcpUrl: '', lcpSize: 0, cls: 0, shifts: [] };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      window.__vitals.lcp = e.startTime;
      window.__vitals.lcpElement = describe(e.element);
      window.__vitals.lcpUrl = e.url || '';
      window.__vitals.lcpSize = e.size;
    }
  }).observe({ type: 'largest-contentful-paint', buffered: true });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.hadRecentInput) continue;
      window.__vitals.cls += e.value;
      window.__vitals.shifts.push({
        at: Math.round(e.startTime),
        value: e.value,
        sources: (e.sources || []).map((s) => describe(s.node)),
      });
    }
  }).observe({ type: 'layout-shift', buffered: true });
};

async function api(method, path, body) {
  const r = await fetch(base + path, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.json();
}

function kindOf(mime, url) {
  if (mime.includes('wasm') || url.endsWith('.wasm')) return 'wasm';
  if (mime.includes('javascript')) return 'js';
  if (mime.includes('css')) return 'css';
  if (mime.includes('html')) return 'html';
  if (mime.startsWith('image/')) return 'image';
  if (mime.startsWith('font/') || mime.includes('font')) return 'font';
  return 'other';
}

// Starts recording the network of `page`; `finish()` gives the bytes per kind and encodings.
async function record(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const responses = new Map();
  const bytes = { total: 0, html: 0, css: 0, js: 0, wasm: 0, image: 0, font: 0, other: 0 };
  const resources = [];
  let acceptEncoding = '';
  cdp.on('Network.requestWillBeSentExtraInfo', (e) => {
    const h = e.headers ?? {};
    acceptEncoding ||= h['accept-encoding'] ?? h['Accept-Encoding'] ?? '';
  });
  cdp.on('Network.responseReceived', (e) => {
    const h = e.response.headers;
    const get = (n) => h[n] ?? h[n.toLowerCase()] ?? Object.entries(h)
      .find(([k]) => k.toLowerCase() === n.toLowerCase())?.[1];
    responses.set(e.requestId, {
      url: e.response.url.startsWith(base) ? e.response.url.slice(base.length) : e.response.url,
      kind: kindOf(e.response.mimeType ?? '', e.response.url),
      status: e.response.status,
      encoding: get('content-encoding') ?? 'identity',
      cacheControl: get('cache-control') ?? '',
      fromCache: Boolean(e.response.fromDiskCache || e.response.fromPrefetchCache),
    });
  });
  cdp.on('Network.loadingFinished', (e) => {
    const r = responses.get(e.requestId);
    if (!r) return;
    bytes.total += e.encodedDataLength;
    bytes[r.kind] += e.encodedDataLength;
    resources.push({ ...r, bytes: e.encodedDataLength });
  });
  return {
    cdp,
    finish: () => ({ bytes: { ...bytes }, resources: [...resources], acceptEncoding }),
  };
}

// One view of `path` in `context`; the context's cache is whatever it holds (empty when new).
async function view(context, path, { cpu = 1 } = {}) {
  const page = await context.newPage();
  await page.addInitScript(observe);
  const net = await record(context, page);
  if (cpu > 1) await net.cdp.send('Emulation.setCPUThrottlingRate', { rate: cpu });
  const response = await page.goto(base + path, { waitUntil: 'load', timeout: 60_000 });
  if (!response || !response.ok()) throw new Error(`GET ${path}: ${response?.status()}`);
  await page.waitForLoadState('networkidle', { timeout: 60_000 });
  await page.waitForTimeout(500);
  const v = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const wasm = performance.getEntriesByType('resource').find((r) => r.name.endsWith('.wasm'));
    return {
      ...window.__vitals,
      ttfb: nav.responseStart,
      dcl: nav.domContentLoadedEventEnd,
      load: nav.loadEventEnd,
      wasmEnd: wasm ? wasm.responseEnd : null,
    };
  });
  const n = net.finish();
  await page.close();
  const kb = (x) => x / 1024;
  return {
    lcp: v.lcp, lcpElement: v.lcpElement, lcpUrl: v.lcpUrl.replace(base, ''), lcpSize: v.lcpSize,
    cls: v.cls, shifts: v.shifts,
    ttfb: v.ttfb, dcl: v.dcl, load: v.load, wasmEnd: v.wasmEnd,
    totalKb: kb(n.bytes.total),
    jsWasmKb: kb(n.bytes.js + n.bytes.wasm),
    kb: Object.fromEntries(Object.entries(n.bytes).map(([k, b]) => [k, kb(b)])),
    requests: n.resources.length,
    acceptEncoding: n.acceptEncoding,
    resources: n.resources,
  };
}

// Index `q` of the sorted values, nearest rank (p50 of 5 = 3rd, p75 of 5 = 4th).
const pct = (xs, q) => {
  const s = xs.filter((x) => x != null).sort((a, b) => a - b);
  if (!s.length) return null;
  return s[Math.max(0, Math.ceil(q * s.length) - 1)];
};
const summary = (loads) => ({
  lcp: { p50: pct(loads.map((l) => l.lcp), 0.5), p75: pct(loads.map((l) => l.lcp), 0.75),
    max: Math.max(...loads.map((l) => l.lcp)) },
  cls: Math.max(...loads.map((l) => l.cls)),
  ttfb_p50: pct(loads.map((l) => l.ttfb), 0.5),
  load_p50: pct(loads.map((l) => l.load), 0.5),
  wasm_loaded_p50: pct(loads.map((l) => l.wasmEnd), 0.5),
  bytes: {
    total_kb: pct(loads.map((l) => l.totalKb), 0.5),
    js_wasm_kb: pct(loads.map((l) => l.jsWasmKb), 0.5),
    by_kind_kb: Object.fromEntries(Object.keys(loads[0].kb).map((k) => [k, pct(loads.map((l) => l.kb[k]), 0.5)])),
  },
  requests: pct(loads.map((l) => l.requests), 0.5),
  lcp_elements: [...new Set(loads.map((l) => l.lcpElement + (l.lcpUrl ? ` (${l.lcpUrl})` : '')))],
  shifts: loads.flatMap((l) => l.shifts),
});

let browser;
try {
  const [products, categories] = await Promise.all([
    api('GET', '/api/v1/products?per_page=1'),
    api('GET', '/api/v1/categories'),
  ]);
  const product = products.products[0];
  const detail = await api('GET', `/api/v1/products/${product.id}`);
  const sku = detail.variants.find((v) => v.available > 0)?.sku ?? detail.variants[0].sku;
  const listing = categories.categories.find((c) => c.depth === 0 && c.product_count > 0)
    ?? categories.categories[0];

  // A fresh cart with one item for every cart view (the page finds it by the cookie).
  const withCart = async (context) => {
    const { cart_id: id } = await api('POST', '/api/v1/carts');
    await api('PUT', `/api/v1/carts/${id}/lines/${encodeURIComponent(sku)}`, { quantity: 1 });
    await context.addCookies([{ name: 'emporium_cart', value: id, url: base }]);
  };
  const pages = [
    { name: 'home', path: '/' },
    { name: 'listing', path: listing.url },
    { name: 'product', path: product.url },
    { name: 'cart', path: '/cart', prepare: withCart },
  ];

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const version = browser.version();

  // One unmeasured load first, so the server's own first-use costs (cold page cache, lazy
  // pictures) do not land in run 1.
  {
    const context = await browser.newContext();
    for (const p of pages) {
      if (p.prepare) await p.prepare(context);
      await view(context, p.path);
    }
    await context.close();
  }

  const results = [];
  for (const p of pages) {
    const cold = [], warm = [], slow = [];
    for (let i = 0; i < runs; i++) {
      const context = await browser.newContext();
      if (p.prepare) await p.prepare(context);
      cold.push(await view(context, p.path));
      warm.push(await view(context, p.path));
      await context.close();
    }
    for (let i = 0; i < throttledRuns; i++) {
      const context = await browser.newContext();
      if (p.prepare) await p.prepare(context);
      slow.push(await view(context, p.path, { cpu: cpuRate }));
      await context.close();
    }
    const s = summary(cold);
    const encodings = Object.fromEntries(cold[0].resources.map((r) => [r.url, r.encoding]));
    results.push({
      name: p.name,
      path: p.path,
      ...s,
      accept_encoding: cold[0].acceptEncoding,
      encodings,
      resources: cold[0].resources.map(({ url, kind, status, encoding, bytes, cacheControl }) =>
        ({ url, kind, status, encoding, bytes, cache_control: cacheControl })),
      warm: (() => { const w = summary(warm); return { lcp: w.lcp, cls: w.cls, bytes: w.bytes, requests: w.requests }; })(),
      throttled: slow.length
        ? (() => { const t = summary(slow); return { cpu_rate: cpuRate, runs: slow.length, lcp: t.lcp, cls: t.cls, load_p50: t.load_p50, wasm_loaded_p50: t.wasm_loaded_p50 }; })()
        : null,
      runs_raw: cold.map((l) => ({ lcp: l.lcp, cls: l.cls, ttfb: l.ttfb, load: l.load, total_kb: l.totalKb, js_wasm_kb: l.jsWasmKb })),
    });
  }
  await browser.close();
  browser = undefined;

  const pass = (ok) => (ok ? 'PASS' : 'MISS');
  for (const r of results) {
    r.verdict = {
      lcp: pass(r.lcp.p75 <= targets.lcp_ms),
      cls: pass(r.cls <= targets.cls),
      js_wasm: pass(r.bytes.js_wasm_kb <= targets.js_wasm_kb),
      ...(r.name === 'product' ? { first_view: pass(r.bytes.total_kb <= targets.product_first_view_kb) } : {}),
    };
  }
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({
    base, chromium: version, runs, throttling: 'none (loopback network, CPU unthrottled)',
    throttled: { cpu_rate: cpuRate, runs: throttledRuns }, targets, at: new Date().toISOString(),
    pages: results,
  }, null, 2));

  const f = (x, d = 0) => (x == null ? '–' : x.toFixed(d));
  console.log(`Chromium ${version}, ${base}, ${runs} cold runs per page (unthrottled)` +
    (throttledRuns ? `, ${throttledRuns} more at CPU ×${cpuRate}` : ''));
  console.log('| page | LCP p50 / p75 (ms) | CLS max | TTFB p50 (ms) | first view (KB) | JS + WASM (KB) | warm view (KB) | LCP ×' + cpuRate + ' CPU p50 (ms) | LCP element |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const r of results) {
    const v = r.verdict;
    console.log(`| ${r.name} \`${r.path}\` | ${f(r.lcp.p50)} / ${f(r.lcp.p75)} ${v.lcp} | ${f(r.cls, 3)} ${v.cls} | ${f(r.ttfb_p50, 1)} | ` +
      `${f(r.bytes.total_kb)}${v.first_view ? ' ' + v.first_view : ''} | ${f(r.bytes.js_wasm_kb)} ${v.js_wasm} | ${f(r.warm.bytes.total_kb, 1)} | ` +
      `${r.throttled ? f(r.throttled.lcp.p50) : '–'} | ${r.lcp_elements.join(', ')} |`);
  }
  console.log(`\nAccept-Encoding sent: ${results[0].accept_encoding}`);
  const uncompressed = [...new Set(results.flatMap((r) => r.resources)
    .filter((x) => x.encoding === 'identity' && x.kind !== 'image')
    .map((x) => `${x.url} (${x.kind}, ${x.bytes} B)`))];
  console.log(`Text responses sent without Content-Encoding: ${uncompressed.join(', ') || 'none'}`);
  console.log(`Results: ${out}`);
} catch (e) {
  console.error('vitals: measuring failed:', e);
  if (browser) await browser.close().catch(() => {});
  process.exit(1);
}
