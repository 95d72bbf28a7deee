//! `cryptobt sweep` end to end: the same sweep gives the same bytes whatever the threads, a
//! member's metrics are those of a plain run with its params, shards split the members by index.

use std::{path::Path, process::Command};

use serde_json::Value;

use crate::common::{cryptobt, root, sma_1h, SLOW_LUA};

fn sweep(dir: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["sweep"];
    args.extend(sma_1h("2025-01-01", "2025-01-20"));
    args.extend(["--grid", "fast=5:15:5", "--grid", "slow=20,40", "--blocks", "4", "--out"]);
    args.push(dir.to_str().unwrap());
    args.extend(extra);
    let (code, stdout, stderr) = cryptobt(&args);
    assert_eq!(code, 0, "{stdout}{stderr}");
    serde_json::from_str(&std::fs::read_to_string(dir.join("sweep.json")).unwrap()).unwrap()
}

#[test]
fn the_same_sweep_gives_the_same_bytes_on_one_thread_or_two() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let one = sweep(a.path(), &["--threads", "1"]);
    let two = sweep(b.path(), &["--threads", "2"]);
    assert_eq!(one["members"], 6);
    assert_eq!(one, two);
    let (pa, pb) = (
        std::fs::read(a.path().join("sweep.parquet")).unwrap(),
        std::fs::read(b.path().join("sweep.parquet")).unwrap(),
    );
    assert!(pa == pb, "sweep.parquet differs between 1 and 2 threads");
    assert!(pa.starts_with(b"PAR1") && pa.ends_with(b"PAR1"), "a Parquet file");
}

#[test]
fn the_best_member_is_a_plain_run_with_its_params() {
    let dir = tempfile::tempdir().unwrap();
    let summary = sweep(dir.path(), &[]);
    let best = &summary["best"];
    let (fast, slow) =
        (best["params"]["fast"].as_f64().unwrap(), best["params"]["slow"].as_f64().unwrap());
    // Members are numbered with the first --grid slowest: fast 5,10,15 × slow 20,40.
    let index = best["index"].as_u64().unwrap();
    assert_eq!(index, ((fast - 5.0) / 5.0) as u64 * 2 + u64::from(slow == 40.0));
    let out = tempfile::tempdir().unwrap();
    let mut args = vec!["backtest"];
    args.extend(sma_1h("2025-01-01", "2025-01-20"));
    let (f, s) = (format!("fast={fast}"), format!("slow={slow}"));
    args.extend(["--param", &f, "--param", &s, "--json", "--out", out.path().to_str().unwrap()]);
    let (code, stdout, _) = cryptobt(&args);
    assert_eq!(code, 0);
    let plain: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        plain["metrics"]["sharpe_ratio"].as_f64(),
        best["objective"].as_f64(),
        "same objective"
    );
}

#[test]
fn shards_split_the_members_by_index() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = sweep(a.path(), &["--shard", "0/2"]);
    let second = sweep(b.path(), &["--shard", "1/2"]);
    assert_eq!((first["members"].as_u64(), second["members"].as_u64()), (Some(3), Some(3)));
    let (code, _, stderr) = cryptobt(&[
        "sweep",
        "--strategy",
        "x.lua",
        "--symbol",
        "BTCUSDT",
        "--timeframe",
        "1h",
        "--start",
        "2025-01-01",
        "--end",
        "2025-01-02",
        "--grid",
        "fast=1,2",
        "--shard",
        "2/2",
        "--out",
        "/tmp/never",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--shard"), "{stderr}");
}

#[test]
fn a_failed_member_is_a_row_not_a_failed_sweep() {
    let (dir, code, stdout, stderr) = sweep_source(
        "-- Sweep failures\nfunction on_data(bar)\n  if params.k == 2 then error('boom') end\n  if params.k == 3 then while true do end end\n  if get_position_size() == 0 then buy(0.01) end\nend\n",
        "2025-01-05",
        &["--grid", "k=1:4:1", "--max-duration", "1", "--threads", "2"],
    );
    let out = dir.path().join("out");
    assert_eq!(code, 0, "{stdout}{stderr}");
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    assert_eq!((summary["members"].as_u64(), summary["completed"].as_u64()), (Some(4), Some(2)));
    let parquet = std::fs::read(out.join("sweep.parquet")).unwrap();
    let text = String::from_utf8_lossy(&parquet);
    assert!(
        text.contains("runtime_error") && text.contains("time_limit_exceeded"),
        "the failed rows name their codes"
    );
    assert!(matches!(summary["best"]["index"].as_u64(), Some(0 | 3)), "a failed member never wins");
}

#[test]
fn walk_forward_runs_each_windows_best_from_the_previous_final_equity() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["sweep"];
    args.extend(sma_1h("2025-01-01", "2025-01-31"));
    args.extend(["--grid", "fast=5:15:5", "--grid", "slow=20,40"]);
    args.extend(["--walk-forward", "train=10d,test=7d", "--out", dir.path().to_str().unwrap()]);
    let (code, stdout, stderr) = cryptobt(&args);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("sweep.json")).unwrap())
            .unwrap();
    let wf = &summary["walk_forward"];
    let windows = wf["windows"].as_array().unwrap();
    // January, train 10 days, test 7: tests Jan 11–17, 18–24, 25–31.
    let days: Vec<(&str, &str)> = windows
        .iter()
        .map(|w| (w["train"][0].as_str().unwrap(), w["test"][0].as_str().unwrap()))
        .collect();
    assert_eq!(
        days,
        [("2025-01-01", "2025-01-11"), ("2025-01-08", "2025-01-18"), ("2025-01-15", "2025-01-25")]
    );
    // The second test window is a plain run of its chosen params from the first's final equity.
    let (first, second) = (&windows[0], &windows[1]);
    let capital = first["final_equity"].as_f64().unwrap().to_string();
    let p = &second["best"]["params"];
    let (f, s) = (format!("fast={}", p["fast"]), format!("slow={}", p["slow"]));
    let out = tempfile::tempdir().unwrap();
    let mut plain = vec!["backtest"];
    plain.extend(sma_1h("2025-01-18", "2025-01-24"));
    plain.extend(["--capital", &capital, "--param", &f, "--param", &s]);
    plain.extend(["--json", "--out", out.path().to_str().unwrap()]);
    let (code, stdout, _) = cryptobt(&plain);
    assert_eq!(code, 0);
    let plain: Value = serde_json::from_str(&stdout).unwrap();
    let got = second["final_equity"].as_f64().unwrap();
    let want = plain["metrics"]["final_equity"].as_f64().unwrap();
    assert!((got - want).abs() < 1e-6, "window 2 ends at {got}, the plain run at {want}");
    let last = windows[2]["final_equity"].as_f64().unwrap();
    assert_eq!(wf["stitched"]["final_equity"].as_f64(), Some(last));
    // The stitched curve: the day before the first test day at the capital, then one point per
    // test day (21), ending at the last window's final equity; its metrics from those points.
    let equity: Vec<f64> = wf["stitched"]["equity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_f64().unwrap())
        .collect();
    assert_eq!(wf["stitched"]["equity"][0][0], "2025-01-10");
    assert_eq!((equity.len(), equity[0]), (22, 10_000.0));
    assert!((equity[21] - last).abs() < 1e-6, "{} vs {last}", equity[21]);
    let returns: Vec<f64> = equity.windows(2).map(|w| w[1] / w[0] - 1.0).collect();
    let n = returns.len() as f64;
    let mean = returns.iter().sum::<f64>() / n;
    let sd = (returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let m = &wf["stitched"]["metrics"];
    assert!((m["sharpe_ratio"].as_f64().unwrap() - mean / sd * 365f64.sqrt()).abs() < 1e-9);
    assert!((m["total_return"].as_f64().unwrap() - (last / 10_000.0 - 1.0) * 100.0).abs() < 1e-9);
    let mut peak = 10_000f64;
    let worst = equity.iter().fold(0f64, |dd, e| {
        peak = peak.max(*e);
        dd.min((e / peak - 1.0) * 100.0)
    });
    assert!((m["max_drawdown"].as_f64().unwrap() - worst).abs() < 1e-9);
    assert!(m["total_trades"].as_f64().unwrap() > 0.0, "the test windows trade");
}

#[test]
fn merged_shards_are_the_single_run_byte_for_byte() {
    let (whole, a, b, c, merged) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    sweep(whole.path(), &[]);
    sweep(a.path(), &["--shard", "0/3"]);
    sweep(b.path(), &["--shard", "1/3"]);
    sweep(c.path(), &["--shard", "2/3"]);
    let dir = |d: &tempfile::TempDir| d.path().to_str().unwrap().to_owned();
    let out = dir(&merged);
    // Given in any order.
    let (code, stdout, stderr) =
        cryptobt(&["sweep", "merge", &dir(&c), &dir(&a), &dir(&b), "--out", &out]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("top 6 by sharpe_ratio"), "{stdout}");
    for name in ["sweep.parquet", "returns.parquet", "sweep.json"] {
        let one = std::fs::read(whole.path().join(name)).unwrap();
        let two = std::fs::read(merged.path().join(name)).unwrap();
        assert!(one == two, "{name} of the merge differs from the single run's");
    }
    // A missing shard, or one given twice, is refused by name.
    let (code, _, stderr) = cryptobt(&["sweep", "merge", &dir(&a), &dir(&b), "--out", &out]);
    assert_eq!(code, 2);
    assert!(stderr.contains("member 2 is in no shard"), "{stderr}");
    let (code, _, stderr) =
        cryptobt(&["sweep", "merge", &dir(&a), &dir(&a), &dir(&b), &dir(&c), "--out", &out]);
    assert_eq!(code, 2);
    assert!(stderr.contains("more than one shard"), "{stderr}");
}

#[test]
fn ctrl_c_cancels_a_sweep_and_keeps_the_members_finished() {
    let dir = tempfile::tempdir().unwrap();
    let strategy = dir.path().join("slow.lua");
    std::fs::write(&strategy, SLOW_LUA).unwrap();
    let out = dir.path().join("out");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_cryptobt"))
        .current_dir(root())
        .args(["sweep", "--strategy", strategy.to_str().unwrap(), "--symbol", "BTCUSDT"])
        .args(["--timeframe", "1m", "--start", "2025-01-01", "--end", "2025-01-02"])
        .args(["--grid", "k=1:200:1", "--threads", "2", "--out", out.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let killed = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let started = std::time::Instant::now();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "the cancel is prompt");
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cancelled"), "{stderr}");
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    let members = summary["members"].as_u64().unwrap();
    assert!(members < 200, "only the members begun before the cancel: {members}");
}

/// Every metric column of `sweep.parquet`, member by member (a null cell is `None`).
fn member_metrics(path: &Path) -> Vec<Vec<(String, Option<f64>)>> {
    use arrow_array::{cast::AsArray, Array};
    let file = std::fs::File::open(path).unwrap();
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let mut members = Vec::new();
    for batch in reader.build().unwrap() {
        let batch = batch.unwrap();
        for row in 0..batch.num_rows() {
            let mut metrics = Vec::new();
            for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
                let value = match column.data_type() {
                    arrow_schema::DataType::Float64 => {
                        let c = column.as_primitive::<arrow_array::types::Float64Type>();
                        (!c.is_null(row)).then(|| c.value(row))
                    }
                    arrow_schema::DataType::Int64 => {
                        let c = column.as_primitive::<arrow_array::types::Int64Type>();
                        (!c.is_null(row)).then(|| c.value(row) as f64)
                    }
                    arrow_schema::DataType::UInt64 => {
                        let c = column.as_primitive::<arrow_array::types::UInt64Type>();
                        (!c.is_null(row)).then(|| c.value(row) as f64)
                    }
                    _ => continue,
                };
                metrics.push((field.name().clone(), value));
            }
            members.push(metrics);
        }
    }
    members
}

/// A sweep member is the plain run with its params, with every run setting: `intrabar 1m`
/// (a limit grid, whose fills the 1m path decides), `fill next_open`, fees, slippage and a
/// funding rate (futures). Before members were prepared as runs are, they walked bar paths.
#[test]
fn a_member_with_every_run_setting_is_the_plain_run() {
    let settings = [
        "--strategy",
        "static/strategies/limit_grid.lua",
        "--symbol",
        "BTCUSDT",
        "--mode",
        "futures",
        "--timeframe",
        "4h",
        "--start",
        "2025-05-05",
        "--end",
        "2025-05-12",
        "--intrabar",
        "1m",
        "--fill",
        "next_open",
        "--fee",
        "0.0007",
        "--maker-fee",
        "0.0001",
        "--slippage-bps",
        "3",
        "--funding-rate",
        "0.0003",
        "--max-leverage",
        "5",
    ];
    members_are_plain_runs(&settings, "step", &["0.005", "0.01"]);
}

/// A member of a sweep over a run of two symbols is that run with its params.
#[test]
fn a_member_of_two_symbols_is_the_plain_run() {
    let settings = [
        "--strategy",
        "static/strategies/pairs_spread.lua",
        "--symbol",
        "BTCUSDT,ETHUSDT",
        "--mode",
        "futures",
        "--timeframe",
        "1h",
        "--start",
        "2025-05-05",
        "--end",
        "2025-05-25",
        "--fill",
        "next_open",
    ];
    members_are_plain_runs(&settings, "entry", &["0.015", "0.02"]);
}

/// Sweeps `name` over `values` with the run `settings`, then runs each value as a plain run:
/// every metric of each member is the plain run's.
fn members_are_plain_runs(settings: &[&str], name: &str, values: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let mut args = vec!["sweep"];
    args.extend(settings);
    let grid = format!("{name}={}", values.join(","));
    args.extend(["--grid", &grid, "--out", out.to_str().unwrap()]);
    let (code, stdout, stderr) = cryptobt(&args);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let members = member_metrics(&out.join("sweep.parquet"));
    assert_eq!(members.len(), values.len());
    for (member, value) in members.iter().zip(values) {
        let mut args = vec!["backtest"];
        args.extend(settings);
        let param = format!("{name}={value}");
        args.extend(["--param", &param, "--json"]);
        let (code, stdout, stderr) = cryptobt(&args);
        assert_eq!(code, 0, "{stdout}{stderr}");
        let plain: Value = serde_json::from_str(&stdout).unwrap();
        let mut compared = 0;
        for (key, value) in member {
            let Some(want) = plain["metrics"].get(key) else { continue };
            let want = want.as_f64().or_else(|| want.as_str().and_then(|s| s.parse().ok()));
            assert_eq!(*value, want, "{param}: {key}");
            compared += 1;
        }
        assert!(compared >= 20, "only {compared} metrics compared");
        assert!(plain["metrics"]["total_trades"].as_u64().unwrap() > 0, "{param} trades");
    }
}

/// `cryptobt sweep` of the Lua `source` (written to a file of a new folder) over spot BTCUSDT 1h
/// from 2025-01-01 to `end`, with `extra` and `--out FOLDER/out`: the folder, exit code, stdout
/// and stderr.
fn sweep_source(
    source: &str,
    end: &str,
    extra: &[&str],
) -> (tempfile::TempDir, i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let strategy = dir.path().join("s.lua");
    std::fs::write(&strategy, source).unwrap();
    let out = dir.path().join("out");
    let mut args = vec!["sweep", "--strategy", strategy.to_str().unwrap()];
    args.extend([
        "--symbol",
        "BTCUSDT",
        "--timeframe",
        "1h",
        "--start",
        "2025-01-01",
        "--end",
        end,
    ]);
    args.extend(extra);
    args.extend(["--out", out.to_str().unwrap()]);
    let (code, stdout, stderr) = cryptobt(&args);
    (dir, code, stdout, stderr)
}

/// `cryptobt sweep` with the SMA run flags and `extra`: exit code and stderr.
fn sweep_exit(extra: &[&str]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["sweep"];
    args.extend(sma_1h("2025-01-01", "2025-01-10"));
    args.extend(["--out", dir.path().to_str().unwrap()]);
    args.extend(extra);
    let (code, _, stderr) = cryptobt(&args);
    (code, stderr)
}

#[test]
fn specs_that_overflow_or_hold_nothing_are_refused_naming_the_flag() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["--grid", "fast=-79228162514264337593543950335:79228162514264337593543950335:1"],
            "overflows a decimal",
        ),
        (&["--grid", "fast=1:1000000:1"], "at most 100000 members"),
        (&["--grid", "fast=5,10,5"], "twice"),
        (&["--grid", "fast=5", "--walk-forward", "train=4000000000d,test=7d"], "no whole window"),
        (&["--grid", "fast=5", "--blocks", "22"], "from 2 to 20"),
        (&["--grid", "fast=1:20", "--random", "3", "--grid", "slow=-1e308:1e308"], "too wide"),
    ];
    for (extra, says) in cases {
        let (code, stderr) = sweep_exit(extra);
        assert_eq!(code, 2, "{extra:?}: {stderr}");
        assert!(stderr.contains(says), "{extra:?}: {stderr}");
    }
}

#[test]
fn a_sweep_whose_members_all_fail_fails_with_the_first_members_error() {
    let (dir, code, stdout, stderr) = sweep_source(
        "function on_data(bar)\n  error('boom ' .. params.k)\nend\n",
        "2025-01-02",
        &["--grid", "k=1,2"],
    );
    let out = dir.path().join("out");
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stderr.contains("runtime_error") && stderr.contains("boom 1"), "{stderr}");
    assert!(out.join("sweep.parquet").exists(), "the failed rows are still written");
}

#[test]
fn the_sweep_wide_time_limit_fails_the_sweep_with_the_members_finished() {
    let (dir, code, stdout, stderr) = sweep_source(
        SLOW_LUA,
        "2025-01-31",
        &["--grid", "k=1:2000:1", "--threads", "1", "--max-sweep-duration", "1"],
    );
    let out = dir.path().join("out");
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stderr.contains("time_limit_exceeded"), "{stderr}");
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    assert!(summary["members"].as_u64().unwrap() < 2000, "{summary}");
}

/// A grid name the strategy never reads (a typo: `fsat`) fails the sweep before the other
/// members run, naming it and the names the strategy does read.
#[test]
fn a_grid_name_the_strategy_never_reads_is_refused() {
    let (code, stderr) = sweep_exit(&["--grid", "fsat=5,10", "--grid", "slow=20,40"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--grid fsat:") && stderr.contains("reads fast, "), "{stderr}");
    assert!(!stderr.contains("never reads slow"), "{stderr}");
}

/// A damaged or crafted shard makes `sweep merge` refuse naming the shard: never a panic (exit
/// 101) and never an allocation of what a footer claims. Symbolic links are not followed.
#[test]
fn merge_refuses_damaged_crafted_and_linked_shards_by_name() {
    let (shard, bad, out) =
        (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    sweep(shard.path(), &[]);
    let copy = |name: &str| std::fs::copy(shard.path().join(name), bad.path().join(name)).unwrap();
    let merge = || {
        let (code, stdout, stderr) = cryptobt(&[
            "sweep",
            "merge",
            bad.path().to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
        ]);
        (code, format!("{stdout}{stderr}"))
    };
    copy("sweep.json");
    copy("returns.parquet");
    let table = std::fs::read(shard.path().join("sweep.parquet")).unwrap();
    let shard_name = bad.path().display().to_string();
    let mut refused = 0;
    for at in (4..table.len() - 4).step_by(table.len() / 40) {
        let mut damaged = table.clone();
        damaged[at] ^= 0x5a;
        std::fs::write(bad.path().join("sweep.parquet"), &damaged).unwrap();
        let (code, said) = merge();
        assert!(code == 0 || code == 2, "byte {at}: exit {code}: {said}");
        if code == 2 {
            assert!(said.contains(&shard_name) && said.contains("sweep.parquet"), "{said}");
            refused += 1;
        }
    }
    assert!(refused > 10, "only {refused} corruptions were noticed");

    // A valid Parquet file with more rows than the sweep has members (2 × 6 here).
    let rows = 5_000u64;
    let schema = std::sync::Arc::new(arrow_schema::Schema::new(vec![arrow_schema::Field::new(
        "index",
        arrow_schema::DataType::UInt64,
        false,
    )]));
    let batch = arrow_array::RecordBatch::try_new(
        schema.clone(),
        vec![std::sync::Arc::new(arrow_array::UInt64Array::from_iter_values(0..rows))],
    )
    .unwrap();
    let mut bytes = Vec::new();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut bytes, schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    std::fs::write(bad.path().join("sweep.parquet"), &bytes).unwrap();
    let (code, said) = merge();
    assert_eq!(code, 2, "{said}");
    assert!(said.contains("claims 5000 rows"), "{said}");

    // A symbolic link in the shard is not followed.
    std::fs::remove_file(bad.path().join("sweep.parquet")).unwrap();
    std::os::unix::fs::symlink(
        shard.path().join("sweep.parquet"),
        bad.path().join("sweep.parquet"),
    )
    .unwrap();
    let (code, said) = merge();
    assert_eq!(code, 2, "{said}");
    assert!(said.contains("symbolic link"), "{said}");
}

/// Counts are integers in sweep.parquet (index, round trips, fills, streaks, liquidations,
/// ambiguous bars); the rest are floats.
#[test]
fn integer_metrics_are_integers_in_sweep_parquet() {
    use arrow_schema::DataType;
    let dir = tempfile::tempdir().unwrap();
    sweep(dir.path(), &[]);
    let file = std::fs::File::open(dir.path().join("sweep.parquet")).unwrap();
    let builder =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let schema = builder.schema().clone();
    let type_of = |name: &str| schema.field_with_name(name).unwrap().data_type().clone();
    for name in
        ["round_trips", "total_trades", "max_consecutive_losses", "liquidations", "ambiguous_bars"]
    {
        assert_eq!(type_of(name), DataType::Int64, "{name}");
    }
    assert_eq!(type_of("index"), DataType::UInt64);
    assert_eq!(type_of("sharpe_ratio"), DataType::Float64);
}
