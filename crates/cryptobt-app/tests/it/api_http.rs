//! The HTTP API over real HTTP on a loopback port, with real files and real Lua: submit → events
//! → results (equal to the CLI's), history, delete, cancel, every error case, concurrency, and
//! restart recovery.

use std::{
    io::{BufRead, BufReader},
    process::Command,
    time::{Duration, Instant},
};

use serde_json::{json, Value};

use crate::common::{
    api::{exclusive, Api},
    root,
};

fn strategy(name: &str) -> String {
    std::fs::read_to_string(root().join("static/strategies").join(name)).unwrap()
}

fn body(code: &str, extra: Value) -> String {
    let mut b = json!({
        "strategy_code": code, "symbol": "BTCUSDT", "timeframe": "1h",
        "start_date": "2025-01-01", "end_date": "2025-01-31",
    });
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    b.to_string()
}

fn cli_metrics(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_cryptobt"))
        .current_dir(root())
        .args(["backtest", "--json", "--out"])
        .arg(tempfile::tempdir().unwrap().path())
        .args(args)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["metrics"].clone()
}

#[test]
fn spot_and_futures_runs_match_the_cli_and_are_listed_and_deleted() {
    let api = Api::start(1, 8);
    let (code, spot, _) =
        api.post("/api/backtest", &body(&strategy("sma_crossover.lua"), json!({})));
    assert_eq!(code, 202, "{spot}");
    assert_eq!(spot["status"], "queued");
    let spot_id = spot["backtest_id"].as_str().unwrap().to_owned();
    let futures_body = body(
        &strategy("liquidated_futures.lua"),
        json!({"trading_mode": "futures", "max_leverage": 100, "start_date": "2025-05-05", "end_date": "2025-06-23"}),
    );
    let (code, fut, _) = api.post("/api/backtest", &futures_body);
    assert_eq!(code, 202, "{fut}");
    let fut_id = fut["backtest_id"].as_str().unwrap().to_owned();

    let events = api.events(&spot_id);
    let (last_name, last) = events.last().unwrap();
    assert_eq!(
        (last_name.as_str(), last["status"].as_str()),
        ("status", Some("completed")),
        "{events:?}"
    );

    let spot_view = api.wait(&spot_id);
    let fut_view = api.wait(&fut_id);
    assert_eq!(spot_view["status"], "completed");
    assert_eq!(spot_view["portfolio_rows"], 744);
    assert!(spot_view["portfolio_history"].as_array().unwrap().len() <= 5_000);
    assert!(!spot_view["trades"].as_array().unwrap().is_empty());
    assert_eq!(spot_view["config"]["symbol"], "BTCUSDT");
    let sma = crate::common::sma_1h("2025-01-01", "2025-01-31");
    assert_eq!(spot_view["metrics"], cli_metrics(&sma), "the API and the CLI agree");
    let liq = [
        "--strategy",
        "static/strategies/liquidated_futures.lua",
        "--symbol",
        "BTCUSDT",
        "--timeframe",
        "1h",
        "--start",
        "2025-05-05",
        "--end",
        "2025-06-23",
        "--mode",
        "futures",
        "--max-leverage",
        "100",
    ];
    assert_eq!(fut_view["metrics"], cli_metrics(&liq));
    assert!(fut_view["metrics"]["liquidations"].as_u64().unwrap() >= 1);
    assert!(!fut_view["funding"].as_array().unwrap().is_empty());

    let (code, list) = api.get("/api/backtests");
    assert_eq!(code, 200);
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["backtest_id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&spot_id.as_str()) && ids.contains(&fut_id.as_str()), "{list}");
    assert_eq!(list["total"], 2);

    let mut r = api
        .agent
        .get(&format!("{}/api/backtest/{spot_id}/files/trades.csv", api.base))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.body_mut().read_to_string().unwrap().starts_with("timestamp,action,symbol"));

    let (code, _) = api.delete(&format!("/api/backtest/{spot_id}"));
    assert_eq!(code, 200);
    assert_eq!(api.get(&format!("/api/backtest/{spot_id}")).0, 404);
    assert!(!api.results.path().join("backtests").join(&spot_id).exists());
    assert_eq!(api.get("/api/backtests").1["total"], 1);
}

#[test]
fn a_long_run_is_cancelled_within_a_second() {
    let api = Api::start(1, 4);
    let slow = "function on_data(bar) for i = 1, 20000 do end end";
    let (code, sub, _) = api.post("/api/backtest", &body(slow, json!({"timeframe": "1m"})));
    assert_eq!(code, 202, "{sub}");
    let id = sub["backtest_id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    while api.get(&format!("/api/backtest/{id}")).1["status"] != "running" {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    // A second run waits in the queue behind it: deleting it says it is queued.
    let (_, queued, _) = api.post("/api/backtest", &body("function on_data(b) end", json!({})));
    let queued = queued["backtest_id"].as_str().unwrap().to_owned();
    let (code, v) = api.delete(&format!("/api/backtest/{queued}"));
    assert_eq!(code, 409, "{v}");
    assert_eq!(v["message"], format!("backtest {queued} is queued; cancel it first"));
    // Let it make progress first (an event, not a sleep): some bars are done.
    while api.get(&format!("/api/backtest/{id}")).1["progress"]["done"].as_u64().unwrap_or(0) == 0 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    let asked = Instant::now();
    let (code, v, _) = api.post(&format!("/api/backtest/{id}/cancel"), "");
    assert_eq!(code, 202, "{v}");
    let view = api.wait(&id);
    assert!(asked.elapsed() < Duration::from_secs(1), "took {:?}", asked.elapsed());
    assert_eq!(
        (view["status"].as_str(), view["error_code"].as_str()),
        (Some("cancelled"), Some("cancelled"))
    );
    let (code, v, _) = api.post(&format!("/api/backtest/{id}/cancel"), "");
    assert_eq!(code, 409, "{v}");
    assert_eq!(v["message"], format!("backtest {id} is already cancelled"));
    api.wait(&queued);
}

#[test]
fn every_error_case_has_its_status_and_names_the_field() {
    let api = Api::start(1, 4);
    let code = "function on_data(b) end";
    let cases: Vec<(String, u16, &str, &str)> = vec![
        ("{not json".into(), 400, "invalid_json", "not valid JSON"),
        ("[1, 2]".into(), 400, "invalid_request", "must be a JSON object"),
        (
            json!({"symbol": "BTCUSDT"}).to_string(),
            400,
            "invalid_request",
            "missing field strategy_code",
        ),
        (
            body(code, json!({"initial_capital": "lots"})),
            400,
            "invalid_request",
            "initial_capital must be a number",
        ),
        (
            body(code, json!({"symbol": "DOGEUSDT"})),
            422,
            "validation_error",
            "no spot data for DOGEUSDT 1h",
        ),
        (body(code, json!({"symbol": "btc"})), 422, "validation_error", "invalid symbol \"btc\""),
        (body(code, json!({"timeframe": "2h"})), 422, "validation_error", "\"2h\""),
        (body(code, json!({"intrabar": "2m"})), 422, "validation_error", "intrabar \"2m\""),
        (body(code, json!({"maker_fee": 0.5})), 422, "validation_error", "maker_fee 0.5"),
        (
            body(code, json!({"end_date": "2024-12-01"})),
            422,
            "validation_error",
            "end_date 2024-12-01: must not be before start_date",
        ),
        (body(code, json!({"initial_capital": 0})), 422, "validation_error", "initial_capital 0"),
        (
            body(code, json!({"trading_mode": "futures", "max_leverage": 500})),
            422,
            "validation_error",
            "max_leverage 500",
        ),
        (
            body(code, json!({"max_leverage": 5})),
            422,
            "validation_error",
            "max_leverage 5: must be 1 in spot mode",
        ),
        (
            body(code, json!({"start_date": "2024-01-01", "end_date": "2024-01-31"})),
            422,
            "no_data",
            "outside it",
        ),
        (body(&"x".repeat(70 << 10), json!({})), 413, "payload_too_large", "limit"),
    ];
    for (request, status, error, needle) in cases {
        let (code, v, _) = api.post("/api/backtest", &request);
        assert_eq!(code, status, "{v}");
        assert_eq!(v["error"], error, "{v}");
        let message = v["message"].as_str().unwrap();
        assert!(message.contains(needle), "{message:?} lacks {needle:?}");
        assert!(!message.contains("/tmp") && !message.contains("/work"), "{message}");
        assert!(v.get("details").is_some() && v.get("backtest_id").is_some(), "{v}");
    }
    let field = api.post("/api/backtest", &body(code, json!({"initial_capital": -3}))).1;
    assert_eq!(field["details"]["field"], "initial_capital");
    for path in [
        "/api/backtest/..%2F..%2Fetc%2Fpasswd",
        "/api/backtest/bt_1",
        "/api/backtest/bt_20250101_000000_ABCDEF",
    ] {
        let (code, v) = api.get(path);
        assert_eq!((code, v["error"].as_str()), (400, Some("invalid_request")), "{path}: {v}");
    }
    let (code, v) = api.get("/api/backtest/bt_20250101_000000_abcdef");
    assert_eq!((code, v["error"].as_str()), (404, Some("not_found")));
    let (code, v) = api.get("/api/data/history?symbol=BTCUSDT&timeframe=1h&limit=0");
    assert_eq!((code, v["details"]["field"].as_str()), (422, Some("limit")));
    let (code, v) = api.get("/api/data/history?symbol=BTCUSDT&timeframe=1h&limit=lots");
    assert_eq!((code, v["error"].as_str()), (400, Some("invalid_request")), "{v}");
    let (code, v) = api.get("/api/backtests?page=-1");
    assert_eq!((code, v["error"].as_str()), (400, Some("invalid_request")), "{v}");
    let big = json!({"strategy_code": "x".repeat(200 << 10)}).to_string();
    let (code, v, _) = api.post("/api/strategy/validate", &big);
    assert_eq!((code, v["error"].as_str()), (413, Some("payload_too_large")), "{v}");
    assert_eq!(api.get("/api/nothing").0, 404);
    assert_eq!(api.get("/../Cargo.toml").0, 404);
    // A known endpoint with another method: 405 and what it allows.
    let r = api.agent.get(&format!("{}/api/backtest", api.base)).call().unwrap();
    assert_eq!(r.status().as_u16(), 405);
    assert_eq!(r.headers().get("allow").unwrap(), "POST");
    let (code, v) = api.delete("/api/health");
    assert_eq!((code, v["error"].as_str()), (405, Some("method_not_allowed")), "{v}");
}

#[test]
fn data_validate_examples_health_and_openapi() {
    let api = Api::start(1, 4);
    let (code, v) = api.get("/api/data/history?symbol=BTCUSDT&timeframe=1h&start_date=2025-01-01&end_date=2025-01-31&limit=1000");
    assert_eq!(code, 200);
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 744);
    assert_eq!(data[0]["timestamp"], 1_735_689_600_000_i64);
    let (_, v) = api.get("/api/data/symbols");
    assert_eq!(v["symbols"], json!(["BTCUSDT", "ETHUSDT"]));
    assert_eq!(v["trading_modes"], json!(["spot", "futures"]));
    // The ranges the page checks against are the server's own (docs/design.md and docs/ledger.md).
    let limits = &v["limits"];
    assert_eq!(
        limits["initial_capital"],
        json!({"min": null, "min_exclusive": "0", "max": "1000000000000"})
    );
    assert_eq!(limits["max_leverage"]["max"], "100");
    assert_eq!(limits["slippage_bps"]["max"], "1000");
    assert_eq!(
        (limits["funding_rate"]["min"].as_str(), limits["fee"]["max"].as_str()),
        (Some("-0.1"), Some("0.1"))
    );
    assert_eq!(v["max_strategy_bytes"], 64 << 10);
    let (_, cache) = api.get("/api/data/cache");
    assert!(cache["misses"].as_u64().unwrap() >= 31, "{cache}");
    let (code, v, _) = api.post(
        "/api/strategy/validate",
        &json!({"strategy_code": "function on_data(bar)\n if then\nend"}).to_string(),
    );
    assert_eq!(
        (code, v["valid"].as_bool(), v["error_code"].as_str(), v["line"].as_u64()),
        (200, Some(false), Some("syntax_error"), Some(2))
    );
    let (_, v, _) = api.post(
        "/api/strategy/validate",
        &json!({"strategy_code": "function on_data(bar) end"}).to_string(),
    );
    assert_eq!(v["valid"], true);
    let (_, v) = api.get("/api/strategies/examples");
    assert_eq!(v["examples"].as_array().unwrap().len(), 12);
    assert!(v["examples"][0]["code"].as_str().unwrap().contains("function on_data"));
    let (code, v) = api.get("/api/health");
    assert_eq!((code, v["status"].as_str()), (200, Some("ok")));
    let (code, v) = api.get("/api/openapi.json");
    assert_eq!(code, 200);
    assert!(v["paths"]["/api/backtest"]["post"].is_object(), "{v}");
    assert!(v["components"]["schemas"]["SubmitRequest"].is_object());
    // params is optional; metrics, covered and trades_total are typed.
    let schemas = &v["components"]["schemas"];
    let required = schemas["SubmitRequest"]["required"].as_array().unwrap();
    assert!(!required.iter().any(|r| r == "params"), "{required:?}");
    let view = &schemas["BacktestView"]["properties"];
    assert!(view["trades_total"].is_object() && view["covered"].is_object(), "{view}");
    let metrics = &schemas["MetricsView"]["properties"];
    for def in cryptobt_domain::METRICS {
        assert!(metrics[def.key].is_object(), "MetricsView lacks {}", def.key);
    }
    // The page's run form has an input for every field of a submission (the code is the editor):
    // the API's list and the form cannot drift apart.
    let page = std::fs::read_to_string(root().join("static/index.html")).unwrap();
    let fields = schemas["SubmitRequest"]["properties"].as_object().unwrap();
    assert!(fields.len() >= 16, "{fields:?}");
    for field in fields.keys().filter(|f| *f != "strategy_code") {
        assert!(page.contains(&format!("name=\"{field}\"")), "the run form has no input {field}");
    }
}

#[test]
fn twenty_submissions_at_once_are_all_answered_and_health_stays_fast() {
    let api = Api::start(1, 4);
    let slowish = "function on_data(bar) for i = 1, 2000 do end end";
    let request = body(
        slowish,
        json!({"timeframe": "1m", "start_date": "2025-01-01", "end_date": "2025-01-03"}),
    );
    let answers: Vec<(u16, Value, Option<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> =
            (0..20).map(|_| s.spawn(|| api.post("/api/backtest", &request))).collect();
        // Health keeps answering while the runs start (its latency under load is measured by
        // `cryptobt loadtest`, not here: a wall-clock bound flakes on a shared 2-core machine).
        while !handles.iter().all(|h| h.is_finished()) {
            assert_eq!(api.get("/api/health").0, 200);
        }
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let accepted: Vec<String> = answers
        .iter()
        .filter(|a| a.0 == 202)
        .map(|a| a.1["backtest_id"].as_str().unwrap().to_owned())
        .collect();
    let refused = answers.iter().filter(|a| a.0 == 429).count();
    assert_eq!(accepted.len() + refused, 20, "every submission answered 202 or 429: {answers:?}");
    assert!(refused > 0 && !accepted.is_empty(), "{} accepted, {refused} refused", accepted.len());
    for a in answers.iter().filter(|a| a.0 == 429) {
        assert_eq!(a.2.as_deref(), Some("5"), "Retry-After");
        assert_eq!(a.1["error"], "queue_full");
    }
    for id in &accepted {
        assert_eq!(api.wait(id)["status"], "completed", "{id}");
    }
    assert_eq!(
        api.get("/api/backtests").1["total"].as_u64().unwrap() as usize,
        accepted.len(),
        "none lost, none extra"
    );
}

#[test]
fn a_restart_lists_old_runs_and_marks_interrupted_ones_failed() {
    let turn = exclusive();
    let results = tempfile::tempdir().unwrap();
    let dir = results.path().to_path_buf();
    let first = Api::start_with(None, results, 1, 4);
    let (_, done, _) = first.post("/api/backtest", &body("function on_data(b) end", json!({})));
    let done_id = done["backtest_id"].as_str().unwrap().to_owned();
    first.wait(&done_id);
    let results = {
        let mut first = first;
        first.server.take().unwrap().stop();
        std::mem::replace(&mut first.results, tempfile::tempdir().unwrap())
    };
    // A run the stopped process left "running" (as a crash would).
    let stuck = "bt_20250101_000000_stuck1";
    let src = dir.join("backtests").join(&done_id).join("config.json");
    let mut config: Value = serde_json::from_slice(&std::fs::read(src).unwrap()).unwrap();
    config["backtest_id"] = json!(stuck);
    config["status"] = json!("running");
    std::fs::create_dir_all(dir.join("backtests").join(stuck)).unwrap();
    std::fs::write(dir.join("backtests").join(stuck).join("config.json"), config.to_string())
        .unwrap();

    let second = Api::start_with(None, results, 1, 4);
    let _turn = turn;
    let (code, old) = second.get(&format!("/api/backtest/{done_id}"));
    assert_eq!((code, old["status"].as_str()), (200, Some("completed")));
    let (_, v) = second.get(&format!("/api/backtest/{stuck}"));
    assert_eq!(
        (v["status"].as_str(), v["error_code"].as_str()),
        (Some("failed"), Some("interrupted")),
        "{v}"
    );
    assert_eq!(second.get("/api/backtests").1["total"], 2);
}

#[test]
fn ctrl_c_drains_and_records_the_running_backtest() {
    drains_on_signal("-INT");
}

/// systemd, Docker and Kubernetes stop a service with SIGTERM: the same drain as Ctrl-C.
#[test]
fn sigterm_drains_and_records_the_running_backtest() {
    drains_on_signal("-TERM");
}

fn drains_on_signal(signal: &str) {
    if std::env::var_os("RUN_SLOW_TESTS").is_none() {
        eprintln!("skipped: the signal tests run with RUN_SLOW_TESTS=1 (the README's test command sets it)");
        return;
    }
    let _turn = exclusive();
    let results = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cryptobt"))
        .current_dir(root())
        .args(["serve", "--port", "0", "--results-dir"])
        .arg(results.path())
        .env("CRYPTOBT_LOG", "warn")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let base = line
        .split("serving ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let agent: ureq::Agent =
        ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let slow =
        body("function on_data(bar) for i = 1, 20000 do end end", json!({"timeframe": "1m"}));
    let mut r = agent
        .post(&format!("{base}/api/backtest"))
        .header("content-type", "application/json")
        .send(slow.as_str())
        .unwrap();
    let sub: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    let id = sub["backtest_id"].as_str().unwrap().to_owned();
    // Wait (polling, with a deadline) until the run is running, then signal.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut r = agent.get(&format!("{base}/api/backtest/{id}")).call().unwrap();
        let v: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
        if v["status"] == "running" {
            break;
        }
        assert!(Instant::now() < deadline, "never started: {v}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let interrupted =
        Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
    assert!(interrupted.success());
    let started = Instant::now();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "drained in {:?}", started.elapsed());
    let config: Value = serde_json::from_slice(
        &std::fs::read(results.path().join("backtests").join(&id).join("config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        (config["status"].as_str(), config["error_code"].as_str()),
        (Some("cancelled"), Some("cancelled")),
        "{signal}: {config}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(results.path().join("backtests").join(&id))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{signal}: temp files left {leftovers:?}");
}

/// Submits a one-day run and waits for it.
fn quick_run(api: &Api) -> String {
    let one_day = json!({"start_date": "2025-01-01", "end_date": "2025-01-01"});
    let flip = "function on_data(b) if get_position_size() == 0 then buy(0.01) else close_position() end end";
    let (code, sub, _) = api.post("/api/backtest", &body(flip, one_day));
    assert_eq!(code, 202, "{sub}");
    let id = sub["backtest_id"].as_str().unwrap().to_owned();
    api.wait(&id);
    id
}

/// GETs racing a DELETE: 200 or 404 while it happens, never 500; after DELETE answered 200,
/// every endpoint says 404 (the run never comes back from a cache).
#[test]
fn a_deleted_run_never_comes_back() {
    let api = Api::start(1, 8);
    for _ in 0..10 {
        let id = quick_run(&api);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let (base, agent, id, stop) =
                    (api.base.clone(), api.agent.clone(), id.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut codes = Vec::new();
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let r = agent.get(&format!("{base}/api/backtest/{id}")).call().unwrap();
                        codes.push(r.status().as_u16());
                    }
                    codes
                })
            })
            .collect();
        let (code, v) = api.delete(&format!("/api/backtest/{id}"));
        assert_eq!(code, 200, "{v}");
        for path in ["", "/events", "/files/config.json", "/files/trades.csv"] {
            let (code, v) = api.get(&format!("/api/backtest/{id}{path}"));
            assert_eq!(code, 404, "{path} after delete: {v}");
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for reader in readers {
            let codes = reader.join().unwrap();
            assert!(codes.iter().all(|c| *c == 200 || *c == 404), "{codes:?}");
        }
        let (code, _) = api.get(&format!("/api/backtest/{id}"));
        assert_eq!(code, 404);
    }
}

/// A run whose folder cannot be written any more ends `failed` with `storage_error`, in the
/// API and its events, instead of staying "running".
#[test]
fn a_run_whose_results_cannot_be_written_ends_failed() {
    let api = Api::start(1, 4);
    let slow = body(
        "function on_data(bar) for i = 1, 2000 do end end",
        json!({"timeframe": "1m", "end_date": "2025-01-10"}),
    );
    let (_, sub, _) = api.post("/api/backtest", &slow);
    let id = sub["backtest_id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    while api.get(&format!("/api/backtest/{id}")).1["status"] != "running" {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    // The run's folder becomes a plain file: every later write into it fails.
    let dir = api.results.path().join("backtests").join(&id);
    // The run may be writing into it at this moment: retry until the folder is gone.
    while let Err(e) = std::fs::remove_dir_all(&dir) {
        assert!(Instant::now() < deadline, "{e}");
    }
    std::fs::write(&dir, "not a folder").unwrap();
    let v = api.wait(&id);
    assert_eq!(
        (v["status"].as_str(), v["error_code"].as_str()),
        (Some("failed"), Some("storage_error")),
        "{v}"
    );
    assert!(!v["error_message"].as_str().unwrap().contains('/'), "no paths: {v}");
    let events = api.events(&id);
    assert_eq!(events.last().unwrap().1["error_code"], "storage_error");
    let (code, _) = api.delete(&format!("/api/backtest/{id}"));
    assert_eq!(code, 200);
}

/// Damaged files: the run is still shown, naming what cannot be read; a damaged config.json
/// is named in the listing and in the error of GET.
#[test]
fn damaged_result_files_are_named_not_hidden() {
    let turn = exclusive();
    let first = Api::start_with(None, tempfile::tempdir().unwrap(), 1, 4);
    let id = quick_run(&first);
    let results = {
        let mut first = first;
        first.server.take().unwrap().stop();
        std::mem::replace(&mut first.results, tempfile::tempdir().unwrap())
    };
    let dir = results.path().join("backtests").join(&id);
    std::fs::write(dir.join("metrics.json"), "{garbage").unwrap();
    let trades = std::fs::read_to_string(dir.join("trades.csv")).unwrap();
    std::fs::write(dir.join("trades.csv"), &trades[..trades.len() - 7]).unwrap();
    let api = Api::start_with(Some(turn), results, 1, 4);
    let (code, v) = api.get(&format!("/api/backtest/{id}"));
    assert_eq!(code, 200, "{v}");
    assert!(v["metrics"].is_null());
    let damaged = v["damaged"].to_string();
    assert!(damaged.contains("metrics.json") && damaged.contains("trades.csv"), "{damaged}");
    assert_eq!(v["portfolio_rows"], 24, "what is intact is still shown");

    std::fs::write(dir.join("config.json"), "not json").unwrap();
    let (code, v) = api.get(&format!("/api/backtest/{id}"));
    assert_eq!((code, v["error"].as_str()), (500, Some("damaged_run")), "{v}");
    assert!(v["message"].as_str().unwrap().contains("config.json"), "{v}");
    let (_, list) = api.get("/api/backtests");
    assert_eq!(list["damaged"][0]["backtest_id"], id.as_str(), "{list}");
    assert!(list["damaged"][0]["damaged"].as_str().unwrap().starts_with("config.json"));
}

/// Temporary files a killed process left are removed at the next start; absurd page numbers
/// give an empty page, not page 1 (nor a panic).
#[test]
fn leftovers_are_swept_at_start_and_pages_do_not_overflow() {
    let turn = exclusive();
    let results = tempfile::tempdir().unwrap();
    let dir = results.path().join("backtests").join("bt_20250101_000000_leftov");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(".portfolio.csv.tmp-4242"), "timestamp\n").unwrap();
    std::fs::write(dir.join(".trades.csv.tmp-4242-1"), "x").unwrap();
    let api = Api::start_with(Some(turn), results, 1, 4);
    assert!(!dir.join(".portfolio.csv.tmp-4242").exists());
    assert!(!dir.join(".trades.csv.tmp-4242-1").exists());
    let id = quick_run(&api);
    let (code, v) = api.get("/api/backtests?page=144115188075855873&page_size=128");
    assert_eq!(code, 200, "{v}");
    assert_eq!((v["items"].as_array().unwrap().len(), v["total"].as_u64()), (0, Some(1)));
    // Fills come in pages.
    let (_, all) = api.get(&format!("/api/backtest/{id}"));
    let total = all["trades_total"].as_u64().unwrap();
    assert!(total >= 2, "{all}");
    let (_, page) = api.get(&format!("/api/backtest/{id}?page=2&page_size=1"));
    assert_eq!(page["trades"].as_array().unwrap().len(), 1);
    assert_eq!(page["trades"][0], all["trades"][1]);
    let (_, past) =
        api.get(&format!("/api/backtest/{id}?page=18446744073709551615&page_size=10000"));
    assert_eq!(past["trades"].as_array().unwrap().len(), 0);
}

/// Sends raw bytes on a new connection and reads the status line of the answer (or "" when the
/// server closed without one).
fn raw(addr: &str, request: &[u8], read_timeout: Duration) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(read_timeout)).unwrap();
    stream.write_all(request).unwrap();
    let mut buf = vec![0u8; 512];
    let n = stream.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).lines().next().unwrap_or_default().to_owned()
}

/// A body that never finishes is answered 408 once its time is up; a declared length over the
/// cap is answered 413 before any of the body is read.
#[test]
fn slow_and_oversized_bodies_are_refused_early() {
    let api = Api::start_tuned(Some(exclusive()), tempfile::tempdir().unwrap(), 1, 4, |c| {
        c.body_timeout = Duration::from_secs(1);
    });
    let addr = api.base.trim_start_matches("http://").to_owned();
    let partial = format!(
        "POST /api/backtest HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"strat"
    );
    let started = Instant::now();
    let status = raw(&addr, partial.as_bytes(), Duration::from_secs(10));
    assert!(status.contains(" 408 "), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    let huge = format!(
        "POST /api/backtest HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n"
    );
    let status = raw(&addr, huge.as_bytes(), Duration::from_secs(10));
    assert!(status.contains(" 413 "), "{status:?}");
    assert_eq!(api.get("/api/health").0, 200);
}

/// Foreign hosts (DNS rebinding), foreign origins and non-JSON bodies (cross-site forms) are
/// refused; the page's own origin is served.
#[test]
fn cross_site_requests_and_foreign_hosts_are_refused() {
    let api = Api::start(1, 4);
    let addr = api.base.trim_start_matches("http://").to_owned();
    let port = addr.rsplit(':').next().unwrap().to_owned();
    let call = |method: &str, path: &str, headers: &[(&str, String)], body: &str| {
        let mut req =
            ureq::http::Request::builder().method(method).uri(format!("{}{path}", api.base));
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let mut r = api.agent.run(req.body(body.to_owned()).unwrap()).unwrap();
        let v: Value =
            serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap_or(Value::Null);
        (r.status().as_u16(), v)
    };
    let good = body("function on_data(b) end", json!({}));
    let json_type = ("content-type", "application/json".to_owned());
    let (code, v) = call("POST", "/api/backtest", &[("content-type", "text/plain".into())], &good);
    assert_eq!((code, v["error"].as_str()), (415, Some("unsupported_media_type")), "{v}");
    let evil = ("origin", "http://evil.example".to_owned());
    let (code, v) = call("POST", "/api/backtest", &[json_type.clone(), evil.clone()], &good);
    assert_eq!((code, v["error"].as_str()), (403, Some("forbidden")), "{v}");
    let id = quick_run(&api);
    let (code, _) =
        call("POST", &format!("/api/backtest/{id}/cancel"), std::slice::from_ref(&evil), "");
    assert_eq!(code, 403);
    let (code, _) = call("DELETE", &format!("/api/backtest/{id}"), &[evil], "");
    assert_eq!(code, 403);
    for host in [format!("evil.example:{port}"), "attacker.test".to_owned()] {
        let (code, v) = call("GET", &format!("/api/backtest/{id}"), &[("host", host.clone())], "");
        assert_eq!(code, 403, "{host}: {v}");
    }
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        let (code, _) = call("GET", "/api/health", &[("host", host)], "");
        assert_eq!(code, 200);
    }
    let own = ("origin", api.base.clone());
    let (code, v) = call("POST", "/api/backtest", &[json_type, own], &good);
    assert_eq!(code, 202, "{v}");
    api.wait(v["backtest_id"].as_str().unwrap());
}

/// Strategy checks run at most as many at once as there are run workers; the rest are told to
/// retry (503 + Retry-After), and every request is answered.
#[test]
fn validate_is_bounded() {
    let api = Api::start(1, 4);
    let heavy = json!({"strategy_code": "local x = 0 for i = 1, 3e7 do x = x + i end function on_data(b) end"}).to_string();
    let answers: Vec<(u16, Option<String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..12)
            .map(|_| {
                scope.spawn(|| {
                    let (code, _, retry) = api.post("/api/strategy/validate", &heavy);
                    (code, retry)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(answers.iter().all(|(c, _)| *c == 200 || *c == 503), "{answers:?}");
    let busy: Vec<_> = answers.iter().filter(|(c, _)| *c == 503).collect();
    assert!(!busy.is_empty(), "{answers:?}");
    assert!(busy.iter().all(|(_, r)| r.as_deref() == Some("1")), "{busy:?}");
    assert!(answers.iter().any(|(c, _)| *c == 200), "{answers:?}");
}

/// Links in the results and static folders are never followed out of them.
#[cfg(unix)]
#[test]
fn symbolic_links_are_not_followed() {
    let statics = tempfile::tempdir().unwrap();
    std::fs::write(statics.path().join("index.html"), "<p>page</p>").unwrap();
    std::os::unix::fs::symlink("/etc/hostname", statics.path().join("leak.txt")).unwrap();
    let static_dir = statics.path().to_path_buf();
    let api = Api::start_tuned(Some(exclusive()), tempfile::tempdir().unwrap(), 1, 4, |c| {
        c.static_dir = static_dir;
    });
    assert_eq!(api.get("/index.html").0, 200);
    let r = api.agent.get(&format!("{}/leak.txt", api.base)).call().unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let id = quick_run(&api);
    let log = api.results.path().join("backtests").join(&id).join("log.txt");
    std::fs::remove_file(&log).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", &log).unwrap();
    let mut r =
        api.agent.get(&format!("{}/api/backtest/{id}/files/log.txt", api.base)).call().unwrap();
    let text = r.body_mut().read_to_string().unwrap();
    assert_ne!(r.status().as_u16(), 200, "{text}");
    assert!(!text.contains("root:"), "{text}");
    assert!(text.contains("symbolic link"), "{text}");
}

/// With a retention limit, the oldest finished runs go once the limit is passed.
#[test]
fn retention_keeps_the_newest_runs() {
    let api = Api::start_tuned(Some(exclusive()), tempfile::tempdir().unwrap(), 1, 4, |c| {
        c.max_runs = 2;
    });
    let ids: Vec<String> = (0..3).map(|_| quick_run(&api)).collect();
    // The worker prunes right after saving; the listing sees it (poll briefly, no sleep-based
    // ordering).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, list) = api.get("/api/backtests");
        if list["total"] == 2 {
            let listed: Vec<&str> = list["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["backtest_id"].as_str().unwrap())
                .collect();
            assert_eq!(listed, [ids[2].as_str(), ids[1].as_str()]);
            break;
        }
        assert!(Instant::now() < deadline, "{list}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(api.get(&format!("/api/backtest/{}", ids[0])).0, 404);
}

/// The CLI and the API run through one pipeline: the same run gives the same files, byte for
/// byte, but for the id and the creation time in config.json.
#[test]
fn the_cli_and_the_api_write_the_same_files() {
    let api = Api::start(1, 4);
    let code = strategy("sma_crossover.lua");
    let extra = json!({"trading_mode": "futures", "max_leverage": 3, "start_date": "2025-05-05", "end_date": "2025-05-20", "slippage_bps": 5});
    let (status, sub, _) = api.post("/api/backtest", &body(&code, extra));
    assert_eq!(status, 202, "{sub}");
    let id = sub["backtest_id"].as_str().unwrap().to_owned();
    api.wait(&id);
    let out = tempfile::tempdir().unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_cryptobt"))
        .current_dir(root())
        .args([
            "backtest",
            "--strategy",
            "static/strategies/sma_crossover.lua",
            "--symbol",
            "BTCUSDT",
        ])
        .args([
            "--timeframe",
            "1h",
            "--start",
            "2025-05-05",
            "--end",
            "2025-05-20",
            "--mode",
            "futures",
        ])
        .args(["--max-leverage", "3", "--slippage-bps", "5", "--json", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let from_api = api.results.path().join("backtests").join(&id);
    for file in ["trades.csv", "portfolio.csv", "funding.csv", "metrics.json", "log.txt"] {
        let a = std::fs::read(from_api.join(file)).unwrap();
        let c = std::fs::read(out.path().join(file)).unwrap();
        assert!(a == c, "{file} differs");
    }
    // run.json names its run; apart from the id, the same bytes.
    let run = |dir: &std::path::Path| {
        let text = std::fs::read_to_string(dir.join("run.json")).unwrap();
        let id: Value = serde_json::from_str(&text).unwrap();
        text.replace(id["backtest_id"].as_str().unwrap(), "ID")
    };
    assert_eq!(run(&from_api), run(out.path()), "run.json differs");
    let config = |dir: &std::path::Path| {
        let mut v: Value =
            serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
        v["backtest_id"] = Value::Null;
        v["created_at"] = Value::Null;
        v
    };
    assert_eq!(config(&from_api), config(out.path()));
}

#[test]
fn orders_with_maker_fee_and_intrabar_1m_match_the_cli() {
    let api = Api::start(1, 4);
    let extra = json!({
        "trading_mode": "futures", "symbol": "ETHUSDT", "timeframe": "15m",
        "start_date": "2025-05-05", "end_date": "2025-05-20",
        "intrabar": "1m", "maker_fee": 0.0001, "params": {"stop": 0.004, "target": 0.006},
    });
    let (code, v, _) = api.post("/api/backtest", &body(&strategy("rsi_bracket.lua"), extra));
    assert_eq!(code, 202, "{v}");
    let view = api.wait(v["backtest_id"].as_str().unwrap());
    assert_eq!(view["status"], "completed", "{view}");
    assert_eq!(
        (view["config"]["intrabar"].as_str(), view["config"]["maker_fee"].as_str()),
        (Some("1m"), Some("0.0001"))
    );
    let trades = view["trades"].as_array().unwrap();
    assert!(trades.iter().any(|t| t["order_type"] == "take_profit"), "the bracket filled");
    for key in ["ambiguous_bars", "pending_at_end", "queued_at_end"] {
        assert!(view[key].is_u64(), "{key}");
    }
    let cli = cli_metrics(&[
        "--strategy",
        "static/strategies/rsi_bracket.lua",
        "--symbol",
        "ETHUSDT",
        "--timeframe",
        "15m",
        "--start",
        "2025-05-05",
        "--end",
        "2025-05-20",
        "--mode",
        "futures",
        "--intrabar",
        "1m",
        "--maker-fee",
        "0.0001",
        "--param",
        "stop=0.004",
        "--param",
        "target=0.006",
    ]);
    assert_eq!(view["metrics"], cli, "the API and the CLI agree");
}

#[test]
fn chart_views_reports_and_the_history_over_http() {
    let api = Api::start(1, 4);
    let code = "-- Chart check: plots its close\n-- </pre><script>alert(1)</script>\nfunction on_data(bar) plot(\"close\", bar.close) if get_position_size() == 0 then buy(0.01) else close_position() end end";
    let extra = json!({"trading_mode": "futures", "timeframe": "1m", "start_date": "2025-05-05", "end_date": "2025-05-12", "params": {"fast": 3}});
    let (code, v, _) = api.post("/api/backtest", &body(code, extra));
    assert_eq!(code, 202, "{v}");
    let id = v["backtest_id"].as_str().unwrap().to_owned();
    let run = api.wait(&id);
    assert_eq!(run["status"], "completed");
    // The whole run at fit: 8 days of 1m bars in 15m candles (≤ 1,500), first to last bar.
    let (code, view) = api.get(&format!("/api/backtest/{id}/chart"));
    assert_eq!(code, 200, "{view}");
    assert_eq!(view["bucket"], "15m");
    let candles = view["candles"].as_array().unwrap();
    assert_eq!(candles.len(), 8 * 96);
    assert_eq!(candles[0]["t"], run["covered"]["first_bar"]);
    let low = view["drawdown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_f64().unwrap())
        .fold(0.0, f64::min);
    assert_eq!(
        Some(low),
        run["metrics"]["max_drawdown"].as_f64(),
        "the drawdown's low is the metric"
    );
    assert_eq!(view["plots"][0]["name"], "close");
    assert!(view["fills"].as_array().unwrap().len() <= 1_000);
    assert_eq!(view["fills_total"], run["trades_total"]);
    // Zoomed to two hours: 1m candles.
    let from = run["covered"]["first_bar"].as_i64().unwrap();
    let (_, zoom) =
        api.get(&format!("/api/backtest/{id}/chart?from={from}&to={}", from + 2 * 3_600_000));
    assert_eq!(
        (zoom["bucket"].as_str(), zoom["candles"].as_array().unwrap().len()),
        (Some("1m"), 121)
    );
    // Compressed for a client that accepts it (static files too).
    let addr = api.base.trim_start_matches("http://").to_owned();
    for path in [format!("/api/backtest/{id}/chart"), "/dist/app.js".to_owned()] {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut head = vec![0u8; 2048];
        let n = stream.read(&mut head).unwrap();
        let head = String::from_utf8_lossy(&head[..n]).to_lowercase();
        assert!(head.contains("content-encoding: gzip"), "{path}: {head}");
    }
    // The report: one HTML file with the run's metrics.
    let r = api.agent.get(&format!("{}/api/backtest/{id}/report", api.base)).call().unwrap();
    assert!(r
        .headers()
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap()
        .contains(&format!("report-{id}.html")));
    let html = r.into_body().read_to_string().unwrap();
    let total = run["metrics"]["total_return"].as_f64().unwrap();
    assert!(html.contains(&format!("data-metric=\"total_return\" data-raw=\"{total}\"")));
    assert!(html.contains("<svg") && !html.contains("<script"), "charts without script");
    // The strategy's plot is in the report too.
    assert!(html.contains("Plot: close (price pane)"), "the plot series");
    // Fill marks are thinned as the chart view thins them, and the count says so.
    let fills = run["trades_total"].as_u64().unwrap();
    assert!(fills > 1_000, "{fills}");
    assert!(html.contains(&format!("1000 of {fills} fills marked")));
    assert_eq!(html.matches("<circle").count(), 1_000);
    // The history: named, filtered, sorted; a bad sort is refused naming the field.
    let (_, list) = api.get("/api/backtests?q=chart%20fast%3D3");
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["name"], "Chart check");
    assert_eq!(list["items"][0]["total_return"], run["metrics"]["total_return"]);
    let (code, bad) = api.get("/api/backtests?sort=colour");
    assert_eq!((code, bad["details"]["field"].as_str()), (422, Some("sort")));
}

/// plots.csv writes each value in the shortest text that reads back (`1e300`, not 301 digits),
/// and one bad row of it leaves the plots out of the chart view, named with its line, while the
/// rest of the view answers.
#[test]
fn plot_values_are_short_and_a_bad_plots_row_is_named_not_a_500() {
    let api = Api::start(1, 4);
    let code = "function on_data(bar) plot(\"huge\", 1e300) plot(\"tiny\", -2.5e-300) end";
    let extra = json!({"timeframe": "1h", "start_date": "2025-01-01", "end_date": "2025-01-02"});
    let (status, v, _) = api.post("/api/backtest", &body(code, extra));
    assert_eq!(status, 202, "{v}");
    let id = v["backtest_id"].as_str().unwrap().to_owned();
    assert_eq!(api.wait(&id)["status"], "completed");
    let file = api.results.path().join("backtests").join(&id).join("plots.csv");
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + 2 * 48, "{text}");
    assert!(lines[1].ends_with(",1e300"), "{}", lines[1]);
    assert!(lines[49].ends_with(",-2.5e-300"), "{}", lines[49]);
    assert!(text.len() < 100 * lines.len(), "{} bytes", text.len());
    std::fs::write(&file, text.replacen(",1e300\n", ",one\n", 1)).unwrap();
    let (status, view) = api.get(&format!("/api/backtest/{id}/chart"));
    assert_eq!(status, 200, "{view}");
    let damaged = view["damaged"][0].as_str().unwrap();
    assert!(damaged.contains("plots.csv") && damaged.contains("line 2"), "{damaged}");
    assert!(!view["candles"].as_array().unwrap().is_empty());
    assert!(view["plots"].as_array().unwrap().is_empty());
    // run.json is served as the README says, and matches the file.
    let served = api.bytes(&format!("/api/backtest/{id}/files/run.json"));
    let file =
        std::fs::read(api.results.path().join("backtests").join(&id).join("run.json")).unwrap();
    assert_eq!(served, file);
}
