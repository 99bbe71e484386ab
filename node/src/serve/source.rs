//! What the running node answers from: its store, its policy and its
//! vault, behind [`answer::DataSource`].

use passerelle_protocol::{
    message::Refusal,
    sign::PublicKey,
    vault::{DocSummary, Pseudonym, Requester},
};
use tracing::info;

use super::{renewal_due, Shared};
use crate::{answer, identity::Credentials};

impl answer::DataSource for Shared {
    fn aggregate(
        &self,
        q: &passerelle_protocol::aggregate::AggregateQuery,
    ) -> Result<passerelle_protocol::aggregate::AggregateAnswer, Refusal> {
        let unavailable = |e: crate::NodeError| Refusal::Unavailable(e.to_string());
        let data = self.store.in_force(&q.dataset).map_err(unavailable)?;
        self.answers.answer(q, &data.fingerprint(), || {
            let (cubes, as_of) = self.store.cubes_of(&data).map_err(unavailable)?;
            let (datasets, policy) = (&self.config.datasets, &self.config.policy);
            crate::data::aggregate::answer(q, datasets, policy, &cubes, as_of)
        })
    }

    fn documents(
        &self,
        hub: &PublicKey,
        person: &Pseudonym,
        requester: &Requester,
        now: u64,
    ) -> Result<Vec<DocSummary>, Refusal> {
        let creds = self.creds();
        self.gate(hub, now, &creds.identity.node_id)
            .list(person, requester)
    }

    fn fetch(
        &self,
        hub: &PublicKey,
        person: &Pseudonym,
        document: &str,
        requester: &Requester,
        now: u64,
    ) -> Result<DocSummary, Refusal> {
        let creds = self.creds();
        self.gate(hub, now, &creds.identity.node_id)
            .fetch(person, document, requester)
            .map(|d| d.summary())
    }

    fn forget(&self, person: &Pseudonym, now: u64) -> Result<(), Refusal> {
        self.store
            .forget_link(person, now)
            .map_err(|e| Refusal::Unavailable(e.to_string()))
    }

    fn revoke(&self, ids: &[String], now: u64) -> Result<(), Refusal> {
        self.store
            .revoke_consents(ids, now)
            .map_err(|e| Refusal::Unavailable(e.to_string()))
    }

    fn audit_head(
        &self,
        at: Option<u64>,
    ) -> Result<passerelle_protocol::audit::HeadCheck, Refusal> {
        self.store
            .audit_head(at)
            .map_err(|e| Refusal::Unavailable(e.to_string()))
    }

    fn hub_head(
        &self,
        head: &passerelle_protocol::audit::HubHead,
        now: u64,
    ) -> Result<Option<u64>, Refusal> {
        self.store
            .note_hub_head(head, now)
            .map_err(|e| Refusal::Unavailable(e.to_string()))
    }

    fn deposits_since(
        &self,
        after: u64,
        now: u64,
    ) -> Result<(Vec<passerelle_protocol::message::Deposit>, u64), Refusal> {
        self.store
            .deposits_since(after, now)
            .map_err(|e| Refusal::Unavailable(e.to_string()))
    }

    fn trust(&self, cas: &[Vec<u8>], now: u64) -> Result<(), Refusal> {
        if cas.is_empty()
            || cas
                .iter()
                .any(|c| passerelle_certs::Ca::check_certificate(c).is_err())
        {
            return Err(Refusal::Malformed(
                "trusted CA list empty or not certificates".into(),
            ));
        }
        let current = self.creds();
        if current.cas != cas {
            let dir = crate::paths::NodeDir::existing(&self.root)
                .map_err(|e| Refusal::Unavailable(e.to_string()))?;
            Credentials::write_cas(&dir, cas)
                .and_then(|()| Credentials::load(&dir))
                .map(|c| self.set_creds(c))
                .map_err(|e| Refusal::Unavailable(e.to_string()))?;
            info!(
                cas = cas.len(),
                "trusted CA certificates updated by the hub"
            );
        }
        if renewal_due(&self.creds(), self.config.link.renew_before.as_secs(), now) {
            self.renew_now.notify_one();
        }
        Ok(())
    }
}

impl Shared {
    fn gate<'a>(
        &'a self,
        hub: &'a PublicKey,
        now: u64,
        me: &'a passerelle_protocol::ids::NodeId,
    ) -> crate::vault::Gate<'a> {
        crate::vault::Gate {
            store: &self.store,
            hub,
            me,
            now,
        }
    }
}
