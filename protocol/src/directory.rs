//! A partner's entry in the directory of social, medico-social and
//! insertion actors, published by its node through the link.

use serde::{Deserialize, Serialize};

/// Themes an actor works on: id and French label.
pub const THEMES: &[(&str, &str)] = &[
    ("acces-aux-droits", "Accès aux droits"),
    ("emploi", "Emploi"),
    ("insertion-formation", "Insertion et formation"),
    ("logement-hebergement", "Logement et hébergement"),
    ("handicap-autonomie", "Handicap et autonomie"),
    ("personnes-agees", "Personnes âgées"),
    ("sante", "Santé"),
    ("famille-enfance", "Famille et enfance"),
    ("numerique", "Inclusion numérique"),
];

/// The label of a theme id.
pub fn theme_label(id: &str) -> Option<&'static str> {
    THEMES.iter().find(|(t, _)| *t == id).map(|(_, l)| *l)
}

/// An actor's directory entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryEntry {
    /// Public name (defaults to the institution named in the certificate).
    #[serde(default)]
    pub name: String,
    /// What the actor does, in plain French.
    #[serde(default)]
    pub description: String,
    /// Services offered.
    #[serde(default)]
    pub services: Vec<String>,
    /// Theme ids (see [`THEMES`]).
    #[serde(default)]
    pub themes: Vec<String>,
    /// INSEE codes of the communes covered; empty means the whole department.
    #[serde(default)]
    pub communes: Vec<String>,
    /// Postal address.
    #[serde(default)]
    pub address: String,
    /// Telephone.
    #[serde(default)]
    pub phone: String,
    /// E-mail.
    #[serde(default)]
    pub email: String,
    /// Web site.
    #[serde(default)]
    pub website: String,
    /// Opening hours.
    #[serde(default)]
    pub hours: String,
}

impl DirectoryEntry {
    /// Problems with the entry: unknown communes or themes, each named.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for c in &self.communes {
            if crate::geo::commune_index(c).is_none() {
                out.push(format!(
                    "commune {c:?} is not a Mayotte INSEE code (97601 to 97617)"
                ));
            }
        }
        for t in &self.themes {
            if theme_label(t).is_none() {
                let known: Vec<&str> = THEMES.iter().map(|(t, _)| *t).collect();
                out.push(format!(
                    "theme {t:?} is unknown (known: {})",
                    known.join(", ")
                ));
            }
        }
        out
    }

    /// Whether the actor serves a commune.
    pub fn covers(&self, commune: &str) -> bool {
        self.communes.is_empty() || self.communes.iter().any(|c| c == commune)
    }
}
