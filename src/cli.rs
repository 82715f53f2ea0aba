//! The command line: what each command takes. The handlers live in `commands/`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// vigia: network and infrastructure inventory monitor (dual-stack reachability, link media,
/// life cycle, IPv6 transition and the AE.7.03 / AE.7.04 indicators).
#[derive(Debug, Parser)]
#[command(name = "vigia", version, about, long_about = None)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Where the inventory is.
#[derive(Debug, Clone, clap::Args)]
pub struct InventoryArg {
    /// Inventory directory (YAML files).
    #[arg(long, env = "VIGIA_INVENTORY", default_value = "inventory/tacna")]
    pub inventory: PathBuf,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check, summarise or describe an inventory.
    #[command(subcommand)]
    Inventory(InventoryCommand),
    /// Poll every monitored device, keep history, export Prometheus metrics.
    Agent(AgentArgs),
    /// Poll one device now and print what it answers.
    Probe(ProbeArgs),
    /// Reports for people: renewal candidates, IPv6 transition, link media, indicators.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Checks for cron and pipelines: exit 0 when met, 2 when not, 64 on invalid input.
    #[command(subcommand)]
    Check(CheckCommand),
    /// The stored events (devices down and up, sites isolated and restored, restarts,
    /// inventory changes), filtered by time, site, device and kind.
    Events(EventsArgs),
    /// Build, inspect or remove a lab: a twin of the inventory's network on this machine
    /// (namespaces, real snmpd agents, links shaped like fibre and radio).
    #[command(subcommand)]
    Lab(LabCommand),
}

/// Which lab, and the host side of it.
#[derive(Debug, Clone, clap::Args)]
pub struct LabArgs {
    /// The lab's name (several labs may be up at once under different names).
    #[arg(long, default_value = "tacna")]
    pub name: String,
    /// Host-side IPv4 source address of probes into the lab (inside 198.18.0.0/15).
    #[arg(long, default_value_t = vigia_lab::DEFAULT_HOST_V4)]
    pub host_v4: std::net::Ipv4Addr,
    /// Host-side IPv6 source address of probes into the lab (inside 2001:db8::/32).
    #[arg(long, default_value_t = vigia_lab::DEFAULT_HOST_V6)]
    pub host_v6: std::net::Ipv6Addr,
}

/// The name of a lab.
#[derive(Debug, Clone, clap::Args)]
pub struct LabName {
    /// The lab's name.
    #[arg(long, default_value = "tacna")]
    pub name: String,
}

/// `vigia lab ...`
#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// Build the lab for the inventory's polled devices and return once every agent answers;
    /// a detached holder process (vigia-lab-holder, beside vigia) keeps it up until
    /// `vigia lab down`.
    Up {
        /// The inventory.
        #[command(flatten)]
        inventory: InventoryArg,
        /// The lab.
        #[command(flatten)]
        lab: LabArgs,
    },
    /// Stop the lab's holder and remove everything the lab recorded making.
    Down(LabName),
    /// Whether the inventory can have a lab twin: every polled address inside 198.18.0.0/15 or
    /// 2001:db8::/32 (placeholders, as in the shipped inventory). Exit 0 if so, 2 if not.
    Check(InventoryArg),
    /// What is up, per device: namespace, addresses, medium, snmpd alive.
    Status {
        /// The lab.
        #[command(flatten)]
        lab: LabName,
        /// List every lab on this machine instead.
        #[arg(long)]
        all: bool,
    },
}

/// `vigia agent`
#[derive(Debug, clap::Args)]
pub struct AgentArgs {
    /// The inventory.
    #[command(flatten)]
    pub inventory: InventoryArg,
    /// History database: sqlite://FILE (embedded default) or postgres://USER@HOST/DB.
    #[arg(long, env = vigia::store::URL_ENV, default_value = vigia::store::DEFAULT_URL,
          value_parser = vigia::store::DbUrl::parse, hide_env_values = true)]
    pub db: vigia::store::DbUrl,
    /// Where /metrics, /healthz and /api/devices listen. Beyond loopback is your explicit
    /// choice.
    #[arg(long, env = "VIGIA_LISTEN", default_value = "127.0.0.1:9464")]
    pub listen: std::net::SocketAddr,
    /// Poll everything once, store it, print a summary and exit.
    #[arg(long)]
    pub once: bool,
    /// Bring up the lab twin of the inventory first (network namespaces with real snmpd on
    /// this machine; every address must be in 198.18.0.0/15 or 2001:db8::/32) and take it
    /// down on exit.
    #[arg(long)]
    pub lab: bool,
    /// This agent's id in the history (several agents may share PostgreSQL).
    #[arg(long, env = "VIGIA_AGENT_ID")]
    pub agent_id: Option<String>,
    /// Days of raw poll results to keep (daily roll-ups are kept for years).
    #[arg(long, default_value_t = 35)]
    pub raw_retention_days: u32,
    /// SNMP polls in flight at most (each holds one UDP socket per family while it runs; the
    /// agent raises its open-files limit to the hard limit and lowers this if it still does
    /// not fit).
    #[arg(long, default_value_t = 256)]
    pub max_in_flight: usize,
    /// Turn on `POST /-/reload`, for whoever sends the token this file holds
    /// (`Authorization: Bearer TOKEN`; the file: the token alone, at least 16 characters, not
    /// readable by every user, as SNMP secret files). Without it reload over HTTP is off;
    /// SIGHUP always works.
    #[arg(long)]
    pub reload_token_file: Option<PathBuf>,
    /// TLS and basic auth for every route, in the Prometheus exporter-toolkit's
    /// `web.config.file` format (tls_server_config: cert_file, key_file; basic_auth_users:
    /// user: bcrypt hash). docs/agent.md has an example.
    #[arg(long)]
    pub web_config_file: Option<PathBuf>,
    /// HTTP connections open at once at most; more are closed when accepted.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=65_536))]
    pub max_connections: u64,
    /// Rows kept in memory at most while the history store refuses writes (a full disk,
    /// PostgreSQL down); past it the oldest are dropped and counted
    /// (`vigia_store_dropped_rows_total`). Polling never waits on the store.
    #[arg(long, default_value_t = vigia::agent::DEFAULT_BUFFER_ROWS as u64,
          value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub buffer_rows: u64,
    /// How often the plan's numbers (life cycle, IPv6, indicators) are recomputed for
    /// /metrics. Hidden: the default (60s) suits production; the end-to-end tests shorten it.
    #[arg(long, hide = true, value_parser = parse_interval, default_value = "60s")]
    pub derive_every: std::time::Duration,
    /// Poll only shard I of N of the sites (1-based, e.g. 2/3), for several agents splitting
    /// one network and sharing PostgreSQL; every site belongs to exactly one shard.
    #[arg(long, env = "VIGIA_SHARD", default_value = "1/1")]
    pub shard: vigia::inventory::Shard,
    /// ICMP tasks (one device, every family) in flight at most. They share one socket per
    /// family, so this bounds memory (about 3 KiB each: 12 MiB at the default), not sockets;
    /// --icmp-gap bounds the rate.
    #[arg(long, default_value_t = 4096)]
    pub max_icmp_in_flight: usize,
    /// Time between two echoes to the same address, for every device (fping's -p; at least
    /// 10ms, at most 1m); overrides the inventory's `poll.icmp_spacing`.
    #[arg(long, value_parser = parse_icmp_spacing)]
    pub icmp_spacing: Option<std::time::Duration>,
    /// Time at least between any two echoes this process sends, to any address (fping's -i);
    /// `0` sends as fast as the cycles ask. The default, 50us, allows 20,000 echoes a second:
    /// ten times what 10,000 dual-stack devices ask at the default intervals (docs/agent.md).
    #[arg(long, value_parser = parse_icmp_gap, default_value = "50us")]
    pub icmp_gap: std::time::Duration,
    /// Send no ICMP at all in this run (SNMP only).
    #[arg(long)]
    pub no_icmp: bool,
}

/// `--icmp-spacing`: a duration as inventories spell it, within the inventory's bounds.
pub fn parse_icmp_spacing(text: &str) -> Result<std::time::Duration, String> {
    use vigia::inventory::{MAX_ICMP_SPACING, MIN_ICMP_SPACING, duration_text::format};
    let d = vigia::inventory::read::parse_duration(text)
        .ok_or_else(|| format!("expected a duration such as 100ms or 1s, got {text:?}"))?;
    if (MIN_ICMP_SPACING..=MAX_ICMP_SPACING).contains(&d) {
        Ok(d)
    } else {
        Err(format!(
            "{text} is out of range; allowed: at least {}, at most {}",
            format(MIN_ICMP_SPACING),
            format(MAX_ICMP_SPACING)
        ))
    }
}

/// `--icmp-gap`: `0`, or a duration in microseconds (`50us`) or as inventories spell it
/// (`1ms`), at most 1s.
pub fn parse_icmp_gap(text: &str) -> Result<std::time::Duration, String> {
    let d = if text == "0" {
        Some(std::time::Duration::ZERO)
    } else if let Some(us) = text.strip_suffix("us") {
        us.parse::<u64>().ok().map(std::time::Duration::from_micros)
    } else {
        vigia::inventory::read::parse_duration(text)
    };
    match d {
        Some(d) if d <= std::time::Duration::from_secs(1) => Ok(d),
        Some(_) => Err(format!("{text} is too long; allowed: 0 to 1s")),
        None => Err(format!("expected 0 or a duration such as 50us or 1ms, got {text:?}")),
    }
}

/// A duration as inventories spell it (`2s`, `1m30s`), not zero.
fn parse_interval(text: &str) -> Result<std::time::Duration, String> {
    vigia::inventory::read::parse_duration(text)
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("expected a duration such as 2s or 1m30s, got {text:?}"))
}

/// `vigia probe`
#[derive(Debug, clap::Args)]
pub struct ProbeArgs {
    /// The device id.
    pub device: String,
    /// The inventory.
    #[command(flatten)]
    pub inventory: InventoryArg,
    /// Which address families to probe.
    #[arg(long, value_enum, default_value_t = FamilyChoice::Both)]
    pub family: FamilyChoice,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Time between two echoes to the address (fping's -p; at least 10ms, at most 1m);
    /// overrides the device's and the inventory's `poll.icmp_spacing`.
    #[arg(long, value_parser = parse_icmp_spacing)]
    pub icmp_spacing: Option<std::time::Duration>,
}

/// `--family`
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FamilyChoice {
    /// IPv4 only.
    Ipv4,
    /// IPv6 only.
    Ipv6,
    /// Both, side by side.
    Both,
}

/// `vigia inventory ...`
#[derive(Debug, Subcommand)]
pub enum InventoryCommand {
    /// Report every problem of an inventory at once; exit 0 when valid, 64 when not.
    Check {
        /// The inventory.
        #[command(flatten)]
        inventory: InventoryArg,
        /// Treat unreadable secrets (unset variables, missing files) as errors, as the agent
        /// does when it starts: run it on the machine that will run the agent.
        #[arg(long)]
        require_secrets: bool,
    },
    /// Summarise an inventory: sites by medium, devices, IPv6, missing life-cycle data.
    Show(InventoryArg),
    /// Print the JSON Schema of an inventory file, for editors.
    Schema,
    /// Print a YAML fragment, for review, with the vendor, model and serial devices reported
    /// where the inventory has none; never writes into the inventory.
    Suggest {
        /// Inventory, history, language (of the comments), output.
        #[command(flatten)]
        source: ReportSource,
        /// What was reported before the end of this day (default: now).
        #[arg(long, value_parser = parse_date)]
        as_of: Option<chrono::NaiveDate>,
    },
}

/// A clap parser for a closed set of names (`names!` enums).
macro_rules! name_parser {
    ($fn:ident, $ty:ty) => {
        fn $fn(text: &str) -> Result<$ty, String> {
            <$ty>::parse(text).ok_or_else(|| format!("allowed: {}", <$ty>::allowed()))
        }
    };
}

name_parser!(parse_lang, vigia::report::Lang);
name_parser!(parse_renewal_format, vigia::report::RenewalFormat);
name_parser!(parse_ipv6_format, vigia::report::Ipv6Format);
name_parser!(parse_check_format, vigia::report::CheckFormat);
name_parser!(parse_links_format, vigia::report::LinksFormat);
name_parser!(parse_inventory_format, vigia::report::InventoryFormat);
name_parser!(parse_indicators_format, vigia::report::IndicatorsFormat);
name_parser!(parse_availability_format, vigia::report::AvailabilityFormat);

/// `--month`: `YYYY-MM`.
fn parse_month(text: &str) -> Result<(i32, u32), String> {
    let bad = || format!("expected a month YYYY-MM, got {text:?}");
    let (y, m) = text.split_once('-').ok_or_else(bad)?;
    let (y, m) = (y.parse::<i32>().map_err(|_| bad())?, m.parse::<u32>().map_err(|_| bad())?);
    if y.to_string().len() == 4 && (1..=12).contains(&m) { Ok((y, m)) } else { Err(bad()) }
}
name_parser!(parse_stage, vigia::ipv6::Stage);
name_parser!(parse_class, vigia::inventory::DeviceClass);

fn parse_date(text: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("expected a date YYYY-MM-DD, got {text:?}"))
}

/// `--min-coverage`: a ratio (0.8) or a percentage (80%).
fn parse_coverage(text: &str) -> Result<f64, String> {
    let bad =
        || format!("expected a ratio between 0 and 1 (0.8) or a percentage (80%), got {text:?}");
    let percent = match text.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map_err(|_| bad())?,
        None => text.trim().parse::<f64>().map_err(|_| bad())? * 100.0,
    };
    if (0.0..=100.0).contains(&percent) { Ok(percent) } else { Err(bad()) }
}

/// What every report reads.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportSource {
    /// The inventory.
    #[command(flatten)]
    pub inventory: InventoryArg,
    /// History database the agent writes.
    #[arg(long, env = vigia::store::URL_ENV, default_value = vigia::store::DEFAULT_URL,
          value_parser = vigia::store::DbUrl::parse, hide_env_values = true)]
    pub db: vigia::store::DbUrl,
    /// Language of the report: es (default) or en.
    #[arg(long, value_parser = parse_lang, default_value = "es")]
    pub lang: vigia::report::Lang,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

name_parser!(parse_events_format, vigia::report::events::EventsFormat);
name_parser!(parse_event_kind, vigia::store::EventKind);

/// `vigia events`
#[derive(Debug, clap::Args)]
pub struct EventsArgs {
    /// Inventory (time zone, ids), history, language, output.
    #[command(flatten)]
    pub source: ReportSource,
    /// First local day, YYYY-MM-DD (default: 7 days ago).
    #[arg(long, value_parser = parse_date)]
    pub from: Option<chrono::NaiveDate>,
    /// Last local day, included (default: today).
    #[arg(long, value_parser = parse_date)]
    pub to: Option<chrono::NaiveDate>,
    /// Only this site's events.
    #[arg(long)]
    pub site: Option<String>,
    /// Only this device's events.
    #[arg(long)]
    pub device: Option<String>,
    /// Only this kind: device_down, device_up, site_isolated, site_restored, agent_restart,
    /// inventory_changed, inventory_reload_failed, equipo_reemplazado, modelo_cambiado.
    #[arg(long, value_parser = parse_event_kind)]
    pub kind: Option<vigia::store::EventKind>,
    /// At most this many, newest first.
    #[arg(long, default_value_t = 500)]
    pub limit: u64,
    /// table or json.
    #[arg(long, value_parser = parse_events_format, default_value = "table")]
    pub format: vigia::report::events::EventsFormat,
}

/// `vigia report ...`
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Renewal candidates with their evidence, devices with missing data, the policy used.
    Renewal {
        /// Inventory, history, language, output.
        #[command(flatten)]
        source: ReportSource,
        /// The day the report describes (default: today); reproducible for a past day.
        #[arg(long, value_parser = parse_date)]
        as_of: Option<chrono::NaiveDate>,
        /// md, csv, json or xlsx.
        #[arg(long, value_parser = parse_renewal_format, default_value = "md")]
        format: vigia::report::RenewalFormat,
    },
    /// IPv6 transition coverage: sites x classes x stages.
    Ipv6 {
        /// Inventory, history, language, output.
        #[command(flatten)]
        source: ReportSource,
        /// The day the report describes (default: now).
        #[arg(long, value_parser = parse_date)]
        as_of: Option<chrono::NaiveDate>,
        /// md, csv (one row per device), json, xlsx or text.
        #[arg(long, value_parser = parse_ipv6_format, default_value = "md")]
        format: vigia::report::Ipv6Format,
    },
    /// Sites by link medium, fibre coverage, and each connected site's link health.
    Links {
        /// Inventory, history, language, output.
        #[command(flatten)]
        source: ReportSource,
        /// The day the report describes (default: now).
        #[arg(long, value_parser = parse_date)]
        as_of: Option<chrono::NaiveDate>,
        /// md, csv (one row per branch site), json or xlsx.
        #[arg(long, value_parser = parse_links_format, default_value = "md")]
        format: vigia::report::LinksFormat,
    },
    /// Per device what the inventory declares and what the device reports (vendor, model,
    /// serial), the verdict with its evidence, and the replacements detected.
    Inventory {
        /// Inventory, history, language, output.
        #[command(flatten)]
        source: ReportSource,
        /// The day the report describes (default: now).
        #[arg(long, value_parser = parse_date)]
        as_of: Option<chrono::NaiveDate>,
        /// md, csv, json or xlsx.
        #[arg(long, value_parser = parse_inventory_format, default_value = "md")]
        format: vigia::report::InventoryFormat,
    },
    /// Availability per site, link medium, family and device over a month or a range, with
    /// the outages and their cause, the maintenance left out and the polls behind each figure.
    Availability {
        /// Inventory, history, language, output.
        #[command(flatten)]
        source: ReportSource,
        /// The month, YYYY-MM, in the inventory's time zone (default: this month so far).
        #[arg(long, value_parser = parse_month, conflicts_with_all = ["from", "to"])]
        month: Option<(i32, u32)>,
        /// First day of a range, YYYY-MM-DD (local).
        #[arg(long, value_parser = parse_date, requires = "to")]
        from: Option<chrono::NaiveDate>,
        /// Last day of a range, included.
        #[arg(long, value_parser = parse_date, requires = "from")]
        to: Option<chrono::NaiveDate>,
        /// md, csv, json or xlsx.
        #[arg(long, value_parser = parse_availability_format, default_value = "md")]
        format: vigia::report::AvailabilityFormat,
    },
    /// The AE.7.03 and AE.7.04 fichas for a year.
    Indicators {
        /// Inventory, history, language, output.
        #[command(flatten)]
        source: ReportSource,
        /// The year (default: this year).
        #[arg(long)]
        year: Option<i32>,
        /// Count up to this day (default: the end of the year, or today while it runs).
        #[arg(long, value_parser = parse_date)]
        as_of: Option<chrono::NaiveDate>,
        /// md, csv (the items behind the figures), json or xlsx.
        #[arg(long, value_parser = parse_indicators_format, default_value = "md")]
        format: vigia::report::IndicatorsFormat,
    },
}

/// `vigia check ...`
#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// IPv6 transition coverage against a threshold.
    Ipv6 {
        /// Inventory, history, language, output.
        #[command(flatten)]
        source: ReportSource,
        /// Minimum coverage: a ratio (0.8) or a percentage (80%).
        #[arg(long, value_parser = parse_coverage, default_value = "1.0")]
        min_coverage: f64,
        /// The stage measured: configured, icmp, snmp or dual_stack.
        #[arg(long, value_parser = parse_stage, default_value = "dual_stack")]
        stage: vigia::ipv6::Stage,
        /// Only this site's devices.
        #[arg(long)]
        site: Option<String>,
        /// Only this class's devices.
        #[arg(long, value_parser = parse_class)]
        class: Option<vigia::inventory::DeviceClass>,
        /// The moment checked (default: now, from the latest stored results).
        #[arg(long, value_parser = parse_date)]
        as_of: Option<chrono::NaiveDate>,
        /// Poll the devices now instead of reading the latest stored results.
        #[arg(long, conflicts_with = "as_of")]
        probe: bool,
        /// text or json (stable, documented in docs/reports.md).
        #[arg(long, value_parser = parse_check_format, default_value = "text")]
        format: vigia::report::CheckFormat,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn icmp_spacing_and_gap_parse_within_their_bounds() {
        assert_eq!(parse_icmp_spacing("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_icmp_spacing("10ms"), Ok(Duration::from_millis(10)));
        let e = parse_icmp_spacing("5ms").unwrap_err();
        assert_eq!(e, "5ms is out of range; allowed: at least 10ms, at most 1m");
        assert!(parse_icmp_spacing("2m").is_err());
        assert!(parse_icmp_spacing("fast").unwrap_err().contains("expected a duration"));
        assert_eq!(parse_icmp_gap("0"), Ok(Duration::ZERO));
        assert_eq!(parse_icmp_gap("50us"), Ok(Duration::from_micros(50)));
        assert_eq!(parse_icmp_gap("2ms"), Ok(Duration::from_millis(2)));
        assert_eq!(parse_icmp_gap("2s").unwrap_err(), "2s is too long; allowed: 0 to 1s");
        assert!(parse_icmp_gap("-1").is_err());
        assert!(parse_icmp_gap("us").is_err());
    }
}
