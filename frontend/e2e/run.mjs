// End-to-end flows in a real headless Chromium (Debian's package, driven by playwright-core)
// against a running cryptobt server: `node e2e/run.mjs http://127.0.0.1:PORT [screenshot-dir]`.
// Exits non-zero on the first failed check, naming it.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
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
async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    results.push(`FAIL ${name}: ${e.message}`);
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
  assert.ok(Number(await page.getAttribute("#price-chart", "data-trip-points")) >= run.round_trips_total, "trip lines");
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
});

await step("the code survives a reload", async () => {
  await page.evaluate(() => window.__cryptobt.editor.setCode("-- kept\nfunction on_data(bar) end\n"));
  // The page itself, not a run's link (a link opens its run with that run's code).
  await page.goto(base);
  await page.waitForSelector("body[data-ready=true]");
  const code = await page.evaluate(() => window.__cryptobt.editor.code());
  assert.ok(code.startsWith("-- kept"), code);
});

await step("a 390 px wide phone has no horizontal scroll", async () => {
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  await phone.goto(`${base}/`);
  await phone.waitForSelector("body[data-ready=true]");
  await phone.click(`#history tr[data-id="${id}"] .reopen`);
  await phone.waitForFunction((x) => document.getElementById("results").dataset.ready === x, id, { timeout: 20000 });
  const { scroll, client } = await phone.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
  assert.ok(scroll <= client, `scrollWidth ${scroll} > clientWidth ${client}`);
  await phone.screenshot({ path: `${shots}/mobile.png`, fullPage: true });
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

await browser.close();
console.log(results.join("\n"));
console.log(`${results.filter((r) => r.startsWith("ok")).length} passed, 0 failed`);
