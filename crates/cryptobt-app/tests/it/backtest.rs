//! `cryptobt backtest` as docs/design.md#command-line specifies it: the flags, one JSON object on stdout, exit
//! codes 0/1/2, the four result files, and the same bytes from the same inputs.

use std::path::Path;

fn backtest(args: &[&str]) -> (i32, String, String) {
    crate::common::cryptobt(&[&["backtest"], args].concat())
}

fn sma() -> Vec<&'static str> {
    crate::common::sma_1h("2025-01-01", "2025-01-31")
}

#[test]
fn the_readme_command_completes_and_writes_the_four_files() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    let (code, stdout, stderr) = backtest(&[&sma()[..], &["--out", dir, "--json"]].concat());
    assert_eq!(code, 0, "{stdout}{stderr}");
    let json: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(stdout.trim().lines().count(), 1, "exactly one JSON object");
    assert_eq!(json["status"], "completed");
    assert_eq!(json["error_code"], serde_json::Value::Null);
    assert!(json["trades"].as_u64().unwrap() > 0);
    for key in
        ["total_return", "final_equity", "sharpe_ratio", "max_drawdown", "win_rate", "exposure"]
    {
        assert!(json["metrics"].get(key).is_some(), "metrics.{key}");
    }
    for file in ["config.json", "trades.csv", "portfolio.csv", "metrics.json"] {
        assert!(out.path().join(file).exists(), "{file}");
    }
    let portfolio = std::fs::read_to_string(out.path().join("portfolio.csv")).unwrap();
    assert_eq!(portfolio.lines().count(), 745, "header + 744 hourly snapshots");
    assert!(portfolio.starts_with(
        "timestamp,portfolio_value,cash,unrealized_pnl,realized_pnl,margin_used,leverage_ratio\n"
    ));
    let trades = std::fs::read_to_string(out.path().join("trades.csv")).unwrap();
    assert!(trades.starts_with(
        "timestamp,action,symbol,quantity,price,leverage,fee,position_type,pnl,order_type,tag,ambiguous\n"
    ));
    assert_eq!(trades.lines().count() as u64 - 1, json["trades"].as_u64().unwrap());
}

#[test]
fn the_same_run_twice_gives_the_same_bytes_but_for_id_and_time() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for dir in [&a, &b] {
        let (code, _, _) =
            backtest(&[&sma()[..], &["--out", dir.path().to_str().unwrap()]].concat());
        assert_eq!(code, 0);
    }
    for file in ["trades.csv", "portfolio.csv", "metrics.json", "funding.csv", "log.txt"] {
        let (x, y) = (
            std::fs::read(a.path().join(file)).unwrap(),
            std::fs::read(b.path().join(file)).unwrap(),
        );
        assert!(x == y, "{file} differs");
    }
    let run = |p: &Path| {
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(p.join("run.json")).unwrap()).unwrap();
        assert!(v["backtest_id"].as_str().is_some_and(|id| id.starts_with("bt_")));
        v["backtest_id"] = serde_json::Value::Null;
        v
    };
    assert_eq!(run(a.path()), run(b.path()), "run.json differs beyond its id");
    let strip = |p: &Path| {
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(p.join("config.json")).unwrap()).unwrap();
        v["backtest_id"] = serde_json::Value::Null;
        v["created_at"] = serde_json::Value::Null;
        v
    };
    assert_eq!(strip(a.path()), strip(b.path()));
}

#[test]
fn a_failed_run_exits_1_and_still_writes_its_files() {
    let out = tempfile::tempdir().unwrap();
    let args = [
        "--strategy",
        "static/strategies/runtime_error.lua",
        "--symbol",
        "BTCUSDT",
        "--timeframe",
        "1h",
        "--start",
        "2025-01-01",
        "--end",
        "2025-01-31",
        "--json",
        "--out",
        out.path().to_str().unwrap(),
    ];
    let (code, stdout, _) = backtest(&args);
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(
        (json["status"].as_str(), json["error_code"].as_str()),
        (Some("failed"), Some("runtime_error"))
    );
    assert!(json["error_message"].as_str().unwrap().contains("strategy:12:"));
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("config.json")).unwrap()).unwrap();
    assert_eq!(
        (config["status"].as_str(), config["error_code"].as_str()),
        (Some("failed"), Some("runtime_error"))
    );
    assert_eq!(
        std::fs::read_to_string(out.path().join("portfolio.csv")).unwrap().lines().count(),
        11
    );
}

#[test]
fn bad_arguments_and_missing_data_exit_2_naming_the_value() {
    let cases: [(&[&str], &str); 5] = [
        (&["--mode", "futures", "--max-leverage", "150"], "max_leverage 150"),
        (&["--capital", "-5"], "initial_capital -5"),
        (&["--max-leverage", "3"], "max_leverage 3: must be 1 in spot mode"),
        (&["--start", "2024-01-01", "--end", "2024-01-02"], "missing day 2024-01-01"),
        (&["--param", "nonsense"], "--param: \"nonsense\" is not NAME=VALUE"),
    ];
    for (extra, needle) in cases {
        let mut args: Vec<&str> = sma();
        for pair in extra.chunks(2) {
            if let Some(i) = args.iter().position(|a| *a == pair[0]) {
                args[i + 1] = pair[1];
            } else {
                args.extend_from_slice(pair);
            }
        }
        let (code, _, stderr) = backtest(&args);
        assert_eq!(code, 2, "{extra:?}: {stderr}");
        assert!(stderr.contains(needle), "{extra:?}: {stderr}");
    }
    let mut args: Vec<&str> = sma();
    args[5] = "2h";
    let (code, _, stderr) = backtest(&args);
    assert_eq!(code, 2);
    assert!(stderr.contains("2h"), "{stderr}");
}

#[test]
fn json_names_a_data_error_data_error_and_a_bad_argument_invalid_argument() {
    let json = |extra: &[&str]| {
        let mut args: Vec<&str> = sma();
        for pair in extra.chunks(2) {
            match args.iter().position(|a| *a == pair[0]) {
                Some(i) => args[i + 1] = pair[1],
                None => args.extend_from_slice(pair),
            }
        }
        args.push("--json");
        let (code, stdout, stderr) = backtest(&args);
        assert_eq!(code, 2, "{stderr}");
        let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        (v["error_code"].as_str().unwrap().to_owned(), v["error_message"].to_string())
    };
    let (code, message) = json(&["--start", "2024-01-01", "--end", "2024-01-02"]);
    assert_eq!(code, "data_error", "{message}");
    assert!(message.contains("missing day 2024-01-01"), "{message}");
    assert!(
        message.contains(
            "spot has 2025-01-01..2025-01-31; futures has 2025-05-05..2025-06-23 (--mode futures)"
        ),
        "{message}"
    );
    let (code, message) = json(&["--capital", "-5"]);
    assert_eq!(code, "invalid_argument", "{message}");
}

#[test]
fn json_carries_the_run_id_and_where_its_files_went() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    let (code, stdout, _) = backtest(&[&sma()[..], &["--json", "--out", dir]].concat());
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let id = v["backtest_id"].as_str().unwrap();
    assert!(cryptobt_domain::BacktestId::parse(id).is_ok(), "{id}");
    assert_eq!(v["files"].as_str(), Some(dir));
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("config.json")).unwrap()).unwrap();
    assert_eq!(config["backtest_id"].as_str(), Some(id));
    assert_eq!((v["rejections"].as_u64(), v["queued_at_end"].as_u64()), (Some(0), Some(0)));
}

/// `backtest` reads the settings `serve` reads (the settings file, then `CRYPTOBT_*`), and its
/// own `--data-dir` goes on top.
#[test]
fn backtest_reads_the_settings_file_and_environment_and_its_flag_wins() {
    let run = |env: &[(&str, &str)], extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cryptobt"))
            .current_dir(crate::common::root())
            .args([&["backtest"], &sma()[..], &["--json"], extra].concat())
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let json: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap_or_default();
        (out.status.code().unwrap_or(-1), json, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let empty = tempfile::tempdir().unwrap();
    let empty_dir = empty.path().to_str().unwrap();
    // The environment's data folder is the one read (it holds nothing: a data error).
    let (code, json, _) = run(&[("CRYPTOBT_DATA_DIR", empty_dir)], &[]);
    assert_eq!((code, json["error_code"].as_str()), (2, Some("data_error")), "{json}");
    // The settings file likewise.
    let file = empty.path().join("settings.toml");
    std::fs::write(&file, format!("data_dir = {empty_dir:?}\n")).unwrap();
    let (code, json, _) = run(&[("CRYPTOBT_CONFIG", file.to_str().unwrap())], &[]);
    assert_eq!((code, json["error_code"].as_str()), (2, Some("data_error")), "{json}");
    // --data-dir wins over both.
    let results = tempfile::tempdir().unwrap();
    let (code, json, err) = run(
        &[("CRYPTOBT_DATA_DIR", empty_dir)],
        &["--data-dir", "data", "--out", results.path().to_str().unwrap()],
    );
    assert_eq!((code, json["status"].as_str()), (0, Some("completed")), "{json}{err}");
    // A bad setting is named, exit 2.
    let (code, json, _) = run(&[("CRYPTOBT_CACHE_MB", "lots")], &[]);
    assert_eq!(code, 2);
    let message = json["error_message"].as_str().unwrap_or_default();
    assert!(message.contains("CRYPTOBT_CACHE_MB = \"lots\""), "{json}");
}

/// `cryptobt report DIR` reopens the folder `backtest --out DIR` wrote (its one run, named by
/// its config.json) and draws it with its candles.
#[test]
fn report_reopens_a_backtest_out_folder() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("run");
    let (code, stdout, stderr) =
        backtest(&[&sma()[..], &["--out", dir.to_str().unwrap(), "--json"]].concat());
    assert_eq!(code, 0, "{stdout}{stderr}");
    let html = out.path().join("report.html");
    let (code, stdout, stderr) = crate::common::cryptobt(&[
        "report",
        dir.to_str().unwrap(),
        "--out",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(!stderr.contains("no price chart"), "{stderr}");
    let text = std::fs::read_to_string(&html).unwrap();
    let config = std::fs::read_to_string(dir.join("config.json")).unwrap();
    let id = serde_json::from_str::<serde_json::Value>(&config).unwrap()["backtest_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text.contains(&id), "the report names its run");
}
