//! The procedure a document was deposited for, beside its record (the
//! record's own encoding stays as it was).

use super::Store;
use crate::NodeError;

const PROCEDURES: &str = "doc_procedures";

impl Store {
    /// Records the procedure a document was deposited for.
    ///
    /// # Errors
    /// On a store failure.
    pub fn set_procedure(&self, id: &str, procedure: &str) -> Result<(), NodeError> {
        self.noted((|| {
            let _w = self.writing()?;
            self.db()?
                .open_tree(PROCEDURES)?
                .insert(id.as_bytes(), procedure.as_bytes())?;
            self.handle.flush()?;
            Ok(())
        })())
    }

    /// The procedure a document was deposited for, if one was given.
    ///
    /// # Errors
    /// On a store failure.
    pub fn procedure(&self, id: &str) -> Result<Option<String>, NodeError> {
        Ok(self
            .db()?
            .open_tree(PROCEDURES)?
            .get(id.as_bytes())?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Forgets a removed document's procedure.
    ///
    /// # Errors
    /// On a store failure.
    pub fn forget_procedure(&self, id: &str) -> Result<(), NodeError> {
        let _w = self.writing()?;
        self.db()?.open_tree(PROCEDURES)?.remove(id.as_bytes())?;
        Ok(())
    }
}
