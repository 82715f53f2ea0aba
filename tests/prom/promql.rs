//! A small PromQL lexer: enough to find the metric names, label matchers and grouping labels of
//! the expressions vigia's dashboards and rules are written with, so they can be checked against
//! the metric contract. It is not a parser: Prometheus itself judges whether an expression is
//! valid (`server::Prometheus::evaluate`).

/// How a label matcher compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `=~`
    Re,
    /// `!~`
    NotRe,
}

impl MatchOp {
    /// True for the regular-expression matchers (`=~`, `!~`).
    pub fn is_regex(self) -> bool {
        matches!(self, MatchOp::Re | MatchOp::NotRe)
    }
}

/// One label matcher of a selector, `label op "value"`, with the value unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    /// The label name.
    pub label: String,
    /// The comparison.
    pub op: MatchOp,
    /// The value, unescaped.
    pub value: String,
}

/// A vector selector: a metric name and its label matchers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// The metric name.
    pub metric: String,
    /// The label matchers, in order.
    pub matchers: Vec<Matcher>,
    /// The selector as written, e.g. `vigia_device_up{family="ipv6"}`.
    pub text: String,
}

/// What an expression refers to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Analysis {
    /// Every vector selector, in order of appearance.
    pub selectors: Vec<Selector>,
    /// Every label named in `by`, `without`, `on`, `ignoring`, `group_left`, `group_right`.
    pub grouping_labels: Vec<String>,
    /// Every function and aggregation called.
    pub functions: Vec<String>,
}

impl Analysis {
    /// The distinct metric names the expression reads.
    pub fn metrics(&self) -> std::collections::BTreeSet<&str> {
        self.selectors.iter().map(|s| s.metric.as_str()).collect()
    }
}

/// Why an expression could not be lexed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PromqlError {
    /// A string literal has no closing quote.
    #[error("unterminated string starting at byte {at} of {expr:?}")]
    UnterminatedString {
        /// The expression.
        expr: String,
        /// Byte offset of the opening quote.
        at: usize,
    },
    /// A bracket or brace has no closing partner.
    #[error("unclosed {open:?} at byte {at} of {expr:?}")]
    Unclosed {
        /// The expression.
        expr: String,
        /// The opening character.
        open: char,
        /// Its byte offset.
        at: usize,
    },
    /// A label matcher or label list is malformed.
    #[error("malformed {what} at byte {at} of {expr:?}")]
    Malformed {
        /// The expression.
        expr: String,
        /// What was expected.
        what: &'static str,
        /// Byte offset.
        at: usize,
    },
    /// A selector such as `{__name__=~"..."}` has no metric name: the contract cannot be
    /// checked for it, so the dashboards and rules must not use one.
    #[error("selector without a metric name at byte {at} of {expr:?}")]
    NoMetricName {
        /// The expression.
        expr: String,
        /// Byte offset of the `{`.
        at: usize,
    },
}

const AGGREGATIONS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
];
const GROUPING: &[&str] = &["by", "without", "on", "ignoring", "group_left", "group_right"];
const KEYWORDS: &[&str] = &["bool", "and", "or", "unless", "offset", "atan2"];

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b':'
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b':'
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// Lex `expr` and report what it refers to.
pub fn analyze(expr: &str) -> Result<Analysis, PromqlError> {
    let b = expr.as_bytes();
    let mut out = Analysis::default();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'"' || c == b'\'' || c == b'`' {
            i = string(expr, i)?.1;
        } else if c == b'$' {
            // A Grafana template variable left in: `$site`, `${site}`, `$__rate_interval`.
            i += 1;
            if i < b.len() && b[i] == b'{' {
                i = close(expr, i, b'{', b'}')?;
            } else {
                while i < b.len() && is_ident(b[i]) {
                    i += 1;
                }
            }
        } else if c == b'{' {
            return Err(PromqlError::NoMetricName { expr: expr.into(), at: i });
        } else if c == b'[' {
            // A range or subquery: durations and template variables only.
            i = close(expr, i, b'[', b']')?;
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            // Numbers and durations: 0.05, 1e-3, 0x1f, 5m, 1h30m.
            i += 1;
            while i < b.len() {
                let exponent_sign =
                    (b[i] == b'+' || b[i] == b'-') && matches!(b[i - 1], b'e' | b'E');
                if is_ident(b[i]) || b[i] == b'.' || exponent_sign {
                    i += 1;
                } else {
                    break;
                }
            }
        } else if is_ident_start(c) {
            let start = i;
            while i < b.len() && is_ident(b[i]) {
                i += 1;
            }
            let word = &expr[start..i];
            let next = skip_ws(b, i);
            let lower = word.to_ascii_lowercase();
            if GROUPING.contains(&word) {
                if next < b.len() && b[next] == b'(' {
                    let (labels, end) = label_list(expr, next)?;
                    out.grouping_labels.extend(labels);
                    i = end;
                }
            } else if KEYWORDS.contains(&word) || lower == "inf" || lower == "nan" {
                // operators and number literals
            } else if AGGREGATIONS.contains(&word) || (next < b.len() && b[next] == b'(') {
                out.functions.push(word.to_string());
            } else {
                let mut selector =
                    Selector { metric: word.to_string(), matchers: Vec::new(), text: word.into() };
                if next < b.len() && b[next] == b'{' {
                    let (matchers, end) = matchers(expr, next)?;
                    selector.matchers = matchers;
                    selector.text = expr[start..end].to_string();
                    i = end;
                }
                out.selectors.push(selector);
            }
        } else {
            // operators, parentheses, commas, `@`
            i += 1;
        }
    }
    Ok(out)
}

/// The string literal starting at `at`: its unescaped value and the index after it.
fn string(expr: &str, at: usize) -> Result<(String, usize), PromqlError> {
    let b = expr.as_bytes();
    let quote = b[at];
    let mut value = Vec::new();
    let mut i = at + 1;
    while i < b.len() {
        let c = b[i];
        if c == quote {
            let value = String::from_utf8(value).expect("slices of a str at ASCII boundaries");
            return Ok((value, i + 1));
        }
        if c == b'\\' && quote != b'`' && i + 1 < b.len() {
            value.push(match b[i + 1] {
                b'n' => b'\n',
                b't' => b'\t',
                other => other,
            });
            i += 2;
        } else {
            value.push(c);
            i += 1;
        }
    }
    Err(PromqlError::UnterminatedString { expr: expr.into(), at })
}

/// The index after the `close` that matches the `open` at `at`, skipping strings.
fn close(expr: &str, at: usize, open: u8, close: u8) -> Result<usize, PromqlError> {
    let b = expr.as_bytes();
    let mut depth = 0usize;
    let mut i = at;
    while i < b.len() {
        let c = b[i];
        if c == b'"' || c == b'\'' || c == b'`' {
            i = string(expr, i)?.1;
            continue;
        }
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return Ok(i + 1);
            }
        }
        i += 1;
    }
    Err(PromqlError::Unclosed { expr: expr.into(), open: open as char, at })
}

/// The `(label, label, ...)` list starting at `at`, and the index after it.
fn label_list(expr: &str, at: usize) -> Result<(Vec<String>, usize), PromqlError> {
    let b = expr.as_bytes();
    let malformed = |i| PromqlError::Malformed { expr: expr.into(), what: "label list", at: i };
    let mut labels = Vec::new();
    let mut i = skip_ws(b, at + 1);
    loop {
        if i >= b.len() {
            return Err(PromqlError::Unclosed { expr: expr.into(), open: '(', at });
        }
        if b[i] == b')' {
            return Ok((labels, i + 1));
        }
        if !is_ident_start(b[i]) {
            return Err(malformed(i));
        }
        let start = i;
        while i < b.len() && is_ident(b[i]) {
            i += 1;
        }
        labels.push(expr[start..i].to_string());
        i = skip_ws(b, i);
        if i < b.len() && b[i] == b',' {
            i = skip_ws(b, i + 1);
        } else if i < b.len() && b[i] != b')' {
            return Err(malformed(i));
        }
    }
}

/// The `{label op "value", ...}` block starting at `at`, and the index after it.
fn matchers(expr: &str, at: usize) -> Result<(Vec<Matcher>, usize), PromqlError> {
    let b = expr.as_bytes();
    let malformed = |i| PromqlError::Malformed { expr: expr.into(), what: "label matcher", at: i };
    let mut out = Vec::new();
    let mut i = skip_ws(b, at + 1);
    loop {
        if i >= b.len() {
            return Err(PromqlError::Unclosed { expr: expr.into(), open: '{', at });
        }
        if b[i] == b'}' {
            return Ok((out, i + 1));
        }
        if !is_ident_start(b[i]) {
            return Err(malformed(i));
        }
        let start = i;
        while i < b.len() && is_ident(b[i]) {
            i += 1;
        }
        let label = expr[start..i].to_string();
        i = skip_ws(b, i);
        let (op, width) = match (b.get(i), b.get(i + 1)) {
            (Some(b'='), Some(b'~')) => (MatchOp::Re, 2),
            (Some(b'!'), Some(b'~')) => (MatchOp::NotRe, 2),
            (Some(b'!'), Some(b'=')) => (MatchOp::Ne, 2),
            (Some(b'='), _) => (MatchOp::Eq, 1),
            _ => return Err(malformed(i)),
        };
        i = skip_ws(b, i + width);
        if i >= b.len() || !matches!(b[i], b'"' | b'\'' | b'`') {
            return Err(malformed(i));
        }
        let (value, end) = string(expr, i)?;
        out.push(Matcher { label, op, value });
        i = skip_ws(b, end);
        if i < b.len() && b[i] == b',' {
            i = skip_ws(b, i + 1);
        } else if i < b.len() && b[i] != b'}' {
            return Err(malformed(i));
        }
    }
}
