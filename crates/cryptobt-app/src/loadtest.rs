//! `cryptobt loadtest`: the API latency target — `GET /api/data/history` (1,000 1h bars) and
//! `GET /api/backtest/{id}` from 32 keep-alive connections while a backtest runs — measured
//! against a running server on loopback, reported as p50/p95/p99. Bounded in time and count.

use cryptobt_app::AppError;
use std::{
    process::ExitCode,
    time::{Duration, Instant},
};

use clap::Args;
use serde_json::{json, Value};

#[derive(Debug, Args)]
pub(crate) struct LoadArgs {
    /// The server (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    base: String,
    /// How long to load it.
    #[arg(long, default_value = "10")]
    seconds: u64,
    /// Concurrent connections.
    #[arg(long, default_value = "32")]
    connections: usize,
}

/// An HTTP client for a server on loopback: statuses are answers, not errors; 30 s at most.
pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn post(agent: &ureq::Agent, url: &str, body: &Value) -> Result<Value, AppError> {
    let mut r = agent
        .post(url)
        .header("content-type", "application/json")
        .send(body.to_string())
        .map_err(|e| AppError::http("POST", url, e))?;
    let text = r.body_mut().read_to_string().map_err(|e| AppError::http("POST", url, e))?;
    serde_json::from_str(&text)
        .map_err(|_| AppError::answer("POST", url, r.status().as_u16(), &text))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or(f64::NAN)
}

pub(crate) fn run(args: &LoadArgs) -> ExitCode {
    let host_ok = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| args.base.starts_with(p));
    if !host_ok {
        eprintln!("error: loadtest only targets a server on loopback, not {}", args.base);
        return ExitCode::from(2);
    }
    let a = agent();
    let submit = |body: Value| post(&a, &format!("{}/api/backtest", args.base), &body);
    let busy = json!({
        "strategy_code": "function on_data(bar) for i = 1, 60000 do end end", "symbol": "BTCUSDT", "timeframe": "1m",
        "trading_mode": "futures", "start_date": "2025-05-05", "end_date": "2025-06-23",
    });
    let quick = json!({
        "strategy_code": "function on_data(b) end", "symbol": "BTCUSDT", "timeframe": "1h",
        "start_date": "2025-01-01", "end_date": "2025-01-31",
    });
    let (running, done) = match (submit(busy), submit(quick)) {
        (Ok(r), Ok(d)) => (
            r["backtest_id"].as_str().unwrap_or_default().to_owned(),
            d["backtest_id"].as_str().unwrap_or_default().to_owned(),
        ),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: cannot submit: {}", e.chain());
            return ExitCode::from(1);
        }
    };
    std::thread::sleep(Duration::from_secs(1));
    let paths = [
        (
            "history",
            "/api/data/history?symbol=BTCUSDT&timeframe=1h&trading_mode=futures&limit=1000"
                .to_owned(),
        ),
        ("finished", format!("/api/backtest/{done}")),
        ("running", format!("/api/backtest/{running}")),
    ];
    let stop = Instant::now() + Duration::from_secs(args.seconds);
    let results: Vec<Vec<(usize, f64, bool)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..args.connections)
            .map(|n| {
                let paths = &paths;
                let base = &args.base;
                s.spawn(move || {
                    let agent = agent();
                    let mut out = Vec::new();
                    let mut i = n;
                    while Instant::now() < stop && out.len() < 100_000 {
                        let k = i % paths.len();
                        i += 1;
                        let t = Instant::now();
                        let ok = agent
                            .get(&format!("{base}{}", paths[k].1))
                            .call()
                            .ok()
                            .and_then(|mut r| {
                                (r.status().as_u16() == 200)
                                    .then(|| r.body_mut().read_to_vec().is_ok())
                            })
                            .unwrap_or(false);
                        out.push((k, t.elapsed().as_secs_f64() * 1_000.0, ok));
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
    });
    let state = agent()
        .get(&format!("{}/api/backtest/{running}", args.base))
        .call()
        .ok()
        .and_then(|mut r| r.body_mut().read_to_string().ok())
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .map(|v| v["status"].as_str().unwrap_or("?").to_owned())
        .unwrap_or_default();
    let _ = post(&a, &format!("{}/api/backtest/{running}/cancel", args.base), &json!({}));
    // Leave the server as it was: remove the two runs made here (once the cancelled one ended).
    let status_of = |id: &str| {
        agent()
            .get(&format!("{}/api/backtest/{id}", args.base))
            .call()
            .ok()
            .and_then(|mut r| r.body_mut().read_to_string().ok())
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|v| v["status"].as_str().map(str::to_owned))
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    while matches!(status_of(&running).as_deref(), Some("queued" | "running"))
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut removed = 0;
    for id in [&running, &done] {
        let gone = a.delete(&format!("{}/api/backtest/{id}", args.base)).call();
        removed += usize::from(gone.is_ok_and(|r| r.status().as_u16() == 200));
    }
    println!(
        "{} connections for {} s; the long backtest was {state} at the end",
        args.connections, args.seconds
    );
    let mut failed = 0;
    for (k, (name, _)) in paths.iter().enumerate() {
        let mut ms: Vec<f64> = results.iter().flatten().filter(|r| r.0 == k).map(|r| r.1).collect();
        failed += results.iter().flatten().filter(|r| r.0 == k && !r.2).count();
        ms.sort_by(f64::total_cmp);
        println!(
            "  {name:9} {:6} requests  p50 {:6.2} ms  p95 {:6.2} ms  p99 {:6.2} ms",
            ms.len(),
            percentile(&ms, 0.50),
            percentile(&ms, 0.95),
            percentile(&ms, 0.99)
        );
    }
    println!("  failed requests: {failed}");
    println!("  runs made and removed: {removed} of 2");
    ExitCode::SUCCESS
}
