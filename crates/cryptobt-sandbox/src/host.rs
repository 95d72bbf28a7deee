//! The strategy API of docs/strategy-api.md as host functions: every argument is checked in Rust, orders
//! and figures go through the run's `StrategyContext`, and a refused order returns
//! `false, reason` instead of raising.

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
};

use cryptobt_domain::{
    money::decimal_from_f64, ports::SharedContext, ExitKind, OrderKind, OrderOptions, OrderRequest,
    OrderSide, PlotPane, PlotRefusal, PortfolioRules, Rejection, MAX_TAG_BYTES,
};
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

    /// `buy_limit`/`sell_limit`/`buy_stop`/`sell_stop`: `(id)` or `(false, reason)`.
    fn place(
        &self,
        side: OrderSide,
        kind: OrderKind,
        amount: &Value,
        price: &Value,
        opts: &Value,
    ) -> (Value, Option<String>) {
        let Some(ctx) = self.ctx() else {
            return (Value::Boolean(false), Some(Rejection::NoPrice.to_string()));
        };
        let rules = self.rules.borrow().clone();
        let Some(rules) = rules else {
            return (Value::Boolean(false), Some(Rejection::NoPrice.to_string()));
        };
        let what = match kind {
            OrderKind::Limit => "price",
            OrderKind::Stop => "trigger",
        };
        let checked = self.count_order().and_then(|()| {
            let quantity = rules
                .quantity_from_f64(number(amount).ok_or_else(|| Rejection::InvalidQuantity {
                    value: type_or_value(amount),
                })?)?;
            let price = level(what, price)?;
            let options = options(&rules, opts)?;
            Ok(OrderRequest { side, kind, quantity, price, options })
        });
        let result = match checked {
            Ok(request) => ctx.place_order(request),
            Err(rejection) => {
                ctx.record_rejection(&rejection);
                Err(rejection)
            }
        };
        match result {
            Ok(id) => (Value::Integer(i64::try_from(id).unwrap_or(i64::MAX)), None),
            Err(rejection) => (Value::Boolean(false), Some(rejection.to_string())),
        }
    }

    /// `set_stop_loss`/`set_take_profit`/`set_trailing_stop`: `true` or `(false, reason)`.
    fn set_exit(&self, kind: ExitKind, value: &Value) -> (bool, Option<String>) {
        let Some(ctx) = self.ctx() else {
            return refused(&Rejection::NoPosition);
        };
        let what = match kind {
            ExitKind::StopLoss => "stop_loss",
            ExitKind::TakeProfit => "take_profit",
            ExitKind::Trailing => "distance",
        };
        let parsed = match value {
            Value::Nil => Ok(None),
            other => match number(other) {
                Some(x) if kind == ExitKind::Trailing => decimal_from_f64(x)
                    .filter(|_| x.is_finite())
                    .map(Some)
                    .ok_or_else(|| Rejection::InvalidDistance { value: x.to_string() }),
                Some(_) => level(what, other).map(Some),
                None => Err(Rejection::InvalidPrice {
                    what: what.to_owned(),
                    value: type_or_value(other),
                }),
            },
        };
        outcome(parsed.and_then(|v| ctx.set_exit(kind, v)))
    }

    /// `cancel_order(id)`.
    fn cancel(&self, id: &Value) -> (bool, Option<String>) {
        let Some(ctx) = self.ctx() else {
            return refused(&Rejection::UnknownOrder { id: type_or_value(id) });
        };
        let parsed = match id {
            Value::Integer(i) => u64::try_from(*i).ok(),
            Value::Number(n) if n.fract() == 0.0 && *n >= 1.0 && *n < 9.0e15 => Some(*n as u64),
            _ => None,
        };
        match parsed {
            Some(n) if ctx.cancel_order(n) => (true, None),
            _ => {
                let shown = match id {
                    Value::Integer(i) => i.to_string(),
                    Value::Number(n) => n.to_string(),
                    other => type_or_value(other),
                };
                refused(&Rejection::UnknownOrder { id: shown })
            }
        }
    }

    /// `plot(name, value [, opts])`: `true` or `(false, reason)`; never raises.
    fn plot(&self, name: &Value, value: &Value, opts: &Value) -> (bool, Option<String>) {
        let Some(ctx) = self.ctx() else {
            return (false, Some(PlotRefusal::NoBar.to_string()));
        };
        let Value::String(name) = name else {
            return (
                false,
                Some(format!("plot name must be a string, got {}", type_or_value(name))),
            );
        };
        let Some(value) = number(value) else {
            return (false, Some(PlotRefusal::Value(type_or_value(value)).to_string()));
        };
        let pane = match opts {
            Value::Nil => PlotPane::Price,
            Value::Table(t) => match t.raw_get::<Value>("pane") {
                Ok(Value::Nil) => PlotPane::Price,
                Ok(Value::String(s)) if s.as_bytes().as_ref() == b"price" => PlotPane::Price,
                Ok(Value::String(s)) if s.as_bytes().as_ref() == b"own" => PlotPane::Own,
                Ok(other) => {
                    return (
                        false,
                        Some(format!(
                            "plot pane must be \"price\" or \"own\", got {}",
                            type_or_value(&other)
                        )),
                    )
                }
                Err(_) => return (false, Some("plot options could not be read".to_owned())),
            },
            other => {
                return (
                    false,
                    Some(format!("plot options must be a table, got {}", type_or_value(other))),
                )
            }
        };
        let bytes = name.as_bytes();
        let name = String::from_utf8_lossy(&bytes);
        match ctx.plot(&name, value, pane) {
            Ok(()) => (true, None),
            Err(refusal) => (false, Some(refusal.to_string())),
        }
    }

    /// `get_open_orders()`: an array of order tables.
    fn open_orders(&self, lua: &Lua) -> mlua::Result<Table> {
        let orders = self.ctx().map(|c| c.open_orders()).unwrap_or_default();
        let list = lua.create_table_with_capacity(orders.len(), 0)?;
        let f = cryptobt_domain::money::decimal_to_f64;
        for (i, o) in orders.iter().enumerate() {
            let t = lua.create_table_with_capacity(0, 8)?;
            t.raw_set("id", i64::try_from(o.id).unwrap_or(i64::MAX))?;
            t.raw_set("side", o.side.to_string())?;
            t.raw_set(
                "type",
                match o.kind {
                    OrderKind::Limit => "limit",
                    OrderKind::Stop => "stop",
                },
            )?;
            t.raw_set("amount", f(o.amount))?;
            t.raw_set("price", f(o.price))?;
            t.raw_set("leverage", f(o.leverage))?;
            t.raw_set("reduce_only", o.reduce_only)?;
            if let Some(tag) = &o.tag {
                t.raw_set("tag", tag.as_str())?;
            }
            list.raw_set(i + 1, t)?;
        }
        Ok(list)
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

/// A limit price, trigger or exit level: a finite number `> 0`.
fn level(what: &str, value: &Value) -> Result<Decimal, Rejection> {
    let invalid = |shown: String| Rejection::InvalidPrice { what: what.to_owned(), value: shown };
    let x = number(value).ok_or_else(|| invalid(type_or_value(value)))?;
    if !x.is_finite() || x <= 0.0 {
        return Err(invalid(x.to_string()));
    }
    decimal_from_f64(x).ok_or_else(|| invalid(x.to_string()))
}

/// The `opts` table of a placement: nil or a table with only the known keys, each checked.
fn options(rules: &PortfolioRules, opts: &Value) -> Result<OrderOptions, Rejection> {
    let bad = |reason: String| Rejection::InvalidOption { reason };
    let table = match opts {
        Value::Nil => return Ok(OrderOptions::default()),
        Value::Table(t) => t,
        other => return Err(bad(format!("opts must be a table, got {}", type_or_value(other)))),
    };
    let mut options = OrderOptions::default();
    for pair in table.pairs::<Value, Value>() {
        let (key, value) = pair.map_err(|_| bad("opts could not be read".to_owned()))?;
        let name = match &key {
            Value::String(s) => s.to_string_lossy(),
            other => return Err(bad(format!("unknown option key {}", type_or_value(other)))),
        };
        match name.as_str() {
            "leverage" => {
                let x = number(&value).ok_or_else(|| Rejection::InvalidLeverage {
                    value: type_or_value(&value),
                    mode: rules.mode,
                    max: rules.max_leverage,
                })?;
                options.leverage = Some(rules.leverage_from_f64(x)?);
            }
            "reduce_only" => match value {
                Value::Boolean(b) => options.reduce_only = b,
                other => {
                    return Err(bad(format!(
                        "reduce_only must be a boolean, got {}",
                        type_or_value(&other)
                    )))
                }
            },
            "stop_loss" => options.stop_loss = Some(level("stop_loss", &value)?),
            "take_profit" => options.take_profit = Some(level("take_profit", &value)?),
            "tag" => match value {
                Value::String(s) => {
                    let bytes = s.as_bytes();
                    if bytes.len() > MAX_TAG_BYTES {
                        return Err(bad(format!(
                            "tag is {} bytes, more than {MAX_TAG_BYTES}",
                            bytes.len()
                        )));
                    }
                    options.tag = Some(String::from_utf8_lossy(&bytes).into_owned());
                }
                other => {
                    return Err(bad(format!("tag must be a string, got {}", type_or_value(&other))))
                }
            },
            _ => {
                let shown: String = name.chars().take(40).collect();
                return Err(bad(format!(
                    "unknown option {shown:?} (known: leverage, reduce_only, stop_loss, take_profit, tag)"
                )));
            }
        }
    }
    Ok(options)
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

    let placements = [
        ("buy_limit", OrderSide::Buy, OrderKind::Limit),
        ("sell_limit", OrderSide::Sell, OrderKind::Limit),
        ("buy_stop", OrderSide::Buy, OrderKind::Stop),
        ("sell_stop", OrderSide::Sell, OrderKind::Stop),
    ];
    for (name, side, kind) in placements {
        let h = Rc::clone(host);
        let f = lua.create_function(move |_, (amount, price, opts): (Value, Value, Value)| {
            Ok(h.place(side, kind, &amount, &price, &opts))
        })?;
        globals.raw_set(name, f)?;
    }
    let exits = [
        ("set_stop_loss", ExitKind::StopLoss),
        ("set_take_profit", ExitKind::TakeProfit),
        ("set_trailing_stop", ExitKind::Trailing),
    ];
    for (name, kind) in exits {
        let h = Rc::clone(host);
        let f = lua.create_function(move |_, value: Value| Ok(h.set_exit(kind, &value)))?;
        globals.raw_set(name, f)?;
    }
    let h = Rc::clone(host);
    globals.raw_set("cancel_order", lua.create_function(move |_, id: Value| Ok(h.cancel(&id)))?)?;
    let h = Rc::clone(host);
    globals.raw_set(
        "cancel_all_orders",
        lua.create_function(move |_, ()| {
            Ok(h.ctx().map_or(0, |c| i64::try_from(c.cancel_all_orders()).unwrap_or(0)))
        })?,
    )?;
    let h = Rc::clone(host);
    globals.raw_set("get_open_orders", lua.create_function(move |lua, ()| h.open_orders(lua))?)?;
    let h = Rc::clone(host);
    globals.raw_set(
        "plot",
        lua.create_function(move |_, (name, value, opts): (Value, Value, Value)| {
            Ok(h.plot(&name, &value, &opts))
        })?,
    )?;

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
