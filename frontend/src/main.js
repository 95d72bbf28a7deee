// The page: the theme and the start — the form, the result screen, the history and the sweeps,
// each a module of its own — and the links to a run or a sweep.
import { api } from "./api.js";
import { editor, initForm, readForm, restoreForm } from "./form.js";
import { initHistory, loadHistory } from "./history.js";
import { currentRun, follow, initResult, metricDefs, open, showResult } from "./result.js";
import { initSweeps, openSweep } from "./sweeps.js";
import { $, paramsText } from "./util.js";

// ---- theme --------------------------------------------------------------------------------
const savedTheme = localStorage.getItem("cryptobt.theme");
document.documentElement.dataset.theme =
  savedTheme || (window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
$("theme").addEventListener("click", () => {
  const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
  document.documentElement.dataset.theme = next;
  localStorage.setItem("cryptobt.theme", next);
  editor.setDark(next === "dark");
  if (currentRun()) showResult(currentRun());
});

// ---- start --------------------------------------------------------------------------------
async function start() {
  const [symbols, examples, metrics] = await Promise.all([api.symbols(), api.examples(), api.metrics()]);
  initResult(metrics.metrics, loadHistory);
  initForm(symbols, examples, follow);
  await initHistory(symbols.symbols);
  initSweeps({
    readForm,
    follow,
    restoreForm,
    setParams: (params) => {
      $("run-form").elements.params.value = paramsText(params).split(" ").filter(Boolean).join("\n");
    },
    metrics: metricDefs,
    code: () => editor.code(),
  });
  // A link to a sweep (`#/sweeps/{id}`) opens it.
  const sweepLink = (hash) => hash.match(/^#\/sweeps\/(sw_[0-9]{8}_[0-9]{6}_[a-z0-9]{6})$/);
  const linkedSweep = sweepLink(location.hash);
  if (linkedSweep) await openSweep(linkedSweep[1]).catch(() => {});
  window.addEventListener("hashchange", () => {
    const m = sweepLink(location.hash);
    if (m && $("sweep-result").dataset.id !== m[1]) openSweep(m[1]).catch(() => {});
  });
  // A link to a run (`#/runs/{id}`) opens it.
  const linked = location.hash.match(/^#\/runs\/(bt_[0-9]{8}_[0-9]{6}_[a-z0-9]{6})$/);
  if (linked) await open(linked[1], { restore: true }).catch(() => {});
  window.addEventListener("hashchange", () => {
    const m = location.hash.match(/^#\/runs\/(bt_[0-9]{8}_[0-9]{6}_[a-z0-9]{6})$/);
    const current = currentRun();
    if (m && (!current || current.backtest_id !== m[1])) open(m[1], { restore: true }).catch(() => {});
  });
  document.body.dataset.ready = "true";
}
start();
