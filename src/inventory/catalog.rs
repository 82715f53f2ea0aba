//! The life-cycle catalogue: vendors' end-of-sale, end-of-support and end-of-security-updates
//! dates per model, each with its public source, kept in the inventory (`catalog:` entries,
//! by convention in `catalog.yaml`).
//!
//! A device's own dates win; where it has none, the catalogue entry matching its vendor and
//! model gives them, and reports say which entry and source they came from. A model is written
//! exactly or as a pattern where `*` stands for any text (`FortiGate 5*`). Names compare
//! without case, blanks or punctuation (`FortiGate-500E` is `fortigate 500e`); vendors compare
//! by maker ([`crate::poll::vendor::same`]). No model may match two entries of one vendor: the
//! reader refuses overlapping patterns.

use chrono::NaiveDate;
use serde::Serialize;

use crate::poll::vendor;

/// The catalogue: entries in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Catalog {
    /// Every entry.
    pub entries: Vec<CatalogEntry>,
}

/// One vendor notice's dates for a model or a family of models.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogEntry {
    /// The vendor, as written.
    pub vendor: String,
    /// The model or pattern (`*` for any text), as written.
    pub model: String,
    /// End of sale (last order).
    pub end_of_sale: Option<NaiveDate>,
    /// End of support (last day of support).
    pub end_of_support: Option<NaiveDate>,
    /// End of security updates (last vulnerability fix).
    pub end_of_security_updates: Option<NaiveDate>,
    /// The public source: the vendor notice's title or address.
    pub source: String,
    /// Where the entry is written: `FILE:LINE` (the file relative to the inventory).
    pub at: String,
}

impl Catalog {
    /// The entry for a device of `vendor` and `model`, if any.
    pub fn find(&self, vendor: &str, model: &str) -> Option<&CatalogEntry> {
        let model = key(model);
        if model.is_empty() {
            return None;
        }
        self.entries
            .iter()
            .find(|e| vendor::same(&e.vendor, vendor) && matches(&key(&e.model), &model))
    }
}

/// A model name or pattern as compared: lower case letters and digits, and `*`.
pub fn key(text: &str) -> String {
    text.chars().filter(|c| c.is_alphanumeric() || *c == '*').flat_map(char::to_lowercase).collect()
}

/// Whether `pattern` (a [`key`], `*` any text) matches `text` (a [`key`] without `*`).
pub fn matches(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // The classic two-pointer glob match, backtracking to the last star.
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        if i < p.len() && p[i] != '*' && p[i] == t[j] {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

/// Whether some model matches both patterns (each a [`key`]): an exact model overlaps the
/// patterns that match it, two exact models overlap when equal.
pub fn overlap(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // Search the pairs of positions both patterns can be at after reading the same text: a
    // star may be skipped, or read a character the other side reads too.
    let mut seen = vec![vec![false; b.len() + 1]; a.len() + 1];
    let mut todo = vec![(0usize, 0usize)];
    while let Some((i, j)) = todo.pop() {
        if seen[i][j] {
            continue;
        }
        seen[i][j] = true;
        if i == a.len() && j == b.len() {
            return true;
        }
        let (sa, sb) = (a.get(i) == Some(&'*'), b.get(j) == Some(&'*'));
        if sa {
            todo.push((i + 1, j));
        }
        if sb {
            todo.push((i, j + 1));
        }
        match (a.get(i), b.get(j)) {
            // Both read one character: any, when both are stars (they stay), else the literal.
            (Some('*'), Some('*')) => todo.push((i, j + 1)),
            (Some('*'), Some(_)) => todo.push((i, j + 1)),
            (Some(_), Some('*')) => todo.push((i + 1, j)),
            (Some(x), Some(y)) if x == y => todo.push((i + 1, j + 1)),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(vendor: &str, model: &str) -> CatalogEntry {
        CatalogEntry {
            vendor: vendor.into(),
            model: model.into(),
            end_of_sale: None,
            end_of_support: None,
            end_of_security_updates: None,
            source: "notice".into(),
            at: "catalog.yaml:1".into(),
        }
    }

    #[test]
    fn patterns_match_names_without_case_or_punctuation() {
        assert!(matches(&key("FortiGate 500E"), &key("fortigate-500e")));
        assert!(matches(&key("FortiGate 5*"), &key("FortiGate 500E")));
        assert!(matches(&key("*500E"), &key("FG-500E")));
        assert!(matches(&key("WS-C2960*-24*"), &key("WS-C2960X-24PS-L")));
        assert!(!matches(&key("FortiGate 5*"), &key("FortiGate 600E")));
        assert!(!matches(&key("FortiGate 500E"), &key("FortiGate 500")));
        assert!(matches("*", ""));
    }

    #[test]
    fn overlapping_patterns_are_found_and_disjoint_ones_are_not() {
        for (a, b, both) in [
            ("fortigate500e", "fortigate500e", true),
            ("fortigate5*", "fortigate500e", true),
            ("fortigate5*", "*500e", true),
            ("fortigate5*", "fortigate6*", false),
            ("ws*24", "ws*48", false),
            ("a*b", "*ab*", true),
            ("abc", "abd", false),
            ("*", "x", true),
            ("a*", "b*", false),
        ] {
            assert_eq!(overlap(a, b), both, "{a} {b}");
            assert_eq!(overlap(b, a), both, "{b} {a}");
        }
    }

    #[test]
    fn an_entry_is_found_by_maker_and_model() {
        let c = Catalog {
            entries: vec![entry("Fortinet", "FortiGate 5*"), entry("Cisco", "WS-C2960X-*")],
        };
        assert_eq!(
            c.find("FORTINET, Inc.", "FortiGate-500E").map(|e| e.model.as_str()),
            Some("FortiGate 5*")
        );
        assert_eq!(
            c.find("Cisco Systems", "WS-C2960X-24PS-L").map(|e| e.vendor.as_str()),
            Some("Cisco")
        );
        assert_eq!(c.find("Huawei", "FortiGate 500E"), None, "another maker");
        assert_eq!(c.find("Fortinet", ""), None);
    }
}
