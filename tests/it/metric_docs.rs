//! docs/metrics.md defines every metric with the same words the page's tooltips and the CLI use
//! (`cryptobt_domain::METRICS`, served at `GET /api/metrics`).

use cryptobt_tests::workspace_root;

#[test]
fn docs_metrics_md_has_every_definition_word_for_word() {
    let doc = std::fs::read_to_string(workspace_root().join("docs/metrics.md")).unwrap();
    for m in &cryptobt_domain::METRICS {
        let row = format!("| `{}` — {} |", m.key, m.label);
        let line = doc.lines().find(|l| l.starts_with(&row));
        let line = line.unwrap_or_else(|| panic!("docs/metrics.md has no row for {}", m.key));
        assert!(line.ends_with(&format!("| {} |", m.definition)), "{}: {line}", m.key);
    }
    let rows = doc.lines().filter(|l| l.starts_with("| `")).count();
    assert_eq!(rows, cryptobt_domain::METRICS.len(), "no row for a metric that does not exist");
}
