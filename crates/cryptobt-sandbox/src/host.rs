//! The strategy API of DESIGN §10 as host functions: every argument is checked in Rust, orders
//! and figures go through the run's `StrategyContext`, and a refused order returns
//! `false, reason` instead of raising.

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
};

use cryptobt_domain::{ports::SharedContext, OrderSide, PortfolioRules, Rejection};
use mlua::{Lua, MultiValue, Table, Value, Variadic};
use rust_decimal::Decimal;

/// The run's side of the API: the context (set when the engine hands it over), the cached rules
/// and the per-run caps the sandbox enforces itself.
pub(crate) struct Host {
    ctx: RefCell<Option<SharedContext>>,
    rules: RefCell<Option<PortfolioRules>>,
    orders_this_bar: Cell<u32>,
    max_orders_per_bar: u32,
    log_bytes: Cell<usize>,
    max_log_bytes: usize,
    log_full: Cell<bool>,
    /// Lines logged while loading, before the engine handed the context over.
    pending: RefCell<Vec<String>>,
}

impl Host {
    pub(crate) fn new(max_orders_per_bar: u32, max_log_bytes: usize) -> Self {
        Self {
            ctx: RefCell::new(None),
            rules: RefCell::new(None),
            orders_this_bar: Cell::new(0),
            max_orders_per_bar,
            log_bytes: Cell::new(0),
            max_log_bytes,
            log_full: Cell::new(false),
            pending: RefCell::new(Vec::new()),
        }
    }

    /// Attaches the run's context (once; the engine hands the same one every bar).
    pub(crate) fn attach(&self, ctx: &SharedContext) {
        let attached = self.ctx.borrow().as_ref().is_some_and(|c| Rc::ptr_eq(c, ctx));
        if !attached {
            *self.rules.borrow_mut() = Some(ctx.rules());
            *self.ctx.borrow_mut() = Some(Rc::clone(ctx));
            for line in self.pending.take() {
                ctx.log(&line);
            }
        }
    }

    pub(crate) fn new_bar(&self) {
        self.orders_this_bar.set(0);
    }

    fn ctx(&self) -> Option<SharedContext> {
        self.ctx.borrow().clone()
    }

    /// `buy`/`sell`: `(true)` or `(false, reason)`.
    fn order(&self, side: OrderSide, amount: &Value, leverage: &Value) -> (bool, Option<String>) {
        let Some(ctx) = self.ctx() else {
            return refused(&Rejection::NoPrice);
        };
        let rules = self.rules.borrow().clone();
        let Some(rules) = rules else { return refused(&Rejection::NoPrice) };
        let checked = self.count_order().and_then(|()| {
            let quantity = rules
                .quantity_from_f64(number(amount).ok_or_else(|| Rejection::InvalidQuantity {
                    value: type_or_value(amount),
                })?)?;
            let leverage = match leverage {
                Value::Nil => Decimal::ONE,
                other => rules.leverage_from_f64(number(other).ok_or_else(|| {
                    Rejection::InvalidLeverage {
                        value: type_or_value(other),
                        mode: rules.mode,
                        max: rules.max_leverage,
                    }
                })?)?,
            };
            Ok((quantity, leverage))
        });
        match checked {
            Ok((quantity, leverage)) => outcome(ctx.submit(side, quantity, leverage)),
            Err(rejection) => {
                ctx.record_rejection(&rejection);
                refused(&rejection)
            }
        }
    }

    /// `close_position([percentage])`.
    fn close(&self, percentage: &Value) -> (bool, Option<String>) {
        let Some(ctx) = self.ctx() else {
            return refused(&Rejection::NoPrice);
        };
        let rules = self.rules.borrow().clone();
        let Some(rules) = rules else { return refused(&Rejection::NoPrice) };
        let checked = self.count_order().and_then(|()| match percentage {
            Value::Nil => Ok(Decimal::ONE_HUNDRED),
            other => rules.percentage_from_f64(
                number(other)
                    .ok_or_else(|| Rejection::InvalidPercentage { value: type_or_value(other) })?,
            ),
        });
        match checked {
            Ok(pct) => outcome(ctx.close_position(pct)),
            Err(rejection) => {
                ctx.record_rejection(&rejection);
                refused(&rejection)
            }
        }
    }

    fn count_order(&self) -> Result<(), Rejection> {
        let n = self.orders_this_bar.get();
        if n >= self.max_orders_per_bar {
            return Err(Rejection::OrdersPerBarExceeded { max: self.max_orders_per_bar });
        }
        self.orders_this_bar.set(n + 1);
        Ok(())
    }

    fn figure(&self, read: impl Fn(&SharedContext) -> Option<Decimal>, flat: f64) -> f64 {
        self.ctx().and_then(|c| read(&c)).map_or(flat, cryptobt_domain::money::decimal_to_f64)
    }

    /// `log(...)`: the arguments as text, tab-separated, within the run's byte cap; past it one
    /// marker line, then nothing.
    fn log(&self, args: &MultiValue) {
        if self.log_full.get() {
            return;
        }
        let line: Vec<String> = args.iter().map(display).collect();
        let line = line.join("\t");
        let used = self.log_bytes.get() + line.len() + 1;
        let line = if used > self.max_log_bytes {
            self.log_full.set(true);
            format!("[log truncated: the limit of {} bytes was reached]", self.max_log_bytes)
        } else {
            self.log_bytes.set(used);
            line
        };
        match self.ctx() {
            Some(ctx) => ctx.log(&line),
            None => self.pending.borrow_mut().push(line),
        }
    }
}

fn refused(rejection: &Rejection) -> (bool, Option<String>) {
    (false, Some(rejection.to_string()))
}

fn outcome(result: Result<(), Rejection>) -> (bool, Option<String>) {
    match result {
        Ok(()) => (true, None),
        Err(rejection) => refused(&rejection),
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(n) => Some(*n),
        _ => None,
    }
}

fn type_or_value(value: &Value) -> String {
    match value {
        Value::String(s) => {
            format!("{:?} (a string)", s.to_string_lossy().chars().take(40).collect::<String>())
        }
        other => format!("a {}", other.type_name()),
    }
}

/// A value as log text, without calling any `__tostring` the script may have set.
fn display(value: &Value) -> String {
    match value {
        Value::Nil => "nil".to_owned(),
        Value::Boolean(b) => b.to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.to_string_lossy(),
        other => other.type_name().to_owned(),
    }
}

/// Registers the API in `globals` (before the VM is sealed).
pub(crate) fn register(lua: &Lua, globals: &Table, host: &Rc<Host>) -> mlua::Result<()> {
    for (name, side) in [("buy", OrderSide::Buy), ("sell", OrderSide::Sell)] {
        let h = Rc::clone(host);
        let f = lua.create_function(move |_, (amount, leverage): (Value, Value)| {
            Ok(h.order(side, &amount, &leverage))
        })?;
        globals.raw_set(name, f)?;
    }
    let h = Rc::clone(host);
    globals
        .raw_set("close_position", lua.create_function(move |_, pct: Value| Ok(h.close(&pct)))?)?;

    type Read = fn(&SharedContext) -> Option<Decimal>;
    let figures: [(&str, Read, f64); 6] = [
        ("get_position_size", |c| Some(c.position_size()), 0.0),
        ("get_cash", |c| Some(c.cash()), 0.0),
        ("get_equity", |c| Some(c.equity()), 0.0),
        ("get_unrealized_pnl", |c| Some(c.unrealized_pnl()), 0.0),
        ("get_entry_price", |c| c.entry_price(), 0.0),
        ("get_leverage", |c| Some(c.leverage()), 0.0),
    ];
    for (name, read, flat) in figures {
        let h = Rc::clone(host);
        globals.raw_set(name, lua.create_function(move |_, ()| Ok(h.figure(read, flat)))?)?;
    }
    let h = Rc::clone(host);
    let ratio =
        lua.create_function(move |_, ()| Ok(h.figure(|c| c.margin_ratio(), f64::INFINITY)))?;
    globals.raw_set("get_margin_ratio", ratio)?;
    for name in ["log", "print"] {
        let h = Rc::clone(host);
        globals.raw_set(
            name,
            lua.create_function(move |_, args: Variadic<Value>| {
                h.log(&args.into_iter().collect());
                Ok(())
            })?,
        )?;
    }
    Ok(())
}
