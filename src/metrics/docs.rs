//! The declarations as the metric contract's `metric` lines and as docs/metrics.md's table, so
//! that neither is kept by hand (`tests/metrics.rs` compares them with the files).

use std::fmt::Write;

use super::GROUPS;

/// The `metric NAME TYPE LABELS` lines of `tests/resources/metrics/contract.txt`, one block per
/// group under a heading comment.
pub fn contract_lines() -> String {
    let mut out = String::new();
    for group in &GROUPS {
        let heading = format!("# --- {} ", group.title);
        let _ = writeln!(out, "{heading:-<96}");
        for m in group.metrics {
            let labels = if m.labels.is_empty() { "-".to_owned() } else { m.labels.join(",") };
            let _ = writeln!(out, "metric {} {} {labels}", m.name, m.kind.as_str());
        }
        out.push('\n');
    }
    out
}

/// The metrics table of docs/metrics.md: header and one row per metric.
pub fn docs_table() -> String {
    let mut out =
        String::from("| metric | type | unit | labels | meaning |\n|---|---|---|---|---|\n");
    for m in super::all() {
        let labels = if m.labels.is_empty() { "(none)".to_owned() } else { m.labels.join(", ") };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {labels} | {} |",
            m.name,
            m.kind.as_str(),
            m.doc_unit,
            m.doc
        );
    }
    out
}
