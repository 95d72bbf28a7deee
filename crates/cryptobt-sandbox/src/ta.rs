//! The `ta` table: constructors of the streaming indicators as Lua userdata with an `update`
//! method (`local s = ta.sma(20); local v = s:update(bar.close)`), `nil` until TA-Lib would
//! give a value.

use mlua::{Lua, MultiValue, Table, UserData, UserDataMethods, Value};

use crate::indicators::{Atr, Bbands, Ema, Extreme, Macd, Rsi, Sma, StdDev, MAX_PERIOD};

struct LuaSma(Sma);
struct LuaEma(Ema);
struct LuaRsi(Rsi);
struct LuaStdDev(StdDev);
struct LuaExtreme(Extreme);
struct LuaAtr(Atr);
struct LuaBbands(Bbands);
struct LuaMacd(Macd);

macro_rules! single {
    ($ty:ident) => {
        impl UserData for $ty {
            fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
                methods.add_method_mut("update", |_, this, x: f64| Ok(this.0.update(x)));
            }
        }
    };
}
single!(LuaSma);
single!(LuaEma);
single!(LuaRsi);
single!(LuaStdDev);
single!(LuaExtreme);

impl UserData for LuaAtr {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method_mut("update", |_, this, (h, l, c): (f64, f64, f64)| {
            Ok(this.0.update(h, l, c))
        });
    }
}

fn three(values: Option<(f64, f64, f64)>) -> MultiValue {
    match values {
        Some((a, b, c)) => {
            MultiValue::from_iter([Value::Number(a), Value::Number(b), Value::Number(c)])
        }
        None => MultiValue::from_iter([Value::Nil]),
    }
}

impl UserData for LuaBbands {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method_mut("update", |_, this, x: f64| Ok(three(this.0.update(x))));
    }
}

impl UserData for LuaMacd {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method_mut("update", |_, this, x: f64| Ok(three(this.0.update(x))));
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

/// Builds the `ta` table.
pub(crate) fn table(lua: &Lua) -> mlua::Result<Table> {
    let ta = lua.create_table()?;
    ta.raw_set(
        "sma",
        lua.create_function(|_, n: Value| Ok(LuaSma(Sma::new(period("ta.sma", &n, 1)?))))?,
    )?;
    ta.raw_set(
        "ema",
        lua.create_function(|_, n: Value| Ok(LuaEma(Ema::new(period("ta.ema", &n, 1)?))))?,
    )?;
    ta.raw_set(
        "rsi",
        lua.create_function(|_, n: Value| Ok(LuaRsi(Rsi::new(period("ta.rsi", &n, 2)?))))?,
    )?;
    ta.raw_set(
        "atr",
        lua.create_function(|_, n: Value| Ok(LuaAtr(Atr::new(period("ta.atr", &n, 1)?))))?,
    )?;
    ta.raw_set(
        "stddev",
        lua.create_function(|_, n: Value| Ok(LuaStdDev(StdDev::new(period("ta.stddev", &n, 2)?))))?,
    )?;
    ta.raw_set(
        "highest",
        lua.create_function(|_, n: Value| {
            Ok(LuaExtreme(Extreme::highest(period("ta.highest", &n, 2)?)))
        })?,
    )?;
    ta.raw_set(
        "lowest",
        lua.create_function(|_, n: Value| {
            Ok(LuaExtreme(Extreme::lowest(period("ta.lowest", &n, 2)?)))
        })?,
    )?;
    ta.raw_set(
        "bbands",
        lua.create_function(|_, (n, k): (Value, Value)| {
            Ok(LuaBbands(Bbands::new(period("ta.bbands", &n, 2)?, width(&k)?)))
        })?,
    )?;
    ta.raw_set(
        "macd",
        lua.create_function(|_, (f, s, sig): (Value, Value, Value)| {
            let fast = period("ta.macd fast", &f, 2)?;
            let slow = period("ta.macd slow", &s, 2)?;
            let signal = period("ta.macd signal", &sig, 1)?;
            Ok(LuaMacd(Macd::new(fast, slow, signal)))
        })?,
    )?;
    Ok(ta)
}
