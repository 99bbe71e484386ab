//! Reading [`IndicatorResult`] records written by earlier versions.
//!
//! The store's codec (bincode) is not self-describing: a struct is its
//! fields in order, with no names and no count. Results written before
//! reference populations existed end after `provenance`; newer ones carry
//! `denominators` last. A hub upgraded in place must still read its
//! history and its published results, so the binary reader takes the
//! trailing field when it is there and the empty default (the built-in
//! 2017 populations, which those results used) when the record ends
//! before it. Bytes left after the last field are still refused by the
//! codec (it checks that every byte was read). One corruption reads
//! without error: a record cut inside its denominators reads as having
//! none, and then fails `verify-indicator` (its rates no longer recompute
//! with the 2017 figures) rather than passing as right.
//! Breakdowns came later still: the binary form writes them after
//! `denominators`, behind a mark ([`BREAKDOWNS_MARK`]). A record that ends
//! before the mark has none; anything else there (a wrong mark, a list
//! cut short) refuses the whole record, so padding is never read as
//! breakdowns.
//! Self-describing formats (JSON) read by field name with the default.

use std::{cell::Cell, fmt};

use passerelle_protocol::UnixTime;
use serde::{
    de::{self, DeserializeSeed, SeqAccess, Visitor},
    Deserialize, Deserializer, Serialize, Serializer,
};

use crate::{
    breakdown::Breakdown,
    compose::ResultCell,
    population::Denominators,
    refresh::{Coverage, IndicatorResult, Provenance},
};

/// The named form, for self-describing formats.
#[derive(Deserialize)]
struct Named {
    indicator: String,
    computed_at: UnixTime,
    cells: Vec<ResultCell>,
    coverage: Coverage,
    provenance: Vec<Provenance>,
    #[serde(default)]
    denominators: Denominators,
    #[serde(default)]
    breakdowns: Vec<Breakdown>,
}

impl<'de> Deserialize<'de> for IndicatorResult {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let n = Named::deserialize(d)?;
            return Ok(IndicatorResult {
                indicator: n.indicator,
                computed_at: n.computed_at,
                cells: n.cells,
                coverage: n.coverage,
                provenance: n.provenance,
                denominators: n.denominators,
                breakdowns: n.breakdowns,
            });
        }
        d.deserialize_tuple(7, Fields)
    }
}

/// Written before the breakdowns in the binary form.
pub(crate) const BREAKDOWNS_MARK: u32 = 0x4244_0001;

/// Writes the breakdowns: behind [`BREAKDOWNS_MARK`] in the binary form,
/// as a plain list in self-describing ones.
pub(crate) fn write_breakdowns<S: Serializer>(b: &Vec<Breakdown>, s: S) -> Result<S::Ok, S::Error> {
    if s.is_human_readable() {
        b.serialize(s)
    } else {
        (BREAKDOWNS_MARK, b).serialize(s)
    }
}

/// Reads the marked breakdowns; sets the flag once the mark was read (from
/// then on, any failure is a bad record, not an older one).
struct Marked<'a>(&'a Cell<bool>);

impl<'de> DeserializeSeed<'de> for Marked<'_> {
    type Value = Vec<Breakdown>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_tuple(2, self)
    }
}

impl<'de> Visitor<'de> for Marked<'_> {
    type Value = Vec<Breakdown>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("marked breakdowns")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let missing = |i| de::Error::invalid_length(i, &"marked breakdowns");
        let mark: u32 = seq.next_element()?.ok_or_else(|| missing(0))?;
        self.0.set(true);
        if mark != BREAKDOWNS_MARK {
            return Err(de::Error::custom(
                "bytes after the denominators are not breakdowns",
            ));
        }
        seq.next_element()?.ok_or_else(|| missing(1))
    }
}

/// The fields in order, the last two optional.
struct Fields;

impl<'de> Visitor<'de> for Fields {
    type Value = IndicatorResult;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an indicator result")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let missing = |i| de::Error::invalid_length(i, &"an indicator result");
        let indicator = seq.next_element()?.ok_or_else(|| missing(0))?;
        let computed_at = seq.next_element()?.ok_or_else(|| missing(1))?;
        let cells = seq.next_element()?.ok_or_else(|| missing(2))?;
        let coverage = seq.next_element()?.ok_or_else(|| missing(3))?;
        let provenance = seq.next_element()?.ok_or_else(|| missing(4))?;
        // An older record ends here: reading on fails at its end, and the
        // codec's whole-record check refuses anything else that failed.
        let denominators = seq.next_element().ok().flatten().unwrap_or_default();
        let started = Cell::new(false);
        let breakdowns = match seq.next_element_seed(Marked(&started)) {
            Ok(b) => b.unwrap_or_default(),
            Err(e) if started.get() => return Err(e),
            Err(_) => Vec::new(),
        };
        Ok(IndicatorResult {
            indicator,
            computed_at,
            cells,
            coverage,
            provenance,
            denominators,
            breakdowns,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::population::Denominator;
    use passerelle_protocol::codec;

    /// The layout results had before `denominators`.
    #[derive(Serialize)]
    struct Before {
        indicator: String,
        computed_at: UnixTime,
        cells: Vec<ResultCell>,
        coverage: Coverage,
        provenance: Vec<Provenance>,
    }

    fn before() -> Before {
        Before {
            indicator: "rsa-foyers".into(),
            computed_at: 1_700_000_000,
            cells: Vec::new(),
            coverage: Coverage::default(),
            provenance: Vec::new(),
        }
    }

    #[test]
    fn a_result_written_before_denominators_still_reads() {
        let bytes = codec::encode(&before()).unwrap();
        let r: IndicatorResult = codec::decode(&bytes).unwrap();
        assert_eq!(r.indicator, "rsa-foyers");
        assert_eq!(r.computed_at, 1_700_000_000);
        assert!(r.denominators.0.is_empty());
    }

    #[test]
    fn a_current_result_round_trips_with_its_denominators() {
        let b = before();
        let r = IndicatorResult {
            indicator: b.indicator,
            computed_at: b.computed_at,
            cells: b.cells,
            coverage: b.coverage,
            provenance: b.provenance,
            denominators: Denominators(vec![Denominator {
                year: 2025,
                ages: None,
                level: passerelle_protocol::geo::Level::Department,
                code: "976".into(),
                source_year: 2024,
                value: 320_000,
            }]),
            breakdowns: Vec::new(),
        };
        let bytes = codec::encode(&r).unwrap();
        assert_eq!(codec::decode::<IndicatorResult>(&bytes).unwrap(), r);
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<IndicatorResult>(&json).unwrap(), r);
    }

    #[test]
    fn a_cut_or_padded_result_is_refused_whole() {
        let mut bytes = codec::encode(&before()).unwrap();
        bytes.extend([0, 7]);
        assert!(codec::decode::<IndicatorResult>(&bytes).is_err());
        let bytes = codec::encode(&before()).unwrap();
        assert!(codec::decode::<IndicatorResult>(&bytes[..bytes.len() - 1]).is_err());
    }

    /// The layout results had before `breakdowns`.
    #[derive(serde::Serialize)]
    struct BeforeBreakdowns {
        indicator: String,
        computed_at: UnixTime,
        cells: Vec<ResultCell>,
        coverage: Coverage,
        provenance: Vec<Provenance>,
        denominators: Denominators,
    }

    #[test]
    fn a_result_written_before_breakdowns_still_reads_and_a_new_one_round_trips() {
        let b = before();
        let old = BeforeBreakdowns {
            indicator: b.indicator.clone(),
            computed_at: b.computed_at,
            cells: Vec::new(),
            coverage: Coverage::default(),
            provenance: Vec::new(),
            denominators: Denominators(vec![Denominator {
                year: 2025,
                ages: None,
                level: passerelle_protocol::geo::Level::Department,
                code: "976".into(),
                source_year: 2024,
                value: 320_000,
            }]),
        };
        let r: IndicatorResult = codec::decode(&codec::encode(&old).unwrap()).unwrap();
        assert_eq!(r.denominators, old.denominators);
        assert!(r.breakdowns.is_empty());
        let new = IndicatorResult {
            breakdowns: vec![Breakdown {
                by: "sexe".into(),
                categories: vec!["F".into(), "M".into()],
                cells: vec![crate::breakdown::BreakdownCell {
                    category: "F".into(),
                    cell: ResultCell {
                        level: passerelle_protocol::geo::Level::Department,
                        code: "976".into(),
                        period: passerelle_protocol::period::Period::Year(2024),
                        value: Some(42.0),
                        status: crate::compose::Status::Released,
                    },
                }],
                failed: Vec::new(),
                provenance: Vec::new(),
            }],
            ..r
        };
        let bytes = codec::encode(&new).unwrap();
        assert_eq!(codec::decode::<IndicatorResult>(&bytes).unwrap(), new);
        let json = serde_json::to_string(&new).unwrap();
        assert_eq!(serde_json::from_str::<IndicatorResult>(&json).unwrap(), new);
        let mut padded = bytes.clone();
        padded.push(0);
        assert!(codec::decode::<IndicatorResult>(&padded).is_err());
        // Cut inside its breakdowns: refused, not read as having none.
        assert!(codec::decode::<IndicatorResult>(&bytes[..bytes.len() - 3]).is_err());
    }
}
