// End-to-end flows in a real headless Chromium (Debian's package, driven by playwright-core)
// against a running cryptobt server: `node e2e/run.mjs http://127.0.0.1:PORT [screenshot-dir]`.
// Exits non-zero on the first failed check, naming it.
import { chromium } from "playwright-core";
import { mkdirSync, writeFileSync } from "node:fs";
import assert from "node:assert/strict";

const base = process.argv[2];
const shots = process.argv[3] || "../target/e2e-screenshots";
if (!base) throw new Error("usage: node e2e/run.mjs http://127.0.0.1:PORT [screenshot-dir]");
mkdirSync(shots, { recursive: true });
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const results = [];
const steps = [];
// A JSON report of every step for the caller to assert on (not a count in text).
function writeReport() {
  if (!process.env.E2E_REPORT) return;
  const failed = steps.filter((s) => !s.ok).length;
  writeFileSync(process.env.E2E_REPORT, JSON.stringify({ steps, passed: steps.length - failed, failed }, null, 2));
}
async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push(`ok   ${name} (${Date.now() - started} ms)`);
    steps.push({ name, ok: true, ms: Date.now() - started });
  } catch (e) {
    results.push(`FAIL ${name}: ${e.message}`);
    steps.push({ name, ok: false, ms: Date.now() - started, error: e.message });
    writeReport();
    console.log(results.join("\n"));
    await browser.close();
    process.exit(1);
  }
}

const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
const posts = [];
page.on("request", (r) => {
  if (r.method() === "POST" && r.url().endsWith("/api/backtest")) posts.push(r.url());
});
page.on("pageerror", (e) => results.push(`page error: ${e.message}`));

async function runExample(name) {
  await page.selectOption("#examples", name);
  const before = posts.length;
  const previous = await page.evaluate(() => document.getElementById("status-id").textContent);
  await page.click("#run");
  await page.waitForFunction((prev) => {
    const r = document.getElementById("results");
    const s = document.getElementById("status");
    const shown = document.getElementById("status-id").textContent;
    return shown !== prev && r && !r.hidden && r.dataset.ready === shown && s.dataset.status && !["queued", "running"].includes(s.dataset.status);
  }, previous, { timeout: 60000 });
  assert.equal(posts.length, before + 1, "one submission");
  return page.evaluate(() => document.getElementById("results").dataset.ready);
}

await step("the page loads with data sets and examples", async () => {
  await page.goto(base);
  await page.waitForSelector("body[data-ready=true]", { timeout: 20000 });
  const examples = await page.$$eval("#examples option", (o) => o.length);
  assert.ok(examples >= 8, `${examples} example options`);
  const symbols = await page.$$eval("#f-symbol option", (o) => o.map((x) => x.value));
  assert.deepEqual(symbols, ["BTCUSDT", "ETHUSDT"]);
});

let id;
await step("an example runs to completion and the page shows the API's numbers", async () => {
  id = await runExample("sma_crossover");
  const run = await (await page.request.get(`${base}/api/backtest/${id}`)).json();
  assert.equal(run.status, "completed");
  const markers = Number(await page.getAttribute("#price-chart", "data-markers"));
  assert.equal(markers, run.trades.length, "one marker per fill");
  assert.ok(markers > 0);
  const rows = Number(await page.getAttribute("#trades", "data-rows"));
  assert.equal(rows, run.trades.length, "trades table rows");
  const shown = await page.$$eval("#trades tbody tr", (r) => r.length);
  assert.equal(shown, Math.min(50, run.trades.length), "one page of the table");
  for (const [key, value] of Object.entries(run.metrics)) {
    const raw = await page.getAttribute(`[data-metric="${key}"]`, "data-raw");
    assert.equal(raw, value === null ? "" : String(value), `metric ${key}`);
    if (value === null) assert.equal(await page.textContent(`[data-metric="${key}"]`), "—", `${key} shown as —`);
  }
  // The CLI's numbers for the same run (the Rust side ran `cryptobt backtest --json`): the page,
  // the API and the CLI show the same values.
  if (process.env.CLI_RUN) {
    const cli = JSON.parse(process.env.CLI_RUN);
    assert.equal(`${run.config.start_date}..${run.config.end_date}`, cli.range, "the same range as the CLI run");
    for (const [key, value] of Object.entries(cli.metrics)) {
      const raw = await page.getAttribute(`[data-metric="${key}"]`, "data-raw");
      assert.equal(raw, value === null ? "" : String(value), `page vs CLI: ${key}`);
    }
    assert.equal(run.round_trips_total, cli.round_trips, "round trips: API vs CLI");
  }
  // Every tile carries the definition the API serves (docs/metrics.md).
  const defs = (await (await page.request.get(`${base}/api/metrics`)).json()).metrics;
  for (const m of defs) {
    assert.equal(await page.getAttribute(`[data-metric="${m.key}"]`, "data-definition"), m.definition, `definition of ${m.key}`);
  }
  // Round trips: the table, one entry-to-exit line per trip on the price chart, the CSV link.
  assert.equal(Number(await page.getAttribute("#round-trips", "data-rows")), run.round_trips_total);
  assert.ok(run.round_trips_total > 0);
  const tripPoints = Number(await page.getAttribute("#price-chart", "data-trip-points"));
  assert.ok(tripPoints >= run.round_trips_total, `trip lines: ${tripPoints} points for ${run.round_trips_total} round trips`);
  assert.match(await page.getAttribute("#trips-csv", "href"), /round_trips\.csv$/);
  assert.ok(await page.isHidden("#coverage-note"), "a completed run covers its whole range");
  await page.screenshot({ path: `${shots}/desktop-results.png`, fullPage: true });
});

await step("the round-trip table sorts by pnl", async () => {
  await page.click('#round-trips th[data-key="pnl"]');
  const column = await page.$$eval("#round-trips thead th", (h) => h.findIndex((x) => x.dataset.key === "pnl") + 1);
  const pnls = await page.$$eval(`#round-trips tbody tr td:nth-child(${column})`, (c) => c.map((x) => Number(x.textContent)));
  for (let i = 1; i < pnls.length; i++) assert.ok(pnls[i - 1] <= pnls[i], "ascending pnl");
});

await step("sorting the trades table by pnl", async () => {
  await page.click('#trades th[data-key="pnl"]');
  const column = await page.$$eval("#trades thead th", (h) => h.findIndex((x) => x.dataset.key === "pnl") + 1);
  const pnls = await page.$$eval(`#trades tbody tr td:nth-child(${column})`, (c) => c.map((x) => Number(x.textContent)));
  for (let i = 1; i < pnls.length; i++) assert.ok(pnls[i - 1] <= pnls[i], "ascending pnl");
});

await step("a futures example with liquidations shows liquidation markers", async () => {
  const liq = await runExample("liquidated_futures");
  const run = await (await page.request.get(`${base}/api/backtest/${liq}`)).json();
  assert.ok(run.metrics.liquidations >= 1);
  assert.equal(Number(await page.getAttribute("#price-chart", "data-markers")), run.trades.length);
  // Room at both ends of the whole run: a LIQ label on the first or last bar is not clipped.
  await page.waitForFunction(() => {
    const r = window.__view.charts[0].timeScale().getVisibleLogicalRange();
    return r && r.from < 0;
  }, null, { timeout: 5000 }).catch(() => {});
  const logical = await page.evaluate(() => window.__view.charts.map((c) => c.timeScale().getVisibleLogicalRange()));
  const bars = await page.evaluate(() => window.__view.view.candles.length);
  for (const r of logical) assert.ok(r.from <= -1 && r.to >= bars, `logical range ${JSON.stringify(r)} of ${bars} bars`);
});

await step("a run of two symbols: the price chart switches symbol with its own fills, the by-symbol table", async () => {
  // The example names its market, symbols and timeframe; picking it sets them in the form.
  const pairs = await runExample("pairs_spread");
  await page.selectOption("#f-more", []);
  const run = await (await page.request.get(`${base}/api/backtest/${pairs}`)).json();
  assert.equal(run.status, "completed", JSON.stringify(run.error_message));
  assert.deepEqual(run.config.symbols, ["BTCUSDT", "ETHUSDT"]);
  assert.match(await page.textContent("#result-title"), /BTCUSDT\+ETHUSDT/);
  const by = run.metrics.by_symbol;
  const rows = await page.$$eval("#by-symbol tbody tr", (r) => r.map((x) => [x.dataset.symbol, Number(x.children[1].textContent)]));
  assert.deepEqual(rows, Object.entries(by).map(([s, m]) => [s, m.round_trips]));
  assert.ok(await page.isVisible("#chart-symbol"), "the chart's symbol picker is shown");
  const csv = (await (await page.request.get(`${base}/api/backtest/${pairs}/files/trades.csv`)).text()).trim().split("\n").slice(1);
  assert.equal(csv.length, run.trades_total);
  const fillsOf = (symbol) => csv.filter((row) => row.split(",")[2] === symbol).length;
  const inView = async () => Number(await page.getAttribute("#fills-in-view", "data-in-view"));
  assert.equal(await inView(), fillsOf("BTCUSDT"), "the whole run's BTC fills");
  const range = await page.getAttribute("#view-range", "data-from");
  await page.selectOption("#chart-symbol", "ETHUSDT");
  await page.waitForFunction(() => window.__view.view && window.__view.view.symbol === "ETHUSDT", null, { timeout: 10000 });
  assert.equal(await inView(), fillsOf("ETHUSDT"), "the whole run's ETH fills");
  assert.notEqual(fillsOf("ETHUSDT"), 0);
  assert.equal(await page.getAttribute("#view-range", "data-from"), range, "the same whole-run view");
  // Buy and hold under the equity is both symbols' with equal weight, ending at the headline's.
  const bench = await page.evaluate(() => window.__view.view.benchmark);
  const initial = Number(run.config.initial_capital);
  const ends = (bench[bench.length - 1][1] / initial - 1) * 100;
  assert.ok(Math.abs(ends - run.metrics.benchmark_return) < 1e-6, `buy and hold ends at ${ends}, the metric is ${run.metrics.benchmark_return}`);
  // The candles are ETH's (about 2,500 USDT), not BTC's (about 100,000).
  const shown = await page.evaluate(() => ({ symbol: window.__view.view.symbol, close: window.__view.view.candles[0].c }));
  assert.equal(shown.symbol, "ETHUSDT");
  assert.ok(shown.close < 10000, `first candle close ${shown.close}`);
  await page.waitForTimeout(300); // let the charts paint before the screenshot
  await page.screenshot({ path: `${shots}/two-symbols.png`, fullPage: false });
});

await step("plot() guide lines: the RSI pane has its 30 and 70 levels", async () => {
  await runExample("rsi_mean_reversion");
  assert.equal(await page.getAttribute("#price-chart", "data-plot-levels"), "rsi:30/70");
});

await step("the bracket example marks its exits by order type, with the fill in the tooltip", async () => {
  await page.selectOption("#f-intrabar", "bar");
  const id = await runExample("rsi_bracket");
  const run = await (await page.request.get(`${base}/api/backtest/${id}`)).json();
  const exits = run.trades.filter((t) => t.order_type === "stop_loss" || t.order_type === "take_profit");
  assert.ok(exits.length >= 1, "the run has exits");
  const labels = await page.evaluate(() => window.__markers || []);
  assert.ok(labels.includes("SL") || labels.includes("TP"), `marker labels ${labels}`);
  const head = await page.$$eval("#trades thead th", (h) => h.map((x) => x.dataset.key));
  assert.ok(head.includes("order_type") && head.includes("tag"), "order type and tag columns");
  const tile = await page.getAttribute('[data-metric="ambiguous_bars"]', "data-raw");
  assert.equal(Number(tile), run.ambiguous_bars);
  assert.equal(await page.isHidden("#ambiguous-note"), run.ambiguous_bars === 0);
  const orderTypes = await page.$$eval("#trades tbody tr td:nth-child(3)", (c) => c.map((x) => x.textContent));
  assert.ok(orderTypes.some((t) => t === "stop_loss" || t === "take_profit"), "exit rows");
  // Round trips carry their opening fill's tag and whether a fill of theirs was ambiguous.
  const tripHead = await page.$$eval("#round-trips thead th", (h) => h.map((x) => x.dataset.key));
  assert.ok(tripHead.includes("tag") && tripHead.includes("ambiguous") && tripHead.includes("return_pct"), `${tripHead}`);
  const shownTrips = run.round_trips.slice(0, 50);
  const flagged = await page.$$eval('#round-trips td[data-ambiguous="true"]', (c) => c.length);
  assert.equal(flagged, shownTrips.filter((r) => r.ambiguous).length, "ambiguous round trips on the first page");
  assert.ok(shownTrips.every((r) => typeof r.ambiguous === "boolean"), "the API flags every round trip");
});

await step("refused orders are counted by reason on the page", async () => {
  const id = await runExample("limit_grid");
  const run = await (await page.request.get(`${base}/api/backtest/${id}`)).json();
  const reasons = Object.entries(run.rejections);
  assert.ok(reasons.length > 0, "the grid has refusals");
  const note = await page.textContent("#orders-note");
  for (const [reason, n] of reasons) assert.ok(note.includes(`${reason.replaceAll("_", " ")} ${n}`), `${reason} ${n} in "${note}"`);
  if (run.pending_at_end) assert.ok(note.includes(`${run.pending_at_end} pending order`), note);
});

await step("a runtime error shows its code and line", async () => {
  await runExample("runtime_error");
  const text = await page.textContent("#status-error");
  assert.match(text, /runtime_error \(line 12\)/);
  // Its metrics cover only the bars before the error, and the page says so.
  assert.ok(!(await page.isHidden("#coverage-note")), "coverage note shown");
  assert.match(await page.textContent("#coverage-note"), /cover only .* \(10 bars\)/);
  // Reopened with other code in the editor, the failed run brings its own code back and its
  // error is marked there, on line 12.
  const failed = await page.evaluate(() => document.getElementById("results").dataset.ready);
  await page.evaluate(() => window.__cryptobt.editor.setCode("-- other code\nfunction on_data(bar) end\n"));
  await page.click("#refresh");
  await page.waitForSelector(`#history tr[data-id="${failed}"] .reopen`);
  await page.click(`#history tr[data-id="${failed}"] .reopen`);
  await page.waitForSelector(".cm-lintRange-error", { timeout: 10000 });
  const line = await page.evaluate(() => {
    const lines = [...document.querySelectorAll(".cm-content .cm-line")];
    return lines.findIndex((l) => l.querySelector(".cm-lintRange-error")) + 1;
  });
  assert.equal(line, 12, "the error marked in the run's own code");
  assert.match(await page.evaluate(() => window.__cryptobt.editor.code()), /^-- /);
  assert.doesNotMatch(await page.evaluate(() => window.__cryptobt.editor.code()), /other code/);
});

await step("a syntax error is marked on its line", async () => {
  await page.evaluate(() => window.__cryptobt.editor.setCode("function on_data(bar)\n  local x = 1\n  if then\nend\n"));
  await page.click("#validate");
  await page.waitForSelector(".cm-lintRange-error", { timeout: 10000 });
  const line = await page.evaluate(() => {
    const lines = [...document.querySelectorAll(".cm-content .cm-line")];
    return lines.findIndex((l) => l.querySelector(".cm-lintRange-error")) + 1;
  });
  assert.equal(line, 3, "marker on line 3");
  assert.match(await page.textContent("#validation"), /syntax_error \(line 3\)/);
});

await step("an invalid form value blocks the submission", async () => {
  await page.selectOption("#examples", "never_trades");
  const before = posts.length;
  await page.fill("#f-capital", "-5");
  await page.click("#run");
  await page.waitForTimeout(300);
  assert.equal(posts.length, before, "nothing submitted");
  assert.match(await page.textContent('.err[data-for="initial_capital"]'), /greater than 0/);
  await page.fill("#f-capital", "10000");
});

await step("the API's field error is shown next to the field", async () => {
  // A parameter name the page lets through and the server refuses (names are A-Z, 0-9 and _).
  await page.fill("#f-params", "bad name=1");
  const before = posts.length;
  await page.click("#run");
  await page.waitForFunction(() => document.querySelector('.err[data-for="params"]').textContent.length > 0, null, { timeout: 10000 });
  assert.equal(posts.length, before + 1, "the server was asked");
  assert.match(await page.textContent('.err[data-for="params"]'), /invalid params "bad name"/);
  assert.ok(await page.$eval("#f-params", (e) => e.classList.contains("invalid")));
  await page.fill("#f-params", "");
});

await step("the history reopens a run", async () => {
  await page.click("#refresh");
  await page.waitForSelector(`#history tr[data-id="${id}"] .reopen`);
  await page.evaluate(() => window.__cryptobt.editor.setCode("-- something else\nfunction on_data(bar) end\n"));
  await page.click(`#history tr[data-id="${id}"] .reopen`);
  await page.waitForFunction((x) => document.getElementById("results").dataset.ready === x, id, { timeout: 20000 });
  assert.match(await page.textContent("#result-title"), new RegExp(id));
  // Its code, form and params come back.
  const run = await (await page.request.get(`${base}/api/backtest/${id}`)).json();
  assert.equal(await page.evaluate(() => window.__cryptobt.editor.code()), run.config.strategy_code, "the run's own code");
  assert.equal(await page.inputValue("#f-symbol"), run.config.symbol);
  assert.equal(await page.inputValue("#f-start"), run.config.start_date);
  assert.equal(page.url().split("#")[1], `/runs/${id}`, "the address is the run's link");
});

await step("the report downloads and opens from disk with the API's metrics", async () => {
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#report-link")]);
  const file = `${shots}/report.html`;
  await download.saveAs(file);
  const run = await (await page.request.get(`${base}/api/backtest/${id}`)).json();
  const offline = await browser.newPage({ viewport: { width: 1200, height: 900 }, offline: true });
  await offline.goto(`file://${file}`);
  for (const [key, value] of Object.entries(run.metrics)) {
    const raw = await offline.getAttribute(`[data-metric="${key}"]`, "data-raw");
    assert.equal(raw, value === null ? "" : String(value), `report metric ${key}`);
  }
  assert.ok((await offline.$$("svg.chart")).length >= 3, "price, equity and drawdown charts");
  assert.match(await offline.textContent("body"), /function on_data/, "the strategy code");
  await offline.screenshot({ path: `${shots}/report.png`, fullPage: false });
  await offline.setViewportSize({ width: 390, height: 844 });
  await offline.screenshot({ path: `${shots}/report-phone.png`, fullPage: false });
  await offline.close();
});

await step("a run's link opens it directly", async () => {
  const other = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await other.goto(`${base}/#/runs/${id}`);
  await other.waitForFunction((x) => document.getElementById("results") && document.getElementById("results").dataset.ready === x, id, { timeout: 20000 });
  assert.match(await other.textContent("#result-title"), new RegExp(id));
  await other.close();
});

await step("the history tells runs apart and filters them", async () => {
  await page.fill("#h-q", "");
  await page.click("#refresh");
  await page.waitForSelector(`#history tr[data-id="${id}"]`);
  const row = await page.textContent(`#history tr[data-id="${id}"]`);
  assert.match(row, /SMA crossover/, "the strategy's name");
  assert.match(row, /BTCUSDT/);
  assert.match(row, /%/, "its return");
  await page.fill("#h-q", "bracket");
  await page.waitForFunction(() => [...document.querySelectorAll("#history tbody .run-link")].every((a) => /bracket/i.test(a.textContent)) && document.querySelectorAll("#history tbody .run-link").length > 0, null, { timeout: 5000 });
  await page.fill("#h-q", "");
  await page.waitForFunction(() => Number(document.getElementById("history").dataset.total) > 3, null, { timeout: 5000 });
});

await step("two runs are compared", async () => {
  const boxes = await page.$$("#history .pick");
  assert.ok(boxes.length >= 2);
  await boxes[0].check();
  await boxes[1].check();
  await page.click("#compare");
  await page.waitForSelector("#comparison:not([hidden])");
  assert.equal(await page.getAttribute("#compare-chart", "data-series"), "2");
  const cols = await page.$$eval("#compare-table tr:first-child th", (t) => t.length);
  assert.equal(cols, 3, "metric + two runs");
  const labels = await page.$$eval("#compare-table th.run-label", (t) => t.map((x) => x.textContent));
  assert.ok(labels.every((l) => l.length > 0 && !/^[a-z0-9]{6}$/.test(l)), `labelled by strategy: ${labels}`);
  assert.ok((await page.$$("#compare-table td.best")).length > 0, "the better values are marked");
});

await step("the code survives a reload", async () => {
  await page.evaluate(() => window.__cryptobt.editor.setCode("-- kept\nfunction on_data(bar) end\n"));
  // The page itself, not a run's link (a link opens its run with that run's code).
  await page.goto(base);
  await page.waitForSelector("body[data-ready=true]");
  const code = await page.evaluate(() => window.__cryptobt.editor.code());
  assert.ok(code.startsWith("-- kept"), code);
});

const dayOf = (ms) => new Date(Number(ms)).toISOString().slice(0, 10);

/// The three charts show [first, last] of the run at fit; the drawdown's lowest point is the metric.
async function checkWholeRun(p, run, label) {
  const first = await p.getAttribute("#price-chart", "data-first");
  const last = await p.getAttribute("#price-chart", "data-last");
  assert.equal(dayOf(first), run.config.start_date, `${label}: first day on the price chart`);
  assert.equal(dayOf(last), run.config.end_date, `${label}: last day on the price chart`);
  const ranges = await p.evaluate(() => window.__view.charts.map((c) => c.timeScale().getVisibleRange()));
  for (const [i, r] of ranges.entries()) {
    assert.ok(r, `${label}: chart ${i} has a visible range`);
    assert.equal(dayOf(r.from * 1000), run.config.start_date, `${label}: chart ${i} starts on the first day (${JSON.stringify(ranges)}, first ${first})`);
    assert.equal(dayOf(r.to * 1000), run.config.end_date, `${label}: chart ${i} ends on the last day`);
  }
  const min = Number(await p.getAttribute("#drawdown-chart", "data-min"));
  assert.ok(Math.abs(min - run.metrics.max_drawdown) <= 1e-9 * Math.max(1, Math.abs(min)), `${label}: drawdown low ${min} vs ${run.metrics.max_drawdown}`);
  const view = await p.request.get(`${p.url().split("#")[0].replace(/\/$/, "")}/api/backtest/${run.backtest_id}/chart`, { headers: { "Accept-Encoding": "gzip" } });
  const body = await view.body();
  assert.ok(body.length < 1_000_000, `${label}: one view is ${body.length} bytes`);
}

await step("a 1m run over the whole futures range shows all of it, with its plot, on one time axis", async () => {
  await page.goto(base);
  await page.waitForSelector("body[data-ready=true]");
  await page.evaluate(() => window.__cryptobt.editor.setCode("-- SMA plotter: draws its SMA(60)\nlocal s = ta.sma(60)\nfunction on_data(bar)\n  local v = s:update(bar.close)\n  if v then plot(\"sma 60\", v) end\n  if get_position_size() == 0 then buy(0.01) elseif v and bar.close < v then close_position() end\nend\n"));
  await page.selectOption("#f-mode", "futures");
  await page.dispatchEvent("#f-mode", "change");
  await page.selectOption("#f-symbol", "BTCUSDT");
  await page.dispatchEvent("#f-symbol", "change");
  await page.selectOption("#f-timeframe", "1m");
  await page.dispatchEvent("#f-timeframe", "change");
  const previous = await page.evaluate(() => document.getElementById("status-id").textContent);
  await page.click("#run");
  await page.waitForFunction((prev) => {
    const r = document.getElementById("results");
    const shown = document.getElementById("status-id").textContent;
    return shown !== prev && r.dataset.ready === shown;
  }, previous, { timeout: 120000 });
  const runId = await page.evaluate(() => document.getElementById("results").dataset.ready);
  const run = await (await page.request.get(`${base}/api/backtest/${runId}`)).json();
  assert.equal(run.config.timeframe, "1m");
  await checkWholeRun(page, run, "futures 1m");
  // The answer leads: the headline strip sits in the first 900 px of the result, with the return.
  const headline = await page.locator("#headline").boundingBox();
  const results = await page.locator("#results").boundingBox();
  assert.ok(headline && headline.y - results.y < 900, `headline at ${headline && headline.y - results.y} px`);
  assert.equal(await page.textContent('#headline [data-headline="total_return"] dd'), `${run.metrics.total_return.toFixed(2)} %`);
  assert.equal(await page.isHidden("#open-position"), !run.open_at_end, "an open position is shown");
  // Monthly returns chain to the total return.
  const months = await page.$$eval("#monthly tbody tr td:nth-child(3)", (c) => c.map((x) => Number(x.textContent)));
  assert.ok(months.length >= 2, `months ${months}`);
  const chained = (months.reduce((p, r) => p * (1 + r / 100), 1) - 1) * 100;
  assert.ok(Math.abs(chained - run.metrics.total_return) < 0.02 * months.length, `chained ${chained} vs ${run.metrics.total_return}`);
  assert.notEqual(await page.getAttribute("#bucket-label", "data-bucket"), "1m", "aggregated at fit");
  assert.match(await page.getAttribute("#price-chart", "data-plots"), /^sma 60:price:\d+/, "the strategy's plot");
  await page.screenshot({ path: `${shots}/whole-run-1m-desktop.png`, fullPage: false });
  // At fit too, one time lines up on all three (a bucket's time).
  const fitRange = await page.evaluate(() => window.__view.charts[0].timeScale().getVisibleRange());
  const bucket = Number(await page.evaluate(() => window.__view.view.bucket_ms)) / 1000;
  const at = Math.floor((fitRange.from + fitRange.to) / 2 / bucket) * bucket;
  const fitXs = await page.evaluate((t) => window.__view.charts.map((c) => c.timeScale().timeToCoordinate(t)), at);
  assert.ok(fitXs.every((x) => x !== null && Math.abs(x - fitXs[0]) <= 2), `one time axis at fit: ${fitXs}`);
  // Zooming the price chart moves the other two and refines the candles.
  const to = run.covered.last_bar / 1000, from = to - 6 * 3600;
  await page.evaluate(([f, t]) => window.__view.charts[0].timeScale().setVisibleRange({ from: f, to: t }), [from, to]);
  await page.waitForFunction(() => ["1m", "5m"].includes(document.getElementById("bucket-label").dataset.bucket), null, { timeout: 10000 });
  const ranges = await page.evaluate(() => window.__view.charts.map((c) => c.timeScale().getVisibleRange()));
  for (const r of ranges.slice(1)) {
    assert.ok(Math.abs(r.from - ranges[0].from) <= 300 && Math.abs(r.to - ranges[0].to) <= 300, `synchronised: ${JSON.stringify(ranges)}`);
  }
  // The same time on all three charts lines up: the crosshair's x on one is the x on the others.
  const mid = Math.floor((ranges[0].from + ranges[0].to) / 2 / 300) * 300;
  const xs = await page.evaluate((t) => window.__view.charts.map((c) => c.timeScale().timeToCoordinate(t)), mid);
  assert.ok(xs.every((x) => x !== null && Math.abs(x - xs[0]) <= 2), `one time axis: ${xs}`);
  // After a zoom, the markers are exactly the fills in the view's range (whole buckets, end
  // exclusive), counted from trades.csv; "Whole run" brings the whole range back.
  const csv = await (await page.request.get(`${base}/api/backtest/${runId}/files/trades.csv`)).text();
  const stamps = csv.trim().split("\n").slice(1).map((line) => Number(line.split(",")[0]));
  assert.equal(Number(await page.textContent("#trades-total")), stamps.length, "trades-total is the fill count");
  const whole = await page.evaluate(() => ({ from: window.__view.full.range_from, to: window.__view.full.range_to }));
  assert.ok(whole.from <= run.covered.first_bar && whole.to > run.covered.last_bar, "the whole run's range covers every bar");
  const box = await page.locator("#price-chart").boundingBox();
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
  const before = await page.getAttribute("#view-range", "data-from");
  for (let k = 0; k < 6; k++) await page.mouse.wheel(0, -400);
  await page.waitForFunction((b) => document.getElementById("view-range").dataset.from !== b, before, { timeout: 10000 });
  await page.waitForTimeout(800);
  const zoomed = await page.evaluate(() => {
    const r = document.getElementById("view-range").dataset, f = document.getElementById("fills-in-view").dataset;
    return { from: Number(r.from), to: Number(r.to), inView: Number(f.inView), marked: Number(f.marked) };
  });
  await page.screenshot({ path: `${shots}/zoomed.png`, fullPage: false });
  const inRange = stamps.filter((t) => zoomed.from <= t && t < zoomed.to).length;
  assert.equal(zoomed.inView, inRange, `fills in view ${JSON.stringify(zoomed)}`);
  assert.equal(zoomed.marked, Math.min(inRange, 1000), "every fill in view marked when they fit");
  const bucketMs = await page.evaluate(() => window.__view.view.bucket_ms);
  const markerTimes = await page.evaluate(() => window.__view.markerTimes);
  const expected = [...new Set(stamps.filter((t) => zoomed.from <= t && t < zoomed.to).map((t) => Math.floor(t / bucketMs) * bucketMs / 1000))].sort((a, b) => a - b);
  if (inRange <= 1000) assert.deepEqual([...new Set(markerTimes)].sort((a, b) => a - b), expected, "each marker at its fill's bucket");
  // Zooming out again past the loaded window loads the coarser view.
  for (let k = 0; k < 3; k++) await page.mouse.wheel(0, 400);
  await page.waitForFunction((z) => Number(document.getElementById("view-range").dataset.to) - Number(document.getElementById("view-range").dataset.from) > z.to - z.from, zoomed, { timeout: 10000 });
  await page.waitForTimeout(500);
  await page.screenshot({ path: `${shots}/zoomed-out.png`, fullPage: false });
  // The trades table pages through every fill, past the first server page of 5,000.
  await page.click("#last");
  await page.waitForFunction((n) => document.getElementById("page").textContent.endsWith(`/ ${Math.ceil(n / 50)}`) && document.getElementById("page").textContent.startsWith(`${Math.ceil(n / 50)} `), stamps.length, { timeout: 10000 });
  const lastRow = await page.textContent("#trades tbody tr:last-child td:first-child");
  const lastStamp = stamps[stamps.length - 1];
  assert.ok(lastRow.includes(new Date(lastStamp).toISOString().slice(0, 16).replace("T", " ")), `the last fill ${lastRow}`);
  // Prices at the futures BTCUSDT tick (0.1), sizes at its step (0.001); the exact value is the title.
  const lastCsv = csv.trim().split("\n").at(-1).split(",");
  const [qtyCell, priceCell] = await page.$$eval("#trades tbody tr:last-child td", (tds) => [tds[3], tds[4]].map((td) => ({ text: td.textContent, title: td.title })));
  assert.deepEqual(priceCell, { text: Number(lastCsv[4]).toFixed(1), title: lastCsv[4] }, "price at the tick");
  assert.deepEqual(qtyCell, { text: Number(lastCsv[3]).toFixed(3), title: lastCsv[3] }, "size at the step");
  await page.click("#whole-run");
  await page.waitForFunction((w) => Number(document.getElementById("view-range").dataset.from) === w.from && Number(document.getElementById("view-range").dataset.to) === w.to, whole, { timeout: 10000 });
  await page.waitForTimeout(300);
  await page.screenshot({ path: `${shots}/whole-run-again.png`, fullPage: false });
  // The first Open from History after a page load shows the whole run too.
  const fresh = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await fresh.goto(`${base}/`);
  await fresh.waitForSelector(`#history tr[data-id="${runId}"] .reopen`);
  await fresh.click(`#history tr[data-id="${runId}"] .reopen`);
  await fresh.waitForFunction((x) => document.getElementById("results").dataset.ready === x && document.getElementById("view-range").dataset.from, runId, { timeout: 30000 });
  await fresh.waitForTimeout(500);
  const opened = await fresh.evaluate(() => ({ from: Number(document.getElementById("view-range").dataset.from), to: Number(document.getElementById("view-range").dataset.to) }));
  assert.ok(opened.from <= run.covered.first_bar && opened.to > run.covered.last_bar, `first Open shows the whole run: ${JSON.stringify(opened)}`);
  const visible = await fresh.evaluate(() => window.__view.charts[0].timeScale().getVisibleRange());
  assert.ok(visible.from * 1000 <= run.covered.first_bar + 86400000 && visible.to * 1000 >= run.covered.last_bar - 86400000, `the whole run is visible: ${JSON.stringify(visible)}`);
  await fresh.screenshot({ path: `${shots}/first-open.png`, fullPage: false });
  await fresh.close();
  await page.setViewportSize({ width: 390, height: 844 });
  await page.evaluate(() => window.__view.fit());
  await page.evaluate(() => document.getElementById("results").scrollIntoView());
  await page.waitForTimeout(300);
  assert.notEqual(await page.getAttribute("#bucket-label", "data-bucket"), "1m", "back to the whole run");
  await page.screenshot({ path: `${shots}/whole-run-1m-phone.png`, fullPage: false });
  await page.setViewportSize({ width: 1400, height: 1000 });
});

await step("two years of generated 1m bars show from the first day to the last", async () => {
  const big = process.env.BIG_BASE;
  assert.ok(big, "BIG_BASE is set");
  const list = await (await page.request.get(`${big}/api/backtests?q=sma%20crossover&page_size=5`)).json();
  assert.equal(list.total, 1, "the bench's run");
  const runId = list.items[0].backtest_id;
  const other = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await other.goto(`${big}/#/runs/${runId}`);
  await other.waitForFunction((x) => document.getElementById("results") && document.getElementById("results").dataset.ready === x, runId, { timeout: 120000 });
  const run = await (await other.request.get(`${big}/api/backtest/${runId}`)).json();
  assert.equal(run.covered.bars, 1051200);
  await checkWholeRun(other, run, "two years of 1m");
  await other.close();
});

await step("the history filters, sorts and pages through 10,000 runs", async () => {
  const big = process.env.BIG_BASE;
  const other = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await other.goto(big);
  await other.waitForSelector("body[data-ready=true]");
  assert.ok(Number(await other.getAttribute("#history", "data-total")) >= 10001);
  await other.fill("#h-q", "fast=4242");
  await other.waitForFunction(() => document.getElementById("history").dataset.total === "1", null, { timeout: 10000 });
  assert.match(await other.textContent("#history tbody"), /fast=4242/);
  await other.fill("#h-q", "");
  await other.waitForFunction(() => Number(document.getElementById("history").dataset.total) >= 10001, null, { timeout: 10000 });
  await other.click('#history th[data-sort="total_return"]');
  await other.waitForFunction(() => document.querySelector('#history th[data-sort="total_return"]').textContent.includes("▼"), null, { timeout: 10000 });
  const top = await other.$$eval("#history tbody tr td:nth-child(7)", (c) => c.map((x) => parseFloat(x.textContent)));
  for (let i = 1; i < top.length; i++) assert.ok(top[i - 1] >= top[i], "descending return");
  const pages = Number(await other.getAttribute("#history", "data-pages"));
  assert.ok(pages >= 500);
  await other.click("#h-next");
  await other.waitForFunction(() => document.getElementById("h-page").textContent.startsWith("2 /"), null, { timeout: 10000 });
  await other.setViewportSize({ width: 390, height: 844 });
  const wide = await other.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  assert.ok(!wide, "the history fits a 390 px phone");
  await other.close();
});

await step("the form offers only what the data has; delete can be undone; a favicon", async () => {
  await page.goto(base);
  await page.waitForSelector("body[data-ready=true]");
  await page.selectOption("#f-mode", "spot");
  await page.dispatchEvent("#f-mode", "change");
  await page.selectOption("#f-symbol", "ETHUSDT");
  await page.dispatchEvent("#f-symbol", "change");
  assert.equal(await page.inputValue("#f-mode"), "futures", "ETHUSDT switches to the market that has it");
  const tfs = await page.$$eval("#f-timeframe option", (o) => o.map((x) => x.value));
  assert.ok(tfs.length > 0 && tfs.every(Boolean), `timeframes ${tfs}`);
  assert.equal((await page.request.get(`${base}/favicon.svg`)).status(), 200);
  assert.ok(await page.$('link[rel="icon"]'));
  // Delete, then undo: the run stays.
  await page.click("#refresh");
  const first = await page.getAttribute("#history tbody tr[data-id]", "data-id");
  await page.click(`#history tr[data-id="${first}"] .delete`);
  assert.ok(!(await page.isHidden("#undo")));
  await page.click("#undo-button");
  await page.waitForTimeout(5500);
  assert.equal((await page.request.get(`${base}/api/backtest/${first}`)).status(), 200, "undone");
});

await step("a 2-parameter sweep from the form: progress, heatmap, diagnostics, walk-forward, a cell opened as a run", async () => {
  await page.goto(base);
  await page.waitForSelector("body[data-ready=true]");
  await page.selectOption("#examples", "sma_crossover");
  await page.selectOption("#f-mode", "spot");
  await page.dispatchEvent("#f-mode", "change");
  await page.selectOption("#f-symbol", "BTCUSDT");
  await page.dispatchEvent("#f-symbol", "change");
  await page.selectOption("#f-timeframe", "1h");
  await page.dispatchEvent("#f-timeframe", "change");
  await page.fill("#f-start", "2025-01-01");
  await page.fill("#f-end", "2025-01-31");
  // One row per params name the strategy reads.
  await page.click("#sweep-sync");
  const names = await page.$$eval("#sweep-grid .sp-name", (i) => i.map((x) => x.value));
  assert.deepEqual(names, ["fast", "slow", "size"], "a range per params name");
  const spec = (n) => `#sweep-grid .sweep-param:nth-child(${n}) .sp-spec`;
  await page.fill(spec(1), "5:15:5");
  await page.fill(spec(2), "20,40");
  await page.fill("#sweep-wf", "train=10d,test=5d");
  await page.fill("#sweep-blocks", "4");
  await page.click("#sweep-run");
  await page.waitForFunction(() => {
    const r = document.getElementById("sweep-result");
    return r && !r.hidden && document.querySelectorAll("#heatmap td.hm-cell").length > 0 && document.getElementById("sweep-table").dataset.rows;
  }, null, { timeout: 120000 });
  const sweepId = await page.getAttribute("#sweep-result", "data-id");
  const sweep = await (await page.request.get(`${base}/api/sweeps/${sweepId}?page_size=100`)).json();
  assert.equal(sweep.status, "completed");
  assert.equal(sweep.total_rows, 6);
  assert.equal(await page.getAttribute("#heatmap table", "data-cells"), "6", "3 × 2 cells");
  const cells = await page.$$eval("#heatmap td.hm-cell", (c) => c.map((x) => [Number(x.dataset.member), x.textContent, x.style.background]));
  for (const [member, text] of cells) {
    const row = sweep.rows.find((r) => r.index === member);
    assert.equal(text, Number(row.metrics.sharpe_ratio).toFixed(2), `cell of member ${member}`);
  }
  assert.ok(new Set(cells.map((c) => c[2])).size > 1, "the cells are coloured by their value");
  assert.match(await page.textContent('#sweep-summary [data-diag="pbo"]'), /PBO|not defined/);
  assert.match(await page.textContent('#sweep-summary [data-diag="dsr"]'), /DSR|not defined/);
  assert.equal(await page.$$eval("#wf-table tbody tr", (r) => r.length), sweep.summary.walk_forward.windows.length);
  assert.ok(await page.$("#wf-equity"), "the stitched equity is drawn");
  assert.equal(Number(await page.getAttribute("#sweep-table", "data-rows")), 6);
  assert.equal(await page.$$eval("#sweep-history tbody tr[data-id]", (r) => r.length) >= 1, true, "listed in the history");
  await page.screenshot({ path: `${shots}/sweep.png`, fullPage: true });
  // A cell opens its member as a normal run with its params.
  const [member] = cells[cells.length - 1];
  const row = sweep.rows.find((r) => r.index === member);
  await page.click(`#heatmap td[data-member="${member}"]`);
  await page.waitForFunction(() => {
    const r = document.getElementById("results");
    const s = document.getElementById("status");
    return r && !r.hidden && r.dataset.ready && r.dataset.ready === document.getElementById("status-id").textContent && s.dataset.status === "completed";
  }, null, { timeout: 60000 });
  const runId = await page.getAttribute("#results", "data-ready");
  const run = await (await page.request.get(`${base}/api/backtest/${runId}`)).json();
  assert.equal(run.config.params.fast, row.params.fast);
  assert.equal(run.config.params.slow, row.params.slow);
  assert.equal(run.metrics.sharpe_ratio, row.metrics.sharpe_ratio, "the run's Sharpe is the member's");
  // The member's params fill the Params box.
  const paramsBox = await page.inputValue('#run-form [name="params"]');
  assert.ok(paramsBox.includes(`fast=${row.params.fast}`) && paramsBox.includes(`slow=${row.params.slow}`), paramsBox);
  // The table leads with the objective and the params; the picker adds a column.
  const heads = await page.$$eval("#sweep-table thead th", (t) => t.map((x) => x.textContent.trim()));
  assert.ok(heads[1].startsWith("sharpe ratio") && heads[2] === "fast" && heads[3] === "slow", heads.join("|"));
  const before = heads.length;
  await page.click("#sweep-columns summary");
  await page.check('#sweep-columns input[value="total_fees"]');
  await page.waitForFunction((n) => document.querySelectorAll("#sweep-table thead th").length === n + 1, before);
  // The sweep's link, opened in a fresh page, restores the code, market, range and grid.
  const fresh = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await fresh.goto(`${base}/#/sweeps/${sweepId}`);
  await fresh.waitForFunction((sid) => document.getElementById("sweep-result").dataset.id === sid, sweepId, { timeout: 20000 });
  assert.equal(await fresh.inputValue("#f-start"), sweep.request.start_date);
  assert.equal(await fresh.inputValue("#f-end"), sweep.request.end_date);
  const gridNames = await fresh.$$eval("#sweep-grid .sp-name", (i) => i.map((x) => x.value));
  assert.deepEqual(gridNames, ["fast", "slow"]);
  await fresh.close();
});

await step("a 390 px wide phone has no horizontal scroll", async () => {
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  await phone.goto(`${base}/`);
  await phone.waitForSelector("body[data-ready=true]");
  await phone.click(`#history tr[data-id="${id}"] .reopen`);
  await phone.waitForFunction((x) => document.getElementById("results").dataset.ready === x, id, { timeout: 20000 });
  const { scroll, client } = await phone.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
  assert.ok(scroll <= client, `scrollWidth ${scroll} > clientWidth ${client}`);
  // The history keeps each run's return and its Open and Delete buttons inside the screen.
  for (const sel of [`#history tr[data-id="${id}"] td:nth-child(7)`, `#history tr[data-id="${id}"] .reopen`, `#history tr[data-id="${id}"] .delete`]) {
    const box = await phone.locator(sel).boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `${sel} is at ${JSON.stringify(box)} on a 390 px screen`);
  }
  await phone.screenshot({ path: `${shots}/mobile.png`, fullPage: true });
  await phone.locator("#history").screenshot({ path: `${shots}/phone-history.png` });
  await phone.locator("#round-trips").screenshot({ path: `${shots}/phone-round-trips.png` });
  await phone.close();
});

await step("dark theme", async () => {
  await page.click(`#history tr[data-id="${id}"] .reopen`);
  await page.waitForFunction((x) => document.getElementById("results").dataset.ready === x, id, { timeout: 20000 });
  await page.click("#theme");
  assert.equal(await page.getAttribute("html", "data-theme"), "dark");
  await page.waitForFunction((x) => document.getElementById("results").dataset.ready === x, id, { timeout: 20000 });
  const background = await page.$eval(".cm-editor", (e) => getComputedStyle(e).backgroundColor);
  assert.notEqual(background, "rgb(255, 255, 255)", "the editor follows the dark theme");
  await page.screenshot({ path: `${shots}/desktop-dark.png`, fullPage: true });
});

await step("Check's answer goes with the code it checked; the example selector resets on an edit; compare asks without an alert", async () => {
  await page.goto(base);
  await page.waitForSelector("body[data-ready=true]");
  let alerted = false;
  page.once("dialog", (d) => { alerted = true; d.dismiss(); });
  await page.selectOption("#examples", "sma_crossover");
  await page.click("#validate");
  await page.waitForFunction(() => document.getElementById("validation").textContent.includes("loads"));
  await page.evaluate(() => window.__cryptobt.editor.setCode(window.__cryptobt.editor.code() + "\n-- edited\n"));
  await page.waitForFunction(() => document.getElementById("validation").textContent === "");
  assert.equal(await page.inputValue("#examples"), "", "the selector no longer names the edited code");
  await page.click("#refresh");
  await page.waitForSelector("#history tr[data-id] .pick");
  await page.check("#history tr[data-id] .pick >> nth=0");
  await page.click("#compare");
  await page.waitForFunction(() => !document.getElementById("history-message").hidden);
  assert.match(await page.textContent("#history-message"), /two to five/);
  assert.equal(alerted, false, "no alert box");
  // Fills say what they did; the equity chart takes a log scale.
  await page.click("#history tr[data-id] .reopen >> nth=0");
  await page.waitForFunction(() => document.getElementById("results").dataset.ready);
  const labels = await page.$$eval("#trades tbody tr td:nth-child(2)", (c) => c.map((x) => x.textContent));
  assert.ok(labels.length > 0 && labels.every((l) => /^(buy|sell) to (open|close)$|^liquidation$/.test(l)), labels.join("|"));
  await page.check("#equity-log");
  assert.equal(await page.evaluate(() => window.__view.charts[1].priceScale("right").options().mode), 1, "log scale");
});

await browser.close();
writeReport();
console.log(results.join("\n"));
console.log(`${results.filter((r) => r.startsWith("ok")).length} passed, 0 failed`);
