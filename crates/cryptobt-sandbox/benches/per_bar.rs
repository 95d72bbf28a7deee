//! The per-bar call into Lua with every limit on (64 MiB, deadline, cancel flag, interrupt):
//! a trivial `on_data`, and an SMA(10/30) crossover with `ta.sma`, over 1,000,000 synthetic bars.

#![allow(missing_docs, reason = "criterion_group! generates an undocumented function")]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use cryptobt_domain::{
    ports::{SharedContext, Strategy, StrategyLimits},
    testkit::{self, Desk},
    Bar, Params,
};
use cryptobt_sandbox::LuaStrategy;
use rust_decimal::Decimal;

const BARS: usize = 1_000_000;

/// A seeded random walk around 40,000 in cents.
fn bars() -> Vec<Bar> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut cents: i64 = 4_000_000;
    (0..BARS)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            cents = (cents + (state % 2_001) as i64 - 1_000).max(100_000);
            let c = Decimal::new(cents, 2);
            testkit::bar(i as i64 * 60_000, c, c + Decimal::ONE, c - Decimal::ONE, c)
        })
        .collect()
}

const TRIVIAL: &str = "function on_data(bar) end";

const CROSSOVER: &str = r#"
local fast, slow = ta.sma(10), ta.sma(30)
local above = nil
function on_data(bar)
    local f, s = fast:update(bar.close), slow:update(bar.close)
    if not s then return end
    local now = f > s
    if above ~= nil and now ~= above then
        if now then buy(0.1) elseif get_position_size() > 0 then close_position() end
    end
    above = now
end
"#;

fn run(source: &str, bars: &[Bar]) -> usize {
    let desk = Desk::new(testkit::spot(Decimal::from(1_000_000)));
    let ctx: SharedContext = desk.clone();
    let mut strategy =
        LuaStrategy::load(source, testkit::btc(), &Params::new(), &StrategyLimits::default())
            .unwrap_or_else(|e| panic!("{e}"));
    strategy.initialize(&ctx).unwrap_or_else(|e| panic!("{e}"));
    for bar in bars {
        // Only the current bar: marking the portfolio is the engine's work, not the call's.
        desk.bar.set(Some(*bar));
        strategy.on_bar(bar, &ctx).unwrap_or_else(|e| panic!("{e}"));
    }
    let cash = desk.portfolio.borrow().cash();
    black_box(cash.mantissa() as usize)
}

fn benches(c: &mut Criterion) {
    let bars = bars();
    let mut group = c.benchmark_group("lua_per_bar");
    group.sample_size(10);
    group.throughput(Throughput::Elements(BARS as u64));
    for (name, source) in [("trivial", TRIVIAL), ("sma_crossover", CROSSOVER)] {
        group.bench_function(name, |b| {
            b.iter_batched(|| (), |()| run(source, &bars), BatchSize::PerIteration)
        });
    }
    group.finish();
}

criterion_group!(per_bar, benches);
criterion_main!(per_bar);
