//! The strategy API of docs/strategy-api.md as host functions: every argument is checked in Rust, orders
//! and figures go through the run's `StrategyContext`, and a refused order returns
//! `false, reason` instead of raising.

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
};

use cryptobt_domain::{
    money::decimal_from_f64,
    ports::{HistoryRefusal, SharedContext, MAX_HISTORY},
    Bar, ExitKind, OrderKind, OrderOptions, OrderRequest, OrderSide, PlotPane, PlotRefusal,
    PortfolioRules, Rejection, Symbol, Timeframe, MAX_TAG_BYTES,
};
use mlua::{IntoLuaMulti, Lua, MultiValue, Table, Value, Variadic};
use rust_decimal::Decimal;

/// The run's side of the API: the context (set when the engine hands it over), the cached rules
/// and the per-run caps the sandbox enforces itself.
pub(crate) struct Host {
    /// The run's symbols, the primary first (the global functions act on the primary).
    symbols: Vec<Symbol>,
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
    pub(crate) fn new(symbols: Vec<Symbol>, max_orders_per_bar: u32, max_log_bytes: usize) -> Self {
        Self {
            symbols,
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

    /// The primary symbol.
    fn primary(&self) -> Symbol {
        self.symbols[0]
    }

    /// `buy`/`sell`: `(true)` or `(false, reason)`.
    fn order(
        &self,
        symbol: Symbol,
        side: OrderSide,
        amount: &Value,
        leverage: &Value,
    ) -> (bool, Option<String>) {
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
            Ok((quantity, leverage)) => outcome(ctx.submit(symbol, side, quantity, leverage)),
            Err(rejection) => {
                ctx.record_rejection(&rejection);
                refused(&rejection)
            }
        }
    }

    /// `close_position([percentage])`.
    fn close(&self, symbol: Symbol, percentage: &Value) -> (bool, Option<String>) {
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
            Ok(pct) => outcome(ctx.close_position(symbol, pct)),
            Err(rejection) => {
                ctx.record_rejection(&rejection);
                refused(&rejection)
            }
        }
    }

    /// `buy_limit`/`sell_limit`/`buy_stop`/`sell_stop`: `(id)` or `(false, reason)`.
    fn place(
        &self,
        symbol: Symbol,
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
            Ok(request) => ctx.place_order(symbol, request),
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
    fn set_exit(&self, symbol: Symbol, kind: ExitKind, value: &Value) -> (bool, Option<String>) {
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
        outcome(parsed.and_then(|v| ctx.set_exit(symbol, kind, v)))
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
        let levels = match opts {
            Value::Table(t) => match t.raw_get::<Value>("levels") {
                Ok(Value::Nil) => None,
                Ok(Value::Table(list)) => {
                    let mut levels = Vec::new();
                    for item in list.sequence_values::<Value>() {
                        match item.ok().as_ref().and_then(number) {
                            Some(x) => levels.push(x),
                            None => {
                                return (
                                    false,
                                    Some(
                                        PlotRefusal::Levels("a list with a non-number".into())
                                            .to_string(),
                                    ),
                                )
                            }
                        }
                    }
                    Some(levels)
                }
                Ok(other) => {
                    return (false, Some(PlotRefusal::Levels(type_or_value(&other)).to_string()))
                }
                Err(_) => return (false, Some("plot options could not be read".to_owned())),
            },
            _ => None,
        };
        let bytes = name.as_bytes();
        let name = String::from_utf8_lossy(&bytes);
        match ctx.plot(&name, value, pane, levels.as_deref()) {
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
            let t = lua.create_table_with_capacity(0, 9)?;
            t.raw_set("id", i64::try_from(o.id).unwrap_or(i64::MAX))?;
            t.raw_set("symbol", o.symbol.as_str())?;
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

    fn figure(
        &self,
        symbol: Symbol,
        read: impl Fn(&SharedContext, Symbol) -> Option<Decimal>,
        flat: f64,
    ) -> f64 {
        self.ctx()
            .and_then(|c| read(&c, symbol))
            .map_or(flat, cryptobt_domain::money::decimal_to_f64)
    }

    /// The symbol a handle names: its `symbol` field, which must be one of the run's.
    fn handle_symbol(&self, handle: &Value, call: &str) -> mlua::Result<Symbol> {
        let name = match handle {
            Value::Table(t) => t.raw_get::<Value>("symbol")?,
            _ => Value::Nil,
        };
        let Value::String(name) = name else {
            return Err(mlua::Error::runtime(format!(
                "{call} is a method of a market handle: call it as m:{call}(...)"
            )));
        };
        self.symbol_named(&name.to_string_lossy())
    }

    /// One of the run's symbols by name; an error naming the run's symbols otherwise.
    fn symbol_named(&self, name: &str) -> mlua::Result<Symbol> {
        self.symbols.iter().copied().find(|s| s.as_str() == name).ok_or_else(|| {
            let known: Vec<&str> = self.symbols.iter().map(Symbol::as_str).collect();
            let shown: String = name.chars().take(40).collect();
            mlua::Error::runtime(format!(
                "{shown:?} is not a symbol of this run (its symbols: {})",
                known.join(", ")
            ))
        })
    }

    /// `history(n [, timeframe])` of `symbol`: an array of fresh bar tables, oldest first.
    fn history(
        &self,
        lua: &Lua,
        symbol: Symbol,
        n: &Value,
        timeframe: &Value,
    ) -> mlua::Result<Table> {
        let count = match n {
            Value::Integer(i) if (1..=MAX_HISTORY as i64).contains(i) => *i as usize,
            Value::Number(x) if x.fract() == 0.0 && *x >= 1.0 && *x <= MAX_HISTORY as f64 => {
                *x as usize
            }
            other => {
                let shown = match other {
                    Value::Integer(i) => i.to_string(),
                    Value::Number(x) => x.to_string(),
                    v => type_or_value(v),
                };
                return Err(mlua::Error::runtime(HistoryRefusal::Count(shown).to_string()));
            }
        };
        let timeframe = match timeframe {
            Value::Nil => None,
            Value::String(s) => {
                let text = s.to_string_lossy();
                Some(text.parse::<Timeframe>().map_err(|_| {
                    let shown: String = text.chars().take(20).collect();
                    mlua::Error::runtime(format!(
                        "history: unknown timeframe {shown:?} (known: 1m, 5m, 15m, 1h, 4h, 1d)"
                    ))
                })?)
            }
            other => {
                return Err(mlua::Error::runtime(format!(
                    "history: timeframe must be a string such as \"4h\", got {}",
                    type_or_value(other)
                )))
            }
        };
        let bars = match self.ctx() {
            Some(ctx) => ctx
                .history(symbol, count, timeframe)
                .map_err(|e| mlua::Error::runtime(e.to_string()))?,
            None => Vec::new(),
        };
        let list = lua.create_table_with_capacity(bars.len(), 0)?;
        for (i, bar) in bars.iter().enumerate() {
            list.raw_set(i + 1, bar_table(lua, bar)?)?;
        }
        Ok(list)
    }

    /// This step's bar of `symbol` as a fresh table; `nil` before the first bar.
    fn bar(&self, lua: &Lua, symbol: Symbol) -> mlua::Result<Value> {
        match self.ctx().and_then(|c| c.bar(symbol)) {
            Some(bar) => Ok(Value::Table(bar_table(lua, &bar)?)),
            None => Ok(Value::Nil),
        }
    }

    /// `size_for_equity(pct [, leverage [, price]])`: `equity × pct / 100 × leverage / price`.
    fn size_for_equity(
        &self,
        symbol: Symbol,
        pct: &Value,
        leverage: &Value,
        price: &Value,
    ) -> mlua::Result<f64> {
        let pct = argument("size_for_equity", "pct", pct)?;
        let leverage = match leverage {
            Value::Nil => 1.0,
            other => argument("size_for_equity", "leverage", other)?,
        };
        let price = match price {
            Value::Nil => self
                .ctx()
                .and_then(|c| c.bar(symbol))
                .map(|b| cryptobt_domain::money::decimal_to_f64(b.close))
                .ok_or_else(|| {
                    mlua::Error::runtime("size_for_equity: no price before the first bar; pass one")
                })?,
            other => argument("size_for_equity", "price", other)?,
        };
        Ok(self.equity() * pct / 100.0 * leverage / price)
    }

    /// `size_for_risk(pct, entry, stop)`: `equity × pct / 100 / |entry − stop|`.
    fn size_for_risk(&self, pct: &Value, entry: &Value, stop: &Value) -> mlua::Result<f64> {
        let pct = argument("size_for_risk", "pct", pct)?;
        let entry = argument("size_for_risk", "entry", entry)?;
        let stop = argument("size_for_risk", "stop", stop)?;
        Ok(self.equity() * pct / 100.0 / (entry - stop).abs())
    }

    fn equity(&self) -> f64 {
        self.figure(self.primary(), |c, _| Some(c.equity()), 0.0)
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

/// A number argument of a sizing helper; an error naming it otherwise.
fn argument(call: &str, name: &str, value: &Value) -> mlua::Result<f64> {
    number(value).ok_or_else(|| {
        mlua::Error::runtime(format!(
            "{call}: {name} must be a number, got {}",
            type_or_value(value)
        ))
    })
}

/// A bar as the table `on_data` gets.
fn bar_table(lua: &Lua, bar: &Bar) -> mlua::Result<Table> {
    let f = cryptobt_domain::money::decimal_to_f64;
    let t = lua.create_table_with_capacity(0, 6)?;
    t.raw_set("timestamp", bar.timestamp)?;
    t.raw_set("open", f(bar.open))?;
    t.raw_set("high", f(bar.high))?;
    t.raw_set("low", f(bar.low))?;
    t.raw_set("close", f(bar.close))?;
    t.raw_set("volume", f(bar.volume))?;
    Ok(t)
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
        // An error caught by `pcall` from a host function: its message.
        Value::Error(e) => match e.as_ref() {
            mlua::Error::RuntimeError(message) => message.clone(),
            other => other.to_string(),
        },
        other => other.type_name().to_owned(),
    }
}

/// A call of the API that acts on one symbol: a global function on the primary, a method of a
/// `market(sym)` handle on the handle's.
#[derive(Debug, Clone, Copy)]
enum Call {
    Order(OrderSide),
    Close,
    Place(OrderSide, OrderKind),
    Exit(ExitKind),
    Figure(Figure),
    History,
    SizeForEquity,
    SizeForRisk,
}

/// A figure of one position.
#[derive(Debug, Clone, Copy)]
enum Figure {
    Size,
    Entry,
    Unrealized,
    Leverage,
    MarginRatio,
}

/// Every per-symbol call by its Lua name.
const CALLS: [(&str, Call); 18] = [
    ("buy", Call::Order(OrderSide::Buy)),
    ("sell", Call::Order(OrderSide::Sell)),
    ("close_position", Call::Close),
    ("buy_limit", Call::Place(OrderSide::Buy, OrderKind::Limit)),
    ("sell_limit", Call::Place(OrderSide::Sell, OrderKind::Limit)),
    ("buy_stop", Call::Place(OrderSide::Buy, OrderKind::Stop)),
    ("sell_stop", Call::Place(OrderSide::Sell, OrderKind::Stop)),
    ("set_stop_loss", Call::Exit(ExitKind::StopLoss)),
    ("set_take_profit", Call::Exit(ExitKind::TakeProfit)),
    ("set_trailing_stop", Call::Exit(ExitKind::Trailing)),
    ("get_position_size", Call::Figure(Figure::Size)),
    ("get_entry_price", Call::Figure(Figure::Entry)),
    ("get_unrealized_pnl", Call::Figure(Figure::Unrealized)),
    ("get_leverage", Call::Figure(Figure::Leverage)),
    ("get_margin_ratio", Call::Figure(Figure::MarginRatio)),
    ("history", Call::History),
    ("size_for_equity", Call::SizeForEquity),
    ("size_for_risk", Call::SizeForRisk),
];

impl Host {
    /// Runs `call` on `symbol` with the Lua arguments `args`.
    fn dispatch(
        &self,
        lua: &Lua,
        call: Call,
        symbol: Symbol,
        args: &MultiValue,
    ) -> mlua::Result<MultiValue> {
        let arg = |i: usize| args.get(i).unwrap_or(&Value::Nil);
        match call {
            Call::Order(side) => self.order(symbol, side, arg(0), arg(1)).into_lua_multi(lua),
            Call::Close => self.close(symbol, arg(0)).into_lua_multi(lua),
            Call::Place(side, kind) => {
                self.place(symbol, side, kind, arg(0), arg(1), arg(2)).into_lua_multi(lua)
            }
            Call::Exit(kind) => self.set_exit(symbol, kind, arg(0)).into_lua_multi(lua),
            Call::Figure(figure) => {
                let value = match figure {
                    Figure::Size => self.figure(symbol, |c, s| Some(c.position_size(s)), 0.0),
                    Figure::Entry => self.figure(symbol, |c, s| c.entry_price(s), 0.0),
                    Figure::Unrealized => {
                        self.figure(symbol, |c, s| Some(c.unrealized_pnl(s)), 0.0)
                    }
                    Figure::Leverage => self.figure(symbol, |c, s| Some(c.leverage(s)), 0.0),
                    Figure::MarginRatio => {
                        self.figure(symbol, |c, s| c.margin_ratio(s), f64::INFINITY)
                    }
                };
                value.into_lua_multi(lua)
            }
            Call::History => self.history(lua, symbol, arg(0), arg(1))?.into_lua_multi(lua),
            Call::SizeForEquity => {
                self.size_for_equity(symbol, arg(0), arg(1), arg(2))?.into_lua_multi(lua)
            }
            Call::SizeForRisk => self.size_for_risk(arg(0), arg(1), arg(2))?.into_lua_multi(lua),
        }
    }
}

/// Registers the API in `globals` (before the VM is sealed).
pub(crate) fn register(lua: &Lua, globals: &Table, host: &Rc<Host>) -> mlua::Result<()> {
    let methods = lua.create_table()?;
    for (name, call) in CALLS {
        let h = Rc::clone(host);
        let global = lua.create_function(move |lua, args: MultiValue| {
            h.dispatch(lua, call, h.primary(), &args)
        })?;
        globals.raw_set(name, global)?;
        let h = Rc::clone(host);
        let method = lua.create_function(move |lua, mut args: MultiValue| {
            let handle = args.pop_front().unwrap_or(Value::Nil);
            let symbol = h.handle_symbol(&handle, name)?;
            h.dispatch(lua, call, symbol, &args)
        })?;
        methods.raw_set(name, method)?;
    }

    // `market(sym)`: one handle per symbol, its `bar` read when asked.
    let handles = lua.create_table()?;
    let meta = lua.create_table()?;
    let h = Rc::clone(host);
    let index = lua.create_function(move |lua, (handle, key): (Table, Value)| {
        if let Value::String(k) = &key {
            if k.as_bytes().as_ref() == b"bar" {
                let symbol = h.handle_symbol(&Value::Table(handle), "bar")?;
                return h.bar(lua, symbol);
            }
        }
        methods.raw_get::<Value>(key)
    })?;
    meta.raw_set("__index", index)?;
    meta.raw_set(
        "__newindex",
        lua.create_function(|_, ()| -> mlua::Result<()> {
            Err(mlua::Error::runtime("a market handle is read-only"))
        })?,
    )?;
    meta.raw_set("__metatable", false)?;
    let h = Rc::clone(host);
    let market = lua.create_function(move |lua, name: Value| {
        let Value::String(text) = &name else {
            return Err(mlua::Error::runtime(format!(
                "market(sym): sym must be a symbol name, got {}",
                type_or_value(&name)
            )));
        };
        let symbol = h.symbol_named(&text.to_string_lossy())?;
        if let Value::Table(handle) = handles.raw_get::<Value>(symbol.as_str())? {
            return Ok(handle);
        }
        let handle = lua.create_table_with_capacity(0, 1)?;
        handle.raw_set("symbol", symbol.as_str())?;
        handle.set_metatable(Some(meta.clone()))?;
        handles.raw_set(symbol.as_str(), &handle)?;
        Ok(handle)
    })?;
    globals.raw_set("market", market)?;

    // `bars`: each symbol's bar of the step, built when read.
    let bars = lua.create_table()?;
    let bars_meta = lua.create_table()?;
    let h = Rc::clone(host);
    bars_meta.raw_set(
        "__index",
        lua.create_function(move |lua, (_, key): (Value, Value)| match &key {
            Value::String(name) => match h.symbol_named(&name.to_string_lossy()) {
                Ok(symbol) => h.bar(lua, symbol),
                Err(_) => Ok(Value::Nil),
            },
            _ => Ok(Value::Nil),
        })?,
    )?;
    bars_meta.raw_set(
        "__newindex",
        lua.create_function(|_, ()| -> mlua::Result<()> {
            Err(mlua::Error::runtime("bars is read-only"))
        })?,
    )?;
    let h = Rc::clone(host);
    let entries = lua.create_function(move |lua, ()| {
        let all = lua.create_table()?;
        for symbol in &h.symbols {
            all.raw_set(symbol.as_str(), h.bar(lua, *symbol)?)?;
        }
        Ok(all)
    })?;
    bars_meta.raw_set("__metatable", false)?;
    bars.set_metatable(Some(bars_meta.clone()))?;
    let proxy: Table = lua
        .load(BARS)
        .set_name("=host")
        .set_mode(mlua::chunk::ChunkMode::Text)
        .call((bars, bars_meta, entries))?;
    globals.raw_set("bars", proxy)?;

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
    for (name, portfolio) in [("get_cash", true), ("get_equity", false)] {
        let h = Rc::clone(host);
        let f = lua.create_function(move |_, ()| {
            Ok(h.figure(
                h.primary(),
                |c, _| Some(if portfolio { c.cash() } else { c.equity() }),
                0.0,
            ))
        })?;
        globals.raw_set(name, f)?;
    }
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

/// `pairs(bars)` and `for sym, bar in bars` list every symbol's bar (the table itself is empty:
/// its bars are built when read).
const BARS: &str = r#"
local bars, meta, entries = ...
local wrappedpairs, wrappednext = pairs, next
meta.__iter = function()
    return wrappednext, entries()
end
pairs = function(t)
    if rawequal(t, bars) then
        return wrappednext, entries(), nil
    end
    return wrappedpairs(t)
end
return bars
"#;
