//! Obsolescence and renewal candidates: which devices should be renewed, why, with the evidence
//! behind every reason, ordered by a documented score (docs/reports.md, "Renovación").
//!
//! The rules, as of a day `D` (see [`AsOf`]):
//!
//! - A device is evaluated when it is in service on `D`: not retired on or before `D`, and not
//!   acquired or renewed after `D`. Unmonitored devices are evaluated too (they age all the
//!   same); the rules that need measurements only apply to devices vigia polls.
//! - `support_ended`: `end_of_support <= D`. The day itself counts as out of support.
//! - `support_ending`: `D < end_of_support <= D + support_warning_days`.
//! - `too_old`: strictly older than the class limit. The limit is reached on the N-th
//!   anniversary of `acquired` (`acquired + N years`, 29 February falling on 28 February); on
//!   that day the device is N years old, not older; it is a candidate from the next day.
//! - `unreliable`: over the [`RELIABILITY_DAYS`](crate::history::RELIABILITY_DAYS) before the as-of instant, either
//!   - the device's ICMP availability is under 99 % in its best family (a device is up when
//!     any of its families answers; the best family bounds that from below), judged only with
//!     at least [`MIN_POLLS`] polls in that family (with fewer, one lost poll alone would cross
//!     1 %); or
//!   - it restarted (SNMP `AgentRestart` events) at least [`REPEATED_RESTARTS`] times without
//!     explanation. A restart is explained when, within [`EXPLAINED_WITHIN`] of it, its site
//!     was isolated (`SiteIsolated`) or another device of the same site restarted too: that is
//!     a power or link cut at the site, not a fault of the device.
//! - `ipv6_overdue`: its `ipv6_planned` day is before `D` and it still has no working IPv6:
//!   no IPv6 address, or (for a polled device) no fresh successful ICMPv6 reply.
//!
//! A device's own `end_of_sale` and `end_of_support` win; where it has none, the inventory's
//! life-cycle catalogue (`crate::inventory::catalog`) entry for its vendor and model gives
//! them (the declared vendor and model, or, where the inventory has none, what the device
//! reported), and the device's facts say which entry and source they came from. Where the
//! inventory has no vendor, model or serial, the facts carry the discovered value apart, so a
//! report can show it marked as discovered.
//!
//! Devices with an unknown `acquired`, `end_of_sale` or `end_of_support` are listed in their
//! own section ("datos faltantes"). A rule whose date is unknown is not applied (the device is
//! never treated as new), but the other rules still are: a device with no purchase date whose
//! support ended is a candidate, and its row says which dates are missing, so its score is a
//! lower bound.

use std::collections::HashMap;

use chrono::{DateTime, Months, NaiveDate, TimeDelta, Utc};
use serde::Serialize;

use crate::history::{AsOf, AvailabilityIndex, FRESH_WITHIN, History, Latest, Window};
use crate::history::{EventKind, EventRecord};
use crate::inventory::{
    Device, DeviceClass, DeviceId, Family, Inventory, LinkMedium, Policy, Site, SiteId,
};
use crate::poll::{PollOutcome, ProbeKind};

/// Availability under this percentage (over the reliability window) makes a device unreliable.
pub const UNRELIABLE_BELOW_PERCENT: u64 = 99;

/// Fewest ICMP polls in a family for its availability to be judged.
pub const MIN_POLLS: u64 = 100;

/// This many unexplained restarts in the reliability window make a device unreliable.
pub const REPEATED_RESTARTS: usize = 3;

/// A restart this close to a site isolation, or to another restart at the same site, is
/// explained.
pub const EXPLAINED_WITHIN: TimeDelta = TimeDelta::minutes(15);

/// Points for `support_ended`, plus [`POINTS_PER_YEAR_UNSUPPORTED`] per full 365 days since.
pub const POINTS_SUPPORT_ENDED: u32 = 40;
/// Extra points per full 365 days without support, at most three times.
pub const POINTS_PER_YEAR_UNSUPPORTED: u32 = 10;
/// Points for `support_ending`.
pub const POINTS_SUPPORT_ENDING: u32 = 25;
/// Points for `too_old`, plus [`POINTS_PER_YEAR_OVER`] per full year past the limit.
pub const POINTS_TOO_OLD: u32 = 30;
/// Extra points per full year past the age limit, at most four times.
pub const POINTS_PER_YEAR_OVER: u32 = 5;
/// Points for `unreliable`.
pub const POINTS_UNRELIABLE: u32 = 30;
/// Points for `ipv6_overdue`.
pub const POINTS_IPV6_OVERDUE: u32 = 15;
/// A score at least this high is priority high (as is any device out of support).
pub const HIGH_FROM: u32 = 60;
/// A score at least this high is priority medium.
pub const MEDIUM_FROM: u32 = 25;

/// The fixed thresholds and points of the rules, carried in every result so a report says
/// what it applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rules {
    /// [`RELIABILITY_DAYS`](crate::history::RELIABILITY_DAYS).
    pub reliability_days: u32,
    /// [`UNRELIABLE_BELOW_PERCENT`].
    pub unreliable_below_percent: u64,
    /// [`MIN_POLLS`].
    pub min_polls: u64,
    /// [`REPEATED_RESTARTS`].
    pub repeated_restarts: usize,
    /// [`EXPLAINED_WITHIN`], in minutes.
    pub explained_within_minutes: i64,
    /// [`POINTS_SUPPORT_ENDED`].
    pub points_support_ended: u32,
    /// [`POINTS_PER_YEAR_UNSUPPORTED`].
    pub points_per_year_unsupported: u32,
    /// [`POINTS_SUPPORT_ENDING`].
    pub points_support_ending: u32,
    /// [`POINTS_TOO_OLD`].
    pub points_too_old: u32,
    /// [`POINTS_PER_YEAR_OVER`].
    pub points_per_year_over: u32,
    /// [`POINTS_UNRELIABLE`].
    pub points_unreliable: u32,
    /// [`POINTS_IPV6_OVERDUE`].
    pub points_ipv6_overdue: u32,
    /// [`HIGH_FROM`].
    pub high_from: u32,
    /// [`MEDIUM_FROM`].
    pub medium_from: u32,
}

impl Rules {
    /// The rules this version of vigia applies.
    pub const CURRENT: Rules = Rules {
        reliability_days: crate::history::RELIABILITY_DAYS,
        unreliable_below_percent: UNRELIABLE_BELOW_PERCENT,
        min_polls: MIN_POLLS,
        repeated_restarts: REPEATED_RESTARTS,
        explained_within_minutes: EXPLAINED_WITHIN.num_minutes(),
        points_support_ended: POINTS_SUPPORT_ENDED,
        points_per_year_unsupported: POINTS_PER_YEAR_UNSUPPORTED,
        points_support_ending: POINTS_SUPPORT_ENDING,
        points_too_old: POINTS_TOO_OLD,
        points_per_year_over: POINTS_PER_YEAR_OVER,
        points_unreliable: POINTS_UNRELIABLE,
        points_ipv6_overdue: POINTS_IPV6_OVERDUE,
        high_from: HIGH_FROM,
        medium_from: MEDIUM_FROM,
    };
}

names! {
    /// Why a device is a renewal candidate.
    Reason {
        /// Its vendor support has ended.
        SupportEnded = "support_ended",
        /// Its vendor support ends within the policy's warning days.
        SupportEnding = "support_ending",
        /// It is older than its class's age limit.
        TooOld = "too_old",
        /// It fails too often (availability or unexplained restarts).
        Unreliable = "unreliable",
        /// Its planned IPv6 date passed and it still has no working IPv6.
        Ipv6Overdue = "ipv6_overdue",
    }
}

names! {
    /// How urgently a candidate should be renewed (alta, media, baja in Spanish reports).
    Priority { High = "high", Medium = "medium", Low = "low" }
}

names! {
    /// A life-cycle date the rules need.
    DateField {
        /// When it was bought or entered service.
        Acquired = "acquired",
        /// Vendor's end of sale.
        EndOfSale = "end_of_sale",
        /// Vendor's end of support.
        EndOfSupport = "end_of_support",
    }
}

/// The renewal analysis of an inventory as of a day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Renewal {
    /// The day and instant described.
    pub as_of: AsOf,
    /// The history window of the `unreliable` rule.
    pub reliability_window: Window,
    /// The policy applied.
    pub policy: Policy,
    /// The fixed thresholds and points applied.
    pub rules: Rules,
    /// Devices in service on the day (evaluated).
    pub evaluated: usize,
    /// Candidates, highest score first.
    pub candidates: Vec<Candidate>,
    /// In-service devices with at least one unknown date, in inventory order.
    pub missing_data: Vec<MissingData>,
}

/// A device facts shared by both sections.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceFacts {
    /// Device id.
    pub device: DeviceId,
    /// Site id.
    pub site: SiteId,
    /// Site name.
    pub site_name: String,
    /// Class.
    pub class: DeviceClass,
    /// Maker.
    pub vendor: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Serial number.
    pub serial: Option<String>,
    /// Whether vigia polls it.
    pub polled: bool,
    /// When it was bought or entered service.
    pub acquired: Option<NaiveDate>,
    /// Full years since `acquired`.
    pub age_years: Option<u32>,
    /// Days since `acquired`.
    pub age_days: Option<i64>,
    /// The class's age limit.
    pub max_age_years: u32,
    /// Vendor's end of sale.
    pub end_of_sale: Option<NaiveDate>,
    /// Days from the as-of day to the end of sale (negative once past).
    pub days_to_end_of_sale: Option<i64>,
    /// Vendor's end of support.
    pub end_of_support: Option<NaiveDate>,
    /// Days from the as-of day to the end of support (negative once past).
    pub days_to_end_of_support: Option<i64>,
    /// Which of the dates are unknown.
    pub missing: Vec<DateField>,
    /// What the device reported where the inventory has no vendor, model or serial (each
    /// `None` where the inventory has one, or the device reported none).
    pub discovered: DiscoveredIdentity,
    /// The catalogue entry that gave `end_of_sale` or `end_of_support`, if one did.
    pub catalog: Option<CatalogUse>,
}

/// Identity fields a device reported and the inventory lacks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DiscoveredIdentity {
    /// Discovered vendor.
    pub vendor: Option<String>,
    /// Discovered model.
    pub model: Option<String>,
    /// Discovered serial.
    pub serial: Option<String>,
}

/// A catalogue entry applied to a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogUse {
    /// The entry's vendor, as written.
    pub vendor: String,
    /// The entry's model or pattern, as written.
    pub model: String,
    /// Its public source.
    pub source: String,
    /// Where it is written (`FILE:LINE`).
    pub at: String,
    /// The dates it gave (the device had none of its own).
    pub dates: Vec<DateField>,
    /// Whether it was found by a vendor or model the device reported (the inventory has
    /// none).
    pub by_discovered: bool,
}

/// A renewal candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// The device.
    #[serde(flatten)]
    pub facts: DeviceFacts,
    /// Sum of the findings' points.
    pub score: u32,
    /// Group by urgency.
    pub priority: Priority,
    /// Every reason found, in [`Reason`] order.
    pub findings: Vec<Finding>,
}

impl Candidate {
    /// Whether one of the findings is `reason`.
    pub fn has(&self, reason: Reason) -> bool {
        self.findings.iter().any(|f| f.reason == reason)
    }
}

/// One reason with its evidence and points.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The reason.
    pub reason: Reason,
    /// Points it adds to the score.
    pub points: u32,
    /// The figures behind it.
    pub evidence: Evidence,
}

/// The figures behind a reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Evidence {
    /// `support_ended`.
    SupportEnded {
        /// The end of support.
        end_of_support: NaiveDate,
        /// Days since (0 on the day itself).
        days_since: i64,
    },
    /// `support_ending`.
    SupportEnding {
        /// The end of support.
        end_of_support: NaiveDate,
        /// Days left.
        days_left: i64,
        /// The policy's warning days.
        warning_days: u32,
    },
    /// `too_old`.
    TooOld {
        /// Acquisition date.
        acquired: NaiveDate,
        /// Full years of age.
        age_years: u32,
        /// The class's limit.
        max_age_years: u32,
        /// The day the limit was reached (the N-th anniversary).
        limit_reached_on: NaiveDate,
        /// Full years past the limit.
        years_over: u32,
    },
    /// `unreliable`.
    Unreliable {
        /// Availability under the threshold, when that is a cause.
        availability: Option<AvailabilityEvidence>,
        /// Repeated unexplained restarts, when that is a cause.
        restarts: Option<RestartEvidence>,
    },
    /// `ipv6_overdue`.
    Ipv6Overdue {
        /// The planned day.
        ipv6_planned: NaiveDate,
        /// Days since it.
        days_overdue: i64,
        /// Whether an IPv6 address is configured.
        configured: bool,
        /// The latest fresh ICMPv6 result, if any.
        latest_icmp: Option<LatestResult>,
    },
}

/// ICMP availability of a device's best family over the reliability window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AvailabilityEvidence {
    /// The family.
    pub family: Family,
    /// Polls.
    pub polls: u64,
    /// Successful polls.
    pub successes: u64,
    /// successes / polls.
    pub ratio: f64,
}

/// Restarts over the reliability window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestartEvidence {
    /// When each unexplained restart was seen.
    pub unexplained: Vec<DateTime<Utc>>,
    /// Restarts explained by a site-wide event.
    pub explained: usize,
}

/// A latest probe result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatestResult {
    /// When.
    pub at: DateTime<Utc>,
    /// How it ended.
    pub outcome: PollOutcome,
    /// Whether it succeeded.
    pub success: bool,
}

/// A device with unknown dates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MissingData {
    /// The device.
    #[serde(flatten)]
    pub facts: DeviceFacts,
    /// Whether it is also a renewal candidate for a reason its known data proves.
    pub candidate: bool,
}

/// Whether `device` is in service on `day`: not retired by then, not yet to come.
pub fn in_service(device: &Device, day: NaiveDate) -> bool {
    let lc = &device.lifecycle;
    lc.retired.is_none_or(|r| r > day)
        && lc.acquired.is_none_or(|a| a <= day)
        && lc.renewed.is_none_or(|r| r <= day)
}

/// Whether vigia polls `device`: monitored, at the main site or a linked branch. (One lookup;
/// over many devices use [`SiteIndex::polled`].)
pub fn polled(inv: &Inventory, device: &Device) -> bool {
    device.monitor && inv.site(&device.site).is_some_and(|s| s.link != Some(LinkMedium::None))
}

/// The inventory's sites by id: O(1) lookups for passes over thousands of devices.
#[derive(Debug)]
pub struct SiteIndex<'a> {
    by_id: HashMap<&'a str, &'a Site>,
}

impl<'a> SiteIndex<'a> {
    /// Index the inventory's sites.
    pub fn new(inv: &'a Inventory) -> SiteIndex<'a> {
        SiteIndex { by_id: inv.sites.iter().map(|s| (s.id.as_str(), s)).collect() }
    }

    /// The site with this id.
    pub fn get(&self, id: &str) -> Option<&'a Site> {
        self.by_id.get(id).copied()
    }

    /// Whether vigia polls `device` (see [`polled`]).
    pub fn polled(&self, device: &Device) -> bool {
        device.monitor && self.get(&device.site).is_some_and(|s| s.link != Some(LinkMedium::None))
    }
}

/// The day `acquired` reaches `years` of age (29 February falls on 28 February).
pub fn anniversary(acquired: NaiveDate, years: u32) -> NaiveDate {
    acquired.checked_add_months(Months::new(years.saturating_mul(12))).unwrap_or(NaiveDate::MAX)
}

/// Full years from `acquired` to `day` (0 before the first anniversary).
pub fn full_years(acquired: NaiveDate, day: NaiveDate) -> u32 {
    if day < acquired {
        return 0;
    }
    let mut years = u32::try_from(chrono::Datelike::year(&day) - chrono::Datelike::year(&acquired))
        .unwrap_or(0);
    while years > 0 && anniversary(acquired, years) > day {
        years -= 1;
    }
    years
}

/// Whether a device of age limit `max_years` acquired on `acquired` is too old on `day`.
pub fn too_old(acquired: NaiveDate, max_years: u32, day: NaiveDate) -> bool {
    day > anniversary(acquired, max_years)
}

/// Whether `successes` of `polls` is under the availability threshold (exact integers).
pub fn under_threshold(successes: u64, polls: u64) -> bool {
    successes.saturating_mul(100) < polls.saturating_mul(UNRELIABLE_BELOW_PERCENT)
}

/// Priority of a candidate from its score and reasons.
pub fn priority(score: u32, support_ended: bool) -> Priority {
    if support_ended || score >= HIGH_FROM {
        Priority::High
    } else if score >= MEDIUM_FROM {
        Priority::Medium
    } else {
        Priority::Low
    }
}

/// A restart: when, and at which site (from the event, else the inventory).
type Sighting = (DateTime<Utc>, Option<SiteId>);

/// Restart events of one site, sorted by time, for the "explained" lookups.
#[derive(Default)]
struct SiteEvents<'a> {
    restarts: Vec<(DateTime<Utc>, &'a str)>,
    isolations: Vec<DateTime<Utc>>,
}

impl SiteEvents<'_> {
    fn explains(&self, at: DateTime<Utc>, device: &str) -> bool {
        let (lo, hi) = (at - EXPLAINED_WITHIN, at + EXPLAINED_WITHIN);
        let iso = self.isolations.partition_point(|t| *t < lo);
        if self.isolations.get(iso).is_some_and(|t| *t <= hi) {
            return true;
        }
        let start = self.restarts.partition_point(|(t, _)| *t < lo);
        self.restarts[start..].iter().take_while(|(t, _)| *t <= hi).any(|(_, d)| *d != device)
    }
}

/// Analyse the inventory's devices as of `as_of`.
pub fn analyse(inv: &Inventory, history: &History, as_of: AsOf) -> Renewal {
    let day = as_of.date;
    let window = as_of.reliability_window();
    let availability = AvailabilityIndex::new(&history.availability_90d);
    let latest = Latest::new(&history.latest, as_of, FRESH_WITHIN);
    let sites = SiteIndex::new(inv);
    let restarts = Restarts::new(inv, history, window);
    let reported = crate::discovered::reported(&history.facts, as_of.instant);

    let mut candidates = Vec::new();
    let mut missing_data = Vec::new();
    let mut evaluated = 0;
    for device in inv.devices.iter().filter(|d| in_service(d, day)) {
        evaluated += 1;
        let facts = facts(inv, &sites, device, reported.get(&device.id), day);
        let is_polled = facts.polled;
        let mut findings: Vec<Finding> = [
            support_finding(facts.end_of_support, &inv.policy, day),
            age_finding(device, facts.max_age_years, day),
            is_polled.then(|| reliability_finding(device, &availability, &restarts)).flatten(),
            ipv6_finding(device, &latest, day, is_polled),
        ]
        .into_iter()
        .flatten()
        .collect();
        let is_candidate = !findings.is_empty();
        if !facts.missing.is_empty() {
            missing_data.push(MissingData { facts: facts.clone(), candidate: is_candidate });
        }
        if is_candidate {
            findings.sort_by_key(|f| f.reason);
            let score = findings.iter().map(|f| f.points).sum();
            let ended = findings.iter().any(|f| f.reason == Reason::SupportEnded);
            candidates.push(Candidate { facts, score, priority: priority(score, ended), findings });
        }
    }
    candidates.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then_with(|| cmp_unknown_last(a.facts.end_of_support, b.facts.end_of_support))
            .then_with(|| cmp_unknown_last(a.facts.acquired, b.facts.acquired))
            .then_with(|| a.facts.device.cmp(&b.facts.device))
    });
    Renewal {
        as_of,
        reliability_window: window,
        policy: inv.policy.clone(),
        rules: Rules::CURRENT,
        evaluated,
        candidates,
        missing_data,
    }
}

/// Agent restarts inside the reliability window: per device, and per site with the site's
/// isolations, for the explanations.
struct Restarts<'a> {
    by_site: HashMap<SiteId, SiteEvents<'a>>,
    of_device: HashMap<&'a str, Vec<Sighting>>,
}

impl<'a> Restarts<'a> {
    fn new(inv: &Inventory, history: &'a History, window: Window) -> Restarts<'a> {
        let devices: HashMap<&str, &Device> =
            inv.devices.iter().map(|d| (d.id.as_str(), d)).collect();
        let in_window = |e: &&EventRecord| window.contains(e.at) && e.device.is_some();
        let site_of = |e: &EventRecord| -> Option<SiteId> {
            e.site.clone().or_else(|| {
                e.device.as_deref().and_then(|d| devices.get(d)).map(|d| d.site.clone())
            })
        };
        let mut by_site: HashMap<SiteId, SiteEvents> = HashMap::new();
        let mut of_device: HashMap<&str, Vec<Sighting>> = HashMap::new();
        for e in history.restarts_90d.iter().filter(in_window) {
            if e.kind != EventKind::AgentRestart {
                continue;
            }
            let device = e.device.as_deref().unwrap_or_default();
            let site = site_of(e);
            if let Some(s) = &site {
                by_site.entry(s.clone()).or_default().restarts.push((e.at, device));
            }
            of_device.entry(device).or_default().push((e.at, site));
        }
        for e in history.isolations_90d.iter().filter(|e| window.contains(e.at)) {
            if e.kind == EventKind::SiteIsolated
                && let Some(site) = &e.site
            {
                by_site.entry(site.clone()).or_default().isolations.push(e.at);
            }
        }
        for events in by_site.values_mut() {
            events.restarts.sort();
            events.isolations.sort();
        }
        Restarts { by_site, of_device }
    }

    /// The device's restarts, told apart: explained by its site, or not.
    fn of(&self, device: &Device) -> Option<RestartEvidence> {
        let list = self.of_device.get(device.id.as_str())?;
        let mut unexplained = Vec::new();
        let mut explained = 0;
        for (at, site) in list {
            let site = site.as_deref().unwrap_or(&device.site);
            if self.by_site.get(site).is_some_and(|s| s.explains(*at, &device.id)) {
                explained += 1;
            } else {
                unexplained.push(*at);
            }
        }
        unexplained.sort();
        Some(RestartEvidence { unexplained, explained })
    }
}

/// Support ended, or ends within the policy's warning.
fn support_finding(eos: Option<NaiveDate>, policy: &Policy, day: NaiveDate) -> Option<Finding> {
    let eos = eos?;
    let days_left = (eos - day).num_days();
    if eos <= day {
        let years = u32::try_from(-days_left / 365).unwrap_or(u32::MAX).min(3);
        Some(Finding {
            reason: Reason::SupportEnded,
            points: POINTS_SUPPORT_ENDED + POINTS_PER_YEAR_UNSUPPORTED * years,
            evidence: Evidence::SupportEnded { end_of_support: eos, days_since: -days_left },
        })
    } else if days_left <= i64::from(policy.support_warning_days) {
        Some(Finding {
            reason: Reason::SupportEnding,
            points: POINTS_SUPPORT_ENDING,
            evidence: Evidence::SupportEnding {
                end_of_support: eos,
                days_left,
                warning_days: policy.support_warning_days,
            },
        })
    } else {
        None
    }
}

/// Older than its class's age limit.
fn age_finding(device: &Device, max: u32, day: NaiveDate) -> Option<Finding> {
    let acquired = device.lifecycle.acquired?;
    if !too_old(acquired, max, day) {
        return None;
    }
    let age = full_years(acquired, day);
    let over = age.saturating_sub(max);
    Some(Finding {
        reason: Reason::TooOld,
        points: POINTS_TOO_OLD + POINTS_PER_YEAR_OVER * over.min(4),
        evidence: Evidence::TooOld {
            acquired,
            age_years: age,
            max_age_years: max,
            limit_reached_on: anniversary(acquired, max),
            years_over: over,
        },
    })
}

/// Low availability, or repeated restarts its site does not explain (polled devices only).
fn reliability_finding(
    device: &Device,
    availability: &AvailabilityIndex,
    restarts: &Restarts,
) -> Option<Finding> {
    let low_availability =
        best_availability(availability, device).filter(|a| under_threshold(a.successes, a.polls));
    let restarts = restarts.of(device).filter(|r| r.unexplained.len() >= REPEATED_RESTARTS);
    if low_availability.is_none() && restarts.is_none() {
        return None;
    }
    Some(Finding {
        reason: Reason::Unreliable,
        points: POINTS_UNRELIABLE,
        evidence: Evidence::Unreliable { availability: low_availability, restarts },
    })
}

/// IPv6 planned for a past day and not working.
fn ipv6_finding(
    device: &Device,
    latest: &Latest,
    day: NaiveDate,
    is_polled: bool,
) -> Option<Finding> {
    let planned = device.ipv6_planned.filter(|p| *p < day)?;
    let configured = device.ipv6.is_some();
    let latest_icmp = latest.get(&device.id, Family::Ipv6, ProbeKind::Icmp).map(|r| LatestResult {
        at: r.at,
        outcome: r.outcome,
        success: r.success,
    });
    let working = configured && latest_icmp.as_ref().is_some_and(|r| r.success);
    // An unpolled device with an address cannot be judged: nothing says it fails.
    (!working && (!configured || is_polled)).then(|| Finding {
        reason: Reason::Ipv6Overdue,
        points: POINTS_IPV6_OVERDUE,
        evidence: Evidence::Ipv6Overdue {
            ipv6_planned: planned,
            days_overdue: (day - planned).num_days(),
            configured,
            latest_icmp: if configured { latest_icmp } else { None },
        },
    })
}

fn cmp_unknown_last(a: Option<NaiveDate>, b: Option<NaiveDate>) -> std::cmp::Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(&b),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    }
}

/// The device's best-family ICMP availability, among families with enough polls.
fn best_availability(idx: &AvailabilityIndex, device: &Device) -> Option<AvailabilityEvidence> {
    device
        .families()
        .filter_map(|family| {
            let row = idx.get(&device.id, family, ProbeKind::Icmp)?;
            (row.polls >= MIN_POLLS).then(|| AvailabilityEvidence {
                family,
                polls: row.polls,
                successes: row.successes,
                ratio: row.successes as f64 / row.polls as f64,
            })
        })
        // Compare successes/polls exactly: a.s * b.p vs b.s * a.p.
        .max_by(|a, b| {
            (u128::from(a.successes) * u128::from(b.polls))
                .cmp(&(u128::from(b.successes) * u128::from(a.polls)))
                .then_with(|| b.family.cmp(&a.family))
        })
}

fn facts(
    inv: &Inventory,
    sites: &SiteIndex,
    device: &Device,
    reported: Option<&crate::discovered::Reported>,
    day: NaiveDate,
) -> DeviceFacts {
    let lc = &device.lifecycle;
    let found =
        |f: crate::discovered::Field| reported.and_then(|r| r.field(f)).map(|s| s.value.clone());
    use crate::discovered::Field;
    let discovered = DiscoveredIdentity {
        vendor: device.vendor.is_none().then(|| found(Field::Vendor)).flatten(),
        model: device.model.is_none().then(|| found(Field::Model)).flatten(),
        serial: device.serial.is_none().then(|| found(Field::Serial)).flatten(),
    };
    let vendor = device.vendor.as_ref().or(discovered.vendor.as_ref());
    let model = device.model.as_ref().or(discovered.model.as_ref());
    let entry = match (vendor, model) {
        (Some(v), Some(m)) if lc.end_of_sale.is_none() || lc.end_of_support.is_none() => {
            inv.catalog.find(v, m)
        }
        _ => None,
    };
    let end_of_sale = lc.end_of_sale.or(entry.and_then(|e| e.end_of_sale));
    let end_of_support = lc.end_of_support.or(entry.and_then(|e| e.end_of_support));
    let catalog = entry.and_then(|e| {
        let mut dates = Vec::new();
        if lc.end_of_sale.is_none() && e.end_of_sale.is_some() {
            dates.push(DateField::EndOfSale);
        }
        if lc.end_of_support.is_none() && e.end_of_support.is_some() {
            dates.push(DateField::EndOfSupport);
        }
        (!dates.is_empty()).then(|| CatalogUse {
            vendor: e.vendor.clone(),
            model: e.model.clone(),
            source: e.source.clone(),
            at: e.at.clone(),
            dates,
            by_discovered: device.vendor.is_none() || device.model.is_none(),
        })
    });
    let mut missing = Vec::new();
    if lc.acquired.is_none() {
        missing.push(DateField::Acquired);
    }
    if end_of_sale.is_none() {
        missing.push(DateField::EndOfSale);
    }
    if end_of_support.is_none() {
        missing.push(DateField::EndOfSupport);
    }
    DeviceFacts {
        device: device.id.clone(),
        site: device.site.clone(),
        site_name: sites.get(&device.site).map(|s| s.name.clone()).unwrap_or_default(),
        class: device.class,
        vendor: device.vendor.clone(),
        model: device.model.clone(),
        serial: device.serial.clone(),
        polled: sites.polled(device),
        acquired: lc.acquired,
        age_years: lc.acquired.map(|a| full_years(a, day)),
        age_days: lc.acquired.map(|a| (day - a).num_days()),
        max_age_years: inv.policy.max_age(device.class),
        end_of_sale,
        days_to_end_of_sale: end_of_sale.map(|d| (d - day).num_days()),
        end_of_support,
        days_to_end_of_support: end_of_support.map(|d| (d - day).num_days()),
        missing,
        discovered,
        catalog,
    }
}

#[cfg(test)]
mod tests;
