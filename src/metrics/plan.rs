//! The plan's numbers: the IPv6 transition and the PEI indicators, as the agent last computed
//! them from the history (every `derive_every`; nothing until the first time).

use std::sync::Arc;

use super::encode::Encoder;
use super::{Group, Kind, Metric};
use crate::agent::{Plan, Shared};
use crate::ipv6::Stage;

/// `vigia_ipv6_coverage_ratio`.
pub const IPV6_COVERAGE_RATIO: Metric = Metric {
    name: "vigia_ipv6_coverage_ratio",
    kind: Kind::Gauge,
    unit: Some("ratio"),
    labels: &["stage"],
    help: "Share of monitored devices at each IPv6 transition stage (configured, icmp, snmp, dual_stack).",
    doc_unit: "ratio 0-1",
    doc: "share of the monitored devices that reached each stage",
};

/// `vigia_ipv6_devices`.
pub const IPV6_DEVICES: Metric = Metric {
    name: "vigia_ipv6_devices",
    kind: Kind::Gauge,
    unit: None,
    labels: &["stage", "site", "class"],
    help: "Devices per IPv6 stage, site and class; stages monitored and snmp_configured are the denominators.",
    doc_unit: "devices",
    doc: "the counts behind the ratio, per site and class (zero where none), with the denominators `monitored` and `snmp_configured`",
};

/// `vigia_indicator_value`.
pub const INDICATOR_VALUE: Metric = Metric {
    name: "vigia_indicator_value",
    kind: Kind::Gauge,
    unit: None,
    labels: &["indicator", "year"],
    help: "Indicator value for the year so far (AE.7.03 projects implemented, AE.7.04 devices renewed).",
    doc_unit: "as the indicator's formula",
    doc: "the indicator's current value for that year",
};

/// `vigia_indicator_target`.
pub const INDICATOR_TARGET: Metric = Metric {
    name: "vigia_indicator_target",
    kind: Kind::Gauge,
    unit: None,
    labels: &["indicator", "year"],
    help: "Indicator target for the year, as the inventory records it.",
    doc_unit: "as the indicator's formula",
    doc: "its target for that year (from the inventory)",
};

/// This group.
pub const GROUP: Group = Group {
    title: "IPv6 transition and indicators",
    metrics: &[&IPV6_COVERAGE_RATIO, &IPV6_DEVICES, &INDICATOR_VALUE, &INDICATOR_TARGET],
};

/// `stage` of `vigia_ipv6_devices` counting every device in scope (the denominator of
/// `configured`, `icmp` and `dual_stack`).
pub const STAGE_MONITORED: &str = "monitored";
/// `stage` counting the devices in scope with SNMP configured (the denominator of `snmp`).
pub const STAGE_SNMP_CONFIGURED: &str = "snmp_configured";

/// What this group read: the plan's figures, once computed.
pub(super) struct Reading {
    plan: Option<Arc<Plan>>,
}

pub(super) fn read(shared: &Shared) -> Reading {
    Reading { plan: shared.plan.clone() }
}

pub(super) fn write(out: &mut Encoder, r: &Reading) {
    let plan = r.plan.as_deref();
    let coverage = plan.map(|p| &p.coverage);
    // Stages with nothing eligible have no ratio (no NaN).
    let mut family = out.family(&IPV6_COVERAGE_RATIO);
    for stage in Stage::ALL {
        if let Some(ratio) = coverage.and_then(|c| c.stages.get(*stage).ratio()) {
            family.sample(&[stage.as_str()], ratio);
        }
    }
    // Per (site, class) with devices in scope: the two denominators, then each stage's passes.
    let mut family = out.family(&IPV6_DEVICES);
    for cell in coverage.map(|c| c.matrix.as_slice()).unwrap_or_default() {
        let s = &cell.stages;
        let counts =
            [(STAGE_MONITORED, s.configured.eligible), (STAGE_SNMP_CONFIGURED, s.snmp.eligible)]
                .into_iter()
                .chain(Stage::ALL.iter().map(|stage| (stage.as_str(), s.get(*stage).passed)));
        for (stage, n) in counts {
            family.sample(&[stage, &cell.site, cell.class.as_str()], n as f64);
        }
    }
    let indicators = plan.and_then(|p| p.indicators.as_ref());
    let fichas: Vec<_> = indicators.iter().flat_map(|i| [&i.ae703.ficha, &i.ae704.ficha]).collect();
    let mut family = out.family(&INDICATOR_VALUE);
    for f in &fichas {
        family.sample(&[f.indicator.as_str(), &f.period.year.to_string()], f.value as f64);
    }
    let mut family = out.family(&INDICATOR_TARGET);
    for f in &fichas {
        if let Some(target) = f.target {
            family.sample(&[f.indicator.as_str(), &f.period.year.to_string()], target);
        }
    }
}
