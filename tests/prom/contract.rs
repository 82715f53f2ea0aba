//! The metric contract (`tests/resources/metrics/contract.txt`): which metrics vigia exports,
//! with which type and labels, and the closed sets of label values. The dashboards' and rules'
//! test checks expressions against it; the exporter's test can check a `/metrics` text against
//! it with [`Contract::check_exposition`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::promql::{MatchOp, Selector};

/// Labels Prometheus adds to every scraped series.
pub const TARGET_LABELS: &[&str] = &["job", "instance"];

/// A metric's type in the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    /// A value that goes up and down.
    Gauge,
    /// A value that only goes up; its name ends in `_total`.
    Counter,
}

/// One metric of the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricSpec {
    /// Full name, as stored by Prometheus (counters with `_total`).
    pub name: String,
    /// Gauge or counter.
    pub kind: MetricType,
    /// Label names, in contract order (without `job` and `instance`).
    pub labels: Vec<String>,
}

/// The whole contract.
#[derive(Debug, Clone, Default)]
pub struct Contract {
    /// Metrics vigia exports, by name.
    pub metrics: BTreeMap<String, MetricSpec>,
    /// Closed sets of label values, by label name.
    pub values: BTreeMap<String, BTreeSet<String>>,
    /// Series Prometheus itself makes that expressions may use (`up`).
    pub prometheus: BTreeSet<String>,
}

/// A contract file that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line is malformed.
    #[error("{path}:{line}: {message}")]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// What [`Contract::check_exposition`] found.
#[derive(Debug, Clone, Default)]
pub struct ExpositionReport {
    /// Every departure from the contract, one line each.
    pub problems: Vec<String>,
    /// The contract metrics that had at least one sample.
    pub seen: BTreeSet<String>,
}

impl Contract {
    /// Where the contract lives in the repository.
    pub fn default_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/resources/metrics/contract.txt")
    }

    /// Read the repository's contract.
    pub fn load() -> Result<Contract, ContractError> {
        let path = Self::default_path();
        let text = std::fs::read_to_string(&path)
            .map_err(|source| ContractError::Read { path: path.clone(), source })?;
        Self::parse(&path, &text)
    }

    /// Parse a contract text; `path` is only for messages.
    pub fn parse(path: &Path, text: &str) -> Result<Contract, ContractError> {
        let mut c = Contract::default();
        for (n, line) in text.lines().enumerate() {
            let err = |message: String| ContractError::Line {
                path: path.to_path_buf(),
                line: n + 1,
                message,
            };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["metric", name, kind, labels] => {
                    let kind = match *kind {
                        "gauge" => MetricType::Gauge,
                        "counter" => MetricType::Counter,
                        other => return Err(err(format!("type {other:?}: gauge or counter"))),
                    };
                    if (kind == MetricType::Counter) != name.ends_with("_total") {
                        return Err(err(format!("{name}: counters, and only they, end in _total")));
                    }
                    let labels: Vec<String> = if *labels == "-" {
                        Vec::new()
                    } else {
                        labels.split(',').map(str::to_string).collect()
                    };
                    let spec = MetricSpec { name: name.to_string(), kind, labels };
                    if c.metrics.insert(name.to_string(), spec).is_some() {
                        return Err(err(format!("{name} listed twice")));
                    }
                }
                ["values", label, values] => {
                    let set = values.split(',').map(str::to_string).collect();
                    if c.values.insert(label.to_string(), set).is_some() {
                        return Err(err(format!("values of {label} listed twice")));
                    }
                }
                ["prometheus", name] => {
                    c.prometheus.insert(name.to_string());
                }
                _ => {
                    return Err(err(format!(
                        "expected `metric NAME TYPE LABELS`, `values LABEL V,..` or \
                         `prometheus NAME`, got {line:?}"
                    )));
                }
            }
        }
        Ok(c)
    }

    /// The labels a series of `metric` may carry once scraped (contract labels, `job`,
    /// `instance`), or `None` for a metric outside the contract.
    pub fn labels_of(&self, metric: &str) -> Option<BTreeSet<&str>> {
        let mut labels: BTreeSet<&str> = TARGET_LABELS.iter().copied().collect();
        if let Some(spec) = self.metrics.get(metric) {
            labels.extend(spec.labels.iter().map(String::as_str));
            Some(labels)
        } else if self.prometheus.contains(metric) {
            Some(labels)
        } else {
            None
        }
    }

    /// Departures of one selector from the contract: unknown metric, unknown label, a value
    /// outside a closed set (for `=`/`!=`, and for `=~`/`!~` written as a plain alternation).
    pub fn check_selector(&self, selector: &Selector) -> Vec<String> {
        let Some(labels) = self.labels_of(&selector.metric) else {
            return vec![format!("metric {} is not in the contract", selector.metric)];
        };
        let mut problems = Vec::new();
        for m in &selector.matchers {
            if !labels.contains(m.label.as_str()) {
                problems.push(format!(
                    "{}: {} has no label {:?} (it has {})",
                    selector.text,
                    selector.metric,
                    m.label,
                    labels.iter().copied().collect::<Vec<_>>().join(", ")
                ));
                continue;
            }
            let Some(allowed) = self.values.get(&m.label) else { continue };
            let literals: Vec<&str> = match m.op {
                MatchOp::Eq | MatchOp::Ne => vec![m.value.as_str()],
                MatchOp::Re | MatchOp::NotRe => {
                    let plain = m.value.chars().all(|ch| {
                        ch.is_ascii_alphanumeric() || matches!(ch, '_' | '-' | '|' | '\\' | '.')
                    }) && !m.value.contains(".*")
                        && !m.value.contains(".+");
                    if !plain {
                        continue;
                    }
                    m.value.split('|').collect()
                }
            };
            for literal in literals {
                let literal = literal.replace("\\.", ".");
                if !allowed.contains(&literal) {
                    problems.push(format!(
                        "{}: {:?} is not a value of {} ({})",
                        selector.text,
                        literal,
                        m.label,
                        allowed.iter().cloned().collect::<Vec<_>>().join(", ")
                    ));
                }
            }
        }
        problems
    }

    /// Check a `/metrics` text (OpenMetrics or Prometheus text format) against the contract:
    /// every family is a contract metric of the right type, every sample carries exactly the
    /// contract's labels, and closed-set labels hold allowed values. Metrics absent from the
    /// text are not problems (a metric is absent where it does not apply); `seen` says which
    /// were present. Syntax beyond sample lines is Prometheus's to judge when it scrapes.
    pub fn check_exposition(&self, text: &str) -> ExpositionReport {
        let mut report = ExpositionReport::default();
        let mut types: BTreeMap<String, String> = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let at = n + 1;
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut parts = rest.split_whitespace();
                let (Some(family), Some(kind)) = (parts.next(), parts.next()) else {
                    report.problems.push(format!("line {at}: malformed TYPE line {line:?}"));
                    continue;
                };
                types.insert(family.to_string(), kind.to_string());
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let (name, labels) = match parse_sample(line) {
                Ok(sample) => sample,
                Err(why) => {
                    report.problems.push(format!("line {at}: {why}: {line:?}"));
                    continue;
                }
            };
            if name.ends_with("_created") {
                continue;
            }
            let Some(spec) = self.metrics.get(&name) else {
                report.problems.push(format!("line {at}: {name} is not in the contract"));
                continue;
            };
            report.seen.insert(name.clone());
            let family = name.strip_suffix("_total").unwrap_or(&name);
            let declared = types.get(family).or_else(|| types.get(&name)).map(String::as_str);
            let type_ok = match (spec.kind, declared) {
                (MetricType::Counter, Some("counter")) => true,
                (MetricType::Gauge, Some("gauge")) => true,
                (MetricType::Gauge, Some("info")) => name.ends_with("_info"),
                _ => false,
            };
            if !type_ok {
                report.problems.push(format!(
                    "line {at}: {name} is a {:?} in the contract but its TYPE is {declared:?}",
                    spec.kind
                ));
            }
            let got: BTreeSet<&str> = labels.keys().map(String::as_str).collect();
            let want: BTreeSet<&str> = spec.labels.iter().map(String::as_str).collect();
            if got != want {
                report.problems.push(format!(
                    "line {at}: {name} has labels {{{}}}, the contract says {{{}}}",
                    got.iter().copied().collect::<Vec<_>>().join(","),
                    want.iter().copied().collect::<Vec<_>>().join(",")
                ));
            }
            for (label, value) in &labels {
                if let Some(allowed) = self.values.get(label)
                    && !allowed.contains(value)
                {
                    report.problems.push(format!(
                        "line {at}: {name}: {label}={value:?} is not one of {}",
                        allowed.iter().cloned().collect::<Vec<_>>().join(", ")
                    ));
                }
            }
        }
        report
    }
}

/// One sample line: its metric name and labels (value and timestamp are not checked here).
fn parse_sample(line: &str) -> Result<(String, BTreeMap<String, String>), &'static str> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = line[..name_end].to_string();
    let mut labels = BTreeMap::new();
    let rest = &line[name_end..];
    if let Some(body) = rest.strip_prefix('{') {
        let mut chars = body.char_indices().peekable();
        loop {
            while chars.peek().is_some_and(|(_, c)| *c == ',' || *c == ' ') {
                chars.next();
            }
            match chars.peek() {
                Some((_, '}')) => break,
                None => return Err("unclosed label set"),
                _ => {}
            }
            let mut label = String::new();
            for (_, c) in chars.by_ref() {
                if c == '=' {
                    break;
                }
                label.push(c);
            }
            if chars.next().map(|(_, c)| c) != Some('"') {
                return Err("label value not quoted");
            }
            let mut value = String::new();
            let mut closed = false;
            while let Some((_, c)) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, other)) => value.push(other),
                        None => return Err("dangling escape"),
                    },
                    '"' => {
                        closed = true;
                        break;
                    }
                    other => value.push(other),
                }
            }
            if !closed {
                return Err("unterminated label value");
            }
            if labels.insert(label.trim().to_string(), value).is_some() {
                return Err("label repeated");
            }
        }
    }
    Ok((name, labels))
}
