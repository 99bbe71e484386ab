//! Composing an indicator from node answers: the pure composition lives in
//! `passerelle-provenance` (so the standalone verifier recomputes with the
//! same code); this applies it to a catalog entry.

pub use passerelle_provenance::compose::{measure, Answers, ResultCell, Status};
use passerelle_provenance::population::Denominators;

use crate::catalog::Indicator;

/// Composes `ind` for every unit of every level and every period.
pub fn compose(ind: &Indicator, answers: &Answers) -> Vec<ResultCell> {
    passerelle_provenance::compose::compose(&ind.formula, ind.decimals, answers)
}

/// [`compose`] with recorded denominators.
pub fn compose_with(ind: &Indicator, answers: &Answers, den: &Denominators) -> Vec<ResultCell> {
    passerelle_provenance::compose::compose_with(&ind.formula, ind.decimals, answers, den)
}
