//! End to end: the agent polls a lab, then the reports and the IPv6 check read what it stored,
//! and every figure they print, in every format and in both languages, is compared with what
//! the lab was built to show. The workbooks are reopened with calamine and their typed cells
//! compared. Also: the shipped Tacna inventory with an empty history (the plan's baseline).
//!
//! The scenario (dates relative to today, `T`; addresses from a claimed lab block):
//!
//! | device | site | what it is built to show |
//! |---|---|---|
//! | fw-old | central | support ended 400 days ago (40 + 10) and 8 years old, firewall limit 5 (30 + 3 × 5): 95, high |
//! | srv-app | central | support ends in 100 days (25): medium; a server (HOST-RESOURCES) |
//! | sw-limit | central | acquired exactly 8 years ago, switch limit 8: at the limit, not a candidate |
//! | sw-nodates | central | no dates: missing data only; IPv4 only, ICMP only |
//! | srv-legacy | central | no purchase date, support ended 10 days ago (40): high, and missing data |
//! | rt-core | central | 9 years old, router limit 7 (30 + 2 × 5): 40, medium |
//! | sw-v6broken | central | IPv6 configured, routed into the lab to no host: broken (IPv4 answers) |
//! | sw-v6late | central | ipv6_planned 30 days ago, no IPv6: ipv6_overdue (15), low |
//! | sw-renewed | central | renewed on 1 January (AE.7.04 = 1), replaces sw-retired |
//! | sw-retired | central | retired on 1 January: not in service, not polled |
//! | sw-fibra | mercado-fibra | fibre uplink, dual stack, SNMPv2c |
//! | sw-radio | teatro-radio | radio uplink, dual stack |
//! | ap-radio | teatro-radio | IPv4 only, ICMP only, no dates |
//! | sw-mejora | mercado-mejora | its site goes from radio (first agent run) to fibre (second): AE.7.03 counts it improved |
//! | sw-camal | camal | a site with no link: never polled; no dates |
//!
//! One AE.7.03 project implemented this year (of a target of 2), one last year, one in
//! progress; AE.7.04 target 1.

// Tests read the clock for deadlines, timings and dates (clippy.toml bans it in src/).
#![allow(clippy::disallowed_methods)]

mod e2e;

use std::io::Cursor;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use calamine::{Data, DataType, Reader, Xlsx};
use chrono::{Datelike, NaiveDate};
use serde_json::{Value, json};
use vigia::inventory;
use vigia_lab::block::AddressBlock;
use vigia_lab::{Lab, LabDevice, LinkModel};

use e2e::{
    AgentProcess, assert_every_address_in_lab, assert_has, days_before, free_port, load, new_year,
    settled_today, vigia, write, write_secret, years_before,
};

const RUN: Duration = Duration::from_secs(60);

/// The lab-only SNMP secrets of the scenario (written to files in the inventory).
const COMMUNITY: &str = "e2e-lab-community";
const AUTH: &str = "e2e-lab-auth-pass";
const PRIV: &str = "e2e-lab-priv-pass";

/// The scenario's inventory, written into a temporary directory.
struct Scenario<'a> {
    today: NaiveDate,
    block: &'a AddressBlock,
}

impl Scenario<'_> {
    fn sites(&self, mejora: &str) -> String {
        let next = self.today.year() + 1;
        format!(
            r#"sites:
  - {{ id: sede-central, name: Sede Central, role: main }}
  - {{ id: mercado-fibra, name: Mercado Fibra, role: branch, link: fibre, provider: Optical Network, link_mbps: 60 }}
  - {{ id: teatro-radio, name: Teatro Radio, role: branch, link: radio }}
  - {{ id: mercado-mejora, name: Mercado Mejora, role: branch, link: {mejora} }}
  - {{ id: camal, name: Camal, role: branch, link: none, planned_link: fibre, planned_date: {next}-12-31 }}
declared:
  - source: Tabla de prueba
    sites: {{ fibre: 2, radio: 1, none: 1 }}
  - source: Texto de prueba
    sites: {{ fibre: 1, radio: 2, total: 4 }}
"#
        )
    }

    fn devices(&self) -> String {
        let t = self.today;
        let d = |n: i64| days_before(t, n);
        let y = |n: u32| years_before(t, n);
        let jan1 = new_year(t);
        let (v4, v6) = (|h| self.block.v4(h), |h| self.block.v6(h));
        // Dates every device that is not about dates carries: far from any rule.
        let fine = format!(
            "{{ acquired: {}, end_of_sale: {}, end_of_support: {} }}",
            y(1),
            d(-700),
            d(-1500)
        );
        format!(
            r#"devices:
  - id: fw-old
    site: sede-central
    class: firewall
    vendor: Fortinet
    model: FortiGate 500E
    serial: FG-E2E-0001
    ipv4: {fw4}
    ipv6: {fw6}
    lifecycle: {{ acquired: {y8}, end_of_sale: {d800}, end_of_support: {d400} }}
  - id: srv-app
    site: sede-central
    class: server
    ipv4: {app4}
    ipv6: {app6}
    lifecycle: {{ acquired: {y3}, end_of_sale: {d30}, end_of_support: {dm100} }}
  - id: sw-limit
    site: sede-central
    class: switch
    snmp: v2
    ipv4: {lim4}
    ipv6: {lim6}
    lifecycle: {{ acquired: {y8}, end_of_sale: {dm400}, end_of_support: {dm800} }}
  - {{ id: sw-nodates, site: sede-central, class: switch, snmp: false, ipv4: {nod4} }}
  - id: srv-legacy
    site: sede-central
    class: server
    ipv4: {leg4}
    lifecycle: {{ end_of_support: {d10} }}
  - id: rt-core
    site: sede-central
    class: router
    ipv4: {rt4}
    lifecycle: {{ acquired: {y9}, end_of_sale: {d100}, end_of_support: {dm500} }}
  - {{ id: sw-v6broken, site: sede-central, class: switch, ipv4: {brk4}, ipv6: {brk6}, lifecycle: {fine} }}
  - {{ id: sw-v6late, site: sede-central, class: switch, ipv4: {late4}, ipv6_planned: {d30}, lifecycle: {fine} }}
  - id: sw-renewed
    site: sede-central
    class: switch
    uplink: true
    ipv4: {ren4}
    ipv6: {ren6}
    lifecycle: {{ acquired: {jan1}, end_of_sale: {dm1000}, end_of_support: {dm2000}, renewed: {jan1}, replaces: sw-retired }}
  - id: sw-retired
    site: sede-central
    class: switch
    ipv4: {ret4}
    lifecycle: {{ acquired: {y12}, end_of_sale: {y10}, end_of_support: {y9}, retired: {jan1} }}
  - {{ id: sw-fibra, site: mercado-fibra, class: switch, uplink: true, snmp: v2, ipv4: {fib4}, ipv6: {fib6}, lifecycle: {fine} }}
  - {{ id: sw-radio, site: teatro-radio, class: switch, uplink: true, ipv4: {rad4}, ipv6: {rad6}, lifecycle: {fine} }}
  - {{ id: ap-radio, site: teatro-radio, class: access_point, snmp: false, ipv4: {ap4} }}
  - {{ id: sw-mejora, site: mercado-mejora, class: switch, uplink: true, ipv4: {mej4}, lifecycle: {fine} }}
  - {{ id: sw-camal, site: camal, class: switch, ipv4: {cam4} }}
"#,
            fw4 = v4(1),
            fw6 = v6(1),
            app4 = v4(2),
            app6 = v6(2),
            lim4 = v4(3),
            lim6 = v6(3),
            nod4 = v4(4),
            leg4 = v4(5),
            rt4 = v4(6),
            brk4 = v4(7),
            brk6 = v6(7),
            late4 = v4(8),
            ren4 = v4(9),
            ren6 = v6(9),
            ret4 = v4(10),
            fib4 = v4(20),
            fib6 = v6(0x20),
            rad4 = v4(30),
            rad6 = v6(0x30),
            ap4 = v4(31),
            mej4 = v4(40),
            cam4 = v4(50),
            y3 = y(3),
            y8 = y(8),
            y9 = y(9),
            y10 = y(10),
            y12 = y(12),
            d10 = d(10),
            d30 = d(30),
            d100 = d(100),
            d400 = d(400),
            d800 = d(800),
            dm100 = d(-100),
            dm400 = d(-400),
            dm500 = d(-500),
            dm800 = d(-800),
            dm1000 = d(-1000),
            dm2000 = d(-2000),
        )
    }

    fn plan(&self) -> String {
        let year = self.today.year();
        let jan1 = new_year(self.today);
        format!(
            r#"snmp_profiles:
  v3:
    version: "3"
    user: vigia
    auth_protocol: sha256
    auth_password_file: secrets/auth
    priv_protocol: aes128
    priv_password_file: secrets/priv
  v2:
    version: "2c"
    community_file: secrets/community

defaults:
  snmp: v3
  poll: {{ icmp_interval: 2s, snmp_interval: 4s, timeout: 1s, retries: 1, icmp_count: 3 }}

policy:
  renewal:
    max_age_years: {{ server: 5, switch: 8, router: 7, firewall: 5, default: 6 }}
    support_warning_days: 365

projects:
  - {{ id: fibra-fase-1, indicator: AE.7.03, name: "Interconexión con fibra óptica, fase 1", year: {year}, budget_pen: 500000, priority: 1, status: implemented, implemented_on: {jan1} }}
  - {{ id: fibra-piloto, indicator: AE.7.03, name: Piloto de fibra, year: {prev}, status: implemented, implemented_on: {prev}-06-30 }}
  - {{ id: data-center, indicator: AE.7.03, name: Mejoramiento del Data Center, year: {year}, priority: 1, status: in_progress }}
  - {{ id: ipv6, indicator: AE.7.04, name: Implementación de IPv6, year: {year}, budget_pen: 1200000, status: in_progress }}

indicators:
  - id: AE.7.03
    name: Número de proyectos de infraestructura digital implementados
    objective: OEI.07 Fortalecer al Gobierno Digital
    action: AE.7.03 Infraestructura tecnológica con soporte adecuado
    formula: (N.° de componentes actualizados o mejorados / Total de componentes evaluados) × 100
    source: Reportes de los ejecutores (OTIC)
    responsible: OTIC
    targets: {{ {year}: 2 }}
  - id: AE.7.04
    name: Número de equipos informáticos renovados
    formula: Número de equipos informáticos renovados en el ejercicio
    targets: {{ {year}: 1 }}
    target_note: "La meta del plan es 1 proyecto (IPv6); se registra 1."
"#,
            prev = year - 1,
        )
    }

    /// Write the inventory with `mejora` as mercado-mejora's medium.
    fn write(&self, dir: &Path, mejora: &str) {
        write(dir, "sites.yaml", &self.sites(mejora));
        write(dir, "devices.yaml", &self.devices());
        write(dir, "plan.yaml", &self.plan());
        write_secret(&dir.join("secrets/community"), COMMUNITY);
        write_secret(&dir.join("secrets/auth"), AUTH);
        write_secret(&dir.join("secrets/priv"), PRIV);
    }
}

/// The lab of the scenario: the inventory's polled devices, with sw-v6broken's IPv6 address
/// routed into the lab to no host, and the addresses of the devices vigia never polls
/// (sw-camal: no link; sw-retired: retired) routed to "unreachable": no inventory address
/// is left to the default route.
fn lab_spec(
    inv: &inventory::Inventory,
    block: &AddressBlock,
    today: NaiveDate,
) -> vigia_lab::LabSpec {
    let name = format!("e2er-{}", std::process::id());
    let mut spec = e2e::lab_twin::spec_from_inventory(inv, &name, today).expect("the lab spec");
    spec.host_v4 = block.host_v4();
    spec.host_v6 = block.host_v6();
    spec.seed = 2026;
    let broken = spec.devices.iter_mut().find(|d| d.id == "sw-v6broken").expect("sw-v6broken");
    let v6 = broken.ipv6.take().expect("sw-v6broken has IPv6");
    spec.devices.push(LabDevice {
        id: "sw-v6broken-v6".into(),
        ipv4: None,
        ipv6: Some(v6),
        link: Some(LinkModel::LAN),
        present: false,
        agent: None,
    });
    for id in ["sw-camal", "sw-retired"] {
        assert!(spec.devices.iter().all(|d| d.id != id), "{id} is not polled");
        let d = inv.device(id).expect(id);
        spec.devices.push(LabDevice {
            id: id.into(),
            ipv4: d.ipv4,
            ipv6: d.ipv6,
            link: None,
            present: true,
            agent: None,
        });
    }
    // Every address of the inventory is in the lab.
    assert_every_address_in_lab(inv, &spec);
    spec
}

/// Spanish and English, for the texts the test looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    Es,
    En,
}

impl Lang {
    fn code(self) -> &'static str {
        match self {
            Lang::Es => "es",
            Lang::En => "en",
        }
    }

    fn pick<'a>(self, es: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Es => es,
            Lang::En => en,
        }
    }

    /// A percentage as the reports print it: `46.2 %` in Spanish, `46.2%` in English.
    fn percent(self, ratio: f64) -> String {
        match self {
            Lang::Es => format!("{:.1} %", ratio * 100.0),
            Lang::En => format!("{:.1}%", ratio * 100.0),
        }
    }

    /// The column headers the tests look cells up by, as the reports print them.
    fn cols(self) -> Cols {
        Cols {
            acquired: self.pick("Adquirido", "Acquired"),
            age: self.pick("Edad (años)", "Age (years)"),
            candidate: self.pick("Candidato", "Candidate"),
            counts: self.pick("Cuenta", "Counts"),
            date: self.pick("Fecha", "Date"),
            days_end_of_sale: self.pick("Días a fin de venta", "Days to end of sale"),
            days_end_of_support: self.pick("Días a fin de soporte", "Days to end of support"),
            device: self.pick("Equipo", "Device"),
            end_of_sale: self.pick("Fin de venta", "End of sale"),
            end_of_support: self.pick("Fin de soporte", "End of support"),
            field: self.pick("Campo", "Field"),
            id: self.pick("Id", "Id"),
            kind: self.pick("Tipo", "Kind"),
            max_age: self.pick("Límite (años)", "Limit (years)"),
            score: self.pick("Puntaje", "Score"),
            value: self.pick("Valor", "Value"),
        }
    }

    fn strings(self) -> &'static vigia::report::i18n::Strings {
        match self {
            Lang::Es => vigia::report::Lang::Es.t(),
            Lang::En => vigia::report::Lang::En.t(),
        }
    }
}

/// Column headers of the CSV and the workbooks.
struct Cols {
    acquired: &'static str,
    age: &'static str,
    candidate: &'static str,
    counts: &'static str,
    date: &'static str,
    days_end_of_sale: &'static str,
    days_end_of_support: &'static str,
    device: &'static str,
    end_of_sale: &'static str,
    end_of_support: &'static str,
    field: &'static str,
    id: &'static str,
    kind: &'static str,
    max_age: &'static str,
    score: &'static str,
    value: &'static str,
}

/// What the reports read: the scenario's inventory and the history the agent stored.
struct Ctx {
    v6broken: Ipv6Addr,
    inv: String,
    db: String,
    today: NaiveDate,
    out: PathBuf,
    dump: Option<PathBuf>,
}

impl Ctx {
    /// `vigia report|check ...` with the inventory, history and `--as-of` today.
    async fn report(&self, args: &[&str], code: i32) -> e2e::Run {
        let t = self.today.to_string();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--inventory", &self.inv, "--db", &self.db]);
        if !args.contains(&"--probe") {
            all.extend(["--as-of", &t]);
        }
        let run = vigia(&all, &[], RUN).await.expect_code(code);
        if let Some(dir) = &self.dump {
            std::fs::create_dir_all(dir).unwrap();
            let name: String = args.join("_").replace(['/', '%', ' '], "-");
            std::fs::write(dir.join(name), &run.stdout).unwrap();
        }
        run
    }

    /// A workbook written with `--output`, reopened with calamine.
    async fn workbook(&self, report: &str, lang: Lang, extra: &[&str]) -> Xlsx<Cursor<Vec<u8>>> {
        let path = self.out.join(format!("{report}.{}.xlsx", lang.code()));
        let p = path.to_str().unwrap();
        let mut args = vec!["report", report, "--lang", lang.code(), "--format", "xlsx"];
        args.extend(extra);
        args.extend(["--output", p]);
        let run = self.report(&args, 0).await;
        assert!(run.stdout.is_empty(), "--output leaves stdout empty");
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.starts_with(b"PK"), "{} is a zip (xlsx) file", path.display());
        Xlsx::new(Cursor::new(bytes)).expect("a workbook calamine reads")
    }
}

/// A sheet as rows of cells, with its header row.
struct Sheet {
    name: String,
    headers: Vec<String>,
    rows: Vec<Vec<Data>>,
}

impl Sheet {
    fn read(wb: &mut Xlsx<Cursor<Vec<u8>>>, name: &str) -> Sheet {
        let range = wb
            .worksheet_range(name)
            .unwrap_or_else(|e| panic!("sheet {name:?}: {e}; sheets: {:?}", wb.sheet_names()));
        let mut rows = range.rows().map(<[Data]>::to_vec);
        let headers = rows
            .next()
            .unwrap_or_default()
            .iter()
            .map(|c| c.get_string().unwrap_or_default().to_owned())
            .collect();
        Sheet { name: name.into(), headers, rows: rows.collect() }
    }

    fn col(&self, header: &str) -> usize {
        self.headers.iter().position(|h| h == header).unwrap_or_else(|| {
            panic!("sheet {}: no column {header:?} in {:?}", self.name, self.headers)
        })
    }

    /// The row whose column `key` holds `value`.
    fn row(&self, key: &str, value: &str) -> &[Data] {
        let c = self.col(key);
        self.rows
            .iter()
            .find(|r| r.get(c).and_then(|d| d.get_string()) == Some(value))
            .unwrap_or_else(|| panic!("sheet {}: no row with {key} = {value:?}", self.name))
    }

    fn cell<'a>(&self, row: &'a [Data], header: &str) -> &'a Data {
        row.get(self.col(header)).unwrap_or(&Data::Empty)
    }

    /// Column `header` of every row, as text.
    fn column(&self, header: &str) -> Vec<String> {
        let c = self.col(header);
        self.rows
            .iter()
            .map(|r| r.get(c).and_then(|d| d.get_string()).unwrap_or_default().to_owned())
            .collect()
    }
}

/// A number cell.
fn num(d: &Data) -> f64 {
    match d {
        Data::Float(f) => *f,
        Data::Int(i) => *i as f64,
        other => panic!("expected a number cell, found {other:?}"),
    }
}

/// A date cell (a date, not text that looks like one).
fn date(d: &Data) -> NaiveDate {
    assert!(matches!(d, Data::DateTime(_)), "expected a date cell, found {d:?}");
    d.as_date().expect("a date")
}

/// RFC 4180 records (quoted fields may hold commas, quotes and line breaks).
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "CSV lines end in CRLF");
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, '\n') => panic!("a bare LF in the CSV (lines must end in CRLF)"),
            (false, c) => field.push(c),
        }
    }
    assert!(field.is_empty() && record.is_empty(), "the CSV ends with CRLF");
    records
}

fn ids(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_str().or_else(|| x["device"].as_str()).expect("an id"))
        .collect()
}

fn without(mut v: Value, keys: &[&str]) -> Value {
    for k in keys {
        v.as_object_mut().expect("an object").remove(*k);
    }
    v
}

// ---------------------------------------------------------------------------------------------
// The designed figures.

/// A designed candidate: device, score, priority, reasons, class (es, en).
type Designed =
    (&'static str, u64, &'static str, &'static [&'static str], (&'static str, &'static str));

/// Candidates in report order.
const CANDIDATES: [Designed; 5] = [
    ("fw-old", 95, "high", &["support_ended", "too_old"], ("cortafuegos", "firewall")),
    ("srv-legacy", 40, "high", &["support_ended"], ("servidor", "server")),
    ("rt-core", 40, "medium", &["too_old"], ("router", "router")),
    ("srv-app", 25, "medium", &["support_ending"], ("servidor", "server")),
    ("sw-v6late", 15, "low", &["ipv6_overdue"], ("switch", "switch")),
];

/// Devices with unknown dates, in inventory order: device, missing fields, candidate.
const MISSING: [(&str, &[&str], bool); 4] = [
    ("sw-nodates", &["acquired", "end_of_sale", "end_of_support"], false),
    ("srv-legacy", &["acquired", "end_of_sale"], true),
    ("ap-radio", &["acquired", "end_of_sale", "end_of_support"], false),
    ("sw-camal", &["acquired", "end_of_sale", "end_of_support"], false),
];

/// IPv6 stages overall: (passed, eligible).
const STAGES: [(&str, usize, usize); 4] =
    [("configured", 7, 13), ("icmp", 6, 13), ("snmp", 6, 11), ("dual_stack", 6, 13)];

/// Per site: configured, icmp, snmp, dual_stack as (passed, eligible).
const SITES: [(&str, [(usize, usize); 4]); 4] = [
    ("sede-central", [(5, 9), (4, 9), (4, 8), (4, 9)]),
    ("mercado-fibra", [(1, 1), (1, 1), (1, 1), (1, 1)]),
    ("teatro-radio", [(1, 2), (1, 2), (1, 1), (1, 2)]),
    ("mercado-mejora", [(0, 1), (0, 1), (0, 1), (0, 1)]),
];

/// Per class, the same.
const CLASSES: [(&str, [(usize, usize); 4]); 5] = [
    ("switch", [(5, 8), (4, 8), (4, 7), (4, 8)]),
    ("router", [(0, 1), (0, 1), (0, 1), (0, 1)]),
    ("firewall", [(1, 1), (1, 1), (1, 1), (1, 1)]),
    ("server", [(1, 2), (1, 2), (1, 2), (1, 2)]),
    ("access_point", [(0, 1), (0, 1), (0, 0), (0, 1)]),
];

const STAGE_KEYS: [&str; 4] = ["configured", "icmp", "snmp", "dual_stack"];

fn assert_tally(what: &str, v: &Value, passed: usize, eligible: usize) {
    assert_eq!(v["passed"], json!(passed), "{what}: {v}");
    assert_eq!(v["eligible"], json!(eligible), "{what}: {v}");
    if eligible == 0 {
        assert!(v["ratio"].is_null(), "{what}: {v}");
    } else {
        let r = v["ratio"].as_f64().unwrap();
        assert!((r - passed as f64 / eligible as f64).abs() < 1e-12, "{what}: {v}");
    }
}

// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_and_check_tell_what_the_lab_was_built_to_show() {
    e2e::lab_prerequisites();
    let started = Instant::now();
    let today = settled_today().await;
    let block = AddressBlock::claim().expect("a lab address block");
    let tmp = tempfile::Builder::new().prefix("vigia-e2e-reports-").tempdir().unwrap();
    let inv_dir = tmp.path().join("inventory");
    let scenario = Scenario { today, block: &block };

    // The lab is the network as it is at the end: mercado-mejora on fibre.
    scenario.write(&inv_dir, "fibre");
    let lab = Lab::up(lab_spec(&load(&inv_dir), &block, today)).await.expect("the lab comes up");
    eprintln!("lab up after {:.1?}", started.elapsed());

    let db = format!("sqlite://{}", tmp.path().join("vigia.db").display());
    let inv = inv_dir.to_str().unwrap().to_owned();

    // First run, once: mercado-mejora still on radio. Its snapshot is the AE.7.03 baseline.
    scenario.write(&inv_dir, "radio");
    let once = vigia(&["agent", "--once", "--inventory", &inv, "--db", &db], &[], RUN)
        .await
        .expect_code(0);
    assert_has(
        "the --once summary",
        &once.text(),
        &["polled 13 devices of 15", "13 13 0 icmp over ipv4", "7 6 1 icmp over ipv6"],
    );

    // Second run, continuous, for 10 s (about five ICMP cycles a device): mercado-mejora
    // upgraded to fibre; the agent stores a second snapshot at start.
    scenario.write(&inv_dir, "fibre");
    let listen = format!("127.0.0.1:{}", free_port());
    let mut agent = AgentProcess::start(
        &["agent", "--inventory", &inv, "--db", &db, "--listen", &listen],
        &[],
        &tmp.path().join("agent.log"),
    );
    tokio::time::sleep(Duration::from_secs(10)).await;
    agent.assert_running();
    assert_eq!(agent.stop(Duration::from_secs(20)), 0, "{}", agent.log());
    eprintln!("the agent polled the lab; {:.1?}", started.elapsed());

    let ctx = Ctx {
        v6broken: block.v6(7),
        inv,
        db,
        today,
        out: tmp.path().to_path_buf(),
        dump: std::env::var_os("VIGIA_E2E_DUMP").map(PathBuf::from),
    };
    renewal(&ctx).await;
    ipv6_report(&ctx).await;
    ipv6_check(&ctx).await;
    links(&ctx).await;
    indicators(&ctx).await;
    eprintln!("reports checked; {:.1?}", started.elapsed());
    lab.down().await.expect("the lab comes down whole");
    eprintln!("reports end to end: {:.1?}", started.elapsed());
}

async fn renewal(ctx: &Ctx) {
    let t = ctx.today;
    let d = |n: i64| days_before(t, n);
    let j = ctx.report(&["report", "renewal", "--format", "json"], 0).await.json();
    assert_eq!(j["schema"], "vigia.renewal/1");
    assert_eq!(j["as_of"]["date"], json!(t.to_string()));
    assert_eq!(j["evaluated"], 14, "every device but the retired one");
    let got: Vec<(&str, u64, &str, Vec<&str>)> = j["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let reasons = c["findings"].as_array().unwrap();
            (
                c["device"].as_str().unwrap(),
                c["score"].as_u64().unwrap(),
                c["priority"].as_str().unwrap(),
                reasons.iter().map(|f| f["reason"].as_str().unwrap()).collect(),
            )
        })
        .collect();
    let want: Vec<(&str, u64, &str, Vec<&str>)> =
        CANDIDATES.iter().map(|c| (c.0, c.1, c.2, c.3.to_vec())).collect();
    assert_eq!(got, want);
    let cand = |id: &str| {
        j["candidates"].as_array().unwrap().iter().find(|c| c["device"] == id).unwrap().clone()
    };
    let finding = |id: &str, reason: &str| {
        cand(id)["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["reason"] == reason)
            .unwrap()
            .clone()
    };
    let f = finding("fw-old", "support_ended");
    assert_eq!((f["points"].clone(), f["evidence"]["days_since"].clone()), (json!(50), json!(400)));
    assert_eq!(f["evidence"]["end_of_support"], json!(d(400).to_string()));
    let f = finding("fw-old", "too_old");
    assert_eq!(f["points"], 45);
    assert_eq!(f["evidence"]["age_years"], 8);
    assert_eq!(f["evidence"]["max_age_years"], 5);
    assert_eq!(f["evidence"]["years_over"], 3);
    assert_eq!(f["evidence"]["limit_reached_on"], json!(years_before(t, 3).to_string()));
    let f = finding("srv-legacy", "support_ended");
    assert_eq!((f["points"].clone(), f["evidence"]["days_since"].clone()), (json!(40), json!(10)));
    assert_eq!(cand("srv-legacy")["missing"], json!(["acquired", "end_of_sale"]));
    let f = finding("rt-core", "too_old");
    assert_eq!((f["points"].clone(), f["evidence"]["years_over"].clone()), (json!(40), json!(2)));
    let f = finding("srv-app", "support_ending");
    assert_eq!(f["points"], 25);
    assert_eq!(
        (f["evidence"]["days_left"].clone(), f["evidence"]["warning_days"].clone()),
        (json!(100), json!(365))
    );
    let f = finding("sw-v6late", "ipv6_overdue");
    assert_eq!(f["points"], 15);
    assert_eq!(f["evidence"]["days_overdue"], 30);
    assert_eq!(f["evidence"]["configured"], false);
    let missing: Vec<(&str, Vec<&str>, bool)> = j["missing_data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["device"].as_str().unwrap(),
                m["missing"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect(),
                m["candidate"].as_bool().unwrap(),
            )
        })
        .collect();
    let want: Vec<(&str, Vec<&str>, bool)> =
        MISSING.iter().map(|m| (m.0, m.1.to_vec(), m.2)).collect();
    assert_eq!(missing, want);
    // sw-limit is exactly at its age limit: neither a candidate nor missing anything.
    assert!(!j.to_string().contains("\"sw-limit\""), "sw-limit appears in the renewal report");
    assert_eq!(j["policy"]["max_age_years"]["switch"], 8);

    for lang in [Lang::Es, Lang::En] {
        let l = lang.code();
        let en =
            ctx.report(&["report", "renewal", "--lang", l, "--format", "json"], 0).await.json();
        assert_eq!(
            without(en, &["as_of", "reliability_window"]),
            without(j.clone(), &["as_of", "reliability_window"]),
            "the JSON is the same in every language"
        );

        // Markdown: the summary, one row per candidate in order, the missing data, the policy.
        let md = ctx.report(&["report", "renewal", "--lang", l, "--format", "md"], 0).await.text();
        let mut needles = vec![lang
            .pick(
                "Equipos en servicio evaluados: 14. Candidatos: 5 (alta 2, media 2, baja 1). Con fechas desconocidas: 4.",
                "Devices in service evaluated: 14. Candidates: 5 (high 2, medium 2, low 1). With unknown dates: 4.",
            )
            .to_owned()];
        for (rank, (id, score, prio, _, class)) in CANDIDATES.iter().enumerate() {
            let prio = match (*prio, lang) {
                ("high", Lang::Es) => "alta",
                ("medium", Lang::Es) => "media",
                ("low", Lang::Es) => "baja",
                (p, _) => p,
            };
            let class = lang.pick(class.0, class.1);
            needles.push(format!(
                "| {} | {prio} | {score} | {id} | Sede Central | {class} |",
                rank + 1
            ));
        }
        needles.push(
            lang.pick(
                &format!("el soporte terminó el {} (hace 400 días)", d(400)),
                &format!("support ended on {} (400 days ago)", d(400)),
            )
            .to_owned(),
        );
        needles.push(lang.pick("8 años, límite 5 años", "8 years old, limit 5 years").to_owned());
        needles.push(lang.pick("(hace 10 días)", "(10 days ago)").to_owned());
        needles.push(lang.pick("9 años, límite 7 años", "9 years old, limit 7 years").to_owned());
        needles.push(
            lang.pick("(en 100 días; aviso de 365 días)", "(in 100 days; warning 365 days)")
                .to_owned(),
        );
        needles.push(
            lang.pick("(hace 30 días); sin dirección IPv6", "(30 days ago); no IPv6 address")
                .to_owned(),
        );
        let all3 = lang.pick(
            "fecha de adquisición; fin de venta; fin de soporte",
            "acquisition date; end of sale; end of support",
        );
        let (yes, no) = (lang.pick("sí", "yes"), lang.pick("no", "no"));
        needles.push(format!("| sw-nodates | Sede Central | switch | | | {all3} | {no} |"));
        needles.push(format!(
            "| srv-legacy | Sede Central | {} | | | {} | {yes} |",
            lang.pick("servidor", "server"),
            lang.pick("fecha de adquisición; fin de venta", "acquisition date; end of sale")
        ));
        needles.push(format!(
            "| ap-radio | Teatro Radio | {} | | | {all3} | {no} |",
            lang.pick("punto de acceso", "access point")
        ));
        needles.push(format!("| sw-camal | Camal | switch | | | {all3} | {no} |"));
        needles.push(
            lang.pick(
                "| Antigüedad máxima | switch | 8 | años |",
                "| Maximum age | switch | 8 | years |",
            )
            .to_owned(),
        );
        let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        assert_has(&format!("renewal md ({l})"), &md, &needles);
        assert!(!md.contains("sw-limit") && !md.contains("sw-retired"), "{md}");

        // CSV: candidates in order, then the devices only missing data; every number as in JSON.
        let text =
            ctx.report(&["report", "renewal", "--lang", l, "--format", "csv"], 0).await.text();
        let records = csv_records(&text);
        let s = lang.strings();
        let cols = lang.cols();
        let header = &records[0];
        let col = |h: &str| {
            header
                .iter()
                .position(|x| x == h)
                .unwrap_or_else(|| panic!("CSV column {h}: {header:?}"))
        };
        let devices: Vec<&str> =
            records[1..].iter().map(|r| r[col(cols.device)].as_str()).collect();
        assert_eq!(
            devices,
            [
                "fw-old",
                "srv-legacy",
                "rt-core",
                "srv-app",
                "sw-v6late",
                "sw-nodates",
                "ap-radio",
                "sw-camal"
            ]
        );
        for r in &records[1..] {
            let id = r[col(cols.device)].as_str();
            let is_candidate = CANDIDATES.iter().any(|c| c.0 == id);
            assert_eq!(r[0], if is_candidate { yes } else { no }, "{id}");
            let facts = if is_candidate {
                cand(id)
            } else {
                j["missing_data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|m| m["device"] == id)
                    .unwrap()
                    .clone()
            };
            let text_of = |v: &Value| match v {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            for (h, key) in [
                (cols.score, "score"),
                (cols.acquired, "acquired"),
                (cols.age, "age_years"),
                (cols.max_age, "max_age_years"),
                (cols.end_of_sale, "end_of_sale"),
                (cols.days_end_of_sale, "days_to_end_of_sale"),
                (cols.end_of_support, "end_of_support"),
                (cols.days_end_of_support, "days_to_end_of_support"),
            ] {
                assert_eq!(r[col(h)], text_of(&facts[key]), "CSV {id} {h} ({l})");
            }
        }
        let fw = &records[1];
        assert_eq!(fw[col(cols.days_end_of_support)], "-400", "days to a past date are negative");
        assert_eq!(fw[col(cols.acquired)], years_before(t, 8).to_string());

        // The workbook: typed cells, dates as dates, numbers as numbers, unknowns empty.
        let mut wb = ctx.workbook("renewal", lang, &[]).await;
        assert_eq!(wb.sheet_names(), [s.candidates, s.missing_data, s.policy]);
        let c = Sheet::read(&mut wb, s.candidates);
        assert_eq!(c.column(cols.device), CANDIDATES.map(|c| c.0));
        for (id, score, ..) in CANDIDATES {
            let row = c.row(cols.device, id);
            assert_eq!(num(c.cell(row, cols.score)), score as f64, "{id}");
            let facts = cand(id);
            for (h, key) in [
                (cols.acquired, "acquired"),
                (cols.end_of_sale, "end_of_sale"),
                (cols.end_of_support, "end_of_support"),
            ] {
                match facts[key].as_str() {
                    Some(day) => assert_eq!(date(c.cell(row, h)).to_string(), day, "{id} {h}"),
                    None => assert_eq!(c.cell(row, h), &Data::Empty, "{id} {h}"),
                }
            }
            for (h, key) in [
                (cols.age, "age_years"),
                (cols.max_age, "max_age_years"),
                (cols.days_end_of_sale, "days_to_end_of_sale"),
                (cols.days_end_of_support, "days_to_end_of_support"),
            ] {
                match facts[key].as_f64() {
                    Some(n) => assert_eq!(num(c.cell(row, h)), n, "{id} {h}"),
                    None => assert_eq!(c.cell(row, h), &Data::Empty, "{id} {h}"),
                }
            }
        }
        let fw = c.row(cols.device, "fw-old");
        assert_eq!(date(c.cell(fw, cols.acquired)), years_before(t, 8));
        assert_eq!(num(c.cell(fw, cols.days_end_of_support)), -400.0);
        assert_eq!(num(c.cell(fw, cols.age)), 8.0);
        let m = Sheet::read(&mut wb, s.missing_data);
        assert_eq!(m.column(cols.device), MISSING.map(|m| m.0));
        let legacy = m.row(cols.device, "srv-legacy");
        assert_eq!(m.cell(legacy, cols.acquired), &Data::Empty);
        assert_eq!(date(m.cell(legacy, cols.end_of_support)), d(10));
        assert_eq!(m.cell(legacy, cols.candidate), &Data::String(yes.into()));
        let p = Sheet::read(&mut wb, s.policy);
        let switch = p
            .rows
            .iter()
            .find(|r| r.get(1) == Some(&Data::String("switch".into())))
            .expect("the switch age limit");
        assert_eq!(num(&switch[2]), 8.0);
        assert!(p.rows.iter().any(|r| num(&r[2]) == 365.0), "the support warning days");
    }
}

async fn ipv6_report(ctx: &Ctx) {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(e2e::repo_root().join("docs/schemas/ipv6.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::options().build(&schema).expect("a valid schema");
    let j = ctx.report(&["report", "ipv6", "--format", "json"], 0).await.json();
    assert!(validator.is_valid(&j), "{j}");
    assert_eq!(j["schema"], "vigia.ipv6/1");
    for (stage, passed, eligible) in STAGES {
        assert_tally(stage, &j["stages"][stage], passed, eligible);
    }
    let sites: Vec<&str> =
        j["sites"].as_array().unwrap().iter().map(|s| s["site"].as_str().unwrap()).collect();
    assert_eq!(sites, SITES.map(|s| s.0));
    for (site, tallies) in SITES {
        let s = j["sites"].as_array().unwrap().iter().find(|s| s["site"] == site).unwrap();
        for (stage, (p, e)) in STAGE_KEYS.iter().zip(tallies) {
            assert_tally(&format!("{site} {stage}"), &s["stages"][stage], p, e);
        }
    }
    let classes: Vec<&str> =
        j["classes"].as_array().unwrap().iter().map(|s| s["class"].as_str().unwrap()).collect();
    assert_eq!(classes, CLASSES.map(|c| c.0));
    for (class, tallies) in CLASSES {
        let c = j["classes"].as_array().unwrap().iter().find(|c| c["class"] == class).unwrap();
        for (stage, (p, e)) in STAGE_KEYS.iter().zip(tallies) {
            assert_tally(&format!("{class} {stage}"), &c["stages"][stage], p, e);
        }
    }
    assert_eq!(ids(&j["broken"]), ["sw-v6broken"]);
    assert_eq!(ids(&j["overdue"]), ["sw-v6late"]);
    let dev = |id: &str| {
        j["devices"].as_array().unwrap().iter().find(|d| d["device"] == id).unwrap().clone()
    };
    let broken = dev("sw-v6broken");
    assert_eq!(
        (broken["icmp4"].clone(), broken["icmp6"].clone(), broken["snmp6"].clone()),
        (json!(true), json!(false), json!(false))
    );
    assert_eq!(broken["icmp6_outcome"], "timeout");
    assert_eq!(dev("sw-v6late")["days_overdue"], 30);
    for id in ["fw-old", "srv-app", "sw-limit", "sw-renewed", "sw-fibra", "sw-radio"] {
        assert_eq!(dev(id)["stages"], json!(["configured", "icmp", "snmp", "dual_stack"]), "{id}");
    }
    assert_eq!(dev("ap-radio")["snmp_configured"], false);
    assert_eq!(j["devices"].as_array().unwrap().len(), 13);

    for lang in [Lang::Es, Lang::En] {
        let l = lang.code();
        let other =
            ctx.report(&["report", "ipv6", "--lang", l, "--format", "json"], 0).await.json();
        assert_eq!(without(other, &["as_of"]), without(j.clone(), &["as_of"]));
        let s = lang.strings();
        let stage_names = s.stages;
        let tally = |(p, e): (usize, usize)| {
            if e == 0 {
                "—".to_owned()
            } else {
                format!("{p}/{e} ({})", lang.percent(p as f64 / e as f64))
            }
        };
        let mut overall = Vec::new();
        for (i, (_, p, e)) in STAGES.iter().enumerate() {
            overall.push(format!(
                "{} {p} {e} {}",
                stage_names[i],
                lang.percent(*p as f64 / *e as f64)
            ));
        }
        // Site rows: name, medium, then the four tallies.
        let media = [
            ("sede-central", "Sede Central", lang.pick("sede principal", "main site")),
            ("mercado-fibra", "Mercado Fibra", lang.pick("fibra óptica", "fibre")),
            ("teatro-radio", "Teatro Radio", lang.pick("radioenlace", "radio link")),
            ("mercado-mejora", "Mercado Mejora", lang.pick("fibra óptica", "fibre")),
        ];
        let site_rows: Vec<Vec<String>> = SITES
            .iter()
            .map(|(id, t)| {
                let (_, name, medium) = media.iter().find(|m| m.0 == *id).unwrap();
                [name.to_string(), medium.to_string()]
                    .into_iter()
                    .chain(t.iter().map(|x| tally(*x)))
                    .collect()
            })
            .collect();
        let class_label = |c: &'static str| -> &'static str {
            match (c, lang) {
                ("firewall", Lang::Es) => "cortafuegos",
                ("server", Lang::Es) => "servidor",
                ("access_point", Lang::Es) => "punto de acceso",
                ("access_point", Lang::En) => "access point",
                (c, _) => c,
            }
        };
        let class_rows: Vec<Vec<String>> = CLASSES
            .iter()
            .map(|(c, t)| {
                std::iter::once(class_label(c).to_owned())
                    .chain(t.iter().map(|x| tally(*x)))
                    .collect()
            })
            .collect();
        let late = days_before(ctx.today, 30);

        // Text: what `vigia check ipv6` prints.
        let text = ctx.report(&["report", "ipv6", "--lang", l, "--format", "text"], 0).await.text();
        let mut needles: Vec<String> = overall.clone();
        needles.push(
            lang.pick(
                "Equipos monitoreados: 13; con SNMP configurado: 11.",
                "Monitored devices: 13; with SNMP configured: 11.",
            )
            .into(),
        );
        needles.extend(site_rows.iter().chain(&class_rows).map(|row| row.join(" ")));
        needles.push(
            lang.pick(
                "Atrasados respecto del plan (ipv6_planned vencido, sin ICMPv6): 1",
                "Overdue against the plan (ipv6_planned passed, no ICMPv6): 1",
            )
            .into(),
        );
        needles.push(format!("sw-v6late Sede Central switch {late} 30"));
        needles.push(
            lang.pick(
                "Configurados pero sin IPv6 mientras IPv4 responde: 1",
                "Configured but broken on IPv6 while IPv4 answers: 1",
            )
            .into(),
        );
        needles.push(format!("sw-v6broken Sede Central switch {} timeout", ctx.v6broken));
        let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        assert_has(&format!("ipv6 text ({l})"), &text, &needles);

        // Markdown: the same tallies as table rows.
        let md = ctx.report(&["report", "ipv6", "--lang", l, "--format", "md"], 0).await.text();
        let mut needles: Vec<String> = STAGES
            .iter()
            .enumerate()
            .map(|(i, (_, p, e))| {
                format!(
                    "| {} | {p} | {e} | {} |",
                    stage_names[i],
                    lang.percent(*p as f64 / *e as f64)
                )
            })
            .collect();
        needles.extend(
            site_rows.iter().chain(&class_rows).map(|row| format!("| {} |", row.join(" | "))),
        );
        needles.push(format!("| sw-v6late | Sede Central | switch | {late} | 30 |"));
        needles.push(format!("| sw-v6broken | Sede Central | switch | {} | timeout", ctx.v6broken));
        let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        assert_has(&format!("ipv6 md ({l})"), &md, &needles);
    }
}

async fn ipv6_check(ctx: &Ctx) {
    // 6 of 13 answer ICMPv6 (46.15 %): 46 % is met, 47 % is not.
    let j = ctx
        .report(
            &["check", "ipv6", "--stage", "icmp", "--min-coverage", "46%", "--format", "json"],
            0,
        )
        .await
        .json();
    let c = &j["check"];
    assert_eq!(
        (c["stage"].clone(), c["eligible"].clone(), c["passed"].clone(), c["pass"].clone()),
        (json!("icmp"), json!(13), json!(6), json!(true)),
        "{c}"
    );
    assert_eq!(c["min_percent"], 46.0);
    assert_tally("check", &j["stages"]["icmp"], 6, 13);
    for lang in [Lang::Es, Lang::En] {
        let l = lang.code();
        let text = ctx
            .report(&["check", "ipv6", "--stage", "icmp", "--min-coverage", "0.47", "--lang", l], 2)
            .await
            .text();
        let line = lang.pick(
            "Verificación: ICMPv6 ≥ 47 % (todos los equipos): 6 de 13 = 46.2 %: NO CUMPLE",
            "Check: ICMPv6 ≥ 47% (all devices): 6 of 13 = 46.2%: FAIL",
        );
        assert_has(&format!("check text ({l})"), &text, &[line]);
        // Exactly at the minimum passes: 5 of 8 switches have IPv6 configured, 62.5 %.
        let text = ctx
            .report(
                &[
                    "check",
                    "ipv6",
                    "--stage",
                    "configured",
                    "--class",
                    "switch",
                    "--min-coverage",
                    "62.5%",
                    "--lang",
                    l,
                ],
                0,
            )
            .await
            .text();
        let line = lang.pick(
            "Verificación: configurado ≥ 62.5 % (clase switch): 5 de 8 = 62.5 %: CUMPLE",
            "Check: configured ≥ 62.5% (class switch): 5 of 8 = 62.5%: PASS",
        );
        assert_has(&format!("check text ({l})"), &text, &[line]);
    }
    let j = ctx
        .report(
            &[
                "check",
                "ipv6",
                "--site",
                "mercado-fibra",
                "--min-coverage",
                "100%",
                "--format",
                "json",
            ],
            0,
        )
        .await
        .json();
    assert_eq!(
        (
            j["check"]["stage"].clone(),
            j["check"]["site"].clone(),
            j["check"]["passed"].clone(),
            j["check"]["eligible"].clone()
        ),
        (json!("dual_stack"), json!("mercado-fibra"), json!(1), json!(1))
    );
    // The default: every device dual stack.
    let j = ctx.report(&["check", "ipv6", "--format", "json"], 2).await.json();
    assert_eq!(
        (j["check"]["passed"].clone(), j["check"]["eligible"].clone(), j["check"]["pass"].clone()),
        (json!(6), json!(13), json!(false))
    );
    // Invalid input: an unknown site, a site that is never polled, a minimum over 100 %.
    let r = ctx.report(&["check", "ipv6", "--site", "no-such-site"], 64).await;
    assert!(r.stderr.contains("no-such-site"), "{}", r.stderr);
    let r = ctx.report(&["check", "ipv6", "--site", "camal"], 64).await;
    assert!(r.stderr.contains("camal"), "{}", r.stderr);
    ctx.report(&["check", "ipv6", "--min-coverage", "150%"], 64).await;
    // --probe polls the lab now instead of reading the history: the same figures.
    let j = ctx
        .report(
            &[
                "check",
                "ipv6",
                "--probe",
                "--stage",
                "icmp",
                "--min-coverage",
                "46%",
                "--format",
                "json",
            ],
            0,
        )
        .await
        .json();
    assert_eq!(
        (j["check"]["passed"].clone(), j["check"]["eligible"].clone()),
        (json!(6), json!(13))
    );
    for (stage, passed, eligible) in STAGES {
        assert_tally(&format!("--probe {stage}"), &j["stages"][stage], passed, eligible);
    }
    assert_eq!(ids(&j["broken"]), ["sw-v6broken"]);
    let text = ctx
        .report(&["check", "ipv6", "--probe", "--min-coverage", "50%", "--lang", "es"], 2)
        .await
        .text();
    assert_has(
        "check --probe text",
        &text,
        &["Verificación: doble pila ≥ 50 % (todos los equipos): 6 de 13 = 46.2 %: NO CUMPLE"],
    );
}

async fn links(ctx: &Ctx) {
    let j = ctx.report(&["report", "links", "--format", "json"], 0).await.json();
    assert_eq!(j["schema"], "vigia.links/1");
    assert_eq!(j["counts"], json!({ "main": 1, "fibre": 2, "radio": 1, "none": 1, "branches": 4 }));
    assert_eq!((j["fibre_ratio"].clone(), j["connected_ratio"].clone()), (json!(0.5), json!(0.75)));
    let declared = j["declared"].as_array().unwrap();
    assert_eq!(declared.len(), 2);
    assert_eq!(
        (declared[0]["source"].clone(), declared[0]["agrees"].clone()),
        (json!("Tabla de prueba"), json!(true))
    );
    assert_eq!(
        (declared[1]["source"].clone(), declared[1]["agrees"].clone()),
        (json!("Texto de prueba"), json!(false))
    );
    let site =
        |id: &str| j["sites"].as_array().unwrap().iter().find(|s| s["site"] == id).unwrap().clone();
    for (id, uplinks) in [
        ("mercado-fibra", vec!["sw-fibra"]),
        ("teatro-radio", vec!["sw-radio"]),
        ("mercado-mejora", vec!["sw-mejora"]),
        ("camal", vec![]),
    ] {
        assert_eq!(ids(&site(id)["uplinks"]), uplinks, "{id}");
    }
    assert!(
        site("camal")["ipv4"].is_null() && site("camal")["health"].as_array().unwrap().is_empty()
    );
    assert_eq!(site("camal")["planned_link"], "fibre");
    // Link health, in the ranges the lab's links give: fibre about 1 ms each way and no loss;
    // radio 15 ± 5 ms each way (20 ms at least round trip) and about 1 % loss per echo.
    for family in ["ipv4", "ipv6"] {
        let fibre = &site("mercado-fibra")[family];
        let radio = &site("teatro-radio")[family];
        for (what, h) in [("fibre", fibre), ("radio", radio)] {
            assert!(h["polls"].as_u64().unwrap() >= 4, "{what} {family}: several polls: {h}");
            assert!(h["availability"].as_f64().unwrap() >= 0.9, "{what} {family}: {h}");
        }
        assert_eq!(fibre["availability"], 1.0, "{family}: {fibre}");
        let (f_rtt, r_rtt) =
            (fibre["rtt_mean_s"].as_f64().unwrap(), radio["rtt_mean_s"].as_f64().unwrap());
        assert!(f_rtt > 0.0 && f_rtt < 0.015, "fibre {family} RTT {f_rtt}");
        assert!((0.015..0.1).contains(&r_rtt), "radio {family} RTT {r_rtt}");
        assert!(r_rtt > f_rtt + 0.01, "radio {r_rtt} s is slower than fibre {f_rtt} s");
        assert!(fibre["loss_ratio"].as_f64().unwrap() < 0.05, "{fibre}");
        assert!(radio["loss_ratio"].as_f64().unwrap() < 0.2, "{radio}");
    }
    assert!(site("mercado-mejora")["ipv6"].is_null(), "sw-mejora has no IPv6");

    for lang in [Lang::Es, Lang::En] {
        let l = lang.code();
        let other =
            ctx.report(&["report", "links", "--lang", l, "--format", "json"], 0).await.json();
        assert_eq!(
            without(other.clone(), &["as_of", "window", "sites"]),
            without(j.clone(), &["as_of", "window", "sites"])
        );
        let md = ctx.report(&["report", "links", "--lang", l, "--format", "md"], 0).await.text();
        let mut needles = vec![
            lang.pick("| fibra óptica | 2 |", "| fibre | 2 |").to_owned(),
            lang.pick("| radioenlace | 1 |", "| radio link | 1 |").to_owned(),
            lang.pick("| sin enlace | 1 |", "| no link | 1 |").to_owned(),
            lang.pick(
                "Cobertura de fibra: 2 de 4 sedes (50.0 %).",
                "Fibre coverage: 2 of 4 sites (50.0%).",
            )
            .to_owned(),
            lang.pick(
                "Sedes conectadas (fibra o radio): 3 de 4 (75.0 %).",
                "Connected sites (fibre or radio): 3 of 4 (75.0%).",
            )
            .to_owned(),
            lang.pick(
                "| Texto de prueba | fibra óptica | 1 | 2 | no |",
                "| Texto de prueba | fibre | 1 | 2 | no |",
            )
            .to_owned(),
            lang.pick(
                "| Tabla de prueba | radioenlace | 1 | 1 | sí |",
                "| Tabla de prueba | radio link | 1 | 1 | yes |",
            )
            .to_owned(),
            format!(
                "| Camal | {} | {}-12-31 |",
                lang.pick("fibra óptica", "fibre"),
                ctx.today.year() + 1
            ),
        ];
        // Each connected site's health row carries the JSON's figures (this run's history).
        let other_site = |id: &str| {
            other["sites"].as_array().unwrap().iter().find(|s| s["site"] == id).unwrap().clone()
        };
        for (id, name, medium, provider, uplink) in [
            (
                "mercado-fibra",
                "Mercado Fibra",
                lang.pick("fibra óptica", "fibre"),
                "Optical Network",
                "sw-fibra",
            ),
            (
                "teatro-radio",
                "Teatro Radio",
                lang.pick("radioenlace", "radio link"),
                "",
                "sw-radio",
            ),
        ] {
            let s = other_site(id);
            let mut row = format!("| {name} | {medium} | {provider} | {uplink} |");
            for family in ["ipv4", "ipv6"] {
                let h = &s[family];
                // A lab run of minutes is far from the 30 days' polls: the figure is withheld,
                // the polls behind it printed.
                assert_eq!(h["sufficient"], false, "{h}");
                let polls = h["polls"].as_u64().unwrap();
                let expected = h["expected_polls"].as_u64().unwrap();
                assert!(polls > 0 && polls * 10 < expected * 9, "{h}");
                row.push_str(&format!(
                    " {} | {polls} {} {expected} | {:.1} ms | {} |",
                    lang.pick("datos insuficientes", "insufficient data"),
                    lang.pick("de", "of"),
                    h["rtt_mean_s"].as_f64().unwrap() * 1000.0,
                    lang.percent(h["loss_ratio"].as_f64().unwrap())
                ));
            }
            needles.push(row);
        }
        let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        assert_has(&format!("links md ({l})"), &md, &needles);
    }
}

async fn indicators(ctx: &Ctx) {
    let year = ctx.today.year();
    let y = year.to_string();
    let jan1 = new_year(ctx.today).to_string();
    let j = ctx.report(&["report", "indicators", "--year", &y, "--format", "json"], 0).await.json();
    assert_eq!(j["schema"], "vigia.indicators/1");
    assert_eq!(j["period"]["from"], json!(jan1));
    assert_eq!(j["period"]["to"], json!(ctx.today.to_string()));
    let f = &j["ae703"]["ficha"];
    assert_eq!(
        (f["value"].clone(), f["target"].clone(), f["progress_percent"].clone()),
        (json!(1), json!(2.0), json!(50.0)),
        "{f}"
    );
    assert_eq!(f["counted"], json!(["fibra-fase-1"]));
    let counted: Vec<(&str, bool)> = j["ae703"]["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["counted"].as_bool().unwrap()))
        .collect();
    assert_eq!(counted, [("fibra-fase-1", true), ("fibra-piloto", false), ("data-center", false)]);
    let c = &j["ae703"]["components"];
    assert_eq!(
        ids(&c["devices_evaluated"]),
        [
            "fw-old",
            "srv-app",
            "sw-limit",
            "sw-nodates",
            "srv-legacy",
            "rt-core",
            "sw-v6broken",
            "sw-v6late",
            "sw-renewed",
            "sw-fibra",
            "sw-radio",
            "ap-radio",
            "sw-mejora"
        ]
    );
    assert_eq!(
        ids(&c["sites_evaluated"]),
        ["mercado-fibra", "teatro-radio", "mercado-mejora", "camal"]
    );
    assert_eq!(ids(&c["devices_improved"]), ["sw-renewed"]);
    assert_eq!(
        c["sites_improved"],
        json!([{ "site": "mercado-mejora", "name": "Mercado Mejora", "from": "radio", "to": "fibre" }])
    );
    assert_eq!(c["baseline"]["kind"], "first_in_period", "the first agent run's snapshot");
    assert_eq!((c["evaluated"].clone(), c["improved"].clone()), (json!(17), json!(2)));
    assert!((c["percent"].as_f64().unwrap() - 200.0 / 17.0).abs() < 1e-9, "{c}");
    let f = &j["ae704"]["ficha"];
    assert_eq!(
        (f["value"].clone(), f["target"].clone(), f["progress_percent"].clone()),
        (json!(1), json!(1.0), json!(100.0)),
        "{f}"
    );
    assert_eq!(
        j["ae704"]["renewed"],
        json!([{ "device": "sw-renewed", "site": "sede-central", "class": "switch", "renewed": jan1, "replaces": "sw-retired" }])
    );

    for lang in [Lang::Es, Lang::En] {
        let l = lang.code();
        let other = ctx
            .report(&["report", "indicators", "--year", &y, "--lang", l, "--format", "json"], 0)
            .await
            .json();
        assert_eq!(without(other, &["ae703"])["ae704"], j["ae704"]);
        let md = ctx
            .report(&["report", "indicators", "--year", &y, "--lang", l, "--format", "md"], 0)
            .await
            .text();
        let needles = [
            format!("| {} {y} | 2 |", lang.pick("Meta", "Target")),
            format!("| {} {y} | 1 |", lang.pick("Meta", "Target")),
            lang.pick(
                "| Valor | 1 proyecto(s) implementado(s) |",
                "| Value | 1 project(s) implemented |",
            )
            .to_owned(),
            lang.pick("| Valor | 1 equipo(s) renovado(s) |", "| Value | 1 device(s) renewed |")
                .to_owned(),
            lang.pick("| Avance | 50.0 % de la meta |", "| Progress | 50.0% of target |")
                .to_owned(),
            lang.pick("| Avance | 100.0 % de la meta |", "| Progress | 100.0% of target |")
                .to_owned(),
            lang.pick(
                "2 de 17 componentes actualizados o mejorados = 11.8 %",
                "2 of 17 components updated or improved = 11.8%",
            )
            .to_owned(),
            lang.pick(
                "mercado-mejora: radioenlace → fibra óptica",
                "mercado-mejora: radio link → fibre",
            )
            .to_owned(),
            format!("| sw-renewed | sede-central | switch | {jan1} | sw-retired |"),
            format!(
                "| fibra-fase-1 | Interconexión con fibra óptica, fase 1 | {} | {jan1} | 500000 | 1 | {} |",
                lang.pick("implementado", "implemented"),
                lang.pick("sí", "yes")
            ),
        ];
        let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        assert_has(&format!("indicators md ({l})"), &md, &needles);

        // The workbook: one sheet per ficha (typed values) and the detail.
        let s = lang.strings();
        let cols = lang.cols();
        let mut wb = ctx.workbook("indicators", lang, &["--year", &y]).await;
        assert_eq!(wb.sheet_names(), ["AE.7.03", "AE.7.04", s.detail]);
        let value = |sheet: &Sheet, label: &str| -> Data {
            sheet.cell(sheet.row(cols.field, label), cols.value).clone()
        };
        let target = vigia::report::i18n::fill(s.f_target, &[("year", &year)]);
        let a = Sheet::read(&mut wb, "AE.7.03");
        assert_eq!(num(&value(&a, &target)), 2.0);
        assert_eq!(num(&value(&a, s.f_value)), 1.0);
        assert_eq!(num(&value(&a, s.f_progress)), 0.5, "progress is a percentage cell (a ratio)");
        assert!((num(&value(&a, s.f_formula_result)) - 2.0 / 17.0).abs() < 1e-12);
        assert_eq!(value(&a, s.f_counted), Data::String("fibra-fase-1".into()));
        let b = Sheet::read(&mut wb, "AE.7.04");
        assert_eq!(num(&value(&b, &target)), 1.0);
        assert_eq!(num(&value(&b, s.f_value)), 1.0);
        assert_eq!(num(&value(&b, s.f_progress)), 1.0);
        let d = Sheet::read(&mut wb, s.detail);
        let [k_project, k_dev_eval, k_site_eval, k_dev_impr, k_site_impr, k_renewed, k_detected] =
            s.kinds;
        let count = |kind: &str| {
            d.rows.iter().filter(|r| d.cell(r, cols.kind) == &Data::String(kind.into())).count()
        };
        assert_eq!(
            [
                count(k_project),
                count(k_dev_eval),
                count(k_site_eval),
                count(k_dev_impr),
                count(k_site_impr),
                count(k_renewed),
                count(k_detected)
            ],
            [4, 13, 4, 1, 1, 1, 0]
        );
        let renewed = d
            .rows
            .iter()
            .find(|r| d.cell(r, cols.kind) == &Data::String(k_renewed.into()))
            .unwrap();
        assert_eq!(d.cell(renewed, cols.id), &Data::String("sw-renewed".into()));
        assert_eq!(date(d.cell(renewed, cols.date)), new_year(ctx.today));
        let fase1 = d.row(cols.id, "fibra-fase-1");
        assert_eq!(date(d.cell(fase1, cols.date)), new_year(ctx.today));
        assert_eq!(d.cell(fase1, cols.counts), &Data::String(lang.pick("sí", "yes").into()));
    }
}

// ---------------------------------------------------------------------------------------------
// The shipped Tacna inventory with an empty history: the plan's baseline, honestly.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tacna_with_an_empty_history_is_reported_honestly() {
    let tmp = tempfile::Builder::new().prefix("vigia-e2e-tacna-").tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("empty.db").display());
    let tacna = e2e::repo_root().join("inventory/tacna");
    let inv = tacna.to_str().unwrap();
    // Lab-only secret values, as scripts/run sets them: the reports load the inventory with
    // its secrets but never poll (nothing is sent to the Tacna addresses here).
    let env = [("VIGIA_SNMP_AUTH", "lab-only-auth"), ("VIGIA_SNMP_PRIV", "lab-only-priv")];
    let run = |args: Vec<&'static str>, code: i32| {
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        all.extend(["--inventory".into(), inv.to_owned(), "--db".into(), db.clone()]);
        async move {
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            vigia(&all, &env, RUN).await.expect_code(code)
        }
    };

    // IPv6 coverage: 0 % at every stage, 45 devices in scope.
    let j = run(vec!["report", "ipv6", "--format", "json"], 0).await.json();
    for stage in STAGE_KEYS {
        assert_tally(stage, &j["stages"][stage], 0, 45);
    }
    assert!(ids(&j["broken"]).is_empty());
    for (lang, line) in [("es", "configurado 0 45 0.0 %"), ("en", "configured 0 45 0.0%")] {
        let text = run(vec!["report", "ipv6", "--format", "text", "--lang", lang], 0).await.text();
        assert_has("Tacna ipv6 text", &text, &[line]);
    }
    let text =
        run(vec!["check", "ipv6", "--stage", "configured", "--min-coverage", "1%"], 2).await.text();
    assert_has(
        "Tacna check",
        &text,
        &["Verificación: configurado ≥ 1 % (todos los equipos): 0 de 45 = 0.0 %: NO CUMPLE"],
    );

    // Renewal: nothing proves a reason; every device is listed with its three dates missing.
    let j =
        run(vec!["report", "renewal", "--format", "json", "--as-of", "2026-11-22"], 0).await.json();
    assert_eq!(j["evaluated"], 45);
    assert!(j["candidates"].as_array().unwrap().is_empty(), "{}", j["candidates"]);
    let missing = j["missing_data"].as_array().unwrap();
    assert_eq!(missing.len(), 45);
    assert!(
        missing
            .iter()
            .all(|m| m["missing"].as_array().unwrap().len() == 3 && m["candidate"] == false)
    );
    let md =
        run(vec!["report", "renewal", "--format", "md", "--as-of", "2026-11-22"], 0).await.text();
    assert_has(
        "Tacna renewal md",
        &md,
        &[
            "Equipos en servicio evaluados: 45. Candidatos: 0 (alta 0, media 0, baja 0). Con fechas desconocidas: 45.",
            "Ningún equipo es candidato con los datos disponibles.",
        ],
    );
    let csv =
        run(vec!["report", "renewal", "--format", "csv", "--as-of", "2026-11-22"], 0).await.text();
    let records = csv_records(&csv);
    assert_eq!(records.len(), 46, "a header and 45 devices");
    assert!(records[1..].iter().all(|r| r[0] == "no"));

    // Indicators: 0 of each target for 2026.
    let j = run(
        vec!["report", "indicators", "--year", "2026", "--as-of", "2026-12-31", "--format", "json"],
        0,
    )
    .await
    .json();
    let f = &j["ae703"]["ficha"];
    assert_eq!(
        (f["value"].clone(), f["target"].clone(), f["progress_percent"].clone()),
        (json!(0), json!(6.0), json!(0.0))
    );
    assert_eq!(j["ae703"]["components"]["improved"], 0);
    assert_eq!(j["ae703"]["components"]["evaluated"], 76);
    assert_eq!(
        j["ae703"]["components"]["baseline"]["kind"], "none",
        "no snapshot: no upgrade can be proven"
    );
    let f = &j["ae704"]["ficha"];
    assert_eq!(
        (f["value"].clone(), f["target"].clone(), f["progress_percent"].clone()),
        (json!(0), json!(1.0), json!(0.0))
    );
    let md = run(
        vec![
            "report",
            "indicators",
            "--year",
            "2026",
            "--as-of",
            "2026-12-31",
            "--format",
            "md",
            "--lang",
            "en",
        ],
        0,
    )
    .await
    .text();
    assert_has(
        "Tacna indicators md",
        &md,
        &[
            "| Target 2026 | 6 |",
            "| Value | 0 project(s) implemented |",
            "| Progress | 0.0% of target |",
            "0 of 76 components updated or improved = 0.0%",
        ],
    );

    // Links: the two counts of the plan, both shown; no health without history.
    let j = run(vec!["report", "links", "--format", "json"], 0).await.json();
    assert_eq!(
        j["counts"],
        json!({ "main": 1, "fibre": 17, "radio": 3, "none": 11, "branches": 31 })
    );
    assert!(
        j["sites"].as_array().unwrap().iter().all(|s| s["ipv4"].is_null() && s["ipv6"].is_null())
    );
    // The contracts the plan states (inventory/tacna/contracts.yaml): two shared pools, 80 Mbps
    // central for the radio branches and 60 Mbps of interconnection for the fibre ones; the plan
    // names no interface, so neither can be measured, and the report says so.
    let pools: Vec<(String, u64, usize, String)> = j["contracts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["kind"], "pool", "{c}");
            (
                c["id"].as_str().unwrap().to_owned(),
                c["bandwidth"]["down_mbps"].as_u64().unwrap(),
                c["sites"].as_array().unwrap().len(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        pools,
        [
            ("internet-sede-principal".into(), 80, 3, "not_declared".into()),
            ("interconexion-optical-network".into(), 60, 17, "not_declared".into()),
        ]
    );
    let md = run(vec!["report", "links"], 0).await.text();
    assert_eq!(md.matches("no se puede medir: interfaz no declarada").count(), 2, "{md}");
}
