//! The vault's pages in more than one language, through Fluent.
//!
//! The words live in `.ftl` files compiled into the binary
//! (`hub/portal/locales/<code>/*.ftl`); French (`fr`) is the source and is
//! complete. A message missing in another language falls back to its
//! French text, one message at a time, so a partial translation never
//! leaves a blank. A key missing in French too shows the key itself (a
//! test checks that every key the code uses is in the French files).
//!
//! Only the vault (`/coffre…`) is translated: the [`switch`] layer sets the
//! language for the requests under `/coffre` (the `lang` cookie, or else
//! the browser's `Accept-Language`), and [`Tr::current`] reads it while
//! the page is drawn. Every other page, and everything drawn outside a
//! request (a background task), is in French.
//!
//! - [`switch`]: the language of a request, the `lang` cookie, and the
//!   switch shown on every vault page.

use std::sync::OnceLock;

use fluent_bundle::{concurrent::FluentBundle, FluentArgs, FluentResource, FluentValue};
use passerelle_protocol::vault::{procedure_label, Category, PROCEDURES};

pub mod switch;

pub use switch::{language_switch, router, scope};

/// A language the vault's pages can be read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// French, the source language, complete and reviewed.
    Fr,
    /// Shimaore (Maore Comorian, ISO 639-3 `swb`): machinery only, no
    /// reviewed translation yet; its pages fall back to French.
    Swb,
}

impl Lang {
    /// Every language offered, French first.
    pub const ALL: [Self; 2] = [Self::Fr, Self::Swb];

    /// The code used in the `lang` cookie and in HTML `lang` attributes.
    pub fn code(self) -> &'static str {
        match self {
            Self::Fr => "fr",
            Self::Swb => "swb",
        }
    }

    /// The language named from its code (a cookie, a URL segment).
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(code.trim()))
    }

    /// The language's name in itself, as shown in the switch.
    pub fn name(self) -> &'static str {
        match self {
            Self::Fr => "Français",
            Self::Swb => "Shimaore",
        }
    }

    /// Whether a native speaker has reviewed the translation. A language
    /// that is not reviewed is offered as "en cours de traduction".
    pub fn reviewed(self) -> bool {
        matches!(self, Self::Fr)
    }

    /// The `.ftl` sources of the language, compiled in.
    fn sources(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::Fr => &[
                ("fr/layout.ftl", include_str!("../../locales/fr/layout.ftl")),
                ("fr/vault.ftl", include_str!("../../locales/fr/vault.ftl")),
            ],
            Self::Swb => &[
                (
                    "swb/layout.ftl",
                    include_str!("../../locales/swb/layout.ftl"),
                ),
                ("swb/vault.ftl", include_str!("../../locales/swb/vault.ftl")),
            ],
        }
    }
}

type Bundle = FluentBundle<FluentResource>;

/// The bundle of a language, built once. A source that does not parse
/// keeps the messages that do (and is reported by the tests).
fn bundle(lang: Lang) -> &'static Bundle {
    static FR: OnceLock<Bundle> = OnceLock::new();
    static SWB: OnceLock<Bundle> = OnceLock::new();
    let cell = match lang {
        Lang::Fr => &FR,
        Lang::Swb => &SWB,
    };
    cell.get_or_init(|| build(lang.code(), lang.sources()))
}

fn build(code: &str, sources: &[(&str, &str)]) -> Bundle {
    let id = code
        .parse()
        .unwrap_or_else(|_| unic_langid::LanguageIdentifier::default());
    let mut b = FluentBundle::new_concurrent(vec![id]);
    // No Unicode isolation marks around arguments: the pages are
    // left-to-right only, and the marks would end up in copied text.
    b.set_use_isolating(false);
    for (name, text) in sources {
        let res = match FluentResource::try_new((*text).to_string()) {
            Ok(r) => r,
            Err((r, errors)) => {
                tracing::error!(
                    file = name,
                    errors = errors.len(),
                    "translation file has errors"
                );
                r
            }
        };
        if let Err(errors) = b.add_resource(res) {
            tracing::error!(
                file = name,
                errors = errors.len(),
                "translation repeats keys"
            );
        }
    }
    b
}

/// A message from the first bundle that has it.
fn lookup_in(bundles: &[&Bundle], key: &str, args: &[Arg<'_>]) -> Option<String> {
    let mut fluent_args = FluentArgs::new();
    for (k, v) in args {
        fluent_args.set(*k, v.clone());
    }
    let args = (!args.is_empty()).then_some(&fluent_args);
    bundles.iter().find_map(|b| {
        let pattern = b.get_message(key)?.value()?;
        let mut errors = Vec::new();
        let text = b.format_pattern(pattern, args, &mut errors);
        if !errors.is_empty() {
            tracing::warn!(key, "message formatted with errors");
        }
        Some(text.into_owned())
    })
}

/// One argument of a message.
pub type Arg<'a> = (&'a str, FluentValue<'a>);

/// The words of one language, with French behind each missing message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tr {
    /// The language asked for.
    pub lang: Lang,
}

impl Tr {
    /// French.
    pub const FR: Self = Self { lang: Lang::Fr };

    /// The language of the request being served (French outside the
    /// vault's pages, and outside any request).
    pub fn current() -> Self {
        Self {
            lang: switch::current().lang,
        }
    }

    /// A message without arguments.
    pub fn t(&self, key: &str) -> String {
        self.a(key, &[])
    }

    /// A message with arguments (`{ $name }` in the `.ftl` file).
    pub fn a(&self, key: &str, args: &[Arg<'_>]) -> String {
        self.lookup(key, args).unwrap_or_else(|| {
            tracing::warn!(key, "message missing in French");
            key.to_string()
        })
    }

    /// The message in the language, or in French when it is missing;
    /// `None` when French lacks it too.
    fn lookup(&self, key: &str, args: &[Arg<'_>]) -> Option<String> {
        lookup_in(&[bundle(self.lang), bundle(Lang::Fr)], key, args)
    }

    /// Whether the language itself has the message (not its French
    /// fallback).
    pub fn has(&self, key: &str) -> bool {
        bundle(self.lang).has_message(key)
    }

    /// A kind of document, in the language (`categorie-<code>`; the
    /// protocol's French label when no file has it).
    pub fn category(&self, c: Category) -> String {
        self.lookup(&format!("categorie-{}", c.code()), &[])
            .unwrap_or_else(|| c.label().to_string())
    }

    /// A procedure, in the language when it is one of the list
    /// (`demarche-<code>`); a procedure the person wrote is shown as
    /// written.
    pub fn procedure(&self, code_or_text: &str) -> String {
        let known = PROCEDURES.iter().any(|(c, _)| *c == code_or_text);
        known
            .then(|| self.lookup(&format!("demarche-{code_or_text}"), &[]))
            .flatten()
            .unwrap_or_else(|| procedure_label(code_or_text).to_string())
    }

    /// A date and time in Mayotte's local time, named so, in the
    /// language: `23/11/2026 à 03:00 (heure de Mayotte)` in French.
    pub fn date(&self, t: u64) -> String {
        match passerelle_hub_core::french::parts(t) {
            Some((day, time)) => self.a(
                "date-heure-mayotte",
                &[("jour", day.into()), ("heure", time.into())],
            ),
            None => passerelle_hub_core::french::date(t),
        }
    }

    /// When something ends: a day, when it ends at midnight in Mayotte
    /// (`05/12/2026 inclus`), or else a date and time.
    pub fn until(&self, t: u64) -> String {
        match passerelle_hub_core::french::last_day(t) {
            Some(day) => self.a("jusqu-au-jour-inclus", &[("jour", day.into())]),
            None => self.date(t),
        }
    }
}

#[cfg(test)]
mod tests;
