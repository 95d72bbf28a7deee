//! `cryptobt validate FILE.lua`: exit 0 on a valid strategy, 1 with the code and line otherwise.

fn validate(source: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.lua");
    std::fs::write(&file, source).unwrap();
    crate::common::cryptobt(&["validate", file.to_str().unwrap(), "--json"])
}

#[test]
fn valid_and_invalid_strategies() {
    let (code, out, _) = validate("function on_data(bar) end");
    assert_eq!(code, 0);
    assert!(out.trim().ends_with(r#""line":null,"message":null,"valid":true}"#), "{out}");
    let (code, out, _) = validate("function on_data(bar)\n  if then\nend");
    assert_eq!(code, 1);
    assert!(
        out.contains(r#""error_code":"syntax_error","file""#) && out.contains(r#""line":2,"#),
        "{out}"
    );
    let (code, out, _) = validate("x = 1");
    assert_eq!(code, 1);
    assert!(out.contains(r#""error_code":"invalid_strategy""#), "{out}");
    let (code, out, _) = validate("while true do end function on_data(b) end");
    assert_eq!(code, 1);
    assert!(out.contains("time_limit_exceeded"), "{out}");
}

fn files(sources: &[&str]) -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let paths = sources
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let file = dir.path().join(format!("s{i}.lua"));
            std::fs::write(&file, s).unwrap();
            file.to_str().unwrap().to_owned()
        })
        .collect();
    (dir, paths)
}

/// Several files at once, each with its verdict; the exit code is the worst one.
#[test]
fn several_files_are_checked_and_say_what_was_checked() {
    let (_dir, paths) = files(&["function on_data(b) end", "function on_data(b) if then end"]);
    let args: Vec<&str> =
        ["validate"].into_iter().chain(paths.iter().map(String::as_str)).collect();
    let (code, out, err) = crate::common::cryptobt(&args);
    assert_eq!(code, 1);
    assert!(
        out.contains("s0.lua: ok (syntax, on_data (and initialize) defined as functions"),
        "{out}"
    );
    assert!(err.contains("s1.lua:1: syntax_error"), "{err}");
}

/// `--run` runs the strategy over shipped bars: a runtime error that only data triggers is
/// caught, with its line; a good strategy says what it ran.
#[test]
fn run_catches_errors_that_only_data_shows() {
    let late = "function on_data(b)\n  if b.close > 95000 then\n    local x = nil\n    return x.y\n  end\nend";
    let (_dir, paths) =
        files(&[late, "function on_data(b) if get_position_size() == 0 then buy(0.01) end end"]);
    let (code, _, _) = crate::common::cryptobt(&["validate", &paths[0]]);
    assert_eq!(code, 0, "without --run the error does not show");
    let (code, _, err) = crate::common::cryptobt(&["validate", "--run", &paths[0]]);
    assert_eq!(code, 1);
    assert!(err.contains("s0.lua:4: runtime_error"), "{err}");
    let (code, out, _) = crate::common::cryptobt(&["validate", "--run", &paths[1]]);
    assert_eq!(code, 0);
    assert!(
        out.contains("ran 312 bars of spot BTCUSDT 1h without error (1 fills, 0 refused orders)"),
        "{out}"
    );
}
