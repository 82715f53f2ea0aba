//! One IF-MIB interface row, and the table that declares its counters.
//!
//! Every interface counter is declared once, in [`interface_counters!`] below: its field, which
//! is also the store's column, and the IF-MIB objects it is read from. From that one line follow
//! the field of [`Interface`] and of [`InterfaceTotals`], the columns the SNMP walk asks for
//! (`probe::snmp::mibs`), the wrap and restart tracking ([`InterfaceCounters`], used by the
//! agent's state and by `probe::snmp::AgentTracker`), and the store's `interfaces` columns,
//! encoders and decoders in both dialects; a database opened by a version without the column
//! gets it at start (`store`). The metric that exports a counter is declared with the other
//! metrics.

use serde::Serialize;

use super::counters::Monotonic;

/// Declares the interface counters: `Variant field { 64: ifHCObject [oid], 32: ifObject [oid] }`
/// (`64:` only where IF-MIB has a 64-bit variant), each with a doc line.
macro_rules! interface_counters {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident $field:ident {
            $(64: $hc_name:ident [$($hc:literal),+],)?
            32: $low_name:ident [$($low:literal),+] $(,)?
        }
    ),+ $(,)?) => {
        /// One row of IF-MIB's ifTable / ifXTable.
        #[derive(Debug, Clone, Default, PartialEq, Serialize)]
        pub struct Interface {
            /// ifIndex.
            pub index: u32,
            /// ifName (ifDescr when the agent has no ifName).
            pub name: String,
            /// ifAlias.
            pub alias: Option<String>,
            /// ifType (IANAifType number).
            pub if_type: Option<u32>,
            /// ifHighSpeed, Mbit/s.
            pub speed_mbps: Option<u64>,
            /// ifOperStatus is up(1).
            pub oper_up: Option<bool>,
            /// ifAdminStatus is up(1).
            pub admin_up: Option<bool>,
            /// 64 when the counters that have a 64-bit variant were read from ifXTable's ifHC*
            /// objects (the agent has ifHCInOctets and ifHCOutOctets for the interface), 32 when
            /// they fell back to the Counter32 objects, 0 when it has no octet counter at all.
            pub counter_bits: u8,
            $( $(#[doc = $doc])* pub $field: Option<u64>, )+
        }

        /// Never-decreasing totals of one interface's counters (`None` where the report had no
        /// reading).
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct InterfaceTotals {
            /// ifIndex.
            pub index: u32,
            $( $(#[doc = $doc])* pub $field: Option<u64>, )+
        }

        /// An interface counter.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Counter {
            $( $(#[doc = $doc])* $variant, )+
        }

        impl Counter {
            /// Every counter, in declaration order.
            pub const ALL: [Counter; Counter::COUNT] = [$(Counter::$variant),+];
            /// How many counters there are.
            pub const COUNT: usize = [$(stringify!($variant)),+].len();

            /// The field of [`Interface`], and the column of the store's `interfaces` table.
            pub const fn name(self) -> &'static str {
                match self { $(Counter::$variant => stringify!($field)),+ }
            }

            /// The 64-bit IF-MIB object (name, OID), where IF-MIB has one.
            pub const fn oid64(self) -> Option<(&'static str, &'static [u32])> {
                match self {
                    $(Counter::$variant => interface_counters!(@hc $($hc_name [$($hc),+])?)),+
                }
            }

            /// The Counter32 IF-MIB object (name, OID).
            pub const fn oid32(self) -> (&'static str, &'static [u32]) {
                match self {
                    $(Counter::$variant => (stringify!($low_name), &[$($low),+])),+
                }
            }
        }

        impl Interface {
            /// The reading of `c`.
            pub fn counter(&self, c: Counter) -> Option<u64> {
                match c { $(Counter::$variant => self.$field),+ }
            }

            /// The reading of `c`, to set.
            pub fn counter_mut(&mut self, c: Counter) -> &mut Option<u64> {
                match c { $(Counter::$variant => &mut self.$field),+ }
            }
        }

        impl InterfaceTotals {
            /// The total of `c`.
            pub fn counter(&self, c: Counter) -> Option<u64> {
                match c { $(Counter::$variant => self.$field),+ }
            }

            /// The total of `c`, to set.
            pub fn counter_mut(&mut self, c: Counter) -> &mut Option<u64> {
                match c { $(Counter::$variant => &mut self.$field),+ }
            }
        }
    };
    (@hc) => { None };
    (@hc $name:ident [$($oid:literal),+]) => { Some((stringify!($name), &[$($oid),+])) };
}

interface_counters! {
    /// Octets received: ifHCInOctets, or ifInOctets where the agent has no 64-bit pair.
    InOctets in_octets {
        64: ifHCInOctets [1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6],
        32: ifInOctets [1, 3, 6, 1, 2, 1, 2, 2, 1, 10],
    },
    /// Octets sent: ifHCOutOctets or ifOutOctets.
    OutOctets out_octets {
        64: ifHCOutOctets [1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 10],
        32: ifOutOctets [1, 3, 6, 1, 2, 1, 2, 2, 1, 16],
    },
    /// ifInErrors (32-bit).
    InErrors in_errors {
        32: ifInErrors [1, 3, 6, 1, 2, 1, 2, 2, 1, 14],
    },
    /// ifOutErrors (32-bit).
    OutErrors out_errors {
        32: ifOutErrors [1, 3, 6, 1, 2, 1, 2, 2, 1, 20],
    },
    /// ifInDiscards (32-bit).
    InDiscards in_discards {
        32: ifInDiscards [1, 3, 6, 1, 2, 1, 2, 2, 1, 13],
    },
    /// ifOutDiscards (32-bit).
    OutDiscards out_discards {
        32: ifOutDiscards [1, 3, 6, 1, 2, 1, 2, 2, 1, 19],
    },
}

impl Counter {
    /// The width of a reading of this counter from an interface whose 64-bit counters are
    /// `counter_bits` wide: 64 only for a counter with a 64-bit variant read from it.
    pub fn bits(self, counter_bits: u8) -> u8 {
        if counter_bits == 64 && self.oid64().is_some() { 64 } else { 32 }
    }
}

/// Totals that never go backwards for every counter of one interface, fed with its successive
/// readings: 32-bit wraps, agent restarts and a switch between 64- and 32-bit readings are told
/// apart (see [`super::counters`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterfaceCounters {
    /// `counter_bits` of the previous reading.
    bits: Option<u8>,
    totals: [Monotonic; Counter::COUNT],
}

impl InterfaceCounters {
    /// Feed one reading of the interface. `restarted`: the agent restarted since the previous
    /// reading, so every counter starts again. A counter with a 64-bit variant whose width
    /// changed starts a new count too: the two readings are of different objects.
    pub fn update(&mut self, reading: &Interface, restarted: bool) {
        let switched = self.bits.is_some_and(|b| b != reading.counter_bits);
        self.bits = Some(reading.counter_bits);
        for c in Counter::ALL {
            if let Some(v) = reading.counter(c) {
                let reset = restarted || (switched && c.oid64().is_some());
                self.totals[c as usize].update(v, c.bits(reading.counter_bits), reset);
            }
        }
    }

    /// The total of `c`; `None` while it was never read (an absent counter is not 0).
    pub fn total(&self, c: Counter) -> Option<u64> {
        let m = &self.totals[c as usize];
        m.read().then(|| m.total())
    }

    /// The totals of the counters `reading` holds (what [`InterfaceCounters::update`] just
    /// took), the others `None`.
    pub fn totals_of(&self, reading: &Interface) -> InterfaceTotals {
        let mut t = InterfaceTotals { index: reading.index, ..InterfaceTotals::default() };
        for c in Counter::ALL {
            *t.counter_mut(c) = reading.counter(c).and(self.total(c));
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counter_names_a_distinct_column_and_ifmib_objects() {
        let mut names: Vec<&str> = Counter::ALL.iter().map(|c| c.name()).collect();
        for n in &names {
            // The name is spliced into SQL as a column: only lower-case words.
            assert!(n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{n}");
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Counter::COUNT);
        for c in Counter::ALL {
            let mut i = Interface::default();
            *i.counter_mut(c) = Some(7);
            assert_eq!(i.counter(c), Some(7));
            assert!(c.oid32().1.starts_with(&[1, 3, 6, 1, 2, 1]), "{c:?}");
        }
        assert_eq!(Counter::InOctets.oid64().map(|o| o.0), Some("ifHCInOctets"));
        assert_eq!(Counter::InErrors.oid64(), None);
    }

    #[test]
    fn widths_and_switches_follow_the_declared_variants() {
        assert_eq!(Counter::InOctets.bits(64), 64);
        assert_eq!(Counter::InOctets.bits(32), 32);
        assert_eq!(Counter::InErrors.bits(64), 32, "ifInErrors is Counter32 whatever the octets");
        let reading = |octets: u64, errors: u64, bits: u8| Interface {
            in_octets: Some(octets),
            in_errors: Some(errors),
            counter_bits: bits,
            ..Interface::default()
        };
        let mut c = InterfaceCounters::default();
        assert_eq!(c.total(Counter::InOctets), None);
        c.update(&reading(5_000_000_000, u64::from(u32::MAX) - 9, 64), false);
        // ifInErrors wraps at 2^32 (+30) even though the octets are 64-bit.
        c.update(&reading(5_000_000_100, 20, 64), false);
        assert_eq!(c.total(Counter::InOctets), Some(5_000_000_100));
        assert_eq!(c.total(Counter::InErrors), Some(u64::from(u32::MAX) + 21));
        // The octets fall back to 32 bits: a new count, not a wrap; the errors go on.
        c.update(&reading(40, 25, 32), false);
        assert_eq!(c.total(Counter::InOctets), Some(5_000_000_140));
        assert_eq!(c.total(Counter::InErrors), Some(u64::from(u32::MAX) + 26));
        assert_eq!(c.total(Counter::OutOctets), None, "never read");
        let t = c.totals_of(&reading(50, 25, 32));
        assert_eq!((t.in_octets, t.out_octets), (Some(5_000_000_140), None));
    }
}
