// Charts with TradingView's lightweight-charts: candles with fill markers, equity against the
// buy-and-hold benchmark, drawdown, and equity curves of several runs compared.
import { createChart, CandlestickSeries, BarSeries, LineSeries, AreaSeries, createSeriesMarkers, ColorType } from "lightweight-charts";

const COLORS = ["#2962ff", "#e91e63", "#00897b", "#ff9800", "#8e24aa", "#546e7a"];

function theme() {
  const dark = document.documentElement.dataset.theme === "dark";
  return {
    layout: { background: { type: ColorType.Solid, color: dark ? "#161a23" : "#ffffff" }, textColor: dark ? "#d1d4dc" : "#1f2430" },
    grid: { vertLines: { color: dark ? "#242a38" : "#eef0f4" }, horzLines: { color: dark ? "#242a38" : "#eef0f4" } },
  };
}

const seconds = (ms) => Math.floor(ms / 1000);

/// Marker colour and label by order type (market fills keep the buy/sell colours).
export const ORDER_STYLE = {
  market: { color: "#26a69a", label: "" },
  limit: { color: "#42a5f5", label: "L" },
  stop: { color: "#ab47bc", label: "S" },
  stop_loss: { color: "#ef5350", label: "SL" },
  take_profit: { color: "#66bb6a", label: "TP" },
  trailing_stop: { color: "#ffa726", label: "TS" },
  liquidation: { color: "#ff9800", label: "LIQ" },
};

/// The time axis of every chart. An hour label ("12:00") is shown only while the view spans less
/// than two days: in a view of weeks it would stand between two dates as if it were one.
function timeAxis(chartOf) {
  return {
    timeVisible: true,
    secondsVisible: false,
    minBarSpacing: 0.001,
    tickMarkFormatter: (time, type) => {
      if (type < 3) return null; // year, month, day: the library's own labels
      const range = chartOf()?.timeScale().getVisibleRange();
      if (range && Number(range.to) - Number(range.from) >= 2 * 86400) return "";
      return null;
    },
  };
}

export class Charts {
  constructor() {
    this.charts = [];
  }

  clear() {
    for (const c of this.charts) c.remove();
    this.charts = [];
  }

  make(el) {
    let chart = null;
    chart = createChart(el, { autoSize: true, ...theme(), timeScale: timeAxis(() => chart) });
    this.charts.push(chart);
    return chart;
  }

  /// Equity curves of several runs, each as a percentage of its own capital.
  compare(el, runs) {
    const chart = this.make(el);
    runs.forEach((run, i) => {
      const initial = Number(run.config.initial_capital);
      const s = chart.addSeries(LineSeries, { color: COLORS[i % COLORS.length], lineWidth: 2, title: run.label || run.backtest_id.slice(-6) });
      s.setData(run.portfolio_history.map((r) => ({ time: seconds(r.timestamp), value: (Number(r.portfolio_value) / initial - 1) * 100 })));
    });
    el.dataset.series = String(runs.length);
    chart.timeScale().fitContent();
  }
}

/// The three charts of one run — price, equity (with buy & hold), drawdown — on one time axis,
/// fed by the server's views (`GET /api/backtest/{id}/chart`): at fit the whole run in coarse
/// buckets, refined as the user zooms in. Zoom, pan and crosshair move all three together.
/// Bars of empty room left at each end of the whole-run view.
const EDGE_BARS = 2;
/// How long after a fit the charts' own range reports are not taken for the user's moves.
const FIT_ECHO_MS = 250;

export class RunView {
  constructor(els, fetchView, { initial, onView } = {}) {
    this.els = els;
    this.fetchView = fetchView;
    this.initial = initial;
    this.onView = onView || (() => {});
    this.charts = [els.price, els.equity, els.drawdown].map((el) => {
      el.innerHTML = "";
      // A bar may get thinner than a pixel: "fit" then shows every point of the view, however many.
      let chart = null;
      chart = createChart(el, { autoSize: true, ...theme(), timeScale: timeAxis(() => chart), rightPriceScale: { minimumWidth: 80 } });
      return chart;
    });
    const [price, equity, drawdown] = this.charts;
    this.candles = price.addSeries(CandlestickSeries, { upColor: "#26a69a", downColor: "#ef5350", borderVisible: false, wickUpColor: "#26a69a", wickDownColor: "#ef5350" });
    this.markers = createSeriesMarkers(this.candles, []);
    this.trips = [0, 1, 2].map(() => price.addSeries(LineSeries, { lineWidth: 2, lineStyle: 2, priceLineVisible: false, lastValueVisible: false, crosshairMarkerVisible: false }));
    this.equity = equity.addSeries(LineSeries, { color: COLORS[0], lineWidth: 2, title: "equity" });
    // Aggregated views: each bucket's equity range (first, highest, lowest, last) as a bar.
    this.equityRange = equity.addSeries(BarSeries, { upColor: COLORS[0], downColor: COLORS[0], thinBars: true, priceLineVisible: false, lastValueVisible: false });
    this.bench = equity.addSeries(LineSeries, { color: "#9e9e9e", lineWidth: 1, title: "buy & hold" });
    this.drawdown = drawdown.addSeries(AreaSeries, { lineColor: "#ef5350", topColor: "rgba(239,83,80,0.05)", bottomColor: "rgba(239,83,80,0.4)", title: "drawdown %" });
    this.main = [this.candles, this.equity, this.drawdown];
    this.syncing = false;
    this.charts.forEach((chart, i) => {
      chart.timeScale().subscribeVisibleTimeRangeChange((range) => this.moved(i, range));
      chart.subscribeCrosshairMove((param) => this.crosshair(i, param));
    });
    // The price chart's logical range also reaches past its data (zooming out beyond the loaded
    // window): the range asked for is read from it, so zoom works both ways.
    price.timeScale().subscribeVisibleLogicalRangeChange((logical) => this.logical(logical));
    els.price.addEventListener("dblclick", () => this.fit());
    // A box that gets its size after the data (a result opened while hidden, a resized window)
    // keeps the whole run in view until the user zooms.
    this.resize = new ResizeObserver(() => {
      if (this.full && this.view === this.full && !this.lastWanted) this.fit();
    });
    this.resize.observe(els.price);
    this.pending = null;
    this.view = null;
    this.seq = 0;
  }

  /// Loads the whole run and fits it.
  /// About one candle per pixel of the price chart.
  points() {
    return Math.max(200, Math.min(3000, Math.round(this.els.price.clientWidth || 1000)));
  }

  async load() {
    const view = await this.fetchView({ points: this.points() });
    this.full = view;
    // Setting the data moves the charts (to their default spacing): not a zoom.
    this.fittedAt = performance.now();
    this.syncing = true;
    try {
      this.show(view);
    } finally {
      this.syncing = false;
    }
    this.fit();
    // Once laid out (a chart opened while its box was still hidden has no width yet), fit again:
    // Open always shows the whole run.
    requestAnimationFrame(() => this.fit());
    return view;
  }

  /// The whole run on all three charts (back to the whole-run view when zoomed in).
  fit() {
    this.seq += 1; // an answer still in flight for a zoom must not replace the whole run
    clearTimeout(this.pending);
    this.syncing = true;
    if (this.full && this.view !== this.full) this.show(this.full);
    // Every point of each chart, with two bars of room at each end so that a marker on the
    // first or the last bar (a LIQ label is wider than its bar) is drawn whole. (The library's
    // fitContent applies a frame later, so the range is set here directly.)
    this.charts.forEach((chart, i) => {
      const n = this.main[i].data().length;
      if (n > 0) chart.timeScale().setVisibleLogicalRange({ from: -EDGE_BARS, to: n - 1 + EDGE_BARS });
      else chart.timeScale().fitContent();
    });
    this.lastWanted = null;
    this.fittedAt = performance.now();
    this.syncing = false;
  }

  show(view) {
    this.view = view;
    const t = (ms) => seconds(ms);
    this.candles.setData(view.candles.map((c) => ({ time: t(c.t), open: c.o, high: c.h, low: c.l, close: c.c })));
    // On the candles' time axis: when aggregated, one value per bucket — the equity's last with
    // its range drawn as a bar, the drawdown's lowest (so the chart's low is the metric).
    const perBucket = (points, pick) => {
      const out = [];
      for (const [ms, v] of points) {
        const time = t(Math.floor(ms / view.bucket_ms) * view.bucket_ms);
        const last = out[out.length - 1];
        if (last && last.time === time) pick(last, v);
        else out.push({ time, open: v, high: v, low: v, close: v, value: v });
      }
      return out;
    };
    if (view.aggregated) {
      const eq = perBucket(view.equity, (b, v) => {
        b.high = Math.max(b.high, v);
        b.low = Math.min(b.low, v);
        b.close = v;
        b.value = v;
      });
      this.equity.setData(eq.map((b) => ({ time: b.time, value: b.close })));
      this.equityRange.setData(eq.map((b) => ({ time: b.time, open: b.open, high: b.high, low: b.low, close: b.close })));
    } else {
      this.equity.setData(view.equity.map(([ms, v]) => ({ time: t(ms), value: v })));
      this.equityRange.setData([]);
    }
    // A run of several symbols: the server's equal-weight buy and hold of all of them; one
    // symbol: from its candles.
    const base = view.benchmark_base;
    if (view.benchmark) this.bench.setData(view.benchmark.map(([ms, v]) => ({ time: t(ms), value: v })));
    else this.bench.setData(base ? view.candles.map((c) => ({ time: t(c.t), value: (this.initial * c.c) / base })) : []);
    this.drawdown.setData(
      view.aggregated
        ? perBucket(view.drawdown, (b, v) => { b.value = Math.min(b.value, v); }).map((b) => ({ time: b.time, value: b.value }))
        : view.drawdown.map(([ms, v]) => ({ time: t(ms), value: v })),
    );
    const markers = view.fills.map((f) => {
      const type = f.order_type || (f.action === "liquidation" ? "liquidation" : "market");
      const style = ORDER_STYLE[type] || ORDER_STYLE.market;
      const at = Math.floor(f.timestamp / view.bucket_ms) * view.bucket_ms;
      return {
        time: t(at),
        position: f.action === "buy" ? "belowBar" : "aboveBar",
        color: type === "market" ? (f.action === "buy" ? "#26a69a" : "#ef5350") : style.color,
        shape: type === "liquidation" ? "circle" : ["market", "limit", "stop"].includes(type) ? (f.action === "buy" ? "arrowUp" : "arrowDown") : "square",
        text: style.label + (f.ambiguous ? "?" : ""),
      };
    }).sort((a, b) => a.time - b.time);
    this.markers.setMarkers(markers);
    this.markerTimes = markers.map((m) => m.time);
    window.__markers = [...new Set(markers.map((m) => m.text).filter(Boolean))];
    this.byTime = new Map();
    for (const f of view.fills) {
      const key = t(Math.floor(f.timestamp / view.bucket_ms) * view.bucket_ms);
      if (!this.byTime.has(key)) this.byTime.set(key, []);
      this.byTime.get(key).push(f);
    }
    this.drawTrips(view);
    this.drawPlots(view);
    const els = this.els;
    els.price.dataset.markers = String(markers.length);
    els.price.dataset.fillsTotal = String(view.fills_total);
    els.price.dataset.bucket = view.bucket;
    els.price.dataset.first = String(view.candles.length ? view.candles[0].t : "");
    els.price.dataset.last = String(view.candles.length ? view.candles[view.candles.length - 1].t : "");
    els.equity.dataset.points = String(view.equity.length);
    els.drawdown.dataset.min = String(view.drawdown.reduce((m, [, v]) => Math.min(m, v), 0));
    els.drawdown.dataset.points = String(view.drawdown.length);
    this.onView(view);
  }

  /// The strategy's own series: over the price, or each in a pane of its own under it.
  drawPlots(view) {
    const price = this.charts[0];
    for (const s of this.plotSeries || []) price.removeSeries(s);
    this.plotSeries = [];
    let pane = 0;
    (view.plots || []).forEach((p, i) => {
      const index = p.pane === "own" ? ++pane : 0;
      const s = price.addSeries(LineSeries, { color: COLORS[(i + 1) % COLORS.length], lineWidth: 1, title: p.name, priceLineVisible: false }, index);
      // On the candles' time scale: one value per bucket (its last), at the bucket's time.
      const points = [];
      for (const [ms, v] of p.points) {
        const time = seconds(Math.floor(ms / view.bucket_ms) * view.bucket_ms);
        if (points.length && points[points.length - 1].time === time) points[points.length - 1].value = v;
        else points.push({ time, value: v });
      }
      s.setData(points);
      // `opts.levels`: guide lines across the series' pane (RSI's 30 and 70).
      for (const level of p.levels || []) {
        s.createPriceLine({ price: level, color: "#9e9e9e", lineWidth: 1, lineStyle: 2, axisLabelVisible: true, title: "" });
      }
      this.plotSeries.push(s);
    });
    this.els.price.dataset.plots = (view.plots || []).map((p) => `${p.name}:${p.pane}:${p.points.length}`).join(",");
    this.els.price.dataset.plotLevels = (view.plots || []).map((p) => `${p.name}:${(p.levels || []).join("/")}`).join(",");
  }

  drawTrips(view) {
    const lanes = [[], [], []];
    const times = view.candles.map((c) => seconds(c.t));
    const snap = (ms) => seconds(Math.floor(ms / view.bucket_ms) * view.bucket_ms);
    const after = (t) => times.find((x) => x > t);
    view.round_trips.forEach((r, i) => {
      const lane = lanes[i % lanes.length];
      const entry = snap(r.entry_time), exit = snap(r.exit_time);
      const last = lane.length ? lane[lane.length - 1].time : -Infinity;
      if (entry <= last || exit < entry) return;
      const color = Number(r.pnl) > 0 ? "#26a69a" : "#ef5350";
      lane.push({ time: entry, value: Number(r.entry_price), color });
      if (exit > entry) lane.push({ time: exit, value: Number(r.exit_price), color });
      const gap = after(exit);
      if (gap !== undefined) lane.push({ time: gap });
    });
    let drawn = 0;
    lanes.forEach((lane, i) => {
      this.trips[i].setData(lane);
      drawn += lane.filter((p) => p.value !== undefined).length;
    });
    this.els.price.dataset.tripPoints = String(drawn);
  }

  /// Whether a range change is the charts settling after a fit (they report it a frame later),
  /// not a zoom or pan of the user's.
  echoOfFit() {
    return performance.now() - (this.fittedAt || 0) < FIT_ECHO_MS;
  }

  /// One chart moved: move the others to the same time range, and ask for a finer (or coarser)
  /// view of it once the user stops.
  moved(i, range) {
    if (!range || this.syncing || this.echoOfFit()) return;
    const same = (a, b) => a && b && Math.abs(a.from - b.from) < 1 && Math.abs(a.to - b.to) < 1;
    if (same(range, this.lastRange)) return;
    this.lastRange = range;
    this.syncing = true;
    this.charts.forEach((chart, j) => {
      if (j !== i) {
        try {
          chart.timeScale().setVisibleRange(range);
        } catch {
          /* a chart without data yet */
        }
      }
    });
    this.syncing = false;
    // The price chart's own moves are read from its logical range (below); the others' here.
    if (i !== 0) this.schedule(Math.floor(range.from * 1000), Math.ceil(range.to * 1000));
  }

  /// The price chart moved: the time range it shows, also past the loaded data.
  logical(logical) {
    if (!logical || this.syncing || this.echoOfFit() || !this.view || !this.view.candles.length) return;
    const first = this.view.candles[0].t, ms = this.view.bucket_ms;
    this.schedule(first + Math.floor(logical.from) * ms, first + Math.ceil(logical.to) * ms);
  }

  /// Asks for the view of `[from, to]` (ms) once the user stops moving.
  schedule(from, to) {
    if (this.full && this.view === this.full && from <= this.full.first_bar && to >= this.full.last_bar) {
      clearTimeout(this.pending); // the whole run is what is shown
      return;
    }
    const wanted = this.lastWanted;
    if (wanted && Math.abs(wanted.from - from) < 1000 && Math.abs(wanted.to - to) < 1000) return;
    clearTimeout(this.pending);
    this.pending = setTimeout(() => this.refine(from, to), 250);
  }

  /// Shows the view of `[from, to]` (ms): the whole run's when it covers the run, else the
  /// server's view of exactly that range (whole buckets), whose fills are the fills in it. An
  /// answer that arrives after a newer request is dropped: the newest view always wins.
  async refine(from, to) {
    if (!this.view || !this.full) return;
    const seq = ++this.seq;
    this.lastWanted = { from, to };
    const whole = from <= this.full.first_bar && to > this.full.last_bar;
    if (whole) {
      this.fit();
      return;
    }
    let view = this.full;
    if (!whole) {
      try {
        view = await this.fetchView({ from: Math.max(from, this.full.first_bar), to: Math.min(to, this.full.last_bar), points: this.points() });
      } catch {
        return;
      }
    }
    if (seq !== this.seq || !view || view.empty) return;
    this.syncing = true;
    this.show(view);
    const range = { from: seconds(view.range_from), to: seconds(view.range_to - view.bucket_ms) };
    for (const chart of this.charts) {
      try {
        if (whole) chart.timeScale().fitContent();
        else chart.timeScale().setVisibleRange(range);
      } catch {
        /* ignore */
      }
    }
    this.lastRange = range;
    this.syncing = false;
  }

  crosshair(i, param) {
    if (this.syncingCrosshair) return;
    this.syncingCrosshair = true;
    this.charts.forEach((chart, j) => {
      if (j === i) return;
      // While data is being set (the pointer over a chart that is filling) the other charts may
      // not have this time yet: the crosshair then stays where it is. An error here must never
      // escape into the setData that raised the event (it stopped the whole run's first fit).
      try {
        if (param.time === undefined) chart.clearCrosshairPosition();
        else chart.setCrosshairPosition(NaN, param.time, this.main[j]);
      } catch {
        /* no point at that time on that chart */
      }
    });
    this.syncingCrosshair = false;
    if (i === 0) this.tooltip(param);
  }

  tooltip(param) {
    const tip = this.els.tip;
    const fills = param.time !== undefined && this.byTime ? this.byTime.get(param.time) : undefined;
    if (!fills || !param.point) {
      tip.hidden = true;
      return;
    }
    tip.hidden = false;
    tip.textContent = fills
      .map((t) => `${(t.order_type || "market").replaceAll("_", " ")} ${t.action} ${t.quantity} @ ${t.price}  fee ${Number(t.fee).toFixed(4)}  pnl ${Number(t.pnl).toFixed(2)}  (${t.position_type}, ${t.leverage}x)${t.tag ? `  [${t.tag}]` : ""}${t.ambiguous ? "  ambiguous bar" : ""}`)
      .join("\n");
    tip.style.left = `${Math.min(param.point.x + 12, this.els.price.clientWidth - 260)}px`;
    tip.style.top = `${param.point.y + 12}px`;
  }

  /// The equity chart on a logarithmic scale (a run that doubled or halved reads as such) or a
  /// linear one.
  logScale(on) {
    this.charts[1].priceScale("right").applyOptions({ mode: on ? 1 : 0 });
  }

  /// Zooms all three charts to `[from, to]` (ms).
  zoom(from, to) {
    this.charts[0].timeScale().setVisibleRange({ from: seconds(from), to: seconds(to) });
  }

  clear() {
    if (this.resize) this.resize.disconnect();
    clearTimeout(this.pending);
    for (const chart of this.charts) chart.remove();
    this.charts = [];
  }
}
