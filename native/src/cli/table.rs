//! Human-readable metric tables for the terminal.

use std::collections::BTreeSet;
use std::fmt::Write;

use oml_core::metrics::{GroupMetrics, MetricsReport};

/// One block per group (OVERALL, then categories): a k x metric table, then pcf and fnmr@fmr.
pub(crate) fn render_report(report: &MetricsReport) -> String {
    let mut out = String::new();
    for (name, group) in report.groups() {
        render_group(&mut out, name, group);
    }
    out
}

fn cell(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{v:.4}"),
        Some(_) => "NaN".to_owned(),
        None => "-".to_owned(),
    }
}

fn render_group(out: &mut String, name: &str, group: &GroupMetrics) {
    let _ = writeln!(out, "\n{name} ({} queries)", group.n_queries);
    let ks: BTreeSet<usize> =
        group.retrieval.iter().flat_map(|(_, v)| v.iter().map(|(k, _)| *k)).collect();
    let _ = write!(out, "  {:>5}", "k");
    for (metric, _) in &group.retrieval {
        let _ = write!(out, " {:>10}", metric.name());
    }
    out.push('\n');
    for &k in &ks {
        let _ = write!(out, "  {k:>5}");
        for (metric, _) in &group.retrieval {
            let _ = write!(out, " {:>10}", cell(group.retrieval_value(*metric, k)));
        }
        out.push('\n');
    }
    for (label, pairs) in [("pcf", &group.pcf), ("fnmr@fmr", &group.fnmr_at_fmr)] {
        if !pairs.is_empty() {
            let parts: Vec<String> =
                pairs.iter().map(|(x, v)| format!("{x}: {}", cell(Some(*v)))).collect();
            let _ = writeln!(out, "  {label:<9} {}", parts.join("  "));
        }
    }
}
