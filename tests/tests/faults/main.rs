//! # The fault suite
//!
//! An operator's bad day, on loopback, with the real programs: processes
//! killed outright (SIGKILL) in the middle of an import, a document
//! deposit, a refresh and a vault upload; a lossy, slow, reordering,
//! duplicating and then cut link between a node and the hub; a frozen
//! node (SIGSTOP) thawed again. After every fault the invariants are
//! checked: no committed batch lost, audit chains intact, every stored
//! document or upload readable (or cleanly absent), stores that open,
//! figures that are right or clearly missing, never wrong.
//!
//! - `kill_node`: import and deposit killed, `passerelle-node` processes.
//! - `kill_hub`: refresh and upload killed, a `passerelle-hub` process.
//! - `network`: the fault-injecting relay between a node and the hub.
//! - `frozen`: a node process stopped and continued.
//!
//! `cargo test` runs a short version (a few rounds per loop). A longer
//! run: `PASSERELLE_FAULT_ROUNDS=200 cargo test -p passerelle-tests --test
//! faults -- --nocapture` (each loop prints its figures). The seed of
//! every random choice is `PASSERELLE_FAULT_SEED` (printed; fixed by
//! default), so a failing run can be replayed.

use std::time::{Duration, Instant};

mod frozen;
mod kill_hub;
mod kill_node;
mod network;

/// Rounds of each kill loop: `PASSERELLE_FAULT_ROUNDS`, 5 by default.
fn rounds() -> u32 {
    std::env::var("PASSERELLE_FAULT_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(5)
}

/// The seed of the random choices: `PASSERELLE_FAULT_SEED`, or a fixed one.
fn seed() -> u64 {
    std::env::var("PASSERELLE_FAULT_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x00FA_0175)
}

/// The most a kill loop runs: `PASSERELLE_FAULT_SECS`, 600 s by default;
/// a loop that reaches it stops early and says so.
fn budget() -> Duration {
    Duration::from_secs(
        std::env::var("PASSERELLE_FAULT_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(600),
    )
}

/// What a kill loop did, printed at its end.
#[derive(Debug)]
struct Tally {
    what: &'static str,
    started: Instant,
    rounds: u32,
    /// Kills that landed while the work was under way.
    interrupted: u32,
    /// Kills that came after the work had finished.
    finished: u32,
    /// Invariant checks passed (a violation fails the test at once).
    checks: u32,
}

impl Tally {
    fn new(what: &'static str) -> Self {
        eprintln!(
            "faults: {what}: up to {} round(s), seed {}",
            rounds(),
            seed()
        );
        Self {
            what,
            started: Instant::now(),
            rounds: 0,
            interrupted: 0,
            finished: 0,
            checks: 0,
        }
    }

    /// Whether another round may start (count and time bounds).
    fn more(&self) -> bool {
        if self.started.elapsed() > budget() {
            eprintln!(
                "faults: {}: time budget of {:?} reached after {} round(s)",
                self.what,
                budget(),
                self.rounds
            );
            return false;
        }
        self.rounds < rounds()
    }

    fn report(&self) {
        eprintln!(
            "faults: {}: {} round(s), {} kill(s) ({} mid-work, {} after it), {} invariant check(s), 0 violations, {:.1} s",
            self.what,
            self.rounds,
            self.interrupted + self.finished,
            self.interrupted,
            self.finished,
            self.checks,
            self.started.elapsed().as_secs_f64()
        );
    }
}
