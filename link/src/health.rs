//! The storage health of a running node or hub: healthy, or degraded
//! with a reason while writes fail (a full disk, an IO error), and the
//! loop that probes the store until it recovers, without a restart.
//!
//! A store marks itself degraded when a write fails and healthy when a
//! write or a probe succeeds; [`watch`] runs the store's probe now and
//! then (often while degraded, with backoff; rarely while healthy). The
//! web layers answer `/healthz` and the `passerelle_storage_degraded`
//! gauge from [`Health::degraded`].
//!
//! [`drop_contained`] is where a storage engine's handle is let go of: a
//! panic in the engine's own `Drop` (sled 0.34 unwraps an `fsync` there)
//! is caught and reported instead of taking the process down.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::sync::watch as tokio_watch;
use tracing::{info, warn};

use crate::backoff::{unit_random, Backoff};

/// Why storage is degraded, and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Degraded {
    /// What failed, in plain words, with the fix.
    pub reason: String,
    /// When it began (seconds since the Unix epoch).
    pub since: u64,
}

/// The storage health of one store, shared by its handles.
#[derive(Debug, Clone, Default)]
pub struct Health {
    state: Arc<Mutex<Option<Degraded>>>,
}

impl Health {
    /// Marks the store degraded (keeping the first `since`), logging the
    /// change.
    pub fn mark_degraded(&self, reason: impl Into<String>) {
        let reason = reason.into();
        let mut s = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match s.as_mut() {
            Some(d) => d.reason = reason,
            None => {
                warn!(%reason, "storage degraded: writes fail; retrying until they work again");
                *s = Some(Degraded {
                    reason,
                    since: crate::now(),
                });
            }
        }
    }

    /// Marks the store healthy, logging a recovery.
    pub fn mark_healthy(&self) {
        let mut s = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(d) = s.take() {
            info!(
                after_secs = crate::now().saturating_sub(d.since),
                "storage recovered: writes work again"
            );
        }
    }

    /// `Some` while degraded.
    pub fn degraded(&self) -> Option<Degraded> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// How often [`watch`] probes.
#[derive(Debug, Clone, Copy)]
pub struct Probing {
    /// Between probes while healthy.
    pub healthy: Duration,
    /// First retry while degraded; doubles (with jitter) up to `healthy`.
    pub degraded_min: Duration,
}

impl Default for Probing {
    fn default() -> Self {
        Self {
            healthy: Duration::from_secs(5),
            degraded_min: Duration::from_millis(200),
        }
    }
}

/// Runs `probe` (a blocking function that tries a small write, and
/// reopens the store when it must) until `stop` changes: every
/// `probing.healthy` while healthy, with backoff while degraded. The
/// probe marks `health` itself; this loop only paces it.
pub async fn watch<P>(
    health: Health,
    probe: P,
    probing: Probing,
    mut stop: tokio_watch::Receiver<bool>,
) where
    P: Fn() + Send + Sync + 'static,
{
    let probe = Arc::new(probe);
    let mut backoff = Backoff::new(probing.degraded_min, probing.healthy);
    loop {
        let delay = if health.degraded().is_some() {
            backoff.next_delay(unit_random())
        } else {
            backoff.reset();
            probing.healthy
        };
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.changed() => return,
        }
        let p = probe.clone();
        if tokio::task::spawn_blocking(move || p()).await.is_err() {
            health.mark_degraded("the storage probe failed unexpectedly (see the log)");
        }
    }
}

/// Drops `value` (a storage engine's handle), catching a panic of its
/// `Drop`. Returns the panic's message when there was one; the caller
/// logs it and carries on.
pub fn drop_contained<T>(value: T) -> Option<String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(value)))
        .err()
        .map(|p| panic_text(p.as_ref()))
}

/// Runs `f`, catching a panic of the storage engine inside it, as
/// [`drop_contained`] does for a drop.
///
/// # Errors
/// The panic's message.
pub fn call_contained<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| panic_text(p.as_ref()))
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic without a message".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degraded_keeps_its_start_and_clears() {
        let h = Health::default();
        assert!(h.degraded().is_none());
        h.mark_degraded("disk full");
        let since = h.degraded().unwrap().since;
        h.mark_degraded("still full");
        let d = h.degraded().unwrap();
        assert_eq!((d.reason.as_str(), d.since), ("still full", since));
        h.mark_healthy();
        assert!(h.degraded().is_none());
    }

    #[test]
    fn a_panicking_drop_is_contained() {
        struct Bad;
        impl Drop for Bad {
            fn drop(&mut self) {
                panic!("fsync failed");
            }
        }
        assert_eq!(drop_contained(Bad).as_deref(), Some("fsync failed"));
        assert_eq!(drop_contained(1u8), None);
        assert_eq!(call_contained(|| 2).unwrap(), 2);
    }

    #[tokio::test]
    async fn the_watch_probes_until_stopped() {
        let h = Health::default();
        h.mark_degraded("full");
        let (stop, rx) = tokio_watch::channel(false);
        let probed = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let (h2, p2) = (h.clone(), probed.clone());
        let task = tokio::spawn(watch(
            h.clone(),
            move || {
                if p2.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 2 {
                    h2.mark_healthy();
                }
            },
            Probing {
                healthy: Duration::from_millis(50),
                degraded_min: Duration::from_millis(5),
            },
            rx,
        ));
        while probed.load(std::sync::atomic::Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(h.degraded().is_none());
        stop.send(true).unwrap();
        task.await.unwrap();
    }
}
