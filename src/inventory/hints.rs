//! "Did you mean": the known name closest to a wrong one, in time linear in the names.
//!
//! Comparing every wrong name with every known one is quadratic: 5,000 devices naming 5,000
//! misspelt sites took 10 s (release) and minutes (debug). Instead the known names are indexed
//! under every string they give with up to [`MAX_EDITS`] characters deleted. Two names within
//! that many edits (insertions, deletions, substitutions) share such a string: a substitution
//! is one deletion from each, an insertion into one a deletion from the other. So the
//! deletions of a wrong name find every candidate by lookup, and only those are measured.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The most edits between a wrong name and the name suggested for it.
pub(crate) const MAX_EDITS: usize = 2;

/// Names longer than this are neither indexed nor given hints: the deletions of a name grow
/// with the square of its length, and an id that long is no typo of another.
const MAX_CHARS: usize = 64;

/// Up to this many known names a plain scan costs less than building the index.
const SCAN: usize = 32;

/// Hints among a fixed list of known names.
pub(crate) struct Hints<'k> {
    known: &'k [&'k str],
    /// Built at the first miss.
    index: OnceCell<Index>,
}

/// The known names by the hashes of their deletion variants.
struct Index {
    /// (hash of a deletion variant, index of the known name), sorted.
    entries: Vec<(u64, u32)>,
    /// Where each hash's run starts in `entries` and how long it is: one probe per lookup (a
    /// binary search of the entries missed the cache at each step).
    runs: HashMap<u64, (u32, u32), BuildHasherDefault<Prehashed>>,
}

/// The keys are hashes already.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

impl<'k> Hints<'k> {
    /// Hints among `known`.
    pub(crate) fn new(known: &'k [&'k str]) -> Hints<'k> {
        Hints { known, index: OnceCell::new() }
    }

    /// `; did you mean "x"?` when a known name is within [`MAX_EDITS`] of `wrong`, else "".
    pub(crate) fn suggest(&self, wrong: &str) -> String {
        self.closest(wrong).map(|k| format!("; did you mean {k:?}?")).unwrap_or_default()
    }

    /// The closest known name within [`MAX_EDITS`] (the first in name order among equals).
    pub(crate) fn closest(&self, wrong: &str) -> Option<&'k str> {
        let chars: Vec<char> = wrong.chars().collect();
        if chars.len() > MAX_CHARS {
            return None;
        }
        let best = |candidates: &mut dyn Iterator<Item = &'k str>| {
            candidates
                .filter(|k| k.chars().count().abs_diff(chars.len()) <= MAX_EDITS)
                .map(|k| (edit_distance(&chars, k), k))
                .filter(|(d, _)| *d <= MAX_EDITS)
                .min()
                .map(|(_, k)| k)
        };
        if self.known.len() <= SCAN {
            return best(&mut self.known.iter().copied());
        }
        let index = self.index.get_or_init(|| build(self.known));
        let mut found: Vec<u32> = Vec::new();
        deletions(&chars, &mut |h| {
            if let Some(&(from, len)) = index.runs.get(&h) {
                let run = &index.entries[from as usize..][..len as usize];
                found.extend(run.iter().map(|(_, i)| *i));
            }
        });
        found.sort_unstable();
        found.dedup();
        best(&mut found.into_iter().map(|i| self.known[i as usize]))
    }
}

fn build(known: &[&str]) -> Index {
    let mut entries = Vec::new();
    for (i, k) in known.iter().enumerate() {
        let chars: Vec<char> = k.chars().collect();
        if chars.len() > MAX_CHARS {
            continue;
        }
        let i = u32::try_from(i).unwrap_or(u32::MAX);
        deletions(&chars, &mut |h| entries.push((h, i)));
    }
    entries.sort_unstable();
    entries.dedup();
    let mut runs = HashMap::default();
    let mut from = 0;
    for run in entries.chunk_by(|a, b| a.0 == b.0) {
        let len = u32::try_from(run.len()).unwrap_or(u32::MAX);
        runs.insert(run[0].0, (from, len));
        from += len;
    }
    Index { entries, runs }
}

/// Calls `f` with the hash of `chars` and of every string made by deleting one or two of its
/// characters (duplicates included).
fn deletions(chars: &[char], f: &mut dyn FnMut(u64)) {
    let n = chars.len();
    // FxHash's step: a collision only adds a candidate, which is measured anyway.
    let hash = |skip: [usize; 2]| {
        let mut h: u64 = 0;
        for (i, c) in chars.iter().enumerate() {
            if !skip.contains(&i) {
                h = (h.rotate_left(5) ^ u64::from(u32::from(*c)))
                    .wrapping_mul(0x517c_c1b7_2722_0a95);
            }
        }
        h
    };
    f(hash([n, n]));
    for i in 0..n {
        f(hash([i, n]));
        for j in i + 1..n {
            f(hash([i, j]));
        }
    }
}

/// Levenshtein distance between `a` and `b`.
fn edit_distance(a: &[char], b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == cb { prev } else { 1 + prev.min(row[j]).min(cur) };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("sede-{}-{i:04}", ["norte", "sur", "este"][i % 3])).collect()
    }

    #[test]
    fn close_names_only_by_scan_and_by_index() {
        let few = ["mercado-grau", "camal"];
        let h = Hints::new(&few);
        assert_eq!(h.suggest("mercado-grua"), "; did you mean \"mercado-grau\"?");
        assert_eq!(h.suggest("zzz"), "");
        let many = names(500);
        let known: Vec<&str> = many.iter().map(String::as_str).collect();
        let h = Hints::new(&known);
        assert_eq!(h.closest("sede-sur-0217"), Some("sede-sur-0217"));
        // A transposition (2 edits), a deletion, an insertion, a substitution.
        assert_eq!(h.closest("sede-sru-0217"), Some("sede-sur-0217"));
        assert_eq!(h.closest("sede-sr-0217"), Some("sede-sur-0217"));
        assert_eq!(h.closest("sede-suur-0217"), Some("sede-sur-0217"));
        assert_eq!(h.closest("sede-sux-0217"), Some("sede-sur-0217"));
        assert_eq!(h.closest("mercado"), None);
        assert_eq!(h.closest(&"x".repeat(10_000)), None);
    }

    #[test]
    fn the_index_finds_what_a_scan_finds() {
        let many = names(300);
        let known: Vec<&str> = many.iter().map(String::as_str).collect();
        let h = Hints::new(&known);
        let wrong = ["sede-norte-0001x", "sede-nrte-0003", "sde-este-0299", "sede-sur-1", "zz"];
        for w in wrong {
            let chars: Vec<char> = w.chars().collect();
            let scan = known
                .iter()
                .map(|k| (edit_distance(&chars, k), *k))
                .filter(|(d, _)| *d <= MAX_EDITS)
                .min()
                .map(|(_, k)| k);
            assert_eq!(h.closest(w), scan, "{w}");
        }
    }
}
