//! `passerelle-hub population import FILE`: the operator's reference
//! populations (INSEE « Population par sexe et âge », see
//! [`passerelle_observatory::population::insee`]). The file is checked
//! whole before anything is written; its years are added to (or replace
//! those of) the hub's copy, `populations.csv` in the hub folder, written
//! atomically and read at start.

use std::path::{Path, PathBuf};

use passerelle_hub_core::{paths::HubDir, HubError, Refusal};
use passerelle_observatory::population::{insee, Populations};

/// The hub's copy of the reference populations, in its folder.
pub const FILE: &str = "populations.csv";

fn refused(e: &insee::PopulationError) -> HubError {
    Refusal::BadFile {
        what: "population file".into(),
        why: e.to_string(),
    }
    .into()
}

/// The path of the hub's copy.
pub fn path(root: &Path) -> PathBuf {
    root.join(FILE)
}

/// The hub's reference populations: empty (the built-in 2017 figures)
/// when none was imported.
///
/// # Errors
/// When the copy cannot be read or is not valid.
pub fn load(root: &Path) -> Result<Populations, HubError> {
    let p = path(root);
    match std::fs::read(&p) {
        Ok(bytes) => insee::parse(&p.display().to_string(), &bytes, None).map_err(|e| refused(&e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Populations::default()),
        Err(source) => Err(HubError::Io { path: p, source }),
    }
}

/// Imports a population file into the hub folder, all or nothing; returns
/// the years now held.
///
/// # Errors
/// The file's first problem (file, line, column), or a write failure.
pub fn import(root: &Path, file: &Path, year: Option<u16>) -> Result<Vec<u16>, HubError> {
    let dir = HubDir::existing(root)?;
    let bytes = std::fs::read(file).map_err(|source| HubError::Io {
        path: file.to_path_buf(),
        source,
    })?;
    let new = insee::parse(&file.display().to_string(), &bytes, year).map_err(|e| refused(&e))?;
    let mut all = load(dir.root())?;
    all.merge(new);
    passerelle_certs::files::write_atomic(&path(dir.root()), insee::write(&all).as_bytes(), 0o600)?;
    Ok(all.years())
}
