//! Who reads what. An indicator with `audience = "partners"` is read only
//! with a [`PartnerPass`], which the portal gets from a signed-in partner's
//! session; the public reader never sees it, whatever the page, download,
//! API or bundle. Every reading the portal does goes through these
//! methods, so the rule lives here and not in each page.

use std::sync::Arc;

use passerelle_hub_core::partners::{Session, Step};

use crate::{
    catalog::{Audience, Indicator},
    Draft, IndicatorResult, Observatory,
};

/// Proof that a partner is signed in, with every sign-in step done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartnerPass(());

impl PartnerPass {
    /// The pass of a session whose sign-in steps are all done.
    pub fn of(session: &Session) -> Option<Self> {
        (session.step == Step::Ready).then_some(Self(()))
    }
}

/// Who reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// Anyone: public indicators only.
    Public,
    /// A signed-in partner: every indicator.
    Partner(PartnerPass),
}

impl Reader {
    /// Whether this reader may read an indicator.
    pub fn may_read(self, ind: &Indicator) -> bool {
        match (self, ind.audience) {
            (_, Audience::Public) | (Reader::Partner(_), Audience::Partners) => true,
            (Reader::Public, Audience::Partners) => false,
        }
    }
}

impl Observatory {
    /// The indicators this reader may read, in catalog order.
    pub fn catalog_for(&self, reader: Reader) -> Vec<&Indicator> {
        self.catalog.iter().filter(|i| reader.may_read(i)).collect()
    }

    /// An indicator by id, if this reader may read it.
    pub fn indicator_for(&self, reader: Reader, id: &str) -> Option<&Indicator> {
        self.indicator(id).filter(|i| reader.may_read(i))
    }

    /// The latest published result of an indicator this reader may read.
    pub fn latest_for(&self, reader: Reader, id: &str) -> Option<Arc<IndicatorResult>> {
        self.indicator_for(reader, id)?;
        self.latest(id)
    }

    /// The pending draft of an indicator this reader may read.
    pub fn pending_draft_for(&self, reader: Reader, id: &str) -> Option<Arc<Draft>> {
        self.indicator_for(reader, id)?;
        self.pending_draft(id)
    }
}
