//! The dependency arrows of docs/ARCHITECTURE.md, checked on `cargo metadata`: a crate that depends on
//! another outside the arrows, or names a library its boundary forbids, fails this test.

use std::{collections::BTreeMap, process::Command};

use serde_json::Value;

/// Workspace crates each crate may depend on (`data → domain`, ..., `app → all`).
const ALLOWED: &[(&str, &[&str])] = &[
    ("cryptobt-domain", &[]),
    ("cryptobt-fs", &[]),
    ("cryptobt-data", &["cryptobt-domain", "cryptobt-fs"]),
    ("cryptobt-store", &["cryptobt-domain", "cryptobt-fs"]),
    // The engine's examples read bars through the data crate and use the indicators crate
    // (dev-dependencies: the engine itself does no IO).
    ("cryptobt-engine", &["cryptobt-domain", "cryptobt-indicators", "cryptobt-data"]),
    ("cryptobt-indicators", &[]),
    ("cryptobt-sandbox", &["cryptobt-domain", "cryptobt-indicators"]),
    ("cryptobt-report", &["cryptobt-domain"]),
    ("cryptobt-api", &["cryptobt-domain", "cryptobt-report"]),
    (
        "cryptobt-py",
        &[
            "cryptobt-domain",
            "cryptobt-data",
            "cryptobt-store",
            "cryptobt-engine",
            "cryptobt-sandbox",
        ],
    ),
    (
        "cryptobt-app",
        &[
            "cryptobt-domain",
            "cryptobt-data",
            "cryptobt-store",
            "cryptobt-engine",
            "cryptobt-sandbox",
            "cryptobt-indicators",
            "cryptobt-report",
            "cryptobt-api",
        ],
    ),
];

/// External libraries a crate must never name: the boundaries written as absences.
const FORBIDDEN: &[(&str, &[&str])] = &[
    (
        "cryptobt-domain",
        &["csv", "mlua", "actix-web", "actix-files", "tokio", "moka", "reqwest", "ureq"],
    ),
    (
        "cryptobt-engine",
        &["csv", "mlua", "actix-web", "actix-files", "tokio", "moka", "reqwest", "ureq", "parquet"],
    ),
    // HTTP clients only where docs/ARCHITECTURE.md names them: `data` (Binance downloads) and
    // `app` (`loadtest`, `soak`). The api serves HTTP, it never calls out.
    // The api sees sweeps through the domain's ports: the Parquet files are the store's.
    ("cryptobt-api", &["csv", "mlua", "ureq", "reqwest", "arrow-array", "arrow-schema", "parquet"]),
    ("cryptobt-sandbox", &["csv", "actix-web", "actix-files", "ureq", "reqwest"]),
    ("cryptobt-data", &["mlua", "actix-web", "actix-files"]),
    // The result store knows files, not market data, Lua or HTTP.
    ("cryptobt-store", &["mlua", "actix-web", "actix-files", "ureq", "reqwest", "cryptobt-data"]),
    ("cryptobt-fs", &["cryptobt-domain", "mlua", "actix-web", "ureq", "reqwest"]),
];

/// Every dependency edge of the workspace's packages (all kinds), by package name.
fn edges(metadata: &Value) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let name = package["name"].as_str().unwrap_or_default().to_owned();
        let deps = package["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["name"].as_str().map(str::to_owned))
            .collect();
        out.insert(name, deps);
    }
    out
}

/// The violations of the arrows in `edges`, one line each.
fn violations(edges: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut found = Vec::new();
    for (package, deps) in edges {
        if package == "cryptobt-tests" {
            continue; // the end-to-end harness may use everything
        }
        if package.starts_with("cryptobt-") && !ALLOWED.iter().any(|(p, _)| p == package) {
            found.push(format!("{package} is not a crate of docs/ARCHITECTURE.md"));
        }
        let allowed = ALLOWED.iter().find(|(p, _)| p == package).map_or(&[][..], |(_, a)| a);
        let forbidden = FORBIDDEN.iter().find(|(p, _)| p == package).map_or(&[][..], |(_, f)| f);
        for dep in deps {
            if dep.starts_with("cryptobt-") && !allowed.contains(&dep.as_str()) {
                found.push(format!(
                    "{package} -> {dep} is outside the arrows of docs/ARCHITECTURE.md"
                ));
            }
            if forbidden.contains(&dep.as_str()) {
                found.push(format!("{package} must not depend on {dep}"));
            }
        }
    }
    found
}

fn workspace_metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(cryptobt_tests::workspace_root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON")
}

#[test]
fn workspace_follows_the_dependency_arrows() {
    let edges = edges(&workspace_metadata());
    for (crate_name, _) in ALLOWED {
        assert!(edges.contains_key(*crate_name), "{crate_name} is missing from the workspace");
    }
    let found = violations(&edges);
    assert!(found.is_empty(), "dependency arrows broken:\n{}", found.join("\n"));
}

#[test]
fn a_forbidden_edge_is_reported() {
    let mut edges = edges(&workspace_metadata());
    edges.get_mut("cryptobt-engine").unwrap().push("cryptobt-sandbox".to_owned());
    edges.get_mut("cryptobt-api").unwrap().push("mlua".to_owned());
    edges.get_mut("cryptobt-domain").unwrap().push("cryptobt-data".to_owned());
    edges.get_mut("cryptobt-api").unwrap().push("ureq".to_owned());
    let found = violations(&edges);
    assert_eq!(
        found,
        [
            "cryptobt-api must not depend on mlua",
            "cryptobt-api must not depend on ureq",
            "cryptobt-domain -> cryptobt-data is outside the arrows of docs/ARCHITECTURE.md",
            "cryptobt-engine -> cryptobt-sandbox is outside the arrows of docs/ARCHITECTURE.md",
        ]
    );
}

/// The top-level modules a source text names through `crate::` (`crate::a::b`, `crate::{a, b}`).
fn crate_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        if let Some(inner) = rest.strip_prefix('{') {
            let (mut depth, mut item, mut items) = (1, String::new(), Vec::new());
            for c in inner.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 1 => break,
                    '}' => depth -= 1,
                    ',' if depth == 1 => items.push(std::mem::take(&mut item)),
                    c if depth == 1 => item.push(c),
                    _ => {}
                }
            }
            items.push(item);
            out.extend(items.iter().filter_map(|i| ident(i.trim())));
        } else if let Some(name) = ident(rest) {
            out.push(name);
        }
    }
    out
}

fn ident(text: &str) -> Option<String> {
    let name: String = text.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    (!name.is_empty()).then_some(name)
}

/// No two modules of a crate import each other (a circle such as `report ↔ routes` or
/// `funding ↔ loader` means a concept sits in the wrong file).
#[test]
fn no_two_modules_import_each_other() {
    let crates = cryptobt_tests::workspace_root().join("crates");
    let mut circles = Vec::new();
    for krate in std::fs::read_dir(&crates).unwrap().map(|e| e.unwrap().path()) {
        let src = krate.join("src");
        let mut uses: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
        let mut stack = vec![src.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().map(|e| e.unwrap().path()) {
                if entry.is_dir() {
                    stack.push(entry);
                    continue;
                }
                if entry.extension().is_none_or(|e| e != "rs") {
                    continue;
                }
                let relative = entry.strip_prefix(&src).unwrap();
                let top = relative.components().next().unwrap().as_os_str().to_string_lossy();
                let top = top.trim_end_matches(".rs").to_owned();
                if top == "lib" || top == "main" {
                    continue;
                }
                let text = std::fs::read_to_string(&entry).unwrap();
                for name in crate_paths(&text) {
                    if name != top {
                        uses.entry(top.clone()).or_default().insert(name);
                    }
                }
            }
        }
        for (a, names) in &uses {
            for b in names {
                if a < b && uses.get(b).is_some_and(|n| n.contains(a)) {
                    circles.push(format!("{}: {a} <-> {b}", krate.display()));
                }
            }
        }
    }
    assert!(circles.is_empty(), "modules that import each other: {circles:#?}");
    assert_eq!(crate_paths("use crate::{a::X, b, c::{d, e}};"), ["a", "b", "c"]);
}
