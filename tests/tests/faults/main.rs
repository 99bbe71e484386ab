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

use passerelle_hub::server::HubHandle;
use passerelle_observatory::{compose::ResultCell, IndicatorResult};
use passerelle_tests::refresh;

mod frozen;
mod kill_hub;
mod kill_node;
mod network;

/// The indicator the suite refreshes (a count of `personnes_recues`).
const INDICATOR: &str = "personnes-recues";

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

/// What a refresh under faults gave.
#[derive(Debug, Default)]
struct Seen {
    complete: u32,
    labelled_missing: u32,
}

/// Checks a result against the right figures: complete and equal, or
/// naming the node as missing with no figure that differs.
fn judge(result: &IndicatorResult, node: &str, right: &[ResultCell], seen: &mut Seen) {
    if result.coverage.complete() {
        assert_eq!(result.cells, right, "a wrong figure under faults");
        seen.complete += 1;
        return;
    }
    let failed = &result.coverage.failed;
    assert!(
        failed
            .iter()
            .any(|f| f.node_id == node && !f.reason.is_empty()),
        "incomplete without saying why: {:?}",
        result.coverage
    );
    for cell in result.cells.iter().filter(|c| c.value.is_some()) {
        let same = right
            .iter()
            .find(|r| (r.level, &r.code, &r.period) == (cell.level, &cell.code, &cell.period));
        assert_eq!(
            same.and_then(|r| r.value),
            cell.value,
            "a wrong figure in a partial result: {cell:?}"
        );
    }
    seen.labelled_missing += 1;
}

/// Refreshes until one is complete (each judged), for at most 30 s.
async fn until_complete(hub: &HubHandle, node: &str, right: &[ResultCell], seen: &mut Seen) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let before = seen.complete;
        judge(&refresh(hub, INDICATOR).await, node, right, seen);
        if seen.complete > before {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no complete refresh in 30 s: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
