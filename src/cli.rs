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
