// The strategy editor: CodeMirror 6 with Lua highlighting, line numbers, completion of the
// strategy API, lint markers for validation errors, and the code kept in local storage.
import { EditorView, basicSetup } from "codemirror";
import { Compartment } from "@codemirror/state";
import { oneDark } from "@codemirror/theme-one-dark";
import { keymap } from "@codemirror/view";
import { StreamLanguage } from "@codemirror/language";
import { lua } from "@codemirror/legacy-modes/mode/lua";
import { autocompletion } from "@codemirror/autocomplete";
import { setDiagnostics, lintGutter } from "@codemirror/lint";

const STORAGE_KEY = "cryptobt.strategy";

// The API of docs/strategy-api.md with signatures, for completion.
const API = [
  ["initialize", "function initialize()", "called once before the first bar"],
  ["on_data", "function on_data(bar)", "called with every closed bar"],
  ["buy", "buy(amount [, leverage])", "market buy; returns true or false, reason"],
  ["sell", "sell(amount [, leverage])", "market sell; returns true or false, reason"],
  ["close_position", "close_position([percentage])", "close part or all of the position"],
  ["buy_limit", "buy_limit(amount, price [, opts])", "buy when the price is ≤ price; returns an order id or false, reason"],
  ["sell_limit", "sell_limit(amount, price [, opts])", "sell when the price is ≥ price; returns an order id or false, reason"],
  ["buy_stop", "buy_stop(amount, trigger [, opts])", "stop-market buy when the price is ≥ trigger"],
  ["sell_stop", "sell_stop(amount, trigger [, opts])", "stop-market sell when the price is ≤ trigger"],
  ["cancel_order", "cancel_order(id)", "cancel a pending order; true or false, reason"],
  ["cancel_all_orders", "cancel_all_orders()", "cancel every pending order; how many"],
  ["get_open_orders", "get_open_orders()", "pending orders: {id, side, type, amount, price, leverage, reduce_only, tag}"],
  ["set_stop_loss", "set_stop_loss(price)", "close the position at ≤ price (long) / ≥ price (short); nil clears"],
  ["set_take_profit", "set_take_profit(price)", "close the position at ≥ price (long) / ≤ price (short); nil clears"],
  ["set_trailing_stop", "set_trailing_stop(distance)", "close when the price falls distance (0..1) from its peak; nil clears"],
  ["get_position_size", "get_position_size()", "signed size: long > 0, short < 0"],
  ["get_cash", "get_cash()", "free cash"],
  ["get_equity", "get_equity()", "cash + margin + unrealized PnL"],
  ["get_unrealized_pnl", "get_unrealized_pnl()", "(close − entry) × size"],
  ["get_entry_price", "get_entry_price()", "average entry, 0 when flat"],
  ["get_leverage", "get_leverage()", "effective leverage"],
  ["get_margin_ratio", "get_margin_ratio()", "equity / margin; math.huge when flat"],
  ["symbol", "symbol", "the traded symbol"],
  ["current_price", "current_price", "the bar's close"],
  ["timestamp", "timestamp", "the bar's open time (ms)"],
  ["params", "params", "the run's parameters"],
  ["log", "log(...)", "append a line to the run's log"],
  ["ta.sma", "ta.sma(n)", "simple moving average; :update(x)"],
  ["ta.ema", "ta.ema(n)", "exponential moving average; :update(x)"],
  ["ta.rsi", "ta.rsi(n)", "relative strength index; :update(x)"],
  ["ta.atr", "ta.atr(n)", "average true range; :update(high, low, close)"],
  ["ta.stddev", "ta.stddev(n)", "population standard deviation; :update(x)"],
  ["ta.macd", "ta.macd(fast, slow, signal)", "macd, signal, histogram; :update(x)"],
  ["ta.bbands", "ta.bbands(n, k)", "upper, middle, lower; :update(x)"],
  ["ta.highest", "ta.highest(n)", "highest of the last n; :update(x)"],
  ["ta.lowest", "ta.lowest(n)", "lowest of the last n; :update(x)"],
  ["bar.close", "bar.close", "the bar's close"],
  ["bar.open", "bar.open", "the bar's open"],
  ["bar.high", "bar.high", "the bar's high"],
  ["bar.low", "bar.low", "the bar's low"],
  ["bar.volume", "bar.volume", "the bar's volume"],
  ["bar.timestamp", "bar.timestamp", "the bar's open time (ms)"],
];

function completeApi(context) {
  const word = context.matchBefore(/[\w.]+/);
  if (!word || (word.from === word.to && !context.explicit)) return null;
  return {
    from: word.from,
    options: API.map(([label, detail, info]) => ({ label, detail, info, type: label.includes(".") ? "property" : "function" })),
    validFor: /^[\w.]*$/,
  };
}

const themeSlot = new Compartment();
const themeFor = (dark) => (dark ? oneDark : []);

/// What a newcomer sees first: a small strategy that trades, so that Run shows fills.
const FIRST_STRATEGY = `-- A first strategy: long while the close is above its 20-bar average.
local sma = ta.sma(20)

function on_data(bar)
  local mean = sma:update(bar.close)
  if not mean then return end
  if bar.close > mean and get_position_size() == 0 then
    buy(0.01)
  elseif bar.close < mean and get_position_size() > 0 then
    close_position()
  end
end
`;

export function createEditor(parent, { onRun, onChange }) {
  const start = localStorage.getItem(STORAGE_KEY) || FIRST_STRATEGY;
  const view = new EditorView({
    parent,
    doc: start,
    extensions: [
      keymap.of([{ key: "Mod-Enter", preventDefault: true, run: () => (onRun(), true) }]),
      basicSetup,
      themeSlot.of(themeFor(document.documentElement.dataset.theme === "dark")),
      StreamLanguage.define(lua),
      autocompletion({ override: [completeApi] }),
      lintGutter(),
      EditorView.updateListener.of((u) => {
        if (u.docChanged) {
          localStorage.setItem(STORAGE_KEY, u.state.doc.toString());
          onChange();
        }
      }),
    ],
  });
  return {
    view,
    code: () => view.state.doc.toString(),
    /// Follows the page's light or dark theme.
    setDark(dark) {
      view.dispatch({ effects: themeSlot.reconfigure(themeFor(dark)) });
    },
    setCode(text) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    },
    // Marks line `line` (1-based) with `message`; no line: clears the markers.
    mark(line, message, severity = "error") {
      if (!line) {
        view.dispatch(setDiagnostics(view.state, []));
        return;
      }
      const doc = view.state.doc;
      const l = doc.line(Math.min(Math.max(line, 1), doc.lines));
      view.dispatch(setDiagnostics(view.state, [{ from: l.from, to: Math.max(l.to, l.from + 1), severity, message }]));
    },
  };
}
