//! The portal's form and query parsers on any bytes: the urlencoded fields
//! of every posted vault form ([`Fields`]), the typed forms and queries the
//! handlers deserialize, and the values they parse out of them (periods,
//! document categories, enrollment tokens). An answer, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use passerelle_portal::{
    directory::Filters,
    partner::{CsrfForm, LoginForm, ReportParams},
    public::{LevelParams, SheetParams},
    resources::Filter,
    vault::extract::Fields,
    verify::CodeQuery,
};
use passerelle_protocol::{enroll::Token, period::Period, vault::Category};
use serde::de::DeserializeOwned;

fn typed<T: DeserializeOwned>(body: &[u8]) {
    let _ = serde_urlencoded::from_bytes::<T>(body);
}

fuzz_target!(|body: &[u8]| {
    let fields = Fields::parse(body);
    for name in ["csrf", "type", "periode", "code", "doc", "email"] {
        let value = fields.get(name);
        let _ = fields.all(name).count();
        let _ = value.parse::<Period>();
        let _ = Category::parse(value);
        let _ = Token::parse(value);
    }
    typed::<LoginForm>(body);
    typed::<CsrfForm>(body);
    typed::<CodeQuery>(body);
    typed::<Filters>(body);
    typed::<ReportParams>(body);
    typed::<Filter>(body);
    typed::<SheetParams>(body);
    typed::<LevelParams>(body);
});
