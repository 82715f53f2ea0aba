//! The two things the agent asks of the network, behind a trait so the loop can be driven by a
//! simulated network on paused time (a day of polling in milliseconds) as well as the real one.

use std::future::Future;
use std::net::IpAddr;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::mpsc;

use crate::poll::{IcmpReport, SnmpReport};
use crate::probe::SnmpQuery;
use crate::probe::icmp::{CycleSettings, Icmp};
use crate::probe::snmp::{self, SnmpTarget};

/// Polls the network.
pub trait Prober: Send + Sync + 'static {
    /// One ICMP cycle to an address.
    fn icmp(
        &self,
        address: IpAddr,
        settings: CycleSettings,
    ) -> impl Future<Output = IcmpReport> + Send;
    /// One SNMP poll of a target.
    fn snmp(&self, target: SnmpTarget, query: SnmpQuery)
    -> impl Future<Output = SnmpReport> + Send;
    /// Many ICMP cycles at once (`--once`): each target's report goes to `out` with the
    /// target's index as soon as its cycle is over. By default each target's
    /// [`Prober::icmp`], all side by side.
    fn icmp_many(
        &self,
        targets: Vec<(IpAddr, CycleSettings)>,
        out: mpsc::UnboundedSender<(usize, IcmpReport)>,
    ) -> impl Future<Output = ()> + Send {
        let mut cycles: FuturesUnordered<_> = targets
            .into_iter()
            .enumerate()
            .map(|(i, (address, settings))| {
                let cycle = self.icmp(address, settings);
                async move { (i, cycle.await) }
            })
            .collect();
        async move {
            while let Some(done) = cycles.next().await {
                let _ = out.send(done);
            }
        }
    }
}

/// The real network: shared ICMP sockets, one shared UDP socket per family for SNMPv2c, and
/// snmp2 sessions for SNMPv3.
#[derive(Clone)]
pub struct NetProber {
    icmp: Icmp,
    snmp: snmp::SnmpSockets,
}

impl NetProber {
    /// A prober over opened ICMP sockets.
    pub fn new(icmp: Icmp) -> NetProber {
        NetProber { icmp, snmp: snmp::SnmpSockets::new() }
    }
}

impl Prober for NetProber {
    fn icmp(
        &self,
        address: IpAddr,
        settings: CycleSettings,
    ) -> impl Future<Output = IcmpReport> + Send {
        let icmp = self.icmp.clone();
        async move { icmp.cycle(address, settings).await }
    }

    async fn icmp_many(
        &self,
        targets: Vec<(IpAddr, CycleSettings)>,
        out: mpsc::UnboundedSender<(usize, IcmpReport)>,
    ) {
        self.icmp.cycles(targets, out).await;
    }

    async fn snmp(&self, target: SnmpTarget, query: SnmpQuery) -> SnmpReport {
        snmp::poll_shared(&target, query, &snmp::PollOptions::default(), &self.snmp).await
    }
}
