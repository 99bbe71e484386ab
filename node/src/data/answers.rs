//! Answers kept for as long as the data they were computed from is in
//! force.
//!
//! An aggregate answer is a function of the query, the node's policy and
//! dataset declarations (fixed while the node runs) and the batches in
//! force. The hub asks the same questions at every refresh, and most of an
//! answer's cost is disclosure control over the whole linked table (an LP
//! per period when interval protection is on), so a node keeps its recent
//! answers keyed by the query and by what the data was ([`InForce`]'s
//! fingerprint, for the running node). An import, a validation, a rejection
//! or a rollback changes the batches in force, and so the key: a kept answer
//! is never served for other data than its own.
//!
//! Giving the same answer again to the same question discloses nothing new.
//! Refusals are not kept: a policy refusal costs nothing to recompute, and
//! an unavailable store may be back at the next question.
//!
//! Bounded in answers and in cells; the oldest answers go first.
//!
//! [`InForce`]: crate::store::InForce

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
};

use passerelle_protocol::{
    aggregate::{AggregateAnswer, AggregateQuery},
    codec,
    message::Refusal,
};

/// Answers kept at most.
pub const MAX_ANSWERS: usize = 256;
/// Cells kept at most, over every answer (about 100 bytes each).
pub const MAX_CELLS: usize = 200_000;

type Key = (Vec<u8>, Vec<u8>);

/// Recent answers, keyed by query and data.
#[derive(Debug, Default)]
pub struct Answers {
    kept: Mutex<Kept>,
}

#[derive(Debug, Default)]
struct Kept {
    by_key: HashMap<Key, AggregateAnswer>,
    order: VecDeque<Key>,
    cells: usize,
    hits: u64,
    misses: u64,
}

/// How often kept answers were used, since start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Questions answered from a kept answer.
    pub hits: u64,
    /// Questions computed.
    pub misses: u64,
    /// Answers kept now.
    pub kept: usize,
}

impl Answers {
    /// The answer to `q` over the data `data` stands for: the kept one, or
    /// `compute`'s, kept when it is an answer.
    ///
    /// # Errors
    /// `compute`'s refusal.
    pub fn answer(
        &self,
        q: &AggregateQuery,
        data: &[u8],
        compute: impl FnOnce() -> Result<AggregateAnswer, Refusal>,
    ) -> Result<AggregateAnswer, Refusal> {
        let key = (
            codec::encode(q).map_err(|e| Refusal::Malformed(e.to_string()))?,
            data.to_vec(),
        );
        {
            let mut kept = self.lock();
            if let Some(a) = kept.by_key.get(&key).cloned() {
                kept.hits += 1;
                return Ok(a);
            }
            kept.misses += 1;
        }
        // Computed without the lock: questions about other data go on.
        let answer = compute()?;
        if answer.cells.len() <= MAX_CELLS {
            self.lock().keep(key, answer.clone());
        }
        Ok(answer)
    }

    /// Uses so far.
    pub fn tally(&self) -> Tally {
        let kept = self.lock();
        Tally {
            hits: kept.hits,
            misses: kept.misses,
            kept: kept.by_key.len(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        // A panic while holding the lock leaves only a cache behind.
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Kept {
    fn keep(&mut self, key: Key, answer: AggregateAnswer) {
        let cells = answer.cells.len();
        if let Some(old) = self.by_key.insert(key.clone(), answer) {
            // Computed twice at once: same key, same data, same answer.
            self.cells -= old.cells.len();
        } else {
            self.order.push_back(key);
        }
        self.cells += cells;
        while self.by_key.len() > MAX_ANSWERS || self.cells > MAX_CELLS {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(gone) = self.by_key.remove(&oldest) {
                self.cells -= gone.cells.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use passerelle_protocol::aggregate::{AppliedRule, Measure};

    use super::*;

    fn query(dataset: &str) -> AggregateQuery {
        AggregateQuery {
            dataset: dataset.into(),
            measure: Measure::Count,
            periods: vec![],
            by: None,
        }
    }

    fn answer(q: &AggregateQuery, cells: usize) -> AggregateAnswer {
        let cell = passerelle_protocol::aggregate::AnswerCell {
            level: passerelle_protocol::geo::Level::Department,
            code: "976".into(),
            period: "2025-T1".parse().unwrap(),
            category: None,
            value: passerelle_protocol::aggregate::CellValue::Released(12.0),
        };
        AggregateAnswer {
            query: q.clone(),
            categories: vec![],
            rule: AppliedRule {
                min_count: 5,
                dominance: None,
                rounding: None,
            },
            data_as_of: Some(1),
            cells: vec![cell; cells],
        }
    }

    #[test]
    fn the_same_question_over_the_same_data_is_computed_once() {
        let answers = Answers::default();
        let runs = Cell::new(0);
        let q = query("recues");
        for _ in 0..3 {
            let a = answers
                .answer(&q, b"batch 1", || {
                    runs.set(runs.get() + 1);
                    Ok(answer(&q, 2))
                })
                .unwrap();
            assert_eq!(a, answer(&q, 2));
        }
        assert_eq!(runs.get(), 1);
        assert_eq!(
            answers.tally(),
            Tally {
                hits: 2,
                misses: 1,
                kept: 1
            }
        );
    }

    #[test]
    fn other_data_or_another_question_is_computed_again() {
        let answers = Answers::default();
        let (q, other) = (query("recues"), query("orientations"));
        let first = answers
            .answer(&q, b"batch 1", || Ok(answer(&q, 1)))
            .unwrap();
        let new_data = answers
            .answer(&q, b"batch 2", || Ok(answer(&q, 3)))
            .unwrap();
        assert_eq!((first.cells.len(), new_data.cells.len()), (1, 3));
        let asked = answers
            .answer(&other, b"batch 2", || Ok(answer(&other, 4)))
            .unwrap();
        assert_eq!(asked.query, other);
        // The first data again (a rollback): its own answer, still kept.
        let back = answers.answer(&q, b"batch 1", || unreachable!()).unwrap();
        assert_eq!(back.cells.len(), 1);
    }

    #[test]
    fn refusals_are_not_kept() {
        let answers = Answers::default();
        let q = query("recues");
        let refused = answers.answer(&q, b"", || Err(Refusal::Unavailable("store".into())));
        assert!(matches!(refused, Err(Refusal::Unavailable(_))));
        let a = answers.answer(&q, b"", || Ok(answer(&q, 1))).unwrap();
        assert_eq!(a.cells.len(), 1);
        assert_eq!(answers.tally().misses, 2);
    }

    #[test]
    fn kept_answers_are_bounded_in_number_and_cells() {
        let answers = Answers::default();
        let q = query("recues");
        for i in 0..MAX_ANSWERS + 10 {
            answers
                .answer(&q, &i.to_be_bytes(), || Ok(answer(&q, 1)))
                .unwrap();
        }
        assert_eq!(answers.tally().kept, MAX_ANSWERS);
        // The oldest went first.
        let again = Cell::new(false);
        answers
            .answer(&q, &0usize.to_be_bytes(), || {
                again.set(true);
                Ok(answer(&q, 1))
            })
            .unwrap();
        assert!(again.get());

        let big = Answers::default();
        for i in 0..3usize {
            big.answer(&q, &i.to_be_bytes(), || Ok(answer(&q, MAX_CELLS / 2)))
                .unwrap();
        }
        assert_eq!(big.tally().kept, 2);
        assert!(big.lock().cells <= MAX_CELLS);
        // Larger than the whole bound: given, never kept.
        big.answer(&q, b"huge", || Ok(answer(&q, MAX_CELLS + 1)))
            .unwrap();
        assert_eq!(big.tally().kept, 2);
    }
}
