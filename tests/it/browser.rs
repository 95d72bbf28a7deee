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
    let out = Command::new("node")
        .current_dir(root.join("frontend"))
        .arg("e2e/run.mjs")
        .arg(format!("http://{}", server.addr))
        .arg(&shots)
        .env("CHROMIUM", &chromium)
        .env("CLI_RUN", cli_run.to_string())
        .output()
        .expect("node runs");
    server.stop();
    let _ = std::fs::remove_dir_all(&results);
    let report =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{report}");
    assert!(out.status.success(), "browser flows failed:\n{report}");
    assert!(report.contains("19 passed, 0 failed"), "{report}");
    for shot in
        ["desktop-results.png", "mobile.png", "desktop-dark.png", "report.png", "report-phone.png"]
    {
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
