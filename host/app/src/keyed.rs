//! Values kept per key (an agent, a tenant) only while someone uses them:
//! the map never grows with the number of keys ever seen, and two keys
//! never share a value.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A value per key, made on first use and dropped once its last user is
/// gone.
pub(crate) struct Keyed<T> {
    map: Mutex<HashMap<String, Arc<T>>>,
}

impl<T> Default for Keyed<T> {
    fn default() -> Self {
        Keyed {
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> Keyed<T> {
    /// The value of `key`, made by `make` if nobody uses one.
    pub(crate) fn get_with(&self, key: &str, make: impl FnOnce() -> T) -> Held<'_, T> {
        let mut map = self.map.lock().expect("keyed map");
        let value = map
            .entry(key.to_owned())
            .or_insert_with(|| Arc::new(make()))
            .clone();
        Held {
            keyed: self,
            key: key.to_owned(),
            value: Some(value),
        }
    }

    /// The value of `key`, made with its default if nobody uses one.
    pub(crate) fn get(&self, key: &str) -> Held<'_, T>
    where
        T: Default,
    {
        self.get_with(key, T::default)
    }

    /// How many keys have a value now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.lock().expect("keyed map").len()
    }
}

/// One use of a key's value; the value is forgotten when the last use ends.
pub(crate) struct Held<'a, T> {
    keyed: &'a Keyed<T>,
    key: String,
    value: Option<Arc<T>>,
}

impl<T> Held<'_, T> {
    /// The value, shared with the other uses of the key.
    pub(crate) fn value(&self) -> &Arc<T> {
        self.value.as_ref().expect("held until dropped")
    }
}

impl<T> Drop for Held<'_, T> {
    fn drop(&mut self) {
        let mut map = self.keyed.map.lock().expect("keyed map");
        drop(self.value.take());
        // Only the map's own reference left: nobody uses or waits for it.
        if map
            .get(&self.key)
            .is_some_and(|value| Arc::strong_count(value) == 1)
        {
            map.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_forgotten_once_its_last_use_ends() {
        let keyed: Keyed<u8> = Keyed::default();
        let first = keyed.get("ag_1");
        let second = keyed.get("ag_1");
        assert!(Arc::ptr_eq(first.value(), second.value()));
        assert_eq!(keyed.len(), 1);
        drop(first);
        assert_eq!(keyed.len(), 1);
        drop(second);
        assert_eq!(keyed.len(), 0);
    }

    #[test]
    fn two_keys_never_share_a_value() {
        let keyed: Keyed<u8> = Keyed::default();
        let a = keyed.get("ag_1");
        let b = keyed.get("ag_2");
        assert!(!Arc::ptr_eq(a.value(), b.value()));
    }
}
