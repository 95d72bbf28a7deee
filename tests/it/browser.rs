//! The browser frontend end to end in a real headless Chromium (Debian's `chromium`, driven by
//! playwright-core from `frontend/e2e/run.mjs`) against a server started here on a loopback
//! port with real data, real files and real Lua. Screenshots go to `target/e2e-screenshots/`.
//!
//! Needs `chromium` (apt) and the frontend's locked packages (`npm ci --prefix frontend`);
//! `.ci/run` installs both.

use std::process::Command;

use cryptobt_api::RunningServer;
use cryptobt_app::{wire, Settings};
use cryptobt_tests::workspace_root;

#[test]
fn the_page_runs_a_backtest_and_shows_it() {
    if std::env::var_os("RUN_SLOW_TESTS").is_none() {
        eprintln!("skipped: the browser flows run with RUN_SLOW_TESTS=1 (the README's test command sets it)");
        return;
    }
    let root = workspace_root();
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "{chromium} is missing: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM"
    );
    assert!(
        root.join("frontend/node_modules/playwright-core").exists(),
        "frontend/node_modules is missing: run `npm ci --prefix frontend`"
    );
    let results = tempfile_dir();
    let settings = Settings {
        port: 0,
        data_dir: root.join("data"),
        results_dir: results.clone(),
        static_dir: root.join("static"),
        workers: 1,
        ..Settings::default()
    };
    let (services, config) = wire(&settings);
    let server = RunningServer::start(services, config).expect("the server starts");
    // A second server over two years of generated 1m bars (`cryptobt bench` writes them and one
    // run over all of them) and 10,000 more runs in its history.
    let generated = root.join("target/e2e-generated");
    if !generated.join("results/backtests").exists() {
        let status = Command::new(cli_binary())
            .current_dir(&root)
            .args(["bench", "--days", "730", "--dir"])
            .arg(&generated)
            .status()
            .expect("cryptobt bench runs");
        assert!(status.success(), "generating two years of 1m bars failed");
    }
    many_runs(&generated.join("results"), 10_000);
    let settings = Settings {
        port: 0,
        data_dir: generated.join("data"),
        results_dir: generated.join("results"),
        static_dir: root.join("static"),
        workers: 1,
        max_runs: 20_000,
        ..Settings::default()
    };
    let (services, config) = wire(&settings);
    let big = RunningServer::start(services, config).expect("the second server starts");
    let shots = root.join("target/e2e-screenshots");
    // The CLI's numbers for the run the page makes first (sma_crossover, the form's defaults).
    let cli = Command::new(cli_binary())
        .current_dir(&root)
        .args(["backtest", "--strategy", "static/strategies/sma_crossover.lua", "--symbol"])
        .args(["BTCUSDT", "--timeframe", "1h", "--start", "2025-01-01", "--end", "2025-01-31"])
        .args(["--json", "--out"])
        .arg(tempfile_dir().join("cli"))
        .output()
        .expect("the CLI runs");
    let cli: serde_json::Value = serde_json::from_slice(&cli.stdout).expect("the CLI's JSON");
    let cli_run = serde_json::json!({
        "range": "2025-01-01..2025-01-31",
        "metrics": cli["metrics"],
        "round_trips": cli["round_trips"],
    });
    let report_file = root.join("target/e2e-report.json");
    let out = Command::new("node")
        .current_dir(root.join("frontend"))
        .arg("e2e/run.mjs")
        .arg(format!("http://{}", server.addr))
        .env("BIG_BASE", format!("http://{}", big.addr))
        .arg(&shots)
        .env("CHROMIUM", &chromium)
        .env("CLI_RUN", cli_run.to_string())
        .env("E2E_REPORT", &report_file)
        .output()
        .expect("node runs");
    server.stop();
    big.stop();
    let _ = std::fs::remove_dir_all(&results);
    let report =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{report}");
    assert!(out.status.success(), "browser flows failed:\n{report}");
    let steps: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report_file).expect("the e2e's JSON report"))
            .expect("a JSON report");
    let ran = steps["steps"].as_array().expect("steps");
    assert!(!ran.is_empty(), "no step ran:\n{report}");
    assert_eq!(steps["failed"], 0, "{report}");
    assert!(ran.iter().all(|s| s["ok"] == true), "{report}");
    for shot in [
        "desktop-results.png",
        "mobile.png",
        "desktop-dark.png",
        "report.png",
        "report-phone.png",
        "whole-run-1m-desktop.png",
        "whole-run-1m-phone.png",
    ] {
        assert!(shots.join(shot).exists(), "{shot} was not saved");
    }
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cryptobt-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

/// The `cryptobt` binary next to this test's (built first when this package is tested alone).
fn cli_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe.parent().and_then(std::path::Path::parent).expect("target/<profile>");
    let bin = dir.join("cryptobt");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-q", "-p", "cryptobt-app", "--bin", "cryptobt"])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the cryptobt binary failed");
    }
    bin
}

/// Writes `n` finished runs (`config.json` and `metrics.json`) under `results` unless they are
/// there: names `sweep member k`, params `fast=k`, returns spread over ±50 %.
fn many_runs(results: &std::path::Path, n: usize) {
    use cryptobt_domain::{
        ports::RunRecord, BacktestConfig, BacktestId, ConfigFile, ParamValue, RunStatus, Symbol,
        Timeframe,
    };
    let marker = results.join("many-runs.done");
    if marker.exists() {
        return;
    }
    let day = chrono::NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
    for k in 0..n {
        let created = start + chrono::Duration::seconds(k as i64);
        let id = BacktestId::with_seed(created, k as u64 * 7_919 + 13);
        let config =
            BacktestConfig::builder(Symbol::new("BTCUSDT").unwrap(), Timeframe::H1, day, day)
                .param("fast", ParamValue::Number(k as f64))
                .build()
                .unwrap();
        let record = RunRecord {
            backtest_id: id.clone(),
            created_at: created.and_utc(),
            strategy_code: format!(
                "-- sweep member {k}: generated for the history test\nfunction on_data(bar) end\n"
            ),
            config,
            status: RunStatus::Completed,
            error: None,
        };
        let dir = results.join("backtests").join(id.as_str());
        std::fs::create_dir_all(&dir).unwrap();
        let file = ConfigFile::from_record(&record);
        std::fs::write(dir.join("config.json"), serde_json::to_vec(&file).unwrap()).unwrap();
        let ret = (k as f64 * 0.37).sin() * 50.0;
        let metrics = serde_json::json!({"total_return": ret, "sharpe_ratio": ret / 25.0});
        std::fs::write(dir.join("metrics.json"), metrics.to_string()).unwrap();
    }
    std::fs::write(marker, b"").unwrap();
}
