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
//!
//! This module only decides; it does not read data, round values or know
//! which dataset a table comes from. It does no IO and reads no clock.
//!
//! ## Layout
//! - `shape`: hierarchies, table shapes, their validation and relations.
//! - `rule`: per-cell inputs, the rule, and the primary pass.
//! - `protect`: [`protect`] and [`recoverable`].
//! - `group`: the group rule.
//! - `rank`: exact elimination on sparse integer rows.
//! - `error`: [`DisclosureError`].

mod error;
mod group;
mod protect;
mod rank;
mod rule;
mod shape;

pub use error::{Axis, DisclosureError};
pub use group::MAX_GROUP_PARTS;
pub use protect::{protect, protect_linked, recoverable, recoverable_linked};
pub use rule::{CellInput, CellStatus, PrimaryReason, Rule};
pub use shape::{Hierarchy, LinkedShape, TableShape, MAX_BREAKDOWNS, MAX_CELLS};

#[cfg(test)]
mod tests;
