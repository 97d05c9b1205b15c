/**
 * The live dashboard (docs/dashboard.md): connects to the gateway's WebSocket, authenticates with the first message
 * (`{"type":"auth","token":...}`, the token from the URL fragment `#token=...` or the page's field), subscribes to
 * the `metrics` channel and redraws on every snapshot. The time range and the model version are filtered here,
 * from the snapshot (view.ts); the server runs no query per viewer. Bundled with uPlot by scripts/build-dashboard.mjs.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import type { LiveMetricsSnapshot } from '../live-metrics.js';
import type { BrowserSocket, BrowserSocketConstructor, Document, Element, Window } from './dom.js';
import { RANGES, ROLLING_SECONDS, viewOf, type VersionSeries, type View } from './view.js';

declare const document: Document;
declare const window: Window;
declare const WebSocket: BrowserSocketConstructor;

const STREAM_PATH = '/v1/stream';
const TOKEN_KEY = 'buddies.dashboard.token';
/** Errors after which reconnecting with the same token cannot help: the page asks for another token. */
const TOKEN_ERRORS = new Set(['unauthorized', 'bad_token', 'token_expired', 'forbidden_channel', 'auth_timeout']);
/** Close codes of the gateway (gateway/errors.ts CLOSE_CODES) that mean the same: 4401 token, 4403 forbidden, 4408 auth timeout. */
const TOKEN_CLOSE_CODES = new Set([4401, 4403, 4408]);
const COLORS = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c', '#0891b2'];
const ORGANIC = '#16a34a';
const RECOMMENDED = '#2563eb';
const OTHER = '#9ca3af';

function el(id: string): Element {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page has no #${id}`);
  return e;
}

const fmt = {
  num: (v: number) => (Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en') : v.toFixed(Math.abs(v) >= 10 ? 1 : 2)),
  pct: (v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(1)}%`),
  int: (v: number) => Math.round(v).toLocaleString('en'),
  time: (ms: number) => new Date(ms).toISOString().slice(11, 19) + ' UTC',
};

// ------------------------------------------------------------------ state

let snapshot: LiveMetricsSnapshot | undefined;
let rangeSeconds = 3_600;
let modelVersion: string | undefined;
let socket: BrowserSocket | undefined;
let retryMs = 1_000;
let retryTimer: ReturnType<typeof setTimeout> | undefined;

function setStatus(state: 'connecting' | 'live' | 'error' | 'idle', text: string): void {
  const s = el('status');
  s.textContent = text;
  s.dataset.state = state;
}

// ------------------------------------------------------------------ connection

function tokenFromPage(): string | undefined {
  const hash = new URLSearchParams(window.location.hash.replace(/^#/, ''));
  const fromHash = hash.get('token');
  if (fromHash) {
    window.sessionStorage.setItem(TOKEN_KEY, fromHash);
    // keep the token out of the address bar (and out of screenshots and history)
    window.history.replaceState(null, '', window.location.pathname + window.location.search);
    return fromHash;
  }
  return window.sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

function askForToken(message: string): void {
  el('token-form').hidden = false;
  setStatus('error', message);
}

function connect(token: string): void {
  if (retryTimer) clearTimeout(retryTimer);
  socket?.close(1000, 'reconnecting');
  el('token-form').hidden = true;
  setStatus('connecting', 'connecting…');
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${scheme}://${window.location.host}${STREAM_PATH}`);
  socket = ws;
  let giveUp = false;
  ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token }));
  ws.onmessage = (ev) => {
    let frame: { type?: string; of?: string; code?: string; message?: string } & Record<string, unknown>;
    try {
      frame = JSON.parse(String(ev.data)) as typeof frame;
    } catch {
      return;
    }
    if (frame.type === 'ack' && frame.of === 'auth') {
      ws.send(JSON.stringify({ type: 'subscribe', channel: 'metrics', id: 'dashboard' }));
      setStatus('connecting', 'waiting for metrics…');
    } else if (frame.type === 'metrics') {
      retryMs = 1_000;
      setStatus('live', 'live');
      snapshot = frame as unknown as LiveMetricsSnapshot;
      render();
    } else if (frame.type === 'error') {
      const text = `${frame.code ?? 'error'}: ${frame.message ?? ''}`;
      if (TOKEN_ERRORS.has(String(frame.code))) {
        giveUp = true;
        window.sessionStorage.removeItem(TOKEN_KEY);
        askForToken(text);
        ws.close(1000, 'token refused');
      } else {
        setStatus('error', text);
      }
    }
  };
  ws.onclose = (ev) => {
    if (socket !== ws || giveUp) return;
    if (TOKEN_CLOSE_CODES.has(ev.code)) {
      // the server closed for a reason of ours (bad or expired token, forbidden): a new token is needed
      window.sessionStorage.removeItem(TOKEN_KEY);
      askForToken(`closed: ${ev.reason || ev.code}`);
      return;
    }
    setStatus('error', `disconnected; retrying in ${Math.round(retryMs / 1000)} s`);
    retryTimer = setTimeout(() => connect(token), retryMs);
    retryMs = Math.min(15_000, retryMs * 2);
  };
}

// ------------------------------------------------------------------ charts

interface Slot { readonly el: Element; plot?: uPlot; key?: string }
const slots = new Map<string, Slot>();

interface SeriesDef { readonly label: string; readonly color: string; readonly values: ReadonlyArray<number | null> }

/** Axis steps for counts: whole numbers only. */
const WHOLE_STEPS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1_000, 2_000, 2_500, 5_000, 10_000, 20_000, 50_000, 100_000];

function draw(id: string, times: readonly number[], defs: readonly SeriesDef[], format: (v: number) => string, range?: [number, number], axisFormat = format, whole = false): void {
  const slot = slots.get(id) ?? { el: el(id) };
  slots.set(id, slot);
  const key = defs.map((d) => d.label).join('\u0000') + String(range);
  const data = [[...times], ...defs.map((d) => [...d.values])] as uPlot.AlignedData;
  if (!slot.plot || slot.key !== key) {
    slot.plot?.destroy();
    slot.el.replaceChildren();
    const opts: uPlot.Options = {
      width: Math.max(280, slot.el.clientWidth),
      height: 200,
      scales: { x: { time: true }, y: range ? { range } : { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      series: [{}, ...defs.map((d) => ({ label: d.label, stroke: d.color, width: 2, fill: `${d.color}1a`, value: (_u: uPlot, v: number | null) => (v === null ? '–' : format(v)) }))],
      axes: [{ stroke: '#6b7280' }, { stroke: '#6b7280', size: 56, values: (_u, splits) => splits.map((v) => axisFormat(v)), ...(whole ? { incrs: WHOLE_STEPS } : {}) }],
      legend: { live: false },
    };
    slot.plot = new uPlot(opts, data, slot.el as unknown as ConstructorParameters<typeof uPlot>[2]);
    slot.key = key;
  } else {
    slot.plot.setData(data);
  }
  const points = defs.reduce((n, d) => n + d.values.filter((v) => v !== null && Number.isFinite(v)).length, 0);
  slot.el.dataset.points = String(points);
  slot.el.dataset.series = String(defs.length);
}

const perVersion = (xs: readonly VersionSeries[]): SeriesDef[] =>
  xs.map((x) => ({ label: x.version, color: colorOf(x.version), values: x.values }));

function colorOf(version: string): string {
  const i = snapshot ? snapshot.modelVersions.indexOf(version) : 0;
  return COLORS[Math.max(0, i) % COLORS.length]!;
}

// ------------------------------------------------------------------ rendering

function setMetric(name: string, text: string): void {
  for (const e of Array.from(document.getElementById('numbers')?.querySelectorAll(`[data-metric="${name}"]`) ?? [])) e.textContent = text;
}

function cell(text: string, cls?: string): Element {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function row(...cells: Element[]): Element {
  const tr = document.createElement('tr');
  tr.append(...cells);
  return tr;
}

function syncModelChoices(versions: readonly string[]): void {
  const select = el('model');
  const wanted = ['', ...versions];
  const have = Array.from(select.querySelectorAll('option')).map((o) => o.value);
  if (have.join('\u0000') === wanted.join('\u0000')) return;
  select.replaceChildren(...wanted.map((v) => {
    const o = document.createElement('option');
    o.value = v;
    o.textContent = v === '' ? 'all model versions' : v;
    return o;
  }));
  if (modelVersion !== undefined && !versions.includes(modelVersion)) modelVersion = undefined;
  select.value = modelVersion ?? '';
}

function render(): void {
  if (!snapshot) return;
  syncModelChoices(snapshot.modelVersions);
  const v: View = viewOf(snapshot, { rangeSeconds, modelVersion });
  const n = v.numbers;
  setMetric('organic-share', fmt.pct(n.organicShare));
  setMetric('recommended-min', fmt.num(n.recommendedMin));
  setMetric('organic-min', fmt.num(n.organicMin));
  setMetric('other-min', fmt.num(n.otherMin));
  setMetric('events-per-second', fmt.num(n.eventsPerSecond));
  setMetric('events-per-second-last', fmt.num(n.eventsPerSecondLastBucket));
  setMetric('events', fmt.int(n.listens + n.feedback + n.lists));
  setMetric('ctr', fmt.pct(n.ctr));
  setMetric('follow-rate', fmt.pct(n.followRate));
  setMetric('impressions', fmt.int(n.impressions));
  setMetric('new-users', fmt.int(n.newUsers));
  setMetric('lists', fmt.int(v.models.reduce((s, m) => s + m.lists, 0)));
  const updated = el('updated');
  updated.textContent = `updated ${fmt.time(snapshot.at)}`;
  updated.dataset.at = String(snapshot.at);

  const minutes = (x: number) => fmt.num(x);
  draw('chart-listening', v.times, [
    { label: 'organic, from Buddies', color: RECOMMENDED, values: v.listening.recommended },
    { label: 'organic, other', color: ORGANIC, values: v.listening.organic },
    { label: 'algorithmic and other', color: OTHER, values: v.listening.other },
  ], minutes);
  draw('chart-events', v.times, [
    { label: 'listens/s', color: ORGANIC, values: v.rates.listens },
    { label: 'feedback/s', color: RECOMMENDED, values: v.rates.feedback },
    { label: 'lists/s', color: '#ea580c', values: v.rates.lists },
  ], (x) => fmt.num(x));
  const wholePct = (x: number) => `${Math.round(x * 100)}%`;
  draw('chart-ctr', v.times, perVersion(v.ctr), (x) => fmt.pct(x), [0, 1], wholePct);
  draw('chart-follow', v.times, perVersion(v.followRate), (x) => fmt.pct(x), [0, 1], wholePct);
  draw('chart-new-users', v.times, perVersion(v.newUsers), (x) => fmt.int(x), undefined, (x) => fmt.int(x), true);

  el('models').replaceChildren(...v.models.map((m) => row(
    cell(m.version), cell(fmt.int(m.lists), 'n'), cell(fmt.int(m.impressions), 'n'), cell(fmt.pct(m.ctr), 'n'), cell(fmt.pct(m.followRate), 'n'), cell(fmt.int(m.newUsers), 'n'),
  )));
  el('top').replaceChildren(...(v.top.length ? v.top.map((p, i) => row(cell(String(i + 1), 'n'), cell(p.name || p.playlistId), cell(p.curator), cell(fmt.int(p.lists), 'n'))) : [row(cell('no lists in this range'))]));
  el('step').textContent = `${v.stepSeconds >= 120 ? `one point per ${v.stepSeconds / 60} minutes` : 'one point per minute'}; rates over the trailing ${ROLLING_SECONDS / 60} minutes`;
}

// ------------------------------------------------------------------ controls

function start(): void {
  const range = el('range');
  range.replaceChildren(...RANGES.map((r) => {
    const o = document.createElement('option');
    o.value = String(r.seconds);
    o.textContent = r.label;
    return o;
  }));
  range.value = String(rangeSeconds);
  range.addEventListener('change', () => {
    rangeSeconds = Number(range.value);
    render();
  });
  const model = el('model');
  model.addEventListener('change', () => {
    modelVersion = model.value === '' ? undefined : model.value;
    render();
  });
  el('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const token = el('token').value.trim();
    if (!token) return;
    window.sessionStorage.setItem(TOKEN_KEY, token);
    el('token').value = '';
    connect(token);
  });
  window.addEventListener('resize', () => {
    for (const s of slots.values()) s.plot?.setSize({ width: Math.max(280, s.el.clientWidth), height: 200 });
  });
  // a link with a new token opened in the same tab changes only the fragment: no reload
  window.addEventListener('hashchange', () => {
    if (!/(^#|&)token=/.test(window.location.hash)) return;
    const fresh = tokenFromPage();
    if (fresh) connect(fresh);
  });
  const token = tokenFromPage();
  if (token) connect(token);
  else askForToken('an operator token is needed: paste one below, or open this page as …/dashboard/#token=TOKEN');
}

start();
