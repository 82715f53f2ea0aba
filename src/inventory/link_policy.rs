//! The inventory's thresholds for link health (`policy.radio`, `policy.optics`): the levels
//! under which a radio's signal or SNR, or a transceiver's margin, is worth an alert. The agent
//! exports them (`vigia_policy_*`) so the alert rules compare each reading with them.

use serde::Serialize;

/// `policy.radio` and `policy.optics`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LinkPolicy {
    /// `policy.radio.min_signal_dbm`: a radio's received signal below this is an alert.
    pub radio_min_signal_dbm: f64,
    /// `policy.radio.min_snr_db`: a radio's SNR below this is an alert.
    pub radio_min_snr_db: f64,
    /// `policy.optics.min_margin_db`: a transceiver's receive power closer than this to its
    /// low-alarm threshold is an alert.
    pub optics_min_margin_db: f64,
}

impl LinkPolicy {
    /// The bounds each field accepts (inclusive), as the reader checks them.
    pub const SIGNAL_RANGE: (f64, f64) = (-120.0, 0.0);
    /// `min_snr_db`'s bounds.
    pub const SNR_RANGE: (f64, f64) = (0.0, 60.0);
    /// `min_margin_db`'s bounds.
    pub const MARGIN_RANGE: (f64, f64) = (0.0, 30.0);
}

impl Default for LinkPolicy {
    /// -75 dBm and 20 dB: below them a point-to-point link loses its higher modulations (the
    /// usual planning figures for 5 GHz links); 3 dB of optical margin, as issue 15 asks.
    fn default() -> Self {
        LinkPolicy {
            radio_min_signal_dbm: -75.0,
            radio_min_snr_db: 20.0,
            optics_min_margin_db: 3.0,
        }
    }
}
