//! The node's data: CSV batches turned into cubes at import, and aggregate
//! answers computed from cubes under the sharing policy.
//!
//! A node keeps no row about a person: an import validates the whole file,
//! aggregates it to the finest cube (commune × period × every declared
//! dimension) and stores that cube. Answers cost the number of cells, not
//! the number of records, and a policy change needs no re-import.
//!
//! - [`cube`]: the cube and its cells.
//! - [`import`]: reading and validating a CSV file into a cube (pure over a
//!   reader).
//! - [`aggregate`]: an aggregate answer with disclosure control (pure).
//! - [`answers`]: answers kept while the data they come from is in force.

pub mod aggregate;
pub mod answers;
pub mod cube;
pub mod import;
