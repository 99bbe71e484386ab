//! Hub of hubs: a national bundle whose contributions are regional hubs'
//! signed answers, each naming the regional result it was taken from
//! (`ComposedFrom`: indicator, composition time, digests of the node
//! answers under it). [`chain`] checks that a regional bundle is the one a
//! national contribution names, and that the cells the regional hub sent
//! are its published cells. Each bundle is checked on its own with
//! [`crate::check`]; together they chain the national figure back to the
//! partners' signed answers.
//!
//! Not proven here: that the regional hub's identity at the national hub
//! (a node certificate from the national CA) and its own hub certificate
//! (from its regional CA) belong to the same operator; the national
//! operator vouched for that when it issued the enrollment token.

use passerelle_protocol::{
    aggregate::{CellValue, ComposedAnswer},
    codec,
    envelope::{Outcome, ReplyBody},
    message::Answer,
};
use passerelle_provenance::{
    bundle::{Bundle, Statement},
    compose::Status,
};

use crate::{utc, Failure};

fn statement(bytes: &[u8]) -> Result<Statement, Failure> {
    let b: Bundle =
        serde_json::from_slice(bytes).map_err(|e| Failure::Unreadable(e.to_string()))?;
    serde_json::from_str(b.statement.get()).map_err(|e| Failure::Statement(e.to_string()))
}

/// The composed answers a national bundle discloses, with the node id of
/// the regional hub that signed each.
///
/// # Errors
/// [`Failure::Unreadable`] or [`Failure::Statement`] when the bundle does
/// not read.
pub fn composed(national: &[u8]) -> Result<Vec<(String, ComposedAnswer)>, Failure> {
    let s = statement(national)?;
    Ok(s.contributions
        .iter()
        .filter_map(|c| {
            let body: ReplyBody = codec::decode(&c.signed_answer.as_ref()?.0).ok()?;
            match body.outcome {
                Outcome::Answered(Answer::Composed(a)) => Some((c.node_id.clone(), *a)),
                _ => None,
            }
        })
        .collect())
}

/// Checks that the regional bundle `regional` is the result a disclosed
/// contribution of the national bundle `national` was taken from (same
/// indicator, composition time and node answer digests, in order), and
/// that every cell that regional hub sent is one its bundle publishes,
/// with the same value (a withheld cell withheld). Returns the regional
/// hub's node id at the national hub.
///
/// # Errors
/// [`Failure::Mismatch`] naming what differs, or an unreadable bundle.
pub fn chain(national: &[u8], regional: &[u8]) -> Result<String, Failure> {
    let r = statement(regional)?;
    let digests: Vec<Vec<u8>> = r
        .contributions
        .iter()
        .map(|c| c.answer_sha256.0.clone())
        .collect();
    let all = composed(national)?;
    let Some((node, answer)) = all.into_iter().find(|(_, a)| {
        a.from.indicator == r.indicator.id
            && a.from.computed_at == r.computed_at
            && a.from
                .answers
                .iter()
                .map(|d| d.to_vec())
                .collect::<Vec<_>>()
                == digests
    }) else {
        return Err(Failure::Mismatch(format!(
            "no disclosed contribution of the national bundle was taken from {} composed {} with these answers",
            r.indicator.id,
            utc(r.computed_at)
        )));
    };
    for cell in &answer.answer.cells {
        let place = format!("{} {} {}", cell.level.as_str(), cell.code, cell.period);
        let Some(p) = r
            .cells
            .iter()
            .find(|c| c.level == cell.level && c.code == cell.code && c.period == cell.period)
        else {
            // Outside the regional bundle's scope: not checkable from it.
            continue;
        };
        let same = match cell.value {
            CellValue::Released(v) => p.status == Status::Released && p.value == Some(v),
            CellValue::Suppressed(_) => p.status == Status::Suppressed,
        };
        if !same {
            return Err(Failure::Mismatch(format!(
                "{node} sent {place} as {:?}, its bundle publishes {:?} {:?}",
                cell.value, p.status, p.value
            )));
        }
    }
    Ok(node)
}
