// The run form and the editor: the strategy code, Check, the form's fields (only what the data
// has), the example selector, and a run's settings put back into them.
import { api, ApiError } from "./api.js";
import { createEditor } from "./editor.js";
import { $, paramsText, setOptions } from "./util.js";

let datasets = [];
let limits = {};

// ---- editor -------------------------------------------------------------------------------
let loadedExample = null;
export const editor = createEditor($("editor"), {
  onRun: () => $("run-form").requestSubmit(),
  onChange: () => {
    if (!editor) return;
    editor.mark(null);
    // The example selector names what is loaded only until the code is replaced.
    if ($("examples").value && editor.code() !== loadedExample) $("examples").value = "";
    // A Check answer is about the code it checked: it goes when the code changes.
    $("validation").textContent = "";
    $("validation").className = "note";
  },
});
window.__cryptobt = { editor };
document.addEventListener("keydown", (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key === "Enter") {
    e.preventDefault();
    $("run-form").requestSubmit();
  }
});

async function check() {
  const note = $("validation");
  try {
    const v = await api.validate(editor.code());
    if (v.valid) {
      note.textContent = "✓ the strategy loads";
      note.className = "note";
      editor.mark(null);
    } else {
      note.textContent = `${v.error_code}${v.line ? ` (line ${v.line})` : ""}: ${v.message}`;
      note.className = "note bad";
      editor.mark(v.line || 1, v.message);
    }
    return v.valid;
  } catch (e) {
    note.textContent = e.message;
    note.className = "note bad";
    return false;
  }
}
$("validate").addEventListener("click", check);

// ---- form ---------------------------------------------------------------------------------
export function updateDates(e) {
  let mode = $("f-mode").value;
  const symbol = $("f-symbol").value;
  // Only what the data has: a symbol picked in a market without it switches to one with it.
  if (!datasets.some((d) => d.trading_mode === mode && d.symbol === symbol)) {
    const other = datasets.find((d) => d.symbol === symbol);
    if (other && !(e && e.target && e.target.id === "f-mode")) {
      $("f-mode").value = other.trading_mode;
      mode = other.trading_mode;
    } else if (e && e.target && e.target.id === "f-mode") {
      const first = datasets.find((d) => d.trading_mode === mode);
      if (first) $("f-symbol").value = first.symbol;
    }
  }
  const tfs = [...new Set(datasets.filter((d) => d.trading_mode === mode && d.symbol === $("f-symbol").value).map((d) => d.timeframe))];
  setOptions($("f-timeframe"), tfs, true);
  const set = datasets.find((d) => d.trading_mode === mode && d.symbol === $("f-symbol").value && d.timeframe === $("f-timeframe").value);
  for (const id of ["f-start", "f-end"]) {
    $(id).min = set ? set.first_day : "";
    $(id).max = set ? set.last_day : "";
  }
  if (set) {
    if (!$("f-start").value || $("f-start").value < set.first_day || $("f-start").value > set.last_day) $("f-start").value = set.first_day;
    if (!$("f-end").value || $("f-end").value > set.last_day || $("f-end").value < set.first_day) $("f-end").value = set.last_day;
  }
  if (mode === "spot") $("f-leverage").value = "1";
  // More symbols: those the data has in this market and timeframe, other than the primary.
  const primary = $("f-symbol").value;
  const chosen = new Set([...$("f-more").selectedOptions].map((o) => o.value));
  const others = [...new Set(datasets.filter((d) => d.trading_mode === mode && d.timeframe === $("f-timeframe").value && d.symbol !== primary).map((d) => d.symbol))];
  $("f-more").innerHTML = others.map((s) => `<option value="${s}"${chosen.has(s) ? " selected" : ""}>${s}</option>`).join("");
}

function clearErrors() {
  document.querySelectorAll(".err").forEach((e) => (e.textContent = ""));
  document.querySelectorAll(".invalid").forEach((e) => e.classList.remove("invalid"));
}

function fieldError(field, message) {
  const slot = document.querySelector(`.err[data-for="${field}"]`) || document.querySelector('.err[data-for="form"]');
  slot.textContent = message;
  const input = document.querySelector(`[name="${field}"]`);
  if (input) input.classList.add("invalid");
}

/// The request body, or null with the bad fields flagged.
export function readForm() {
  clearErrors();
  const f = $("run-form");
  const value = (name) => f.elements[name].value.trim();
  const body = {
    strategy_code: editor.code(),
    symbol: value("symbol"),
    timeframe: value("timeframe"),
    trading_mode: value("trading_mode"),
    start_date: value("start_date"),
    end_date: value("end_date"),
    fill: value("fill"),
    intrabar: value("intrabar"),
  };
  const more = [...$("f-more").selectedOptions].map((o) => o.value);
  if (more.length) {
    body.symbols = [body.symbol, ...more];
    delete body.symbol;
  }
  let ok = true;
  const bad = (field, message) => {
    fieldError(field, message);
    ok = false;
  };
  const num = (name, { min, max, optional, minExclusive } = {}) => {
    const raw = value(name);
    if (raw === "") {
      if (!optional) bad(name, "required");
      return;
    }
    const n = Number(raw);
    if (!Number.isFinite(n)) return bad(name, "not a number");
    if (minExclusive !== undefined && n <= minExclusive) return bad(name, `must be greater than ${minExclusive}`);
    if (min !== undefined && n < min) return bad(name, `must be at least ${min}`);
    if (max !== undefined && n > max) return bad(name, `must be at most ${max}`);
    body[name] = n;
  };
  // Every range comes from the server (GET /api/data/symbols → limits), never a copy here.
  const range = (name) => {
    const r = limits[name] || {};
    const n = (v) => (v === null || v === undefined ? undefined : Number(v));
    return { min: n(r.min), minExclusive: n(r.min_exclusive), max: n(r.max) };
  };
  num("initial_capital", range("initial_capital"));
  const lev = range("max_leverage");
  num("max_leverage", body.trading_mode === "spot" ? { min: 1, max: 1 } : lev);
  num("maintenance_margin_rate", range("maintenance_margin_rate"));
  num("fee", { ...range("fee"), optional: true });
  num("maker_fee", { ...range("maker_fee"), optional: true });
  num("slippage_bps", range("slippage_bps"));
  num("funding_rate", range("funding_rate"));
  if (!body.start_date) bad("start_date", "required");
  if (!body.end_date) bad("end_date", "required");
  const start = $("f-start"), end = $("f-end");
  if (body.start_date && start.min && (body.start_date < start.min || body.start_date > start.max)) bad("start_date", `data covers ${start.min} to ${start.max}`);
  if (body.end_date && end.max && (body.end_date > end.max || body.end_date < end.min)) bad("end_date", `data covers ${end.min} to ${end.max}`);
  if (body.start_date && body.end_date && body.end_date < body.start_date) bad("end_date", "must not be before the start");
  const params = {};
  for (const line of value("params").split("\n").map((l) => l.trim()).filter(Boolean)) {
    const at = line.indexOf("=");
    if (at < 1) {
      bad("params", `"${line}" is not name=value`);
      continue;
    }
    const name = line.slice(0, at).trim();
    const raw = line.slice(at + 1).trim();
    params[name] = raw !== "" && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  }
  if (Object.keys(params).length) body.params = params;
  if (!body.strategy_code.trim()) bad("strategy_code", "the strategy is empty");
  return ok ? body : null;
}

$("f-mode").addEventListener("change", updateDates);
$("f-symbol").addEventListener("change", updateDates);
$("f-timeframe").addEventListener("change", updateDates);

/// What to do with a submitted run's id (follow it): set by `initForm`.
let onSubmitted = () => {};

$("run-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const body = readForm();
  if (!body) return;
  $("run").disabled = true;
  try {
    const answer = await api.submit(body);
    onSubmitted(answer.backtest_id);
  } catch (err) {
    if (err instanceof ApiError) {
      const field = err.body.details && err.body.details.field;
      fieldError(field || "form", err.message);
    } else {
      fieldError("form", err.message);
    }
  } finally {
    $("run").disabled = false;
  }
});

/// Puts a run's code, settings and params back into the editor and the form.
export function restoreForm(run) {
  const c = run.config;
  editor.setCode(c.strategy_code || "");
  const set = (id, v) => {
    if (v !== undefined && v !== null && $(id)) $(id).value = String(v);
  };
  set("f-mode", c.trading_mode);
  updateDates();
  set("f-symbol", c.symbol);
  updateDates();
  set("f-timeframe", c.timeframe);
  updateDates();
  const more = new Set((c.symbols || []).slice(1));
  for (const o of $("f-more").options) o.selected = more.has(o.value);
  set("f-start", c.start_date);
  set("f-end", c.end_date);
  const f = $("run-form");
  const field = (name, v) => {
    if (f.elements[name] && v !== undefined && v !== null) f.elements[name].value = String(v);
  };
  field("initial_capital", c.initial_capital);
  field("max_leverage", c.max_leverage);
  field("maintenance_margin_rate", c.maintenance_margin_rate);
  field("fee", c.fee);
  field("maker_fee", c.maker_fee);
  field("slippage_bps", c.slippage_bps);
  field("fill", c.fill);
  field("intrabar", c.intrabar || "bar");
  field("funding_rate", c.funding_rate);
  field("params", paramsText(c.params).split(" ").filter(Boolean).join("\n"));
}


/// Fills the form from the data sets (`GET /api/data/symbols`) and the example selector; a
/// submitted run's id goes to `submitted`.
export function initForm(symbols, examples, submitted) {
  onSubmitted = submitted;
  datasets = symbols.datasets;
  limits = symbols.limits || {};
  setOptions($("f-symbol"), symbols.symbols, false);
  const first = datasets.find((d) => d.timeframe === "1h") || datasets[0];
  if (first) {
    $("f-symbol").value = first.symbol;
    $("f-mode").value = first.trading_mode;
  }
  updateDates();
  if (first && [...$("f-timeframe").options].some((o) => o.value === "1h")) $("f-timeframe").value = "1h";
  updateDates();
  const select = $("examples");
  for (const ex of examples.examples) {
    const o = document.createElement("option");
    o.value = ex.name;
    o.textContent = ex.title;
    select.appendChild(o);
  }
  select.addEventListener("change", () => {
    const ex = examples.examples.find((x) => x.name === select.value);
    if (ex) {
      loadedExample = ex.code;
      editor.setCode(ex.code);
      editor.mark(null);
      const mode = /--mode futures/.test(ex.code) ? "futures" : "spot";
      $("f-mode").value = mode;
      // An example that names its symbols (`--symbol BTCUSDT,ETHUSDT`) or timeframe gets them.
      const symbols = ex.code.match(/--symbol ([A-Z0-9,]+)/);
      const timeframe = ex.code.match(/--timeframe (\w+)/);
      if (symbols) $("f-symbol").value = symbols[1].split(",")[0];
      updateDates();
      if (timeframe) {
        $("f-timeframe").value = timeframe[1];
        updateDates();
      }
      if (symbols) {
        const more = new Set(symbols[1].split(",").slice(1));
        for (const o of $("f-more").options) o.selected = more.has(o.value);
      }
      if (mode === "futures") {
        const lev = ex.code.match(/--max-leverage (\d+)/);
        if (lev) $("f-leverage").value = lev[1];
      }
    }
  });
}
