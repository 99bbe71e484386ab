//! Statistical disclosure control of a released table, as pure functions.
//!
//! A table is the cross of two hierarchies (for example communes, EPCI and
//! the department, crossed with categories and their total). Each cell says
//! how many contributors it describes and, for a sum, the share of its
//! largest contributor. [`protect`] decides which cells may be released:
//!
//! 1. **Primary suppression**: a cell with 1 to `min_count - 1` contributors,
//!    or a sum dominated by one contributor, is withheld. A zero is released:
//!    it describes nobody.
//! 2. **Secondary suppression**: the totals still hold, so a withheld cell may
//!    be recomputed from released ones (a commune from its EPCI minus the
//!    other commune). While some withheld cell is determined by the additive
//!    relations and the released cells, another released cell sharing a
//!    relation with it is withheld too.
//! 3. **Group rule**: where a total is released, its withheld parts add up
//!    to a group anyone can compute (total minus released parts). A group of
//!    1 to `min_count - 1` contributors gets another part withheld (or the
//!    total). Withheld parts of a total may also add up to a sum that other
//!    relations give away (a row and the columns crossing it); such a small
//!    group gets the nearest released cell withheld. Steps 2 and 3
//!    alternate until neither withholds anything.
//! 4. **Interval protection**: a withheld cell that cannot be recomputed
//!    can still be narrowed: with non-negativity, the released figures may
//!    say it lies between 0 and 3. For every primary cell describing
//!    somebody, its feasible range `[lo, hi]` (over the real tables `x >= 0`
//!    that give every released cell its value and satisfy every additive
//!    relation) must satisfy `floor(hi) - ceil(lo) >= min_count`: it is
//!    then neither pinned more closely than the threshold nor shown to be
//!    under it. While one is narrower, the released cell nearest to it that
//!    widens it enough (fewest contributors first) is withheld, or if none
//!    alone does, the few that widen it most; steps 2 and 3 run again, and
//!    everything is checked again until nothing changes.
//!    See `interval` for why this width and how ranges are computed.
//!
//! One dataset is often published several ways: in total, by sex, by age
//! band. Those tables share their total column, so they are protected as
//! one linked table ([`LinkedShape`], [`protect_linked`]): the rows crossed
//! with the total and every breakdown's categories, each breakdown adding
//! up to the total on its own. Any table cut from it (the total alone, one
//! breakdown with its total) carries the joint decision.
//!
//! Whether a cell is determined is decided with exact arithmetic over the
//! rationals ([`recoverable`]); nothing here uses floating point for it.
//! Feasible ranges are linear programs solved in floating point by the
//! pure-Rust `microlp`, their bounds rounded inward to integers after a
//! small tolerance, so the decision is never wider than the exact range
//! (the property tests recompute every range with an exact rational
//! simplex of their own, and integer ranges by exhaustive search on small
//! tables).
//!
//! This module only decides; it does not read data, round values or know
//! which dataset a table comes from. It does no IO and reads no clock
//! (`microlp` times its own solves with the monotonic clock for its
//! statistics; no time limit is set, so no decision depends on it). The
//! same input always gives the same output.
//!
//! ## Layout
//! - `shape`: hierarchies, table shapes, their validation and relations.
//! - `rule`: per-cell inputs, the rule, and the primary pass.
//! - `protect`: [`protect`] and [`recoverable`].
//! - `group`: the group rule.
//! - `interval`: interval protection (feasible ranges by linear programs).
//! - `rank`: exact elimination on sparse integer rows.
//! - `error`: [`DisclosureError`].

mod error;
mod group;
mod interval;
mod protect;
mod rank;
mod rule;
mod shape;

pub use error::{Axis, DisclosureError};
pub use group::MAX_GROUP_PARTS;
pub use interval::{MAX_CANDIDATES, MAX_STEPS};
pub use protect::{protect, protect_linked, recoverable, recoverable_linked};
pub use rule::{CellInput, CellStatus, PrimaryReason, Rule};
pub use shape::{Hierarchy, LinkedShape, TableShape, MAX_BREAKDOWNS, MAX_CELLS};

#[cfg(test)]
mod tests;
