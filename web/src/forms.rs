//! The forms of a sign-in's steps and of a password change, and their
//! words, as the portal's partner area and the node's console show them:
//! the second factor's code, the enrolment of an authenticator app, the
//! change of a password (forced after a first password). Each application
//! wraps them in its own page and posts them to its own routes.

use maud::{html, Markup};

use crate::{
    password::{NewPasswordError, MIN_PASSWORD_CHARS},
    style::{alert, csrf_field},
    totp::{self, CodeError},
};

/// The fields of a code's form, and of an enrolment's.
#[derive(Debug, serde::Deserialize)]
pub struct CodeFields {
    /// The form's token.
    #[serde(default)]
    pub csrf: String,
    /// The code typed.
    #[serde(default)]
    pub code: String,
}

/// The fields of a password change's form.
#[derive(Debug, serde::Deserialize)]
pub struct PasswordFields {
    /// The form's token.
    #[serde(default)]
    pub csrf: String,
    /// The current password.
    #[serde(default)]
    pub actuel: String,
    /// The new password.
    #[serde(default)]
    pub nouveau: String,
    /// The new password again.
    #[serde(default)]
    pub confirmation: String,
}

/// Why a code was refused (`None`: it could not be checked).
pub fn code_message(e: Option<CodeError>) -> &'static str {
    match e {
        Some(CodeError::Replayed) => {
            "Ce code a déjà servi. Attendez le code suivant de votre application."
        }
        Some(CodeError::Wrong) => "Code incorrect.",
        None => "Le code n'a pas pu être vérifié. Réessayez.",
    }
}

/// Why a new password was refused.
pub fn new_password_refusal(e: NewPasswordError) -> &'static str {
    match e {
        NewPasswordError::TooShort => {
            "Le nouveau mot de passe doit compter au moins 12 caractères."
        }
        NewPasswordError::Mismatch => "Les deux saisies du nouveau mot de passe diffèrent.",
        NewPasswordError::Unchanged => "Le nouveau mot de passe doit être différent de l'actuel.",
    }
}

/// The field of a 6-digit code.
fn code_input() -> Markup {
    html! {
        p {
            label for="code" { "Code à 6 chiffres" } br;
            input #code name="code" inputmode="numeric" autocomplete="one-time-code"
                pattern="[0-9]{6}" maxlength="6" required;
        }
    }
}

/// The page's body asking for the code of the authenticator app, posted
/// to `action` (field `code`).
pub fn code(action: &str, csrf: &str, message: Option<&str>) -> Markup {
    html! {
        h1 { "Code de vérification" }
        @if let Some(m) = message { (alert(m)) }
        p { "Saisissez le code à 6 chiffres affiché par votre application d'authentification." }
        form method="post" action=(action) {
            (csrf_field(csrf))
            (code_input())
            p { button.gros type="submit" { "Valider" } }
        }
    }
}

/// How to enrol an authenticator app: the QR code of `uri`, the key of
/// `secret` to type instead, and the form confirming with a first code,
/// posted to `action` (field `code`).
pub fn enrol(uri: &str, secret: &[u8], action: &str, csrf: &str) -> Markup {
    html! {
        ol {
            li {
                "Ouvrez votre application d'authentification et ajoutez un compte en lisant ce code QR :"
                br;
                (crate::qr::svg(uri))
            }
            li { "ou, sans appareil photo, saisissez cette clé : " code #cle { (totp::secret_base32(secret)) } }
            li { "Saisissez ci-dessous le code affiché par l'application pour confirmer." }
        }
        form method="post" action=(action) {
            (csrf_field(csrf))
            (code_input())
            p { button.gros type="submit" { "Activer" } }
        }
    }
}

/// The page's body changing one's password, posted to `action` (fields
/// `actuel`, `nouveau`, `confirmation`); `first`: the password given by
/// an administrator, which serves once.
pub fn password_change(action: &str, csrf: &str, first: bool, message: Option<&str>) -> Markup {
    html! {
        h1 { "Changer mon mot de passe" }
        @if let Some(m) = message { (alert(m)) }
        @if first {
            p { "Le mot de passe reçu de l'administrateur ne sert qu'une fois : choisissez le vôtre pour continuer." }
        }
        form method="post" action=(action) {
            (csrf_field(csrf))
            p {
                label for="actuel" { "Mot de passe actuel" } br;
                input #actuel name="actuel" type="password" autocomplete="current-password" required;
            }
            p {
                label for="nouveau" { "Nouveau mot de passe (au moins " (MIN_PASSWORD_CHARS) " caractères)" } br;
                input #nouveau name="nouveau" type="password" autocomplete="new-password"
                    minlength=(MIN_PASSWORD_CHARS) required;
            }
            p {
                label for="confirmation" { "Nouveau mot de passe, une seconde fois" } br;
                input #confirmation name="confirmation" type="password" autocomplete="new-password"
                    minlength=(MIN_PASSWORD_CHARS) required;
            }
            p { button.gros type="submit" { "Enregistrer" } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_post_where_told_with_their_token_and_words_are_french() {
        let page = code("/partenaires/code", "jeton-1", Some("Code incorrect.")).into_string();
        assert!(page.contains(r#"action="/partenaires/code""#), "{page}");
        assert!(page.contains(r#"value="jeton-1""#), "{page}");
        assert!(page.contains("Code incorrect."), "{page}");
        let page = enrol(
            "otpauth://totp/x:y?secret=ABC",
            b"12345",
            "/double-facteur",
            "j",
        )
        .into_string();
        assert!(page.contains("<svg") && page.contains(r#"action="/double-facteur""#));
        let page = password_change("/mot-de-passe", "j", true, None).into_string();
        assert!(page.contains("ne sert qu'une fois") && page.contains("au moins 12 caractères"));
        assert!(!password_change("/mot-de-passe", "j", false, None)
            .into_string()
            .contains("ne sert qu'une fois"));
        assert_eq!(code_message(Some(CodeError::Wrong)), "Code incorrect.");
        assert_eq!(
            new_password_refusal(NewPasswordError::Mismatch),
            "Les deux saisies du nouveau mot de passe diffèrent."
        );
    }
}
