// The sweep panel: a range per `params` name, progress over Server-Sent Events, the sortable
// table, a heatmap over any two parameters (a cell opens that member as a normal run), the
// walk-forward windows with the stitched equity, and PBO and DSR each with how to read it.
import { api, followEvents } from "./api.js";
import { escapeHtml } from "./html.js";

const $ = (id) => document.getElementById(id);
let ctx = null; // { readForm, follow, metrics: () => METRICS, code: () => string }
let shown = null; // the sweep shown (GET /api/sweeps/{id})
let tableState = { page: 1, size: 20, sort: null, order: null };
let stopEvents = null; // stops following the sweep shown

const fmt = (v, digits = 3) => (v === null || v === undefined ? "—" : Number(v).toFixed(digits));

/// The `params` names the strategy reads (`params.fast`, `params["slow"]`), in order of use.
export function paramNames(code) {
  const names = [];
  for (const m of code.matchAll(/params\s*(?:\.\s*([A-Za-z_]\w*)|\[\s*["']([A-Za-z_]\w*)["']\s*\])/g)) {
    const name = m[1] || m[2];
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

function gridRow(name = "", spec = "") {
  const row = document.createElement("div");
  row.className = "row sweep-param";
  row.innerHTML = `<input class="sp-name" placeholder="name" aria-label="parameter name" value="${escapeHtml(name)}">
    <input class="sp-spec" placeholder="5:50:5 or 10,20,30 (empty: not swept)" aria-label="values of ${escapeHtml(name || "the parameter")}" value="${escapeHtml(spec)}">
    <button type="button" class="ghost sp-remove" title="remove">×</button>`;
  row.querySelector(".sp-remove").addEventListener("click", () => row.remove());
  return row;
}

/// One row per `params` name of the strategy (values kept for names already there).
function syncNames() {
  const box = $("sweep-grid");
  const kept = new Map([...box.querySelectorAll(".sweep-param")].map((r) => [r.querySelector(".sp-name").value.trim(), r.querySelector(".sp-spec").value]));
  box.innerHTML = "";
  const names = paramNames(ctx.code());
  for (const name of names) box.appendChild(gridRow(name, kept.get(name) || ""));
  for (const [name, spec] of kept) if (name && !names.includes(name) && spec) box.appendChild(gridRow(name, spec));
  if (!box.children.length) box.appendChild(gridRow());
}

function sweepError(message) {
  $("sweep-error").textContent = message || "";
}

async function submit() {
  sweepError("");
  const run = ctx.readForm();
  if (!run) return sweepError("fix the run settings above first");
  const grid = [...$("sweep-grid").querySelectorAll(".sweep-param")]
    .map((r) => [r.querySelector(".sp-name").value.trim(), r.querySelector(".sp-spec").value.trim()])
    .filter(([n, s]) => n && s)
    .map(([n, s]) => `${n}=${s}`);
  if (!grid.length) return sweepError("give at least one parameter its values, like 5:50:5 or 10,20,30");
  const body = { ...run, grid, objective: $("sweep-objective").value, minimize: $("sweep-minimize").checked, blocks: Number($("sweep-blocks").value || 16) };
  const wf = $("sweep-wf").value.trim();
  if (wf) body.walk_forward = wf;
  $("sweep-run").disabled = true;
  try {
    const answer = await api.sweep(body);
    followSweep(answer.sweep_id);
  } catch (e) {
    const field = e.body && e.body.details && e.body.details.field;
    sweepError(field ? `${field}: ${e.message}` : e.message);
  } finally {
    $("sweep-run").disabled = false;
  }
}

function showSweepStatus(id, status, percent, message) {
  $("sweep-status").hidden = false;
  $("sweep-status").dataset.status = status;
  $("sweep-status-text").textContent = status;
  $("sweep-status-id").textContent = id;
  $("sweep-progress").value = percent || 0;
  $("sweep-cancel").hidden = !(status === "queued" || status === "running");
  $("sweep-status-error").hidden = !message;
  $("sweep-status-error").textContent = message || "";
}

function followSweep(id) {
  if (stopEvents) stopEvents();
  showSweepStatus(id, "queued", 0);
  $("sweep-cancel").onclick = () => api.sweepCancel(id).catch(() => {});
  stopEvents = followEvents(
    api.sweepEventsUrl(id),
    (d) => showSweepStatus(id, d.status, d.progress ? d.progress.percent : 100, d.error_message),
    async () => {
      await openSweep(id).catch(() => {});
      loadSweeps();
    },
  );
}

// ---- a finished sweep ----------------------------------------------------------------------
export async function openSweep(id) {
  tableState = { page: 1, size: 20, sort: null, order: null };
  shown = await api.sweepGet(id, tableState);
  showSweepStatus(id, shown.status, shown.progress ? shown.progress.percent : 100, shown.error_message);
  $("sweep-result").hidden = false;
  $("sweep-result").dataset.id = id;
  const s = shown.summary || {};
  const best = s.best
    ? `Best: member #${s.best.index} (${Object.entries(s.best.params).map(([k, v]) => `${k}=${v}`).join(", ")}), ${s.objective} ${fmt(s.best.objective)}.`
    : "No member completed with a defined objective.";
  const pbo = s.pbo === null || s.pbo === undefined
    ? "PBO: not defined (it needs at least 2 completed members and as many days as blocks)."
    : `PBO ${fmt(s.pbo, 2)}: the share of in-sample/out-of-sample splits in which the in-sample winner ranks in the bottom half out of sample — near 0 the choice holds up, 0.5 or more it is no better than chance.`;
  const dsr = s.dsr === null || s.dsr === undefined
    ? "DSR: not defined (it needs at least 2 completed members)."
    : `DSR ${fmt(s.dsr, 2)}: the probability that the best member's Sharpe ratio is real after allowing for having tried ${s.members} combinations — below 0.95 the best result may be luck.`;
  $("sweep-summary").innerHTML = `<p>${escapeHtml(best)} ${s.completed ?? 0} of ${s.members ?? 0} members completed.</p>
    <p data-diag="pbo">${escapeHtml(pbo)}</p><p data-diag="dsr">${escapeHtml(dsr)}</p>`;
  $("sweep-files").innerHTML = ["sweep.parquet", "sweep.json", "returns.parquet"].map((n) => `<a class="ghost" download href="${api.sweepFileUrl(id, n)}">${n}</a>`).join(" ");
  const names = shown.names || [];
  const fill = (sel, values, value) => {
    sel.innerHTML = values.map((v) => `<option value="${escapeHtml(v)}">${escapeHtml(v)}</option>`).join("");
    if (value !== undefined && values.includes(value)) sel.value = value;
  };
  fill($("hm-x"), names, names[0]);
  fill($("hm-y"), names, names[1] || names[0]);
  fill($("hm-metric"), ctx.metrics().map((m) => m.key), s.objective);
  $("heatmap-controls").hidden = names.length === 0;
  await drawHeatmap();
  await renderSweepTable(shown);
  renderWalkForward(s.walk_forward);
  restoreSweepForm(shown);
  if (location.hash !== `#/sweeps/${id}`) history.replaceState(null, "", `#/sweeps/${id}`);
}

/// A sweep link restores what made the sweep: the code, market, timeframe, range and settings of
/// the run form, and the grid, objective and blocks of the sweep form.
function restoreSweepForm(sweep) {
  if (sweep.request && sweep.request.strategy_code) ctx.restoreForm({ config: sweep.request });
  const s = sweep.summary;
  if (!s) return;
  const grid = $("sweep-grid");
  grid.innerHTML = "";
  for (const g of s.grid || []) {
    const at = g.indexOf("=");
    grid.appendChild(gridRow(g.slice(0, at).trim(), g.slice(at + 1).trim()));
  }
  if ($("sweep-objective")) $("sweep-objective").value = s.objective;
  if ($("sweep-minimize")) $("sweep-minimize").checked = !!s.minimize;
  if ($("sweep-blocks")) $("sweep-blocks").value = String(s.blocks);
}

function colour(t) {
  // red (0) → amber (0.5) → green (1)
  const h = Math.round(120 * Math.max(0, Math.min(1, t)));
  return `hsl(${h}, 65%, 45%)`;
}

async function drawHeatmap() {
  const box = $("heatmap");
  const names = shown.names || [];
  if (!names.length || !shown.summary) {
    box.innerHTML = "";
    return;
  }
  const map = await api.sweepHeatmap(shown.sweep_id, { x: $("hm-x").value, y: $("hm-y").value, metric: $("hm-metric").value });
  const values = map.values.flat().filter((v) => v !== null);
  const lo = Math.min(...values), hi = Math.max(...values);
  const scale = (v) => (hi === lo ? 0.5 : (v - lo) / (hi - lo));
  const good = (v) => (map.minimize ? 1 - scale(v) : scale(v));
  let html = `<table class="heatmap" data-cells="${map.xs.length * map.ys.length}"><thead><tr><th>${escapeHtml(map.y)} \\ ${escapeHtml(map.x)}</th>${map.xs.map((x) => `<th>${escapeHtml(x)}</th>`).join("")}</tr></thead><tbody>`;
  for (let j = map.ys.length - 1; j >= 0; j--) {
    html += `<tr><th>${escapeHtml(map.ys[j])}</th>`;
    for (let i = 0; i < map.xs.length; i++) {
      const v = map.values[j][i];
      const member = map.members[j][i];
      html += v === null
        ? `<td class="hm-empty" title="no completed member">—</td>`
        : `<td class="hm-cell" data-member="${member}" style="background:${colour(good(v))}" title="${escapeHtml(map.x)}=${escapeHtml(map.xs[i])}, ${escapeHtml(map.y)}=${escapeHtml(map.ys[j])}: ${escapeHtml(map.metric)} ${fmt(v)} (member #${member}) — click to open it as a run">${fmt(v, 2)}</td>`;
    }
    html += "</tr>";
  }
  html += `</tbody></table><p class="muted small">Colour: ${escapeHtml(map.metric)} from ${fmt(lo, 2)} (red) to ${fmt(hi, 2)} (green)${map.minimize ? ", lower is better" : ""}; where other parameters vary a cell shows its best member. Click a cell to open that member as a run.</p>`;
  box.innerHTML = html;
}

async function openMember(index) {
  const answer = await api.sweepMemberRun(shown.sweep_id, index);
  // The member's params go into the Params box: Run then reruns exactly this member.
  ctx.setParams(answer.params || {});
  ctx.follow(answer.backtest_id);
}

/// The member table: `page` when it is already at hand (the sweep just opened), else fetched.
async function renderSweepTable(page = null) {
  page = page || (await api.sweepGet(shown.sweep_id, tableState));
  const names = page.names || [];
  const objective = (shown.summary && shown.summary.objective) || "sharpe_ratio";
  const picked = pickedColumns(objective);
  const metricKeys = [objective, ...ctx.metrics().map((m) => m.key).filter((k) => k !== objective && picked.has(k))];
  const keys = ["index", metricKeys[0], ...names, "status", ...metricKeys.slice(1)];
  renderColumnPicker(objective, picked);
  const head = (k) => {
    const mark = k === page.sort ? (page.order === "asc" ? " ▲" : " ▼") : "";
    return k === "status" ? `<th>status</th>` : `<th data-sort="${escapeHtml(k)}">${escapeHtml(k.replaceAll("_", " "))}${mark}</th>`;
  };
  const table = $("sweep-table");
  table.querySelector("thead").innerHTML = `<tr>${keys.map(head).join("")}</tr>`;
  table.querySelector("tbody").innerHTML = page.rows
    .map((r) => `<tr data-member="${r.index}" title="click to open member #${r.index} as a run"><td>${r.index}</td><td>${fmt(r.metrics[metricKeys[0]], 2)}</td>${names.map((n) => `<td>${escapeHtml(r.params[n] ?? "")}</td>`).join("")}<td>${r.status}${r.error_code ? ` (${r.error_code})` : ""}</td>${metricKeys.slice(1).map((k) => `<td>${fmt(r.metrics[k], 2)}</td>`).join("")}</tr>`)
    .join("");
  const pages = Math.max(1, Math.ceil(page.total_rows / tableState.size));
  $("sweep-page").textContent = `${tableState.page} / ${pages} (${page.total_rows} members)`;
  table.dataset.rows = String(page.total_rows);
  table.dataset.pages = String(pages);
  tableState.sort = page.sort;
  tableState.order = page.order;
}

function renderWalkForward(wf) {
  const box = $("walk-forward");
  box.hidden = !wf;
  if (!wf) return;
  const rows = wf.windows
    .map((w, k) => `<tr><td>${k + 1}</td><td>${w.train[0]} → ${w.train[1]}</td><td>${w.test[0]} → ${w.test[1]}</td>
      <td class="mono">${w.best ? `#${w.best.index} ${escapeHtml(Object.entries(w.best.params).map(([a, b]) => `${a}=${b}`).join(" "))}` : "—"}</td>
      <td>${fmt(w.best ? w.best.train_objective : null)}</td><td>${fmt(w.test_objective)}</td><td>${fmt(w.final_equity, 2)}</td></tr>`)
    .join("");
  const efficiency = wf.efficiency === null || wf.efficiency === undefined
    ? "Efficiency —: not defined here, because the mean in-sample objective is 0 or below (or the objective is minimised): a ratio of two losses says nothing of how well the choice carries over."
    : `Efficiency ${fmt(wf.efficiency, 2)}: the mean out-of-sample objective over the mean in-sample one — near 1 the in-sample choice carries over, near 0 or below it does not.`;
  box.innerHTML = `<h3>Walk-forward (${wf.anchored ? "anchored" : "rolling"}: train ${wf.train_days} d, test ${wf.test_days} d)</h3>
    <p data-testid="wf-efficiency">${escapeHtml(efficiency)}</p>
    ${stitchedMetrics(wf.stitched.metrics || {})}
    <div class="table-wrap"><table class="data" id="wf-table"><thead><tr><th>#</th><th>train</th><th>test</th><th>chosen</th><th>in-sample</th><th>out-of-sample</th><th>equity after</th></tr></thead><tbody>${rows}</tbody></table></div>
    ${equitySvg(wf.stitched.equity || [])}`;
}

/// The stitched out-of-sample figures (from its daily equity, and the windows' sums).
function stitchedMetrics(m) {
  const items = [
    ["Return", `${fmt(m.total_return, 2)} %`], ["Final equity", fmt(m.final_equity, 2)], ["Sharpe", fmt(m.sharpe_ratio, 2)],
    ["Sortino", fmt(m.sortino_ratio, 2)], ["Max drawdown", `${fmt(m.max_drawdown, 2)} %`], ["Volatility", `${fmt(m.volatility, 2)} %`],
    ["Trades", fmt(m.total_trades, 0)], ["Round trips", fmt(m.round_trips, 0)], ["Fees", fmt(m.total_fees, 2)],
  ];
  return `<dl class="metrics" id="wf-metrics">${items.map(([k, v]) => `<div><dt>${k} (out of sample)</dt><dd>${v}</dd></div>`).join("")}</dl>`;
}

/// The stitched out-of-sample equity as a small line (one point at each test window's ends).
function equitySvg(points) {
  if (points.length < 2) return "";
  // Axes: equity on the left (low, start, high), the first, middle and last day below.
  const w = 640, h = 160, left = 70, bottom = 22, top = 8, right = 10;
  const ys = points.map((p) => p[1]);
  const lo = Math.min(...ys), hi = Math.max(...ys);
  const x = (k) => left + (k / (points.length - 1)) * (w - left - right);
  const y = (v) => (hi === lo ? (h - bottom + top) / 2 : h - bottom - ((v - lo) / (hi - lo)) * (h - bottom - top));
  const line = points.map((p, k) => `${x(k).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" ");
  const loses = ys[ys.length - 1] < ys[0];
  const colour = loses ? "#d32f2f" : "#2e7d32";
  const yTick = (v) => `<line x1="${left - 4}" x2="${w - right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e3e6ec"/><text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" class="axis">${fmt(v, 0)}</text>`;
  const mid = Math.floor((points.length - 1) / 2);
  const xTick = (k, anchor) => `<text x="${x(k).toFixed(1)}" y="${h - 6}" text-anchor="${anchor}" class="axis">${points[k][0]}</text>`;
  return `<svg id="wf-equity" viewBox="0 0 ${w} ${h}" class="wf-equity" data-loses="${loses}" role="img" aria-label="stitched out-of-sample equity from ${fmt(ys[0], 2)} to ${fmt(ys[ys.length - 1], 2)}">${[...new Set([lo, ys[0], hi])].map(yTick).join("")}<line x1="${left}" x2="${left}" y1="${top}" y2="${h - bottom}" stroke="#99a"/><line x1="${left}" x2="${w - right}" y1="${h - bottom}" y2="${h - bottom}" stroke="#99a"/>${xTick(0, "start")}${mid > 0 ? xTick(mid, "middle") : ""}${xTick(points.length - 1, "end")}<polyline fill="none" stroke="${colour}" stroke-width="2" points="${line}"/></svg>
    <p class="muted small">Stitched out-of-sample equity: ${points[0][0]} ${fmt(ys[0], 2)} → ${points[points.length - 1][0]} ${fmt(ys[ys.length - 1], 2)}.</p>`;
}

/// The metric columns shown besides the objective (kept per browser).
const DEFAULT_COLUMNS = ["total_return", "max_drawdown", "round_trips", "win_rate"];
function pickedColumns(objective) {
  let saved = null;
  try {
    saved = JSON.parse(localStorage.getItem("cryptobt.sweepColumns") || "null");
  } catch {
    saved = null;
  }
  return new Set((Array.isArray(saved) ? saved : DEFAULT_COLUMNS).filter((k) => k !== objective));
}

/// The column picker: one checkbox per metric; the objective and the params are always shown.
function renderColumnPicker(objective, picked) {
  const box = $("sweep-columns");
  if (!box) return;
  box.innerHTML = `<summary>Columns</summary>${ctx.metrics().filter((m) => m.key !== objective).map((m) => `<label><input type="checkbox" value="${m.key}"${picked.has(m.key) ? " checked" : ""}> ${escapeHtml(m.label)}</label>`).join("")}`;
}

// ---- the list of sweeps in the history ------------------------------------------------------
export async function loadSweeps() {
  const list = await api.sweeps();
  const body = $("sweep-history").querySelector("tbody");
  body.innerHTML = list.sweeps
    .map((s) => `<tr data-id="${s.sweep_id}"><td><a href="#/sweeps/${s.sweep_id}" title="${s.sweep_id}">${escapeHtml(s.name)}</a></td>
      <td>${s.trading_mode} ${s.symbol} ${s.timeframe}</td><td>${s.start_date} → ${s.end_date}</td><td>${s.members}</td>
      <td>${s.status}</td><td>${s.best && s.best.objective !== undefined ? `${escapeHtml(s.objective)} ${fmt(s.best.objective, 2)}` : "—"}</td>
      <td>${fmt(s.pbo, 2)}</td><td>${fmt(s.dsr, 2)}</td><td>${s.created_at.replace("T", " ").slice(0, 16)}</td>
      <td><button type="button" class="ghost sw-open">Open</button> <button type="button" class="ghost sw-delete">Delete</button></td></tr>`)
    .join("") || `<tr><td colspan="10">No sweeps yet.</td></tr>`;
  $("sweep-history").dataset.count = String(list.sweeps.length);
}

export function initSweeps(context) {
  ctx = context;
  $("sweep-sync").addEventListener("click", syncNames);
  $("sweep-add").addEventListener("click", () => $("sweep-grid").appendChild(gridRow()));
  $("sweep-run").addEventListener("click", submit);
  const objective = $("sweep-objective");
  objective.innerHTML = ctx.metrics().map((m) => `<option value="${m.key}">${escapeHtml(m.label)}</option>`).join("");
  objective.value = "sharpe_ratio";
  for (const id of ["hm-x", "hm-y", "hm-metric"]) $(id).addEventListener("change", () => drawHeatmap());
  $("heatmap").addEventListener("click", (e) => {
    const cell = e.target.closest("td[data-member]");
    if (cell) openMember(Number(cell.dataset.member));
  });
  $("sweep-table").querySelector("thead").addEventListener("click", (e) => {
    const th = e.target.closest("th[data-sort]");
    if (!th) return;
    const key = th.dataset.sort;
    tableState = { ...tableState, page: 1, sort: key, order: tableState.sort === key && tableState.order === "desc" ? "asc" : "desc" };
    renderSweepTable();
  });
  $("sweep-table").querySelector("tbody").addEventListener("click", (e) => {
    const row = e.target.closest("tr[data-member]");
    if (row) openMember(Number(row.dataset.member));
  });
  const columns = $("sweep-columns");
  if (columns) {
    columns.addEventListener("change", () => {
      const keys = [...columns.querySelectorAll("input:checked")].map((i) => i.value);
      localStorage.setItem("cryptobt.sweepColumns", JSON.stringify(keys));
      renderSweepTable();
    });
  }
  $("sweep-prev").addEventListener("click", () => { tableState.page = Math.max(1, tableState.page - 1); renderSweepTable(); });
  $("sweep-next").addEventListener("click", () => {
    tableState.page = Math.min(Number($("sweep-table").dataset.pages || 1), tableState.page + 1);
    renderSweepTable();
  });
  $("sweep-history").addEventListener("click", async (e) => {
    const row = e.target.closest("tr[data-id]");
    if (!row) return;
    if (e.target.classList.contains("sw-open")) await openSweep(row.dataset.id);
    if (e.target.classList.contains("sw-delete")) {
      await api.sweepDelete(row.dataset.id).catch((err) => {
        $("sweep-status").hidden = false;
        $("sweep-status-error").hidden = false;
        $("sweep-status-error").textContent = err.message;
      });
      if (shown && shown.sweep_id === row.dataset.id) $("sweep-result").hidden = true;
      await loadSweeps();
    }
  });
  syncNames();
  loadSweeps();
}
