//! The checks on an uploaded file, on any bytes: the vault's check by
//! content (PDF, JPEG, PNG; the file name is the first line of the input),
//! the JPEG reader used for the PDF copy, and the observatory's check of a
//! published document. An answer, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use passerelle_observatory::{catalog::THEMES, resources};
use passerelle_vault::{pdf, uploads};

fuzz_target!(|data: &[u8]| {
    let (name, bytes) = match data.iter().position(|b| *b == b'\n') {
        Some(at) if at <= 64 => (String::from_utf8_lossy(&data[..at]), &data[at + 1..]),
        _ => ("document.pdf".into(), data),
    };
    if let Ok(mime) = uploads::check(bytes, &name) {
        if mime == "image/jpeg" {
            let _ = pdf::jpeg_info(bytes);
        }
    }
    let _ = pdf::jpeg_info(bytes);
    let _ = resources::check("Rapport", THEMES[0].0, "2025-01-31", bytes);
    let _ = resources::check(&name, &name, &name, bytes);
});
