//! A map kept as a vector sorted by key, for the agent's per-device state.
//!
//! A device holds a few entries per map (one or two families, a handful of facts, a few dozen
//! interfaces). A `BTreeMap` gives each map at least one node of eleven slots: at 10,000
//! devices the interface maps alone took 38 MB where their entries need a third of that. Here
//! a map is its entries and nothing else; lookups are a binary search, which for these sizes
//! is as fast as a tree.

use std::borrow::Borrow;

use serde::ser::{Serialize, SerializeMap, Serializer};

/// Entries sorted by key, each key once.
#[derive(Debug, Clone, PartialEq)]
pub struct VecMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap { entries: Vec::new() }
    }
}

impl<K: Ord, V> VecMap<K, V> {
    /// An empty map.
    pub fn new() -> Self {
        VecMap::default()
    }

    fn find<Q>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.entries.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }

    /// The value of `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(key).ok().map(|i| &self.entries[i].1)
    }

    /// The value of `key`, to change.
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(key).ok().map(|i| &mut self.entries[i].1)
    }

    /// Whether `key` has a value.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(key).is_ok()
    }

    /// Sets `key` to `value`; returns the value it replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    /// Takes `key`'s value out.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(key).ok().map(|i| self.entries.remove(i).1)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> + ExactSizeIterator {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// The values in key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator {
        self.entries.iter().map(|(_, v)| v)
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for VecMap<K, V> {
    /// Later entries of a key replace earlier ones, as in a `BTreeMap`.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut entries: Vec<(K, V)> = iter.into_iter().collect();
        // Stable: of equal keys the last one given is kept below.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(K, V)> = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = v,
                _ => out.push((k, v)),
            }
        }
        VecMap { entries: out }
    }
}

impl<'a, K, V> IntoIterator for &'a VecMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (K, V)>, fn(&'a (K, V)) -> (&'a K, &'a V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

impl<K: Ord + Borrow<Q>, Q: Ord + ?Sized, V> std::ops::Index<&Q> for VecMap<K, V> {
    type Output = V;

    fn index(&self, key: &Q) -> &V {
        self.get(key).expect("no entry for the key")
    }
}

impl<K: Serialize, V: Serialize> Serialize for VecMap<K, V> {
    /// As a map, the same JSON as a `BTreeMap`'s.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::VecMap;

    #[test]
    fn behaves_as_a_btreemap() {
        let ops: [(u32, Option<&str>); 9] = [
            (5, Some("e")),
            (1, Some("a")),
            (3, Some("c")),
            (1, Some("A")),
            (9, None),
            (3, None),
            (7, Some("g")),
            (0, Some("z")),
            (5, None),
        ];
        let mut v = VecMap::new();
        let mut b = BTreeMap::new();
        for (k, op) in ops {
            match op {
                Some(val) => assert_eq!(v.insert(k, val), b.insert(k, val)),
                None => assert_eq!(v.remove(&k), b.remove(&k)),
            }
            assert_eq!(v.iter().collect::<Vec<_>>(), b.iter().collect::<Vec<_>>());
            assert_eq!(v.len(), b.len());
        }
        for k in 0..10 {
            assert_eq!(v.get(&k), b.get(&k));
            assert_eq!(v.contains_key(&k), b.contains_key(&k));
        }
        *v.get_mut(&7).unwrap() = "G";
        assert_eq!(v[&7], "G");
        assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"0":"z","1":"A","7":"G"}"#);
    }

    #[test]
    fn collecting_keeps_the_last_value_of_a_key() {
        let v: VecMap<u32, &str> = [(2, "b"), (1, "a"), (2, "B")].into_iter().collect();
        let b: BTreeMap<u32, &str> = [(2, "b"), (1, "a"), (2, "B")].into_iter().collect();
        assert_eq!(v.iter().collect::<Vec<_>>(), b.iter().collect::<Vec<_>>());
    }
}
