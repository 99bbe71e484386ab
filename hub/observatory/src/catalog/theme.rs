//! Themes: declared in catalog files as `[[theme]]` tables, so an
//! observatory adds its own (poverty, childhood, youth…) beside the ones
//! shipped with the hub.
//!
//! ```toml
//! [[theme]]
//! id = "pauvrete"
//! name = "Pauvreté et précarité"
//! description = "Revenus, minima sociaux, aide alimentaire."
//! order = 15
//! ```
//!
//! The shipped themes ([`super::THEMES`]) come first, with orders 10, 20,
//! 30…; a file's theme with the id of an earlier one replaces it (to
//! rename or reorder it). Pages list themes by `order`, then id.

use serde::{Deserialize, Serialize};

use super::{CatalogError, THEMES};

/// A theme as pages show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Theme {
    /// Identifier (lower-case, digits, `-`), used in addresses.
    pub id: String,
    /// French name.
    pub name: String,
    /// French description (may be empty).
    pub description: String,
    /// Display order (smaller first).
    pub order: u32,
}

/// A `[[theme]]` table as written in TOML.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ThemeEntry {
    id: String,
    name: String,
    #[serde(default)]
    description: String,
    order: u32,
}

/// The shipped themes, in their order.
pub fn shipped() -> Vec<Theme> {
    THEMES
        .iter()
        .zip(1u32..)
        .map(|((id, name), n)| Theme {
            id: (*id).to_string(),
            name: (*name).to_string(),
            description: String::new(),
            order: n * 10,
        })
        .collect()
}

/// Checks one `[[theme]]` table.
pub(super) fn theme(file: &str, e: ThemeEntry) -> Result<Theme, CatalogError> {
    let refuse = |why: &str| CatalogError {
        file: file.into(),
        entry: format!("theme {:?}", e.id),
        why: why.into(),
    };
    if e.id.is_empty()
        || e.id.len() > 64
        || !e
            .id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(refuse(
            "id must be 1 to 64 lower-case letters, digits and '-'",
        ));
    }
    if e.name.trim().is_empty() {
        return Err(refuse("name is empty"));
    }
    if e.name.len() > 200 || e.description.len() > 2000 {
        return Err(refuse(
            "name (200 bytes) or description (2000 bytes) is too long",
        ));
    }
    Ok(Theme {
        id: e.id,
        name: e.name,
        description: e.description,
        order: e.order,
    })
}

/// Adds a file's themes, a theme replacing an earlier one with its id.
pub(super) fn merge(all: &mut Vec<Theme>, new: Vec<Theme>, file: &str) -> Result<(), CatalogError> {
    let mut seen = std::collections::HashSet::new();
    for t in new {
        if !seen.insert(t.id.clone()) {
            return Err(CatalogError {
                file: file.into(),
                entry: format!("theme {:?}", t.id),
                why: "id used twice in this file".into(),
            });
        }
        match all.iter_mut().find(|x| x.id == t.id) {
            Some(existing) => *existing = t,
            None => all.push(t),
        }
    }
    all.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.id.cmp(&b.id)));
    Ok(())
}
