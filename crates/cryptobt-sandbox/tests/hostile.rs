//! The hostile suite: scripts that try to hang, exhaust, crash or escape the VM. Each must end
//! with its expected `error_code` inside its limit (1 s, 16 MiB), with a message of at most
//! 1 KiB, after which the same process runs an ordinary strategy normally.

#![allow(clippy::unwrap_used, reason = "tests and their helpers fail loudly")]

mod common;

use std::time::{Duration, Instant};

use common::*;
use cryptobt_domain::{testkit, ErrorCode};

use ErrorCode::{
    InvalidStrategy, MemoryLimitExceeded, RuntimeError, SyntaxError, TimeLimitExceeded,
};

/// A well-behaved strategy, run after every hostile one.
const NORMAL: &str = r#"
local s = ta.sma(3)
function on_data(bar)
    local v = s:update(bar.close)
    if v and get_position_size() == 0 then buy(1, 2) end
end
"#;

#[track_caller]
fn check(name: &str, source: &str, code: ErrorCode, needle: &str) {
    let desk = futures_desk();
    let started = Instant::now();
    let closes: Vec<f64> = (0..200).map(|i| 100.0 + f64::from(i % 7)).collect();
    let err = run(source, &desk, &closes).expect_err(name);
    let took = started.elapsed();
    assert_eq!(err.code, code, "{name}: {err:?}");
    assert!(err.message.contains(needle), "{name}: {:?} lacks {needle:?}", err.message);
    assert!(err.message.len() <= 1_024, "{name}: message of {} bytes", err.message.len());
    assert!(
        !err.message.contains("/work") && !err.message.contains(".rs:"),
        "{name}: {:?}",
        err.message
    );
    assert!(took < Duration::from_secs(4), "{name} took {took:?}");
    // The process goes on: a normal run works right after.
    let desk = futures_desk();
    run(NORMAL, &desk, &[100.0, 101.0, 102.0, 103.0])
        .unwrap_or_else(|e| panic!("after {name}: {e:?}"));
    assert_eq!(
        desk.portfolio.borrow().position_size(testkit::btc()).to_string(),
        "1",
        "after {name}"
    );
}

#[test]
fn runaway_loops_hit_the_time_limit() {
    let t = "time limit";
    check("loop in on_data", "function on_data(bar) while true do end end", TimeLimitExceeded, t);
    check(
        "loop in initialize",
        "function initialize() while true do end end function on_data(b) end",
        TimeLimitExceeded,
        t,
    );
    check("loop at load time", "while true do end function on_data(b) end", TimeLimitExceeded, t);
    check(
        "repeat loop",
        "function on_data(b) local i = 0 repeat i += 1 until false end",
        TimeLimitExceeded,
        t,
    );
    check(
        "numeric for",
        "function on_data(b) for i = 1, math.huge do end end",
        TimeLimitExceeded,
        t,
    );
    check(
        "slow across bars",
        "function on_data(b) for i = 1, 3e6 do end end",
        TimeLimitExceeded,
        t,
    );
}

#[test]
fn pcall_and_xpcall_cannot_swallow_a_limit() {
    let t = "time limit";
    check(
        "pcall around a loop",
        "function on_data(b) while true do pcall(function() while true do end end) end end",
        TimeLimitExceeded,
        t,
    );
    check(
        "xpcall with a handler",
        "function on_data(b) while true do xpcall(function() while true do end end, function(e) return e end) end end",
        TimeLimitExceeded,
        t,
    );
    check(
        "nested pcalls",
        "function on_data(b) pcall(pcall, pcall, function() while true do end end) while true do end end",
        TimeLimitExceeded,
        t,
    );
    check(
        "handler that loops",
        "function on_data(b) xpcall(error, function() while true do end end) end",
        TimeLimitExceeded,
        t,
    );
    check(
        "pcall around a memory bomb",
        "function on_data(b) while true do pcall(function() local s = string.rep('x', 1e8) end) end end",
        MemoryLimitExceeded,
        "memory limit",
    );
}

#[test]
fn coroutines_do_not_exist() {
    check(
        "loop inside a coroutine",
        "function on_data(b) coroutine.wrap(function() while true do end end)() end",
        RuntimeError,
        "attempt to index nil with 'wrap'",
    );
}

#[test]
fn memory_bombs_hit_the_memory_limit() {
    let m = "memory limit";
    check(
        "string.rep",
        "function on_data(b) local s = string.rep('x', 1e8) end",
        MemoryLimitExceeded,
        m,
    );
    check(
        "doubling concatenation",
        "function on_data(b) local s = 'x' while true do s = s .. s end end",
        MemoryLimitExceeded,
        m,
    );
    check(
        "table growth",
        "function on_data(b) local t = {} local i = 0 while true do i += 1 t[i] = i end end",
        MemoryLimitExceeded,
        m,
    );
    check(
        "slow leak across bars",
        "leak = {} function on_data(b) table.insert(leak, string.rep('x', 1048576) .. #leak) end",
        MemoryLimitExceeded,
        m,
    );
    check(
        "at load time",
        "local t = {} for i = 1, 1e9 do t[i] = {} end function on_data(b) end",
        MemoryLimitExceeded,
        m,
    );
    check(
        "table.concat",
        "function on_data(b) local t = {} for i = 1, 1e5 do t[i] = string.rep('y', 100) end local s = table.concat(t) .. table.concat(t) .. table.concat(t) end",
        MemoryLimitExceeded,
        m,
    );
}

/// Host memory a strategy causes (indicator windows) counts against the same budget as its heap:
/// each `ta.sma(100000)` holds about 1.6 MB of Rust memory that the VM's allocator never sees.
#[test]
fn indicators_are_charged_to_the_memory_limit() {
    let m = "memory limit";
    for ctor in [
        "sma(100000)",
        "stddev(100000)",
        "bbands(100000, 2)",
        "highest(100000)",
        "lowest(100000)",
        "macd(50000, 99999, 50000)",
    ] {
        check(
            &format!("ta.{ctor} in a loop"),
            &format!("local keep = {{}} function on_data(b) for i = 1, 1000 do keep[i] = ta.{ctor} end end"),
            MemoryLimitExceeded,
            m,
        );
    }
    check(
        "indicators at load time",
        "local t = {} for i = 1, 1e4 do t[i] = ta.sma(100000) end function on_data(b) end",
        MemoryLimitExceeded,
        m,
    );
    check(
        "pcall around indicator creation",
        "function on_data(b) for i = 1, 1000 do pcall(ta.sma, 100000) end end",
        MemoryLimitExceeded,
        m,
    );
    // A few large indicators fit.
    let desk = futures_desk();
    run("local a, b = ta.sma(100000), ta.stddev(100000) function on_data(bar) a:update(bar.close) end", &desk, &[1.0, 2.0])
        .unwrap();
}

/// Garbage is not what trips the limit: 4 MB live, a new 4 MB string per bar (the old one and
/// the 4 MB `string.rep` behind it garbage), under a 16 MiB cap, runs every bar.
#[test]
fn garbage_does_not_count_against_the_memory_limit() {
    let desk = futures_desk();
    let closes: Vec<f64> = (0..200).map(|i| 100.0 + f64::from(i % 7)).collect();
    let source = "n = 0 function on_data(b) n += 1 live = string.rep('x', 4000000) .. n end";
    run(source, &desk, &closes).unwrap();
    // Live data over the cap still fails.
    check(
        "growing live data",
        "keep = {} function on_data(b) keep[#keep + 1] = string.rep('x', 4000000) .. #keep end",
        MemoryLimitExceeded,
        "memory limit",
    );
}

#[test]
fn pathological_patterns_are_stopped() {
    check(
        "backtracking pattern",
        "function on_data(b) string.find(string.rep('a', 200000), '.-.-.-.-.-.-.-.-.-.-.-.-b') end",
        TimeLimitExceeded,
        "time limit",
    );
    check(
        "gmatch backtracking",
        "function on_data(b) for _ in string.gmatch(string.rep('a', 100000), '.-.-.-.-.-.-.-b') do end end",
        TimeLimitExceeded,
        "time limit",
    );
}

#[test]
fn deep_recursion_is_an_error_not_a_crash() {
    check(
        "Lua recursion",
        "local function f(n) return 1 + f(n + 1) end function on_data(b) f(1) end",
        RuntimeError,
        "stack overflow",
    );
    check(
        "__index recursion",
        "function on_data(b) local t = setmetatable({}, {__index = function(t, k) return t[k] end}) local x = t.a end",
        RuntimeError,
        "stack overflow",
    );
    check(
        "gsub callback recursion",
        "local function f(s) return (string.gsub(s, '.', f)) end function on_data(b) f('ab') end",
        RuntimeError,
        "stack overflow",
    );
    check(
        "__tostring recursion",
        "function on_data(b) local t t = setmetatable({}, {__tostring = function() return tostring(t) end}) tostring(t) end",
        RuntimeError,
        "stack overflow",
    );
    // Luau has no proper tail calls: endless tail recursion overflows the stack.
    check(
        "tail recursion",
        "local function f() return f() end function on_data(b) f() end",
        RuntimeError,
        "stack overflow",
    );
    check(
        "unpack of a huge range",
        "function on_data(b) table.unpack({}, 1, 1e8) end",
        RuntimeError,
        "unpack",
    );
}

#[test]
fn bytecode_is_refused() {
    check("Lua 5.x bytecode", "\x1bLua\x54\x00\x19\x13\r\n\x1a\n", SyntaxError, "");
    check("Luau bytecode", "\x06\x03\x00\x01\x02\x03", SyntaxError, "");
    check(
        "load",
        "function on_data(b) load('return 1')() end",
        RuntimeError,
        "attempt to call a nil value",
    );
    check(
        "loadstring",
        "function on_data(b) loadstring('return 1')() end",
        RuntimeError,
        "attempt to call a nil value",
    );
    check(
        "string.dump",
        "function on_data(b) string.dump(on_data) end",
        RuntimeError,
        "attempt to call a nil value",
    );
}

#[test]
fn forbidden_libraries_and_functions_are_absent() {
    for call in [
        "io.open('/etc/passwd')",
        "os.execute('true')",
        "os.exit(1)",
        "debug.getinfo(1)",
        "package.loadlib('x', 'y')",
        "require('os')",
        "dofile('/etc/passwd')",
        "loadfile('/etc/passwd')",
        "collectgarbage('count')",
        "getfenv(1)",
        "setfenv(1, {})",
        "newproxy(true)",
        "coroutine.create(print)",
    ] {
        // Luau names the missing field or says the value called is nil.
        check(call, &format!("function on_data(b) {call} end"), RuntimeError, "nil");
    }
    // What the script can see: nothing forbidden among the globals.
    let desk = futures_desk();
    run("local n = {} for k in pairs(_G) do table.insert(n, k) end table.sort(n) log(table.concat(n, ' ')) function on_data(b) end", &desk, &[]).unwrap();
    let seen = desk.log.borrow()[0].clone();
    for forbidden in [
        "io",
        "os",
        "debug",
        "package",
        "require",
        "load",
        "loadstring",
        "dofile",
        "loadfile",
        "collectgarbage",
        "getfenv",
        "setfenv",
        "coroutine",
        "newproxy",
    ] {
        assert!(!seen.split(' ').any(|n| n == forbidden), "{forbidden} is visible: {seen}");
    }
    assert!(seen.contains("buy") && seen.contains("ta") && seen.contains("string"), "{seen}");
}

#[test]
fn tampering_with_shared_tables_fails() {
    let r = "readonly";
    check(
        "string metatable",
        "function on_data(b) getmetatable('').__index = {} end",
        RuntimeError,
        r,
    );
    check("string library", "function on_data(b) string.rep = nil end", RuntimeError, r);
    check("_G", "function on_data(b) _G.buy = function() end end", RuntimeError, r);
    check("rawset on _G", "function on_data(b) rawset(_G, 'x', 1) end", RuntimeError, r);
    check("setmetatable on _G", "function on_data(b) setmetatable(_G, {}) end", RuntimeError, r);
    check("ta table", "function on_data(b) ta.sma = nil end", RuntimeError, r);
    check("params table", "function on_data(b) params.x = 1 end", RuntimeError, r);
    check(
        "math.random",
        "function on_data(b) math.random = function() return 4 end end",
        RuntimeError,
        r,
    );
}

#[test]
fn tampering_with_the_bar_table_changes_nothing_outside() {
    let desk = futures_desk();
    let src = r#"
        function on_data(bar)
            log(bar.close)
            bar.close = -1
            setmetatable(bar, {__index = function() error("boom") end})
            if get_position_size() == 0 then buy(1) end
        end
    "#;
    run(src, &desk, &[100.0, 101.0]).unwrap();
    assert_eq!(*desk.log.borrow(), ["100", "101"]);
    assert_eq!(
        desk.portfolio.borrow().position(testkit::btc()).unwrap().entry_price().to_string(),
        "100"
    );
}

#[test]
fn error_objects_cannot_hurt_the_host() {
    check(
        "huge error string",
        "function on_data(b) error(string.rep('x', 1e6)) end",
        RuntimeError,
        "xxxx",
    );
    check(
        "self-erroring __tostring",
        "function on_data(b) error(setmetatable({}, {__tostring = function() error('again') end})) end",
        RuntimeError,
        "",
    );
    check(
        "looping __tostring",
        "function on_data(b) error(setmetatable({}, {__tostring = function() while true do end end})) end",
        TimeLimitExceeded,
        "time limit",
    );
    check("error with a table", "function on_data(b) error({code = 1}) end", RuntimeError, "");
    check("error with nil", "function on_data(b) error() end", RuntimeError, "");
}

#[test]
fn broken_scripts_are_reported_with_their_line() {
    let cases = [
        ("function on_data(bar)\n  if then\nend", SyntaxError, Some(2)),
        ("function on_data(bar) end\ninitialize = 5", InvalidStrategy, Some(2)),
        ("x = 1\non_data = 'not a function'", InvalidStrategy, Some(2)),
        ("function initialise() end", InvalidStrategy, None),
        ("function on_data(bar)\n  local x = nil\n  return x.field\nend", RuntimeError, Some(3)),
    ];
    for (source, code, line) in cases {
        let desk = futures_desk();
        let err = run(source, &desk, &[1.0]).unwrap_err();
        assert_eq!((err.code, err.line), (code, line), "{source:?}: {err:?}");
        let validated = cryptobt_sandbox::validate(source);
        if code != RuntimeError {
            let v = validated.unwrap_err();
            assert_eq!((v.code, v.line), (code, line), "validate {source:?}");
        } else {
            assert!(validated.is_ok(), "validate runs no bar: {source:?}");
        }
    }
}

#[test]
fn nothing_of_one_run_is_visible_to_the_next() {
    let desk = futures_desk();
    run("secret = 42 function on_data(b) counter = (counter or 0) + 1 end", &desk, &[1.0, 2.0])
        .unwrap();
    let desk = futures_desk();
    run("function on_data(b) log(tostring(secret), tostring(counter)) end", &desk, &[1.0]).unwrap();
    assert_eq!(*desk.log.borrow(), ["nil\tnil"]);
}

#[test]
fn math_random_is_seeded_the_same_every_run() {
    let draw = || {
        let desk = futures_desk();
        run(
            "function on_data(b) log(math.random(1, 1000000), math.random()) end",
            &desk,
            &[1.0, 2.0],
        )
        .unwrap();
        let log = desk.log.borrow().clone();
        log
    };
    assert_eq!(draw(), draw());
}

#[test]
fn a_cancel_from_another_thread_stops_a_runaway_loop() {
    let limits = cryptobt_domain::ports::StrategyLimits {
        max_duration: Duration::from_secs(60),
        ..limits()
    };
    let cancel = limits.cancel.clone();
    let started = Instant::now();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        cancel.cancel();
    });
    let desk = futures_desk();
    let err =
        run_with(&limits, "function on_data(b) while true do end end", &desk, &[1.0]).unwrap_err();
    stopper.join().unwrap();
    assert_eq!(err.code, ErrorCode::Cancelled);
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
}
