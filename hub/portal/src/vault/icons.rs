//! Pictures beside the vault's main actions, for people who read little:
//! the same picture always means the same action. Each is inline SVG
//! (no request, nothing for the CSP to block), drawn in the text's colour,
//! and hidden from screen readers (`aria-hidden`): the words beside it
//! stay and say what the button does.

use maud::{html, Markup, PreEscaped};

/// An action that has a picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icon {
    /// My documents (a page).
    Documents,
    /// Share (three linked dots).
    Share,
    /// Deposit a document (an arrow up into the vault).
    Upload,
    /// Download (an arrow down).
    Download,
    /// Consents: an authorisation given (a shield with a tick).
    Consent,
    /// The journal: who saw my documents (an eye).
    Journal,
    /// My account (a person).
    Account,
    /// Sign out (an arrow out of a door).
    SignOut,
    /// Link an institution (two chain links).
    Link,
    /// A verifiable copy (two pages).
    Copy,
    /// Delete (a bin).
    Delete,
}

impl Icon {
    /// The drawing, in a 24×24 box: constant SVG elements, no input.
    fn paths(self) -> &'static str {
        match self {
            Self::Documents => r#"<path d="M6 2h9l5 5v15H6z"/><path d="M14 2v6h6M9 13h6M9 17h6"/>"#,
            Self::Share => {
                r#"<circle cx="18" cy="5" r="3"/><circle cx="6" cy="12" r="3"/><circle cx="18" cy="19" r="3"/><path d="M8.6 13.5l6.8 4M15.4 6.5l-6.8 4"/>"#
            }
            Self::Upload => r#"<path d="M12 16V4M7 9l5-5 5 5M4 20h16"/>"#,
            Self::Download => r#"<path d="M12 4v12M7 11l5 5 5-5M4 20h16"/>"#,
            Self::Consent => {
                r#"<path d="M12 2l8 3v6c0 5-3.5 9-8 11-4.5-2-8-6-8-11V5z"/><path d="M8.5 12l2.5 2.5 4.5-5"/>"#
            }
            Self::Journal => {
                r#"<path d="M2 12s4-7 10-7 10 7 10 7-4 7-10 7S2 12 2 12z"/><circle cx="12" cy="12" r="3"/>"#
            }
            Self::Account => {
                r#"<circle cx="12" cy="8" r="4"/><path d="M4 21c0-4 4-6 8-6s8 2 8 6"/>"#
            }
            Self::SignOut => r#"<path d="M9 4H5v16h4M16 8l4 4-4 4M20 12H10"/>"#,
            Self::Link => {
                r#"<path d="M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1"/><path d="M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1"/>"#
            }
            Self::Copy => {
                r#"<rect x="8" y="8" width="12" height="12" rx="1"/><path d="M16 8V4H4v12h4"/>"#
            }
            Self::Delete => r#"<path d="M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13"/>"#,
        }
    }
}

/// The picture of an action, to put before its words.
pub fn icon(i: Icon) -> Markup {
    html! {
        svg.ico aria-hidden="true" focusable="false" viewBox="0 0 24 24" width="24" height="24"
            fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" {
            (PreEscaped(i.paths()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icons_are_hidden_from_screen_readers_and_well_formed() {
        for i in [
            Icon::Documents,
            Icon::Share,
            Icon::Upload,
            Icon::Download,
            Icon::Consent,
            Icon::Journal,
            Icon::Account,
            Icon::SignOut,
            Icon::Link,
            Icon::Copy,
            Icon::Delete,
        ] {
            let svg = icon(i).into_string();
            assert!(
                svg.starts_with("<svg class=\"ico\" aria-hidden=\"true\" focusable=\"false\""),
                "{svg}"
            );
            assert!(svg.ends_with("</svg>"));
            // Only drawing elements, each closed.
            let inner = i.paths();
            assert_eq!(
                inner.matches('<').count(),
                inner.matches("/>").count(),
                "{i:?}"
            );
            assert!(
                !inner.contains("script") && !inner.contains("href"),
                "{i:?}"
            );
        }
    }
}
