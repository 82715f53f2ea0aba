//! The user-facing prose of the reports, one table per language: titles, sentences, labels,
//! enum names. Renderers never spell text of their own: they pick it from here. Column headers
//! are the exception: each stands, in both languages, beside its field in the row that holds the
//! column (see `table`); the few several tables share are in [`col`].
//!
//! Templates hold `{name}` placeholders, filled by [`fill`].

use crate::indicators::BaselineKind;
use crate::inventory::{DeviceClass, LinkMedium, ProjectStatus};
use crate::ipv6::Stage;
use crate::lifecycle::{DateField, Priority, Reason};

names! {
    /// The language of a report.
    Lang { Es = "es", En = "en" }
}

impl Lang {
    /// The table of this language.
    pub fn t(self) -> &'static Strings {
        match self {
            Lang::Es => &ES,
            Lang::En => &EN,
        }
    }
}

/// Fill `{name}` placeholders of `template` with `values`.
pub fn fill(template: &str, values: &[(&str, &dyn std::fmt::Display)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), &value.to_string());
    }
    out
}

/// Column headers that several tables share, (Spanish, English). A header used by one table
/// only stands beside its field in that table's row (see `table`).
pub mod col {
    use crate::report::table::Header;

    /// Device id.
    pub const DEVICE: Header = ("Equipo", "Device");
    /// Site (id, or name where the table has no separate name column).
    pub const SITE: Header = ("Sede", "Site");
    /// Site name.
    pub const SITE_NAME: Header = ("Nombre de la sede", "Site name");
    /// Device class.
    pub const CLASS: Header = ("Clase", "Class");
    /// Renewal priority.
    pub const PRIORITY: Header = ("Prioridad", "Priority");
    /// Renewal score.
    pub const SCORE: Header = ("Puntaje", "Score");
    /// Vendor.
    pub const VENDOR: Header = ("Fabricante", "Vendor");
    /// Model.
    pub const MODEL: Header = ("Modelo", "Model");
    /// Serial number.
    pub const SERIAL: Header = ("Serie", "Serial");
    /// Acquisition day.
    pub const ACQUIRED: Header = ("Adquirido", "Acquired");
    /// End of sale.
    pub const END_OF_SALE: Header = ("Fin de venta", "End of sale");
    /// End of support.
    pub const END_OF_SUPPORT: Header = ("Fin de soporte", "End of support");
    /// The unknown life-cycle dates.
    pub const MISSING: Header = ("Fechas desconocidas", "Unknown dates");
    /// Where the life-cycle dates came from (the catalogue entry and its source).
    pub const DATES_SOURCE: Header = ("Origen de las fechas", "Source of the dates");
    /// Whether the device is a renewal candidate.
    pub const CANDIDATE: Header = ("Candidato", "Candidate");
    /// A value (policy rules, ficha fields).
    pub const VALUE: Header = ("Valor", "Value");
    /// Link medium.
    pub const MEDIUM: Header = ("Medio", "Medium");
    /// A name (projects, detail items).
    pub const NAME: Header = ("Nombre", "Name");
    /// Whether an item counts for the indicator.
    pub const COUNTS: Header = ("Cuenta", "Counts");
}

/// Position of `value` in `all` (for the per-enum arrays below).
fn pos<T: PartialEq>(all: &[T], value: &T) -> usize {
    all.iter().position(|v| v == value).expect("every value is in ALL")
}

/// One language's strings.
#[derive(Debug)]
pub struct Strings {
    // ---- shared ----
    /// Device classes, in `DeviceClass::ALL` order.
    pub classes: [&'static str; 7],
    /// Media, in `LinkMedium::ALL` order.
    pub media: [&'static str; 3],
    /// The main site's `link` label.
    pub main_site: &'static str,
    /// Reasons, in `Reason::ALL` order.
    pub reasons: [&'static str; 5],
    /// Priorities, in `Priority::ALL` order.
    pub priorities: [&'static str; 3],
    /// Date fields, in `DateField::ALL` order.
    pub date_fields: [&'static str; 3],
    /// IPv6 stages, in `Stage::ALL` order.
    pub stages: [&'static str; 4],
    /// Project statuses, in `ProjectStatus::ALL` order.
    pub statuses: [&'static str; 4],
    /// Snapshot baselines, in `BaselineKind::ALL` order.
    pub baselines: [&'static str; 3],
    /// Yes.
    pub yes: &'static str,
    /// No.
    pub no: &'static str,
    /// No data.
    pub no_data: &'static str,
    /// Nothing to list.
    pub none_listed: &'static str,
    /// A figure that does not apply (an IPv6 stage a device is not counted in).
    pub not_applicable: &'static str,
    /// Sheet names of the IPv6 workbook (at most 31 characters): devices, overall, sites ×
    /// classes, by site, by class, overdue, broken.
    pub ipv6_sheets: [&'static str; 7],
    /// Sheet names of the links workbook: sites, by medium, sources, health, no link.
    pub links_sheets: [&'static str; 5],
    /// A text field the inventory leaves empty.
    pub not_recorded: &'static str,
    /// Percentage: `{value}` with one decimal.
    pub percent: &'static str,
    /// "As of" line: `{date}`, `{instant}`.
    pub as_of: &'static str,
    /// Separator of list items inside one cell.
    pub list_sep: &'static str,

    // ---- renewal ----
    /// Title.
    pub renewal_title: &'static str,
    /// Summary: `{evaluated}`, `{candidates}`, `{high}`, `{medium}`, `{low}`, `{missing}`.
    pub renewal_summary: &'static str,
    /// Candidates heading and sheet name.
    pub candidates: &'static str,
    /// No candidate.
    pub no_candidates: &'static str,
    /// Missing-data heading and sheet name.
    pub missing_data: &'static str,
    /// Explanation of the missing-data section.
    pub missing_data_note: &'static str,
    /// Policy heading and sheet name.
    pub policy: &'static str,
    /// Rules heading.
    pub rules: &'static str,
    /// Policy: age limit rule.
    pub rule_max_age: &'static str,
    /// Policy: the class limit for classes not listed.
    pub other_classes: &'static str,
    /// Policy: support warning rule.
    pub rule_support_warning: &'static str,
    /// Policy: availability threshold rule.
    pub rule_availability: &'static str,
    /// Policy: minimum polls rule.
    pub rule_min_polls: &'static str,
    /// Policy: repeated restarts rule.
    pub rule_restarts: &'static str,
    /// Policy: explanation window rule.
    pub rule_explained: &'static str,
    /// Policy: history window rule.
    pub rule_window: &'static str,
    /// Unit: years.
    pub unit_years: &'static str,
    /// Unit: days.
    pub unit_days: &'static str,
    /// Unit: percent.
    pub unit_percent: &'static str,
    /// Unit: polls.
    pub unit_polls: &'static str,
    /// Unit: restarts.
    pub unit_restarts: &'static str,
    /// Unit: minutes.
    pub unit_minutes: &'static str,
    /// The rules, one line each, for the Markdown report.
    pub renewal_rules: &'static [&'static str],
    /// Evidence: `{date}`, `{days}`.
    pub ev_support_ended: &'static str,
    /// Evidence: `{date}`, `{days}`, `{warning}`.
    pub ev_support_ending: &'static str,
    /// Evidence: `{acquired}`, `{age}`, `{max}`, `{limit}`.
    pub ev_too_old: &'static str,
    /// Evidence: `{family}`, `{percent}`, `{successes}`, `{polls}`, `{days}`.
    pub ev_availability: &'static str,
    /// Evidence: `{count}`, `{days}`, `{dates}`, `{explained}`.
    pub ev_restarts: &'static str,
    /// Evidence: `{date}`, `{days}`.
    pub ev_ipv6_overdue: &'static str,
    /// Evidence suffix: no IPv6 address.
    pub ev_ipv6_no_address: &'static str,
    /// Evidence suffix: `{outcome}`, `{at}`.
    pub ev_ipv6_failing: &'static str,
    /// Evidence suffix: configured, no fresh result.
    pub ev_ipv6_no_result: &'static str,

    // ---- IPv6 ----
    /// Title.
    pub ipv6_title: &'static str,
    /// Freshness note: `{minutes}`.
    pub ipv6_fresh: &'static str,
    /// Scope line: `{devices}`, `{snmp}`.
    pub ipv6_scope: &'static str,
    /// Overall heading.
    pub ipv6_overall: &'static str,
    /// Matrix heading.
    pub ipv6_matrix: &'static str,
    /// Per-site heading.
    pub ipv6_by_site: &'static str,
    /// Per-class heading.
    pub ipv6_by_class: &'static str,
    /// Overdue heading.
    pub ipv6_overdue: &'static str,
    /// Broken heading.
    pub ipv6_broken: &'static str,
    /// A tally cell: `{passed}`, `{eligible}`, `{percent}`.
    pub tally: &'static str,
    /// A tally with nothing eligible.
    pub tally_empty: &'static str,
    /// Stage definitions, one line each.
    pub ipv6_rules: &'static [&'static str],
    /// Check heading.
    pub check: &'static str,
    /// Check line: `{stage}`, `{min}`, `{scope}`, `{passed}`, `{eligible}`, `{percent}`, `{verdict}`.
    pub check_line: &'static str,
    /// Check scope: all devices.
    pub check_all: &'static str,
    /// Check scope: `{site}`.
    pub check_site: &'static str,
    /// Check scope: `{class}`.
    pub check_class: &'static str,
    /// Verdict: pass.
    pub check_pass: &'static str,
    /// Verdict: fail.
    pub check_fail: &'static str,

    // ---- links ----
    /// Title.
    pub links_title: &'static str,
    /// Window line: `{days}`, `{from}`, `{to}`.
    pub links_window: &'static str,
    /// Heading: sites by medium.
    pub links_by_medium: &'static str,
    /// Polls behind a link-health figure: `{polls}`, `{expected}`.
    pub links_polls: &'static str,
    /// A figure too few polls stand behind.
    pub insufficient: &'static str,
    /// Row: all branches.
    pub branches_total: &'static str,
    /// Fibre coverage: `{fibre}`, `{branches}`, `{percent}`.
    pub fibre_coverage: &'static str,
    /// Connected coverage: `{connected}`, `{branches}`, `{percent}`.
    pub connected_coverage: &'static str,
    /// Heading: what the sources say.
    pub links_declared: &'static str,
    /// Declared figure `total`.
    pub declared_total: &'static str,
    /// Contradiction warning: `{count}`.
    pub declared_contradiction: &'static str,
    /// Heading: link health.
    pub links_health: &'static str,
    /// RTT value: `{ms}`.
    pub rtt_ms: &'static str,
    /// Heading: unlinked sites.
    pub links_unlinked: &'static str,
    /// Link rules, one line each.
    pub links_rules: &'static [&'static str],

    /// Where a device's dates came from: `{dates}`, `{vendor}`, `{model}`, `{at}`, `{source}`.
    pub dates_from_catalog: &'static str,
    /// Added when the catalogue entry was found by a discovered vendor or model.
    pub by_discovered: &'static str,

    // ---- inventory (declared and discovered) ----
    /// Title.
    pub inv_title: &'static str,
    /// Summary: `{devices}`, `{match}`, `{mismatch}`, `{declared_only}`, `{discovered_only}`,
    /// `{no_snmp}`, `{no_data}`, `{replacements}`.
    pub inv_summary: &'static str,
    /// Heading: the devices.
    pub inv_devices: &'static str,
    /// Heading: replacements detected.
    pub inv_replacements: &'static str,
    /// Verdicts, in `discovered::Verdict::ALL` order.
    pub verdicts: [&'static str; 6],
    /// Evidence of a row: `{instant}`, `{agent}`, `{family}`, `{first}`.
    pub inv_evidence: &'static str,
    /// Marks a value the device reported (not declared): `{value}`.
    pub discovered_mark: &'static str,
    /// Inventory rules, one line each.
    pub inv_rules: &'static [&'static str],

    // ---- indicators ----
    /// Title: `{year}`.
    pub indicators_title: &'static str,
    /// Period line, complete: `{from}`, `{to}`.
    pub period_complete: &'static str,
    /// Period line, partial: `{from}`, `{to}`.
    pub period_partial: &'static str,
    /// Ficha field: objective.
    pub f_objective: &'static str,
    /// Ficha field: action.
    pub f_action: &'static str,
    /// Ficha field: indicator.
    pub f_indicator: &'static str,
    /// Ficha field: formula.
    pub f_formula: &'static str,
    /// Ficha field: target (`{year}`).
    pub f_target: &'static str,
    /// Ficha field: target note.
    pub f_target_note: &'static str,
    /// Ficha field: value.
    pub f_value: &'static str,
    /// Ficha field: progress.
    pub f_progress: &'static str,
    /// Ficha field: period.
    pub f_period: &'static str,
    /// Ficha field: source.
    pub f_source: &'static str,
    /// Ficha field: responsible.
    pub f_responsible: &'static str,
    /// Ficha field: what the value counted.
    pub f_counted: &'static str,
    /// Ficha field: the formula's result (AE.7.03).
    pub f_formula_result: &'static str,
    /// No target for the year: `{year}`.
    pub no_target: &'static str,
    /// No progress figure without a target.
    pub no_progress: &'static str,
    /// Progress: `{percent}`.
    pub progress_of_target: &'static str,
    /// AE.7.03 value: `{value}`.
    pub value_projects: &'static str,
    /// AE.7.04 value: `{value}`.
    pub value_devices: &'static str,
    /// Formula result: `{improved}`, `{evaluated}`, `{percent}`.
    pub formula_result: &'static str,
    /// Formula result with nothing evaluated.
    pub formula_empty: &'static str,
    /// Heading: projects.
    pub projects: &'static str,
    /// Heading: components.
    pub components: &'static str,
    /// Components: devices evaluated (`{count}`).
    pub c_devices_evaluated: &'static str,
    /// Components: sites evaluated (`{count}`).
    pub c_sites_evaluated: &'static str,
    /// Components: devices renewed (`{count}`).
    pub c_devices_improved: &'static str,
    /// Components: sites upgraded (`{count}`).
    pub c_sites_improved: &'static str,
    /// Components: baseline (`{kind}`, `{start}`, `{end}`).
    pub c_baseline: &'static str,
    /// Site upgrade: `{site}`, `{from}`, `{to}`.
    pub upgrade: &'static str,
    /// Heading: renewed devices.
    pub renewed_devices: &'static str,
    /// Heading: replacements detected, to be confirmed.
    pub detected_replacements: &'static str,
    /// What a detected replacement is, and why it does not count.
    pub detected_note: &'static str,
    /// Detail sheet name.
    pub detail: &'static str,
    /// Detail kinds: project, device evaluated, site evaluated, device improved, site improved,
    /// device renewed, replacement detected (to be confirmed).
    pub kinds: [&'static str; 7],
    /// Indicator rules, one line each.
    pub indicator_rules: &'static [&'static str],
}

impl Strings {
    /// A device class.
    pub fn class(&self, c: DeviceClass) -> &'static str {
        self.classes[pos(DeviceClass::ALL, &c)]
    }
    /// How what a device reports compares with the inventory.
    pub fn verdict(&self, v: crate::discovered::Verdict) -> &'static str {
        self.verdicts[pos(crate::discovered::Verdict::ALL, &v)]
    }
    /// A medium.
    pub fn medium(&self, m: LinkMedium) -> &'static str {
        self.media[pos(LinkMedium::ALL, &m)]
    }
    /// A `link` label (`main`, `fibre`, `radio`, `none`).
    pub fn link_label(&self, label: &str) -> &'static str {
        LinkMedium::parse(label).map_or(self.main_site, |m| self.medium(m))
    }
    /// A reason.
    pub fn reason(&self, r: Reason) -> &'static str {
        self.reasons[pos(Reason::ALL, &r)]
    }
    /// A priority.
    pub fn priority(&self, p: Priority) -> &'static str {
        self.priorities[pos(Priority::ALL, &p)]
    }
    /// A date field.
    pub fn date_field(&self, f: DateField) -> &'static str {
        self.date_fields[pos(DateField::ALL, &f)]
    }
    /// An IPv6 stage.
    pub fn stage(&self, s: Stage) -> &'static str {
        self.stages[pos(Stage::ALL, &s)]
    }
    /// A project status.
    pub fn status(&self, s: ProjectStatus) -> &'static str {
        self.statuses[pos(ProjectStatus::ALL, &s)]
    }
    /// A baseline kind.
    pub fn baseline(&self, b: BaselineKind) -> &'static str {
        self.baselines[pos(BaselineKind::ALL, &b)]
    }
    /// Yes or no.
    pub fn yes_no(&self, b: bool) -> &'static str {
        if b { self.yes } else { self.no }
    }
}

/// Spanish (the default).
pub static ES: Strings = Strings {
    classes: ["switch", "router", "cortafuegos", "servidor", "punto de acceso", "radio", "otro"],
    media: ["fibra óptica", "radioenlace", "sin enlace"],
    main_site: "sede principal",
    reasons: [
        "soporte vencido",
        "soporte por vencer",
        "antigüedad",
        "poco confiable",
        "IPv6 atrasado",
    ],
    priorities: ["alta", "media", "baja"],
    date_fields: ["fecha de adquisición", "fin de venta", "fin de soporte"],
    stages: ["configurado", "ICMPv6", "SNMP sobre IPv6", "doble pila"],
    statuses: ["planificado", "en ejecución", "implementado", "cancelado"],
    baselines: [
        "última instantánea del inventario anterior al periodo",
        "sin instantánea anterior al periodo: primera instantánea dentro de él (un cambio previo no se puede probar)",
        "sin instantáneas del inventario hasta el fin del periodo: ninguna mejora de enlace se puede probar",
    ],
    yes: "sí",
    no: "no",
    no_data: "sin datos",
    none_listed: "ninguno",
    not_applicable: "no aplica",
    ipv6_sheets: [
        "Equipos",
        "Cobertura",
        "Sede y clase",
        "Por sede",
        "Por clase",
        "Atrasados",
        "Sin IPv6",
    ],
    links_sheets: ["Sedes", "Por medio", "Fuentes", "Salud", "Sin enlace"],
    not_recorded: "no registrado en el inventario",
    percent: "{value} %",
    as_of: "Al {date} (historial hasta {instant}, exclusive).",
    list_sep: "; ",

    renewal_title: "Candidatos a renovación de equipos",
    renewal_summary: "Equipos en servicio evaluados: {evaluated}. Candidatos: {candidates} (alta {high}, media {medium}, baja {low}). Con fechas desconocidas: {missing}.",
    candidates: "Candidatos",
    no_candidates: "Ningún equipo es candidato con los datos disponibles.",
    missing_data: "Datos faltantes",
    missing_data_note: "Equipos en servicio con fechas desconocidas. No se puntúan como si fueran nuevos: la regla que necesita la fecha no se aplica y las demás sí. Registre las fechas en el inventario (lifecycle.acquired, lifecycle.end_of_sale, lifecycle.end_of_support).",
    policy: "Política",
    rules: "Reglas",
    rule_max_age: "Antigüedad máxima",
    other_classes: "otras clases",
    rule_support_warning: "Aviso antes del fin de soporte",
    rule_availability: "Disponibilidad mínima (ICMP, mejor familia)",
    rule_min_polls: "Sondeos mínimos para juzgar la disponibilidad",
    rule_restarts: "Reinicios sin explicar que hacen poco confiable",
    rule_explained: "Un reinicio se explica por otro evento de la sede a menos de",
    rule_window: "Ventana del historial de confiabilidad",
    unit_years: "años",
    unit_days: "días",
    unit_percent: "%",
    unit_polls: "sondeos",
    unit_restarts: "reinicios",
    unit_minutes: "minutos",
    renewal_rules: &[
        "Se evalúan los equipos en servicio en la fecha del informe (no retirados, no adquiridos ni renovados después).",
        "soporte vencido: el fin de soporte es la fecha del informe o anterior (el mismo día ya cuenta como sin soporte). 40 puntos, más 10 por cada 365 días completos sin soporte (hasta 3). Siempre prioridad alta.",
        "soporte por vencer: el fin de soporte llega dentro de los días de aviso de la política (el último día incluido). 25 puntos.",
        "antigüedad: más antiguo que el límite de su clase; el límite se alcanza en el aniversario N de la adquisición (el 29 de febrero cae el 28) y ese día el equipo tiene N años, no más: es candidato desde el día siguiente. 30 puntos, más 5 por año completo sobre el límite (hasta 4).",
        "poco confiable: en los 90 días previos, disponibilidad ICMP menor a 99 % en su mejor familia (con al menos 100 sondeos), o 3 reinicios o más sin explicar (un reinicio a 15 minutos o menos de un aislamiento de su sede o de otro reinicio en la misma sede se explica por la sede). Solo equipos monitoreados. 30 puntos.",
        "IPv6 atrasado: su fecha ipv6_planned ya pasó y sigue sin IPv6 funcionando (sin dirección, o sin respuesta ICMPv6 reciente). 15 puntos.",
        "Prioridad: alta con soporte vencido o 60 puntos o más; media desde 25; baja por debajo. Orden: puntaje, luego fin de soporte más próximo, luego adquisición más antigua, luego equipo.",
    ],
    ev_support_ended: "el soporte terminó el {date} (hace {days} días)",
    ev_support_ending: "el soporte termina el {date} (en {days} días; aviso de {warning} días)",
    ev_too_old: "adquirido el {acquired}: {age} años, límite {max} años (alcanzado el {limit})",
    ev_availability: "disponibilidad ICMP {family} de {percent} % en {days} días ({successes} de {polls} sondeos)",
    ev_restarts: "{count} reinicios sin explicar en {days} días ({dates}); explicados por la sede: {explained}",
    ev_ipv6_overdue: "IPv6 previsto para el {date} (hace {days} días)",
    ev_ipv6_no_address: "sin dirección IPv6",
    ev_ipv6_failing: "IPv6 configurado sin respuesta ICMPv6 ({outcome}, {at})",
    ev_ipv6_no_result: "IPv6 configurado sin resultado ICMPv6 reciente",

    ipv6_title: "Transición a IPv6: cobertura",
    ipv6_fresh: "Se usan los resultados de los últimos {minutes} minutos; uno más antiguo cuenta como sin resultado.",
    ipv6_scope: "Equipos monitoreados: {devices}; con SNMP configurado: {snmp}.",
    ipv6_overall: "Cobertura general",
    ipv6_matrix: "Por sede y clase",
    ipv6_by_site: "Por sede",
    ipv6_by_class: "Por clase",
    ipv6_overdue: "Atrasados respecto del plan (ipv6_planned vencido, sin ICMPv6)",
    ipv6_broken: "Configurados pero sin IPv6 mientras IPv4 responde",
    tally: "{passed}/{eligible} ({percent})",
    tally_empty: "—",
    ipv6_rules: &[
        "Equipos: los monitoreados en la fecha (en servicio, en la sede principal o en una sede con enlace).",
        "configurado: tiene dirección IPv6 en el inventario. De: todos los equipos.",
        "ICMPv6: configurado y su último ciclo ICMPv6 respondió. De: todos los equipos.",
        "SNMP sobre IPv6: su último sondeo SNMP por IPv6 respondió. De: los equipos con SNMP configurado (los que solo usan ICMP no cuentan en contra).",
        "doble pila: sus últimos ciclos ICMP por IPv4 y por IPv6 respondieron. De: todos los equipos.",
        "Configurado pero roto: tiene IPv6, IPv4 responde y el último ICMPv6 falló (el peor caso). Sin resultado reciente no es roto: está sin medir.",
    ],
    check: "Verificación",
    check_line: "{stage} ≥ {min} % ({scope}): {passed} de {eligible} = {percent}: {verdict}",
    check_all: "todos los equipos",
    check_site: "sede {site}",
    check_class: "clase {class}",
    check_pass: "CUMPLE",
    check_fail: "NO CUMPLE",

    links_title: "Enlaces de las sedes",
    links_window: "Salud de los enlaces en los {days} días del {from} al {to} (exclusive).",
    links_by_medium: "Sedes por medio",
    links_polls: "{polls} de {expected}",
    insufficient: "datos insuficientes",
    branches_total: "total de sedes (sin la principal)",
    fibre_coverage: "Cobertura de fibra: {fibre} de {branches} sedes ({percent}).",
    connected_coverage: "Sedes conectadas (fibra o radio): {connected} de {branches} ({percent}).",
    links_declared: "Lo que dicen las fuentes",
    declared_total: "total de sedes",
    declared_contradiction: "{count} fuente(s) contradicen el inventario: se muestran ambas cifras, ninguna se elige en silencio.",
    links_health: "Salud de los enlaces (sedes conectadas)",
    rtt_ms: "{ms} ms",
    links_unlinked: "Sedes sin enlace",
    links_rules: &[
        "Los porcentajes de cobertura se calculan sobre las sedes secundarias (sin la sede principal).",
        "Equipos de enlace: los marcados uplink en la sede, o todos sus equipos monitoreados si ninguno lo está.",
        "La cifra de la sede en cada familia es la de su mejor equipo de enlace: la sede está arriba si alguno responde.",
        "Disponibilidad: sondeos ICMP con respuesta / sondeos; RTT: media de los sondeos con respuesta; pérdida: ecos perdidos / enviados.",
        "Sondeos: los que hay en la ventana de los que cabrían en ella; con menos del 90 % la disponibilidad dice «datos insuficientes».",
    ],

    dates_from_catalog: "{dates} del catálogo ({vendor} {model}, {at}): {source}",
    by_discovered: " (hallado por lo que informa el equipo)",
    inv_title: "Inventario: lo declarado y lo que dicen los equipos",
    inv_summary: "Equipos en servicio: {devices}. Coinciden: {match}; en discrepancia: {mismatch}; solo declarado: {declared_only}; solo descubierto: {discovered_only}; sin SNMP: {no_snmp}; sin datos: {no_data}. Reemplazos detectados: {replacements}.",
    inv_devices: "Equipos",
    inv_replacements: "Reemplazos detectados",
    verdicts: [
        "coincide",
        "discrepancia",
        "solo declarado",
        "solo descubierto",
        "sin SNMP",
        "sin datos",
    ],
    inv_evidence: "sondeo SNMP del {instant} ({agent}, {family}); visto desde el {first}",
    discovered_mark: "{value} (descubierto)",
    inv_rules: &[
        "Descubierto: lo que el equipo informa por SNMP (fabricante por el número de empresa del sysObjectID o entPhysicalMfgName; modelo y serie de la fila del chasis de ENTITY-MIB).",
        "Coincide: todo campo declarado y descubierto a la vez es igual (modelos sin distinguir mayúsculas, espacios ni signos; series sin distinguir mayúsculas).",
        "Discrepancia: algún campo declarado difiere de lo que informa el equipo. Lo declarado no se cambia: se revisa.",
        "Reemplazo detectado: el equipo informó un número de serie y luego otro; propone una renovación, no la cuenta: cuenta cuando el inventario la registra (renewed / replaces).",
    ],

    indicators_title: "Indicadores del PEI 2025-2030 (OEI.07): {year}",
    period_complete: "del {from} al {to} (año completo)",
    period_partial: "del {from} al {to} (parcial: el año no ha terminado a la fecha del informe)",
    f_objective: "Objetivo estratégico",
    f_action: "Acción estratégica",
    f_indicator: "Indicador",
    f_formula: "Fórmula",
    f_target: "Meta {year}",
    f_target_note: "Nota sobre la meta",
    f_value: "Valor",
    f_progress: "Avance",
    f_period: "Periodo",
    f_source: "Fuente de datos",
    f_responsible: "Responsable",
    f_counted: "Contado",
    f_formula_result: "Fórmula de la ficha",
    no_target: "sin meta registrada para {year}",
    no_progress: "sin meta: no se calcula avance",
    progress_of_target: "{percent} de la meta",
    value_projects: "{value} proyecto(s) implementado(s)",
    value_devices: "{value} equipo(s) renovado(s)",
    formula_result: "{improved} de {evaluated} componentes actualizados o mejorados = {percent}",
    formula_empty: "ningún componente evaluado",
    projects: "Proyectos",
    components: "Componentes de la fórmula",
    c_devices_evaluated: "Equipos evaluados ({count})",
    c_sites_evaluated: "Enlaces de sedes evaluados ({count})",
    c_devices_improved: "Equipos renovados en el periodo ({count})",
    c_sites_improved: "Sedes con enlace mejorado en el periodo ({count})",
    c_baseline: "Línea base de los enlaces: {kind} (desde {start}, hasta {end}).",
    upgrade: "{site}: {from} → {to}",
    renewed_devices: "Equipos renovados",
    detected_replacements: "Reemplazos detectados, por confirmar",
    detected_note: "vigia vio cambiar el número de serie de estos equipos en el periodo. No cuentan para el indicador: su fuente es el registro de la oficina de abastecimiento. Cuentan cuando el inventario registra la renovación (lifecycle.renewed, y replaces si el equipo nuevo tiene otro id).",
    detail: "Detalle",
    kinds: [
        "proyecto",
        "equipo evaluado",
        "enlace de sede evaluado",
        "equipo mejorado",
        "enlace de sede mejorado",
        "equipo renovado",
        "reemplazo detectado, por confirmar",
    ],
    indicator_rules: &[
        "AE.7.03: cuenta los proyectos del indicador con estado implementado y fecha implemented_on dentro del periodo (el 31 de diciembre cuenta para ese año; el 1 de enero para el siguiente).",
        "Fórmula de la ficha: componentes mejorados / evaluados × 100. Evaluados: los equipos monitoreados en servicio al fin del periodo y el enlace de cada sede secundaria. Mejorados: equipos renovados en el periodo y sedes cuyo medio mejoró (sin enlace < radio < fibra) entre la línea base y la última instantánea del periodo.",
        "AE.7.04: cuenta los equipos con fecha lifecycle.renewed dentro del periodo.",
        "Avance: valor / meta × 100; sin meta para el año no se calcula.",
    ],
};

/// English.
pub static EN: Strings = Strings {
    classes: ["switch", "router", "firewall", "server", "access point", "radio", "other"],
    media: ["fibre", "radio link", "no link"],
    main_site: "main site",
    reasons: ["support ended", "support ending", "too old", "unreliable", "IPv6 overdue"],
    priorities: ["high", "medium", "low"],
    date_fields: ["acquisition date", "end of sale", "end of support"],
    stages: ["configured", "ICMPv6", "SNMP over IPv6", "dual stack"],
    statuses: ["planned", "in progress", "implemented", "cancelled"],
    baselines: [
        "last inventory snapshot before the period",
        "no snapshot before the period: the first one inside it (an earlier change cannot be proven)",
        "no inventory snapshot up to the end of the period: no link upgrade can be proven",
    ],
    yes: "yes",
    no: "no",
    no_data: "no data",
    none_listed: "none",
    not_applicable: "n/a",
    ipv6_sheets: [
        "Devices",
        "Coverage",
        "Site and class",
        "By site",
        "By class",
        "Overdue",
        "Broken",
    ],
    links_sheets: ["Sites", "By medium", "Sources", "Health", "No link"],
    not_recorded: "not recorded in the inventory",
    percent: "{value}%",
    as_of: "As of {date} (history up to {instant}, exclusive).",
    list_sep: "; ",

    renewal_title: "Equipment renewal candidates",
    renewal_summary: "Devices in service evaluated: {evaluated}. Candidates: {candidates} (high {high}, medium {medium}, low {low}). With unknown dates: {missing}.",
    candidates: "Candidates",
    no_candidates: "No device is a candidate on the data available.",
    missing_data: "Missing data",
    missing_data_note: "Devices in service with unknown dates. They are never scored as if new: the rule that needs the date is not applied, the others are. Record the dates in the inventory (lifecycle.acquired, lifecycle.end_of_sale, lifecycle.end_of_support).",
    policy: "Policy",
    rules: "Rules",
    rule_max_age: "Maximum age",
    other_classes: "other classes",
    rule_support_warning: "Warning before end of support",
    rule_availability: "Minimum availability (ICMP, best family)",
    rule_min_polls: "Fewest polls to judge availability",
    rule_restarts: "Unexplained restarts that make a device unreliable",
    rule_explained: "A restart is explained by another site event within",
    rule_window: "Reliability history window",
    unit_years: "years",
    unit_days: "days",
    unit_percent: "%",
    unit_polls: "polls",
    unit_restarts: "restarts",
    unit_minutes: "minutes",
    renewal_rules: &[
        "Devices in service on the report's day are evaluated (not retired, not acquired or renewed later).",
        "support ended: end of support on or before the report's day (the day itself counts as unsupported). 40 points, plus 10 per full 365 days unsupported (up to 3). Always high priority.",
        "support ending: end of support within the policy's warning days (last day included). 25 points.",
        "too old: older than its class's limit; the limit is reached on the N-th anniversary of acquisition (29 February falls on 28 February), when the device is N years old, not older: it is a candidate from the next day. 30 points, plus 5 per full year over the limit (up to 4).",
        "unreliable: over the previous 90 days, ICMP availability under 99 % in its best family (with at least 100 polls), or 3 or more unexplained restarts (a restart within 15 minutes of its site's isolation or of another restart at the same site is explained by the site). Monitored devices only. 30 points.",
        "IPv6 overdue: its ipv6_planned day has passed and it still has no working IPv6 (no address, or no recent ICMPv6 reply). 15 points.",
        "Priority: high when support ended or 60 points or more; medium from 25; low below. Order: score, then nearest end of support, then oldest acquisition, then device.",
    ],
    ev_support_ended: "support ended on {date} ({days} days ago)",
    ev_support_ending: "support ends on {date} (in {days} days; warning {warning} days)",
    ev_too_old: "acquired on {acquired}: {age} years old, limit {max} years (reached on {limit})",
    ev_availability: "ICMP {family} availability {percent}% over {days} days ({successes} of {polls} polls)",
    ev_restarts: "{count} unexplained restarts over {days} days ({dates}); explained by the site: {explained}",
    ev_ipv6_overdue: "IPv6 planned for {date} ({days} days ago)",
    ev_ipv6_no_address: "no IPv6 address",
    ev_ipv6_failing: "IPv6 configured, no ICMPv6 reply ({outcome}, {at})",
    ev_ipv6_no_result: "IPv6 configured, no recent ICMPv6 result",

    ipv6_title: "IPv6 transition: coverage",
    ipv6_fresh: "Results of the last {minutes} minutes are used; an older one counts as no result.",
    ipv6_scope: "Monitored devices: {devices}; with SNMP configured: {snmp}.",
    ipv6_overall: "Overall coverage",
    ipv6_matrix: "By site and class",
    ipv6_by_site: "By site",
    ipv6_by_class: "By class",
    ipv6_overdue: "Overdue against the plan (ipv6_planned passed, no ICMPv6)",
    ipv6_broken: "Configured but broken on IPv6 while IPv4 answers",
    tally: "{passed}/{eligible} ({percent})",
    tally_empty: "—",
    ipv6_rules: &[
        "Devices: those monitored on the day (in service, at the main site or at a site with a link).",
        "configured: has an IPv6 address in the inventory. Of: every device.",
        "ICMPv6: configured and its latest ICMPv6 cycle answered. Of: every device.",
        "SNMP over IPv6: its latest SNMP poll over IPv6 answered. Of: devices with SNMP configured (ICMP-only devices do not count against it).",
        "dual stack: its latest ICMP cycles over IPv4 and IPv6 both answered. Of: every device.",
        "Configured but broken: has IPv6, IPv4 answers and the latest ICMPv6 failed (the worst case). No recent result is not broken: it is unmeasured.",
    ],
    check: "Check",
    check_line: "{stage} ≥ {min}% ({scope}): {passed} of {eligible} = {percent}: {verdict}",
    check_all: "all devices",
    check_site: "site {site}",
    check_class: "class {class}",
    check_pass: "PASS",
    check_fail: "FAIL",

    links_title: "Site links",
    links_window: "Link health over the {days} days from {from} to {to} (exclusive).",
    links_by_medium: "Sites by medium",
    links_polls: "{polls} of {expected}",
    insufficient: "insufficient data",
    branches_total: "all sites but the main one",
    fibre_coverage: "Fibre coverage: {fibre} of {branches} sites ({percent}).",
    connected_coverage: "Connected sites (fibre or radio): {connected} of {branches} ({percent}).",
    links_declared: "What the sources say",
    declared_total: "total sites",
    declared_contradiction: "{count} source(s) contradict the inventory: both figures are shown, none is picked silently.",
    links_health: "Link health (connected sites)",
    rtt_ms: "{ms} ms",
    links_unlinked: "Sites with no link",
    links_rules: &[
        "Coverage ratios are over the branch sites (the main site left out).",
        "Uplink devices: those marked uplink at the site, or all its monitored devices when none is.",
        "A site's figure in each family is its best uplink device's: the site is up when any answers.",
        "Availability: ICMP polls answered / polls; RTT: mean over answered polls; loss: echoes lost / sent.",
        "Polls: those in the window of those it could hold; below 90 % the availability reads \"insufficient data\".",
    ],

    dates_from_catalog: "{dates} from the catalogue ({vendor} {model}, {at}): {source}",
    by_discovered: " (found by what the device reports)",
    inv_title: "Inventory: what is declared and what the devices say",
    inv_summary: "Devices in service: {devices}. Matching: {match}; mismatched: {mismatch}; declared only: {declared_only}; discovered only: {discovered_only}; no SNMP: {no_snmp}; no data: {no_data}. Replacements detected: {replacements}.",
    inv_devices: "Devices",
    inv_replacements: "Replacements detected",
    verdicts: ["match", "mismatch", "declared only", "discovered only", "no SNMP", "no data"],
    inv_evidence: "SNMP poll of {instant} ({agent}, {family}); seen since {first}",
    discovered_mark: "{value} (discovered)",
    inv_rules: &[
        "Discovered: what the device reports over SNMP (vendor from the sysObjectID's enterprise number or entPhysicalMfgName; model and serial from ENTITY-MIB's chassis row).",
        "Match: every field both declared and discovered agrees (models regardless of case, blanks and punctuation; serials regardless of case).",
        "Mismatch: a declared field differs from what the device reports. The declaration is not changed: it is reviewed.",
        "Replacement detected: the device reported one serial number and then another; it proposes a renewal, it does not count one: it counts once the inventory records it (renewed / replaces).",
    ],

    indicators_title: "PEI 2025-2030 indicators (OEI.07): {year}",
    period_complete: "{from} to {to} (whole year)",
    period_partial: "{from} to {to} (partial: the year has not ended on the report's day)",
    f_objective: "Strategic objective",
    f_action: "Strategic action",
    f_indicator: "Indicator",
    f_formula: "Formula",
    f_target: "Target {year}",
    f_target_note: "Note on the target",
    f_value: "Value",
    f_progress: "Progress",
    f_period: "Period",
    f_source: "Data source",
    f_responsible: "Responsible",
    f_counted: "Counted",
    f_formula_result: "Ficha formula",
    no_target: "no target recorded for {year}",
    no_progress: "no target: no progress figure",
    progress_of_target: "{percent} of target",
    value_projects: "{value} project(s) implemented",
    value_devices: "{value} device(s) renewed",
    formula_result: "{improved} of {evaluated} components updated or improved = {percent}",
    formula_empty: "no component evaluated",
    projects: "Projects",
    components: "Formula components",
    c_devices_evaluated: "Devices evaluated ({count})",
    c_sites_evaluated: "Site links evaluated ({count})",
    c_devices_improved: "Devices renewed in the period ({count})",
    c_sites_improved: "Sites whose link was upgraded in the period ({count})",
    c_baseline: "Link baseline: {kind} (from {start}, to {end}).",
    upgrade: "{site}: {from} → {to}",
    renewed_devices: "Renewed devices",
    detected_replacements: "Replacements detected, to be confirmed",
    detected_note: "vigia saw these devices' serial numbers change in the period. They do not count for the indicator: its source is the procurement office's register. They count once the inventory records the renewal (lifecycle.renewed, and replaces when the new device has another id).",
    detail: "Detail",
    kinds: [
        "project",
        "device evaluated",
        "site link evaluated",
        "device improved",
        "site link improved",
        "device renewed",
        "replacement detected, to be confirmed",
    ],
    indicator_rules: &[
        "AE.7.03: counts the indicator's projects with status implemented and implemented_on inside the period (31 December counts for that year; 1 January for the next).",
        "Ficha formula: improved / evaluated components × 100. Evaluated: the monitored devices in service at the end of the period and the link of every branch site. Improved: devices renewed in the period and sites whose medium improved (no link < radio < fibre) between the baseline and the last snapshot of the period.",
        "AE.7.04: counts the devices whose lifecycle.renewed falls inside the period.",
        "Progress: value / target × 100; not computed without a target for the year.",
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_tables_cover_every_value() {
        assert_eq!(fill("{a} de {b}", &[("a", &1), ("b", &"dos")]), "1 de dos");
        for lang in Lang::ALL {
            let t = lang.t();
            for c in DeviceClass::ALL {
                assert!(!t.class(*c).is_empty());
            }
            assert_eq!(t.link_label("main"), t.main_site);
            assert_eq!(t.link_label("fibre"), t.medium(LinkMedium::Fibre));
        }
        assert_eq!(ES.priority(Priority::High), "alta");
    }
}
