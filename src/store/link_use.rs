//! The use of each contracted link over a report's day and month, folded from the raw interface
//! samples of its measuring device (issue 15).
//!
//! Memory stays bounded whatever the month holds: the samples are read one device and one UTC
//! day at a time (a day of one device's interfaces), the measured port's readings are fed to a
//! [`UseFold`] and the day's rows dropped; a fold keeps two numbers per 5-minute slot
//! (8,928 slots in a 31-day month). Links are folded one after the other. What is folded is
//! what the raw retention keeps (35 days by default, see docs/storage.md): a month older than
//! that reads as "sin datos". The samples do not carry sysUpTime: a 64-bit counter that went
//! back, and a rate above the port's speed (a 32-bit counter's restart read as a wrap), measure
//! nothing (see [`crate::link_use::Rates::between`]).

use chrono::TimeDelta;

use super::{Store, StoreError};
use crate::history::AsOf;
use crate::inventory::Inventory;
use crate::inventory::contract::{Direction, MeasuredAt};
use crate::link_use::{LinkUseRecord, OctetSample, PeriodUse, UseFold, periods, port_matches};

impl Store {
    /// The use of every contracted link whose interface the inventory declares, over the as-of
    /// day and its month (see [`crate::link_use`]).
    pub async fn link_use(
        &self,
        inv: &Inventory,
        as_of: AsOf,
    ) -> Result<Vec<LinkUseRecord>, StoreError> {
        let (day, month) = periods(as_of);
        let mut out = Vec::new();
        for link in inv.contracts.links() {
            let Some(at) = link.measured_at else { continue };
            let mut day_fold = UseFold::new(day.from, day.to, link.bandwidth.clone());
            let mut month_fold = UseFold::new(month.from, month.to, link.bandwidth.clone());
            // One reading before the month starts, so its first interval is measured too.
            let mut from = month.from - TimeDelta::minutes(15);
            while from < month.to {
                let to = (from + TimeDelta::days(1)).min(month.to);
                for sample in self.port_samples(at, from, to).await? {
                    month_fold.push(sample, false);
                    if sample.at >= day.from - TimeDelta::minutes(15) {
                        day_fold.push(sample, false);
                    }
                }
                from = to;
            }
            let period = |f: &UseFold, window| PeriodUse {
                window,
                down: f.figures(Direction::Down),
                up: f.figures(Direction::Up),
            };
            out.push(LinkUseRecord {
                kind: link.kind,
                id: link.id.to_owned(),
                day: period(&day_fold, day),
                month: period(&month_fold, month),
            });
        }
        Ok(out)
    }

    /// The measured port's readings in `[from, to)`, oldest first. A reading where the port's
    /// name matches several interfaces of the device is left out: it cannot be told which.
    async fn port_samples(
        &self,
        at: &MeasuredAt,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<OctetSample>, StoreError> {
        let mut rows: Vec<_> = self
            .interfaces(&at.device, from, to)
            .await?
            .into_iter()
            .filter(|r| port_matches(&at.port, r.interface.index, &r.interface.name))
            .collect();
        rows.sort_by_key(|r| r.at);
        let mut out: Vec<OctetSample> = Vec::with_capacity(rows.len());
        for (n, r) in rows.iter().enumerate() {
            let shared = |k: usize| rows.get(k).is_some_and(|o| o.at == r.at);
            if shared(n + 1) || (n > 0 && shared(n - 1)) {
                continue;
            }
            let i = &r.interface;
            out.push(OctetSample {
                at: r.at,
                in_octets: i.in_octets,
                out_octets: i.out_octets,
                counter_bits: i.counter_bits,
                speed_mbps: i.speed_mbps,
            });
        }
        Ok(out)
    }
}
