//! The web console in a real browser: Debian's chromium driven by chromedriver over WebDriver
//! (fantoccini), against a real agent polling a lab of real snmpd agents in namespaces this
//! test creates.
//!
//! Proves: every sede is on the Resumen with its medium; cutting a device shows it down and its
//! sede isolated within two poll intervals without a reload (the page's script refreshes it),
//! and restoring it brings them back; the events are on Eventos; a device page's chart has one
//! point per stored poll of its window; each report page's tables are the CLI's report for the
//! same inventory, database and day, its downloads are the CLI's bytes and its XLSX opens with
//! calamine with the CLI's cells; names holding `<script>`, quotes and non-ASCII text render as
//! text; the browser logs no error on any page. A screenshot of each page is written under
//! `target/console-screenshots/` for review.
//!
//! Needs root, /dev/net/tun, iproute2, snmpd, chromium and chromium-driver (`scripts/deps
//! test`); without them it fails saying what is missing.

// Test harness: setting the environment (unsafe since Rust 2024) before any thread reads it.
#![allow(unsafe_code)]
// Tests measure waits and pick dates with the wall clock, like the other end-to-end tests.
#![allow(clippy::disallowed_methods)]

mod e2e;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use calamine::Reader;
use chrono::{TimeDelta, Utc};
use e2e::lab_twin;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use vigia::inventory::{Family, Secrets};
use vigia::probe::ProbeKind;
use vigia::store::Store;
use vigia_lab::Lab;
use vigia_lab::block::AddressBlock;

const ICMP_INTERVAL: Duration = Duration::from_secs(2);
/// A site name that tries everything: markup, quotes, an ampersand, non-ASCII text.
const EVIL_NAME: &str = "<script>window.__xss=1</script> Ñandú & 'Perú' \"sede\" “ñ”";
const EVIL_VENDOR: &str = "<img src=x onerror=\"window.__xss=2\">";

const SECRETS: [(&str, &str); 1] = [("VIGIA_TEST_COMMUNITY", "console-test-community")];

fn inventory(block: &AddressBlock, monitor_srv: bool) -> String {
    format!(
        r#"sites:
  - {{ id: main, name: Sede Principal, role: main }}
  - {{ id: grau, name: Mercado Grau, role: branch, link: fibre, provider: Optical Network, link_mbps: 20 }}
  - {{ id: teatro, name: Teatro Municipal, role: branch, link: radio }}
  - id: evil
    name: {evil}
    role: branch
    link: fibre
snmp_profiles:
  v2c: {{ version: "2c", community_env: VIGIA_TEST_COMMUNITY }}
defaults:
  snmp: v2c
  poll: {{ icmp_interval: 2s, snmp_interval: 4s, timeout: 1s, retries: 0, icmp_count: 2 }}
devices:
  - {{ id: srv-a, site: main, class: server, ipv4: {}, ipv6: "{}", monitor: {monitor_srv} }}
  - {{ id: sw-grau, site: grau, class: switch, ipv4: {}, ipv6: "{}", uplink: true }}
  - {{ id: sw-teatro, site: teatro, class: switch, ipv4: {}, uplink: true }}
  - id: sw-evil
    site: evil
    class: switch
    ipv4: {}
    uplink: true
    vendor: {vendor}
"#,
        block.v4(10),
        block.v6(10),
        block.v4(11),
        block.v6(11),
        block.v4(12),
        block.v4(13),
        evil = serde_json::to_string(EVIL_NAME).unwrap(),
        vendor = serde_json::to_string(EVIL_VENDOR).unwrap(),
    )
}

/// chromedriver on a free loopback port, stopped by its pid.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_driver(log: &Path) -> Driver {
    for program in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
        assert!(
            Path::new(program).exists(),
            "{program} is missing: Debian packages chromium and chromium-driver (scripts/deps test)"
        );
    }
    let port = e2e::free_port();
    let child = Command::new("/usr/bin/chromedriver")
        .arg(format!("--port={port}"))
        .arg(format!("--log-path={}", log.display()))
        .arg("--allowed-ips=127.0.0.1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver { child, port };
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(20), "chromedriver did not listen");
        std::thread::sleep(Duration::from_millis(100));
    }
    driver
}

async fn browser(driver: &Driver, profile: &Path) -> Client {
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--lang=es-PE", "--window-size=1280,1400",
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": { "intl.accept_languages": "es-PE,es" },
        },
        "goog:loggingPrefs": { "browser": "ALL" },
    });
    let serde_json::Value::Object(caps) = caps else { unreachable!() };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a WebDriver session with chromium")
}

/// The browser's console entries since the last call (chromedriver's log endpoint).
async fn browser_log(
    http: &reqwest::Client,
    driver: &Driver,
    session: &str,
) -> Vec<serde_json::Value> {
    let url = format!("http://127.0.0.1:{}/session/{session}/se/log", driver.port);
    let r: serde_json::Value = http
        .post(url)
        .json(&json!({"type": "browser"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["value"].as_array().cloned().unwrap_or_else(|| panic!("chromedriver's log endpoint: {r}"))
}

async fn assert_no_console_errors(
    http: &reqwest::Client,
    driver: &Driver,
    session: &str,
    page: &str,
) {
    let entries = browser_log(http, driver, session).await;
    let errors: Vec<_> =
        entries.iter().filter(|e| e["level"] == "SEVERE" || e["level"] == "WARNING").collect();
    assert!(errors.is_empty(), "{page}: the browser logged {errors:#?}");
}

async fn text_of(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).text().await.unwrap()
}

async fn attr_of(c: &Client, css: &str, name: &str) -> Option<String> {
    match c.find(Locator::Css(css)).await {
        Ok(e) => e.attr(name).await.ok().flatten(),
        Err(_) => None,
    }
}

/// Wait, without navigating, until `css`'s attribute `name` is `value`.
async fn wait_attr(c: &Client, css: &str, name: &str, value: &str, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        // The script swaps <main> in: an element found before may be gone; find it again.
        let now = attr_of(c, css, name).await;
        if now.as_deref() == Some(value) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "waited {within:?} for {css}[{name}={value}], last {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn screenshot(c: &Client, name: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), c.screenshot().await.unwrap()).unwrap();
}

/// The tables of a Markdown document: each a list of rows of cells (header first, the
/// separator row dropped), Markdown escapes undone.
fn md_tables(md: &str) -> Vec<Vec<Vec<String>>> {
    let mut tables = Vec::new();
    let mut current: Vec<Vec<String>> = Vec::new();
    for line in md.lines().chain([""]) {
        if let Some(inner) = line.strip_prefix("| ").and_then(|l| l.strip_suffix(" |")) {
            if inner.split(" | ").all(|c| c == "---") {
                continue;
            }
            let mut cells = Vec::new();
            let mut cell = String::new();
            let mut chars = inner.chars().peekable();
            while let Some(ch) = chars.next() {
                match ch {
                    '\\' => cell.extend(chars.next()),
                    '|' => {
                        cells.push(cell.trim().to_owned());
                        cell.clear();
                    }
                    _ => cell.push(ch),
                }
            }
            cells.push(cell.trim().to_owned());
            current.push(cells);
        } else if !current.is_empty() {
            tables.push(std::mem::take(&mut current));
        }
    }
    tables
}

/// The tables of the report on the page, as the browser shows their text.
async fn page_tables(c: &Client) -> Vec<Vec<Vec<String>>> {
    let script = "return Array.from(document.querySelectorAll('#reporte table')).map(t => \
                  Array.from(t.rows).map(r => Array.from(r.cells).map(c => c.textContent.trim())))";
    serde_json::from_value(c.execute(script, vec![]).await.unwrap()).unwrap()
}

fn cells_of(bytes: &[u8]) -> Vec<(String, Vec<Vec<String>>)> {
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec()))
            .expect("the download opens with calamine");
    let names = wb.sheet_names().to_vec();
    names
        .into_iter()
        .map(|n| {
            let range = wb.worksheet_range(&n).unwrap();
            let rows = range.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
            (n, rows)
        })
        .collect()
}

/// `vigia report REPORT --as-of DAY --format FORMAT` on the same inventory and database.
async fn cli_report(
    dir: &Path,
    inv: &str,
    db: &str,
    day: &str,
    report: &str,
    format: &str,
) -> Vec<u8> {
    let out = dir.join(format!("{report}.{format}"));
    let out_arg = out.display().to_string();
    let args = [
        "report",
        report,
        "--inventory",
        inv,
        "--db",
        db,
        "--as-of",
        day,
        "--format",
        format,
        "-o",
        &out_arg,
    ];
    e2e::vigia(&args, &SECRETS, Duration::from_secs(60)).await.expect_code(0);
    std::fs::read(out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_browser_shows_the_network_live_and_the_reports_of_the_cli() {
    e2e::lab_prerequisites();
    let block = AddressBlock::claim().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inv_dir = dir.path().join("inventory");
    std::fs::create_dir(&inv_dir).unwrap();
    let inv_file = inv_dir.join("inventory.yaml");
    std::fs::write(&inv_file, inventory(&block, true)).unwrap();
    for (k, v) in SECRETS {
        // SAFETY: set before any thread of this test reads the environment for these names.
        unsafe { std::env::set_var(k, v) };
    }
    let (inv, _) = vigia::inventory::load(&inv_dir, Secrets::Require).unwrap();
    let name = format!("co{}", std::process::id());
    let mut spec = lab_twin::spec_from_inventory(&inv, &name, Utc::now().date_naive()).unwrap();
    spec.host_v4 = block.host_v4();
    spec.host_v6 = block.host_v6();
    let lab = Lab::up(spec).await.unwrap();

    let db = dir.path().join("history.db");
    let db_url = format!("sqlite://{}", db.display());
    let port = e2e::free_port();
    let inv_arg = inv_dir.display().to_string();
    let listen = format!("127.0.0.1:{port}");
    let mut agent = e2e::AgentProcess::start(
        &[
            "agent",
            "--inventory",
            &inv_arg,
            "--db",
            &db_url,
            "--listen",
            &listen,
            "--agent-id",
            "console-test",
            "--reload-token-file",
            &token_file(dir.path()),
        ],
        &SECRETS,
        &dir.path().join("agent.log"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();

    // Wait (over HTTP) until every device answers over each of its families.
    let start = Instant::now();
    loop {
        let devices: serde_json::Value = match http.get(format!("{base}/api/devices")).send().await
        {
            Ok(r) => r.json().await.unwrap_or_default(),
            Err(_) => serde_json::Value::Null,
        };
        let all_up = devices.as_array().is_some_and(|ds| {
            ds.len() == 4
                && ds.iter().all(|d| {
                    d["families"].as_object().unwrap().values().all(|f| f["icmp_up"] == true)
                })
        });
        if all_up {
            break;
        }
        agent.assert_running();
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "devices not all up: {devices}\n{}",
            agent.log()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    let driver = start_driver(&dir.path().join("chromedriver.log"));
    let c = browser(&driver, &dir.path().join("chromium")).await;
    let session = c.session_id().await.unwrap().expect("a session id");

    // Resumen: Spanish (the browser asks for es-PE), every sede with its medium.
    c.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(text_of(&c, "h1").await, "Resumen de la red");
    let media = [
        ("main", "sede principal"),
        ("grau", "fibra óptica"),
        ("teatro", "radioenlace"),
        ("evil", "fibra óptica"),
    ];
    for (site, medium) in media {
        let css = format!("tr[data-site='{site}'] td[data-medium]");
        assert_eq!(text_of(&c, &css).await, medium, "{site}");
    }
    let rows = c.find_all(Locator::Css("#sedes tbody tr")).await.unwrap();
    assert_eq!(rows.len(), inv.sites.len());
    // The hostile name is text: exactly as written, no element made of it, no script run.
    assert_eq!(text_of(&c, "tr[data-site='evil'] th a").await, EVIL_NAME);
    assert!(c.find_all(Locator::Css("main script, main img")).await.unwrap().is_empty());
    assert_eq!(c.execute("return window.__xss === undefined", vec![]).await.unwrap(), json!(true));
    assert_no_console_errors(&http, &driver, &session, "Resumen").await;
    screenshot(&c, "resumen").await;

    // English on request.
    c.goto(&format!("{base}/?lang=en")).await.unwrap();
    assert_eq!(text_of(&c, "h1").await, "Network summary");
    assert_eq!(text_of(&c, "tr[data-site='teatro'] td[data-medium]").await, "radio link");

    // A cut device: its sede page shows it down and the sede isolated without a reload.
    c.goto(&format!("{base}/sede/grau")).await.unwrap();
    wait_attr(&c, "tr[data-device='sw-grau']", "data-status", "up", Duration::from_secs(10)).await;
    c.execute("window.__not_reloaded = true", vec![]).await.unwrap();
    lab.cut("sw-grau").await.unwrap();
    // Two poll intervals, plus one refresh of the page, plus a margin for a loaded machine.
    let bound = ICMP_INTERVAL * 3 + Duration::from_secs(6);
    let took = wait_attr(&c, "tr[data-device='sw-grau']", "data-status", "down", bound).await;
    wait_attr(&c, "#enlace [data-status]", "data-status", "isolated", bound).await;
    eprintln!("sw-grau shown down {took:?} after the cut");
    assert_eq!(
        c.execute("return window.__not_reloaded === true", vec![]).await.unwrap(),
        json!(true)
    );
    screenshot(&c, "sede").await;
    // Its link_mbps is a contract with no interface declared: the page says its use cannot be
    // measured rather than showing nothing (issue 15).
    let contract = text_of(&c, "#contrato tr[data-link='grau']").await;
    assert!(contract.contains("no se puede medir") && contract.contains("20"), "{contract}");
    assert_no_console_errors(&http, &driver, &session, "Sede").await;
    // The Resumen says so too, and brings it back without a reload once restored.
    c.goto(&format!("{base}/")).await.unwrap();
    wait_attr(&c, "tr[data-site='grau']", "data-status", "isolated", bound).await;
    c.execute("window.__not_reloaded = true", vec![]).await.unwrap();
    lab.restore("sw-grau").await.unwrap();
    // Failures back off up to four intervals.
    wait_attr(
        &c,
        "tr[data-site='grau']",
        "data-status",
        "up",
        ICMP_INTERVAL * 5 + Duration::from_secs(6),
    )
    .await;
    assert_eq!(
        c.execute("return window.__not_reloaded === true", vec![]).await.unwrap(),
        json!(true)
    );
    assert!(
        c.find(Locator::Css("body[data-refreshed]")).await.is_ok(),
        "the script refreshed the page"
    );

    // Eventos: the device's down and up, the site's isolation and restoration.
    // The agent hands events to the store every couple of seconds: the page is read again
    // until they are there, within a generous bound.
    let kinds = ["device_down", "device_up", "site_isolated", "site_restored"];
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        c.goto(&format!("{base}/eventos?sede=grau")).await.unwrap();
        let mut missing = Vec::new();
        for kind in kinds {
            let css = format!("tr[data-kind='{kind}'][data-site='grau']");
            if c.find_all(Locator::Css(&css)).await.unwrap().is_empty() {
                missing.push(kind);
            }
        }
        if missing.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "not on Eventos within 20 s: {missing:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    screenshot(&c, "eventos").await;
    assert_no_console_errors(&http, &driver, &session, "Eventos").await;

    // A device page's chart: one point per stored poll. srv-a is taken out of polling first
    // (a reload), so that its stored polls no longer change while the page and the store are
    // compared.
    std::fs::write(&inv_file, inventory(&block, false)).unwrap();
    let r = http.post(format!("{base}/-/reload")).bearer_auth(RELOAD_TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 200);
    tokio::time::sleep(Duration::from_secs(5)).await; // in-flight polls land, the writer flushes
    c.goto(&format!("{base}/equipo/srv-a")).await.unwrap();
    let store = Store::connect(&db_url).await.unwrap();
    let now = Utc::now();
    for family in [Family::Ipv4, Family::Ipv6] {
        let stored = store
            .polls("srv-a", now - TimeDelta::days(1), now + TimeDelta::minutes(1))
            .await
            .unwrap()
            .into_iter()
            .filter(|p| p.family == family && p.probe == ProbeKind::Icmp)
            .count();
        let css = format!("svg[data-chart='rtt'][data-family='{}'] .pt", family.as_str());
        let points = c.find_all(Locator::Css(&css)).await.unwrap().len();
        assert!(stored >= 3, "{family}: only {stored} polls stored");
        assert_eq!(points, stored, "{family}: points on the chart vs polls stored");
    }
    store.close().await;
    assert_eq!(text_of(&c, "dl.facts dd:nth-of-type(1) a").await, "Sede Principal");
    screenshot(&c, "equipo").await;
    assert_no_console_errors(&http, &driver, &session, "Equipo").await;
    // The hostile vendor string is text on the device page of the hostile site.
    c.goto(&format!("{base}/equipo/sw-evil")).await.unwrap();
    assert!(text_of(&c, "dl.facts").await.contains(EVIL_VENDOR));
    assert_eq!(c.execute("return window.__xss === undefined", vec![]).await.unwrap(), json!(true));

    // Reports: the page's tables are the CLI's, for the same inventory, database and day; the
    // downloads are the CLI's bytes; the workbooks open with calamine and hold the CLI's cells.
    let day = (Utc::now().date_naive() - TimeDelta::days(1)).to_string();
    // Every report page offers Markdown, CSV, JSON and XLSX (the IPv6 one plain text too).
    for (report, formats) in [
        ("renewal", &["md", "csv", "json", "xlsx"][..]),
        ("ipv6", &["md", "csv", "json", "xlsx", "text"][..]),
        ("links", &["md", "csv", "json", "xlsx"][..]),
        ("indicators", &["md", "csv", "json", "xlsx"][..]),
    ] {
        let cli =
            |format: &'static str| cli_report(dir.path(), &inv_arg, &db_url, &day, report, format);
        c.goto(&format!("{base}/reportes/{report}?fecha={day}")).await.unwrap();
        let md = String::from_utf8(cli("md").await).unwrap();
        let expected = md_tables(&md);
        assert!(!expected.is_empty(), "{report}: the CLI's report has tables");
        assert_eq!(page_tables(&c).await, expected, "{report}: page tables vs `vigia report`");
        screenshot(&c, &format!("reporte-{report}")).await;
        assert_no_console_errors(&http, &driver, &session, report).await;
        let offered = c
            .execute(
                "return Array.from(document.querySelectorAll('#descargas a[data-format]')).map(a => a.dataset.format)",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(offered, json!(formats), "{report}: the downloads offered");
        for format in formats {
            let url = format!("{base}/reportes/{report}/{format}?fecha={day}");
            let got = http.get(url).send().await.unwrap().bytes().await.unwrap().to_vec();
            let want = cli(format).await;
            if *format == "xlsx" {
                assert_eq!(cells_of(&got), cells_of(&want), "{report}.xlsx cells");
            } else {
                assert_eq!(
                    String::from_utf8_lossy(&got),
                    String::from_utf8_lossy(&want),
                    "{report}.{format}"
                );
            }
        }
    }

    // Inventario: the sources' figures, sites and devices, the hostile name as text.
    c.goto(&format!("{base}/inventario")).await.unwrap();
    assert!(text_of(&c, "#inv-sedes").await.contains(EVIL_NAME));
    screenshot(&c, "inventario").await;
    assert_no_console_errors(&http, &driver, &session, "Inventario").await;

    // A phone (360 px) and the wall display.
    c.set_window_size(360, 1400).await.unwrap();
    c.goto(&format!("{base}/")).await.unwrap();
    let overflow = c
        .execute("return document.documentElement.scrollWidth <= window.innerWidth + 1", vec![])
        .await
        .unwrap();
    assert_eq!(overflow, json!(true), "the Resumen scrolls sideways at 360 px");
    screenshot(&c, "resumen-360").await;
    c.set_window_size(1920, 1080).await.unwrap();
    c.goto(&format!("{base}/?wall=1")).await.unwrap();
    assert!(c.find(Locator::Css("body.wall")).await.is_ok());
    screenshot(&c, "resumen-pared").await;
    assert_no_console_errors(&http, &driver, &session, "wall").await;

    // Read-only: nothing but GET is served.
    let r = http.post(format!("{base}/")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    let r = http.get(format!("{base}/")).send().await.unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert!(!r.text().await.unwrap().contains("console-test-community"), "a secret on the page");

    c.close().await.unwrap();
    drop(driver);
    assert_eq!(agent.stop(Duration::from_secs(20)), 0, "{}", agent.log());
    lab.down().await.unwrap();
}

/// The agent's reload token (a test value).
const RELOAD_TOKEN: &str = "console-test-reload-token";

/// A reload token file, mode 600, in `dir`; its path.
fn token_file(dir: &std::path::Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("reload-token");
    std::fs::write(&path, format!("{RELOAD_TOKEN}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path.display().to_string()
}
