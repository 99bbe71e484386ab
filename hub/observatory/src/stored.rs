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
//! Self-describing formats (JSON) read by field name with the default.

use std::fmt;

use passerelle_protocol::UnixTime;
use serde::{
    de::{self, SeqAccess, Visitor},
    Deserialize, Deserializer,
};

use crate::{
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
            });
        }
        d.deserialize_tuple(6, Fields)
    }
}

/// The fields in order, the last one optional.
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
        Ok(IndicatorResult {
            indicator,
            computed_at,
            cells,
            coverage,
            provenance,
            denominators,
        })
    }
}

#[cfg(test)]
mod tests {
    use passerelle_protocol::codec;
    use serde::Serialize;

    use super::*;
    use crate::population::Denominator;

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
}
