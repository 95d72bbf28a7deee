//! `/api/sweeps` over real HTTP with real Lua and real files: a sweep submitted, followed to its
//! end, its files equal to the CLI's, its table sorted and paged, its heatmap, a member opened as
//! a run equal to a plain run, cancel, delete, and every bad request named.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{api::Api, cryptobt, root, sma_1h, SLOW_LUA};

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

/// 40 members of a strategy that loops 20,000 times a bar over two days of 1m bars: a sweep
/// that is still running when the test acts on it.
fn slow_sweep() -> String {
    let mut b: Value = serde_json::from_str(&body(&json!({
        "grid": ["k=1:40:1"], "timeframe": "1m", "start_date": "2025-01-01", "end_date": "2025-01-02",
    })))
    .unwrap();
    b["strategy_code"] = json!(SLOW_LUA);
    b.to_string()
}

#[test]
fn a_sweep_over_http_is_the_cli_sweep_and_its_members_open_as_plain_runs() {
    let api = Api::start(1, 16);
    let (code, v, _) = api.post("/api/sweeps", &body(&json!({})));
    assert_eq!(code, 202, "{v}");
    assert_eq!(v["members"], 6);
    let id = v["sweep_id"].as_str().unwrap().to_owned();
    let events = api.events_at(&format!("/api/sweeps/{id}/events"));
    let (last_name, last) = events.last().unwrap();
    assert_eq!((last_name.as_str(), last["status"].as_str()), ("status", Some("completed")));
    assert_eq!(last["progress"]["done"], 6);

    // The same sweep from the CLI writes the same three files.
    let cli = tempfile::tempdir().unwrap();
    let mut args = vec!["sweep"];
    args.extend(sma_1h("2025-01-01", "2025-01-20"));
    args.extend(["--grid", "fast=5:15:5", "--grid", "slow=20,40", "--blocks", "4", "--out"]);
    args.push(cli.path().to_str().unwrap());
    let (code, stdout, stderr) = cryptobt(&args);
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

    // An ended sweep's table is read from its files once, then served from memory: with
    // `sweep.parquet` moved away, the same page and the heatmap still answer (before, every
    // request read and decoded the file again: 0.25 s a page for 100,000 members).
    let parquet = api.results.path().join("sweeps").join(&id).join("sweep.parquet");
    let aside = parquet.with_extension("aside");
    std::fs::rename(&parquet, &aside).unwrap();
    let (code, again) = api.get(&format!("/api/sweeps/{id}"));
    assert_eq!(code, 200, "{again}");
    assert_eq!(again["rows"], v["rows"]);
    assert_eq!(api.get(&format!("/api/sweeps/{id}/heatmap?x=fast&y=slow")).1, map);
    std::fs::rename(&aside, &parquet).unwrap();

    // A cell opened as a run: the same files as a plain run with those params.
    let best = v["summary"]["best"]["index"].as_u64().unwrap();
    let (code, run, _) = api.post(&format!("/api/sweeps/{id}/members/{best}/run"), "");
    assert_eq!(code, 202, "{run}");
    let run_id = run["backtest_id"].as_str().unwrap().to_owned();
    assert_eq!(api.wait(&run_id)["status"], "completed");
    let params = &v["summary"]["best"]["params"];
    let plain = tempfile::tempdir().unwrap();
    let (fast, slow) = (params["fast"].as_f64().unwrap(), params["slow"].as_f64().unwrap());
    let (fast, slow) = (format!("fast={fast}"), format!("slow={slow}"));
    let mut args = vec!["backtest"];
    args.extend(sma_1h("2025-01-01", "2025-01-20"));
    args.extend(["--param", &fast, "--param", &slow, "--out", plain.path().to_str().unwrap()]);
    let (code, stdout, stderr) = cryptobt(&args);
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
    assert_eq!(api.delete(&format!("/api/sweeps/{id}")).0, 200);
    assert_eq!(api.get(&format!("/api/sweeps/{id}")).0, 404);
}

#[test]
fn bad_sweeps_are_refused_naming_the_field_and_a_cancel_keeps_what_finished() {
    let api = Api::start(1, 16);
    for (extra, field, needle) in [
        (json!({"grid": ["fast=5:1:1"]}), "grid", "ends before it starts"),
        (json!({"grid": "fast=1"}), "grid", "array"),
        (json!({"grid": [3]}), "grid", "NAME=SPEC"),
        (json!({"objective": "luck"}), "objective", "luck"),
        (json!({"blocks": 3}), "blocks", "even"),
        (json!({"random": 2_000_000}), "random", "1 to 100000 members"),
        (json!({"blocks": 22}), "blocks", "from 2 to 20"),
        (json!({"walk_forward": "train=x"}), "walk_forward", "train=x"),
        (json!({"minimize": "yes"}), "minimize", "true or false"),
        (json!({"seed": -1}), "seed", "whole number"),
        (json!({"grid": ["fast=1:1000000:1", "slow=1:1000000:1"]}), "grid", "members"),
        (json!({"grid": ["fa st=1,2"]}), "grid", "fa st"),
    ] {
        let (code, v, _) = api.post("/api/sweeps", &body(&extra));
        assert!(matches!(code, 400 | 422), "{extra}: {code} {v}");
        assert_eq!(v["details"]["field"], field, "{extra}: {v}");
        assert!(v["message"].as_str().unwrap().contains(needle), "{extra}: {v}");
    }
    assert_eq!(api.get("/api/sweeps/../../etc").0, 404);
    assert_eq!(api.get("/api/sweeps/sw_nope").0, 400);
    assert_eq!(api.get("/api/sweeps/sw_20250101_000000_abcdef").0, 404);

    // A slow member per bar: cancel soon after the start.
    let (code, v, _) = api.post("/api/sweeps", &slow_sweep());
    assert_eq!(code, 202, "{v}");
    let id = v["sweep_id"].as_str().unwrap().to_owned();
    // Cancel once the sweep reports that it runs (its events, not a guess at the time).
    let seen =
        api.events_until(&format!("/api/sweeps/{id}/events"), |_, d| d["status"] == "running");
    assert_eq!(seen.last().unwrap().1["status"], "running", "{seen:?}");
    let (code, v, _) = api.post(&format!("/api/sweeps/{id}/cancel"), "");
    assert_eq!(code, 202, "{v}");
    let events = api.events_at(&format!("/api/sweeps/{id}/events"));
    assert_eq!(events.last().unwrap().1["status"], "cancelled");
    let (_, v) = api.get(&format!("/api/sweeps/{id}?page_size=100"));
    assert_eq!(v["status"], "cancelled");
    let rows = v["total_rows"].as_u64().unwrap();
    assert!(rows < 40, "a cancel stops the sweep: {rows} rows");
    assert_eq!(api.post(&format!("/api/sweeps/{id}/cancel"), "").0, 409);
}

#[test]
fn one_sweep_runs_four_wait_and_the_sixth_is_told_to_retry() {
    let api = Api::start(1, 16);
    let b = slow_sweep();
    let mut ids = Vec::new();
    for _ in 0..5 {
        let (code, v, _) = api.post("/api/sweeps", &b);
        assert_eq!(code, 202, "{v}");
        ids.push(v["sweep_id"].as_str().unwrap().to_owned());
    }
    let (code, v, retry) = api.post("/api/sweeps", &b);
    assert_eq!(code, 429, "{v}");
    assert_eq!(v["error"], "queue_full");
    assert!(v["message"].as_str().unwrap().contains("5 sweeps"), "{v}");
    assert_eq!(retry.as_deref(), Some("30"));
    let (_, list) = api.get("/api/sweeps");
    let statuses: Vec<&str> =
        list["sweeps"].as_array().unwrap().iter().map(|s| s["status"].as_str().unwrap()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == "queued").count(), 4, "{statuses:?}");
    // Cancelled, the waiting ones end without running a member.
    for id in &ids {
        assert_eq!(api.post(&format!("/api/sweeps/{id}/cancel"), "").0, 202);
    }
    for id in &ids {
        let events = api.events_at(&format!("/api/sweeps/{id}/events"));
        assert_eq!(events.last().unwrap().1["status"], "cancelled", "{id}");
    }
}

#[test]
fn a_sweep_cut_short_by_a_stop_is_failed_after_the_restart() {
    let results = tempfile::tempdir().unwrap();
    let dir = results.path().join("sweeps/sw_20251130_120000_abc123");
    std::fs::create_dir_all(&dir).unwrap();
    let meta = json!({
        "sweep_id": "sw_20251130_120000_abc123", "created_at": "2025-11-30T12:00:00Z",
        "status": "running", "error_message": null, "name": "x", "symbol": "BTCUSDT",
        "timeframe": "1h", "trading_mode": "spot", "start_date": "2025-01-01",
        "end_date": "2025-01-02", "members": 4, "objective": "sharpe_ratio", "minimize": false,
        "best": null, "pbo": null, "dsr": null, "completed": null, "request": {},
    });
    std::fs::write(dir.join("meta.json"), meta.to_string()).unwrap();
    let api = Api::start_in(results, 1, 16);
    let (code, v) = api.get("/api/sweeps/sw_20251130_120000_abc123");
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["status"], "failed");
    assert!(v["error_message"].as_str().unwrap().contains("interrupted"), "{v}");
    // And on disk, so the next start sees it too.
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).unwrap()).unwrap();
    assert_eq!(stored["status"], "failed");
}

/// A sweep's folder as the server finds it: a damaged table answers the sweep with its status
/// and the damaged file named (not a 500), a symbolic link is not served, temporaries left by a
/// killed process are removed at start, and a sweep whose meta.json cannot be read is listed as
/// damaged instead of hidden.
#[test]
fn damaged_linked_and_interrupted_sweep_folders_are_handled_at_their_cause() {
    let api = Api::start(1, 16);
    let (code, v, _) = api.post("/api/sweeps", &body(&json!({})));
    assert_eq!(code, 202, "{v}");
    let id = v["sweep_id"].as_str().unwrap().to_owned();
    api.events_at(&format!("/api/sweeps/{id}/events"));
    let dir = api.results.path().join("sweeps").join(&id);
    let table = std::fs::read(dir.join("sweep.parquet")).unwrap();

    // A symbolic link in place of a file is not served.
    std::fs::rename(dir.join("sweep.parquet"), dir.join("elsewhere.parquet")).unwrap();
    std::os::unix::fs::symlink(dir.join("elsewhere.parquet"), dir.join("sweep.parquet")).unwrap();
    let (code, v) = api.get(&format!("/api/sweeps/{id}/files/sweep.parquet"));
    assert_eq!(code, 404, "{v}");
    assert!(v["message"].as_str().unwrap().contains("symbolic link"), "{v}");
    std::fs::remove_file(dir.join("sweep.parquet")).unwrap();

    // Damaged: the sweep answers with its status and names the file, without a server path.
    std::fs::write(dir.join("sweep.parquet"), &table[..table.len() / 2]).unwrap();
    let server = api.results.path().display().to_string();
    let results = tempfile::tempdir().unwrap();
    copy_dir(&server, results.path());
    drop(api);
    let sweeps = results.path().join("sweeps");
    // Temporaries of a killed write, and a sweep whose meta.json is not JSON.
    std::fs::write(sweeps.join(&id).join(".meta.json.tmp"), "{").unwrap();
    std::fs::write(sweeps.join(&id).join(".sweep.parquet.tmp-123"), "x").unwrap();
    let broken = "sw_20250101_000000_broken";
    std::fs::create_dir_all(sweeps.join(broken)).unwrap();
    std::fs::write(sweeps.join(broken).join("meta.json"), "not json").unwrap();
    let api = Api::start_in(results, 1, 16);
    let (code, v) = api.get(&format!("/api/sweeps/{id}"));
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["status"], "completed");
    let damaged = v["damaged"][0].as_str().unwrap();
    assert!(damaged.contains("sweep.parquet") && !damaged.contains(&server), "{damaged}");
    let left: Vec<String> = std::fs::read_dir(api.results.path().join("sweeps").join(&id))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!left.iter().any(|n| n.contains(".tmp")), "{left:?}");
    let (_, list) = api.get("/api/sweeps");
    let listed = list["sweeps"].as_array().unwrap();
    let entry = listed.iter().find(|s| s["sweep_id"] == broken).expect("listed");
    assert_eq!(entry["status"], "failed");
    assert!(entry["error_message"].as_str().unwrap().contains("meta.json"), "{entry}");
    assert_eq!(api.delete(&format!("/api/sweeps/{broken}")).0, 200);
}

fn copy_dir(from: &str, to: &std::path::Path) {
    let status = std::process::Command::new("cp")
        .args(["-a", &format!("{from}/."), to.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// The heatmap answer is bounded: over 101 × 101 values it is binned to at most 10,000 cells
/// (100 × 100) and says so.
#[test]
fn a_large_heatmap_is_binned_to_at_most_ten_thousand_cells() {
    let api = Api::start(1, 16);
    let mut b: Value = serde_json::from_str(&body(&json!({
        "grid": ["fast=1:101:1", "slow=1:101:1"], "timeframe": "1d",
        "start_date": "2025-01-01", "end_date": "2025-01-01",
    })))
    .unwrap();
    b["strategy_code"] =
        json!("local f, s = params.fast, params.slow\nfunction on_data(bar) end\n");
    let (code, v, _) = api.post("/api/sweeps", &b.to_string());
    assert_eq!(code, 202, "{v}");
    let id = v["sweep_id"].as_str().unwrap().to_owned();
    api.events_at(&format!("/api/sweeps/{id}/events"));
    let (code, map) =
        api.get(&format!("/api/sweeps/{id}/heatmap?x=fast&y=slow&metric=total_return"));
    assert_eq!(code, 200, "{map}");
    assert_eq!(map["binned"], true);
    let (rows, cols) = (map["values"].as_array().unwrap(), map["xs"].as_array().unwrap().len());
    assert!(rows.len() * cols <= 10_000, "{} × {cols}", rows.len());
    assert_eq!((rows.len(), cols), (100, 100));
    // 101 values in 100 bins: the value at position i goes to bin ⌊i × 100 / 101⌋, so the
    // first bin holds two (positions 0 and 1) and the last one (position 100).
    assert_eq!(map["x_bins"][0], json!([1.0, 2.0]));
    assert_eq!(map["x_bins"][99], json!([101.0, 101.0]));
}

/// Retention: past `max_sweeps` the oldest ended sweeps are deleted (folder and listing) when a
/// sweep ends.
#[test]
fn the_oldest_ended_sweeps_go_past_the_retention_limit() {
    let results = tempfile::tempdir().unwrap();
    let api = Api::start_tuned(Some(crate::common::api::exclusive()), results, 1, 16, |c| {
        c.max_sweeps = 2;
    });
    let small =
        body(&json!({"grid": ["fast=5,10"], "start_date": "2025-01-01", "end_date": "2025-01-03"}));
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (code, v, _) = api.post("/api/sweeps", &small);
        assert_eq!(code, 202, "{v}");
        let id = v["sweep_id"].as_str().unwrap().to_owned();
        api.events_at(&format!("/api/sweeps/{id}/events"));
        ids.push(id);
        std::thread::sleep(Duration::from_millis(1100)); // ids and creation times differ
    }
    let (_, list) = api.get("/api/sweeps");
    let listed: Vec<&str> = list["sweeps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sweep_id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [ids[2].as_str(), ids[1].as_str()], "the newest two are kept");
    assert!(!api.results.path().join("sweeps").join(&ids[0]).exists(), "the oldest folder is gone");
    assert_eq!(api.get(&format!("/api/sweeps/{}", ids[0])).0, 404);
}
