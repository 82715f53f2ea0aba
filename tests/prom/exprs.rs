//! Every PromQL expression vigia ships: each target of each dashboard panel, each templating
//! variable's query, each alert and recording rule; with Grafana's template variables replaced
//! so that Prometheus can evaluate them as they are.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

/// Where an expression comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A target of a dashboard panel.
    Panel {
        /// The dashboard file.
        file: PathBuf,
        /// The panel's id.
        id: i64,
        /// The panel's title.
        title: String,
        /// The target's refId.
        ref_id: String,
    },
    /// A templating variable's query (`label_values(...)`).
    Variable {
        /// The dashboard file.
        file: PathBuf,
        /// The variable's name.
        name: String,
    },
    /// An alerting or recording rule.
    Rule {
        /// The rule file.
        file: PathBuf,
        /// The group's name.
        group: String,
        /// The alert's or recorded series' name.
        name: String,
        /// True for an alerting rule.
        alert: bool,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
        match self {
            Origin::Panel { file, id, title, ref_id } => write!(
                f,
                "{} panel {id} «{title}» target {ref_id}",
                short(file).unwrap_or_default()
            ),
            Origin::Variable { file, name } => {
                write!(f, "{} variable ${name}", short(file).unwrap_or_default())
            }
            Origin::Rule { file, group, name, alert } => write!(
                f,
                "{} group {group} {} {name}",
                short(file).unwrap_or_default(),
                if *alert { "alert" } else { "record" }
            ),
        }
    }
}

/// One expression: where it comes from, as written, and as Prometheus will be asked it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    /// Where it comes from.
    pub origin: Origin,
    /// As written (Grafana variables unsubstituted; `label_values(...)` for variables).
    pub raw: String,
    /// As evaluated: variables substituted, `label_values(m, l)` as `count by (l) (m)`.
    pub promql: String,
}

impl Expr {
    /// True for an expression of a dashboard (panel or variable).
    pub fn is_dashboard(&self) -> bool {
        !matches!(self.origin, Origin::Rule { .. })
    }

    /// True for an alerting rule's expression.
    pub fn is_alert(&self) -> bool {
        matches!(self.origin, Origin::Rule { alert: true, .. })
    }
}

/// Why the expressions could not be collected.
#[derive(Debug, thiserror::Error)]
pub enum ExprError {
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A dashboard is not valid JSON.
    #[error("{path} is not valid JSON: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
    /// A rule file is not valid rule YAML.
    #[error("{path} is not a valid rule file: {message}")]
    Yaml {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// An expression uses a variable the dashboard does not define, or a form not supported.
    #[error("{origin}: {message}")]
    Variable {
        /// Where.
        origin: String,
        /// What.
        message: String,
    },
    /// A dashboard part is missing or of the wrong type.
    #[error("{path}: {message}")]
    Shape {
        /// The file.
        path: PathBuf,
        /// What.
        message: String,
    },
}

/// Values for Grafana's template variables when expressions are evaluated outside Grafana.
///
/// By default a dashboard variable takes its `allValue` (what "All" sends), or `.*` when it
/// has none; Grafana's built-in intervals take values that suit a Prometheus scraping every
/// few seconds for a few minutes. [`Substitutions::set`] pins a variable to a concrete value
/// (say `site` to `mercado-grau`) to check the dashboards for one site.
#[derive(Debug, Clone)]
pub struct Substitutions {
    values: BTreeMap<String, String>,
}

impl Default for Substitutions {
    fn default() -> Self {
        let builtins = [
            ("__rate_interval", "1m"),
            ("__interval", "1m"),
            ("__interval_ms", "60000"),
            ("__range", "1h"),
            ("__range_s", "3600"),
            ("__range_ms", "3600000"),
        ];
        Substitutions {
            values: builtins.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }
}

impl Substitutions {
    /// Pin variable `name` (without `$`) to `value`, for every dashboard.
    pub fn set(mut self, name: &str, value: &str) -> Self {
        self.values.insert(name.to_string(), value.to_string());
        self
    }

    /// The value for `name`: pinned or built-in first, then the dashboard's own default.
    fn get<'a>(&'a self, name: &str, dashboard: &'a BTreeMap<String, String>) -> Option<&'a str> {
        self.values.get(name).or_else(|| dashboard.get(name)).map(String::as_str)
    }
}

/// The repository root (where Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The dashboard files (`dashboards/*.json`), sorted.
pub fn dashboard_files() -> Result<Vec<PathBuf>, ExprError> {
    files_with_extension(&repo_root().join("dashboards"), &["json"])
}

/// The rule files (`deploy/prometheus/rules/*.yml`), sorted.
pub fn rule_files() -> Result<Vec<PathBuf>, ExprError> {
    files_with_extension(&repo_root().join("deploy/prometheus/rules"), &["yml", "yaml"])
}

/// The files of `dir` whose extension is one of `extensions`, sorted.
pub fn files_with_extension(dir: &Path, extensions: &[&str]) -> Result<Vec<PathBuf>, ExprError> {
    let read = |source| ExprError::Read { path: dir.to_path_buf(), source };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let path = entry.map_err(read)?.path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
        if path.is_file() && extensions.contains(&ext) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Read and parse one dashboard.
pub fn read_dashboard(path: &Path) -> Result<Value, ExprError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ExprError::Read { path: path.to_path_buf(), source })?;
    serde_json::from_str(&text)
        .map_err(|source| ExprError::Json { path: path.to_path_buf(), source })
}

/// Every panel of a dashboard, including those inside rows, in order.
pub fn panels(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(list: &'a [Value], out: &mut Vec<&'a Value>) {
        for p in list {
            out.push(p);
            if let Some(inner) = p.get("panels").and_then(Value::as_array) {
                walk(inner, out);
            }
        }
    }
    let mut out = Vec::new();
    if let Some(list) = dashboard.get("panels").and_then(Value::as_array) {
        walk(list, &mut out);
    }
    out
}

/// The templating variables of a dashboard.
pub fn variables(dashboard: &Value) -> Vec<&Value> {
    dashboard
        .pointer("/templating/list")
        .and_then(Value::as_array)
        .map(|l| l.iter().collect())
        .unwrap_or_default()
}

/// The query of a `query` variable, whether stored as a string or as `{ "query": ... }`.
pub fn variable_query(var: &Value) -> Option<&str> {
    match var.get("query") {
        Some(Value::String(s)) => Some(s),
        Some(Value::Object(o)) => o.get("query").and_then(Value::as_str),
        _ => None,
    }
}

/// Every expression of every dashboard, substituted with `subs`.
pub fn dashboard_exprs(subs: &Substitutions) -> Result<Vec<Expr>, ExprError> {
    let mut out = Vec::new();
    for file in dashboard_files()? {
        out.extend(exprs_of_dashboard(&file, &read_dashboard(&file)?, subs)?);
    }
    Ok(out)
}

/// Every expression of one dashboard.
pub fn exprs_of_dashboard(
    file: &Path,
    dashboard: &Value,
    subs: &Substitutions,
) -> Result<Vec<Expr>, ExprError> {
    let mut defaults = BTreeMap::new();
    for var in variables(dashboard) {
        let name = var.get("name").and_then(Value::as_str).unwrap_or_default();
        if var.get("type").and_then(Value::as_str) == Some("datasource") {
            continue;
        }
        let all = var.get("allValue").and_then(Value::as_str).filter(|s| !s.is_empty());
        defaults.insert(name.to_string(), all.unwrap_or(".*").to_string());
    }
    let mut out = Vec::new();
    for var in variables(dashboard) {
        if var.get("type").and_then(Value::as_str) != Some("query") {
            continue;
        }
        let name = var.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
        let origin = Origin::Variable { file: file.to_path_buf(), name };
        let raw = variable_query(var)
            .ok_or_else(|| ExprError::Shape {
                path: file.to_path_buf(),
                message: format!("{origin} has no query"),
            })?
            .to_string();
        let promql = label_values_as_promql(&raw)
            .ok_or_else(|| ExprError::Variable {
                origin: origin.to_string(),
                message: format!("only label_values(METRIC{{...}}, LABEL) is supported: {raw:?}"),
            })
            .and_then(|q| substitute(&q, subs, &defaults, &origin))?;
        out.push(Expr { origin, raw, promql });
    }
    for panel in panels(dashboard) {
        let Some(targets) = panel.get("targets").and_then(Value::as_array) else { continue };
        let id = panel.get("id").and_then(Value::as_i64).unwrap_or(-1);
        let title = panel.get("title").and_then(Value::as_str).unwrap_or_default().to_string();
        for t in targets {
            if t.get("hide").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let ref_id = t.get("refId").and_then(Value::as_str).unwrap_or_default().to_string();
            let origin =
                Origin::Panel { file: file.to_path_buf(), id, title: title.clone(), ref_id };
            let raw = t.get("expr").and_then(Value::as_str).ok_or_else(|| ExprError::Shape {
                path: file.to_path_buf(),
                message: format!("{origin} has no expr"),
            })?;
            let promql = substitute(raw, subs, &defaults, &origin)?;
            out.push(Expr { origin, raw: raw.to_string(), promql });
        }
    }
    Ok(out)
}

/// `label_values(metric{...}, label)` as `count by (label) (metric{...})`.
fn label_values_as_promql(query: &str) -> Option<String> {
    let inner = query.trim().strip_prefix("label_values(")?.strip_suffix(')')?;
    let (selector, label) = inner.rsplit_once(',')?;
    let label = label.trim();
    let selector = selector.trim();
    if selector.is_empty() || label.is_empty() || label.contains(['{', '}', '"']) {
        return None;
    }
    Some(format!("count by ({label}) ({selector})"))
}

/// Replace Grafana's `$name`, `${name}` and `${name:format}` in `text`.
fn substitute(
    text: &str,
    subs: &Substitutions,
    defaults: &BTreeMap<String, String>,
    origin: &Origin,
) -> Result<String, ExprError> {
    let err = |message: String| ExprError::Variable { origin: origin.to_string(), message };
    if text.contains("[[") {
        return Err(err(format!("deprecated [[variable]] syntax in {text:?}")));
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            let end = braced.find('}').ok_or_else(|| err(format!("unclosed ${{ in {text:?}")))?;
            let name = braced[..end].split(':').next().unwrap_or_default();
            (name, end + 2)
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        if name.is_empty() {
            return Err(err(format!("a lone $ in {text:?}")));
        }
        let value = subs
            .get(name, defaults)
            .ok_or_else(|| err(format!("variable ${name} is not defined by the dashboard")))?;
        out.push_str(value);
        rest = &after[consumed..];
    }
    out.push_str(rest);
    Ok(out)
}

#[derive(Deserialize)]
struct RuleFile {
    groups: Vec<RuleGroup>,
}

/// A rule group as Prometheus reads it (the fields the tests need).
#[derive(Debug, Clone, Deserialize)]
pub struct RuleGroup {
    /// The group's name.
    pub name: String,
    /// Its rules.
    pub rules: Vec<Rule>,
}

/// One rule (the fields the tests need).
#[derive(Debug, Clone, Deserialize)]
pub struct Rule {
    /// The alert's name, for an alerting rule.
    pub alert: Option<String>,
    /// The recorded series, for a recording rule.
    pub record: Option<String>,
    /// The expression.
    pub expr: String,
    /// How long the condition must hold.
    #[serde(rename = "for")]
    pub for_: Option<String>,
    /// Labels added to the alert.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations of the alert.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// The groups of one rule file.
pub fn read_rule_groups(path: &Path) -> Result<Vec<RuleGroup>, ExprError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ExprError::Read { path: path.to_path_buf(), source })?;
    let file: RuleFile = serde_saphyr::from_str(&text)
        .map_err(|e| ExprError::Yaml { path: path.to_path_buf(), message: e.to_string() })?;
    Ok(file.groups)
}

/// Every expression of every rule file. Rules hold no template variables.
pub fn rule_exprs() -> Result<Vec<Expr>, ExprError> {
    let mut out = Vec::new();
    for file in rule_files()? {
        for group in read_rule_groups(&file)? {
            for rule in group.rules {
                let (name, alert) = match (&rule.alert, &rule.record) {
                    (Some(a), _) => (a.clone(), true),
                    (None, Some(r)) => (r.clone(), false),
                    (None, None) => {
                        return Err(ExprError::Yaml {
                            path: file.clone(),
                            message: format!(
                                "a rule of group {} has no alert or record",
                                group.name
                            ),
                        });
                    }
                };
                let origin =
                    Origin::Rule { file: file.clone(), group: group.name.clone(), name, alert };
                out.push(Expr { origin, raw: rule.expr.clone(), promql: rule.expr });
            }
        }
    }
    Ok(out)
}

/// Every expression vigia ships: dashboards (substituted with `subs`), then rules.
pub fn all_exprs(subs: &Substitutions) -> Result<Vec<Expr>, ExprError> {
    let mut out = dashboard_exprs(subs)?;
    out.extend(rule_exprs()?);
    Ok(out)
}

/// One expression per distinct vector selector of `exprs` (same origin as the expression it
/// comes from): asking them shows which series an expression depends on are missing, even for
/// an alert whose whole expression rightly returns nothing while all is well.
pub fn selector_exprs(exprs: &[Expr]) -> Result<Vec<Expr>, super::promql::PromqlError> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for e in exprs {
        for s in super::promql::analyze(&e.promql)?.selectors {
            if seen.insert(s.text.clone()) {
                out.push(Expr { origin: e.origin.clone(), raw: s.text.clone(), promql: s.text });
            }
        }
    }
    Ok(out)
}
