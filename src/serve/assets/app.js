// The sluice dashboard: plain browser JavaScript, no build step. It reads the API with the cookie
// the server set from /?token=, follows the live stream (Server-Sent Events; a reconnect sends
// the last seq seen and the server backfills from the durable log), and draws with uPlot.
// Every value from the server is written as text, never as HTML.

const kMaxEvents = 500;
const kMaxPoints = 300;

const state = {
  lastSeq: 0,
  source: undefined,
  previous: undefined,
  history: { t: [], throughput: [], p50: [], p99: [], utilization: [], busy: [] },
  decisions: [],
  charts: {},
  flows: new Map(),
};

const $ = (id) => document.getElementById(id);

function element(tag, attributes = {}, text) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

async function api(path) {
  const response = await fetch(path, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  const body = await response.json();
  if (!response.ok) throw new Error(`${body.code}: ${body.message}`);
  return body;
}

function summary(payload) {
  if (payload === null || typeof payload !== 'object') return String(payload ?? '');
  const parts = [];
  for (const key of ['flowId', 'workerId', 'routineId', 'jobId', 'slot', 'action', 'knob', 'from', 'to', 'status']) {
    if (payload[key] !== undefined) parts.push(`${key}=${payload[key]}`);
  }
  if (payload.error?.code) parts.push(`${payload.error.code}: ${payload.error.message}`);
  return parts.join(' ');
}

// ── the live stream ──────────────────────────────────────────────────────────────────────────

function connect() {
  disconnect();
  const url = state.lastSeq > 0 ? `/api/v1/events?after=${state.lastSeq}` : '/api/v1/events';
  const source = new EventSource(url);
  state.source = source;
  setConnection('connecting');
  source.onopen = () => setConnection('live');
  source.onerror = () => setConnection(source.readyState === EventSource.CLOSED ? 'closed' : 'connecting');
  source.addEventListener('hello', (message) => {
    const hello = JSON.parse(message.data);
    $('run-id').textContent = hello.runId;
    setConnection('live');
  });
  source.addEventListener('bus', (message) => onEvent(JSON.parse(message.data)));
  source.addEventListener('stats', (message) => onStats(JSON.parse(message.data)));
  source.addEventListener('dropped', (message) => {
    const dropped = JSON.parse(message.data);
    $('events-note').textContent = `live (${dropped.total} events dropped: this page was too slow)`;
  });
  source.addEventListener('gap', (message) => {
    const gap = JSON.parse(message.data);
    $('events-note').textContent = `live (gap: ${gap.reason})`;
  });
}

function disconnect() {
  state.source?.close();
  state.source = undefined;
  setConnection('closed');
}

function setConnection(value) {
  const badge = $('connection');
  badge.dataset.state = value;
  badge.textContent = value;
}

function eventItem(event) {
  const item = element('li', { 'data-seq': event.seq, 'data-topic': event.topic });
  item.textContent = `#${event.seq} ${event.time.slice(11, 23)} ${event.topic} ${summary(event.payload)}`;
  item.title = JSON.stringify(event.payload);
  return item;
}

function onEvent(event) {
  // A backfill and the live tail never repeat an event, but a reconnect race must not show one twice.
  if (event.seq <= state.lastSeq) return;
  state.lastSeq = event.seq;
  const list = $('events');
  list.prepend(eventItem(event));
  while (list.childElementCount > kMaxEvents) list.lastElementChild.remove();
  if (event.topic.startsWith('drg.signal.')) onDecision(event);
  if (event.topic === 'job.failed') scheduleJobs();
}

function onDecision(event) {
  const decision = event.payload ?? {};
  state.decisions.push(Date.parse(event.time) / 1000);
  if (state.decisions.length > 200) state.decisions.shift();
  const item = element('li', { 'data-topic': event.topic });
  const knob = `${decision.subsystem ?? ''}.${decision.knob ?? ''} ${decision.before ?? ''} → ${decision.after ?? ''}`;
  item.textContent = `${event.time.slice(11, 19)} ${decision.rule ?? ''} ${decision.action ?? event.topic.slice(11)} ${knob}`;
  item.title = decision.reason ?? '';
  $('decisions').prepend(item);
}

// ── live counts and charts ───────────────────────────────────────────────────────────────────

function onStats(stats) {
  const badge = $('runtime-status');
  badge.dataset.status = stats.status;
  badge.textContent = stats.status;
  let ended = 0;
  let completed = 0;
  let failed = 0;
  for (const counts of Object.values(stats.jobs)) {
    completed += counts.completed ?? 0;
    failed += counts.failed ?? 0;
    ended += (counts.completed ?? 0) + (counts.failed ?? 0) + (counts.cancelled ?? 0);
  }
  $('totals').textContent = `${completed} completed · ${failed} failed · ${stats.activeJobs} active · ${stats.queuedItems} queued`;
  $('stream-counts').textContent = `${stats.stream.clients} viewer(s) · ${stats.stream.dropped} dropped`;
  for (const routine of stats.routines) {
    const node = document.querySelector(`[data-count="${CSS.escape(`${routine.flow}/${routine.routine}`)}"]`);
    if (node !== null)
      node.textContent = `${routine.items} in · ${routine.queued} queued · ${routine.activations} runs · ${routine.placement}`;
  }
  const t = stats.at / 1000;
  const previous = state.previous;
  state.previous = { t, ended };
  if (previous === undefined) return;
  const h = state.history;
  const latency = busiestLatency(stats.latency);
  h.t.push(t);
  h.throughput.push((ended - previous.ended) / Math.max(0.001, t - previous.t));
  h.p50.push(latency?.p50Ms ?? null);
  h.p99.push(latency?.p99Ms ?? null);
  h.utilization.push((stats.pool?.utilization ?? 0) * 100);
  h.busy.push(stats.pool?.busy ?? 0);
  for (const series of Object.values(h)) if (series.length > kMaxPoints) series.shift();
  drawCharts();
}

/** The latency of the last second of the flow that ended the most jobs in it (null when none ended). */
function busiestLatency(latency) {
  let best;
  for (const window of Object.values(latency)) if (window !== null && (best === undefined || window.count > best.count)) best = window;
  return best;
}

function decisionLines() {
  return {
    hooks: {
      draw: [
        (u) => {
          const { ctx, bbox } = u;
          ctx.save();
          ctx.strokeStyle = '#b26a00';
          ctx.setLineDash([4, 3]);
          for (const at of state.decisions) {
            const x = u.valToPos(at, 'x', true);
            if (x < bbox.left || x > bbox.left + bbox.width) continue;
            ctx.beginPath();
            ctx.moveTo(x, bbox.top);
            ctx.lineTo(x, bbox.top + bbox.height);
            ctx.stroke();
          }
          ctx.restore();
        },
      ],
    },
  };
}

function chart(id, series, range) {
  const container = $(id);
  const options = {
    width: Math.max(300, container.clientWidth),
    height: 200,
    scales: range === undefined ? {} : { y: { range } },
    series: [{}, ...series],
    axes: [{}, { size: 60 }],
    plugins: [decisionLines()],
  };
  return new uPlot(options, [[], ...series.map(() => [])], container);
}

function drawCharts() {
  if (typeof uPlot === 'undefined') return;
  const h = state.history;
  state.charts.throughput ??= chart('chart-throughput', [{ label: 'jobs/s', stroke: '#2b6cb0', width: 2 }]);
  state.charts.latency ??= chart('chart-latency', [
    { label: 'p50 ms', stroke: '#1a7f37', width: 2 },
    { label: 'p99 ms', stroke: '#c62828', width: 2 },
  ]);
  state.charts.pool ??= chart(
    'chart-pool',
    [
      { label: 'utilisation %', stroke: '#6b46c1', width: 2 },
      { label: 'busy threads', stroke: '#b26a00', width: 1 },
    ],
    [0, 100],
  );
  state.charts.throughput.setData([h.t, h.throughput]);
  state.charts.latency.setData([h.t, h.p50, h.p99]);
  state.charts.pool.setData([h.t, h.utilization, h.busy]);
}

// ── the flow graph ───────────────────────────────────────────────────────────────────────────

const svgNs = 'http://www.w3.org/2000/svg';

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(svgNs, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

/** Columns by longest path from a routine without inputs (cycles stop at the routine count). */
function layers(flow) {
  const depth = new Map(flow.routines.map((r) => [r.id, 0]));
  for (let pass = 0; pass < flow.routines.length; pass++) {
    let changed = false;
    for (const c of flow.connections) {
      const next = (depth.get(c.source) ?? 0) + 1;
      if (next > (depth.get(c.target) ?? 0) && next < flow.routines.length) {
        depth.set(c.target, next);
        changed = true;
      }
    }
    if (!changed) break;
  }
  return depth;
}

function drawFlow(flow) {
  const depth = layers(flow);
  const rows = new Map();
  const at = new Map();
  const w = 250;
  const h = 58;
  for (const routine of flow.routines) {
    const column = depth.get(routine.id) ?? 0;
    const row = rows.get(column) ?? 0;
    rows.set(column, row + 1);
    at.set(routine.id, { x: 10 + column * (w + 60), y: 10 + row * (h + 24) });
  }
  const width = 20 + (Math.max(...depth.values()) + 1) * (w + 60);
  const height = 20 + Math.max(...rows.values()) * (h + 24);
  const root = svg('svg', { class: 'graph', viewBox: `0 0 ${width} ${height}`, 'data-flow': flow.id, style: `max-width: ${width}px` });
  const defs = svg('defs');
  const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto' });
  marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', style: 'marker-end:none;fill:#6b7480' }));
  defs.append(marker);
  root.append(defs);
  for (const c of flow.connections) {
    const a = at.get(c.source);
    const b = at.get(c.target);
    if (a === undefined || b === undefined) continue;
    const path = svg('path', {
      d: `M${a.x + w},${a.y + h / 2} C${a.x + w + 30},${a.y + h / 2} ${b.x - 30},${b.y + h / 2} ${b.x},${b.y + h / 2}`,
    });
    path.append(svg('title', {}, `${c.source}.${c.event} → ${c.target}.${c.slot}`));
    root.append(path);
  }
  for (const routine of flow.routines) {
    const { x, y } = at.get(routine.id);
    const group = svg('g', { 'data-routine': routine.id });
    group.append(svg('rect', { x, y, width: w, height: h, class: routine.placement === 'pool' ? 'pool' : 'inline' }));
    group.append(svg('text', { x: x + 8, y: y + 17 }, `${routine.id} (${routine.kind})`));
    group.append(svg('text', { x: x + 8, y: y + 32, class: 'count' }, `${routine.placement} · ${routine.policy.type}`));
    group.append(svg('text', { x: x + 8, y: y + 48, class: 'count', 'data-count': `${flow.id}/${routine.id}` }, '…'));
    root.append(group);
  }
  const box = element('div', { class: 'flow' });
  box.append(element('h3', {}, flow.id), root);
  return box;
}

async function loadFlows() {
  const { flows } = await api('/api/v1/flows');
  const container = $('graphs');
  for (const { id } of flows) {
    if (state.flows.has(id)) continue;
    const flow = await api(`/api/v1/flows/${encodeURIComponent(id)}`);
    state.flows.set(id, flow);
    container.append(drawFlow(flow));
  }
}

// ── jobs and runs ────────────────────────────────────────────────────────────────────────────

const jobsRefresh = { timer: undefined };
function scheduleJobs() {
  if (jobsRefresh.timer !== undefined) return;
  jobsRefresh.timer = setTimeout(() => {
    jobsRefresh.timer = undefined;
    void loadJobs();
  }, 500);
}

async function loadJobs() {
  const [failed, recent] = await Promise.all([api('/api/v1/jobs?status=failed&limit=50'), api('/api/v1/jobs?limit=50')]);
  const seen = new Set();
  const body = $('jobs').querySelector('tbody');
  body.replaceChildren();
  for (const job of [...failed.jobs, ...recent.jobs]) {
    if (seen.has(job.jobId)) continue;
    seen.add(job.jobId);
    const row = element('tr', { 'data-status': job.status, 'data-job': job.jobId });
    row.append(
      element('td', {}, job.jobId),
      element('td', {}, job.flowId),
      element('td', {}, job.status),
      element('td', {}, job.error?.code ?? ''),
      element('td', {}, job.error?.message ?? ''),
    );
    row.addEventListener('click', () => void showJob(job.jobId));
    body.append(row);
  }
}

async function showJob(jobId) {
  const detail = $('job-detail');
  detail.hidden = false;
  detail.textContent = JSON.stringify(await api(`/api/v1/jobs/${encodeURIComponent(jobId)}`), null, 2);
}

async function loadRuns() {
  const body = $('runs').querySelector('tbody');
  let runs;
  try {
    ({ runs } = await api('/api/v1/runs'));
  } catch (error) {
    body.replaceChildren(element('tr', {}, error.message));
    return;
  }
  body.replaceChildren();
  for (const run of runs.slice(0, 50)) {
    const row = element('tr', { 'data-run': run.runId, 'data-status': run.status });
    const replay = element('button', { type: 'button' }, 'replay');
    replay.disabled = run.status === 'running';
    replay.addEventListener('click', () => void replayRun(run.runId));
    const cell = element('td');
    cell.append(replay);
    row.append(
      element('td', {}, run.runId),
      element('td', {}, run.flow ?? ''),
      element('td', {}, run.status),
      element('td', {}, run.jobs.completed),
      element('td', {}, run.jobs.failed),
      element('td', {}, run.count),
      cell,
    );
    body.append(row);
  }
}

async function replayRun(runId) {
  $('replay').hidden = false;
  $('replay-run').textContent = runId;
  const list = $('replay-events');
  list.replaceChildren();
  const counts = new Map();
  let after = 0;
  for (let page = 0; page < 50 && after !== null; page++) {
    const result = await api(`/api/v1/runs/${encodeURIComponent(runId)}/events?after=${after}&limit=1000`);
    for (const event of result.events) {
      counts.set(event.topic, (counts.get(event.topic) ?? 0) + 1);
      if (list.childElementCount < kMaxEvents) list.append(eventItem(event));
    }
    after = result.next;
  }
  $('replay-summary').textContent = [...counts].map(([topic, n]) => `${topic} ${n}`).join(' · ');
}

// ── start ────────────────────────────────────────────────────────────────────────────────────

window.sluiceDashboard = {
  connect,
  disconnect,
  reconnect: connect,
  get lastSeq() {
    return state.lastSeq;
  },
  seqs: () => [...$('events').children].map((item) => Number(item.dataset.seq)),
};

$('refresh-jobs').addEventListener('click', () => void loadJobs());
connect();
await loadFlows();
await Promise.all([loadJobs(), loadRuns()]);
setInterval(() => void loadFlows(), 5000);
setInterval(() => void loadRuns(), 10_000);
