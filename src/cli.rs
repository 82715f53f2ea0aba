//! The command line: what each command takes. The handlers live in `main.rs`.

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
    #[arg(long, default_value_t = vigia::lab::DEFAULT_HOST_V4)]
    pub host_v4: std::net::Ipv4Addr,
    /// Host-side IPv6 source address of probes into the lab (inside 2001:db8::/32).
    #[arg(long, default_value_t = vigia::lab::DEFAULT_HOST_V6)]
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
    /// a detached holder process keeps it up until `vigia lab down`.
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
    /// What is up, per device: namespace, addresses, medium, snmpd alive.
    Status {
        /// The lab.
        #[command(flatten)]
        lab: LabName,
        /// List every lab on this machine instead.
        #[arg(long)]
        all: bool,
    },
    /// The holder `vigia lab up` starts (not for direct use).
    #[command(hide = true)]
    Serve {
        /// The lab.
        #[command(flatten)]
        lab: LabArgs,
        /// The inventory.
        #[command(flatten)]
        inventory: InventoryArg,
        /// Descriptor to write "ready" to once the lab answers.
        #[arg(long)]
        ready_fd: Option<i32>,
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
    /// Poll only shard I of N of the sites (1-based, e.g. 2/3), for several agents splitting
    /// one network and sharing PostgreSQL; every site belongs to exactly one shard.
    #[arg(long, env = "VIGIA_SHARD", default_value = "1/1")]
    pub shard: vigia::inventory::Shard,
    /// ICMP cycles in flight at most (they share one socket per family; this bounds a burst of
    /// echo replies).
    #[arg(long, default_value_t = 2048)]
    pub max_icmp_in_flight: usize,
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
}
