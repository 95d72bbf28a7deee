//! The `ta` table: constructors of the streaming indicators (`local s = ta.sma(20)`), each an
//! object whose `update` method feeds one bar (`s:update(bar.close)`) and returns `nil` until
//! TA-Lib would give a value.
//!
//! An indicator is a small Lua table whose `update` is a Rust closure owning the state. The
//! method's `self` is taken as a `bool` — read straight off the stack, never turned into a table
//! handle — which makes the per-bar call cheaper than a userdata method (no borrow, no type
//! check) or any conversion of the table.

use std::rc::Rc;

use mlua::{Lua, MultiValue, Table, Value};

use crate::guard::Guard;

use cryptobt_indicators::{Atr, Bbands, Ema, Extreme, Macd, Rsi, Sma, StdDev, MAX_PERIOD};

/// An indicator object: a table whose `update` is `update`.
fn object(lua: &Lua, update: mlua::Function) -> mlua::Result<Table> {
    let object = lua.create_table_with_capacity(0, 1)?;
    object.raw_set("update", update)?;
    Ok(object)
}

/// The error of `update` called without a number: most often `s.update(x)` written with a dot,
/// which passes `x` as `self` and nothing as the value.
fn not_a_number() -> mlua::Error {
    mlua::Error::runtime(
        "indicator update needs a number, got nil: call it with a colon, s:update(x), not s.update(x)",
    )
}

/// An indicator object whose `update(self, x)` feeds `x` to `step`.
fn single(lua: &Lua, mut step: impl FnMut(f64) -> Option<f64> + 'static) -> mlua::Result<Table> {
    object(
        lua,
        lua.create_function_mut(move |_, (_this, x): (bool, Option<f64>)| {
            x.map(&mut step).ok_or_else(not_a_number)
        })?,
    )
}

fn three(values: Option<(f64, f64, f64)>) -> MultiValue {
    match values {
        Some((a, b, c)) => {
            MultiValue::from_iter([Value::Number(a), Value::Number(b), Value::Number(c)])
        }
        None => MultiValue::from_iter([Value::Nil]),
    }
}

/// A period argument: an integer from `min` to [`MAX_PERIOD`].
fn period(name: &str, value: &Value, min: usize) -> mlua::Result<usize> {
    let n = match value {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(n) => Some(*n),
        _ => None,
    };
    match n {
        Some(n) if n.fract() == 0.0 && n >= min as f64 && n <= MAX_PERIOD as f64 => Ok(n as usize),
        _ => Err(mlua::Error::runtime(format!(
            "{name}: period must be an integer from {min} to {MAX_PERIOD}, got {}",
            match value {
                Value::Integer(i) => i.to_string(),
                Value::Number(n) => n.to_string(),
                other => format!("a {}", other.type_name()),
            }
        ))),
    }
}

fn width(value: &Value) -> mlua::Result<f64> {
    let k = match value {
        Value::Nil => Some(2.0),
        Value::Integer(i) => Some(*i as f64),
        Value::Number(n) => Some(*n),
        _ => None,
    };
    k.filter(|k| k.is_finite() && *k > 0.0 && *k <= 100.0).ok_or_else(|| {
        mlua::Error::runtime("ta.bbands: the deviation multiplier must be a number in (0, 100]")
    })
}

/// Host bytes an indicator over `periods` values may hold: its windows (a `VecDeque<f64>` each,
/// two at most) and the closure around it. Charged to the run's memory budget when it is made.
fn footprint(periods: usize) -> usize {
    periods.saturating_mul(16).saturating_add(512)
}

/// Builds the `ta` table; every indicator made is charged to `guard`'s memory budget.
pub(crate) fn table(lua: &Lua, guard: &Rc<Guard>) -> mlua::Result<Table> {
    let ta = lua.create_table()?;
    macro_rules! one {
        ($name:literal, $min:expr, $make:expr) => {
            let g = Rc::clone(guard);
            ta.raw_set(
                $name,
                lua.create_function(move |lua, n: Value| {
                    let n = period(concat!("ta.", $name), &n, $min)?;
                    g.charge(lua, footprint(n))?;
                    let mut indicator = $make(n);
                    single(lua, move |x| indicator.update(x))
                })?,
            )?;
        };
    }
    one!("sma", 1, Sma::new);
    one!("ema", 1, Ema::new);
    one!("rsi", 2, Rsi::new);
    one!("stddev", 2, StdDev::new);
    one!("highest", 2, Extreme::highest);
    one!("lowest", 2, Extreme::lowest);
    let g = Rc::clone(guard);
    ta.raw_set(
        "atr",
        lua.create_function(move |lua, n: Value| {
            let n = period("ta.atr", &n, 1)?;
            g.charge(lua, footprint(n))?;
            let mut atr = Atr::new(n);
            object(
                lua,
                lua.create_function_mut(
                    move |_, (_this, h, l, c): (bool, Option<f64>, Option<f64>, Option<f64>)| {
                        match (h, l, c) {
                            (Some(h), Some(l), Some(c)) => Ok(atr.update(h, l, c)),
                            _ => Err(not_a_number()),
                        }
                    },
                )?,
            )
        })?,
    )?;
    let g = Rc::clone(guard);
    ta.raw_set(
        "bbands",
        lua.create_function(move |lua, (n, k): (Value, Value)| {
            let n = period("ta.bbands", &n, 2)?;
            let k = width(&k)?;
            g.charge(lua, footprint(n))?;
            let mut bands = Bbands::new(n, k);
            object(
                lua,
                lua.create_function_mut(move |_, (_this, x): (bool, Option<f64>)| {
                    Ok(three(bands.update(x.ok_or_else(not_a_number)?)))
                })?,
            )
        })?,
    )?;
    let g = Rc::clone(guard);
    ta.raw_set(
        "macd",
        lua.create_function(move |lua, (f, s, sig): (Value, Value, Value)| {
            let fast = period("ta.macd fast", &f, 2)?;
            let slow = period("ta.macd slow", &s, 2)?;
            let signal = period("ta.macd signal", &sig, 1)?;
            g.charge(lua, footprint(fast + slow + signal))?;
            let mut macd = Macd::new(fast, slow, signal);
            object(
                lua,
                lua.create_function_mut(move |_, (_this, x): (bool, Option<f64>)| {
                    Ok(three(macd.update(x.ok_or_else(not_a_number)?)))
                })?,
            )
        })?,
    )?;
    Ok(ta)
}
