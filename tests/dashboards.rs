//! The dashboards, alert rules and scrape configurations are part of the product: these tests
//! check their structure, check every expression against the metric contract, run `promtool`
//! on the rules and configurations, and evaluate every expression in a real Prometheus.

// Tests read the clock for deadlines, timings and dates (clippy.toml bans it in src/).
#![allow(clippy::disallowed_methods)]

mod prom;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use prom::contract::{Contract, MetricType};
use prom::exprs::{self, Expr, Origin, Substitutions};
use prom::promql::{self, MatchOp};
use prom::server::{PROMETHEUS, PromError, Prometheus, PrometheusConfig};

/// The dashboards the unit watches, by uid, and the filter variables each must offer.
const DASHBOARDS: &[(&str, &[&str])] = &[
    ("vigia-resumen", &["site", "class"]),
    ("vigia-enlaces", &["site", "link"]),
    ("vigia-equipos", &["site", "class", "device"]),
    ("vigia-obsolescencia", &["site", "class"]),
    ("vigia-ipv6", &["site", "class"]),
    // Indicators are per year, not per site or class.
    ("vigia-indicadores", &["year"]),
];

/// Panel types that plot a quantity (need a unit), and those that do not.
const PLOTTING: &[&str] =
    &["stat", "timeseries", "bargauge", "gauge", "table", "state-timeline", "piechart", "barchart"];
const NOT_PLOTTING: &[&str] = &["row", "text"];

/// Grafana unit ids the dashboards may use (besides `suffix:...` custom units). A typo in a
/// unit id makes Grafana show raw numbers without saying why.
const UNITS: &[&str] = &[
    "none",
    "short",
    "percent",
    "percentunit",
    "s",
    "ms",
    "dtdurations",
    "bytes",
    "bps",
    "pps",
    "dateTimeAsIso",
    "dateTimeFromNow",
];

/// What every panel's and target's datasource uid is: the dashboard's datasource variable.
const DATASOURCE_UID: &str = "${DS_PROMETHEUS}";

const SAMPLE: &str = "tests/resources/metrics/lab-sample.om";

fn root() -> PathBuf {
    exprs::repo_root()
}

fn dashboards() -> Vec<(PathBuf, Value)> {
    let files = exprs::dashboard_files().expect("dashboards/ is readable");
    assert!(!files.is_empty(), "no dashboards under dashboards/");
    files
        .into_iter()
        .map(|f| {
            let d = exprs::read_dashboard(&f).unwrap_or_else(|e| panic!("{e}"));
            (f, d)
        })
        .collect()
}

fn contract() -> Contract {
    Contract::load().unwrap_or_else(|e| panic!("{e}"))
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

// --- dashboards: structure --------------------------------------------------------------------

#[test]
fn the_six_dashboards_exist_with_unique_uids_and_spanish_titles() {
    let mut uids = BTreeMap::new();
    for (file, d) in dashboards() {
        let uid = str_at(&d, "/uid").unwrap_or_else(|| panic!("{} has no uid", name(&file)));
        assert!(uids.insert(uid.to_string(), name(&file)).is_none(), "uid {uid} used twice");
        let title = str_at(&d, "/title").unwrap_or_default();
        assert!(
            title.starts_with("vigia · "),
            "{}: title {title:?} must start «vigia · »",
            name(&file)
        );
        assert!(
            d.get("tags")
                .and_then(Value::as_array)
                .is_some_and(|t| t.contains(&Value::from("vigia"))),
            "{}: needs the tag vigia (the dashboards link to each other by it)",
            name(&file)
        );
        assert!(
            d.get("schemaVersion").and_then(Value::as_i64).is_some(),
            "{}: schemaVersion",
            name(&file)
        );
        assert!(
            !str_at(&d, "/description").unwrap_or_default().is_empty(),
            "{}: description",
            name(&file)
        );
    }
    let want: BTreeSet<&str> = DASHBOARDS.iter().map(|(u, _)| *u).collect();
    let got: BTreeSet<&str> = uids.keys().map(String::as_str).collect();
    assert_eq!(got, want, "dashboards by uid");
}

#[test]
fn every_panel_has_a_unique_id_a_title_a_description_and_the_datasource_variable() {
    let mut problems = Vec::new();
    for (file, d) in dashboards() {
        let mut ids = BTreeSet::new();
        for p in exprs::panels(&d) {
            let kind = str_at(p, "/type").unwrap_or_default();
            let title = str_at(p, "/title").unwrap_or_default();
            let at = format!("{} panel «{title}»", name(&file));
            match p.get("id").and_then(Value::as_i64) {
                Some(id) if !ids.insert(id) => problems.push(format!("{at}: id {id} repeated")),
                Some(_) => {}
                None => problems.push(format!("{at}: no id")),
            }
            if title.trim().is_empty() {
                problems.push(format!("{} panel {:?}: no title", name(&file), p.get("id")));
            }
            if p.pointer("/gridPos/w").is_none() || p.pointer("/gridPos/h").is_none() {
                problems.push(format!("{at}: no gridPos"));
            }
            if NOT_PLOTTING.contains(&kind) {
                continue;
            }
            if !PLOTTING.contains(&kind) {
                problems.push(format!("{at}: panel type {kind:?} unknown to this test"));
            }
            if str_at(p, "/description").unwrap_or_default().trim().is_empty() {
                problems.push(format!("{at}: no description (say what question it answers)"));
            }
            if str_at(p, "/datasource/uid") != Some(DATASOURCE_UID)
                || str_at(p, "/datasource/type") != Some("prometheus")
            {
                problems.push(format!("{at}: datasource must be prometheus {DATASOURCE_UID}"));
            }
            let targets = p.get("targets").and_then(Value::as_array).cloned().unwrap_or_default();
            if targets.is_empty() {
                problems.push(format!("{at}: no targets"));
            }
            let mut refs = BTreeSet::new();
            for t in &targets {
                if str_at(t, "/datasource/uid") != Some(DATASOURCE_UID) {
                    problems.push(format!("{at}: a target's datasource is not {DATASOURCE_UID}"));
                }
                let r = str_at(t, "/refId").unwrap_or_default();
                if r.is_empty() || !refs.insert(r.to_string()) {
                    problems.push(format!("{at}: refId {r:?} empty or repeated"));
                }
                if str_at(t, "/expr").unwrap_or_default().trim().is_empty() {
                    problems.push(format!("{at}: target {r} has no expr"));
                }
            }
        }
        if ids.is_empty() {
            problems.push(format!("{}: no panels", name(&file)));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn unit_ok(unit: &str) -> bool {
    UNITS.contains(&unit) || unit.strip_prefix("suffix:").is_some_and(|s| !s.trim().is_empty())
}

#[test]
fn every_plotting_panel_sets_a_known_unit() {
    let mut problems = Vec::new();
    for (file, d) in dashboards() {
        for p in exprs::panels(&d) {
            let kind = str_at(p, "/type").unwrap_or_default();
            if NOT_PLOTTING.contains(&kind) {
                continue;
            }
            let at = format!("{} panel «{}»", name(&file), str_at(p, "/title").unwrap_or_default());
            match str_at(p, "/fieldConfig/defaults/unit") {
                Some(u) if unit_ok(u) => {}
                Some(u) => problems.push(format!("{at}: unknown unit {u:?}")),
                None => problems.push(format!("{at}: no unit in fieldConfig.defaults")),
            }
            for o in
                p.pointer("/fieldConfig/overrides").and_then(Value::as_array).into_iter().flatten()
            {
                for prop in o.get("properties").and_then(Value::as_array).into_iter().flatten() {
                    if str_at(prop, "/id") == Some("unit") {
                        let u = str_at(prop, "/value").unwrap_or_default();
                        if !unit_ok(u) {
                            problems.push(format!("{at}: override with unknown unit {u:?}"));
                        }
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn templating_offers_the_datasource_and_filter_variables_and_uses_them() {
    let c = contract();
    let mut problems = Vec::new();
    for (file, d) in dashboards() {
        let uid = str_at(&d, "/uid").unwrap_or_default();
        let vars = exprs::variables(&d);
        let by_name: BTreeMap<&str, &Value> =
            vars.iter().map(|v| (str_at(v, "/name").unwrap_or_default(), *v)).collect();
        let at = name(&file);
        match by_name.get("DS_PROMETHEUS") {
            Some(v)
                if str_at(v, "/type") == Some("datasource")
                    && str_at(v, "/query") == Some("prometheus") => {}
            _ => problems.push(format!(
                "{at}: needs a variable DS_PROMETHEUS of type datasource, query prometheus"
            )),
        }
        let required =
            DASHBOARDS.iter().find(|(u, _)| *u == uid).map(|(_, v)| *v).unwrap_or_default();
        for want in required {
            if !by_name.contains_key(want) {
                problems.push(format!("{at}: needs a variable {want}"));
            }
        }
        let all_exprs = exprs::exprs_of_dashboard(&file, &d, &Substitutions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        for v in &vars {
            let vname = str_at(v, "/name").unwrap_or_default();
            if str_at(v, "/type") != Some("query") {
                continue;
            }
            if str_at(v, "/datasource/uid") != Some(DATASOURCE_UID) {
                problems.push(format!("{at}: variable {vname} must query {DATASOURCE_UID}"));
            }
            let query = exprs::variable_query(v).unwrap_or_default();
            if !query.starts_with("label_values(") {
                problems.push(format!(
                    "{at}: variable {vname}: only label_values(...) queries ({query:?})"
                ));
            }
            let used = all_exprs.iter().any(|e| {
                e.raw.contains(&format!("${vname}")) || e.raw.contains(&format!("${{{vname}"))
            });
            if !used {
                problems.push(format!("{at}: variable {vname} is used by no expression"));
            }
            // The label read must be one the metric has.
            let promql = all_exprs
                .iter()
                .find(|e| matches!(&e.origin, Origin::Variable { name, .. } if name == vname))
                .map(|e| e.promql.clone())
                .unwrap_or_default();
            if let Ok(a) = promql::analyze(&promql) {
                for l in &a.grouping_labels {
                    let has = a
                        .selectors
                        .iter()
                        .any(|s| c.labels_of(&s.metric).is_some_and(|ls| ls.contains(l.as_str())));
                    if !has {
                        problems.push(format!(
                            "{at}: variable {vname} reads label {l} its metric lacks"
                        ));
                    }
                }
            }
        }
        // A variable inside a matcher must be matched as a regular expression: "All" and
        // multiple selections send a regex such as `(a|b)` or `.*`.
        for e in &all_exprs {
            match promql::analyze(&e.raw) {
                Ok(a) => {
                    for s in &a.selectors {
                        for m in &s.matchers {
                            if m.value.contains('$') && !m.op.is_regex() {
                                problems.push(format!(
                                    "{}: {} compares a variable with {:?}; use =~",
                                    e.origin, s.text, m.op
                                ));
                            }
                        }
                    }
                }
                Err(err) => problems.push(format!("{}: {err}", e.origin)),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// --- expressions against the contract ---------------------------------------------------------

fn every_expr() -> Vec<Expr> {
    exprs::all_exprs(&Substitutions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// `{{label}}` names in a legend.
fn legend_labels(legend: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = legend;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push(after[..end].trim().to_string());
        rest = &after[end + 2..];
    }
    out
}

#[test]
fn every_expression_uses_only_contract_metrics_labels_and_values() {
    let c = contract();
    let mut problems = Vec::new();
    let exprs = every_expr();
    assert!(exprs.len() > 50, "expected every panel, variable and rule, got {}", exprs.len());
    for e in &exprs {
        let a = match promql::analyze(&e.promql) {
            Ok(a) => a,
            Err(err) => {
                problems.push(format!("{}: {err}", e.origin));
                continue;
            }
        };
        if a.selectors.is_empty() {
            problems.push(format!("{}: reads no metric: {}", e.origin, e.promql));
        }
        let mut labels: BTreeSet<&str> = BTreeSet::new();
        for s in &a.selectors {
            for p in c.check_selector(s) {
                problems.push(format!("{}: {p}", e.origin));
            }
            labels.extend(c.labels_of(&s.metric).unwrap_or_default());
        }
        for l in &a.grouping_labels {
            if !labels.contains(l.as_str()) {
                problems.push(format!(
                    "{}: groups or joins by {l:?}, which none of its metrics has",
                    e.origin
                ));
            }
        }
    }
    // Legends name labels the series can have.
    for (file, d) in dashboards() {
        for p in exprs::panels(&d) {
            for t in p.get("targets").and_then(Value::as_array).into_iter().flatten() {
                let legend = str_at(t, "/legendFormat").unwrap_or_default();
                let expr = str_at(t, "/expr").unwrap_or_default();
                let Ok(a) = promql::analyze(expr) else { continue };
                let labels: BTreeSet<&str> = a
                    .selectors
                    .iter()
                    .flat_map(|s| c.labels_of(&s.metric).unwrap_or_default())
                    .collect();
                for l in legend_labels(legend) {
                    if !labels.contains(l.as_str()) {
                        problems.push(format!(
                            "{} panel «{}»: legend names {{{{{l}}}}}, a label its series cannot have",
                            name(&file),
                            str_at(p, "/title").unwrap_or_default()
                        ));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The agent's counts of its own work (polls, echoes, SNMP requests and retries): for whoever
/// runs vigia, and shown on no dashboard yet (they came with issue 10, which left the
/// dashboards unchanged).
const NOT_ON_A_DASHBOARD: &[&str] = &[
    "vigia_polls_total",
    "vigia_icmp_echoes_sent_total",
    "vigia_icmp_echo_replies_total",
    "vigia_snmp_requests_sent_total",
    "vigia_snmp_requests_retried_total",
    "vigia_snmp_varbinds_returned_total",
    "vigia_snmp_poll_seconds_total",
    // Polls cut short by a bound on what one device may cost (issue 16): the counter is the
    // agent's own count like those above; the per-device gauge exists only while a device's
    // poll was cut. A panel for them is still to come.
    "vigia_snmp_polls_truncated_total",
    "vigia_snmp_poll_truncated",
    // What devices report of themselves (issue 13): its labels are per-device text (model,
    // serial), for a table or an alert on verdict="mismatch"; no dashboard panel yet.
    "vigia_device_reported_info",
];

#[test]
fn every_contract_metric_is_shown_on_a_dashboard() {
    let c = contract();
    let mut used = BTreeSet::new();
    for e in every_expr().iter().filter(|e| e.is_dashboard()) {
        used.extend(promql::analyze(&e.promql).unwrap().metrics().into_iter().map(str::to_string));
    }
    let unused: Vec<&String> = c
        .metrics
        .keys()
        .filter(|m| !used.contains(*m) && !NOT_ON_A_DASHBOARD.contains(&m.as_str()))
        .collect();
    assert!(unused.is_empty(), "contract metrics no dashboard shows: {unused:?}");
    // The exceptions stay true: each is a contract metric that no dashboard shows.
    for m in NOT_ON_A_DASHBOARD {
        assert!(c.metrics.contains_key(*m), "{m} is not in the contract");
        assert!(!used.contains(*m), "{m} is on a dashboard now: take it off NOT_ON_A_DASHBOARD");
    }
}

#[test]
fn the_contract_agrees_with_the_crates_closed_sets() {
    use vigia::inventory::{DeviceClass, Family, IndicatorId, LinkMedium};
    use vigia::poll::ProbeKind;
    let c = contract();
    let set = |xs: Vec<&str>| xs.into_iter().map(str::to_string).collect::<BTreeSet<_>>();
    assert_eq!(c.values["family"], set(Family::ALL.iter().map(|x| x.as_str()).collect()));
    assert_eq!(c.values["probe"], set(ProbeKind::ALL.iter().map(|x| x.as_str()).collect()));
    assert_eq!(c.values["class"], set(DeviceClass::ALL.iter().map(|x| x.as_str()).collect()));
    assert_eq!(c.values["indicator"], set(IndicatorId::ALL.iter().map(|x| x.as_str()).collect()));
    {
        use vigia::poll::radio::{RadioReading, RadioTableId};
        let tables = set(RadioTableId::ALL.iter().map(|x| x.as_str()).collect());
        assert_eq!(c.values["table"], tables, "the radio vendor tables (src/poll/radio.rs)");
        let readings = set(RadioReading::ALL.iter().map(|x| x.as_str()).collect());
        assert_eq!(c.values["reading"], readings);
    }
    let mut links = set(LinkMedium::ALL.iter().map(|x| x.as_str()).collect());
    links.insert("main".into());
    assert_eq!(c.values["link"], links, "link: the inventory's media plus main");
    let mut stages = set(vigia::ipv6::Stage::ALL.iter().map(|x| x.as_str()).collect());
    stages.extend(
        [vigia::metrics::STAGE_MONITORED, vigia::metrics::STAGE_SNMP_CONFIGURED].map(String::from),
    );
    assert_eq!(c.values["stage"], stages, "stage: the IPv6 stages plus the two denominators");
    let verdicts = vigia::discovered::Verdict::ALL.iter().map(|x| x.as_str()).collect();
    assert_eq!(c.values["verdict"], set(verdicts));
}

/// The metrics table of docs/metrics.md: name -> (type, labels).
fn documented_metrics() -> BTreeMap<String, (String, Vec<String>)> {
    let text = std::fs::read_to_string(root().join("docs/metrics.md")).expect("docs/metrics.md");
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | `name` | type | unit | labels | meaning |
        if cells.len() < 6 || !cells[1].starts_with("`vigia_") {
            continue;
        }
        let metric = cells[1].trim_matches('`').to_string();
        let labels = if cells[4] == "(none)" {
            Vec::new()
        } else {
            cells[4].split(',').map(|l| l.trim().to_string()).collect()
        };
        out.insert(metric, (cells[2].to_string(), labels));
    }
    out
}

#[test]
fn docs_metrics_md_lists_exactly_the_contract() {
    let c = contract();
    let documented = documented_metrics();
    let mut problems = Vec::new();
    for (m, spec) in &c.metrics {
        let kind = match spec.kind {
            MetricType::Gauge => "gauge",
            MetricType::Counter => "counter",
        };
        match documented.get(m) {
            None => problems.push(format!("{m} is in the contract but not in docs/metrics.md")),
            Some((t, labels)) => {
                if t != kind {
                    problems.push(format!("{m}: docs say {t}, contract says {kind}"));
                }
                if labels != &spec.labels {
                    problems.push(format!(
                        "{m}: docs say labels {labels:?}, contract says {:?}",
                        spec.labels
                    ));
                }
            }
        }
    }
    for m in documented.keys() {
        if !c.metrics.contains_key(m) {
            problems.push(format!("{m} is in docs/metrics.md but not in the contract"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn docs_dashboards_md_describes_every_dashboard_and_panel() {
    let doc =
        std::fs::read_to_string(root().join("docs/dashboards.md")).expect("docs/dashboards.md");
    let mut missing = Vec::new();
    for (file, d) in dashboards() {
        let title = str_at(&d, "/title").unwrap_or_default();
        if !doc.contains(title) {
            missing.push(format!("dashboard «{title}»"));
        }
        for p in exprs::panels(&d) {
            if str_at(p, "/type") == Some("row") {
                continue;
            }
            let t = str_at(p, "/title").unwrap_or_default();
            if !doc.contains(&format!("«{t}»")) {
                missing.push(format!("{} panel «{t}»", name(&file)));
            }
        }
    }
    assert!(missing.is_empty(), "docs/dashboards.md does not describe:\n{}", missing.join("\n"));
}

#[test]
fn grafana_provisioning_examples_point_at_the_dashboards() {
    #[derive(Deserialize)]
    struct Providers {
        #[serde(rename = "apiVersion")]
        api_version: u32,
        providers: Vec<Provider>,
    }
    #[derive(Deserialize)]
    struct Provider {
        name: String,
        #[serde(rename = "type")]
        kind: String,
        options: BTreeMap<String, String>,
    }
    #[derive(Deserialize)]
    struct Datasources {
        #[serde(rename = "apiVersion")]
        api_version: u32,
        datasources: Vec<Datasource>,
    }
    #[derive(Deserialize)]
    struct Datasource {
        name: String,
        #[serde(rename = "type")]
        kind: String,
        url: String,
    }
    let dir = root().join("dashboards/provisioning");
    let read =
        |p: &str| std::fs::read_to_string(dir.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    let p: Providers =
        serde_saphyr::from_str(&read("dashboards/vigia.yaml")).expect("provider YAML");
    assert_eq!(p.api_version, 1);
    assert!(
        p.providers.iter().any(|x| x.kind == "file" && x.options.contains_key("path")),
        "a file provider with a path"
    );
    assert!(p.providers.iter().all(|x| !x.name.is_empty()));
    let d: Datasources =
        serde_saphyr::from_str(&read("datasources/prometheus.yaml")).expect("datasource YAML");
    assert_eq!(d.api_version, 1);
    assert!(d.datasources.iter().any(|x| x.kind == "prometheus" && x.url.starts_with("http")));
    assert!(d.datasources.iter().all(|x| !x.name.is_empty()));
}

// --- the PromQL lexer and the substitutions ---------------------------------------------------

#[test]
fn the_lexer_finds_metrics_matchers_and_grouping_labels() {
    struct Case {
        expr: &'static str,
        metrics: &'static [&'static str],
        grouping: &'static [&'static str],
    }
    let cases = [
        Case { expr: "up", metrics: &["up"], grouping: &[] },
        Case {
            expr: r#"sum by (probe, family) (1 - vigia_device_up{site=~".*", class=~"a|b"})"#,
            metrics: &["vigia_device_up"],
            grouping: &["probe", "family"],
        },
        Case {
            expr: r#"rate(vigia_interface_receive_bytes_total{device=~"x"}[1m]) * 8 and on (device) vigia_device_info"#,
            metrics: &["vigia_interface_receive_bytes_total", "vigia_device_info"],
            grouping: &["device"],
        },
        Case {
            expr: "a * on (site) group_left (name) max by (site, name) (b) offset 5m",
            metrics: &["a", "b"],
            grouping: &["site", "name", "site", "name"],
        },
        Case {
            expr: r#"count(x == 0) or vector(0) unless y > bool 1e-3 # a comment with words"#,
            metrics: &["x", "y"],
            grouping: &[],
        },
        Case {
            expr: r#"avg_over_time(z{a="has } and { and \" inside"}[$__range]) > Inf"#,
            metrics: &["z"],
            grouping: &[],
        },
        Case {
            expr: "topk(5, sum without (instance) (m)) / ignoring (job) n",
            metrics: &["m", "n"],
            grouping: &["instance", "job"],
        },
        Case {
            expr: r#"label_replace(m, "dst", "$1", "src", "(.*)")"#,
            metrics: &["m"],
            grouping: &[],
        },
    ];
    for case in cases {
        let a = promql::analyze(case.expr).unwrap_or_else(|e| panic!("{}: {e}", case.expr));
        let metrics: Vec<&str> = a.selectors.iter().map(|s| s.metric.as_str()).collect();
        assert_eq!(metrics, case.metrics, "metrics of {}", case.expr);
        assert_eq!(a.grouping_labels, case.grouping, "grouping labels of {}", case.expr);
    }
    let a = promql::analyze(r#"m{a="x", b!="y", c=~"z.*", d!~'w'}"#).unwrap();
    let ops: Vec<(String, MatchOp, String)> =
        a.selectors[0].matchers.iter().map(|m| (m.label.clone(), m.op, m.value.clone())).collect();
    assert_eq!(
        ops,
        vec![
            ("a".into(), MatchOp::Eq, "x".into()),
            ("b".into(), MatchOp::Ne, "y".into()),
            ("c".into(), MatchOp::Re, "z.*".into()),
            ("d".into(), MatchOp::NotRe, "w".into()),
        ]
    );
    for bad in [r#"m{a="x""#, r#"m{a="x}"#, r#"{__name__="m"}"#, "sum by (a b) (m)", "m[5m"] {
        assert!(promql::analyze(bad).is_err(), "{bad:?} must be refused");
    }
}

#[test]
fn the_contract_check_catches_unknown_metrics_labels_and_values() {
    let c = contract();
    let check = |expr: &str| -> Vec<String> {
        promql::analyze(expr).unwrap().selectors.iter().flat_map(|s| c.check_selector(s)).collect()
    };
    assert!(
        check(r#"vigia_device_up{family="ipv6", probe=~"icmp|snmp", site=~".*", job="vigia"}"#)
            .is_empty()
    );
    assert!(check("up").is_empty());
    assert_eq!(check("vigia_device_upp").len(), 1, "unknown metric");
    assert_eq!(check(r#"vigia_icmp_rtt_seconds{link="radio"}"#).len(), 1, "label the metric lacks");
    assert_eq!(check(r#"vigia_device_up{family="IPv6"}"#).len(), 1, "value outside the closed set");
    assert_eq!(
        check(r#"vigia_site_info{link=~"fibre|radar"}"#).len(),
        1,
        "one alternative outside"
    );
}

#[test]
fn grafana_variables_are_substituted_and_unknown_ones_refused() {
    let dashboard = serde_json::json!({
        "templating": {"list": [
            {"name": "DS_PROMETHEUS", "type": "datasource", "query": "prometheus"},
            {"name": "site", "type": "query", "query": "label_values(vigia_site_info, site)", "allValue": ".*"},
            {"name": "link", "type": "query", "query": "label_values(vigia_site_info{link=~\"fibre|radio\"}, link)", "allValue": "fibre|radio"},
            {"name": "device", "type": "query", "query": {"query": "label_values(vigia_device_info{site=~\"$site\"}, device)"}}
        ]},
        "panels": [
            {"id": 1, "title": "t", "targets": [
                {"refId": "A", "expr": "rate(m{site=~\"$site\", link=~\"${link}\", device=~\"${device:regex}\"}[$__rate_interval])"},
                {"refId": "B", "expr": "avg_over_time(m[$__range])", "hide": true}
            ]},
            {"id": 2, "type": "row", "title": "r", "panels": [
                {"id": 3, "title": "inner", "targets": [{"refId": "A", "expr": "m{site=~\"$site\"}"}]}
            ]}
        ]
    });
    let file = Path::new("x.json");
    let got = exprs::exprs_of_dashboard(file, &dashboard, &Substitutions::default()).unwrap();
    let promql: Vec<&str> = got.iter().map(|e| e.promql.as_str()).collect();
    assert_eq!(
        promql,
        vec![
            "count by (site) (vigia_site_info)",
            "count by (link) (vigia_site_info{link=~\"fibre|radio\"})",
            "count by (device) (vigia_device_info{site=~\".*\"})",
            "rate(m{site=~\".*\", link=~\"fibre|radio\", device=~\".*\"}[1m])",
            "m{site=~\".*\"}",
        ]
    );
    let pinned = exprs::exprs_of_dashboard(
        file,
        &dashboard,
        &Substitutions::default().set("site", "mercado-grau"),
    )
    .unwrap();
    assert_eq!(pinned[4].promql, "m{site=~\"mercado-grau\"}");
    let mut undefined = dashboard.clone();
    undefined["panels"][0]["targets"][0]["expr"] = Value::from("m{x=~\"$nope\"}");
    let err = exprs::exprs_of_dashboard(file, &undefined, &Substitutions::default()).unwrap_err();
    assert!(err.to_string().contains("$nope"), "{err}");
}

#[test]
fn the_exposition_check_accepts_the_lab_sample_and_names_each_departure() {
    let c = contract();
    let sample = std::fs::read_to_string(root().join(SAMPLE)).expect("lab sample");
    let report = c.check_exposition(&sample);
    assert!(report.problems.is_empty(), "{}", report.problems.join("\n"));
    let all: BTreeSet<String> = c.metrics.keys().cloned().collect();
    assert_eq!(report.seen, all, "the sample holds every contract metric");
    let bad = "# TYPE vigia_device_up gauge\n\
               vigia_device_up{device=\"a\",site=\"b\",class=\"switch\",family=\"IPv6\",probe=\"icmp\"} 1\n\
               vigia_device_up{device=\"a\",site=\"b\",family=\"ipv4\",probe=\"icmp\"} 1\n\
               # TYPE vigia_snmp_agent_restarts gauge\n\
               vigia_snmp_agent_restarts_total{device=\"a\",site=\"b\"} 1\n\
               # TYPE vigia_secret gauge\n\
               vigia_secret{community=\"public\"} 1\n";
    let report = c.check_exposition(bad);
    let text = report.problems.join("\n");
    assert_eq!(report.problems.len(), 4, "{text}");
    assert!(text.contains("\"IPv6\" is not one of"), "{text}");
    assert!(text.contains("has labels {device,family,probe,site}"), "{text}");
    assert!(text.contains("its TYPE is Some(\"gauge\")"), "{text}");
    assert!(text.contains("vigia_secret is not in the contract"), "{text}");
}

// --- promtool ---------------------------------------------------------------------------------

fn promtool(args: &[&str]) -> Output {
    match Command::new("promtool").args(args).current_dir(root()).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!(
                "promtool not found: install Debian's prometheus package (run `scripts/deps test`)"
            )
        }
        Err(e) => panic!("cannot run promtool: {e}"),
    }
}

fn assert_success(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn relative(files: &[PathBuf]) -> Vec<String> {
    files.iter().map(|f| f.strip_prefix(root()).unwrap_or(f).display().to_string()).collect()
}

#[test]
fn promtool_check_rules_passes() {
    let files = relative(&exprs::rule_files().unwrap());
    assert!(!files.is_empty(), "no rule files");
    let mut args = vec!["check", "rules"];
    args.extend(files.iter().map(String::as_str));
    assert_success("promtool check rules", &promtool(&args));
}

fn rule_test_files() -> Vec<PathBuf> {
    let files =
        exprs::files_with_extension(&root().join("deploy/prometheus/tests"), &["yml", "yaml"])
            .unwrap();
    assert!(!files.is_empty(), "no rule tests under deploy/prometheus/tests");
    files
}

#[test]
fn promtool_test_rules_passes() {
    let files = relative(&rule_test_files());
    let mut args = vec!["test", "rules"];
    args.extend(files.iter().map(String::as_str));
    let out = promtool(&args);
    assert_success("promtool test rules", &out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("SUCCESS").count(), files.len(), "every file passes:\n{text}");
}

#[test]
fn promtool_check_config_passes_for_the_shipped_scrape_configs() {
    for config in ["deploy/prometheus/prometheus.yml", "deploy/prometheus/prometheus-agents.yml"] {
        assert_success(
            &format!("promtool check config {config}"),
            &promtool(&["check", "config", config]),
        );
    }
}

/// Debian's Alertmanager accepts the shipped configuration (routes, inhibitions, receivers,
/// the templates it loads), and every template it names renders.
#[test]
fn amtool_check_config_passes_for_the_shipped_alertmanager_config() {
    let amtool = |args: &[&str]| match Command::new("amtool")
        .args(args)
        .current_dir(root())
        .output()
    {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "amtool not found: install Debian's prometheus-alertmanager package (run `scripts/deps test`)"
        ),
        Err(e) => panic!("cannot run amtool: {e}"),
    };
    let config = "deploy/alertmanager/alertmanager.yml";
    let out = amtool(&["check-config", config]);
    assert_success(&format!("amtool check-config {config}"), &out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("3 inhibit rules") && text.contains("1 templates"), "{text}");
    for name in ["vigia.asunto", "vigia.texto", "vigia.html"] {
        let render = format!("{{{{ template \"{name}\" . }}}}");
        let out = amtool(&[
            "template",
            "render",
            "--template.glob=deploy/alertmanager/templates/*.tmpl",
            &format!("--template.text={render}"),
        ]);
        assert_success(&format!("amtool template render {name}"), &out);
    }
}

#[test]
fn example_scrape_targets_use_documentation_addresses_only() {
    let dir = root().join("deploy/prometheus");
    let mut files = vec![dir.join("prometheus.yml"), dir.join("prometheus-agents.yml")];
    files.extend(exprs::files_with_extension(&dir.join("targets"), &["yml", "yaml"]).unwrap());
    let mut problems = Vec::new();
    let mut addresses = 0;
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        // IPv4: dotted quads anywhere; IPv6: inside [brackets], as targets write them.
        for token in text.split(|c: char| !(c.is_ascii_digit() || c == '.')) {
            if token.split('.').count() == 4 && token.split('.').all(|p| !p.is_empty()) {
                addresses += 1;
                if !(token.starts_with("127.")
                    || token.starts_with("198.18.")
                    || token.starts_with("198.19."))
                {
                    problems.push(format!("{}: {token}", name(&f)));
                }
            }
        }
        for piece in text.split('[').skip(1) {
            let inside = piece.split(']').next().unwrap_or_default();
            if inside.contains("::") {
                addresses += 1;
                let lower = inside.to_ascii_lowercase();
                if !(lower.starts_with("2001:db8:") || lower == "::1") {
                    problems.push(format!("{}: [{inside}]", name(&f)));
                }
            }
        }
    }
    assert!(addresses >= 4, "expected example addresses, found {addresses}");
    assert!(
        problems.is_empty(),
        "not documentation or loopback addresses:\n{}",
        problems.join("\n")
    );
}

// --- the rules: content and test coverage -----------------------------------------------------

#[derive(Deserialize)]
struct RuleTestFile {
    rule_files: Vec<String>,
    tests: Vec<RuleTestGroup>,
}

#[derive(Deserialize)]
struct RuleTestGroup {
    #[serde(default)]
    alert_rule_test: Vec<AlertTest>,
}

#[derive(Deserialize)]
struct AlertTest {
    alertname: String,
    #[serde(default)]
    exp_alerts: Vec<ExpAlert>,
}

#[derive(Deserialize)]
struct ExpAlert {
    #[serde(default)]
    exp_labels: BTreeMap<String, String>,
    #[serde(default)]
    exp_annotations: BTreeMap<String, String>,
}

fn alert_rules() -> Vec<(String, exprs::Rule)> {
    let mut out = Vec::new();
    for f in exprs::rule_files().unwrap() {
        for g in exprs::read_rule_groups(&f).unwrap_or_else(|e| panic!("{e}")) {
            for r in g.rules {
                if let Some(a) = r.alert.clone() {
                    out.push((a, r));
                }
            }
        }
    }
    assert!(!out.is_empty(), "no alert rules");
    out
}

#[test]
fn every_alert_has_a_severity_a_summary_a_description_and_a_runbook() {
    let mut problems = Vec::new();
    for (name, rule) in alert_rules() {
        match rule.labels.get("severity").map(String::as_str) {
            Some("critical" | "warning" | "info") => {}
            other => {
                problems.push(format!("{name}: severity {other:?}: critical, warning or info"))
            }
        }
        for key in ["summary", "description", "runbook"] {
            if rule.annotations.get(key).is_none_or(|v| v.trim().is_empty()) {
                problems.push(format!("{name}: no {key} annotation"));
            }
        }
        if !rule.annotations.get("runbook").is_some_and(|r| r.contains("1)")) {
            problems.push(format!(
                "{name}: the runbook lists what to check first, numbered 1), 2), ..."
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_alert_is_unit_tested_firing_and_not_firing() {
    let mut firing: BTreeSet<String> = BTreeSet::new();
    let mut silent: BTreeSet<String> = BTreeSet::new();
    for f in rule_test_files() {
        let text = std::fs::read_to_string(&f).unwrap();
        let file: RuleTestFile =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", name(&f)));
        for rf in &file.rule_files {
            assert!(
                f.parent().unwrap().join(rf).is_file(),
                "{}: rule file {rf} not found",
                name(&f)
            );
        }
        for g in file.tests {
            for t in g.alert_rule_test {
                if t.exp_alerts.is_empty() {
                    silent.insert(t.alertname);
                } else {
                    for a in &t.exp_alerts {
                        assert!(
                            a.exp_labels.contains_key("severity")
                                && a.exp_annotations.contains_key("runbook"),
                            "{}: {}: expected alerts spell out labels and annotations",
                            name(&f),
                            t.alertname
                        );
                    }
                    firing.insert(t.alertname);
                }
            }
        }
    }
    let mut problems = Vec::new();
    for (name, _) in alert_rules() {
        if !firing.contains(&name) {
            problems.push(format!("{name}: no test where it fires"));
        }
        if !silent.contains(&name) {
            problems.push(format!("{name}: no test where it stays silent"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// --- a real Prometheus ------------------------------------------------------------------------

/// A tiny HTTP server that serves `tests/resources/metrics/lab-sample.om` as `/metrics`.
///
/// It stands in for the vigia agent ONLY to test the Prometheus helper and the shape of the
/// expressions (syntax, joins, label names) before the agent exists. The end-to-end test
/// points the same helper at the real agent polling a lab.
struct StandIn {
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl StandIn {
    async fn serve() -> StandIn {
        let body = std::fs::read_to_string(root().join(SAMPLE)).expect("lab sample");
        let app = axum::Router::new().route(
            "/metrics",
            axum::routing::get(move || {
                let body = body.clone();
                async move {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        body,
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("stand-in server");
        });
        StandIn { url: format!("http://{addr}/metrics"), task }
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start_prometheus(targets: &[&str]) -> Prometheus {
    match Prometheus::start(targets).await {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn the_generated_prometheus_config_scrapes_only_loopback_or_allowed_lab_addresses() {
    let config = |targets: &[&str], lab: bool| {
        let mut c = PrometheusConfig::new(targets).unwrap();
        c.allow_lab_addresses = lab;
        prom::server::config_yaml(&c)
    };
    let yaml = config(&["http://127.0.0.1:9464/metrics", "http://[::1]:9465/x"], false).unwrap();
    assert!(yaml.contains("job_name: vigia"), "{yaml}");
    assert!(yaml.contains(r#"targets: ["127.0.0.1:9464"]"#), "{yaml}");
    assert!(
        yaml.contains(r#"targets: ["[::1]:9465"]"#) && yaml.contains(r#"__metrics_path__: "/x""#),
        "{yaml}"
    );
    assert!(yaml.contains("vigia-alerts.yml"), "loads the rules: {yaml}");
    for refused in ["http://198.18.0.1:9464/metrics", "https://127.0.0.1/metrics", "127.0.0.1:9464"]
    {
        assert!(
            matches!(config(&[refused], false), Err(PromError::NotLoopback { .. })),
            "{refused}"
        );
    }
    assert!(
        config(&["http://198.19.255.1:9464/metrics", "http://[2001:db8::5]:9464/metrics"], true)
            .is_ok()
    );
    for refused in [
        "http://198.20.0.1:9464/metrics",
        "http://[2001:db9::1]/metrics",
        "http://203.0.113.1/metrics",
    ] {
        assert!(
            matches!(config(&[refused], true), Err(PromError::NotLoopback { .. })),
            "{refused}"
        );
    }
}

fn expr(promql: &str) -> Expr {
    Expr {
        origin: Origin::Panel {
            file: "helper-test".into(),
            id: 0,
            title: promql.into(),
            ref_id: "A".into(),
        },
        raw: promql.into(),
        promql: promql.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prometheus_helper_scrapes_evaluates_reads_alerts_and_cleans_up() {
    assert!(Path::new(PROMETHEUS).is_file(), "{PROMETHEUS} not found: run `scripts/deps test`");
    // Never anything but loopback: refused before any process starts.
    assert!(matches!(
        Prometheus::start(&["http://198.18.0.1:9464/metrics"]).await,
        Err(PromError::NotLoopback { .. })
    ));

    let stand_in = StandIn::serve().await;
    let prom = start_prometheus(&[&stand_in.url]).await;
    prom.wait_for_scrapes(2, Duration::from_secs(60)).await.unwrap_or_else(|e| panic!("{e}"));

    let loaded = prom.rules().await.unwrap();
    for (name, _) in alert_rules() {
        assert!(loaded.contains(&name), "rule {name} not loaded: {loaded:?}");
    }

    let grau = prom.query(r#"vigia_site_up{site="mercado-grau"}"#).await.unwrap();
    assert_eq!(grau.len(), 1, "{grau:?}");
    assert_eq!(grau[0].value, 1.0);
    assert_eq!(grau[0].labels.get("job").map(String::as_str), Some("vigia"));
    let instance = stand_in.url.trim_start_matches("http://").trim_end_matches("/metrics");
    assert_eq!(grau[0].labels.get("instance").map(String::as_str), Some(instance));
    let polled = prom.query("count(vigia_device_up)").await.unwrap();
    assert_eq!(polled[0].value, 14.0);

    let asked = [
        expr(r#"vigia_device_up{device="no-such-device"}"#),
        expr("sum(vigia_sites)"),
        expr("vigia_device_up{"),
    ];
    let eval = prom.evaluate(&asked).await;
    assert_eq!(eval.asked, 3);
    assert_eq!(eval.no_data, vec![&asked[0]], "{}", eval.report());
    assert_eq!(eval.failed.len(), 1, "{}", eval.report());
    assert_eq!(eval.failed[0].0, &asked[2]);
    assert!(eval.failed[0].1.contains("bad_data"), "{}", eval.report());
    assert!(!eval.all_have_data());

    // The sample says the last inventory reload failed (an alert without `for`: firing at once)
    // and srv-01 answers IPv4 but not IPv6 (an alert with `for: 10m`: pending).
    let mut alerts = Vec::new();
    for _ in 0..120 {
        alerts = prom.alerts().await.unwrap();
        if alerts.iter().any(|a| a.name == "VigiaInventarioRechazado" && a.state == "firing")
            && alerts.iter().any(|a| a.name == "VigiaIPv6CaidoConIPv4")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let rejected = alerts
        .iter()
        .find(|a| a.name == "VigiaInventarioRechazado")
        .unwrap_or_else(|| panic!("{alerts:?}"));
    assert_eq!(rejected.state, "firing");
    assert_eq!(
        rejected.annotations.get("summary").map(String::as_str),
        Some(format!("El agente {instance} rechazó el inventario recargado").as_str())
    );
    let v6 = alerts
        .iter()
        .find(|a| a.name == "VigiaIPv6CaidoConIPv4")
        .unwrap_or_else(|| panic!("{alerts:?}"));
    assert_eq!(v6.state, "pending");
    assert_eq!(v6.labels.get("device").map(String::as_str), Some("srv-01"));

    let pid = prom.pid();
    let dir = prom.dir().to_path_buf();
    assert!(dir.join("prometheus.yml").is_file());
    prom.stop();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    assert!(
        !String::from_utf8_lossy(&cmdline).contains(&dir.display().to_string()),
        "prometheus (pid {pid}) still running"
    );
    assert!(!dir.exists(), "{} not removed", dir.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_expression_is_valid_promql_and_every_panel_has_data_on_a_lab_shaped_scrape() {
    let stand_in = StandIn::serve().await;
    let prom = start_prometheus(&[&stand_in.url]).await;
    prom.wait_for_scrapes(3, Duration::from_secs(60)).await.unwrap_or_else(|e| panic!("{e}"));

    let all = every_expr();
    let (dashboard, rules): (Vec<Expr>, Vec<Expr>) = all.into_iter().partition(Expr::is_dashboard);
    // Every dashboard expression, variables included, returns data.
    let eval = prom.evaluate(&dashboard).await;
    assert!(eval.all_have_data(), "{}", eval.report());
    // Every rule is valid; while all is well an alert returns nothing, but every series it
    // reads must exist.
    let eval = prom.evaluate(&rules).await;
    assert!(eval.failed.is_empty(), "{}", eval.report());
    let selectors = exprs::selector_exprs(&rules).unwrap();
    let eval = prom.evaluate(&selectors).await;
    assert!(eval.all_have_data(), "{}", eval.report());
    // With a site pinned, as when a user picks one, every expression is still valid.
    let pinned =
        exprs::dashboard_exprs(&Substitutions::default().set("site", "mercado-grau")).unwrap();
    let eval = prom.evaluate(&pinned).await;
    assert!(eval.failed.is_empty(), "{}", eval.report());
}
