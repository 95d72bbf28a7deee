//! `cryptobt soak`: a long run of mixed traffic — valid runs, hostile strategies, malformed and
//! cross-site requests, half-sent bodies, reads racing deletes — against one `cryptobt serve`
//! process it starts itself on loopback, at its worker limit. Then it checks what must hold:
//! memory back within 10 % of its baseline, no file descriptor leaked, no run left queued or
//! running, and every run's files parse. Bounded in time; exit 1 when a check fails.

use cryptobt_app::AppError;
use std::{
    io::{BufRead, BufReader, Read, Write},
    path::{Path, PathBuf},
    process::{Child, Command, ExitCode, Stdio},
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use clap::Args;
use serde_json::{json, Value};

use crate::loadtest::agent;

#[derive(Debug, Args)]
pub(crate) struct SoakArgs {
    /// How long to send traffic, in seconds (the soak is 1800).
    #[arg(long, default_value = "1800")]
    seconds: u64,
    /// Client threads sending traffic.
    #[arg(long, default_value = "8")]
    clients: usize,
    /// The market data directory the server reads.
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
    /// Send only these kinds of traffic after the warm-up (0–9, comma-separated: 0 and 1 valid
    /// runs, 2 hostile runs, 3 malformed JSON, 4 hostile validates, 5 unfinished bodies, 6 read
    /// and delete, 7 an overflowing page, 8 price history, 9 a foreign Host), to find which one
    /// a finding comes from. Default: all of them.
    #[arg(long, value_delimiter = ',')]
    only: Vec<usize>,
}

/// Anonymous resident memory (kB: the heap and the stacks, what a leak would grow) and open file
/// descriptors of process `pid`, from /proc. File-backed pages (the executable's code, touched
/// more as more code paths run, and shared, reclaimable libraries) are left out: they are not the
/// process's memory to leak.
fn usage(pid: u32) -> Option<(u64, usize)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        status.lines().find_map(|l| l.strip_prefix(name))?.split_whitespace().next()?.parse().ok()
    };
    let rss = field("RssAnon:").or_else(|| field("VmRSS:"))?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count();
    Some((rss, fds))
}

struct Server {
    child: Child,
    base: String,
    results: tempfile::TempDir,
}

impl Server {
    fn start(data_dir: &Path) -> Result<Self, AppError> {
        let results = tempfile::tempdir()
            .map_err(|source| AppError::Write { path: std::env::temp_dir(), source })?;
        let exe = std::env::current_exe()
            .map_err(|source| AppError::Read { path: "/proc/self/exe".into(), source })?;
        let mut child = Command::new(&exe)
            .args(["serve", "--port", "0", "--data-dir"])
            .arg(data_dir)
            .arg("--results-dir")
            .arg(results.path())
            .env("CRYPTOBT_LOG", "warn")
            .env("CRYPTOBT_WORKERS", "1")
            .env("CRYPTOBT_QUEUE_CAPACITY", "4")
            .env("CRYPTOBT_MAX_RUN_DURATION", "20")
            .env("CRYPTOBT_MAX_RUNS", RETAINED.to_string())
            // glibc keeps up to 8 malloc arenas per core, one per busy thread, and returns little
            // of them: the server's memory then drifts with its thread count, not with its data.
            // Two arenas, as recommended for the server in the README (override by setting it).
            .env(
                "MALLOC_ARENA_MAX",
                std::env::var("MALLOC_ARENA_MAX").unwrap_or_else(|_| "2".to_owned()),
            )
            // And give freed memory back: blocks of 64 KiB and more are mapped on their own (and
            // unmapped when freed), and the heap's free top is trimmed at once. Without these
            // glibc keeps the high-water mark of a busy half hour (measured: +37 % after 30 min,
            // bounded but never returned); with them the server ends near its baseline.
            .env(
                "GLIBC_TUNABLES",
                std::env::var("GLIBC_TUNABLES").unwrap_or_else(|_| {
                    "glibc.malloc.trim_threshold=0:glibc.malloc.mmap_threshold=65536".to_owned()
                }),
            )
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| AppError::Read { path: exe.clone(), source })?;
        let mut line = String::new();
        let stderr = child.stderr.take().ok_or_else(|| {
            AppError::answer("spawn", "cryptobt serve", 0, "the server has no stderr")
        })?;
        let mut reader = BufReader::new(stderr);
        reader
            .read_line(&mut line)
            .map_err(|source| AppError::Read { path: "the server's stderr".into(), source })?;
        let base = line
            .split("serving ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .ok_or_else(|| AppError::answer("spawn", "cryptobt serve", 0, &line))?
            .trim_end_matches('/')
            .to_owned();
        // Keep draining the server's log so that it never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        Ok(Self { child, base, results })
    }
}

/// Counts of what the clients saw.
#[derive(Default)]
struct Tally {
    requests: AtomicU64,
    server_errors: AtomicU64,
    failures: AtomicU64,
}

/// Runs the server keeps (its retention limit): the warm-up goes on until it holds that many, so
/// that the listing and the caches are full when the baseline is taken.
const RETAINED: u64 = 20;

const HOSTILE: [&str; 6] = [
    "function on_data(b) while true do end end",
    "function on_data(b) local s = string.rep('x', 1e9) end",
    "local keep = {} function on_data(b) for i = 1, 1000 do keep[#keep + 1] = ta.sma(100000) end end",
    "function on_data(b) error({}) end",
    "function on_data(b) for i = 1, 200 do buy(1e300) sell(0/0) buy('x') end end",
    "function on_data(b) string.find(string.rep('a', 100000), '.-.-.-.-.-.-b') end",
];

fn body(code: &str, timeframe: &str, end: &str) -> String {
    json!({
        "strategy_code": code, "symbol": "BTCUSDT", "timeframe": timeframe,
        "start_date": "2025-01-01", "end_date": end,
    })
    .to_string()
}

/// One client's loop of mixed traffic until `stop`.
fn client(n: usize, base: &str, stop: Instant, tally: &Tally, only: &[usize]) {
    let a = agent();
    let addr = base.trim_start_matches("http://").to_owned();
    let mut i = n;
    while Instant::now() < stop {
        i += 1;
        if !only.is_empty() && !only.contains(&(i % 10)) {
            continue;
        }
        let outcome: Result<u16, AppError> = match i % 10 {
            0 | 1 => {
                let code = "local s = ta.sma(20) function on_data(b) local v = s:update(b.close) if v and b.close > v and get_position_size() == 0 then buy(0.01) elseif v and b.close < v and get_position_size() > 0 then close_position() end end";
                send(
                    &a,
                    "POST",
                    &format!("{base}/api/backtest"),
                    Some(&body(code, "1h", "2025-01-10")),
                )
            }
            2 => {
                let code = HOSTILE[i / 10 % HOSTILE.len()];
                send(
                    &a,
                    "POST",
                    &format!("{base}/api/backtest"),
                    Some(&body(code, "1h", "2025-01-03")),
                )
            }
            3 => send(&a, "POST", &format!("{base}/api/backtest"), Some("{\"symbol\": ")),
            4 => send(
                &a,
                "POST",
                &format!("{base}/api/strategy/validate"),
                Some(&json!({"strategy_code": HOSTILE[i % HOSTILE.len()]}).to_string()),
            ),
            5 => {
                // A body that never completes (the server's body timeout ends it).
                let _ = std::net::TcpStream::connect(&addr).and_then(|mut s| {
                    s.write_all(format!("POST /api/backtest HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{{").as_bytes())
                });
                Ok(200)
            }
            6 => {
                // Read then delete the newest run while another read races it.
                let listed = get_json(&a, &format!("{base}/api/backtests?page_size=5"));
                let id = listed
                    .as_ref()
                    .ok()
                    .and_then(|v| v["items"][0]["backtest_id"].as_str().map(str::to_owned));
                match id {
                    Some(id) => {
                        let _ = send(&a, "GET", &format!("{base}/api/backtest/{id}"), None);
                        send(&a, "DELETE", &format!("{base}/api/backtest/{id}"), None)
                    }
                    None => Ok(200),
                }
            }
            7 => send(
                &a,
                "GET",
                &format!("{base}/api/backtests?page=144115188075855873&page_size=128"),
                None,
            ),
            8 => send(
                &a,
                "GET",
                &format!("{base}/api/data/history?symbol=BTCUSDT&timeframe=1h&limit=1000"),
                None,
            ),
            _ => {
                let mut raw = std::net::TcpStream::connect(&addr).map_err(|e| e.to_string());
                if let Ok(s) = raw.as_mut() {
                    let _ = s.write_all(b"GET /api/health HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n");
                    let mut sink = Vec::new();
                    let _ = s.read_to_end(&mut sink);
                }
                Ok(200)
            }
        };
        tally.requests.fetch_add(1, Ordering::Relaxed);
        match outcome {
            Ok(code) if code >= 500 && code != 503 => {
                tally.server_errors.fetch_add(1, Ordering::Relaxed);
            }
            Ok(_) => {}
            Err(_) => {
                tally.failures.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn send(a: &ureq::Agent, method: &str, url: &str, body: Option<&str>) -> Result<u16, AppError> {
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .body(body.unwrap_or_default().to_owned())
        .map_err(|e| AppError::http(method, url, e))?;
    let mut r = a.run(request).map_err(|e| AppError::http(method, url, e))?;
    let answer = r.body_mut().read_to_string().unwrap_or_default();
    let code = r.status().as_u16();
    if code >= 500 && code != 503 {
        eprintln!("{code} for {method} {url}: {}", answer.chars().take(300).collect::<String>());
    }
    Ok(code)
}

fn get_json(a: &ureq::Agent, url: &str) -> Result<Value, AppError> {
    let mut r = a.get(url).call().map_err(|e| AppError::http("GET", url, e))?;
    let text = r.body_mut().read_to_string().map_err(|e| AppError::http("GET", url, e))?;
    serde_json::from_str(&text)
        .map_err(|_| AppError::answer("GET", url, r.status().as_u16(), &text))
}

/// Every run folder's files parse: config.json and metrics.json as JSON, each CSV with rows of
/// its header's width and a final newline.
fn check_files(root: &Path) -> Vec<String> {
    let mut bad = Vec::new();
    let Ok(runs) = std::fs::read_dir(root.join("backtests")) else { return bad };
    for run in runs.flatten() {
        for entry in std::fs::read_dir(run.path()).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(text) = std::fs::read_to_string(entry.path()) else {
                bad.push(format!("{}/{name}: unreadable", run.file_name().to_string_lossy()));
                continue;
            };
            let ok = if name.starts_with('.') {
                false // a temporary file left behind
            } else if name.ends_with(".json") {
                serde_json::from_str::<Value>(&text).is_ok()
            } else if name.ends_with(".csv") {
                let width = text.lines().next().map_or(0, |h| h.split(',').count());
                text.ends_with('\n') && text.lines().all(|l| l.split(',').count() == width)
            } else {
                true
            };
            if !ok {
                bad.push(format!("{}/{name}", run.file_name().to_string_lossy()));
            }
        }
    }
    bad
}

pub(crate) fn run(args: &SoakArgs) -> ExitCode {
    let server = match Server::start(&args.data_dir) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("error: cannot start the server: {}", e.chain());
            return ExitCode::from(2);
        }
    };
    let pid = server.child.id();
    let a = agent();
    // Baseline: after a warm-up of the same traffic (a tenth of the time, 60 s at least, and
    // until the server holds as many runs as it keeps), so that the listing, the caches, the
    // pools and the allocator's arenas are filled before memory is compared.
    let warm = Duration::from_secs((args.seconds / 10).max(60));
    let warm_tally = Tally::default();
    let held = || {
        get_json(&a, &format!("{}/api/backtests?page_size=1", server.base))
            .ok()
            .and_then(|v| v["total"].as_u64())
            .unwrap_or(0)
    };
    // Until the time is up and the server holds as many runs as it keeps (10 minutes at most).
    let give_up = Instant::now() + Duration::from_secs(600);
    let mut round = 0;
    while round == 0 || (held() < RETAINED && Instant::now() < give_up) {
        round += 1;
        let span = if round == 1 { warm } else { Duration::from_secs(10) };
        std::thread::scope(|s| {
            for n in 0..args.clients {
                let (base, tally) = (&server.base, &warm_tally);
                // Everything but the deletes (kind 6), so that runs pile up to the retention.
                s.spawn(move || {
                    client(n, base, Instant::now() + span, tally, &[0, 1, 2, 3, 4, 5, 7, 8, 9]);
                });
            }
        });
    }
    settle(&a, &server.base, Duration::from_secs(120));
    std::thread::sleep(Duration::from_secs(12));
    let Some((base_rss, base_fds)) = usage(pid) else {
        eprintln!("error: cannot read /proc/{pid}");
        return ExitCode::from(2);
    };
    println!("baseline: {base_rss} kB anonymous resident, {base_fds} file descriptors");
    let stop = Instant::now() + Duration::from_secs(args.seconds);
    let tally = Tally::default();
    let mut peak = base_rss;
    std::thread::scope(|s| {
        for n in 0..args.clients {
            let (base, tally) = (&server.base, &tally);
            let only = &args.only;
            s.spawn(move || client(n, base, stop, tally, only));
        }
        let mut next_report = Instant::now() + Duration::from_secs(60);
        while Instant::now() < stop {
            std::thread::sleep(Duration::from_secs(1));
            if let Some((rss, fds)) = usage(pid) {
                peak = peak.max(rss);
                if Instant::now() >= next_report {
                    next_report += Duration::from_secs(60);
                    let done = tally.requests.load(Ordering::Relaxed);
                    println!("  … {done} requests, {rss} kB anonymous, {fds} file descriptors");
                }
            }
        }
    });
    let settled = settle(&a, &server.base, Duration::from_secs(120));
    // Let the server's allocator return what the traffic used (and the half-sent bodies time out).
    std::thread::sleep(Duration::from_secs(15));
    let (rss, fds) = usage(pid).unwrap_or((u64::MAX, usize::MAX));
    let bad_files = check_files(server.results.path());
    let requests = tally.requests.load(Ordering::Relaxed);
    println!(
        "{} s, {} clients: {requests} requests, {} server errors, {} transport failures",
        args.seconds,
        args.clients,
        tally.server_errors.load(Ordering::Relaxed),
        tally.failures.load(Ordering::Relaxed)
    );
    println!("anonymous memory: baseline {base_rss} kB, peak {peak} kB, after {rss} kB");
    println!("file descriptors: baseline {base_fds}, after {fds}");
    let mut failed = Vec::new();
    if rss as f64 > base_rss as f64 * 1.10 {
        failed.push(format!("memory {rss} kB is more than 10 % over the baseline {base_rss} kB"));
    }
    if fds > base_fds {
        failed.push(format!("{fds} file descriptors open, {base_fds} at the baseline"));
    }
    if !settled {
        failed.push("runs still queued or running after 120 s".to_owned());
    }
    if !bad_files.is_empty() {
        failed.push(format!("files that do not parse: {bad_files:?}"));
    }
    if tally.server_errors.load(Ordering::Relaxed) > 0 {
        failed.push("500-class answers other than 503".to_owned());
    }
    let mut server = server;
    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    let _ = server.child.wait();
    if failed.is_empty() {
        println!("soak: every check holds");
        ExitCode::SUCCESS
    } else {
        for f in &failed {
            eprintln!("soak failed: {f}");
        }
        ExitCode::from(1)
    }
}

/// Waits until no run is queued or running (polling the listing); false at the deadline.
fn settle(a: &ureq::Agent, base: &str, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let busy =
            get_json(a, &format!("{base}/api/backtests?page_size=200")).ok().is_none_or(|v| {
                v["items"].as_array().is_none_or(|items| {
                    items.iter().any(|i| matches!(i["status"].as_str(), Some("queued" | "running")))
                })
            });
        if !busy {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}
