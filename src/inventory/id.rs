//! Ids of the inventory's things as types: a device id cannot be passed where a site id is
//! expected. Cheap to clone (a shared string), and read like a `&str` (`Deref`, `Borrow<str>`
//! for map lookups, comparisons with `&str`). Stored, exported and serialised as the plain
//! string.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// Declares an id newtype over `Arc<str>`.
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Arc<str>);

        impl $name {
            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        // Padded like a string's (`{:<20}` in tables).
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(&self.0)
            }
        }

        // As a string's, so that messages and assertions read the same as before.
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&*self.0, f)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> $name {
                $name(Arc::from(id))
            }
        }

        impl From<&String> for $name {
            fn from(id: &String) -> $name {
                $name(Arc::from(id.as_str()))
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> $name {
                $name(Arc::from(id))
            }
        }

        impl From<Arc<str>> for $name {
            fn from(id: Arc<str>) -> $name {
                $name(id)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0.to_string()
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                &*self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                &*self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &*self.0 == other.as_str()
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == &*other.0
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == &*other.0
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                String::deserialize(d).map($name::from)
            }
        }
    };
}

id_type! {
    /// A device's id (`[a-z0-9-]+`, unique in the inventory).
    DeviceId
}

id_type! {
    /// A site's id (`[a-z0-9-]+`, unique in the inventory).
    SiteId
}

id_type! {
    /// A project's id (`[a-z0-9-]+`, unique in the inventory).
    ProjectId
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn an_id_reads_compares_and_looks_up_as_its_string() {
        let id = DeviceId::from("sw-core");
        assert_eq!(id, "sw-core");
        assert!("sw-core" == id);
        assert_eq!(id.len(), 7, "derefs to str");
        assert_eq!(format!("{id} {id:?} [{id:<9}]"), "sw-core \"sw-core\" [sw-core  ]");
        let map = HashMap::from([(id.clone(), 1)]);
        assert_eq!(map.get("sw-core"), Some(&1), "looked up by &str");
    }

    #[test]
    fn an_id_serialises_as_the_plain_string() {
        let id = SiteId::from("sede-central".to_owned());
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"sede-central\"");
        assert_eq!(serde_json::from_str::<SiteId>(&json).unwrap(), id);
    }
}
