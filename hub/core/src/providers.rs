//! Who may contribute what: the hub operator approves which nodes provide
//! which dataset. A node's status report only *claims* datasets; a claim
//! becomes a contribution once the operator allows it
//! (`passerelle-hub datasets allow`). A claim not decided is pending:
//! logged once when first seen, listed, shown on `/sante`, and never
//! queried. A denied claim is never queried either.
//!
//! Upgrading hubs start with no approvals: nothing is asked until the
//! operator approves, once, the claims already there
//! (`passerelle-hub datasets allow --all-current`); until then each
//! refresh keeps a draft and the last published result stays.
//!
//! [`Approvals`] is the pure view the refresh plan reads; the rest reads
//! and writes the `providers` and `claims` keyspaces.

use std::collections::BTreeMap;

use passerelle_protocol::{ids::NodeId, UnixTime};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::{
    store::{FederationSpace, Keyspace, Store},
    HubError, Refusal,
};

/// Longest dataset name a claim may carry.
pub const MAX_DATASET_NAME: usize = 64;
/// Most claims recorded per node: a node reporting more is ignored beyond.
pub const MAX_CLAIMS_PER_NODE: usize = 64;

/// The operator's decision on one (node, dataset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    /// The node provides the dataset: it is asked.
    Allowed,
    /// The node does not provide the dataset: it is never asked.
    Denied,
}

/// A decision and when it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// Allowed or denied.
    pub decision: Decision,
    /// When.
    pub decided_at: UnixTime,
}

/// A dataset a node reported holding, first seen when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// When the hub first saw the claim.
    pub first_claimed: UnixTime,
}

/// The operator's decisions, as the refresh plan reads them (pure).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Approvals(BTreeMap<(NodeId, String), Decision>);

impl Approvals {
    /// Whether `node` is allowed to provide `dataset`.
    pub fn allows(&self, node: &NodeId, dataset: &str) -> bool {
        self.0.get(&(node.clone(), dataset.to_string())) == Some(&Decision::Allowed)
    }

    /// The decision on (node, dataset), if any.
    pub fn decision(&self, node: &NodeId, dataset: &str) -> Option<Decision> {
        self.0.get(&(node.clone(), dataset.to_string())).copied()
    }

    /// Records a decision (for tests and callers building a view).
    pub fn set(&mut self, node: NodeId, dataset: impl Into<String>, decision: Decision) {
        self.0.insert((node, dataset.into()), decision);
    }
}

/// One line of `passerelle-hub datasets list` or `pending`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderRow {
    /// The node.
    pub node_id: String,
    /// Its institution (from its enrollment).
    pub name: String,
    /// The dataset.
    pub dataset: String,
    /// `allowed`, `denied` or `pending`.
    pub state: String,
    /// When the operator decided, if they did.
    pub decided_at: Option<UnixTime>,
    /// When the node first claimed it, if it did.
    pub first_claimed: Option<UnixTime>,
    /// Whether the node's last status report lists it (as reported).
    pub reported: bool,
}

/// What `passerelle-hub datasets` asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Allow a node to provide a dataset.
    Allow {
        /// The node.
        node_id: NodeId,
        /// The dataset.
        dataset: String,
    },
    /// Approve every claim of enrolled nodes not decided yet (once, when
    /// upgrading a hub that had no approvals).
    AllowAllCurrent,
    /// Deny a node to provide a dataset.
    Deny {
        /// The node.
        node_id: NodeId,
        /// The dataset.
        dataset: String,
    },
    /// Claims not decided yet.
    Pending,
    /// Every decision.
    List,
}

fn key(node: &NodeId, dataset: &str) -> Vec<u8> {
    crate::store::keyspace::pair(node.as_str(), dataset)
}

fn split(key: &[u8]) -> Option<(NodeId, String)> {
    let at = key.iter().position(|b| *b == 0)?;
    let node = NodeId::new(std::str::from_utf8(&key[..at]).ok()?).ok()?;
    let dataset = std::str::from_utf8(&key[at + 1..]).ok()?.to_string();
    Some((node, dataset))
}

/// Whether a dataset name is one a claim or a decision may carry: 1 to
/// [`MAX_DATASET_NAME`] letters, digits, `_` or `-`.
pub fn valid_dataset(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_DATASET_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn decisions(store: &Store) -> Keyspace<Approval> {
    store.keyspace(FederationSpace::Providers)
}

fn claims(store: &Store) -> Keyspace<Claim> {
    store.keyspace(FederationSpace::Claims)
}

/// The operator's decisions.
///
/// # Errors
/// On a store failure.
pub fn approvals(store: &Store) -> Result<Approvals, HubError> {
    let mut out = Approvals::default();
    for e in decisions(store).iter()? {
        let e = e?;
        if let Some((node, dataset)) = split(e.key()) {
            out.0.insert((node, dataset), e.value()?.decision);
        }
    }
    Ok(out)
}

/// Records what a node's status report claims: each dataset seen for the
/// first time is logged once (INFO when approved, WARN when it waits for
/// the operator). Returns the claims new this time.
///
/// # Errors
/// On a store failure.
pub fn note_claims(
    store: &Store,
    node: &NodeId,
    reported: &[String],
    now: UnixTime,
) -> Result<Vec<String>, HubError> {
    let space = claims(store);
    let known = space.scan_prefix(&key(node, ""))?.count();
    let mut room = MAX_CLAIMS_PER_NODE.saturating_sub(known);
    // Read for new claims only, one key each: every status answer of every
    // node comes here, and reading all decisions cost O(nodes) each time.
    let decided = decisions(store);
    let mut new = Vec::new();
    for dataset in reported {
        if !valid_dataset(dataset) {
            warn!(%node, "status report claims a dataset with an invalid name; ignored");
            continue;
        }
        if space.get(&key(node, dataset))?.is_some() {
            continue;
        }
        if room == 0 {
            warn!(%node, max = MAX_CLAIMS_PER_NODE, "node claims too many datasets; further claims ignored");
            break;
        }
        let _w = store.writing()?;
        if !space.insert_new(&key(node, dataset), &Claim { first_claimed: now })? {
            continue;
        }
        room -= 1;
        match decided.get(&key(node, dataset))?.map(|a| a.decision) {
            Some(Decision::Allowed) => {
                info!(%node, %dataset, "node claims a dataset it is allowed to provide")
            }
            Some(Decision::Denied) => {
                warn!(%node, %dataset, "node claims a dataset it was denied; it is not asked")
            }
            None => {
                warn!(%node, %dataset, "node claims a dataset not approved: pending, not asked until passerelle-hub datasets allow")
            }
        }
        new.push(dataset.clone());
    }
    Ok(new)
}

/// Carries out a `datasets` action; the rows it concerns.
///
/// # Errors
/// [`Refusal::UnknownNode`] for a node never enrolled or revoked,
/// [`Refusal::BadDataset`] for an invalid name; a store failure.
pub fn apply(store: &Store, action: Action, now: UnixTime) -> Result<Vec<ProviderRow>, HubError> {
    match action {
        Action::Allow { node_id, dataset } => {
            decide(store, &node_id, &dataset, Decision::Allowed, now)?;
            Ok(rows(store)?
                .into_iter()
                .filter(|r| r.node_id == node_id.as_str() && r.dataset == dataset)
                .collect())
        }
        Action::Deny { node_id, dataset } => {
            decide(store, &node_id, &dataset, Decision::Denied, now)?;
            Ok(rows(store)?
                .into_iter()
                .filter(|r| r.node_id == node_id.as_str() && r.dataset == dataset)
                .collect())
        }
        Action::AllowAllCurrent => {
            let pending = pending(store)?;
            for r in &pending {
                if let Ok(node) = NodeId::new(&r.node_id) {
                    decide(store, &node, &r.dataset, Decision::Allowed, now)?;
                }
            }
            let done: Vec<(String, String)> = pending
                .into_iter()
                .map(|r| (r.node_id, r.dataset))
                .collect();
            Ok(rows(store)?
                .into_iter()
                .filter(|r| done.contains(&(r.node_id.clone(), r.dataset.clone())))
                .collect())
        }
        Action::Pending => pending(store),
        Action::List => Ok(rows(store)?
            .into_iter()
            .filter(|r| r.state != "pending")
            .collect()),
    }
}

/// Records the operator's decision on (node, dataset). The node must be
/// enrolled and not revoked; it need not have claimed the dataset yet.
///
/// # Errors
/// See [`apply`].
pub fn decide(
    store: &Store,
    node: &NodeId,
    dataset: &str,
    decision: Decision,
    now: UnixTime,
) -> Result<(), HubError> {
    if !valid_dataset(dataset) {
        return Err(Refusal::BadDataset {
            name: dataset.to_string(),
        }
        .into());
    }
    if store.node(node)?.is_none_or(|n| n.revoked_at.is_some()) {
        return Err(Refusal::UnknownNode { node: node.clone() }.into());
    }
    let _w = store.writing()?;
    let space = decisions(store);
    space.insert(
        &key(node, dataset),
        &Approval {
            decision,
            decided_at: now,
        },
    )?;
    space.flush()?;
    match decision {
        Decision::Allowed => info!(%node, %dataset, "provider allowed by the operator"),
        Decision::Denied => warn!(%node, %dataset, "provider denied by the operator"),
    }
    Ok(())
}

/// Every (node, dataset) the hub knows of, decided or claimed, for
/// enrolled and unrevoked nodes, ordered by node then dataset.
///
/// # Errors
/// On a store failure.
pub fn rows(store: &Store) -> Result<Vec<ProviderRow>, HubError> {
    let nodes: BTreeMap<NodeId, crate::store::NodeRecord> = store
        .nodes()?
        .into_iter()
        .filter(|n| n.revoked_at.is_none())
        .map(|n| (n.node_id.clone(), n))
        .collect();
    let mut out: BTreeMap<(NodeId, String), ProviderRow> = BTreeMap::new();
    fn row<'a>(
        out: &'a mut BTreeMap<(NodeId, String), ProviderRow>,
        nodes: &BTreeMap<NodeId, crate::store::NodeRecord>,
        node: &NodeId,
        dataset: &str,
    ) -> Option<&'a mut ProviderRow> {
        let n = nodes.get(node)?;
        Some(
            out.entry((node.clone(), dataset.to_string()))
                .or_insert_with(|| ProviderRow {
                    node_id: node.to_string(),
                    name: n.name.clone(),
                    dataset: dataset.to_string(),
                    state: "pending".into(),
                    decided_at: None,
                    first_claimed: None,
                    reported: n.datasets.iter().any(|d| d == dataset),
                }),
        )
    }
    for e in claims(store).iter()? {
        let e = e?;
        if let Some((node, dataset)) = split(e.key()) {
            if let Some(r) = row(&mut out, &nodes, &node, &dataset) {
                r.first_claimed = Some(e.value()?.first_claimed);
            }
        }
    }
    // Datasets reported before claims were recorded (a hub upgraded).
    for n in nodes.values() {
        for d in n.datasets.iter().filter(|d| valid_dataset(d)) {
            row(&mut out, &nodes, &n.node_id, d);
        }
    }
    for e in decisions(store).iter()? {
        let e = e?;
        if let Some((node, dataset)) = split(e.key()) {
            let a = e.value()?;
            if let Some(r) = row(&mut out, &nodes, &node, &dataset) {
                r.state = match a.decision {
                    Decision::Allowed => "allowed",
                    Decision::Denied => "denied",
                }
                .into();
                r.decided_at = Some(a.decided_at);
            }
        }
    }
    Ok(out.into_values().collect())
}

/// Claims not decided yet, of enrolled and unrevoked nodes.
///
/// # Errors
/// On a store failure.
pub fn pending(store: &Store) -> Result<Vec<ProviderRow>, HubError> {
    Ok(rows(store)?
        .into_iter()
        .filter(|r| r.state == "pending")
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        (dir, store)
    }

    fn enrolled(store: &Store, id: &str, datasets: &[&str]) -> NodeId {
        let node = NodeId::new(id).unwrap();
        store
            .put_node(&crate::store::NodeRecord {
                node_id: node.clone(),
                name: format!("Institution {id}"),
                enrolled_at: 1,
                serial: "01".into(),
                cert_not_after: 100,
                last_seen: None,
                version: None,
                datasets: datasets.iter().map(ToString::to_string).collect(),
                revoked_at: None,
            })
            .unwrap();
        node
    }

    #[test]
    fn a_claim_is_pending_until_allowed_and_denial_sticks() {
        let (_d, store) = store();
        let a = enrolled(&store, "asso-a", &["recues"]);
        assert_eq!(
            note_claims(&store, &a, &["recues".into()], 5).unwrap(),
            vec!["recues"]
        );
        assert!(
            note_claims(&store, &a, &["recues".into()], 6)
                .unwrap()
                .is_empty(),
            "logged once"
        );
        assert!(!approvals(&store).unwrap().allows(&a, "recues"));
        let p = pending(&store).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].first_claimed, p[0].reported), (Some(5), true));
        apply(
            &store,
            Action::Allow {
                node_id: a.clone(),
                dataset: "recues".into(),
            },
            7,
        )
        .unwrap();
        assert!(approvals(&store).unwrap().allows(&a, "recues"));
        assert!(pending(&store).unwrap().is_empty());
        apply(
            &store,
            Action::Deny {
                node_id: a.clone(),
                dataset: "recues".into(),
            },
            8,
        )
        .unwrap();
        assert!(!approvals(&store).unwrap().allows(&a, "recues"));
        let listed = apply(&store, Action::List, 9).unwrap();
        assert_eq!(listed[0].state, "denied");
        // Denied claims are not pending, and allow --all-current keeps them denied.
        assert!(apply(&store, Action::AllowAllCurrent, 10)
            .unwrap()
            .is_empty());
        assert!(!approvals(&store).unwrap().allows(&a, "recues"));
    }

    #[test]
    fn allow_all_current_approves_claims_reported_before_the_upgrade() {
        let (_d, store) = store();
        // Reported before claims were recorded: only in the node record.
        let a = enrolled(&store, "asso-a", &["recues", "rsa"]);
        let done = apply(&store, Action::AllowAllCurrent, 3).unwrap();
        assert_eq!(done.len(), 2);
        assert!(approvals(&store).unwrap().allows(&a, "rsa"));
    }

    #[test]
    fn unknown_nodes_and_bad_names_are_refused_and_claims_are_bounded() {
        let (_d, store) = store();
        let ghost = NodeId::new("ghost").unwrap();
        let err = decide(&store, &ghost, "recues", Decision::Allowed, 1).unwrap_err();
        assert!(matches!(
            err,
            HubError::Refused(Refusal::UnknownNode { .. })
        ));
        let a = enrolled(&store, "asso-a", &[]);
        let err = decide(&store, &a, "a\0b", Decision::Allowed, 1).unwrap_err();
        assert!(matches!(err, HubError::Refused(Refusal::BadDataset { .. })));
        let many: Vec<String> = (0..200).map(|i| format!("d{i}")).collect();
        note_claims(&store, &a, &many, 1).unwrap();
        assert_eq!(pending(&store).unwrap().len(), MAX_CLAIMS_PER_NODE);
    }
}
