//! A server on a free loopback port over the shipped data and a results folder of its own, and
//! a small HTTP client of it (real HTTP, real files, real Lua).

#![allow(dead_code, reason = "each test binary uses a different part of these helpers")]

use std::{
    io::{BufRead, BufReader},
    time::{Duration, Instant},
};

use cryptobt_api::RunningServer;
use cryptobt_app::{wire, Settings};
use serde_json::Value;

use super::root;

/// The tests here start servers with their own worker pools; one at a time keeps the timing
/// assertions (health < 100 ms, cancel < 1 s) about this server alone, not about its neighbours.
pub(crate) static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub(crate) fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(crate) struct Api {
    pub(crate) _turn: Option<std::sync::MutexGuard<'static, ()>>,
    pub(crate) server: Option<RunningServer>,
    pub(crate) base: String,
    pub(crate) agent: ureq::Agent,
    pub(crate) results: tempfile::TempDir,
}

impl Api {
    pub(crate) fn start(workers: usize, queue: usize) -> Self {
        Self::start_in(tempfile::tempdir().unwrap(), workers, queue)
    }

    pub(crate) fn start_in(results: tempfile::TempDir, workers: usize, queue: usize) -> Self {
        Self::start_with(Some(exclusive()), results, workers, queue)
    }

    pub(crate) fn start_with(
        turn: Option<std::sync::MutexGuard<'static, ()>>,
        results: tempfile::TempDir,
        workers: usize,
        queue: usize,
    ) -> Self {
        Self::start_tuned(turn, results, workers, queue, |_| {})
    }

    pub(crate) fn start_tuned(
        turn: Option<std::sync::MutexGuard<'static, ()>>,
        results: tempfile::TempDir,
        workers: usize,
        queue: usize,
        tune: impl FnOnce(&mut cryptobt_api::ApiConfig),
    ) -> Self {
        let settings = Settings {
            port: 0,
            data_dir: root().join("data"),
            results_dir: results.path().to_path_buf(),
            static_dir: root().join("static"),
            workers,
            queue_capacity: queue,
            max_strategy_kb: 64,
            ..Settings::default()
        };
        let (services, mut config) = wire(&settings);
        tune(&mut config);
        let server = RunningServer::start(services, config).unwrap();
        let base = format!("http://{}", server.addr);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Self { _turn: turn, server: Some(server), base, agent, results }
    }

    pub(crate) fn get(&self, path: &str) -> (u16, Value) {
        let mut r = self.agent.get(&format!("{}{path}", self.base)).call().unwrap();
        let status = r.status().as_u16();
        (
            status,
            serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap_or(Value::Null),
        )
    }

    pub(crate) fn post(&self, path: &str, body: &str) -> (u16, Value, Option<String>) {
        let mut r = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .send(body)
            .unwrap();
        let status = r.status().as_u16();
        let retry = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
        (
            status,
            serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap_or(Value::Null),
            retry,
        )
    }

    pub(crate) fn delete(&self, path: &str) -> (u16, Value) {
        let mut r = self.agent.delete(&format!("{}{path}", self.base)).call().unwrap();
        let status = r.status().as_u16();
        (
            status,
            serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap_or(Value::Null),
        )
    }

    /// Reads the SSE stream to its end; returns the events as (name, data).
    pub(crate) fn events(&self, id: &str) -> Vec<(String, Value)> {
        self.events_at(&format!("/api/backtest/{id}/events"))
    }

    /// The body of a GET, as bytes (a 200 is required).
    pub(crate) fn bytes(&self, path: &str) -> Vec<u8> {
        let mut r = self.agent.get(&format!("{}{path}", self.base)).call().unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
        r.body_mut().with_config().limit(64 << 20).read_to_vec().unwrap()
    }

    /// Reads the event stream at `path` to its end; returns the events as (name, data).
    pub(crate) fn events_at(&self, path: &str) -> Vec<(String, Value)> {
        self.events_until(path, |_, _| false)
    }

    /// Reads the event stream at `path` until an event satisfies `stop` (or the stream ends);
    /// returns the events read, that one last.
    pub(crate) fn events_until(
        &self,
        path: &str,
        stop: impl Fn(&str, &Value) -> bool,
    ) -> Vec<(String, Value)> {
        let r = self.agent.get(&format!("{}{path}", self.base)).call().unwrap();
        assert_eq!(r.headers().get("content-type").unwrap(), "text/event-stream");
        let reader = BufReader::new(r.into_body().into_reader());
        let mut out = Vec::new();
        let mut name = String::new();
        for line in reader.lines() {
            let line = line.unwrap();
            if let Some(n) = line.strip_prefix("event: ") {
                name = n.to_owned();
            } else if let Some(d) = line.strip_prefix("data: ") {
                let data: Value = serde_json::from_str(d).unwrap();
                let done = stop(&name, &data);
                out.push((name.clone(), data));
                if done {
                    break;
                }
            }
        }
        out
    }

    pub(crate) fn wait(&self, id: &str) -> Value {
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
