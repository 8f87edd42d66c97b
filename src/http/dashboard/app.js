// tide dashboard: polls the scheduler's HTTP API once a second and draws
// worker counts, task states, the task stream, workers, learned durations,
// the adaptive decision log and the cluster. No external requests.
(function () {
  "use strict";

  const POLL_MS = 1000;
  // The workers table shows one page of the scheduler's list (join order):
  // a cluster of thousands of workers costs one page per poll, not all.
  const WORKERS_PAGE = 100;
  let workersOffset = 0;
  const HISTORY_S = 600;        // seconds of chart history kept
  const CHART_WINDOW_S = 300;   // seconds shown in the charts, at most
  const MIN_WINDOW_S = 20;      // and at least
  const PLOT_H = 200;           // px, a chart with its axes (legend apart)
  const STREAM_WINDOW_S = 60;   // seconds shown in the task stream
  const STATES = ["waiting", "queued", "no-worker", "processing", "memory", "erred", "released"];
  // the tasks chart draws in this order: alarming states first, so that their
  // usual flat zero stays under the others
  const CHART_STATES = ["erred", "no-worker", "waiting", "queued", "memory", "processing"];
  const STATE_COLORS = {
    waiting: "#9aa5b8", queued: "#7c5cd6", "no-worker": "#d64545", processing: "#2f6fde",
    memory: "#1f9d55", erred: "#b3261e", released: "#c2c8d3",
  };

  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

  // ---- formatting -------------------------------------------------------
  function fmtBytes(n) {
    if (n == null || isNaN(n)) return "–";
    const u = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (Math.abs(n) >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(n < 10 ? 2 : 1) : n.toFixed(0)) + " " + u[i];
  }
  function fmtDur(s) {
    if (s == null || typeof s !== "number" || isNaN(s)) return "–";
    if (s === 0) return "0 s";
    if (s < 1e-3) return (s * 1e6).toFixed(0) + " µs";
    if (s < 1) return (s * 1e3).toFixed(s < 0.01 ? 2 : 1) + " ms";
    if (s < 120) return s.toFixed(2) + " s";
    if (s < 7200) return (s / 60).toFixed(1) + " min";
    return (s / 3600).toFixed(1) + " h";
  }
  function fmtNum(v) {
    if (v === "inf" || v === Infinity || v === null) return "∞";
    if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toPrecision(4).replace(/\.?0+$/, "");
    return String(v);
  }
  function fmtTime(epoch) {
    const d = new Date(epoch * 1000);
    return d.toLocaleTimeString([], { hour12: false });
  }

  // A distinct colour per task prefix, in order of first appearance.
  const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2",
    "#edc948", "#ff9da7", "#9c755f", "#2f6fde", "#8cd17d", "#d37295", "#499894", "#bab0ac"];
  const prefixColors = new Map();
  function colorFor(prefix) {
    let c = prefixColors.get(prefix);
    if (!c) {
      if (prefixColors.size < PALETTE.length) {
        c = PALETTE[prefixColors.size];
      } else {
        let h = 0;
        for (let i = 0; i < prefix.length; i++) h = (h * 31 + prefix.charCodeAt(i)) >>> 0;
        c = "hsl(" + (h % 360) + ", 55%, 50%)";
      }
      prefixColors.set(prefix, c);
    }
    return c;
  }

  // The cluster token (docs/security.md): `tide cluster` prints the page's
  // URL with ?token=...; the page keeps it for this tab only, takes it out
  // of the address bar (and so out of history and Referer headers), and
  // sends it as a bearer token, which a cluster started with
  // --dashboard-auth requires of every API request.
  const TOKEN = (function () {
    let t = null;
    try {
      const u = new URL(window.location.href);
      t = u.searchParams.get("token");
      if (t) {
        window.sessionStorage.setItem("tide-token", t);
        u.searchParams.delete("token");
        window.history.replaceState(null, "", u.pathname + u.search + u.hash);
      } else {
        t = window.sessionStorage.getItem("tide-token");
      }
    } catch (e) { /* no storage: the token lasts as long as the page */ }
    return t;
  })();
  const AUTH = TOKEN ? { Authorization: "Bearer " + TOKEN } : {};

  async function getJSON(path) {
    const r = await fetch(path, { cache: "no-store", headers: AUTH });
    if (!r.ok) throw new Error(path + ": HTTP " + r.status);
    return r.json();
  }

  // ---- charts (uPlot) ---------------------------------------------------
  const hasPlot = typeof window.uPlot === "function";
  const hist = { t: [], observed: [], requested: [], target: [], maximum: [], states: STATES.map(() => []) };

  function makeChart(el, series) {
    if (!hasPlot) {
      el.innerHTML = '<div class="unavailable">charts unavailable (uPlot was not embedded at build time)</div>';
      return null;
    }
    const clock = (v) => new Date(v * 1000).toLocaleTimeString([], { hour12: false });
    const opts = {
      width: el.clientWidth || 600,
      height: PLOT_H,
      series: [{}].concat(series),
      axes: [{ stroke: "#6b7385", grid: { stroke: "#eef1f6" }, space: 90,
               values: (u, splits) => splits.map(clock) },
             { stroke: "#6b7385", grid: { stroke: "#eef1f6" }, size: 50,
               incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 1e6, 1e7] }],
      scales: {
        // the last CHART_WINDOW_S seconds; at least MIN_WINDOW_S so that a
        // page opened a moment ago does not stretch a few points edge to edge
        x: { time: true, range: (u, min, max) => [max - Math.min(CHART_WINDOW_S, Math.max(MIN_WINDOW_S, max - min)), max] },
        y: { range: (u, min, max) => [0, Math.max(1, Math.ceil(max * 1.1))] },
      },
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
    };
    const data = [[]].concat(series.map(() => []));
    const u = new uPlot(opts, data, el);
    // a fixed plot height; the box follows (with the legend, which may wrap)
    new ResizeObserver(() => {
      if (el.clientWidth && el.clientWidth !== u.width) u.setSize({ width: el.clientWidth, height: PLOT_H });
    }).observe(el);
    return u;
  }

  const line = (label, stroke, extra) => Object.assign({ label, stroke, width: 2, points: { show: false } }, extra || {});
  const workersChart = makeChart($("chart-workers"), [
    line("observed", "#2f6fde", { fill: "rgba(47,111,222,0.08)" }),
    line("requested", "#d68b00", { dash: [6, 4] }),
    line("adaptive target", "#1f9d55", { paths: hasPlot && uPlot.paths.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined }),
    line("maximum", "#9aa5b8", { width: 1, dash: [2, 4] }),
  ]);
  const tasksChart = makeChart($("chart-tasks"), CHART_STATES.map((s) => line(s, STATE_COLORS[s])));

  // What the page shows, for tests and the curious (browser console):
  // the chart instances (their .data is what is drawn) and a poll counter.
  const exposed = { charts: { workers: workersChart, tasks: tasksChart }, hist, polls: 0, errors: 0 };
  window.tideDashboard = exposed;

  function pushHistory(t, observed, requested, target, maximum, counts) {
    hist.t.push(t);
    hist.observed.push(observed);
    hist.requested.push(requested);
    hist.target.push(target);
    hist.maximum.push(maximum);
    STATES.forEach((s, i) => hist.states[i].push(counts ? counts[s] || 0 : null));
    while (hist.t.length && hist.t[0] < t - HISTORY_S) {
      hist.t.shift(); hist.observed.shift(); hist.requested.shift(); hist.target.shift(); hist.maximum.shift();
      hist.states.forEach((a) => a.shift());
    }
    if (workersChart) workersChart.setData([hist.t, hist.observed, hist.requested, hist.target, hist.maximum]);
    if (tasksChart) {
      const d = [hist.t];
      CHART_STATES.forEach((s) => d.push(hist.states[STATES.indexOf(s)]));
      tasksChart.setData(d);
    }
  }

  // ---- task stream (canvas) ---------------------------------------------
  const stream = { tasks: [], since: 0, offset: 0, lanes: [], laneOf: new Map(), hits: [] };
  const canvas = $("stream");
  const tip = $("stream-tip");
  $("stream-window").textContent = STREAM_WINDOW_S;

  // Lanes: one per (worker, thread). Thread ids come from the workers (their
  // base is theirs to choose), so lanes are built from the ids seen, padded
  // to nthreads for connected workers; workers that left keep greyed lanes
  // while their bars are in the window.
  const seenThreads = new Map(); // worker address -> Set of thread ids
  const knownNames = new Map();  // worker address -> name, kept after it leaves
  function noteThread(t) {
    let set = seenThreads.get(t.worker);
    if (!set) seenThreads.set(t.worker, (set = new Set()));
    set.add(t.thread || 0);
  }

  function updateLanes(workers) {
    const lanes = [];
    const laneOf = new Map();
    const connected = new Set();
    const addWorker = (addr, label, nthreads, gone) => {
      const ids = Array.from(seenThreads.get(addr) || []).sort((a, b) => a - b);
      for (let i = 1; ids.length < nthreads; i++) if (!ids.includes(i)) ids.push(i);
      ids.sort((a, b) => a - b);
      ids.forEach((th) => {
        laneOf.set(addr + "|" + th, lanes.length);
        lanes.push({ label: label + (ids.length > 1 ? " #" + th : ""), gone });
      });
    };
    workers.slice().sort((a, b) => (a.name || "").localeCompare(b.name || "", undefined, { numeric: true }))
      .forEach((w) => {
        connected.add(w.address);
        knownNames.set(w.address, w.name);
        addWorker(w.address, w.name || w.address, Math.max(1, w.nthreads || 1), false);
      });
    const goneAddrs = new Set(stream.tasks.map((t) => t.worker).filter((a) => !connected.has(a)));
    const goneName = (a) => knownNames.get(a) || String(a).replace(/^tcp:\/\//, "");
    Array.from(goneAddrs).sort((a, b) => goneName(a).localeCompare(goneName(b), undefined, { numeric: true }))
      .forEach((a) => addWorker(a, goneName(a), 0, true));
    for (const m of [seenThreads, knownNames])
      for (const a of Array.from(m.keys())) if (!connected.has(a) && !goneAddrs.has(a)) m.delete(a);
    stream.lanes = lanes;
    stream.laneOf = laneOf;
  }

  function laneFor(t) {
    const i = stream.laneOf.get(t.worker + "|" + (t.thread || 0));
    return i === undefined ? -1 : i;
  }

  function drawStream() {
    const dpr = window.devicePixelRatio || 1;
    const laneH = 16, labelW = 150, pad = 4;
    const nl = Math.max(1, stream.lanes.length);
    const cssH = Math.min(600, Math.max(80, nl * laneH + 24));
    canvas.style.height = cssH + "px";
    const W = canvas.clientWidth, H = cssH;
    if (canvas.width !== Math.round(W * dpr) || canvas.height !== Math.round(H * dpr)) {
      canvas.width = Math.round(W * dpr);
      canvas.height = Math.round(H * dpr);
    }
    const g = canvas.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, W, H);
    const now = Date.now() / 1000 + stream.offset;
    const t0 = now - STREAM_WINDOW_S;
    const plotW = Math.max(10, W - labelW - pad);
    const x = (t) => labelW + ((t - t0) / STREAM_WINDOW_S) * plotW;
    g.font = "11px system-ui, sans-serif";
    g.textBaseline = "middle";
    // lanes
    stream.lanes.forEach((l, i) => {
      const y = 4 + i * laneH;
      if (i % 2 === 0) { g.fillStyle = "#f1f3f7"; g.fillRect(labelW, y, plotW, laneH); }
      g.fillStyle = l.gone ? "#b0b6c3" : "#4a5366";
      g.fillText(l.label.length > 22 ? l.label.slice(0, 21) + "…" : l.label, 4, y + laneH / 2);
    });
    // time ticks every 10 s
    g.fillStyle = "#8a93a6";
    for (let s = Math.ceil(t0 / 10) * 10; s <= now; s += 10) {
      const xx = x(s);
      g.fillRect(xx, 4, 1, nl * laneH);
      const label = "-" + Math.round(now - s) + "s";
      if (xx + 2 + g.measureText(label).width <= W) g.fillText(label, xx + 2, H - 9);
    }
    // bars
    stream.hits = [];
    for (const t of stream.tasks) {
      if (t.stop < t0) continue;
      const i = laneFor(t);
      if (i < 0) continue;
      const y = 4 + i * laneH + 2;
      const x0 = Math.max(labelW, x(t.start));
      const w = Math.max(1, x(t.stop) - x0);
      g.fillStyle = colorFor(t.prefix || "?");
      g.fillRect(x0, y, w, laneH - 4);
      stream.hits.push([x0, y, w, laneH - 4, t]);
    }
    if (!stream.tasks.length) {
      // centred over the lanes, on a patch that hides the tick lines
      const msg = "no tasks in the last " + STREAM_WINDOW_S + " s";
      const mw = g.measureText(msg).width, my = Math.min(H / 2, 4 + nl * laneH / 2);
      const mx = labelW + Math.max(10, (plotW - mw) / 2);
      g.fillStyle = "#fafbfd";
      g.fillRect(mx - 6, my - 8, mw + 12, 16);
      g.fillStyle = "#8a93a6";
      g.fillText(msg, mx, my);
    }
  }

  canvas.addEventListener("mousemove", (ev) => {
    const r = canvas.getBoundingClientRect();
    const mx = ev.clientX - r.left, my = ev.clientY - r.top;
    const hit = stream.hits.find(([x, y, w, h]) => mx >= x && mx <= x + w + 1 && my >= y && my <= y + h);
    if (!hit) { tip.hidden = true; return; }
    const t = hit[4];
    tip.textContent = t.key + " · " + (t.prefix || "") + " · " + fmtDur(t.stop - t.start);
    tip.style.left = Math.min(mx + 12, r.width - 240) + "px";
    tip.style.top = (my + 12) + "px";
    tip.hidden = false;
  });
  canvas.addEventListener("mouseleave", () => { tip.hidden = true; });

  function updateStream(ts) {
    stream.offset = ts.now - Date.now() / 1000;
    for (const t of ts.tasks || []) {
      stream.tasks.push(t);
      noteThread(t);
      if (t.stop > stream.since) stream.since = t.stop;
    }
    const keep = ts.now - STREAM_WINDOW_S - 5;
    stream.tasks = stream.tasks.filter((t) => t.stop >= keep);
    updateLanes(ts.workers || []);
    const seen = new Set(stream.tasks.map((t) => t.prefix || "?"));
    $("stream-legend").innerHTML = Array.from(seen).sort().map((p) =>
      '<span><span class="sw" style="background:' + colorFor(p) + '"></span>' + esc(p) + "</span>").join("");
    drawStream();
  }

  // ---- tables -------------------------------------------------------------
  function setRows(tbodySel, rows, cols, emptyText) {
    const tb = document.querySelector(tbodySel + " tbody");
    tb.innerHTML = rows.length ? rows.join("")
      : '<tr><td class="empty" colspan="' + cols + '">' + esc(emptyText) + "</td></tr>";
  }

  // Memory: results held (managed, solid) within the process memory (light),
  // against the worker's limit.
  function memCell(w) {
    const used = w.nbytes || 0, rss = w.rss || 0, lim = w.memory_limit || 0;
    const title = "results held " + fmtBytes(used) + ", process " + fmtBytes(rss) +
      ", limit " + (lim ? fmtBytes(lim) : "none");
    if (!lim)
      return '<div class="mem" title="' + esc(title) + '"><span class="txt">' + fmtBytes(used) +
        " / no limit</span></div>";
    const f = Math.min(1, used / lim), fp = Math.min(1, Math.max(used, rss) / lim);
    const cls = f >= 0.8 ? "full" : f >= 0.6 ? "high" : "";
    return '<div class="mem" title="' + esc(title) + '"><div class="bar"><span class="proc" style="width:' +
      (fp * 100).toFixed(1) + '%"></span><span class="managed ' + cls + '" style="width:' + (f * 100).toFixed(1) +
      '%"></span></div><span class="txt">' + fmtBytes(used) + " / " + fmtBytes(lim) + "</span></div>";
  }

  function updateWorkers(gw) {
    const ws = gw.workers || [];
    const total = typeof gw.num_workers === "number" ? gw.num_workers : ws.length;
    const first = typeof gw.offset === "number" ? gw.offset : 0;
    if (first >= total && first > 0) // the list shrank below this page: back to its last page
      workersOffset = Math.max(0, Math.floor((total - 1) / WORKERS_PAGE) * WORKERS_PAGE);
    $("workers-count").textContent = total + (total === 1 ? " worker" : " workers") +
      (total > ws.length && ws.length ? " · " + (first + 1) + "–" + (first + ws.length) : "");
    $("workers-prev").disabled = first === 0;
    $("workers-next").disabled = first + ws.length >= total;
    $("workers-pager").hidden = total <= WORKERS_PAGE && first === 0;
    $("workers").dataset.workers = String(total);
    setRows("#workers", ws.map((w) => "<tr><td title=\"" + esc(w.address) + "\">" + esc(w.name) + "</td><td>" +
      esc(w.job || "–") + "</td><td>" + esc(w.host) + '</td><td class="num">' + esc(w.nthreads) + "</td><td>" +
      memCell(w) + '</td><td class="num">' + esc(w.processing) + '</td><td class="num">' + esc(w.executed == null ? "" : w.executed) +
      '</td><td><span class="status ' + esc(w.status) + '">' + esc(w.status) + "</span></td></tr>"), 8, "no workers connected");
    // totals over every worker come with the page
    let threads = gw.nthreads, mem = gw.nbytes;
    if (typeof threads !== "number" || typeof mem !== "number") {
      threads = 0; mem = 0;
      ws.forEach((w) => { threads += w.nthreads || 0; mem += w.nbytes || 0; });
    }
    $("s-workers").textContent = total + (total === 1 ? " worker" : " workers");
    $("s-threads").textContent = threads + (threads === 1 ? " thread" : " threads");
    $("s-memory").textContent = fmtBytes(mem) + " in memory";
  }

  function updatePrefixes(tasks) {
    const ps = tasks.prefixes || {};
    const names = Object.keys(ps).sort();
    setRows("#prefixes", names.map((p) => {
      const v = ps[p] || {};
      const st = v.states || {};
      const chips = Object.keys(st).filter((k) => st[k]).map((k) =>
        '<span class="chip" style="color:' + (STATE_COLORS[k] || "#4a5366") + '">' + esc(k) + " " + esc(st[k]) + "</span>").join("");
      return '<tr><td><span class="sw" style="display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;background:' +
        colorFor(p) + '"></span>' + esc(p) + '</td><td class="num">' + fmtDur(v.duration_average) +
        '</td><td class="num">' + esc(v.count == null ? "" : v.count) + "</td><td>" + chips + "</td></tr>";
    }), 4, "no task has run yet");
  }

  function dl(el, pairs) {
    el.innerHTML = pairs.filter((p) => p[1] !== undefined).map((p) =>
      "<dt>" + esc(p[0]) + "</dt><dd>" + esc(p[1]) + "</dd>").join("");
  }

  function flatInputs(e) {
    const skip = new Set(["time", "status", "n", "workers"]);
    const parts = [];
    const add = (k, v) => {
      if (v && typeof v === "object" && !Array.isArray(v)) {
        Object.keys(v).forEach((kk) => add(kk, v[kk]));
      } else if (Array.isArray(v)) {
        parts.push(k + "=" + v.length);
      } else if (typeof v === "number") {
        parts.push(k + "=" + (Number.isInteger(v) ? v : v.toPrecision(3)));
      } else {
        parts.push(k + "=" + v);
      }
    };
    Object.keys(e).forEach((k) => { if (!skip.has(k)) add(k, e[k]); });
    return parts.join("  ");
  }

  function updateAdaptive(ad, target) {
    const state = ad.state || "inactive";
    $("adaptive-state").textContent = state;
    $("s-adaptive").textContent = "adaptive: " + state;
    const len = (a) => (Array.isArray(a) ? a.length : "–");
    dl($("adaptive-settings"), [
      ["minimum", fmtNum(ad.minimum)], ["maximum", fmtNum(ad.maximum)],
      ["interval", fmtDur(ad.interval)], ["wait_count", fmtNum(ad.wait_count)],
      ["target_duration", fmtDur(ad.target_duration)],
      ["worker_key", ad.worker_key === undefined ? undefined : String(ad.worker_key)],
      ["target now", target == null ? "–" : String(target)],
      ["plan", len(ad.plan)], ["requested", len(ad.requested)], ["observed", len(ad.observed)],
    ]);
    // resource-manager faults (docs/design.md §7): say why adapting is held back
    const faults = [];
    if (ad.paused === true) faults.push("paused");
    if (ad.error) faults.push("error: " + (typeof ad.error === "object" ? JSON.stringify(ad.error) : ad.error));
    const bo = ad.backoff;
    if (bo && typeof bo === "object" && bo.failures > 0)
      faults.push(bo.failures + " failed submission(s) in a row, next try in " + fmtDur(bo.next_try_in));
    if (Array.isArray(ad.errors) && ad.errors.length) {
      const last = ad.errors[ad.errors.length - 1];
      faults.push("last error: " + (typeof last === "object" ? (last.error || last.message || JSON.stringify(last)) : last));
    }
    $("adaptive-note").hidden = !faults.length;
    $("adaptive-note").textContent = faults.join(" · ");
    const log = (ad.log || []).slice(-200).reverse();
    setRows("#decisions", log.map((e) => {
      const st = e.status || "";
      const what = st === "up" ? '<span class="nowrap">scale to ' + esc(e.n) + "</span>"
        : Array.isArray(e.workers) ? e.workers.map((w) => '<span class="chip">' + esc(w) + "</span>").join("")
          : esc(e.n == null ? "" : e.n);
      return '<tr data-status="' + esc(st) + '"><td class="mono">' + (e.time ? esc(fmtTime(e.time)) : "") + '</td><td><span class="decision ' + esc(st) +
        '">' + esc(st) + "</span></td><td>" + what + '</td><td class="inputs">' + esc(flatInputs(e)) + "</td></tr>";
    }), 4, state === "inactive" ? "not adapting" : "no decision yet");
  }

  function updateCluster(c) {
    const has = c && Object.keys(c).length;
    $("cluster-repr").textContent = has ? c.repr || "" : "no cluster manager: a bare scheduler";
    $("repr").textContent = has ? c.repr || "" : "";
    $("jobs").parentElement.hidden = !has;
    // docs/adaptive.md "Pools": one line per pool
    const pools = (has && c.pools) || [];
    $("pools-box").hidden = !pools.length;
    setRows("#pools", pools.map((p) => "<tr><td>" + esc(p.name) + '</td><td class="mono">' +
      esc(p.resources || "-") + "</td><td>" + esc(String(p.workers)) + "</td><td>" +
      esc(p.target === null || p.target === undefined ? "-" : String(p.target)) + "</td><td>" +
      esc(String(p.minimum) + " / " + String(p.maximum)) + "</td><td>" +
      // docs/design.md §7 "Arrival-aware requests": what the pool learned, what it capped
      esc(typeof p.startup === "number" ? p.startup.toFixed(2) + " s" : "-") + "</td><td>" +
      esc(String(p.capped || 0)) + '</td><td title="' + esc(p.capped_why || "") + '">' +
      esc(p.reason || "") + "</td></tr>"), 8, "no pools");
    if (!has) { dl($("cluster-settings"), []); setRows("#jobs", [], 4, "no jobs"); return; }
    dl($("cluster-settings"), [
      ["backend", c.backend], ["name", c.name], ["processes per job", c.processes],
      ["threads per worker", c.nthreads],
      ["memory per worker", c.memory_limit === undefined ? undefined : c.memory_limit ? fmtBytes(c.memory_limit) : "no limit"],
    ].map((p) => [p[0], p[1] === undefined || p[1] === null ? undefined : String(p[1])]));
    setRows("#jobs", (c.jobs || []).map((j) => "<tr><td>" + esc(j.name) + "</td><td>" + esc(j.state) +
      '</td><td class="mono">' + esc(j.backend_id || "") + "</td><td>" +
      (j.workers || []).map((w) => '<span class="chip">' + esc(w) + "</span>").join("") + "</td></tr>"), 4, "no jobs");
  }

  // ---- polling --------------------------------------------------------------
  let tick = 0, busy = false;
  const conn = $("conn");
  let identityShown = false;

  async function poll() {
    if (busy) return;
    busy = true;
    try {
      const reqs = [getJSON("/api/v1/get_workers?offset=" + workersOffset + "&limit=" + WORKERS_PAGE),
        getJSON("/api/v1/tasks"), getJSON("/api/v1/adaptive"),
        getJSON("/api/v1/adaptive_target"), getJSON("/api/v1/task_stream?since=" + stream.since),
        getJSON("/api/v1/cluster"), identityShown ? null : getJSON("/api/v1/identity?limit=0")];
      const [gw, tasks, ad, tgt, ts, cl, id] = await Promise.all(reqs);
      if (id) { $("address").textContent = id.address + "  ·  " + id.id; identityShown = true; }
      const now = ts.now || Date.now() / 1000;
      // requested is the cluster's (no cluster: "inactive", nothing asked for)
      const requested = Array.isArray(ad.requested) && ad.state !== "inactive" ? ad.requested.length : null;
      // the adaptive maximum, while adapting with a finite one
      const maximum = ad.state === "running" && typeof ad.maximum === "number" && isFinite(ad.maximum) ? ad.maximum : null;
      pushHistory(now, gw.num_workers, requested, tgt.workers, maximum, tasks.states);
      updateWorkers(gw);
      updatePrefixes(tasks);
      updateAdaptive(ad, tgt.workers);
      updateStream(ts);
      if (cl) updateCluster(cl);
      exposed.polls++;
      conn.textContent = "live";
      conn.className = "conn ok";
    } catch (e) {
      exposed.errors++;
      conn.textContent = "disconnected";
      conn.title = String(e);
      conn.className = "conn bad";
    } finally {
      busy = false;
      tick++;
    }
  }

  $("workers-prev").addEventListener("click", () => {
    workersOffset = Math.max(0, workersOffset - WORKERS_PAGE);
    poll();
  });
  $("workers-next").addEventListener("click", () => {
    workersOffset += WORKERS_PAGE;
    poll();
  });
  window.addEventListener("resize", drawStream);
  poll();
  setInterval(poll, POLL_MS);
  setInterval(drawStream, 250); // keep the stream scrolling between polls
})();
