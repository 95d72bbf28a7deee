//! The page's element-id contract: every element the frontend's modules look up by id
//! (`$("id")`, `getElementById("id")`) is in `static/index.html`, so a renamed element fails
//! here rather than as a `null` in a user's browser.

use std::collections::BTreeSet;

use cryptobt_tests::workspace_root;

/// The ids in `text` looked up as `$("id")` or `getElementById("id")`.
fn looked_up(text: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for opener in ["$(\"", "getElementById(\""] {
        for (at, _) in text.match_indices(opener) {
            let rest = &text[at + opener.len()..];
            if let Some(end) = rest.find("\")") {
                let id = &rest[..end];
                if !id.is_empty()
                    && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                {
                    ids.insert(id.to_owned());
                }
            }
        }
    }
    ids
}

#[test]
fn every_id_the_frontend_looks_up_is_in_the_page() {
    let root = workspace_root();
    let html = std::fs::read_to_string(root.join("static/index.html")).unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(root.join("frontend/src")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "js") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for id in looked_up(&text) {
            assert!(
                html.contains(&format!("id=\"{id}\"")),
                "{} looks up #{id}, which static/index.html does not have",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} ids found: the pattern no longer matches the code");
}

#[test]
fn the_lookup_pattern_finds_ids_and_only_ids() {
    let ids = looked_up(r#"$("run-form"); document.getElementById("status-id"); $(`x`); $("a b")"#);
    assert_eq!(ids.into_iter().collect::<Vec<_>>(), ["run-form", "status-id"]);
}
