// Drives tide's dashboard in headless chromium while an adaptive cluster
// scales from 0 up for a burst and back to 0, and checks through the DOM
// that the page showed it. Run by tests/integration/test_dashboard_browser.sh.
//
// Environment: DASH_URL (the dashboard), SCHED_FILE, TIDE_BIN, GRAPH (the
// burst), PROFILE_DIR (fresh chromium profile), SHOT (screenshot path),
// CHROMIUM (default /usr/bin/chromium), MIN_UP (default 2).
import { spawn } from "node:child_process";
import { chromium } from "playwright-core";

const env = (k, d) => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`${k} is not set`);
  return v;
};
const DASH_URL = env("DASH_URL");
const SCHED_FILE = env("SCHED_FILE");
const TIDE_BIN = env("TIDE_BIN");
const GRAPH = env("GRAPH");
const PROFILE_DIR = env("PROFILE_DIR");
const SHOT = env("SHOT");
const CHROMIUM = env("CHROMIUM", "/usr/bin/chromium");
const MIN_UP = Number(env("MIN_UP", "2"));

const t0 = Date.now();
const log = (msg) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
let failed = false;
const check = (ok, what) => {
  console.log(`${ok ? "ok" : "FAIL"}: ${what}`);
  if (!ok) failed = true;
};

// Runs `tide run` for the burst; resolves to {code, stdout, stderr}.
function runBurst() {
  return new Promise((resolve) => {
    const p = spawn(TIDE_BIN, ["run", "--scheduler-file", SCHED_FILE, "--timeout", "60s", GRAPH],
      { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    p.stdout.on("data", (d) => { out += d; });
    p.stderr.on("data", (d) => { err += d; });
    p.on("close", (code) => resolve({ code, stdout: out, stderr: err }));
  });
}

// In the page: what the workers chart holds (the uPlot instance's data is
// what is drawn), the workers table and the decision log.
function snapshot() {
  const d = window.tideDashboard;
  const wc = d && d.charts.workers;
  const obs = wc ? wc.data[1].filter((v) => v != null) : [];
  const tc = d && d.charts.tasks;
  const procIdx = tc ? tc.series.findIndex((s) => s.label === "processing") : -1;
  const proc = procIdx > 0 ? tc.data[procIdx].filter((v) => v != null) : [];
  const table = document.getElementById("workers");
  return {
    polls: d ? d.polls : 0,
    live: document.getElementById("conn").classList.contains("ok"),
    chartPoints: obs.length,
    chartMax: obs.length ? Math.max(...obs) : null,
    chartLast: obs.length ? obs[obs.length - 1] : null,
    tasksMaxProcessing: proc.length ? Math.max(...proc) : null,
    tableWorkers: table.dataset.workers === undefined ? null : Number(table.dataset.workers),
    tableRows: table.querySelectorAll("tbody tr:not(:has(td.empty))").length,
    ups: document.querySelectorAll('#decisions tr[data-status="up"]').length,
    downs: document.querySelectorAll('#decisions tr[data-status="down"]').length,
    streamLegend: document.getElementById("stream-legend").textContent,
  };
}

const browser = await chromium.launchPersistentContext(PROFILE_DIR, {
  executablePath: CHROMIUM,
  headless: true,
  viewport: { width: 1400, height: 1000 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"],
});
let burst = null;
try {
  const page = browser.pages()[0] || await browser.newPage();
  const pageErrors = [];
  const outside = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") pageErrors.push(m.text()); });
  page.on("request", (r) => { if (!r.url().startsWith(DASH_URL)) outside.push(r.url()); });
  // waits for a condition in the page; a timeout says which one
  const wait = (what, fn, arg, ms) => page.waitForFunction(fn, arg, { timeout: ms, polling: 100 })
    .catch((e) => { throw new Error(`timed out after ${ms / 1000} s waiting for ${what} (${e.message.split("\n")[0]})`); });

  // the cluster runs with --dashboard-auth: every API request of the page
  // needs the token it gets once in the URL, as `tide cluster` prints it
  const TOKEN = process.env.TOKEN || "";
  await page.goto(DASH_URL + "/" + (TOKEN ? "?token=" + TOKEN : ""), { waitUntil: "load", timeout: 15000 });
  log("page loaded: " + await page.title());
  check(!page.url().includes("token="), "the token is taken out of the address bar");
  check(await page.evaluate(() => typeof window.uPlot === "function"), "uPlot is embedded (charts available)");

  // idle cluster from 0: the page is live and shows no workers
  await wait("the page to be live with 0 workers", () => {
    const d = window.tideDashboard;
    return d && d.polls >= 2 && document.getElementById("workers").dataset.workers === "0";
  }, null, 15000);
  let s = await page.evaluate(snapshot);
  log("idle: " + JSON.stringify(s));
  check(s.live && s.tableWorkers === 0 && s.chartLast === 0, "idle page is live and shows 0 workers");

  // the burst: the cluster must grow, and the page must show it
  log("burst: " + GRAPH);
  burst = runBurst();
  await wait(`>= ${MIN_UP} workers in the chart and the table`, (n) => {
    const d = window.tideDashboard;
    const obs = d.charts.workers.data[1];
    return Math.max(0, ...obs.filter((v) => v != null)) >= n &&
      Number(document.getElementById("workers").dataset.workers) >= n;
  }, MIN_UP, 30000);
  s = await page.evaluate(snapshot);
  log("risen: " + JSON.stringify(s));
  check(s.chartMax >= MIN_UP, `workers chart rose to ${s.chartMax} (>= ${MIN_UP})`);
  check(s.tableWorkers >= MIN_UP && s.tableRows === s.tableWorkers,
    `workers table shows ${s.tableWorkers} workers in ${s.tableRows} rows`);

  const r = await burst;
  burst = null;
  log(`burst done: exit ${r.code}`);
  check(r.code === 0, "tide run exited 0" + (r.code ? ": " + r.stderr.trim() : ""));

  // idle again: back to 0 workers, an up and a down decision in the log
  await wait("0 workers again and an up and a down decision", () => {
    const d = window.tideDashboard;
    const obs = d.charts.workers.data[1];
    return obs.length && obs[obs.length - 1] === 0 &&
      document.getElementById("workers").dataset.workers === "0" &&
      document.querySelector('#decisions tr[data-status="up"]') &&
      document.querySelector('#decisions tr[data-status="down"]');
  }, null, 30000);
  // two more polls: the charts get a flat tail at 0
  const p0 = await page.evaluate(() => window.tideDashboard.polls);
  await wait("two more polls", (p) => window.tideDashboard.polls >= p + 2, p0, 5000).catch(() => {});
  s = await page.evaluate(snapshot);
  log("fallen: " + JSON.stringify(s));
  check(s.chartMax >= MIN_UP && s.chartLast === 0, `workers chart rose to ${s.chartMax} and fell to ${s.chartLast}`);
  check(s.tableWorkers === 0 && s.tableRows === 0, "workers table back to 0 workers");
  check(s.ups >= 1 && s.downs >= 1, `decision log lists ${s.ups} up and ${s.downs} down decisions`);
  check(s.tasksMaxProcessing > 0, `tasks chart showed ${s.tasksMaxProcessing} processing`);
  check(/tide\.sleep/.test(s.streamLegend), "task stream legend names tide.sleep");
  const upText = await page.textContent('#decisions tr[data-status="up"] td:nth-child(3)');
  check(/scale to [1-9]/.test(upText || ""), `up decision reads "${(upText || "").trim()}"`);
  await page.screenshot({ path: SHOT.replace(/\.png$/, "-idle.png"), fullPage: true });

  // a second burst from 0 again; the picture is taken while it runs, so it
  // shows a rise, a fall, a rise, and a full workers table
  log("second burst");
  const before = s;
  burst = runBurst();
  await wait(`the second rise to >= ${MIN_UP} workers`, ([n, ups]) => {
    const obs = window.tideDashboard.charts.workers.data[1];
    return obs[obs.length - 1] >= n && Number(document.getElementById("workers").dataset.workers) >= n &&
      document.querySelectorAll('#decisions tr[data-status="up"]').length > ups;
  }, [MIN_UP, before.ups], 30000);
  await page.screenshot({ path: SHOT, fullPage: true });
  log("screenshot: " + SHOT);
  const r2 = await burst;
  burst = null;
  check(r2.code === 0, "second tide run exited 0" + (r2.code ? ": " + r2.stderr.trim() : ""));
  await wait("the second fall to 0 workers", (downs) => document.getElementById("workers").dataset.workers === "0" &&
    document.querySelectorAll('#decisions tr[data-status="down"]').length > downs, before.downs, 30000);
  s = await page.evaluate(snapshot);
  log("fallen again: " + JSON.stringify(s));
  check(s.ups > before.ups && s.downs > before.downs && s.chartLast === 0,
    `second burst: up and down again (${s.ups} up and ${s.downs} down decisions in all), chart back to ${s.chartLast}`);
  check(pageErrors.length === 0, "no errors in the page" + (pageErrors.length ? ": " + pageErrors.join(" | ") : ""));
  check(outside.length === 0, "no requests outside the dashboard" + (outside.length ? ": " + outside.join(" ") : ""));
} catch (e) {
  console.log("FAIL: " + (e && e.message ? e.message.split("\n")[0] : e));
  failed = true;
  try {
    const page = browser.pages()[0];
    if (page) {
      console.log("page state: " + JSON.stringify(await page.evaluate(snapshot)));
      await page.screenshot({ path: SHOT.replace(/\.png$/, "-failed.png"), fullPage: true });
    }
  } catch (_) { /* the page is gone */ }
} finally {
  if (burst) await Promise.race([burst, new Promise((r) => setTimeout(r, 1000))]);
  await browser.close();
}
log(failed ? "dashboard browser test FAILED" : "dashboard browser test passed");
process.exit(failed ? 1 : 0);
