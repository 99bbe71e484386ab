//! The words of the messages the hub sends people (one-time codes and
//! notices), in plain French, short enough for one text message. Never a
//! document's name nor content: only that something happened, which
//! institution, and where to look.

use passerelle_hub_core::french;
use passerelle_vault::{notices::Words, notify::Message, store::Notice, verify::TTL};

/// The messages, with the portal's address in them.
#[derive(Debug, Clone)]
pub struct French {
    /// The portal's public address (`https://…`).
    pub base_url: String,
}

impl French {
    /// The code that verifies a new account's identifier.
    pub fn code(&self, code: &str) -> Message {
        Message {
            subject: "Votre code Passerelle".into(),
            text: format!(
                "Passerelle : votre code pour créer votre coffre est\n{code}.\nIl est valable {} minutes. Ne le donnez à personne.",
                TTL / 60
            ),
        }
    }

    /// Sent instead of a code when an account already has the identifier.
    pub fn account_exists(&self) -> Message {
        Message {
            subject: "Votre compte Passerelle existe déjà".into(),
            text: format!(
                "Passerelle : quelqu'un a demandé à créer un coffre avec ce numéro ou cette adresse, mais vous avez déjà un compte. Pour vous connecter : {}/coffre/connexion . Mot de passe oublié : demandez un code à un professionnel. Si ce n'était pas vous, ne faites rien.",
                self.base_url
            ),
        }
    }

    /// The code asked at sign-in from a new device.
    pub fn sign_in_code(&self, code: &str) -> Message {
        Message {
            subject: "Votre code de connexion Passerelle".into(),
            text: format!(
                "Passerelle : votre code pour vous connecter depuis un nouvel appareil est\n{code}.\nIl est valable {} minutes. Si ce n'était pas vous, changez votre mot de passe.",
                TTL / 60
            ),
        }
    }
}

impl Words for French {
    fn notice(&self, notice: &Notice) -> Message {
        let (subject, text) = match notice {
            Notice::Deposited { institution, count } => (
                "Un nouveau document dans votre coffre",
                format!(
                    "Passerelle : {} de {institution} dans votre coffre. Pour le voir : {}/coffre",
                    if *count > 1 {
                        format!("{count} nouveaux documents")
                    } else {
                        "un nouveau document".to_string()
                    },
                    self.base_url
                ),
            ),
            Notice::Viewed { institution } => (
                "Un document de votre coffre a été consulté",
                format!(
                    "Passerelle : un professionnel de {institution} a ouvert un document de votre coffre, avec votre autorisation. Pour voir qui : {}/coffre/journal",
                    self.base_url
                ),
            ),
            Notice::AccountInactive { deleted_on } => (
                "Votre coffre Passerelle va être supprimé",
                format!(
                    "Passerelle : votre coffre n'a pas servi depuis longtemps. Il sera supprimé le {}, avec les documents que vous y avez déposés. Pour le garder, connectez-vous avant : {}/coffre/connexion",
                    french::parts(*deleted_on).map_or_else(|| french::date(*deleted_on), |(d, _)| d),
                    self.base_url
                ),
            ),
            Notice::ConsentEnding { grantee, ends_at } => (
                "Une autorisation se termine bientôt",
                format!(
                    "Passerelle : l'autorisation que vous avez donnée à {grantee} se termine le {}. Pour la voir ou en donner une nouvelle : {}/coffre/partages",
                    french::until(*ends_at),
                    self.base_url
                ),
            ),
        };
        Message {
            subject: subject.into(),
            text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_name_the_institution_never_a_document() {
        let f = French {
            base_url: "https://p.example.fr".into(),
        };
        let m = f.notice(&Notice::Deposited {
            institution: "CAF de Mayotte".into(),
            count: 1,
        });
        assert!(
            m.text.contains("un nouveau document de CAF de Mayotte"),
            "{}",
            m.text
        );
        let m = f.notice(&Notice::Viewed {
            institution: "CCAS".into(),
        });
        assert!(m.text.contains("/coffre/journal"), "{}", m.text);
        // 2026-12-06 00:00 in Mayotte: the consent's last day is the 5th.
        let m = f.notice(&Notice::ConsentEnding {
            grantee: "CCAS".into(),
            ends_at: 1_764_968_400 + 365 * 86_400,
        });
        assert!(
            m.text.contains("se termine le 05/12/2026 inclus"),
            "{}",
            m.text
        );
        let m = f.notice(&Notice::AccountInactive {
            deleted_on: 1_764_968_400 + 365 * 86_400,
        });
        assert!(
            m.text.contains("supprimé le 06/12/2026") && m.text.contains("/coffre/connexion"),
            "{}",
            m.text
        );
        let code = f.code("012345");
        assert!(code.text.contains("\n012345.\n"), "{}", code.text);
        assert!(f.account_exists().text.contains("/coffre/connexion"));
    }
}
