//! The reports, end to end: the shipped Tacna inventory with an empty history (the plan's
//! baseline), a small fixed scenario whose figures are computed by hand and whose outputs are
//! snapshotted (`tests/resources/reports/small/expected/`), and the workbooks read back with
//! calamine.
//!
//! With `VIGIA_BLESS=1` the snapshots are rewritten from the current output, to be read and
//! committed by a person.

use std::io::{Cursor, Read};
use std::path::Path;
use std::sync::{Arc, RwLock};

use calamine::{Data, DataType, Reader, Xlsx};
use chrono::NaiveDate;
use vigia::history::{AsOf, History};
use vigia::inventory::{self, DeviceClass, Inventory, Secrets};
use vigia::ipv6::{Stage, Threshold};
use vigia::lifecycle::{Priority, Reason};
use vigia::report::{
    self, CheckFormat, IndicatorsFormat, InventoryFormat, Ipv6Format, Lang, LinksFormat,
    RenewalFormat,
};

const SMALL: &str = "tests/resources/reports/small";

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn load(dir: &str) -> Inventory {
    match inventory::load(Path::new(dir), Secrets::Warn) {
        Ok((inv, _warnings)) => inv,
        Err(e) => panic!("{e}: {:#?}", e.diagnostics),
    }
}

fn small() -> (Inventory, History) {
    let inv = load(&format!("{SMALL}/inventory"));
    let text = std::fs::read_to_string(format!("{SMALL}/history.json")).unwrap();
    let history: History = serde_json::from_str(&text).expect("history.json reads");
    (inv, history)
}

/// `/metrics` of an agent whose plan's figures are those of `inv` and `history` as of `as_of`:
/// the metrics and the reports tell the same figures.
fn plan_metrics(inv: &Inventory, history: &History, as_of: AsOf) -> String {
    let mut shared = vigia::agent::Shared::new(Arc::new(inv.clone()), vigia::agent::Clock::Wall);
    shared.plan = Some(Arc::new(vigia::agent::Plan::compute(inv, history, as_of)));
    vigia::metrics::render(&Arc::new(RwLock::new(shared)), vigia::metrics::Format::Classic)
}

fn small_as_of() -> AsOf {
    AsOf::end_of_day(day("2026-06-30"))
}

fn tacna() -> Inventory {
    load("inventory/tacna")
}

// ---------------------------------------------------------------------------------------------
// The shipped Tacna inventory with an empty history: the plan's baseline.

#[test]
fn tacna_with_no_history_has_zero_ipv6_coverage() {
    let inv = tacna();
    let c = vigia::ipv6::coverage(&inv, &History::default(), AsOf::end_of_day(day("2026-11-22")));
    assert_eq!(c.devices.len(), 45);
    for stage in Stage::ALL {
        let t = c.stages.get(*stage);
        assert_eq!(t.passed, 0, "{stage}");
        assert_eq!(t.ratio(), Some(0.0), "{stage}: the plan's baseline is 0 %");
    }
    assert_eq!(c.stages.configured.eligible, 45);
    // Every device has the mpt-v3 SNMP profile.
    assert_eq!(c.stages.snmp.eligible, 45);
    assert_eq!(c.overdue().count(), 0, "the plan's date, 2026-12-31, has not passed");
    assert_eq!(c.broken().count(), 0);

    // A day after the plan's date every device is overdue.
    let after =
        vigia::ipv6::coverage(&inv, &History::default(), AsOf::end_of_day(day("2027-01-01")));
    assert_eq!(after.overdue().count(), 45);

    let text = String::from_utf8(
        report::ipv6(
            &inv,
            &History::default(),
            AsOf::end_of_day(day("2026-11-22")),
            Lang::Es,
            Ipv6Format::Text,
        )
        .unwrap(),
    )
    .unwrap();
    assert!(text.contains("configurado      0        45  0.0 %"), "{text}");
}

#[test]
fn tacna_with_no_history_lists_every_device_as_missing_data_and_no_candidate() {
    let inv = tacna();
    let r =
        vigia::lifecycle::analyse(&inv, &History::default(), AsOf::end_of_day(day("2026-11-22")));
    assert_eq!(r.evaluated, 45);
    assert!(r.candidates.is_empty(), "nothing proves a reason: no dates, no history");
    assert_eq!(r.missing_data.len(), 45);
    assert!(r.missing_data.iter().all(|m| m.facts.missing.len() == 3 && !m.candidate));

    let md = String::from_utf8(
        report::renewal(
            &inv,
            &History::default(),
            AsOf::end_of_day(day("2026-11-22")),
            Lang::Es,
            RenewalFormat::Md,
        )
        .unwrap(),
    )
    .unwrap();
    assert!(md.contains("## Datos faltantes"));
    assert!(md.contains("Ningún equipo es candidato con los datos disponibles."));
    assert!(md.contains(
        "| fw-fortigate-500e | Palacio Municipal (sede principal) | cortafuegos | Fortinet | FortiGate 500E | fecha de adquisición; fin de venta; fin de soporte | no |"
    ));
}

#[test]
fn tacna_indicators_start_at_zero_of_their_targets() {
    let inv = tacna();
    let r = vigia::indicators::compute(&inv, &History::default(), 2026, day("2026-12-31")).unwrap();
    let f = &r.ae703.ficha;
    assert_eq!((f.value, f.target, f.progress_percent), (0, Some(6.0), Some(0.0)));
    assert_eq!(r.ae703.projects.len(), 6);
    // 45 devices and 31 branch site links evaluated, nothing improved.
    assert_eq!((r.ae703.components.improved, r.ae703.components.evaluated), (0, 76));
    let f = &r.ae704.ficha;
    assert_eq!((f.value, f.target, f.progress_percent), (0, Some(1.0), Some(0.0)));
    assert!(f.target_note.as_deref().unwrap().contains("1 proyecto: IPv6"));
    assert_eq!(r.ae704.projects[0].id, "ipv6-mpt");

    let md = String::from_utf8(
        report::indicators(
            &inv,
            &History::default(),
            2026,
            day("2026-12-31"),
            Lang::Es,
            IndicatorsFormat::Md,
        )
        .unwrap(),
    )
    .unwrap();
    assert!(md.contains("| Meta 2026 | 1 |"), "{md}");
    assert!(md.contains("| Valor | 0 equipo(s) renovado(s) |"));
    assert!(md.contains(
        "| Nota sobre la meta | El plan fija la meta 2026 como 100 % (1 proyecto: IPv6)"
    ));
    assert!(md.contains("0 de 76 componentes actualizados o mejorados = 0.0 %"));

    // No target for 2027: said so, no progress figure.
    let md = String::from_utf8(
        report::indicators(
            &inv,
            &History::default(),
            2027,
            day("2027-12-31"),
            Lang::Es,
            IndicatorsFormat::Md,
        )
        .unwrap(),
    )
    .unwrap();
    assert!(md.contains("| Meta 2027 | sin meta registrada para 2027 |"), "{md}");
    assert!(md.contains("| Avance | sin meta: no se calcula avance |"));
}

#[test]
fn tacna_links_show_both_counts_of_the_plan() {
    let inv = tacna();
    let l = vigia::links::links(&inv, &History::default(), AsOf::end_of_day(day("2026-11-22")));
    assert_eq!((l.counts.fibre, l.counts.radio, l.counts.none, l.counts.branches), (17, 3, 11, 31));
    assert!(l.declared[0].agrees, "Table 7 agrees with the inventory");
    assert!(!l.declared[1].agrees, "the prose does not");
    let md = String::from_utf8(
        report::links(
            &inv,
            &History::default(),
            AsOf::end_of_day(day("2026-11-22")),
            Lang::Es,
            LinksFormat::Md,
        )
        .unwrap(),
    )
    .unwrap();
    assert!(md.contains("Cobertura de fibra: 17 de 31 sedes (54.8 %)."), "{md}");
    assert!(md.contains(
        "| PGD 2026-2028, texto sobre la interconexión de sedes | fibra óptica | 5 | 17 | no |"
    ));
    assert!(md.contains("## Sedes sin enlace (11)"));
    let text = plan_metrics(&inv, &History::default(), AsOf::end_of_day(day("2026-11-22")));
    for (link, n) in [("main", 1), ("fibre", 17), ("radio", 3), ("none", 11)] {
        assert!(
            text.contains(&format!("vigia_sites{{link=\"{link}\"}} {n}.0\n")),
            "{link}: {text}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The small scenario: figures by hand (see its README).

#[test]
fn small_scenario_renewal_by_hand() {
    let (inv, h) = small();
    let r = vigia::lifecycle::analyse(&inv, &h, small_as_of());
    assert_eq!(r.evaluated, 6, "sw-central-old retired on 2026-02-01");
    let got: Vec<(&str, u32, Priority, Vec<Reason>)> = r
        .candidates
        .iter()
        .map(|c| {
            (
                c.facts.device.as_str(),
                c.score,
                c.priority,
                c.findings.iter().map(|f| f.reason).collect(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            // too old 30 + 5 (6 years, one over), support ending 25, 3 unexplained restarts 30.
            (
                "srv-app",
                90,
                Priority::High,
                vec![Reason::SupportEnding, Reason::TooOld, Reason::Unreliable]
            ),
            // support ended 60 days ago 40; too old 30 + 2×5 (7 years, two over).
            ("fw-central", 80, Priority::High, vec![Reason::SupportEnded, Reason::TooOld]),
            // 989 of 1000.
            ("sw-norte", 30, Priority::Medium, vec![Reason::Unreliable]),
            // planned 2026-03-31, no address, 91 days.
            ("radio-teatro", 15, Priority::Low, vec![Reason::Ipv6Overdue]),
        ]
    );
    let missing: Vec<&str> = r.missing_data.iter().map(|m| m.facts.device.as_str()).collect();
    assert_eq!(missing, ["sw-norte", "radio-teatro", "ap-teatro"]);
    let text = plan_metrics(&inv, &h, small_as_of());
    let series: Vec<&str> =
        text.lines().filter(|l| l.starts_with("vigia_device_renewal_candidate{")).collect();
    assert_eq!(series.len(), 7, "{text}");
    assert!(series.contains(
        &r#"vigia_device_renewal_candidate{device="fw-central",site="sede-central",class="firewall",reason="support_ended"} 1.0"#
    ));
}

#[test]
fn small_scenario_ipv6_links_and_indicators_by_hand() {
    let (inv, h) = small();
    let c = vigia::ipv6::coverage(&inv, &h, small_as_of());
    let t = |s: Stage| (c.stages.get(s).passed, c.stages.get(s).eligible);
    assert_eq!(t(Stage::Configured), (4, 6));
    assert_eq!(t(Stage::Icmp), (3, 6));
    assert_eq!(t(Stage::Snmp), (2, 5), "ap-teatro is ICMP only");
    assert_eq!(t(Stage::DualStack), (3, 6));
    assert_eq!(c.broken().map(|d| d.device.as_str()).collect::<Vec<_>>(), ["sw-norte"]);
    assert_eq!(
        c.overdue().map(|d| (d.device.as_str(), d.days_overdue)).collect::<Vec<_>>(),
        [("radio-teatro", Some(91))]
    );

    let l = vigia::links::links(&inv, &h, small_as_of());
    let teatro = l.sites.iter().find(|s| s.site == "teatro").unwrap().ipv4.clone().unwrap();
    assert_eq!((teatro.polls, teatro.successes), (86_400, 84_672));
    assert!((teatro.availability.unwrap() - 0.98).abs() < 1e-12);
    assert!((teatro.rtt_mean_s.unwrap() - 0.0352).abs() < 1e-9);

    let r = vigia::indicators::compute(&inv, &h, 2026, day("2026-06-30")).unwrap();
    assert_eq!(r.ae703.ficha.counted, ["fibra"]);
    assert_eq!(r.ae703.ficha.progress_percent, Some(50.0));
    let comp = &r.ae703.components;
    assert_eq!((comp.improved, comp.evaluated), (2, 9));
    assert_eq!(comp.sites_improved[0].site, "teatro");
    assert_eq!(r.ae704.ficha.counted, ["sw-central"]);
    assert_eq!(r.ae704.ficha.progress_percent, Some(100.0));
    let text = plan_metrics(&inv, &h, small_as_of());
    assert!(text.contains("vigia_indicator_value{indicator=\"AE.7.03\",year=\"2026\"} 1.0\n"));
    assert!(text.contains("vigia_indicator_target{indicator=\"AE.7.03\",year=\"2026\"} 2.0\n"));
}

#[test]
fn check_ipv6_passes_at_the_threshold_and_fails_above() {
    let (inv, h) = small();
    let threshold =
        |min: f64| Threshold { stage: Stage::Icmp, min_percent: min, site: None, class: None };
    let pass =
        report::check_ipv6(&inv, &h, small_as_of(), &threshold(50.0), Lang::Es, CheckFormat::Text)
            .unwrap();
    assert!(pass.pass);
    let text = String::from_utf8(pass.output).unwrap();
    assert!(
        text.contains("Verificación: ICMPv6 ≥ 50 % (todos los equipos): 3 de 6 = 50.0 %: CUMPLE"),
        "{text}"
    );
    let fail =
        report::check_ipv6(&inv, &h, small_as_of(), &threshold(50.5), Lang::En, CheckFormat::Json)
            .unwrap();
    assert!(!fail.pass);
    let doc: serde_json::Value = serde_json::from_slice(&fail.output).unwrap();
    assert_eq!(doc["check"]["pass"], false);
    assert_eq!(doc["check"]["eligible"], 6);
    let bad = Threshold { site: Some("camal".into()), ..threshold(10.0) };
    let err =
        report::check_ipv6(&inv, &h, small_as_of(), &bad, Lang::Es, CheckFormat::Text).unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
    let teatro_radios = Threshold {
        stage: Stage::Configured,
        min_percent: 1.0,
        site: Some("teatro".into()),
        class: Some(DeviceClass::Radio),
    };
    let r =
        report::check_ipv6(&inv, &h, small_as_of(), &teatro_radios, Lang::Es, CheckFormat::Json)
            .unwrap();
    assert!(!r.pass, "radio-teatro has no IPv6 address");
}

/// The `check ipv6` JSON conforms to the schema published in docs/.
#[test]
fn ipv6_json_conforms_to_its_published_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("docs/schemas/ipv6.schema.json").unwrap())
            .unwrap();
    let validator = jsonschema::options().build(&schema).expect("a valid schema");
    let (inv, h) = small();
    let th = Threshold {
        stage: Stage::Snmp,
        min_percent: 40.0,
        site: Some("sede-central".into()),
        class: None,
    };
    let with_check = report::check_ipv6(&inv, &h, small_as_of(), &th, Lang::Es, CheckFormat::Json)
        .unwrap()
        .output;
    let without = report::ipv6(&inv, &h, small_as_of(), Lang::Es, Ipv6Format::Json).unwrap();
    let empty =
        report::ipv6(&tacna(), &History::default(), small_as_of(), Lang::Es, Ipv6Format::Json)
            .unwrap();
    for doc in [with_check, without, empty] {
        let doc: serde_json::Value = serde_json::from_slice(&doc).unwrap();
        let errors: Vec<String> =
            validator.iter_errors(&doc).map(|e| format!("{e} at {}", e.instance_path)).collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
    // The schema is strict enough to refuse a renamed field.
    let mut doc: serde_json::Value = serde_json::from_slice(
        &report::ipv6(&inv, &h, small_as_of(), Lang::Es, Ipv6Format::Json).unwrap(),
    )
    .unwrap();
    doc["stages"]["icmp"].as_object_mut().unwrap().remove("passed");
    assert!(!validator.is_valid(&doc));
}

// ---------------------------------------------------------------------------------------------
// Snapshots of the small scenario.

#[test]
fn small_scenario_outputs_match_their_snapshots() {
    let (inv, h) = small();
    let a = small_as_of();
    let check = Threshold { stage: Stage::Icmp, min_percent: 80.0, site: None, class: None };
    let outputs: Vec<(&str, Vec<u8>)> = vec![
        ("renewal.es.md", report::renewal(&inv, &h, a, Lang::Es, RenewalFormat::Md).unwrap()),
        ("renewal.en.md", report::renewal(&inv, &h, a, Lang::En, RenewalFormat::Md).unwrap()),
        ("renewal.es.csv", report::renewal(&inv, &h, a, Lang::Es, RenewalFormat::Csv).unwrap()),
        ("renewal.json", report::renewal(&inv, &h, a, Lang::Es, RenewalFormat::Json).unwrap()),
        ("inventory.es.md", report::inventory(&inv, &h, a, Lang::Es, InventoryFormat::Md).unwrap()),
        ("inventory.en.md", report::inventory(&inv, &h, a, Lang::En, InventoryFormat::Md).unwrap()),
        (
            "inventory.es.csv",
            report::inventory(&inv, &h, a, Lang::Es, InventoryFormat::Csv).unwrap(),
        ),
        (
            "inventory.json",
            report::inventory(&inv, &h, a, Lang::Es, InventoryFormat::Json).unwrap(),
        ),
        ("ipv6.es.txt", report::ipv6(&inv, &h, a, Lang::Es, Ipv6Format::Text).unwrap()),
        ("ipv6.es.md", report::ipv6(&inv, &h, a, Lang::Es, Ipv6Format::Md).unwrap()),
        ("ipv6.json", report::ipv6(&inv, &h, a, Lang::Es, Ipv6Format::Json).unwrap()),
        (
            "check-ipv6.en.txt",
            report::check_ipv6(&inv, &h, a, &check, Lang::En, CheckFormat::Text).unwrap().output,
        ),
        (
            "check-ipv6.json",
            report::check_ipv6(&inv, &h, a, &check, Lang::Es, CheckFormat::Json).unwrap().output,
        ),
        ("ipv6.es.csv", report::ipv6(&inv, &h, a, Lang::Es, Ipv6Format::Csv).unwrap()),
        ("ipv6.en.csv", report::ipv6(&inv, &h, a, Lang::En, Ipv6Format::Csv).unwrap()),
        ("links.es.md", report::links(&inv, &h, a, Lang::Es, LinksFormat::Md).unwrap()),
        ("links.json", report::links(&inv, &h, a, Lang::Es, LinksFormat::Json).unwrap()),
        ("links.es.csv", report::links(&inv, &h, a, Lang::Es, LinksFormat::Csv).unwrap()),
        ("links.en.csv", report::links(&inv, &h, a, Lang::En, LinksFormat::Csv).unwrap()),
        (
            "indicators.es.csv",
            report::indicators(&inv, &h, 2026, a.date, Lang::Es, IndicatorsFormat::Csv).unwrap(),
        ),
        (
            "indicators.es.md",
            report::indicators(&inv, &h, 2026, a.date, Lang::Es, IndicatorsFormat::Md).unwrap(),
        ),
        (
            "indicators.en.md",
            report::indicators(&inv, &h, 2026, a.date, Lang::En, IndicatorsFormat::Md).unwrap(),
        ),
        (
            "indicators.json",
            report::indicators(&inv, &h, 2026, a.date, Lang::Es, IndicatorsFormat::Json).unwrap(),
        ),
    ];
    let dir = Path::new(SMALL).join("expected");
    let bless = std::env::var_os("VIGIA_BLESS").is_some();
    let mut failures = Vec::new();
    for (name, got) in outputs {
        let path = dir.join(name);
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with VIGIA_BLESS=1)", path.display()));
        if got != want {
            failures.push(format!(
                "{}:\n--- want\n{}\n--- got\n{}",
                path.display(),
                String::from_utf8_lossy(&want),
                String::from_utf8_lossy(&got)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_csv_is_rfc_4180() {
    let (inv, h) = small();
    let csv = String::from_utf8(
        report::renewal(&inv, &h, small_as_of(), Lang::Es, RenewalFormat::Csv).unwrap(),
    )
    .unwrap();
    assert!(csv.ends_with("\r\n"));
    let records: Vec<&str> = csv.split_terminator("\r\n").collect();
    // Header, four candidates, ap-teatro (missing data only).
    assert_eq!(records.len(), 6);
    assert!(records[0].starts_with("Candidato,Prioridad,Puntaje,Equipo,Sede,Nombre de la sede,"));
    // The site name holds a pipe, not a comma: unquoted. The evidence holds commas: quoted.
    assert!(records.iter().any(|r| r.contains(",Teatro | Auditorio,")));
    assert!(records[1].contains("\"el soporte termina el 2027-01-15 (en 199 días; aviso de 365 días); adquirido el 2020-01-15: 6 años, límite 5 años (alcanzado el 2025-01-15); 3 reinicios sin explicar en 90 días (2026-04-10 03:12 UTC, 2026-05-22 14:40 UTC, 2026-06-25 22:47 UTC); explicados por la sede: 1\""), "{}", records[1]);
}

// ---------------------------------------------------------------------------------------------
// Workbooks, read back.

fn workbook(bytes: Vec<u8>) -> Xlsx<Cursor<Vec<u8>>> {
    Xlsx::new(Cursor::new(bytes)).expect("a workbook calamine reads")
}

/// The XML of the `n`-th sheet (1-based), straight from the zip.
fn sheet_xml(bytes: &[u8], n: usize) -> String {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut xml = String::new();
    zip.by_name(&format!("xl/worksheets/sheet{n}.xml")).unwrap().read_to_string(&mut xml).unwrap();
    xml
}

fn assert_header_frozen_and_filtered(bytes: &[u8], wb: &Xlsx<Cursor<Vec<u8>>>, sheets: &[&str]) {
    for (i, name) in sheets.iter().enumerate() {
        let xml = sheet_xml(bytes, i + 1);
        assert!(
            xml.contains(
                r#"<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>"#
            ),
            "{name}: header not frozen: {xml}"
        );
        assert!(xml.contains("<autoFilter ref=\"A1:"), "{name}: no autofilter");
        assert!(
            wb.defined_names()
                .iter()
                .any(|(n, f)| n == "_xlnm._FilterDatabase" && f.contains(name)),
            "{name}: no filter range in {:?}",
            wb.defined_names()
        );
    }
}

fn cell(range: &calamine::Range<Data>, row: usize, col: usize) -> &Data {
    range.get((row, col)).unwrap_or(&Data::Empty)
}

#[test]
fn the_renewal_workbook_reads_back_typed() {
    let (inv, h) = small();
    let bytes = report::renewal(&inv, &h, small_as_of(), Lang::Es, RenewalFormat::Xlsx).unwrap();
    let mut wb = workbook(bytes.clone());
    assert_eq!(wb.sheet_names(), ["Candidatos", "Datos faltantes", "Política"]);
    assert_header_frozen_and_filtered(&bytes, &wb, &["Candidatos", "Datos faltantes", "Política"]);

    let c = wb.worksheet_range("Candidatos").unwrap();
    assert_eq!(c.height(), 5, "header and four candidates");
    assert_eq!(cell(&c, 0, 0), &Data::String("Prioridad".into()));
    // srv-app: priority, score (a number), acquired (a date), age, days to end of support.
    assert_eq!(cell(&c, 1, 0), &Data::String("alta".into()));
    assert_eq!(cell(&c, 1, 1), &Data::Float(90.0));
    assert_eq!(cell(&c, 1, 2), &Data::String("srv-app".into()));
    assert_eq!(cell(&c, 1, 9).as_date(), Some(day("2020-01-15")), "{:?}", cell(&c, 1, 9));
    assert!(matches!(cell(&c, 1, 9), Data::DateTime(_)));
    assert_eq!(cell(&c, 1, 10), &Data::Float(6.0));
    assert_eq!(cell(&c, 1, 14).as_date(), Some(day("2027-01-15")));
    assert_eq!(cell(&c, 1, 15), &Data::Float(199.0));
    // fw-central: support ended 60 days ago: a negative number.
    assert_eq!(cell(&c, 2, 15), &Data::Float(-60.0));
    // sw-norte: unknown dates are empty cells, not zeros.
    assert_eq!(cell(&c, 3, 9), &Data::Empty);
    assert_eq!(
        cell(&c, 3, 18),
        &Data::String("fecha de adquisición; fin de venta; fin de soporte".into())
    );

    let m = wb.worksheet_range("Datos faltantes").unwrap();
    assert_eq!(m.height(), 4);
    assert_eq!(cell(&m, 3, 0), &Data::String("ap-teatro".into()));
    assert_eq!(cell(&m, 3, 7).as_date(), Some(day("2023-08-01")));
    assert_eq!(cell(&m, 3, 11), &Data::String("no".into()));

    let p = wb.worksheet_range("Política").unwrap();
    assert_eq!(cell(&p, 1, 1), &Data::String("switch".into()));
    assert_eq!(cell(&p, 1, 2), &Data::Float(7.0));
    assert!(p.rows().any(|r| r[0] == Data::String("Aviso antes del fin de soporte".into())
        && r[2] == Data::Float(365.0)));
}

#[test]
fn the_renewal_workbook_speaks_english_on_request_and_is_reproducible() {
    let (inv, h) = small();
    let a = report::renewal(&inv, &h, small_as_of(), Lang::En, RenewalFormat::Xlsx).unwrap();
    let b = report::renewal(&inv, &h, small_as_of(), Lang::En, RenewalFormat::Xlsx).unwrap();
    assert_eq!(a, b, "same inputs, same bytes");
    let mut wb = workbook(a);
    assert_eq!(wb.sheet_names(), ["Candidates", "Missing data", "Policy"]);
    let c = wb.worksheet_range("Candidates").unwrap();
    assert_eq!(cell(&c, 1, 0), &Data::String("high".into()));
}

#[test]
fn the_inventory_report_sets_what_devices_say_beside_the_inventory() {
    // Hand-computed from history.json's facts (README): fw-central reports its declared model
    // (other spelling) and, since 2026-05-10 12:00, another serial: a replacement, and a
    // mismatch with its declared serial; sw-norte declares nothing and reports Cisco, a model
    // and a serial; ap-teatro has no SNMP; the others are polled and report nothing (a fact
    // first seen after the report's instant is not seen yet).
    let (inv, h) = small();
    let c = vigia::discovered::analyse(&inv, &h, small_as_of());
    let verdict = |id: &str| c.devices.iter().find(|d| d.device == id).unwrap().verdict;
    use vigia::discovered::Verdict;
    assert_eq!(verdict("fw-central"), Verdict::Mismatch);
    assert_eq!(verdict("sw-norte"), Verdict::DiscoveredOnly);
    assert_eq!(verdict("ap-teatro"), Verdict::NoSnmp);
    assert_eq!(verdict("sw-central"), Verdict::NoData);
    assert_eq!(verdict("srv-app"), Verdict::NoData);
    assert_eq!(c.devices.len(), 6, "sw-central-old was retired");
    assert_eq!(c.replacements.len(), 1);
    let r = &c.replacements[0];
    assert_eq!(
        (r.old_serial.as_str(), r.new_serial.as_str()),
        ("FG5H0E0000000001", "FG5H0E0000000099")
    );
    assert_eq!(r.at.to_rfc3339(), "2026-05-10T12:00:00+00:00");
    // The renewal report shows the discovered vendor and model where the inventory has none,
    // marked as discovered, never as declared.
    let md = String::from_utf8(
        report::renewal(&inv, &h, small_as_of(), Lang::Es, RenewalFormat::Md).unwrap(),
    )
    .unwrap();
    assert!(
        md.contains("| sw-norte | Mercado Norte | switch | Cisco (descubierto) | WS-C2960X-24PS-L (descubierto) |"),
        "{md}"
    );
    assert!(!md.contains("FortiGate-500E"), "a declared model is shown as declared");
}

/// What a person does with `inventory suggest`'s fragment: copy each device's lines (comments
/// and values) under the `- id:` line of its entry in `devices.yaml`.
fn merge_suggestion(devices_yaml: &str, fragment: &str) -> String {
    let mut by_id: Vec<(String, Vec<String>)> = Vec::new();
    for line in fragment.lines() {
        if let Some(id) = line.strip_prefix("  - id: ") {
            by_id.push((serde_json::from_str(id).expect("a quoted id"), Vec::new()));
        } else if line.starts_with("    ") {
            by_id.last_mut().expect("lines under an id").1.push(line.to_owned());
        }
    }
    let mut out = String::new();
    for line in devices_yaml.lines() {
        out.push_str(line);
        out.push('\n');
        if let Some(id) = line.strip_prefix("  - id: ")
            && let Some((_, lines)) = by_id.iter().find(|(i, _)| i == id)
        {
            for l in lines {
                out.push_str(l);
                out.push('\n');
            }
        }
    }
    out
}

#[test]
fn inventory_suggest_proposes_only_gaps_and_its_fragment_merged_passes_check() {
    let (inv, mut h) = small();
    // A device string no YAML writer may trust: quotes, a colon, a hash, a backslash, accents.
    let hostile = "SN: \"x\" #1 \\ ñ";
    h.facts.push(vigia::history::FactRecord {
        device: "radio-teatro".into(),
        fact: vigia::poll::Fact::Serial,
        value: hostile.into(),
        first_at: "2026-06-01T00:00:00Z".parse().unwrap(),
        first_agent: "agent-a".into(),
        last_at: "2026-06-30T23:00:00Z".parse().unwrap(),
        agent: "agent-a".into(),
        family: vigia::inventory::Family::Ipv4,
    });
    let check = vigia::discovered::analyse(&inv, &h, small_as_of());
    let fragment = report::suggest::yaml(&check, Lang::Es);
    // fw-central declares vendor, model and serial (one disagrees): nothing proposed for it.
    assert!(!fragment.contains("fw-central"), "{fragment}");
    assert!(fragment.contains("  - id: \"sw-norte\"\n"), "{fragment}");
    assert!(fragment.contains("    model: \"WS-C2960X-24PS-L\"\n"), "{fragment}");
    assert!(fragment.contains("# ENTITY-MIB entPhysicalSerialNum: visto del 2026-04-01 00:05 UTC al 2026-06-30 23:50 UTC (agent-a, IPv4)"), "{fragment}");

    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(format!("{SMALL}/inventory")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    let devices = std::fs::read_to_string(dir.path().join("devices.yaml")).unwrap();
    let merged = merge_suggestion(&devices, &fragment);
    assert_ne!(merged, devices);
    std::fs::write(dir.path().join("devices.yaml"), &merged).unwrap();
    let checked = inventory::check(dir.path(), Secrets::Warn);
    assert!(checked.errors().next().is_none(), "{:#?}\n{merged}", checked.diagnostics);
    let merged_inv = checked.inventory.expect("the merged inventory is valid");
    let norte = merged_inv.device("sw-norte").unwrap();
    assert_eq!(
        (norte.vendor.as_deref(), norte.model.as_deref(), norte.serial.as_deref()),
        (Some("Cisco"), Some("WS-C2960X-24PS-L"), Some("FOC1234X0AB"))
    );
    assert_eq!(merged_inv.device("radio-teatro").unwrap().serial.as_deref(), Some(hostile));
    // Merged, what was discovered only now matches, and nothing is left to propose.
    let again = vigia::discovered::analyse(&merged_inv, &h, small_as_of());
    let verdict = |id: &str| again.devices.iter().find(|d| d.device == id).unwrap().verdict;
    assert_eq!(verdict("sw-norte"), vigia::discovered::Verdict::Match);
    assert_eq!(verdict("radio-teatro"), vigia::discovered::Verdict::Match);
    assert!(vigia::discovered::suggestions(&again).is_empty());
    let nothing = report::suggest::yaml(&again, Lang::En);
    assert!(nothing.ends_with("devices: []\n"), "{nothing}");
}

#[test]
fn the_inventory_workbook_reads_back_typed() {
    let (inv, h) = small();
    let bytes =
        report::inventory(&inv, &h, small_as_of(), Lang::Es, InventoryFormat::Xlsx).unwrap();
    let mut wb = workbook(bytes.clone());
    assert_eq!(wb.sheet_names(), ["Equipos", "Reemplazos detectados"]);
    assert_header_frozen_and_filtered(&bytes, &wb, &["Equipos", "Reemplazos detectados"]);
    let d = wb.worksheet_range("Equipos").unwrap();
    assert_eq!(d.height(), 7, "header and six devices in service");
    assert_eq!(cell(&d, 0, 10), &Data::String("Veredicto".into()));
    let fw = d.rows().find(|r| r[0] == Data::String("fw-central".into())).unwrap();
    assert_eq!(fw[9], Data::String("FG5H0E0000000099".into()));
    assert_eq!(fw[10], Data::String("discrepancia".into()));
    let r = wb.worksheet_range("Reemplazos detectados").unwrap();
    assert_eq!(r.height(), 2);
    assert_eq!(cell(&r, 1, 3), &Data::String("FG5H0E0000000001".into()));
    let en = report::inventory(&inv, &h, small_as_of(), Lang::En, InventoryFormat::Xlsx).unwrap();
    assert_eq!(workbook(en).sheet_names(), ["Devices", "Replacements detected"]);
}

#[test]
fn the_indicators_workbook_reads_back_typed() {
    let (inv, h) = small();
    let bytes =
        report::indicators(&inv, &h, 2026, day("2026-06-30"), Lang::Es, IndicatorsFormat::Xlsx)
            .unwrap();
    let mut wb = workbook(bytes.clone());
    assert_eq!(wb.sheet_names(), ["AE.7.03", "AE.7.04", "Detalle"]);
    assert_header_frozen_and_filtered(&bytes, &wb, &["AE.7.03", "AE.7.04", "Detalle"]);

    let f = wb.worksheet_range("AE.7.03").unwrap();
    let value = |label: &str| {
        f.rows()
            .find(|r| r[0] == Data::String(label.into()))
            .map(|r| r[1].clone())
            .unwrap_or_else(|| panic!("{label}"))
    };
    assert_eq!(value("Meta 2026"), Data::Float(2.0));
    assert_eq!(value("Valor"), Data::Float(1.0));
    assert_eq!(value("Avance"), Data::Float(0.5));
    assert_eq!(value("Contado"), Data::String("fibra".into()));
    match value("Fórmula de la ficha") {
        Data::Float(p) => assert!((p - 2.0 / 9.0).abs() < 1e-12),
        other => panic!("formula result is not a number: {other:?}"),
    }

    let d = wb.worksheet_range("Detalle").unwrap();
    let renewed = d
        .rows()
        .find(|r| {
            r[0] == Data::String("AE.7.04".into()) && r[1] == Data::String("equipo renovado".into())
        })
        .expect("the renewed device is listed");
    assert_eq!(renewed[2], Data::String("sw-central".into()));
    assert_eq!(renewed[4].as_date(), Some(day("2026-02-01")));
    assert_eq!(renewed[6], Data::String("sw-central-old".into()));
    // fw-central's serial changed in May: listed, not counted (AE.7.04's value stays 1).
    let detected = d
        .rows()
        .find(|r| r[1] == Data::String("reemplazo detectado, por confirmar".into()))
        .expect("the detected replacement is listed");
    assert_eq!(detected[0], Data::String("AE.7.04".into()));
    assert_eq!(detected[2], Data::String("fw-central".into()));
    assert_eq!(detected[4].as_date(), Some(day("2026-05-10")));
    assert_eq!(detected[5], Data::String("no".into()));
    assert_eq!(detected[6], Data::String("FG5H0E0000000001 → FG5H0E0000000099".into()));
}

#[test]
fn the_ipv6_workbook_reads_back_typed() {
    let (inv, h) = small();
    let bytes = report::ipv6(&inv, &h, small_as_of(), Lang::Es, Ipv6Format::Xlsx).unwrap();
    let mut wb = workbook(bytes.clone());
    let sheets =
        ["Equipos", "Cobertura", "Sede y clase", "Por sede", "Por clase", "Atrasados", "Sin IPv6"];
    assert_eq!(wb.sheet_names(), sheets);
    assert_header_frozen_and_filtered(&bytes, &wb, &sheets);

    // One row per device in scope (six), stage by stage.
    let d = wb.worksheet_range("Equipos").unwrap();
    assert_eq!(d.height(), 7, "header and six devices");
    let header: Vec<String> = d.rows().next().unwrap().iter().map(|c| c.to_string()).collect();
    assert_eq!(
        header,
        [
            "Equipo",
            "Sede",
            "Clase",
            "Dirección IPv6",
            "configurado",
            "ICMPv6",
            "SNMP sobre IPv6",
            "doble pila",
            "IPv6 previsto",
            "Días de atraso",
            "Configurado sin respuesta IPv6",
            "Último ICMPv6",
        ]
    );
    let row = |id: &str| {
        d.rows().find(|r| r[0] == Data::String(id.into())).unwrap_or_else(|| panic!("{id}"))
    };
    let norte = row("sw-norte");
    assert_eq!(norte[3], Data::String("2001:db8:1::10".into()));
    assert_eq!(norte[4], Data::String("sí".into()));
    assert_eq!(norte[5], Data::String("no".into()));
    assert_eq!(norte[10], Data::String("sí".into()), "broken: configured, IPv6 silent");
    // radio-teatro: overdue, the planned day a date and the delay a number.
    let radio = row("radio-teatro");
    assert_eq!(radio[8].as_date(), Some(day("2026-03-31")));
    assert_eq!(radio[9], Data::Float(91.0));
    assert_eq!(radio[4], Data::String("no".into()));
    // ap-teatro has no SNMP: that stage does not apply to it.
    assert_eq!(row("ap-teatro")[6], Data::String("no aplica".into()));

    let o = wb.worksheet_range("Cobertura").unwrap();
    let icmp = o.rows().find(|r| r[0] == Data::String("ICMPv6".into())).unwrap();
    assert_eq!(
        (&icmp[1], &icmp[2], &icmp[3]),
        (&Data::Float(3.0), &Data::Float(6.0), &Data::Float(0.5))
    );
    let broken = wb.worksheet_range("Sin IPv6").unwrap();
    assert_eq!(cell(&broken, 1, 0), &Data::String("sw-norte".into()));

    // The CSV is the devices sheet, spelled.
    let csv = String::from_utf8(
        report::ipv6(&inv, &h, small_as_of(), Lang::En, Ipv6Format::Csv).unwrap(),
    )
    .unwrap();
    let records: Vec<&str> = csv.split_terminator("\r\n").collect();
    assert_eq!(records.len(), 7);
    assert!(
        records[0].starts_with("Device,Site,Class,IPv6 address,configured,ICMPv6,"),
        "{}",
        records[0]
    );
}

#[test]
fn the_links_workbook_reads_back_typed() {
    let (inv, h) = small();
    let bytes = report::links(&inv, &h, small_as_of(), Lang::En, LinksFormat::Xlsx).unwrap();
    let mut wb = workbook(bytes.clone());
    let sheets = ["Sites", "By medium", "Sources", "Health", "No link", "Contract use"];
    assert_eq!(wb.sheet_names(), sheets);
    // Each contracted link: the pool whose interface is not declared says it cannot be measured.
    let u = wb.worksheet_range("Contract use").unwrap();
    assert_eq!(u.height(), 3, "header, mercado-norte's own link and the central pool");
    let pool = u.rows().find(|r| r[0] == Data::String("central".into())).unwrap();
    assert_eq!(pool[4], Data::Float(80.0));
    assert_eq!(pool[5], Data::Float(40.0));
    assert_eq!(pool[7], Data::String("cannot be measured: interface not declared".into()));
    assert_header_frozen_and_filtered(&bytes, &wb, &sheets);

    // One row per branch site, the figures as numbers and percentages.
    let s = wb.worksheet_range("Sites").unwrap();
    assert_eq!(s.height(), 4, "header and three branch sites");
    let col = |name: &str| {
        s.rows().next().unwrap().iter().position(|c| *c == name).unwrap_or_else(|| panic!("{name}"))
    };
    let teatro = s.rows().find(|r| r[0] == Data::String("teatro".into())).unwrap();
    assert_eq!(teatro[col("Medium")], Data::String("radio link".into()));
    assert_eq!(teatro[col("IPv4 device measured")], Data::String("radio-teatro".into()));
    assert_eq!(teatro[col("IPv4 polls")], Data::Float(86_400.0));
    match &teatro[col("IPv4 availability")] {
        Data::Float(a) => assert!((a - 0.98).abs() < 1e-12, "{a}"),
        other => panic!("availability is not a number: {other:?}"),
    }
    assert_eq!(teatro[col("IPv4 mean RTT (ms)")], Data::Float(35.2));
    assert_eq!(teatro[col("IPv6 polls")], Data::Empty, "no IPv6 at teatro: empty, not 0");
    let camal = s.rows().find(|r| r[0] == Data::String("camal".into())).unwrap();
    assert_eq!(camal[col("Medium")], Data::String("no link".into()));
    assert_eq!(camal[col("Planned link")], Data::String("fibre".into()));

    let m = wb.worksheet_range("By medium").unwrap();
    assert_eq!(cell(&m, 1, 1), &Data::Float(1.0));
    let u = wb.worksheet_range("No link").unwrap();
    assert_eq!(u.height(), 2);
}

/// A minute of history is no 30-day figure: the links report prints the polls behind each
/// availability and "datos insuficientes" below 90 % of what the window holds.
#[test]
fn links_say_insufficient_data_over_a_few_polls() {
    let (inv, mut h) = small();
    for row in &mut h.link_health {
        row.successes = row.successes.min(2);
        row.polls = 2;
    }
    let md = report::links(&inv, &h, small_as_of(), Lang::Es, LinksFormat::Md).unwrap();
    let md = String::from_utf8(md).unwrap();
    assert!(
        md.contains("| sw-norte | datos insuficientes | 2 de 86400 |"),
        "the fibre site's row:\n{md}"
    );
    assert!(md.contains("| radio-teatro | datos insuficientes | 2 de 86400 |"), "{md}");
    let en = report::links(&inv, &h, small_as_of(), Lang::En, LinksFormat::Md).unwrap();
    assert!(String::from_utf8(en).unwrap().contains("| insufficient data | 2 of 86400 |"));
}
