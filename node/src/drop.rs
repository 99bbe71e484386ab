//! Watched folders (`drop_folder` of a dataset in `node.toml`): the way
//! many institutions exchange files today. The running node looks at each
//! folder every [`POLL`]; a file is taken once it is complete, that is
//! when its size and modification time have not changed between two looks
//! (so a copy still being written is left alone). Names starting with `.`
//! or ending in `.part` or `.tmp` are never taken: write under such a
//! name and rename it to finish, for an immediate take.
//!
//! A taken file goes through [`crate::intake::import`] (the same import
//! as `passerelle-node import`, recorded in the audit chain as
//! `folder:DATASET`), then moves to `done/`, or to `rejected/` with
//! `NAME.erreurs.csv` beside it (line, column, reason in French, the
//! console's words; `;`-separated UTF-8 with a byte-order mark, which
//! French spreadsheets open). A failure
//! of the node itself (store, disk) leaves the file where it is, for the
//! next look.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, SystemTime},
};

use passerelle_config::NodeConfig;
use tokio::sync::watch;

use crate::{actor::Actor, intake, serve::Shared, store::Store, NodeError};

/// How often watched folders are looked at.
pub const POLL: Duration = Duration::from_secs(2);
/// Files taken per folder and look, at most (the rest wait).
const MAX_PER_LOOK: usize = 50;
/// Where imported files go.
pub const DONE: &str = "done";
/// Where refused files go, with their report.
pub const REJECTED: &str = "rejected";

/// A file's size and modification time at the previous look.
type Seen = HashMap<PathBuf, (u64, Option<SystemTime>)>;

/// What happened to one dropped file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Imported as this batch; the file is in `done/`.
    Imported(u64),
    /// Refused; the file and its report are in `rejected/`.
    Rejected,
}

/// Looks at every watched folder until `stop` changes.
pub async fn watch(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    if !shared
        .config
        .datasets
        .iter()
        .any(|d| d.drop_folder.is_some())
    {
        return;
    }
    let mut seen = Seen::new();
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(POLL) => {}
        }
        let s = shared.clone();
        let looked = tokio::task::spawn_blocking(move || {
            look(&s.config, &s.store, &mut seen);
            seen
        })
        .await;
        match looked {
            Ok(kept) => seen = kept,
            Err(_) => seen = Seen::new(),
        }
    }
}

/// One look at every watched folder: takes each file unchanged since the
/// previous look. What happened to each file taken.
pub fn look(config: &NodeConfig, store: &Store, seen: &mut Seen) -> Vec<(PathBuf, Outcome)> {
    let mut out = Vec::new();
    let mut now_seen = Seen::new();
    for d in &config.datasets {
        let Some(folder) = &d.drop_folder else {
            continue;
        };
        let entries = match std::fs::read_dir(folder) {
            Ok(e) => e,
            Err(error) => {
                tracing::warn!(%error, folder = %folder.display(), "watched folder unreadable");
                continue;
            }
        };
        let mut taken = 0;
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            let name = entry.file_name().to_string_lossy().into_owned();
            if !meta.is_file()
                || name.starts_with('.')
                || name.ends_with(".part")
                || name.ends_with(".tmp")
            {
                continue;
            }
            let mark = (meta.len(), meta.modified().ok());
            if seen.get(&path) != Some(&mark) || taken >= MAX_PER_LOOK {
                now_seen.insert(path, mark);
                continue;
            }
            taken += 1;
            match take(config, store, &d.name, folder, &path, &name) {
                Ok(outcome) => out.push((path, outcome)),
                Err(error) => {
                    tracing::warn!(%error, file = %path.display(), "dropped file left for the next look");
                    now_seen.insert(path, mark);
                }
            }
        }
    }
    *seen = now_seen;
    out
}

/// Imports one complete file and moves it; `Err` leaves it in place.
fn take(
    config: &NodeConfig,
    store: &Store,
    dataset: &str,
    folder: &Path,
    path: &Path,
    name: &str,
) -> Result<Outcome, NodeError> {
    let by = Actor::Folder(dataset.to_string());
    match intake::import(config, store, dataset, path, &by, passerelle_link::now()) {
        Ok(meta) => {
            move_to(folder, DONE, path, name)?;
            tracing::info!(
                dataset,
                batch = meta.id,
                file = name,
                "dropped file imported"
            );
            Ok(Outcome::Imported(meta.id))
        }
        Err(e @ (NodeError::Import(_) | NodeError::Refused(_) | NodeError::Rule(_))) => {
            let target = move_to(folder, REJECTED, path, name)?;
            let mut report = target.into_os_string();
            report.push(".erreurs.csv");
            let report = PathBuf::from(report);
            std::fs::write(&report, crate::console::words::report_csv(&e))
                .map_err(crate::error::io(&report))?;
            tracing::info!(dataset, file = name, "dropped file rejected");
            Ok(Outcome::Rejected)
        }
        Err(other) => Err(other),
    }
}

/// Moves `path` into `folder/sub/`, under its name or, if taken, a name
/// made unique with the time; the new path.
fn move_to(folder: &Path, sub: &str, path: &Path, name: &str) -> Result<PathBuf, NodeError> {
    let dir = folder.join(sub);
    std::fs::create_dir_all(&dir).map_err(crate::error::io(&dir))?;
    let mut target = dir.join(name);
    if target.exists() {
        target = dir.join(format!("{}-{name}", passerelle_link::now()));
    }
    std::fs::rename(path, &target).map_err(crate::error::io(&target))?;
    Ok(target)
}
