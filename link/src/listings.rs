//! Listings both command lines print, built on [`crate::output`].

use crate::output::{time, Listing};

/// Audit records (a node's chain or the vault's) as a listing.
pub fn audit(records: &[passerelle_protocol::audit::Record]) -> Listing {
    let mut l = Listing::new(vec![
        "seq",
        "at",
        "actor",
        "action",
        "person",
        "subject",
        "procedure",
        "detail",
        "hash",
    ]);
    for r in records {
        l.rows.push(vec![
            r.seq.to_string(),
            time(Some(r.at)),
            r.event.actor.to_string(),
            r.event.action.to_string(),
            r.event.person.clone().unwrap_or_else(|| "-".into()),
            r.event.subject.clone(),
            r.event.procedure.clone().unwrap_or_else(|| "-".into()),
            r.event.detail.clone(),
            passerelle_protocol::hex::encode(&r.hash),
        ]);
    }
    l
}
