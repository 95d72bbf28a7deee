//! Building one run's Luau VM: only the allowed libraries, the memory cap, the interrupt, the
//! host API, the `pcall` wrappers that re-raise a tripped limit, then the sealed sandbox and the
//! strategy loaded as text.

use std::rc::Rc;

use cryptobt_domain::{
    ports::{StrategyError, StrategyLimits},
    ErrorCode, ParamValue, Params, Symbol,
};
use mlua::{chunk::ChunkMode, Function, Lua, LuaOptions, StdLib, Value, VmState};

use crate::{
    errors::{classify, error},
    guard::{Guard, Trip},
    host::{self, Host},
    ta,
};

/// Globals the base library brings that a strategy must not have (docs/strategy-api.md).
const REMOVED: &[&str] = &[
    "load",
    "loadstring",
    "dofile",
    "loadfile",
    "require",
    "collectgarbage",
    "getfenv",
    "setfenv",
    "newproxy",
    "gcinfo",
    "debug",
    "os",
    "io",
    "package",
    "coroutine",
    "buffer",
    "vector",
];

/// The error a memory-limit failure carries inside the VM.
const MEMORY_ERROR: &str = "not enough memory";

/// `pcall`/`xpcall` that re-raise once a limit has tripped (or memory ran out), so a script cannot
/// catch its way past a limit; and the per-bar entry point, which builds the bar table in Lua
/// (far cheaper than six table writes from Rust) and updates `timestamp` and `current_price`.
const PRELUDE: &str = r#"
local rawpcall, rawxpcall, tripped = pcall, xpcall, ...
local function pass(ok, ...)
    if not ok and tripped((...)) then
        error((...), 0)
    end
    return ok, ...
end
pcall = function(f, ...) return pass(rawpcall(f, ...)) end
xpcall = function(f, handler, ...) return pass(rawxpcall(f, handler, ...)) end
"#;

/// `params` as a read-only proxy that notes each name read (indexing it counts that name,
/// iterating it with `pairs`, `next` or `for ... in params` counts every name), so a run can say
/// which of its params the strategy never read. The noted names live in `read`, a table no
/// script can reach.
const PARAMS: &str = r#"
local values, read = ...
local rawpairs, rawnext = pairs, next
local function all()
    for k in rawnext, values do read[k] = true end
end
local proxy = setmetatable({}, {
    __index = function(_, k)
        read[k] = true
        return values[k]
    end,
    __newindex = function() error("attempt to modify a readonly table: params", 2) end,
    __iter = function()
        all()
        return rawnext, values
    end,
    __metatable = false,
})
pairs = function(t)
    if rawequal(t, proxy) then
        all()
        return rawnext, values, nil
    end
    return rawpairs(t)
end
next = function(t, k)
    if rawequal(t, proxy) then
        all()
        return rawnext(values, k)
    end
    return rawnext(t, k)
end
return proxy
"#;

/// The registry key of the names the strategy read from `params`.
pub(crate) const PARAMS_READ: &str = "cryptobt.params_read";

const FEED: &str = r#"
local on_data = ...
return function(t, o, h, l, c, v)
    timestamp = t
    current_price = c
    on_data({ timestamp = t, open = o, high = h, low = l, close = c, volume = v })
end
"#;

/// A loaded strategy: the VM, its entry points and its limits.
pub(crate) struct Vm {
    /// Kept for its lifetime: the functions below belong to it.
    pub(crate) lua: Lua,
    pub(crate) guard: Rc<Guard>,
    pub(crate) host: Rc<Host>,
    pub(crate) initialize: Option<Function>,
    pub(crate) feed: Function,
}

fn fail(e: &mlua::Error, guard: &Guard) -> StrategyError {
    classify(e, guard)
}

/// Builds the VM, loads `source` (running its top level) and finds its entry points.
pub(crate) fn build(
    source: &str,
    symbols: &[Symbol],
    params: &Params,
    limits: &StrategyLimits,
) -> Result<Vm, StrategyError> {
    let guard =
        Rc::new(Guard::new(limits.max_duration, limits.memory_bytes, limits.cancel.clone()));
    let symbols = if symbols.is_empty() {
        return Err(error(ErrorCode::RuntimeError, "a strategy needs at least one symbol"));
    } else {
        symbols.to_vec()
    };
    let symbol = symbols[0];
    let host = Rc::new(Host::new(symbols, limits.max_orders_per_bar, limits.max_log_bytes));
    let libs = StdLib::STRING | StdLib::TABLE | StdLib::MATH | StdLib::UTF8 | StdLib::BIT;
    let lua = Lua::new_with(libs, LuaOptions::new()).map_err(|e| fail(&e, &guard))?;
    // A GC goal of 400 % (Luau's default is 200 %): a per-bar strategy allocates a bar table per
    // bar, and collecting less often costs less; the memory cap still bounds the heap.
    lua.gc_set_mode(mlua::state::GcMode::Incremental(
        mlua::state::GcIncParams::default().goal(400),
    ));
    lua.set_memory_limit(limits.memory_bytes).map_err(|e| {
        error(ErrorCode::RuntimeError, &format!("cannot cap the strategy's memory: {e}"))
    })?;
    let g = Rc::clone(&guard);
    lua.set_interrupt(move |_| match g.check() {
        Ok(()) => Ok(VmState::Continue),
        Err(trip) => Err(mlua::Error::runtime(g.message(trip))),
    });
    prepare(&lua, symbol, params, &guard, &host).map_err(|e| fail(&e, &guard))?;
    lua.sandbox(true).map_err(|e| fail(&e, &guard))?;

    lua.load(source)
        .set_name("=strategy")
        .set_mode(ChunkMode::Text)
        .exec()
        .map_err(|e| fail(&e, &guard))?;
    let env = lua.globals();
    let entry = |name: &str, required: bool| -> Result<Option<Function>, StrategyError> {
        match env.raw_get::<Value>(name).map_err(|e| fail(&e, &guard))? {
            Value::Function(f) => Ok(Some(f)),
            Value::Nil if !required => Ok(None),
            Value::Nil => Err(error(
                ErrorCode::InvalidStrategy,
                &format!("the strategy must define function {name}(bar)"),
            )),
            other => Err(StrategyError {
                code: ErrorCode::InvalidStrategy,
                message: format!("{name} must be a function, got a {}", other.type_name()),
                line: assignment_line(source, name),
            }),
        }
    };
    let on_data = entry("on_data", true)?.unwrap_or_else(|| unreachable!("required entry"));
    let initialize = entry("initialize", false)?;
    let feed = lua
        .load(FEED)
        .set_name("=host")
        .set_mode(ChunkMode::Text)
        .call::<Function>(on_data)
        .map_err(|e| fail(&e, &guard))?;
    Ok(Vm { lua, guard, host, initialize, feed })
}

/// Everything done before the sandbox is sealed (after it, globals and libraries are read-only).
fn prepare(
    lua: &Lua,
    symbol: Symbol,
    params: &Params,
    guard: &Rc<Guard>,
    host: &Rc<Host>,
) -> mlua::Result<()> {
    let globals = lua.globals();
    for name in REMOVED {
        globals.raw_set(*name, Value::Nil)?;
    }
    if let Value::Table(string) = globals.raw_get::<Value>("string")? {
        string.raw_set("dump", Value::Nil)?;
    }
    // A fixed seed: the same run gives the same numbers.
    if let Value::Table(math) = globals.raw_get::<Value>("math")? {
        if let Value::Function(seed) = math.raw_get::<Value>("randomseed")? {
            seed.call::<()>(0x5eed_i64)?;
        }
    }
    host::register(lua, &globals, host)?;
    globals.raw_set("ta", ta::table(lua, guard)?)?;
    globals.raw_set("symbol", symbol.as_str())?;
    let values = lua.create_table()?;
    for (name, value) in params {
        match value {
            ParamValue::Number(n) => values.raw_set(name.as_str(), *n)?,
            ParamValue::Text(t) => values.raw_set(name.as_str(), t.as_str())?,
        }
    }
    let read = lua.create_table()?;
    lua.set_named_registry_value(PARAMS_READ, &read)?;
    let proxy: mlua::Table =
        lua.load(PARAMS).set_name("=host").set_mode(ChunkMode::Text).call((values, read))?;
    globals.raw_set("params", proxy)?;
    let g = Rc::clone(guard);
    let tripped = lua.create_function(move |_, err: Value| {
        if let Value::String(s) = &err {
            if s.as_bytes().as_ref() == MEMORY_ERROR.as_bytes() {
                g.trip(Trip::Memory);
            }
        }
        Ok(g.tripped().is_some())
    })?;
    lua.load(PRELUDE).set_name("=host").set_mode(ChunkMode::Text).call::<()>(tripped)?;
    Ok(())
}

/// The line where `name` is assigned or defined, for a message about it.
pub(crate) fn assignment_line(source: &str, name: &str) -> Option<u32> {
    source
        .lines()
        .position(|line| {
            let code = line.split("--").next().unwrap_or_default();
            code.match_indices(name).any(|(at, _)| {
                let before = code[..at].chars().next_back();
                let after = code[at + name.len()..].trim_start();
                let word_start = before
                    .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '.' || c == ':'));
                word_start
                    && ((after.starts_with('=') && !after.starts_with("=="))
                        || code[..at].trim_end().ends_with("function"))
            })
        })
        .and_then(|i| u32::try_from(i + 1).ok())
}
