// Small helpers every screen uses: the element lookup, options of a select, times, params and
// a run's symbols as text.

export const $ = (id) => document.getElementById(id);

export function setOptions(select, values, keep) {
  const old = keep ? select.value : null;
  select.innerHTML = values.map((v) => `<option value="${v}">${v}</option>`).join("");
  if (old && values.includes(old)) select.value = old;
}

export function time(ms) {
  return new Date(ms).toISOString().replace("T", " ").slice(0, 16);
}

export function paramsText(params) {
  return Object.entries(params || {}).map(([k, v]) => `${k}=${v}`).join(" ");
}

/// The run's symbols as text: `BTCUSDT` or `BTCUSDT+ETHUSDT`.
export function symbolsOf(config) {
  return (config.symbols || [config.symbol]).join("+");
}
