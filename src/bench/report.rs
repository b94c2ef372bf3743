//! Reports: every scenario's outcome is `Serialize` (for `--json`) and `Tabular` (for people).

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// An outcome that prints as a two-column table.
pub trait Tabular {
    fn table(&self) -> Table;
}

/// A titled list of `label  value` rows.
pub struct Table {
    title: String,
    rows: Vec<(String, String)>,
}

impl Table {
    pub fn new(title: impl Into<String>) -> Self {
        Table {
            title: title.into(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, label: &str, value: impl Into<String>) -> &mut Self {
        self.rows.push((label.to_owned(), value.into()));
        self
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let width = self.rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
        let mut out = String::new();
        let _ = writeln!(out, "{}", self.title);
        for (label, value) in &self.rows {
            let _ = writeln!(out, "  {label:<width$}  {value}");
        }
        f.write_str(&out)
    }
}

/// Counts of error codes (server error frames, HTTP failures, closes), merged across tasks.
pub type ErrorCounts = BTreeMap<String, u64>;

pub fn merge_errors(into: &mut ErrorCounts, from: ErrorCounts) {
    for (code, n) in from {
        *into.entry(code).or_default() += n;
    }
}

/// `rate_limited 12, socket_closed_1013 1` or `none`.
pub fn errors_line(errors: &ErrorCounts) -> String {
    if errors.is_empty() {
        return "none".into();
    }
    errors
        .iter()
        .map(|(code, n)| format!("{code} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `count` per second over `secs` (0 for an empty window).
pub fn per_second(count: u64, secs: f64) -> f64 {
    if secs > 0.0 { count as f64 / secs } else { 0.0 }
}

/// `     12,345       4115/s`: a count and its rate, aligned for a table.
pub fn rate_line(count: u64, per_s: f64) -> String {
    format!("{:>12}  {:>10.0}/s", thousands(count), per_s)
}

/// `10.0 s (+0.02 s drain), latencies from 3.0 s on (warm-up)`: a run's window.
pub fn window_line(window_s: f64, drain_s: f64, warmup_s: f64) -> String {
    let mut line = format!("{window_s:.1} s (+{drain_s:.2} s drain)");
    if warmup_s > 0.0 {
        line += &format!(", latencies from {warmup_s:.1} s on (warm-up)");
    }
    line
}

/// An integer with thousands separators.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_numbers_group() {
        let mut t = Table::new("demo");
        t.row("a", "1").row("longer", "2");
        assert_eq!(t.to_string(), "demo\n  a       1\n  longer  2\n");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(12), "12");
        let mut errors = ErrorCounts::new();
        merge_errors(&mut errors, [("x".to_owned(), 2)].into());
        merge_errors(&mut errors, [("x".to_owned(), 1)].into());
        assert_eq!(errors_line(&errors), "x 3");
    }
}
