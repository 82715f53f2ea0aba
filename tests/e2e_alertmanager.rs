//! End to end with a real Prometheus and a real Alertmanager (Debian's packages, each on a free
//! loopback port): Prometheus evaluates vigia's shipped rules and sends to Alertmanager, which
//! runs the shipped routing, inhibitions and Spanish templates and delivers to a webhook
//! receiver and an SMTP sink, both written for this test and listening on loopback.
//!
//! - cutting a branch's link gives one notification for that sede (not one per device), and a
//!   resolved one when it is restored; the e-mail arrives in Spanish with the sede, the device,
//!   the cause, since when and the console link;
//! - the main site's core down gives one notification for the root; the sedes behind it raise
//!   `VigiaSedeInalcanzable` in Prometheus, and Alertmanager holds them back (inhibited);
//! - a cut inside a maintenance window gives nothing, while a cut elsewhere at the same time
//!   does.
//!
//! What differs from production, and why: the metrics come from a stand-in that serves the
//! agent's exposition for each phase (the series the agent exports for an outage, with their
//! cause and root: `src/outage.rs` and its tests pin how the agent derives them; polling a lab
//! for this would add minutes and no coverage of delivery). The rules are the shipped ones with
//! their `for:` shortened to seconds, and Alertmanager's `group_wait`/`group_interval` to one
//! second; the receivers' addresses point at the test's. About 1 minute.

// Tests read the clock for deadlines (clippy.toml bans it in src/).
#![allow(clippy::disallowed_methods)]

mod prom;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use prom::exprs::repo_root;
use prom::server::{Prometheus, PrometheusConfig};

const ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";
const CONSOLE: &str = "http://127.0.0.1:9464";

/// The sites: `main` decided by its router `rt-core`, the fibre branch `grau` (switch and
/// access point), the radio branch `teatro` (a switch).
const DEVICES: &[(&str, &str, &str)] = &[
    ("rt-core", "main", "router"),
    ("sw-grau", "grau", "switch"),
    ("ap-grau", "grau", "access_point"),
    ("sw-teatro", "teatro", "switch"),
];
const SITES: &[(&str, &str)] = &[("main", "main"), ("grau", "fibre"), ("teatro", "radio")];

/// One phase's outages: (site, cause, root_site, root_device) for sites, the same per device,
/// and the sites under maintenance.
#[derive(Default)]
struct Phase {
    sites: Vec<(&'static str, &'static str, &'static str, &'static str)>,
    devices: Vec<(&'static str, &'static str, &'static str, &'static str)>,
    maintenance: Vec<&'static str>,
}

/// The agent's exposition for `p` (Prometheus text format).
fn exposition(p: &Phase) -> String {
    let mut out = String::from("# TYPE vigia_site_up gauge\n");
    let site_down = |s: &str| p.sites.iter().any(|x| x.0 == s);
    let dev_down = |d: &str| p.devices.iter().any(|x| x.0 == d);
    for (s, link) in SITES {
        out +=
            &format!("vigia_site_up{{site=\"{s}\",link=\"{link}\"}} {}\n", u8::from(!site_down(s)));
    }
    out += "# TYPE vigia_device_up gauge\n";
    for (d, s, class) in DEVICES {
        for probe in ["icmp", "snmp"] {
            out += &format!(
                "vigia_device_up{{device=\"{d}\",site=\"{s}\",class=\"{class}\",family=\"ipv4\",probe=\"{probe}\"}} {}\n",
                u8::from(!dev_down(d))
            );
        }
    }
    out += "# TYPE vigia_site_outage gauge\n";
    for (s, cause, rs, rd) in &p.sites {
        let link = SITES.iter().find(|x| x.0 == *s).unwrap().1;
        out += &format!(
            "vigia_site_outage{{site=\"{s}\",link=\"{link}\",cause=\"{cause}\",root_site=\"{rs}\",root_device=\"{rd}\"}} 1\n"
        );
    }
    out += "# TYPE vigia_device_outage gauge\n";
    for (d, cause, rs, rd) in &p.devices {
        let (_, s, class) = DEVICES.iter().find(|x| x.0 == *d).unwrap();
        out += &format!(
            "vigia_device_outage{{device=\"{d}\",site=\"{s}\",class=\"{class}\",cause=\"{cause}\",root_site=\"{rs}\",root_device=\"{rd}\"}} 1\n"
        );
    }
    out += "# TYPE vigia_site_maintenance gauge\n# TYPE vigia_device_maintenance gauge\n";
    for s in &p.maintenance {
        out += &format!("vigia_site_maintenance{{site=\"{s}\",window=\"obra-{s}\"}} 1\n");
        for (d, ds, _) in DEVICES.iter().filter(|x| x.1 == *s) {
            out += &format!(
                "vigia_device_maintenance{{device=\"{d}\",site=\"{ds}\",window=\"obra-{s}\"}} 1\n"
            );
        }
    }
    out
}

/// Serves `/metrics` from a body the test changes, and takes Alertmanager's webhook posts.
struct Receivers {
    metrics: Arc<RwLock<String>>,
    hooks: Arc<Mutex<Vec<Value>>>,
    mails: Arc<Mutex<Vec<String>>>,
    metrics_url: String,
    hook_url: String,
    smtp: String,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Receivers {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn receivers() -> Receivers {
    let metrics = Arc::new(RwLock::new(exposition(&Phase::default())));
    let hooks = Arc::new(Mutex::new(Vec::new()));
    let mails = Arc::new(Mutex::new(Vec::new()));
    let (m, h) = (metrics.clone(), hooks.clone());
    let app =
        axum::Router::new()
            .route(
                "/metrics",
                axum::routing::get(move || {
                    let body = m.read().unwrap().clone();
                    async move {
                        ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
                    }
                }),
            )
            .route(
                "/alertas",
                axum::routing::post(move |axum::Json(v): axum::Json<Value>| {
                    h.lock().unwrap().push(v);
                    async {}
                }),
            );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let http = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let smtp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let smtp_addr = smtp.local_addr().unwrap();
    let sink = mails.clone();
    let smtp_task = tokio::spawn(async move {
        loop {
            let Ok((conn, _)) = smtp.accept().await else { return };
            let sink = sink.clone();
            tokio::spawn(async move {
                let _ = smtp_session(conn, sink).await;
            });
        }
    });
    Receivers {
        metrics,
        hooks,
        mails,
        metrics_url: format!("http://{addr}/metrics"),
        hook_url: format!("http://{addr}/alertas"),
        smtp: smtp_addr.to_string(),
        tasks: vec![http, smtp_task],
    }
}

/// A minimal SMTP server (RFC 5321 without extensions): it stores each message's data.
async fn smtp_session(
    conn: tokio::net::TcpStream,
    sink: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    let (r, mut w) = conn.into_split();
    let mut r = BufReader::new(r);
    w.write_all(b"220 sink.invalid ESMTP test sink\r\n").await?;
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_ascii_uppercase();
        if cmd.starts_with("EHLO") {
            w.write_all(b"250-sink.invalid\r\n250 8BITMIME\r\n").await?;
        } else if cmd.starts_with("DATA") {
            w.write_all(b"354 go on\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            sink.lock().unwrap().push(data);
            w.write_all(b"250 stored\r\n").await?;
        } else if cmd.starts_with("QUIT") {
            w.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            w.write_all(b"250 ok\r\n").await?;
        }
    }
}

/// Decodes quoted-printable text (soft line breaks and `=XX`), as Alertmanager writes bodies.
fn unquote(text: &str) -> String {
    let joined = text.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The shipped Alertmanager configuration, its receivers pointed at the test's and its waits
/// shortened; everything else (route, grouping, inhibitions, templates) as shipped.
fn alertmanager_config(r: &Receivers) -> String {
    let root = repo_root();
    let mut text =
        std::fs::read_to_string(root.join("deploy/alertmanager/alertmanager.yml")).unwrap();
    let templates = root.join("deploy/alertmanager/templates/*.tmpl");
    let edits: &[(&str, String)] = &[
        ("smtp_smarthost: smtp.municipalidad.invalid:587", format!("smtp_smarthost: {}", r.smtp)),
        ("smtp_require_tls: true", "smtp_require_tls: false".into()),
        ("  smtp_auth_username: vigia@municipalidad.invalid\n", String::new()),
        ("  smtp_auth_password_file: /etc/prometheus/secrets/smtp-password\n", String::new()),
        ("- templates/*.tmpl", format!("- {}", templates.display())),
        ("group_wait: 30s", "group_wait: 1s".into()),
        ("group_interval: 5m", "group_interval: 1s".into()),
        ("http://mesa-de-ayuda.municipalidad.invalid/alertas/vigia", r.hook_url.clone()),
    ];
    for (from, to) in edits {
        assert!(text.contains(from), "the shipped alertmanager.yml no longer has {from:?}");
        text = text.replace(from, to);
    }
    text
}

/// The shipped rules with every `for:` of minutes shortened to as many seconds.
fn fast_rules(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for f in prom::exprs::rule_files().unwrap() {
        let text = std::fs::read_to_string(&f).unwrap();
        let fast: String = text
            .lines()
            .map(|l| match l.trim_start().strip_prefix("for: ").and_then(|v| v.strip_suffix('m')) {
                Some(n) => format!("{}for: {n}s\n", &l[..l.len() - l.trim_start().len()]),
                None => format!("{l}\n"),
            })
            .collect();
        assert!(fast != text, "{}: no `for:` in minutes", f.display());
        let path = dir.join(f.file_name().unwrap());
        std::fs::write(&path, fast).unwrap();
        out.push(path);
    }
    out
}

/// Debian's Alertmanager on a free loopback port, clustering off; killed by its pid on drop.
struct Alertmanager {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Alertmanager {
    fn start(config: &str) -> Alertmanager {
        assert!(
            Path::new(ALERTMANAGER).is_file(),
            "{ALERTMANAGER} not found: install Debian's prometheus-alertmanager (run `scripts/deps test`)"
        );
        let dir = tempfile::Builder::new().prefix("vigia-alertmanager-").tempdir().unwrap();
        let cfg = dir.path().join("alertmanager.yml");
        std::fs::write(&cfg, config).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = std::fs::File::create(dir.path().join("alertmanager.log")).unwrap();
        let child = Command::new(ALERTMANAGER)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!("--storage.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        Alertmanager { child, port, dir }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("alertmanager.log")).unwrap_or_default()
    }

    async fn alerts(&self, client: &reqwest::Client) -> Vec<Value> {
        let url = format!("http://127.0.0.1:{}/api/v2/alerts", self.port);
        match client.get(&url).send().await {
            Ok(resp) => resp.json::<Vec<Value>>().await.unwrap_or_default(),
            Err(_) => Vec::new(),
        }
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits (bounded) until `check` holds, polling every 200 ms.
async fn until<T>(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(start.elapsed() < limit, "gave up after {limit:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn site_of(n: &Value) -> &str {
    n["groupLabels"]["site"].as_str().unwrap_or("")
}

fn names(n: &Value) -> Vec<String> {
    n["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            format!(
                "{}/{}",
                a["labels"]["alertname"].as_str().unwrap(),
                a["status"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outages_reach_a_person_once_grouped_by_sede_inhibited_behind_a_root_quiet_in_maintenance()
{
    let r = receivers().await;
    let am = Alertmanager::start(&alertmanager_config(&r));
    let rules_dir = tempfile::Builder::new().prefix("vigia-fast-rules-").tempdir().unwrap();
    let mut config = PrometheusConfig::new(&[&r.metrics_url]).unwrap();
    config.rule_files = fast_rules(rules_dir.path());
    config.alertmanagers = vec![format!("127.0.0.1:{}", am.port)];
    config.external_labels = vec![("console_url".into(), CONSOLE.into())];
    let prom = Prometheus::start_with(config).await.unwrap_or_else(|e| panic!("{e}"));
    let client =
        reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap();
    until("Alertmanager ready", Duration::from_secs(30), async || {
        let url = format!("http://127.0.0.1:{}/-/ready", am.port);
        client.get(&url).send().await.ok().filter(|r| r.status().is_success()).map(|_| ())
    })
    .await;
    prom.wait_for_scrapes(2, Duration::from_secs(60)).await.unwrap_or_else(|e| panic!("{e}"));
    let limit = Duration::from_secs(60);
    let hooks = |site: &str| -> Vec<Value> {
        r.hooks.lock().unwrap().iter().filter(|n| site_of(n) == site).cloned().collect()
    };
    let set = |p: &Phase| *r.metrics.write().unwrap() = exposition(p);

    // 1. The fibre branch's link is cut: its switch and access point go down with it.
    set(&Phase {
        sites: vec![("grau", "link", "grau", "")],
        devices: vec![("sw-grau", "link", "grau", ""), ("ap-grau", "link", "grau", "")],
        ..Phase::default()
    });
    let firing = until("grau's notification", limit, async || {
        hooks("grau").into_iter().find(|n| n["status"] == "firing")
    })
    .await;
    assert_eq!(names(&firing), ["VigiaSedeAislada/firing"], "{firing:#}");
    assert_eq!(firing["receiver"], "otic");
    // Restored: one resolved notification, and never a second firing one for the devices.
    set(&Phase::default());
    until("grau's resolved notification", limit, async || {
        hooks("grau").into_iter().find(|n| n["status"] == "resolved")
    })
    .await;
    let all = hooks("grau");
    assert!(all.iter().all(|n| names(n).len() == 1), "{all:#?}");
    assert_eq!(all.iter().filter(|n| n["status"] == "firing").count(), 1, "{all:#?}");

    // The e-mail, in Spanish, with the sede, the device, the cause, since when, the console.
    let start = Instant::now();
    let mail = loop {
        let mails: Vec<String> = r.mails.lock().unwrap().iter().map(|m| unquote(m)).collect();
        if let Some(m) = mails.iter().find(|m| m.contains("Sede:     grau")) {
            break m.clone();
        }
        assert!(
            start.elapsed() < limit,
            "no e-mail for grau after {limit:?}; received:\n{mails:#?}\nAlertmanager's log:\n{}",
            am.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for want in [
        "Subject: [vigia] ALERTA sede grau: Sede grau aislada (enlace fibre)",
        "ALERTA: Sede grau",
        "Equipo:   (la sede entera)",
        "Causa:    el enlace de la sede (o su equipo de enlace)",
        "Desde:    ",
        "Gravedad: critical (VigiaSedeAislada)",
        "Consola:  http://127.0.0.1:9464/sede/grau",
        "href=\"http://127.0.0.1:9464/sede/grau\"",
        "Ver en la consola de vigia",
    ] {
        assert!(mail.contains(want), "missing {want:?} in the e-mail:\n{mail}");
    }

    // 2. The main site's core is down: the root site alerts once; the branches behind it are
    // unreachable in Prometheus and held back by Alertmanager.
    let before = r.hooks.lock().unwrap().len();
    set(&Phase {
        sites: vec![
            ("main", "link", "main", ""),
            ("grau", "dependency", "main", ""),
            ("teatro", "dependency", "main", ""),
        ],
        devices: vec![
            ("rt-core", "link", "main", ""),
            ("sw-grau", "dependency", "main", ""),
            ("ap-grau", "dependency", "main", ""),
            ("sw-teatro", "dependency", "main", ""),
        ],
        ..Phase::default()
    });
    let root = until("main's notification", limit, async || {
        hooks("main").into_iter().find(|n| n["status"] == "firing")
    })
    .await;
    assert_eq!(names(&root), ["VigiaSedeAislada/firing"], "{root:#}");
    let held = until("the branches inhibited in Alertmanager", limit, async || {
        let alerts = am.alerts(&client).await;
        let behind: Vec<&Value> =
            alerts.iter().filter(|a| a["labels"]["alertname"] == "VigiaSedeInalcanzable").collect();
        let ok = behind.len() == 2
            && behind.iter().all(|a| {
                a["status"]["state"] == "suppressed"
                    && a["status"]["inhibitedBy"].as_array().is_some_and(|v| !v.is_empty())
            });
        ok.then(|| {
            behind
                .iter()
                .map(|a| a["labels"]["site"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
    })
    .await;
    let mut held = held;
    held.sort();
    assert_eq!(held, ["grau", "teatro"]);
    // Past their group_wait, nothing went out for them.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let later: Vec<Value> = r.hooks.lock().unwrap()[before..].to_vec();
    assert!(
        later.iter().all(|n| !["grau", "teatro"].contains(&site_of(n))),
        "a sede behind the root was notified: {later:#?}"
    );
    set(&Phase::default());
    until("main's resolved notification", limit, async || {
        hooks("main").into_iter().find(|n| n["status"] == "resolved")
    })
    .await;
    until("no alert left in Prometheus", limit, async || {
        let a = prom.alerts().await.unwrap();
        a.iter().all(|a| !a.labels.contains_key("site")).then_some(())
    })
    .await;

    // 3. The radio branch is cut inside its maintenance window, the fibre branch outside one.
    let before = r.hooks.lock().unwrap().len();
    set(&Phase {
        sites: vec![("teatro", "link", "teatro", ""), ("grau", "link", "grau", "")],
        devices: vec![
            ("sw-teatro", "link", "teatro", ""),
            ("sw-grau", "link", "grau", ""),
            ("ap-grau", "link", "grau", ""),
        ],
        maintenance: vec!["teatro"],
    });
    until("grau's second notification", limit, async || {
        r.hooks.lock().unwrap()[before..]
            .iter()
            .find(|n| site_of(n) == "grau" && n["status"] == "firing")
            .cloned()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let later: Vec<Value> = r.hooks.lock().unwrap()[before..].to_vec();
    assert!(later.iter().all(|n| site_of(n) != "teatro"), "{later:#?}");
    let alerts = prom.alerts().await.unwrap();
    assert!(
        alerts.iter().all(|a| a.labels.get("site").map(String::as_str) != Some("teatro")),
        "{alerts:#?}"
    );
    set(&Phase::default());
    prom.stop();
}
