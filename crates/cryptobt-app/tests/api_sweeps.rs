//! `/api/sweeps` over real HTTP with real Lua and real files: a sweep submitted, followed to its
//! end, its files equal to the CLI's, its table sorted and paged, its heatmap, a member opened as
//! a run equal to a plain run, cancel, delete, and every bad request named.

#![allow(clippy::unwrap_used, reason = "tests and their helpers fail loudly")]

mod common;

use std::{
    io::{BufRead, BufReader},
    time::{Duration, Instant},
};

use cryptobt_api::RunningServer;
use cryptobt_app::{wire, Settings};
use serde_json::{json, Value};

use common::{cryptobt, root};

struct Api {
    server: Option<RunningServer>,
    base: String,
    agent: ureq::Agent,
    _results: tempfile::TempDir,
}

impl Api {
    fn start() -> Self {
        let results = tempfile::tempdir().unwrap();
        let settings = Settings {
            port: 0,
            data_dir: root().join("data"),
            results_dir: results.path().to_path_buf(),
            static_dir: root().join("static"),
            workers: 1,
            ..Settings::default()
        };
        let (services, config) = wire(&settings);
        let server = RunningServer::start(services, config).unwrap();
        let base = format!("http://{}", server.addr);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        Self { server: Some(server), base, agent, _results: results }
    }

    fn get(&self, path: &str) -> (u16, Value) {
        let mut r = self.agent.get(&format!("{}{path}", self.base)).call().unwrap();
        let status = r.status().as_u16();
        (status, serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap_or_default())
    }

    fn bytes(&self, path: &str) -> Vec<u8> {
        let mut r = self.agent.get(&format!("{}{path}", self.base)).call().unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
        r.body_mut().with_config().limit(64 << 20).read_to_vec().unwrap()
    }

    fn post(&self, path: &str, body: &str) -> (u16, Value) {
        let mut r = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .send(body)
            .unwrap();
        let status = r.status().as_u16();
        (status, serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap_or_default())
    }

    fn delete(&self, path: &str) -> u16 {
        self.agent.delete(&format!("{}{path}", self.base)).call().unwrap().status().as_u16()
    }

    /// The sweep's event stream to its end: (name, data).
    fn events(&self, id: &str) -> Vec<(String, Value)> {
        let r = self.agent.get(&format!("{}/api/sweeps/{id}/events", self.base)).call().unwrap();
        let mut out = Vec::new();
        let mut name = String::new();
        for line in BufReader::new(r.into_body().into_reader()).lines() {
            let line = line.unwrap();
            if let Some(n) = line.strip_prefix("event: ") {
                name = n.to_owned();
            } else if let Some(d) = line.strip_prefix("data: ") {
                out.push((name.clone(), serde_json::from_str(d).unwrap()));
            }
        }
        out
    }

    fn wait_run(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (code, v) = self.get(&format!("/api/backtest/{id}"));
            assert_eq!(code, 200, "{v}");
            if !matches!(v["status"].as_str(), Some("queued" | "running")) {
                return v;
            }
            assert!(Instant::now() < deadline, "{id} did not finish");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop();
        }
    }
}

fn sma() -> String {
    std::fs::read_to_string(root().join("static/strategies/sma_crossover.lua")).unwrap()
}

fn body(extra: &Value) -> String {
    let mut b = json!({
        "strategy_code": sma(), "symbol": "BTCUSDT", "timeframe": "1h",
        "start_date": "2025-01-01", "end_date": "2025-01-20",
        "grid": ["fast=5:15:5", "slow=20,40"], "blocks": 4,
    });
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    b.to_string()
}

#[test]
fn a_sweep_over_http_is_the_cli_sweep_and_its_members_open_as_plain_runs() {
    let api = Api::start();
    let (code, v) = api.post("/api/sweeps", &body(&json!({})));
    assert_eq!(code, 202, "{v}");
    assert_eq!(v["members"], 6);
    let id = v["sweep_id"].as_str().unwrap().to_owned();
    let events = api.events(&id);
    let (last_name, last) = events.last().unwrap();
    assert_eq!((last_name.as_str(), last["status"].as_str()), ("status", Some("completed")));
    assert_eq!(last["progress"]["done"], 6);

    // The same sweep from the CLI writes the same three files.
    let cli = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = cryptobt(&[
        "sweep",
        "--strategy",
        "static/strategies/sma_crossover.lua",
        "--symbol",
        "BTCUSDT",
        "--timeframe",
        "1h",
        "--start",
        "2025-01-01",
        "--end",
        "2025-01-20",
        "--grid",
        "fast=5:15:5",
        "--grid",
        "slow=20,40",
        "--blocks",
        "4",
        "--out",
        cli.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    for name in ["sweep.parquet", "returns.parquet", "sweep.json"] {
        let served = api.bytes(&format!("/api/sweeps/{id}/files/{name}"));
        assert!(served == std::fs::read(cli.path().join(name)).unwrap(), "{name} differs");
    }

    // The table: sorted by the objective (highest first), then by a parameter, paged.
    let (code, v) = api.get(&format!("/api/sweeps/{id}"));
    assert_eq!(code, 200, "{v}");
    assert_eq!((v["status"].as_str(), v["total_rows"].as_u64()), (Some("completed"), Some(6)));
    let sharpes: Vec<f64> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["metrics"]["sharpe_ratio"].as_f64())
        .collect();
    assert!(sharpes.windows(2).all(|w| w[0] >= w[1]), "{sharpes:?}");
    assert_eq!(v["rows"][0]["index"], v["summary"]["best"]["index"]);
    let (_, page) = api.get(&format!("/api/sweeps/{id}?sort=fast&order=asc&page=2&page_size=4"));
    let fasts: Vec<f64> = page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["params"]["fast"].as_f64().unwrap())
        .collect();
    assert_eq!(fasts, [15.0, 15.0], "page 2 of 4 by fast ascending");
    let (code, bad) = api.get(&format!("/api/sweeps/{id}?sort=nope"));
    assert_eq!(code, 400);
    assert!(bad["message"].as_str().unwrap().contains("nope"), "{bad}");

    // The heatmap: 3 × 2 cells, each the member with those params.
    let (code, map) = api.get(&format!("/api/sweeps/{id}/heatmap?x=fast&y=slow"));
    assert_eq!(code, 200, "{map}");
    assert_eq!(map["xs"], json!([5.0, 10.0, 15.0]));
    assert_eq!(map["ys"], json!([20.0, 40.0]));
    let (_, all) = api.get(&format!("/api/sweeps/{id}?sort=index&page_size=100"));
    for (j, slow) in [20.0, 40.0].iter().enumerate() {
        for (i, fast) in [5.0, 10.0, 15.0].iter().enumerate() {
            let member = map["members"][j][i].as_u64().unwrap();
            // Grid numbering: fast slowest → index = i × 2 + j.
            assert_eq!(member, (i * 2 + j) as u64);
            let row = &all["rows"][member as usize];
            assert_eq!(
                (row["params"]["fast"].as_f64(), row["params"]["slow"].as_f64()),
                (Some(*fast), Some(*slow))
            );
            assert_eq!(map["values"][j][i], row["metrics"]["sharpe_ratio"]);
        }
    }

    // A cell opened as a run: the same files as a plain run with those params.
    let best = v["summary"]["best"]["index"].as_u64().unwrap();
    let (code, run) = api.post(&format!("/api/sweeps/{id}/members/{best}/run"), "");
    assert_eq!(code, 202, "{run}");
    let run_id = run["backtest_id"].as_str().unwrap().to_owned();
    assert_eq!(api.wait_run(&run_id)["status"], "completed");
    let params = &v["summary"]["best"]["params"];
    let plain = tempfile::tempdir().unwrap();
    let (fast, slow) = (params["fast"].as_f64().unwrap(), params["slow"].as_f64().unwrap());
    let (code, stdout, stderr) = cryptobt(&[
        "backtest",
        "--strategy",
        "static/strategies/sma_crossover.lua",
        "--symbol",
        "BTCUSDT",
        "--timeframe",
        "1h",
        "--start",
        "2025-01-01",
        "--end",
        "2025-01-20",
        "--param",
        &format!("fast={fast}"),
        "--param",
        &format!("slow={slow}"),
        "--out",
        plain.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    for name in ["trades.csv", "round_trips.csv", "portfolio.csv", "metrics.json"] {
        let served = api.bytes(&format!("/api/backtest/{run_id}/files/{name}"));
        assert!(served == std::fs::read(plain.path().join(name)).unwrap(), "{name} differs");
    }

    // Described in the OpenAPI document.
    let (_, doc) = api.get("/api/openapi.json");
    assert!(doc["paths"]["/api/sweeps"]["post"].is_object(), "{doc}");
    assert!(doc["paths"]["/api/sweeps/{id}/heatmap"]["get"].is_object());
    assert!(doc["components"]["schemas"]["SweepSubmitRequest"].is_object());

    // Listed, then deleted.
    let (_, list) = api.get("/api/sweeps");
    assert_eq!(list["sweeps"][0]["sweep_id"], id.as_str());
    assert_eq!(list["sweeps"][0]["best"]["index"], best);
    assert_eq!(api.delete(&format!("/api/sweeps/{id}")), 200);
    assert_eq!(api.get(&format!("/api/sweeps/{id}")).0, 404);
}

#[test]
fn bad_sweeps_are_refused_naming_the_field_and_a_cancel_keeps_what_finished() {
    let api = Api::start();
    for (extra, field, needle) in [
        (json!({"grid": ["fast=5:1:1"]}), "grid", "ends before it starts"),
        (json!({"grid": "fast=1"}), "grid", "array"),
        (json!({"grid": [3]}), "grid", "NAME=SPEC"),
        (json!({"objective": "luck"}), "objective", "luck"),
        (json!({"blocks": 3}), "blocks", "even"),
        (json!({"walk_forward": "train=x"}), "walk_forward", "train=x"),
        (json!({"minimize": "yes"}), "minimize", "true or false"),
        (json!({"seed": -1}), "seed", "whole number"),
        (json!({"grid": ["fast=1:1000000:1", "slow=1:1000000:1"]}), "grid", "members"),
    ] {
        let (code, v) = api.post("/api/sweeps", &body(&extra));
        assert!(matches!(code, 400 | 422), "{extra}: {code} {v}");
        assert_eq!(v["details"]["field"], field, "{extra}: {v}");
        assert!(v["message"].as_str().unwrap().contains(needle), "{extra}: {v}");
    }
    assert_eq!(api.get("/api/sweeps/../../etc").0, 404);
    assert_eq!(api.get("/api/sweeps/sw_nope").0, 400);
    assert_eq!(api.get("/api/sweeps/sw_20250101_000000_abcdef").0, 404);

    // A slow member per bar: cancel soon after the start.
    let slow =
        "function on_data(ctx, data)\n  local x = 0\n  for i = 1, 20000 do x = x + i end\nend\n";
    let mut b: Value = serde_json::from_str(&body(&json!({
        "grid": ["k=1:40:1"], "timeframe": "1m", "start_date": "2025-01-01", "end_date": "2025-01-02",
    })))
    .unwrap();
    b["strategy_code"] = json!(slow);
    let (code, v) = api.post("/api/sweeps", &b.to_string());
    assert_eq!(code, 202, "{v}");
    let id = v["sweep_id"].as_str().unwrap().to_owned();
    std::thread::sleep(Duration::from_millis(500));
    let (code, v) = api.post(&format!("/api/sweeps/{id}/cancel"), "");
    assert_eq!(code, 202, "{v}");
    let events = api.events(&id);
    assert_eq!(events.last().unwrap().1["status"], "cancelled");
    let (_, v) = api.get(&format!("/api/sweeps/{id}?page_size=100"));
    assert_eq!(v["status"], "cancelled");
    let rows = v["total_rows"].as_u64().unwrap();
    assert!(rows < 40, "a cancel stops the sweep: {rows} rows");
    assert_eq!(api.post(&format!("/api/sweeps/{id}/cancel"), "").0, 409);
}
