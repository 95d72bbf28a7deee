//! `cryptobt data download` end to end against a local archive server on loopback (no test
//! touches the internet): real shipped bars re-packed as Binance archives with `.CHECKSUM`s, a
//! bad checksum (rejected, nothing kept), and an interrupted transfer (resumed with `Range`).

use std::{
    collections::HashMap,
    io::{BufRead, BufReader, Write},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::Command,
    sync::{Arc, Mutex},
};

use sha2::{Digest, Sha256};

/// A minimal HTTP/1.1 file server: GET with optional `Range: bytes=N-`, one request per
/// connection; can cut one response short after some bytes.
#[derive(Default)]
struct Server {
    files: Mutex<HashMap<String, Vec<u8>>>,
    cut: Mutex<Option<(String, usize)>>,
    log: Mutex<Vec<String>>,
}

impl Server {
    fn start(self: &Arc<Self>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = Arc::clone(self);
        std::thread::spawn(move || {
            for stream in listener.incoming().take(200) {
                let Ok(stream) = stream else { continue };
                let server = Arc::clone(&server);
                std::thread::spawn(move || server.serve(stream));
            }
        });
        format!("http://{addr}")
    }

    fn serve(&self, mut stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request = String::new();
        reader.read_line(&mut request).unwrap_or_default();
        let path =
            request.split_whitespace().nth(1).unwrap_or("/").trim_start_matches('/').to_owned();
        let mut from = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                from = v.trim().trim_end_matches('-').parse().unwrap_or(0);
            }
        }
        self.log.lock().unwrap().push(format!("{path} from {from}"));
        let Some(body) = self.files.lock().unwrap().get(&path).cloned() else {
            let _ = stream.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            return;
        };
        let rest = &body[from.min(body.len())..];
        let head = if from > 0 {
            format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {from}-{}/{}\r\nConnection: close\r\n\r\n",
                rest.len(),
                body.len() - 1,
                body.len()
            )
        } else {
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                rest.len()
            )
        };
        let _ = stream.write_all(head.as_bytes());
        let cut = {
            let mut cut = self.cut.lock().unwrap();
            match cut.as_ref() {
                Some((p, n)) if *p == path => {
                    let n = *n;
                    *cut = None;
                    Some(n)
                }
                _ => None,
            }
        };
        match cut {
            Some(n) => {
                let _ = stream.write_all(&rest[..n]);
                let _ = stream.shutdown(std::net::Shutdown::Both);
            }
            None => {
                let _ = stream.write_all(rest);
            }
        }
    }

    /// Publishes an archive and its `.CHECKSUM` (optionally a wrong one).
    fn publish(&self, path: &str, bytes: Vec<u8>, honest: bool) {
        let name = path.rsplit('/').next().unwrap();
        let mut sum = hex(&Sha256::digest(&bytes));
        if !honest {
            sum = sum.replace(|c: char| c != '0', "0");
        }
        let mut files = self.files.lock().unwrap();
        files.insert(format!("{path}.CHECKSUM"), format!("{sum}  {name}\n").into_bytes());
        files.insert(path.to_owned(), bytes);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data")
}

fn zip_of(entry: &str, text: &str) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    zip.start_file(entry, zip::write::SimpleFileOptions::default()).unwrap();
    zip.write_all(text.as_bytes()).unwrap();
    zip.finish().unwrap();
    out.into_inner()
}

/// The shipped futures 1m day re-packed as Binance's daily kline archive (12 columns, header).
fn kline_archive(day: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(
        shipped().join(format!("binance/futures/BTCUSDT/1m/BTCUSDT_1m_{day}.csv")),
    )
    .unwrap();
    let mut csv = String::from("open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n");
    for row in text.lines().skip(1) {
        let f: Vec<&str> = row.split(',').collect();
        let open: i64 = f[0].parse().unwrap();
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},0,0,0,0,0\n",
            f[0],
            f[1],
            f[2],
            f[3],
            f[4],
            f[5],
            open + 59_999
        ));
    }
    zip_of(&format!("BTCUSDT-1m-{day}.csv"), &csv)
}

/// The shipped May funding re-packed as Binance's monthly fundingRate archive, with jitter.
fn funding_archive() -> Vec<u8> {
    let text = std::fs::read_to_string(
        shipped().join("binance/futures/BTCUSDT/funding/BTCUSDT_funding_2025-05.csv"),
    )
    .unwrap();
    let mut csv = String::from("calc_time,funding_interval_hours,last_funding_rate\n");
    for (i, row) in text.lines().skip(1).enumerate() {
        let (ts, rate) = row.split_once(',').unwrap();
        let jitter = (i % 6) as i64 + 1;
        csv.push_str(&format!("{},8,{rate}\n", ts.parse::<i64>().unwrap() + jitter));
    }
    zip_of("BTCUSDT-fundingRate-2025-05.csv", &csv)
}

const DAILY: &str = "data/futures/um/daily/klines/BTCUSDT/1m";
const FUNDING: &str = "data/futures/um/monthly/fundingRate/BTCUSDT/BTCUSDT-fundingRate-2025-05.zip";

fn publish_all(server: &Server, honest_day_two: bool) {
    server.publish(
        &format!("{DAILY}/BTCUSDT-1m-2025-05-05.zip"),
        kline_archive("2025-05-05"),
        true,
    );
    server.publish(
        &format!("{DAILY}/BTCUSDT-1m-2025-05-06.zip"),
        kline_archive("2025-05-06"),
        honest_day_two,
    );
    server.publish(FUNDING, funding_archive(), true);
}

fn download(base: &str, data: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cryptobt"))
        .args([
            "data",
            "download",
            "--symbol",
            "BTCUSDT",
            "--market",
            "futures",
            "--start",
            "2025-05-05",
            "--end",
            "2025-05-06",
        ])
        .args(["--data-dir", data.to_str().unwrap(), "--base-url", base])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn same_file(data: &Path, relative: &str) {
    let got = std::fs::read_to_string(data.join(relative)).unwrap();
    let want = std::fs::read_to_string(shipped().join(relative)).unwrap();
    assert!(got == want, "{relative} differs from the shipped file");
}

#[test]
fn downloads_verifies_and_converts_to_the_shipped_bytes() {
    let server = Arc::new(Server::default());
    publish_all(&server, true);
    let base = server.start();
    let data = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = download(&base, data.path());
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("downloaded 3 archive(s)"), "{stdout}");
    for tf in ["1m", "5m", "15m", "1h", "4h", "1d"] {
        for day in ["2025-05-05", "2025-05-06"] {
            same_file(data.path(), &format!("binance/futures/BTCUSDT/{tf}/BTCUSDT_{tf}_{day}.csv"));
        }
    }
    same_file(data.path(), "binance/futures/BTCUSDT/funding/BTCUSDT_funding_2025-05.csv");
    // A second run verifies what it has and fetches nothing again.
    let (code, stdout, _) = download(&base, data.path());
    assert_eq!(code, 0);
    assert!(stdout.contains("downloaded 0 archive(s) (0 bytes), 3 already present"), "{stdout}");
}

#[test]
fn a_bad_checksum_is_rejected_and_nothing_is_kept() {
    let server = Arc::new(Server::default());
    publish_all(&server, false);
    let base = server.start();
    let data = tempfile::tempdir().unwrap();
    let (code, _, stderr) = download(&base, data.path());
    assert_eq!(code, 1);
    assert!(
        stderr.contains("BTCUSDT-1m-2025-05-06.zip failed: checksum mismatch: expected sha256 0"),
        "{stderr}"
    );
    let kept: Vec<_> = std::fs::read_dir(data.path().join(".downloads"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        kept,
        ["BTCUSDT-1m-2025-05-05.zip"],
        "neither the bad archive nor its .part is kept"
    );
    assert!(!data.path().join("binance").exists(), "nothing converted from a failed download");
}

#[test]
fn an_interrupted_transfer_resumes_where_it_stopped() {
    let server = Arc::new(Server::default());
    publish_all(&server, true);
    let second = format!("{DAILY}/BTCUSDT-1m-2025-05-06.zip");
    *server.cut.lock().unwrap() = Some((second.clone(), 10_000));
    let base = server.start();
    let data = tempfile::tempdir().unwrap();
    let (code, _, stderr) = download(&base, data.path());
    assert_eq!(code, 1);
    assert!(stderr.contains("transfer interrupted after 10000 bytes"), "{stderr}");
    let part = data.path().join(".downloads/BTCUSDT-1m-2025-05-06.zip.part");
    assert_eq!(std::fs::metadata(&part).unwrap().len(), 10_000);
    assert!(!data.path().join(".downloads/BTCUSDT-1m-2025-05-06.zip").exists());

    let (code, stdout, stderr) = download(&base, data.path());
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        server.log.lock().unwrap().contains(&format!("{second} from 10000")),
        "resumed with a Range request"
    );
    assert!(!part.exists());
    same_file(data.path(), "binance/futures/BTCUSDT/1m/BTCUSDT_1m_2025-05-06.csv");
}
