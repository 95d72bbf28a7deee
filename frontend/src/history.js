// The history: runs filtered, sorted and paged by the server, reopened, deleted (with undo) and
// compared.
import { api } from "./api.js";
import { Charts } from "./charts.js";
import { escapeHtml } from "./html.js";
import { formatMetric, metricDefs, open } from "./result.js";
import { $, paramsText, setOptions, symbolsOf } from "./util.js";

let compareCharts = new Charts();

// ---- history ------------------------------------------------------------------------------
// The history: filtered, sorted and paged by the server (GET /api/backtests).
const HISTORY_COLUMNS = [
  ["name", "strategy"], ["symbol", "market"], ["range", "range", false], ["params", "params", false],
  ["status", "status"], ["total_return", "return"], ["sharpe_ratio", "Sharpe"], ["created_at", "created"],
];
let historyState = { page: 1, size: 20, sort: "created_at", order: "desc" };
let undoTimer = null;

export function runLabel(r) {
  const params = paramsText(r.config ? r.config.params : r.params);
  const name = r.name || (r.config && r.config.name) || r.backtest_id.slice(-6);
  return params ? `${name} (${params})` : name;
}

export async function loadHistory() {
  const q = {
    ...historyState,
    q: $("h-q").value.trim() || undefined,
    status: $("h-status").value || undefined,
    symbol: $("h-symbol").value || undefined,
  };
  const list = await api.history(q);
  const { sort, order } = historyState;
  $("history").querySelector("thead").innerHTML =
    "<tr><th></th>" +
    HISTORY_COLUMNS.map(([key, label, sortable]) => sortable === false ? `<th>${label}</th>` : `<th data-sort="${key}">${label}${key === sort ? (order === "asc" ? " ▲" : " ▼") : ""}</th>`).join("") +
    "<th></th></tr>";
  const body = $("history").querySelector("tbody");
  const pct = (v) => (v === null || v === undefined ? "—" : `${Number(v).toFixed(2)} %`);
  const num = (v) => (v === null || v === undefined ? "—" : Number(v).toFixed(2));
  body.innerHTML = list.items
    .map(
      (r) => `<tr data-id="${r.backtest_id}"><td><input type="checkbox" class="pick" aria-label="compare ${r.backtest_id}"${picked.has(r.backtest_id) ? " checked" : ""}></td>
        <td><a href="#/runs/${r.backtest_id}" class="run-link" title="${r.backtest_id}">${escapeHtml(r.name || "untitled")}</a></td>
        <td>${r.trading_mode} ${symbolsOf(r)} ${r.timeframe}</td><td>${r.start_date} → ${r.end_date}</td>
        <td class="mono">${escapeHtml(paramsText(r.params))}</td>
        <td>${r.status}${r.error_code ? ` (${r.error_code})` : ""}</td>
        <td class="${Number(r.total_return) > 0 ? "pos" : Number(r.total_return) < 0 ? "neg" : ""}">${pct(r.total_return)}</td><td>${num(r.sharpe_ratio)}</td>
        <td>${r.created_at.replace("T", " ").slice(0, 16)}</td>
        <td><button type="button" class="ghost reopen">Open</button> <button type="button" class="ghost delete">Delete</button></td></tr>`,
    )
    .join("") || `<tr><td colspan="10">${list.total === 0 && !q.q && !q.status && !q.symbol ? "No runs yet." : "No run matches."}</td></tr>`;
  const pages = Math.max(1, Math.ceil(list.total / historyState.size));
  $("h-page").textContent = `${historyState.page} / ${pages} (${list.total} runs)`;
  $("history").dataset.count = String(list.items.length);
  $("history").dataset.total = String(list.total);
  $("history").dataset.pages = String(pages);
}
$("history").querySelector("thead").addEventListener("click", (e) => {
  const th = e.target.closest("th");
  if (!th || !th.dataset.sort) return;
  const key = th.dataset.sort;
  historyState = { ...historyState, page: 1, sort: key, order: historyState.sort === key && historyState.order === "desc" ? "asc" : "desc" };
  loadHistory();
});
let filterTimer = null;
for (const id of ["h-q", "h-status", "h-symbol"]) {
  $(id).addEventListener("input", () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => { historyState.page = 1; loadHistory(); }, 200);
  });
}
$("h-prev").addEventListener("click", () => { historyState.page = Math.max(1, historyState.page - 1); loadHistory(); });
$("h-next").addEventListener("click", () => {
  const pages = Number($("history").dataset.pages || 1);
  historyState.page = Math.min(pages, historyState.page + 1);
  loadHistory();
});
$("history").addEventListener("click", async (e) => {
  const row = e.target.closest("tr");
  if (!row || !row.dataset.id) return;
  if (e.target.classList.contains("reopen")) await open(row.dataset.id, { restore: true });
  if (e.target.classList.contains("delete")) {
    // Deleted after a few seconds unless undone: the row is hidden at once.
    const id = row.dataset.id;
    row.hidden = true;
    clearTimeout(undoTimer);
    $("undo").hidden = false;
    $("undo").dataset.id = id;
    undoTimer = setTimeout(async () => {
      $("undo").hidden = true;
      await api.remove(id).catch((err) => historyMessage(err.message));
      await loadHistory();
    }, 5000);
  }
});
$("undo-button").addEventListener("click", () => {
  clearTimeout(undoTimer);
  $("undo").hidden = true;
  const row = document.querySelector(`#history tr[data-id="${$("undo").dataset.id}"]`);
  if (row) row.hidden = false;
});
$("refresh").addEventListener("click", loadHistory);

/// Runs picked for a comparison, kept across filtering, sorting and paging of the history.
const picked = new Set();
$("history").addEventListener("change", (e) => {
  const box = e.target.closest(".pick");
  if (!box) return;
  const id = box.closest("tr").dataset.id;
  if (box.checked) picked.add(id);
  else picked.delete(id);
});

/// A message under the history (no alert box): what a compare or a delete needs or what failed.
function historyMessage(text) {
  $("history-message").textContent = text;
  $("history-message").hidden = !text;
}
$("compare").addEventListener("click", async () => {
  const ids = [...picked];
  if (ids.length < 2 || ids.length > 5) return historyMessage("Select two to five runs to compare.");
  historyMessage("");
  const names = new Map([...document.querySelectorAll("#history .pick:checked")].map((c) => {
    const tr = c.closest("tr");
    return [tr.dataset.id, tr.querySelector(".run-link").textContent];
  }));
  const runs = await Promise.all(ids.map((id) => api.get(id)));
  for (const r of runs) r.name = names.get(r.backtest_id);
  $("comparison").hidden = false;
  compareCharts.clear();
  compareCharts = new Charts();
  compareCharts.compare($("compare-chart"), runs.map((r) => ({ ...r, label: runLabel(r) })));
  // The better value of each metric is marked (higher is better but for drawdowns, fees, losses).
  const lowerIsBetter = new Set(["max_drawdown_duration_days", "volatility", "annualized_volatility", "total_fees", "liquidations", "liquidation_losses", "max_consecutive_losses", "ambiguous_bars"]);
  const neutral = new Set(["total_trades", "round_trips", "avg_bars_held", "exposure", "avg_leverage", "max_leverage", "benchmark_return", "final_equity"]);
  $("compare-table").innerHTML =
    `<tr><th>metric</th>${runs.map((r) => `<th class="run-label">${escapeHtml(runLabel(r))}<br><span class="muted small">${escapeHtml(`${r.config.trading_mode} ${symbolsOf(r.config)} ${r.config.timeframe} · ${r.config.start_date} → ${r.config.end_date}`)}</span></th>`).join("")}</tr>` +
    metricDefs().map((m) => {
      const values = runs.map((r) => (r.metrics ? r.metrics[m.key] : null));
      const numbers = values.filter((v) => v !== null && v !== undefined).map(Number);
      let best = null;
      if (numbers.length > 1 && !neutral.has(m.key)) best = lowerIsBetter.has(m.key) ? Math.min(...numbers) : Math.max(...numbers);
      return `<tr><td title="${escapeHtml(m.definition)}">${m.label}</td>${values.map((v) => `<td${best !== null && v !== null && Number(v) === best ? ' class="best" data-best="true"' : ""}>${formatMetric(v, m.unit)}</td>`).join("")}</tr>`;
    }).join("");
});


/// Offers the data's symbols as a filter and lists the runs.
export async function initHistory(symbols) {
  setOptions($("h-symbol"), ["", ...symbols], false);
  $("h-symbol").options[0].textContent = "any symbol";
  await loadHistory();
}
