//! The report of a run: one self-contained HTML file (inline CSS and SVG charts, no script, no
//! network) with the charts, the metrics and their definitions, the round trips, the fills, the
//! settings and the strategy code. Pure: a stored run, its equity and its bars in, one HTML
//! string out. `cryptobt report RUN` writes it; the server's `GET /api/backtest/{id}/report`
//! answers it.

use std::fmt::Write as _;

use cryptobt_domain::{
    money::decimal_to_f64, ports::StoredRun, Bar, ConfigFile, MetricUnit, Symbol, METRICS,
};
use rust_decimal::Decimal;

use cryptobt_domain::views::{
    aggregate, bucket_for, buy_and_hold, drawdown, spread, thin, Candle,
    MAX_FILL_MARKS as MAX_MARKS,
};

/// Fills listed in a report, at most (the rest are counted; `trades.csv` has them all).
const MAX_FILLS: usize = 5_000;
/// Round trips listed, at most.
const MAX_TRIPS: usize = 5_000;
/// Chart width in buckets.
const POINTS: usize = 600;

fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map_or_else(|| ms.to_string(), |t| t.format("%Y-%m-%d %H:%M").to_string())
}

/// A metric's value as the report shows it (`—` when null).
fn shown(value: Option<f64>, unit: MetricUnit) -> String {
    value.map_or_else(|| "—".to_owned(), |v| unit.format(v))
}

/// The value range (right) and time range (bottom) of a chart of size `(w, h)`.
fn axis_labels((w, h): (f64, f64), (lo, hi): (f64, f64), (t0, t1): (i64, i64)) -> String {
    format!(
        r#"<text x="{right}" y="14" class="axis">{hi:.2}</text><text x="{right}" y="{bottom}" class="axis">{lo:.2}</text><text x="5" y="{bottom}" class="axis">{}</text><text x="{end}" y="{bottom}" class="axis" text-anchor="end">{}</text>"#,
        utc(t0),
        utc(t1),
        right = w - 60.0,
        bottom = h - 4.0,
        end = w - 70.0,
    )
}

/// A line of a chart: its label, colour and (time, value) points.
type Line<'a> = (&'a str, &'a str, Vec<(i64, f64)>);

/// An SVG line chart of `series`, each with its colour and label.
fn line_chart(title: &str, series: &[Line<'_>], height: u32) -> String {
    let all = series.iter().flat_map(|s| s.2.iter());
    let (mut t0, mut t1, mut lo, mut hi) = (i64::MAX, i64::MIN, f64::INFINITY, f64::NEG_INFINITY);
    for (t, v) in all {
        t0 = t0.min(*t);
        t1 = t1.max(*t);
        lo = lo.min(*v);
        hi = hi.max(*v);
    }
    let mut svg = String::new();
    let (w, h) = (1000.0, f64::from(height));
    let _ = write!(
        svg,
        r#"<figure><figcaption>{}</figcaption><svg viewBox="0 0 {w} {h}" class="chart" role="img" aria-label="{}">"#,
        esc(title),
        esc(title)
    );
    if t1 > t0 && hi.is_finite() {
        let span = if hi > lo { hi - lo } else { 1.0 };
        let x = |t: i64| (t - t0) as f64 / (t1 - t0) as f64 * (w - 70.0) + 5.0;
        let y = |v: f64| (hi - v) / span * (h - 20.0) + 10.0;
        for (label, color, points) in series {
            let path: Vec<String> =
                points.iter().map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v))).collect();
            let _ = write!(
                svg,
                r#"<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{}"><title>{}</title></polyline>"#,
                path.join(" "),
                esc(label)
            );
        }
        svg.push_str(&axis_labels((w, h), (lo, hi), (t0, t1)));
    }
    svg.push_str("</svg></figure>");
    svg
}

/// Candles as SVG (high-low wicks and open-close bodies), with fill marks.
fn candle_chart(title: &str, candles: &[Candle], fills: &[(i64, f64, bool)]) -> String {
    let mut svg = String::new();
    let (w, h) = (1000.0, 320.0);
    let _ = write!(
        svg,
        r#"<figure><figcaption>{}</figcaption><svg viewBox="0 0 {w} {h}" class="chart" role="img" aria-label="{}">"#,
        esc(title),
        esc(title)
    );
    if let (Some(first), Some(last)) = (candles.first(), candles.last()) {
        let lo = candles.iter().map(|c| c.l).fold(f64::INFINITY, f64::min);
        let hi = candles.iter().map(|c| c.h).fold(f64::NEG_INFINITY, f64::max);
        let span = if hi > lo { hi - lo } else { 1.0 };
        let (t0, t1) = (first.t, last.t.max(first.t + 1));
        let x = |t: i64| (t - t0) as f64 / (t1 - t0) as f64 * (w - 70.0) + 5.0;
        let y = |v: f64| (hi - v) / span * (h - 20.0) + 10.0;
        let bw = ((w - 70.0) / candles.len() as f64 * 0.7).max(0.5);
        for c in candles {
            let color = if c.c >= c.o { "#26a69a" } else { "#ef5350" };
            let (top, bottom) = (y(c.o.max(c.c)), y(c.o.min(c.c)));
            let _ = write!(
                svg,
                r#"<line x1="{0:.1}" x2="{0:.1}" y1="{1:.1}" y2="{2:.1}" stroke="{color}"/><rect x="{3:.1}" y="{top:.1}" width="{bw:.1}" height="{4:.1}" fill="{color}"/>"#,
                x(c.t),
                y(c.h),
                y(c.l),
                x(c.t) - bw / 2.0,
                (bottom - top).max(0.5)
            );
        }
        for (t, price, buy) in fills {
            let color = if *buy { "#1565c0" } else { "#e65100" };
            let _ = write!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{color}"/>"#,
                x(*t),
                y(*price)
            );
        }
        svg.push_str(&axis_labels((w, h), (lo, hi), (first.t, last.t)));
    }
    svg.push_str("</svg></figure>");
    svg
}

/// The bars of each symbol of a run, in its order (the primary first); a symbol whose bars could
/// not be read has none (its price chart is left out).
pub type MarketBars = [(Symbol, Vec<Bar>)];

/// The report of `run`: `equity` is its whole equity curve, `markets` each symbol's bars.
#[must_use]
pub fn render(
    run: &StoredRun,
    equity: &[(i64, Decimal)],
    markets: &MarketBars,
    plots: &[cryptobt_domain::PlotSeries],
) -> String {
    let c = &run.record.config;
    let file = ConfigFile::from_record(&run.record);
    let metric = |key: &str| run.metrics.as_ref().and_then(|m| m.get(key));
    let name = cryptobt_domain::ports::strategy_name(&run.record.strategy_code, c.params());
    let (first, last) = (equity.first().map(|e| e.0), equity.last().map(|e| e.0));
    let mut html = String::with_capacity(1 << 20);
    let _ = write!(
        html,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>cryptobt report {id}</title><style>
body{{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:16px;color:#1f2430}}
h1{{font-size:20px}} h2{{font-size:16px;margin-top:28px}} .muted{{color:#667}}
table{{border-collapse:collapse;font-size:12px;width:100%}} td,th{{border-bottom:1px solid #e3e6ec;padding:3px 6px;text-align:left;white-space:nowrap}}
.wrap{{overflow-x:auto}} .chart{{width:100%;height:auto;background:#fff;border:1px solid #e3e6ec}} .axis{{font-size:11px;fill:#667}}
figure{{margin:10px 0}} figcaption{{font-weight:600;margin-bottom:4px}} .pos{{color:#138a5e}} .neg{{color:#c62828}}
.metrics{{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:6px}} .metrics div{{border:1px solid #e3e6ec;border-radius:5px;padding:6px 8px}}
.metrics dt{{font-size:11px;color:#667}} .metrics dd{{margin:0;font-weight:600}} .metrics p{{margin:2px 0 0;font-size:11px;color:#667}}
pre{{background:#f5f6f8;padding:10px;overflow-x:auto;font-size:12px}}
</style></head><body>
<h1>{name} <span class="muted">· {mode} {symbol} {tf} · {start} → {end} · {status}</span></h1>
<p class="muted">Run <code>{id}</code>, created {created}. Made with cryptobt; this file needs no server.</p>"#,
        id = esc(run.record.backtest_id.as_str()),
        name = esc(&name),
        mode = c.trading_mode(),
        symbol = c.symbols().iter().map(Symbol::as_str).collect::<Vec<_>>().join("+"),
        tf = c.timeframe(),
        start = c.start_date(),
        end = c.end_date(),
        status = run.record.status,
        created = esc(&file.created_at),
    );
    if let Some(e) = &run.record.error {
        let _ = write!(html, r#"<p class="neg">{}: {}</p>"#, e.code, esc(&e.message));
    }
    if let (Some(first), Some(last)) = (first, last) {
        if run.record.status != cryptobt_domain::RunStatus::Completed {
            let _ = write!(
                html,
                r#"<p class="neg">The run stopped early: its metrics and charts cover only {} to {} UTC.</p>"#,
                utc(first),
                utc(last)
            );
        }
        let (ms, label) = bucket_for(last - first, c.timeframe().duration_ms(), POINTS);
        let several = markets.len() > 1;
        for (symbol, symbol_bars) in markets {
            if symbol_bars.is_empty() {
                continue;
            }
            let candles = aggregate(symbol_bars.iter(), first, last, ms);
            let trades: Vec<&cryptobt_domain::Trade> =
                run.trades.iter().filter(|t| t.symbol == *symbol).collect();
            // Marks thinned evenly as the chart view thins them (a 144,000-fill run draws 1,000).
            let fills: Vec<(i64, f64, bool)> = spread(&trades, MAX_MARKS)
                .into_iter()
                .map(|t| {
                    (
                        t.timestamp.div_euclid(ms) * ms,
                        decimal_to_f64(t.price),
                        t.action == cryptobt_domain::ActionType::Buy,
                    )
                })
                .collect();
            let marked = if trades.len() > fills.len() {
                format!(", {} of {} fills marked", fills.len(), trades.len())
            } else {
                String::new()
            };
            let whose = if several { format!("{symbol}: price") } else { "Price".to_owned() };
            html.push_str(&candle_chart(
                &format!("{whose} ({label} candles) and fills{marked}"),
                &candles,
                &fills,
            ));
        }
        let times: Vec<i64> = equity.iter().map(|e| e.0).collect();
        let values: Vec<f64> = equity.iter().map(|e| decimal_to_f64(e.1)).collect();
        let initial = decimal_to_f64(c.initial_capital());
        let drawdown: Vec<f64> = drawdown(&values, initial);
        let bench = buy_and_hold(markets, initial, (first, last), ms);
        html.push_str(&line_chart(
            "Equity and buy & hold (USDT)",
            &[
                ("equity", "#2962ff", thin(&times, &values, first, last, ms)),
                ("buy & hold", "#9e9e9e", bench),
            ],
            220,
        ));
        html.push_str(&line_chart(
            "Drawdown (%)",
            &[("drawdown", "#ef5350", thin(&times, &drawdown, first, last, ms))],
            160,
        ));
        // The strategy's own `plot` series, each thinned as the chart view thins them.
        for series in plots {
            let (t, v): (Vec<i64>, Vec<f64>) = series.points.iter().copied().unzip();
            let title = format!("Plot: {} ({} pane)", series.name, series.pane.as_str());
            let mut lines = vec![(series.name.as_str(), "#8e24aa", thin(&t, &v, first, last, ms))];
            // Its guide lines (`opts.levels`) across the whole run.
            for level in &series.levels {
                lines.push(("level", "#9e9e9e", vec![(first, *level), (last, *level)]));
            }
            html.push_str(&line_chart(&title, &lines, 160));
        }
    }
    html.push_str(r#"<h2>Metrics</h2><dl class="metrics">"#);
    let mut group = None;
    for m in &METRICS {
        if group != Some(m.group) {
            group = Some(m.group);
        }
        let _ = write!(
            html,
            r#"<div><dt>{} · {}</dt><dd data-metric="{}" data-raw="{}">{}</dd><p>{}</p></div>"#,
            m.group.title(),
            esc(m.label),
            m.key,
            metric(m.key).map_or_else(String::new, |v| v.to_string()),
            shown(metric(m.key), m.unit),
            esc(m.definition)
        );
    }
    html.push_str("</dl>");
    if let Some(by) = &run.metrics.as_ref().and_then(|m| m.by_symbol.clone()) {
        html.push_str("<h2>By symbol</h2><div class=\"wrap\"><table><tr><th>symbol</th><th>round trips</th><th>win rate %</th><th>profit factor</th><th>net pnl</th><th>fees</th><th>funding</th><th>ambiguous bars</th></tr>");
        let opt = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), |x| format!("{x:.2}"));
        for (symbol, m) in &by.0 {
            let _ = write!(
                html,
                r#"<tr data-symbol="{symbol}"><td>{symbol}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.4}</td><td>{}</td></tr>"#,
                m.round_trips,
                opt(m.win_rate),
                opt(m.profit_factor),
                m.net_pnl,
                m.total_fees,
                m.funding,
                m.ambiguous_bars
            );
        }
        html.push_str("</table></div>");
    }
    let _ = write!(html, "<h2>Round trips ({})</h2><div class=\"wrap\"><table><tr><th>entry</th><th>exit</th><th>side</th><th>max size</th><th>entry price</th><th>exit price</th><th>fees</th><th>funding</th><th>pnl</th><th>bars</th><th>exit reason</th></tr>", run.round_trips.len());
    for r in run.round_trips.iter().take(MAX_TRIPS) {
        let class = if r.pnl > Decimal::ZERO {
            "pos"
        } else if r.pnl < Decimal::ZERO {
            "neg"
        } else {
            ""
        };
        let _ = write!(
            html,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.4}</td><td>{:.4}</td><td class="{class}">{:.2}</td><td>{}</td><td>{}</td></tr>"#,
            utc(r.entry_time),
            utc(r.exit_time),
            r.side,
            r.max_size.normalize(),
            r.entry_price,
            r.exit_price,
            r.fees,
            r.funding,
            r.pnl,
            r.bars_held,
            r.exit_reason
        );
    }
    html.push_str("</table></div>");
    if run.round_trips.len() > MAX_TRIPS {
        let _ = write!(
            html,
            "<p class=\"muted\">{} more in round_trips.csv.</p>",
            run.round_trips.len() - MAX_TRIPS
        );
    }
    let _ = write!(html, "<h2>Fills ({})</h2><div class=\"wrap\"><table><tr><th>time</th><th>action</th><th>type</th><th>quantity</th><th>price</th><th>leverage</th><th>fee</th><th>position</th><th>pnl</th><th>tag</th></tr>", run.trades.len());
    for t in run.trades.iter().take(MAX_FILLS) {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            utc(t.timestamp), t.action, t.order_type, t.quantity.normalize(), t.price.normalize(), t.leverage.normalize(), t.fee.normalize(), t.position_type, t.pnl.normalize(), esc(t.tag.as_deref().unwrap_or(""))
        );
    }
    html.push_str("</table></div>");
    if run.trades.len() > MAX_FILLS {
        let _ = write!(
            html,
            "<p class=\"muted\">{} more in trades.csv.</p>",
            run.trades.len() - MAX_FILLS
        );
    }
    let mut settings = serde_json::to_value(&file).unwrap_or_default();
    if let Some(o) = settings.as_object_mut() {
        o.remove("strategy_code");
    }
    let _ = writeln!(
        html,
        "<h2>Settings</h2><pre>{}</pre><h2>Strategy</h2><pre>{}</pre></body></html>",
        esc(&serde_json::to_string_pretty(&settings).unwrap_or_default()),
        esc(&run.record.strategy_code)
    );
    html
}
