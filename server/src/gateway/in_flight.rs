//! Charge requests the simulator is handling right now, by idempotency key: what lets a test
//! act at the moment a charge is in flight (the shop waiting on the gateway), instead of
//! sleeping and hoping the moment has come.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
pub(super) struct InFlight(Mutex<BTreeMap<String, usize>>);

/// One charge request being handled; it leaves the set when dropped (answered, or given up
/// because the caller hung up).
pub(super) struct Entry {
    set: Arc<InFlight>,
    key: String,
}

impl InFlight {
    pub fn enter(self: &Arc<Self>, key: &str) -> Entry {
        if let Ok(mut keys) = self.0.lock() {
            *keys.entry(key.to_owned()).or_default() += 1;
        }
        Entry {
            set: self.clone(),
            key: key.to_owned(),
        }
    }

    /// The keys with a charge request being handled, each once, in order.
    pub fn keys(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|keys| keys.keys().cloned().collect())
            .unwrap_or_default()
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        if let Ok(mut keys) = self.set.0.lock()
            && let Some(count) = keys.get_mut(&self.key)
        {
            *count -= 1;
            if *count == 0 {
                keys.remove(&self.key);
            }
        }
    }
}
