//! Listings both command lines print, built on [`crate::output`].

use crate::output::{Cell, Listing};

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
            Cell::number(r.seq),
            Cell::time(Some(r.at)),
            Cell::text(r.event.actor.to_string()),
            Cell::text(r.event.action.to_string()),
            Cell::optional(r.event.person.as_deref()),
            Cell::text(&r.event.subject),
            Cell::optional(r.event.procedure.as_deref()),
            Cell::text(&r.event.detail),
            Cell::text(passerelle_protocol::hex::encode(&r.hash)),
        ]);
    }
    l
}
