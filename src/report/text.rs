//! Small text helpers shared by the renderers: percentages, dates, Markdown tables, RFC 4180
//! CSV records.

use chrono::{DateTime, Utc};

use super::i18n::{Strings, fill};

/// A ratio (0-1) as a percentage with one decimal, or "no data".
pub fn pct(t: &Strings, ratio: Option<f64>) -> String {
    match ratio {
        Some(r) => percent_value(t, r * 100.0),
        None => t.no_data.to_owned(),
    }
}

/// A percentage (0-100) with one decimal.
pub fn percent_value(t: &Strings, value: f64) -> String {
    fill(t.percent, &[("value", &format!("{value:.1}"))])
}

/// A number without a useless fractional part (6 rather than 6.0; 2.5 stays).
pub fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        value.to_string()
    }
}

/// An instant as `YYYY-MM-DD HH:MM UTC`.
pub fn instant(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// An optional text, or empty.
pub fn opt(s: &Option<impl AsRef<str>>) -> String {
    s.as_ref().map(|s| s.as_ref().to_owned()).unwrap_or_default()
}

/// A list of ids joined, or "none".
pub fn ids(t: &Strings, ids: &[impl AsRef<str>]) -> String {
    if ids.is_empty() {
        t.none_listed.to_owned()
    } else {
        ids.iter().map(AsRef::as_ref).collect::<Vec<&str>>().join(", ")
    }
}

/// Escape a Markdown table cell: pipes escaped, line breaks folded to spaces.
pub fn md_cell(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|").replace(['\r', '\n'], " ")
}

/// A Markdown table.
pub fn md_table(out: &mut String, headers: &[impl AsRef<str>], rows: &[Vec<String>]) {
    let line = |cells: &mut dyn Iterator<Item = String>| {
        let cells: Vec<String> = cells.collect();
        format!("| {} |\n", cells.join(" | "))
    };
    out.push_str(&line(&mut headers.iter().map(|h| md_cell(h.as_ref()))));
    out.push_str(&line(&mut headers.iter().map(|_| "---".to_owned())));
    for row in rows {
        out.push_str(&line(&mut row.iter().map(|c| md_cell(c))));
    }
}

/// A plain-text table: columns padded to their widest cell, two spaces apart, header first.
pub fn text_table(out: &mut String, headers: &[impl AsRef<str>], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.as_ref().chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut line = |cells: Vec<&str>| {
        let mut l = String::from("  ");
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            l.push_str(cell);
            if i + 1 < cells.len() {
                l.extend(std::iter::repeat_n(' ', w - cell.chars().count() + 2));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(headers.iter().map(AsRef::as_ref).collect());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// One RFC 4180 record: fields quoted when they hold a comma, a quote or a line break
/// (quotes doubled), ended by CRLF.
pub fn csv_record(out: &mut String, fields: &[String]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if f.contains([',', '"', '\r', '\n']) {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(f);
        }
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::i18n::{EN, ES};

    #[test]
    fn csv_quotes_only_what_rfc_4180_requires() {
        let mut out = String::new();
        csv_record(
            &mut out,
            &[
                "plain".into(),
                "a,b".into(),
                "say \"hi\"".into(),
                "two\nlines".into(),
                String::new(),
            ],
        );
        assert_eq!(out, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\r\n");
    }

    #[test]
    fn markdown_cells_cannot_break_the_table() {
        assert_eq!(md_cell("a|b\nc"), "a\\|b c");
    }

    #[test]
    fn percentages_per_language() {
        assert_eq!(pct(&ES, Some(17.0 / 31.0)), "54.8 %");
        assert_eq!(pct(&EN, Some(0.0)), "0.0%");
        assert_eq!(pct(&ES, None), "sin datos");
        assert_eq!(number(6.0), "6");
        assert_eq!(number(2.5), "2.5");
    }
}
