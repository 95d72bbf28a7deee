//! `cryptobt validate FILE.lua`: exit 0 on a valid strategy, 1 with the code and line otherwise.

#![allow(clippy::unwrap_used, reason = "tests and their helpers fail loudly")]

mod common;

fn validate(source: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.lua");
    std::fs::write(&file, source).unwrap();
    common::cryptobt(&["validate", file.to_str().unwrap(), "--json"])
}

#[test]
fn valid_and_invalid_strategies() {
    let (code, out, _) = validate("function on_data(bar) end");
    assert_eq!(
        (code, out.trim()),
        (0, r#"{"error_code":null,"line":null,"message":null,"valid":true}"#)
    );
    let (code, out, _) = validate("function on_data(bar)\n  if then\nend");
    assert_eq!(code, 1);
    assert!(out.contains(r#""error_code":"syntax_error","line":2"#), "{out}");
    let (code, out, _) = validate("x = 1");
    assert_eq!(code, 1);
    assert!(out.contains(r#""error_code":"invalid_strategy""#), "{out}");
    let (code, out, _) = validate("while true do end function on_data(b) end");
    assert_eq!(code, 1);
    assert!(out.contains("time_limit_exceeded"), "{out}");
}
