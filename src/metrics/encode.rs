//! The two text formats Prometheus reads, written directly: OpenMetrics 1.0 (Prometheus asks for
//! it) and the classic 0.0.4 text (curl, `promtool check metrics`, older scrapers).
//!
//! Their sample lines are the same; only the metadata differs. OpenMetrics names a counter's
//! family without `_total` (`# TYPE vigia_polls counter`, sample `vigia_polls_total`), adds
//! `# UNIT` lines and ends with `# EOF`; the classic text names the counter with `_total` in its
//! HELP and TYPE lines and has neither. Label values are escaped alike (`\\`, `\"`, `\n`); HELP
//! text escapes `\\` and `\n`, and in OpenMetrics `\"` too.

use super::{Kind, Metric};

/// Which text to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0.0.
    OpenMetrics,
    /// The classic Prometheus text format 0.0.4.
    Classic,
}

impl Format {
    /// OpenMetrics for a client whose `Accept` header asks for it (Prometheus does), the classic
    /// text for everyone else.
    pub fn from_accept(accept: Option<&str>) -> Format {
        if accept.is_some_and(|a| a.contains("application/openmetrics-text")) {
            Format::OpenMetrics
        } else {
            Format::Classic
        }
    }

    /// The `Content-Type` of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Classic => "text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

/// A sample's value: gauges are floats, counters of things are integers.
pub(super) trait Value: Copy {
    fn write(self, out: &mut String);
}

impl Value for f64 {
    fn write(self, out: &mut String) {
        if self.is_finite() {
            out.push_str(dtoa::Buffer::new().format_finite(self));
        } else if self.is_nan() {
            out.push_str("NaN");
        } else if self > 0.0 {
            out.push_str("+Inf");
        } else {
            out.push_str("-Inf");
        }
    }
}

impl Value for u64 {
    fn write(self, out: &mut String) {
        out.push_str(itoa::Buffer::new().format(self));
    }
}

/// Writes metric families, one after the other, into one text.
pub(super) struct Encoder {
    format: Format,
    out: String,
}

impl Encoder {
    /// An empty text of `format`, with room for `bytes`.
    pub(super) fn with_capacity(format: Format, bytes: usize) -> Encoder {
        Encoder { format, out: String::with_capacity(bytes) }
    }

    /// Start the family of `metric`: its HELP, TYPE (and in OpenMetrics UNIT) lines. Its samples
    /// follow through the returned writer; a family is written once, even with no sample.
    pub(super) fn family<'e>(&'e mut self, metric: &'e Metric) -> Family<'e> {
        let (family, om) = match self.format {
            Format::OpenMetrics => (metric.family_name(), true),
            Format::Classic => (metric.name, false),
        };
        let out = &mut self.out;
        out.push_str("# HELP ");
        out.push_str(family);
        out.push(' ');
        escape_help(out, metric.help, om);
        out.push_str("\n# TYPE ");
        out.push_str(family);
        out.push_str(match metric.kind {
            Kind::Gauge => " gauge\n",
            Kind::Counter => " counter\n",
        });
        if let (true, Some(unit)) = (om, metric.unit) {
            out.push_str("# UNIT ");
            out.push_str(family);
            out.push(' ');
            out.push_str(unit);
            out.push('\n');
        }
        Family { out, metric }
    }

    /// The whole text.
    pub(super) fn finish(mut self) -> String {
        if self.format == Format::OpenMetrics {
            self.out.push_str("# EOF\n");
        }
        self.out
    }
}

/// The samples of one family.
pub(super) struct Family<'e> {
    out: &'e mut String,
    metric: &'e Metric,
}

impl Family<'_> {
    /// One sample: the values of the metric's labels, in the order it declares them.
    pub(super) fn sample(&mut self, labels: &[&str], value: impl Value) {
        debug_assert_eq!(labels.len(), self.metric.labels.len(), "labels of {}", self.metric.name);
        let out = &mut *self.out;
        out.push_str(self.metric.name);
        for (i, (name, value)) in self.metric.labels.iter().zip(labels).enumerate() {
            out.push(if i == 0 { '{' } else { ',' });
            out.push_str(name);
            out.push_str("=\"");
            escape_label_value(out, value);
            out.push('"');
        }
        if !labels.is_empty() {
            out.push('}');
        }
        out.push(' ');
        value.write(out);
        out.push('\n');
    }
}

/// A label value, escaped: `\` as `\\`, `"` as `\"`, a newline as `\n`.
fn escape_label_value(out: &mut String, value: &str) {
    escape(out, value, true);
}

/// HELP text: `\` and newlines escaped; `"` too in OpenMetrics.
fn escape_help(out: &mut String, help: &str, openmetrics: bool) {
    escape(out, help, openmetrics);
}

fn escape(out: &mut String, s: &str, quotes: bool) {
    let special = |b: u8| b == b'\\' || b == b'\n' || (quotes && b == b'"');
    if !s.bytes().any(special) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quotes => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GAUGE: Metric = Metric {
        name: "vigia_test_rtt_seconds",
        kind: Kind::Gauge,
        unit: Some("seconds"),
        labels: &["device", "interface"],
        help: "A \"quoted\" help\\text\nover two lines.",
        doc_unit: "seconds",
        doc: "test",
    };
    const COUNTER: Metric = Metric {
        name: "vigia_test_bytes_total",
        kind: Kind::Counter,
        unit: Some("bytes"),
        labels: &[],
        help: "Bytes.",
        doc_unit: "bytes",
        doc: "test",
    };

    fn render(format: Format) -> String {
        let mut e = Encoder::with_capacity(format, 0);
        let mut f = e.family(&GAUGE);
        f.sample(&["sw-1", "Gi0/1 \"uplink\"\\a\nb"], 0.0004);
        f.sample(&["sw-1", ""], f64::NAN);
        f.sample(&["sw-2", "x"], f64::INFINITY);
        f.sample(&["sw-2", "y"], 1.0);
        let mut f = e.family(&COUNTER);
        f.sample(&[], 7u64);
        e.finish()
    }

    #[test]
    fn openmetrics_names_counter_families_without_total_and_ends_with_eof() {
        assert_eq!(
            render(Format::OpenMetrics),
            "# HELP vigia_test_rtt_seconds A \\\"quoted\\\" help\\\\text\\nover two lines.\n\
             # TYPE vigia_test_rtt_seconds gauge\n\
             # UNIT vigia_test_rtt_seconds seconds\n\
             vigia_test_rtt_seconds{device=\"sw-1\",interface=\"Gi0/1 \\\"uplink\\\"\\\\a\\nb\"} 0.0004\n\
             vigia_test_rtt_seconds{device=\"sw-1\",interface=\"\"} NaN\n\
             vigia_test_rtt_seconds{device=\"sw-2\",interface=\"x\"} +Inf\n\
             vigia_test_rtt_seconds{device=\"sw-2\",interface=\"y\"} 1.0\n\
             # HELP vigia_test_bytes Bytes.\n\
             # TYPE vigia_test_bytes counter\n\
             # UNIT vigia_test_bytes bytes\n\
             vigia_test_bytes_total 7\n\
             # EOF\n"
        );
    }

    #[test]
    fn the_classic_text_names_counters_with_total_and_has_no_unit_nor_eof() {
        assert_eq!(
            render(Format::Classic),
            "# HELP vigia_test_rtt_seconds A \"quoted\" help\\\\text\\nover two lines.\n\
             # TYPE vigia_test_rtt_seconds gauge\n\
             vigia_test_rtt_seconds{device=\"sw-1\",interface=\"Gi0/1 \\\"uplink\\\"\\\\a\\nb\"} 0.0004\n\
             vigia_test_rtt_seconds{device=\"sw-1\",interface=\"\"} NaN\n\
             vigia_test_rtt_seconds{device=\"sw-2\",interface=\"x\"} +Inf\n\
             vigia_test_rtt_seconds{device=\"sw-2\",interface=\"y\"} 1.0\n\
             # HELP vigia_test_bytes_total Bytes.\n\
             # TYPE vigia_test_bytes_total counter\n\
             vigia_test_bytes_total 7\n"
        );
    }

    #[test]
    fn prometheus_gets_openmetrics_and_everyone_else_the_classic_text() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::from_accept(Some(prometheus)), Format::OpenMetrics);
        assert_eq!(Format::from_accept(Some("*/*")), Format::Classic);
        assert_eq!(Format::from_accept(None), Format::Classic);
    }
}
