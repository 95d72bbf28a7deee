//! The definitions of the metrics (docs/metrics.md) in words a trader reads: one table that the CLI
//! summary, the API (`GET /api/metrics`, the page's tooltips) and `docs/metrics.md` all use.

use serde::Serialize;

/// How a metric is grouped where it is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricGroup {
    /// Returns.
    Returns,
    /// Risk.
    Risk,
    /// Round trips and fills.
    Trades,
    /// Fees, funding and liquidation.
    Costs,
}

impl MetricGroup {
    /// The heading shown.
    #[must_use]
    pub const fn title(self) -> &'static str {
        match self {
            Self::Returns => "Returns",
            Self::Risk => "Risk",
            Self::Trades => "Trades",
            Self::Costs => "Costs",
        }
    }
}

/// The unit a metric is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricUnit {
    /// Percent.
    Percent,
    /// USDT.
    Usdt,
    /// A ratio without unit.
    Ratio,
    /// A count.
    Count,
    /// Leverage (x).
    Times,
    /// Days.
    Days,
    /// Bars of the run's timeframe.
    Bars,
}

impl MetricUnit {
    /// `value` as the CLI, the report and the sweep summary show it: `12.34 %`, `1234.56` (USDT,
    /// two decimals), `1.234` (a ratio), `7`, `2.00x`, `3.50 days`, `12.5 bars`.
    #[must_use]
    pub fn format(self, value: f64) -> String {
        match self {
            Self::Percent => format!("{value:.2} %"),
            Self::Usdt => format!("{value:.2}"),
            Self::Ratio => format!("{value:.3}"),
            Self::Count => format!("{value:.0}"),
            Self::Times => format!("{value:.2}x"),
            Self::Days => format!("{value:.2} days"),
            Self::Bars => format!("{value:.1} bars"),
        }
    }
}

/// One metric: its key in `metrics.json`, label, group, unit and definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MetricDef {
    /// The key in `metrics.json` and the API.
    pub key: &'static str,
    /// Short label.
    pub label: &'static str,
    /// Where it is grouped.
    pub group: MetricGroup,
    /// Its unit.
    pub unit: MetricUnit,
    /// Formula, sign convention and null case, in plain words.
    pub definition: &'static str,
}

const fn def(
    key: &'static str,
    label: &'static str,
    group: MetricGroup,
    unit: MetricUnit,
    definition: &'static str,
) -> MetricDef {
    MetricDef { key, label, group, unit, definition }
}

use MetricGroup::{Costs, Returns, Risk, Trades};
use MetricUnit::{Bars, Count, Days, Percent, Ratio, Times, Usdt};

/// Declares [`MetricKey`] and [`METRICS`] from one list, so that a metric is named once: its
/// variant, key, label, group, unit and definition.
macro_rules! metrics {
    ($($variant:ident => $key:literal, $label:literal, $group:ident, $unit:ident, $definition:literal;)*) => {
        /// A metric of `metrics.json`, by name; [`MetricKey::def`] is its row of [`METRICS`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum MetricKey {
            $(
                #[doc = $label]
                $variant,
            )*
        }

        impl MetricKey {
            /// Every metric, in the order of [`METRICS`].
            pub const ALL: [Self; METRIC_COUNT] = [$(Self::$variant),*];

            /// The key in `metrics.json` and the API.
            #[must_use]
            pub const fn key(self) -> &'static str {
                match self {
                    $(Self::$variant => $key,)*
                }
            }

            /// The metric named `key`, if there is one.
            #[must_use]
            pub fn parse(key: &str) -> Option<Self> {
                match key {
                    $($key => Some(Self::$variant),)*
                    _ => None,
                }
            }

            /// Its definition.
            #[must_use]
            pub fn def(self) -> &'static MetricDef {
                &METRICS[self as usize]
            }
        }

        /// Every metric of `metrics.json`, in the order shown.
        pub const METRICS: [MetricDef; METRIC_COUNT] =
            [$(def($key, $label, $group, $unit, $definition)),*];
    };
}

/// How many metrics there are.
pub const METRIC_COUNT: usize = 30;

metrics! {
    TotalReturn => "total_return", "Total return", Returns, Percent, "(final equity / initial capital − 1) × 100. Negative is a loss. Null when no bar was processed.";
    FinalEquity => "final_equity", "Final equity", Returns, Usdt, "Cash + margin + unrealized P&L at the last bar's close. Null when no bar was processed.";
    AnnualizedReturn => "annualized_return", "Annualized return", Returns, Percent, "((final / initial)^(365 / days) − 1) × 100, days = time from the first to the last bar in days. Null when days = 0 or final equity ≤ 0.";
    BenchmarkReturn => "benchmark_return", "Buy & hold", Returns, Percent, "(last close / first close − 1) × 100: holding the asset from the first bar's close. The buy-and-hold line on the charts uses the same base. Null when no bar was processed.";
    Expectancy => "expectancy", "Expectancy", Returns, Usdt, "Mean net P&L per round trip (every fee, clearance and funding payment included). Null without round trips.";
    MaxDrawdown => "max_drawdown", "Max drawdown", Risk, Percent, "The worst fall from a running equity high: min over bars of (equity / running max − 1) × 100, the running max starting at the initial capital. ≤ 0. Null when no bar was processed.";
    MaxDrawdownDurationDays => "max_drawdown_duration_days", "Longest drawdown", Risk, Days, "The longest time, in days, from the last bar at an equity high to the first bar back at or above it (or to the last bar if never). 0 when equity never fell below its high.";
    Volatility => "volatility", "Volatility (daily)", Risk, Percent, "Sample standard deviation (n − 1) of daily returns × 100; a day's return compares its last equity with the previous day's (the first day with the initial capital). Null with fewer than two days.";
    AnnualizedVolatility => "annualized_volatility", "Volatility (annual)", Risk, Percent, "Daily volatility × √365. Null when the daily volatility is.";
    SharpeRatio => "sharpe_ratio", "Sharpe", Risk, Ratio, "Mean daily return / its standard deviation × √365, risk-free rate 0. Null with fewer than two days or a deviation of 0.";
    SortinoRatio => "sortino_ratio", "Sortino", Risk, Ratio, "Mean daily return / √(mean of min(return, 0)²) × √365. Null with fewer than two days or no losing day.";
    CalmarRatio => "calmar_ratio", "Calmar", Risk, Ratio, "Annualized return / |max drawdown|. Null when either is null or the drawdown is 0.";
    Exposure => "exposure", "Exposure", Risk, Percent, "Share of bars closing with an open position × 100.";
    AvgLeverage => "avg_leverage", "Avg leverage", Risk, Times, "Mean leverage of the fills that open or add to a position. Null without such fills.";
    MaxLeverage => "max_leverage", "Max leverage", Risk, Times, "Highest leverage of the fills that open or add. Null without such fills.";
    RoundTrips => "round_trips", "Round trips", Trades, Count, "Positions taken from flat back to flat (closed, liquidated, or the closing part of a reversal). A position still open at the end is not counted.";
    WinRate => "win_rate", "Win rate", Trades, Percent, "Share of round trips with a net P&L > 0, × 100. Null without round trips.";
    ProfitFactor => "profit_factor", "Profit factor", Trades, Ratio, "Sum of winning round trips' net P&L / |sum of losing ones'|. Null when no round trip lost.";
    AvgWin => "avg_win", "Avg win", Trades, Usdt, "Mean net P&L of the winning round trips. Null without a winner.";
    AvgLoss => "avg_loss", "Avg loss", Trades, Usdt, "Mean net P&L of the losing round trips, a negative number. Null without a loser.";
    LargestWin => "largest_win", "Largest win", Trades, Usdt, "The best round trip's net P&L. Null unless it is > 0.";
    LargestLoss => "largest_loss", "Largest loss", Trades, Usdt, "The worst round trip's net P&L, a negative number. Null unless it is < 0.";
    AvgBarsHeld => "avg_bars_held", "Avg bars held", Trades, Bars, "Mean of exit bar − entry bar over round trips, in bars of the run's timeframe. Null without round trips.";
    MaxConsecutiveLosses => "max_consecutive_losses", "Losing streak", Trades, Count, "The longest run of round trips with net P&L ≤ 0, in exit order. 0 without round trips.";
    TotalTrades => "total_trades", "Fills", Trades, Count, "Every fill: opening, adding, reducing, closing and liquidation fills.";
    AmbiguousBars => "ambiguous_bars", "Ambiguous bars", Trades, Count, "Bars with an order or exit armed both above and below the open, where which filled first rested on the intrabar rule (open → nearer extreme → other extreme → close), not on the data.";
    TotalFees => "total_fees", "Fees paid", Costs, Usdt, "Sum of the trading fees of every fill, a positive amount paid. The liquidation clearance is not a fee here: it is in liquidation losses.";
    TotalFunding => "total_funding", "Funding", Costs, Usdt, "Sum of the funding payments: positive = received, negative = paid (futures).";
    Liquidations => "liquidations", "Liquidations", Costs, Count, "Number of positions liquidated.";
    LiquidationLosses => "liquidation_losses", "Liquidation losses", Costs, Usdt, "Sum of the margins lost to liquidation (each liquidated position loses its whole isolated margin), a positive amount.";
}

/// The definition of `key`, if it is a metric.
#[must_use]
pub fn metric(key: &str) -> Option<&'static MetricDef> {
    MetricKey::parse(key).map(MetricKey::def)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_of_the_report_has_a_definition_and_no_other() {
        let json = serde_json::to_value(crate::Metrics::default()).unwrap();
        let mut keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut defined: Vec<&str> = METRICS.iter().map(|m| m.key).collect();
        defined.sort_unstable();
        assert_eq!(keys, defined);
        assert!(METRICS.iter().all(|m| !m.definition.is_empty() && !m.label.is_empty()));
        assert_eq!(metric("calmar_ratio").map(|m| m.group), Some(MetricGroup::Risk));
    }

    /// `Metrics::get` answers every key with the value `metrics.json` holds (a run's metrics
    /// with every field set to a distinct value, so a crossed arm shows).
    #[test]
    fn get_is_the_json_value_of_every_key() {
        use rust_decimal::Decimal;
        let d = |n: i64| Some(Decimal::new(n, 2));
        let m = crate::Metrics {
            total_return: Some(1.5),
            final_equity: d(1_000_001),
            annualized_return: Some(2.5),
            volatility: Some(3.5),
            sharpe_ratio: Some(4.5),
            sortino_ratio: Some(5.5),
            max_drawdown: Some(-6.5),
            annualized_volatility: Some(7.5),
            calmar_ratio: Some(8.5),
            max_drawdown_duration_days: Some(9.5),
            total_trades: 10,
            round_trips: 11,
            win_rate: Some(12.5),
            profit_factor: Some(13.5),
            expectancy: d(1_401),
            avg_win: d(1_501),
            avg_loss: d(-1_601),
            largest_win: d(1_701),
            largest_loss: d(-1_801),
            avg_bars_held: Some(19.5),
            max_consecutive_losses: 20,
            avg_leverage: d(2_101),
            max_leverage: d(2_201),
            liquidations: 23,
            liquidation_losses: Decimal::new(2_401, 2),
            total_fees: Decimal::new(2_501, 2),
            total_funding: Decimal::new(-2_601, 2),
            benchmark_return: Some(27.5),
            exposure: Some(28.5),
            ambiguous_bars: 29,
            by_symbol: None,
        };
        let json = serde_json::to_value(&m).unwrap();
        for def in &METRICS {
            assert_eq!(m.get(def.key), json[def.key].as_f64(), "{}", def.key);
        }
        let values = m.values();
        let distinct: std::collections::BTreeSet<u64> =
            values.iter().map(|v| v.unwrap().to_bits()).collect();
        assert_eq!(distinct.len(), METRICS.len(), "every key has its own field");
        assert_eq!(m.get("nope"), None);
        for (i, key) in MetricKey::ALL.iter().enumerate() {
            assert_eq!(key.def().key, METRICS[i].key);
            assert_eq!(MetricKey::parse(key.key()), Some(*key));
        }
        assert_eq!(MetricUnit::Percent.format(12.345), "12.35 %");
        assert_eq!(MetricUnit::Bars.format(3.25), "3.2 bars");
    }
}
