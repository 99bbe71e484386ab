//! Provenance bundles of published results ("Vérifier ce chiffre"): the
//! hub's signed statement of a result with the signed answers it was
//! composed from, for the public (only what the portal publishes) or for
//! an auditor (every answer). The rules and format are in
//! [`passerelle_provenance::bundle`]; this reads the stored result and
//! signs with the hub's key.

use passerelle_hub_core::{ops::Hub, HubError, Refusal};
use passerelle_protocol::UnixTime;
use passerelle_provenance::bundle::{self, Bundle, Definition, Kind, Scope, Source};

use crate::{catalog::Indicator, IndicatorResult};

/// The CA certificates a bundle carries: those trusted now, then those
/// retired by rotations (older answers were certified by them).
pub fn cas(hub: &Hub) -> Vec<Vec<u8>> {
    hub.trusted_cas
        .iter()
        .chain(&hub.retired_cas)
        .cloned()
        .collect()
}

/// The bundle of `result` (a published result of `ind`) for `scope`,
/// signed by the hub at `now`.
///
/// # Errors
/// [`Refusal::Verification`] when a kept answer does not decode.
pub fn bundle(
    hub: &Hub,
    ind: &Indicator,
    result: &IndicatorResult,
    scope: Scope,
    kind: Kind,
    now: UnixTime,
) -> Result<Bundle, HubError> {
    let bad = |e: bundle::BundleError| {
        HubError::from(Refusal::Verification {
            indicator: ind.id.clone(),
            why: e.to_string(),
        })
    };
    let sources: Vec<Source<'_>> = result
        .provenance
        .iter()
        .map(|p| Source {
            cert_der: &p.cert_der,
            dataset: &p.dataset,
            measure: &p.measure,
            signed: &p.signed,
        })
        .collect();
    let definition = Definition {
        id: ind.id.clone(),
        title: ind.title.clone(),
        unit: ind.unit.clone(),
        formula: ind.formula.clone(),
        decimals: ind.decimals,
    };
    let mut statement = bundle::statement(
        definition,
        result.computed_at,
        now,
        scope,
        &result.cells,
        &sources,
        kind,
    )
    .map_err(bad)?;
    statement.denominators = result.denominators.clone();
    bundle::seal(&statement, &cas(hub), &hub.hub_cert_der, &hub.key).map_err(bad)
}

/// The latest published result of an indicator with its provenance, from
/// the store.
///
/// # Errors
/// On a store failure.
pub fn latest_with_provenance(hub: &Hub, id: &str) -> Result<Option<IndicatorResult>, HubError> {
    hub.store.latest_result(id)
}
