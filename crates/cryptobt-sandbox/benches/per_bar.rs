//! The per-bar call into Lua with every limit on (64 MiB, deadline, cancel flag, interrupt):
//! a trivial `on_data`, and an SMA(10/30) crossover with `ta.sma`, over 1,000,000 synthetic bars.

#![allow(missing_docs, reason = "criterion_group! generates an undocumented function")]

use std::{
    cell::{Cell, RefCell},
    hint::black_box,
    rc::Rc,
};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use cryptobt_domain::{
    ports::{SharedContext, Strategy, StrategyContext, StrategyLimits},
    testkit, Bar, OrderSide, Params, Portfolio, PortfolioRules, Rejection, Symbol,
};
use cryptobt_sandbox::LuaStrategy;
use rust_decimal::Decimal;

const BARS: usize = 1_000_000;

struct Desk {
    portfolio: RefCell<Portfolio>,
    close: Cell<Decimal>,
    ts: Cell<i64>,
}

impl StrategyContext for Desk {
    fn symbol(&self) -> Symbol {
        testkit::btc()
    }
    fn timestamp(&self) -> Option<i64> {
        Some(self.ts.get())
    }
    fn current_price(&self) -> Option<Decimal> {
        Some(self.close.get())
    }
    fn rules(&self) -> PortfolioRules {
        self.portfolio.borrow().rules().clone()
    }
    fn position_size(&self) -> Decimal {
        self.portfolio.borrow().position_size(testkit::btc())
    }
    fn cash(&self) -> Decimal {
        self.portfolio.borrow().cash()
    }
    fn equity(&self) -> Decimal {
        self.portfolio.borrow().equity()
    }
    fn unrealized_pnl(&self) -> Decimal {
        self.portfolio.borrow().unrealized_pnl()
    }
    fn entry_price(&self) -> Option<Decimal> {
        self.portfolio.borrow().position(testkit::btc()).map(|p| p.entry_price())
    }
    fn leverage(&self) -> Decimal {
        self.portfolio.borrow().leverage(testkit::btc())
    }
    fn margin_ratio(&self) -> Option<Decimal> {
        self.portfolio.borrow().margin_ratio()
    }
    fn submit(
        &self,
        side: OrderSide,
        quantity: Decimal,
        leverage: Decimal,
    ) -> Result<(), Rejection> {
        let (price, ts) = (self.close.get(), self.ts.get());
        self.portfolio
            .borrow_mut()
            .submit(testkit::btc(), side, quantity, leverage, price, ts)
            .map(|_| ())
    }
    fn close_position(&self, percentage: Decimal) -> Result<(), Rejection> {
        let (price, ts) = (self.close.get(), self.ts.get());
        self.portfolio
            .borrow_mut()
            .close_position(testkit::btc(), percentage, price, ts)
            .map(|_| ())
    }
    fn record_rejection(&self, _: &Rejection) {}
    fn log(&self, _: &str) {}
}

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
    let desk = Rc::new(Desk {
        portfolio: RefCell::new(testkit::spot(Decimal::from(1_000_000))),
        close: Cell::new(Decimal::ONE),
        ts: Cell::new(0),
    });
    let ctx: SharedContext = desk.clone();
    let mut strategy =
        LuaStrategy::load(source, testkit::btc(), &Params::new(), &StrategyLimits::default())
            .unwrap_or_else(|e| panic!("{e}"));
    strategy.initialize(&ctx).unwrap_or_else(|e| panic!("{e}"));
    for bar in bars {
        desk.close.set(bar.close);
        desk.ts.set(bar.timestamp);
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
