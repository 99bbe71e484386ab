//! Bounded history: what each indicator keeps of its past compositions.
//!
//! Every published result carries every signed answer it was composed
//! from (about 2.7 KB per node), so an hourly refresh over a thousand
//! nodes would grow the store by most of a gigabyte a day. Retention keeps
//! the signed answers where they are needed and a summary elsewhere:
//!
//! - in full (checkable with `verify-indicator`): the latest
//!   `history_full_refreshes` published results, and the last published
//!   result of each of the latest `history_full_months` months (Mayotte
//!   time), so that a figure as it stood at the end of a month can still
//!   be proven;
//! - as a [`Summary`] (figures, coverage, how many answers and the SHA-256
//!   of their encoding, to match an archived bundle): older published
//!   results, deleted after `history_summary_days` days;
//! - drafts (never published) beyond the latest `history_full_refreshes`
//!   are deleted.
//!
//! With `history_archive` set, each result's checkable bundle is written
//! to that folder (and flushed) before its answers are pruned; if the
//! archive cannot be written, nothing is pruned.
//!
//! [`plan`] decides (pure, unit-tested); [`apply`] reads and writes.

use std::path::Path;

use passerelle_hub_core::{
    ops::Hub,
    store::{HistoryPart, Kept},
    HubError,
};
use passerelle_protocol::{codec, sign::sha256, UnixTime};
use passerelle_provenance::{
    bundle::{Kind, Scope},
    compose::ResultCell,
};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::{
    catalog::Indicator,
    refresh::{Coverage, IndicatorResult},
};

/// What to keep (the `history_*` keys of `hub.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Latest published results kept in full (at least 1: the latest is
    /// what the portal proves).
    pub full_refreshes: usize,
    /// Latest months whose last published result is kept in full.
    pub full_months: usize,
    /// Age in days past which summaries are deleted (0: never).
    pub summary_days: u64,
}

impl Policy {
    /// The policy a hub configuration states.
    pub fn of(config: &passerelle_config::HubConfig) -> Self {
        Self {
            full_refreshes: usize::try_from(config.history_full_refreshes.get())
                .unwrap_or(usize::MAX),
            full_months: usize::try_from(config.history_full_months).unwrap_or(usize::MAX),
            summary_days: u64::from(config.history_summary_days),
        }
    }
}

/// A published result past its full retention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Indicator id.
    pub indicator: String,
    /// When it was composed.
    pub computed_at: UnixTime,
    /// Its figures, as published.
    pub cells: Vec<ResultCell>,
    /// What it covered.
    pub coverage: Coverage,
    /// How many signed answers it was composed from.
    pub contributions: u32,
    /// SHA-256 of the encoded signed answers (the same digest for the
    /// answers of an archived bundle of this result).
    pub provenance_sha256: [u8; 32],
}

impl Summary {
    /// The summary of a full result.
    ///
    /// # Errors
    /// When the answers do not encode.
    pub fn of(r: &IndicatorResult) -> Result<Self, HubError> {
        Ok(Self {
            indicator: r.indicator.clone(),
            computed_at: r.computed_at,
            cells: r.cells.clone(),
            coverage: r.coverage.clone(),
            contributions: u32::try_from(r.provenance.len()).unwrap_or(u32::MAX),
            provenance_sha256: sha256(&codec::encode(&r.provenance)?),
        })
    }
}

/// What becomes of one history entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// A published result loses its signed answers.
    Summarise,
    /// The entry is deleted.
    Delete,
}

/// The history of one indicator as retention sees it.
#[derive(Debug, Clone, Default)]
pub struct Entries {
    /// Published results in full, oldest first.
    pub published: Vec<Kept>,
    /// Summaries, oldest first.
    pub summaries: Vec<Kept>,
    /// Drafts, oldest first.
    pub drafts: Vec<Kept>,
}

/// The Mayotte month (`YYYY-MM`) of a time.
fn month(t: UnixTime) -> String {
    let day = passerelle_hub_core::french::day(t);
    day.get(..7).unwrap_or(&day).to_string()
}

/// What to do with an indicator's history at `now`: the changes only, by
/// part and key. Pure.
pub fn plan(e: &Entries, policy: Policy, now: UnixTime) -> Vec<(HistoryPart, Kept, Fate)> {
    let mut out = Vec::new();
    let keep_last = policy.full_refreshes.max(1);
    // The last published result of each month, for the latest months.
    let mut month_ends: Vec<(String, u64)> = Vec::new();
    for k in &e.published {
        let m = month(k.computed_at);
        match month_ends.last_mut() {
            Some((last, seq)) if *last == m => *seq = k.seq,
            _ => month_ends.push((m, k.seq)),
        }
    }
    let monthly: Vec<u64> = month_ends
        .iter()
        .rev()
        .take(policy.full_months)
        .map(|(_, seq)| *seq)
        .collect();
    let cutoff =
        (policy.summary_days > 0).then(|| now.saturating_sub(policy.summary_days * 86_400));
    let expired = |k: &Kept| cutoff.is_some_and(|c| k.computed_at < c);
    let recent = e.published.len().saturating_sub(keep_last);
    for (i, k) in e.published.iter().enumerate() {
        if i >= recent || monthly.contains(&k.seq) {
            continue;
        }
        let fate = if expired(k) {
            Fate::Delete
        } else {
            Fate::Summarise
        };
        out.push((HistoryPart::Published, k.clone(), fate));
    }
    for k in e.summaries.iter().filter(|k| expired(k)) {
        out.push((HistoryPart::Summaries, k.clone(), Fate::Delete));
    }
    let old_drafts = e.drafts.len().saturating_sub(keep_last);
    for k in &e.drafts[..old_drafts] {
        out.push((HistoryPart::Drafts, k.clone(), Fate::Delete));
    }
    out
}

/// What a pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Published results summarised.
    pub summarised: usize,
    /// Bundles written to the archive.
    pub archived: usize,
    /// Entries deleted (results, summaries, drafts).
    pub deleted: usize,
    /// Bytes of history before and after.
    pub bytes_before: u64,
    /// Bytes of history after.
    pub bytes_after: u64,
}

/// Reads an indicator's history entries.
///
/// # Errors
/// On a store failure.
pub fn entries(hub: &Hub, indicator: &str) -> Result<Entries, HubError> {
    Ok(Entries {
        published: hub
            .store
            .history_entries(HistoryPart::Published, indicator)?,
        summaries: hub
            .store
            .history_entries(HistoryPart::Summaries, indicator)?,
        drafts: hub.store.history_entries(HistoryPart::Drafts, indicator)?,
    })
}

fn bytes(e: &Entries) -> u64 {
    [&e.published, &e.summaries, &e.drafts]
        .into_iter()
        .flatten()
        .map(|k| k.bytes as u64)
        .sum()
}

/// Writes a result's checkable bundle (every signed answer) into `dir`,
/// as `{indicator}/{computed_at}-{seq}.json`, flushed before it returns.
///
/// # Errors
/// When the bundle cannot be made or written.
pub fn archive(
    hub: &Hub,
    ind: &Indicator,
    r: &IndicatorResult,
    seq: u64,
    dir: &Path,
) -> Result<std::path::PathBuf, HubError> {
    let b = crate::provenance::bundle(
        hub,
        ind,
        r,
        Scope::default(),
        Kind::Audit,
        passerelle_link::now(),
    )?;
    let json = serde_json::to_vec_pretty(&b).map_err(|e| {
        HubError::from(passerelle_hub_core::Refusal::Verification {
            indicator: ind.id.clone(),
            why: e.to_string(),
        })
    })?;
    let folder = dir.join(&ind.id);
    let path = folder.join(format!("{}-{seq}.json", r.computed_at));
    std::fs::create_dir_all(&folder).map_err(|source| HubError::Io {
        path: folder.clone(),
        source,
    })?;
    // Whole or not at all, flushed before the answers are pruned; for the
    // operator only, like the store.
    passerelle_certs::files::write_atomic(&path, &json, 0o600)?;
    Ok(path)
}

/// Applies the policy to every indicator of the catalog; with `archive`,
/// each result's bundle is written there before its answers go.
///
/// # Errors
/// On a store failure or an archive that cannot be written (what was done
/// before stays done; nothing is pruned without its archive).
pub fn apply(
    hub: &Hub,
    catalog: &[Indicator],
    policy: Policy,
    archive_dir: Option<&Path>,
    now: UnixTime,
) -> Result<Report, HubError> {
    let mut report = Report::default();
    for ind in catalog {
        let e = entries(hub, &ind.id)?;
        report.bytes_before += bytes(&e);
        for (part, k, fate) in plan(&e, policy, now) {
            if part == HistoryPart::Published {
                let Some(r) = hub.store.published_at::<IndicatorResult>(&k.key)? else {
                    continue;
                };
                if let Some(dir) = archive_dir {
                    archive(hub, ind, &r, k.seq, dir)?;
                    report.archived += 1;
                }
                if fate == Fate::Summarise {
                    hub.store.summarise(&k.key, &Summary::of(&r)?)?;
                    report.summarised += 1;
                    continue;
                }
            }
            hub.store.forget_entry(part, &k.key)?;
            report.deleted += 1;
        }
        report.bytes_after += bytes(&entries(hub, &ind.id)?);
    }
    if report.summarised + report.deleted > 0 {
        info!(
            summarised = report.summarised,
            archived = report.archived,
            deleted = report.deleted,
            bytes_before = report.bytes_before,
            bytes_after = report.bytes_after,
            "history pruned"
        );
    }
    Ok(report)
}

/// One indicator's history, as `history status` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusRow {
    /// Indicator id.
    pub indicator: String,
    /// Published results kept with their signed answers.
    pub full: usize,
    /// Published results kept as summaries.
    pub summaries: usize,
    /// Drafts.
    pub drafts: usize,
    /// Bytes of all three.
    pub bytes: u64,
    /// When the oldest entry was composed.
    pub oldest: Option<UnixTime>,
}

/// The history of every indicator of the catalog.
///
/// # Errors
/// On a store failure.
pub fn status(hub: &Hub, catalog: &[Indicator]) -> Result<Vec<StatusRow>, HubError> {
    catalog
        .iter()
        .map(|ind| {
            let e = entries(hub, &ind.id)?;
            Ok(StatusRow {
                indicator: ind.id.clone(),
                full: e.published.len(),
                summaries: e.summaries.len(),
                drafts: e.drafts.len(),
                bytes: bytes(&e),
                oldest: [&e.published, &e.summaries, &e.drafts]
                    .into_iter()
                    .flatten()
                    .map(|k| k.computed_at)
                    .min(),
            })
        })
        .collect()
}

/// Writes the checkable bundle of every result still kept in full (of one
/// indicator, or all) into `dir`; returns how many.
///
/// # Errors
/// On an unknown indicator, a store failure or a file not written.
pub fn export(
    hub: &Hub,
    catalog: &[Indicator],
    only: Option<&str>,
    dir: &Path,
) -> Result<usize, HubError> {
    if let Some(id) = only {
        if !catalog.iter().any(|i| i.id == id) {
            return Err(
                passerelle_hub_core::Refusal::UnknownIndicator { id: id.to_string() }.into(),
            );
        }
    }
    let mut written = 0;
    for ind in catalog.iter().filter(|i| only.is_none_or(|id| i.id == id)) {
        for k in hub.store.history_entries(HistoryPart::Published, &ind.id)? {
            if let Some(r) = hub.store.published_at::<IndicatorResult>(&k.key)? {
                archive(hub, ind, &r, k.seq, dir)?;
                written += 1;
            }
        }
    }
    Ok(written)
}

/// Applies the hub's configured policy (its archive folder relative to the
/// hub folder), logging a failure instead of returning it.
pub fn apply_configured(hub: &Hub, catalog: &[Indicator]) -> Option<Report> {
    let policy = Policy::of(&hub.config);
    let dir = hub
        .config
        .history_archive
        .as_ref()
        .map(|d| hub.dir.root().join(d));
    match apply(hub, catalog, policy, dir.as_deref(), passerelle_link::now()) {
        Ok(r) => Some(r),
        Err(error) => {
            warn!(%error, "history not pruned");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;
    // 2026-01-15 00:00 UTC.
    const JAN: u64 = 1_768_435_200;

    fn kept(seq: u64, at: u64) -> Kept {
        Kept {
            key: seq.to_be_bytes().to_vec(),
            seq,
            computed_at: at,
            bytes: 100,
        }
    }

    fn fates(plan: &[(HistoryPart, Kept, Fate)], part: HistoryPart) -> Vec<(u64, Fate)> {
        plan.iter()
            .filter(|(p, _, _)| *p == part)
            .map(|(_, k, f)| (k.seq, *f))
            .collect()
    }

    #[test]
    fn the_latest_results_stay_full_and_older_ones_become_summaries() {
        let e = Entries {
            published: (0..10).map(|i| kept(i, JAN + i * 3600)).collect(),
            ..Entries::default()
        };
        let p = Policy {
            full_refreshes: 3,
            full_months: 0,
            summary_days: 0,
        };
        let plan = plan(&e, p, JAN + DAY);
        let expect: Vec<(u64, Fate)> = (0..7).map(|i| (i, Fate::Summarise)).collect();
        assert_eq!(fates(&plan, HistoryPart::Published), expect);
    }

    #[test]
    fn the_last_result_of_each_recent_month_stays_full() {
        // Two a month over four months; months are Mayotte's: 20:59 UTC on
        // the 31st of January is still January there, 21:00 is February.
        let jan_end = 1_769_893_140; // 2026-01-31 20:59 UTC
        let feb_start = jan_end + 60; // 2026-02-01 00:00 in Mayotte
        let e = Entries {
            published: vec![
                kept(1, JAN),
                kept(2, jan_end),
                kept(3, feb_start),
                kept(4, feb_start + 10 * DAY),
                kept(5, feb_start + 30 * DAY),
                kept(6, feb_start + 40 * DAY),
                kept(7, feb_start + 60 * DAY),
                kept(8, feb_start + 61 * DAY),
            ],
            ..Entries::default()
        };
        let p = Policy {
            full_refreshes: 1,
            full_months: 3,
            summary_days: 0,
        };
        let summarised: Vec<u64> =
            fates(&plan(&e, p, feb_start + 62 * DAY), HistoryPart::Published)
                .into_iter()
                .map(|(s, _)| s)
                .collect();
        // Kept: 8 (latest, also April's last), 6 (March's), 4 (February's).
        // January's last (2) is beyond the three latest months.
        assert_eq!(summarised, vec![1, 2, 3, 5, 7]);
    }

    #[test]
    fn old_summaries_and_old_results_are_deleted_and_old_drafts_too() {
        let now = JAN + 400 * DAY;
        let e = Entries {
            published: vec![kept(1, JAN), kept(2, JAN + 300 * DAY), kept(9, now)],
            summaries: vec![kept(0, JAN - DAY), kept(3, JAN + 200 * DAY)],
            drafts: vec![kept(4, JAN), kept(5, JAN + DAY), kept(6, now)],
        };
        let p = Policy {
            full_refreshes: 1,
            full_months: 0,
            summary_days: 365,
        };
        let plan = plan(&e, p, now);
        assert_eq!(
            fates(&plan, HistoryPart::Published),
            vec![(1, Fate::Delete), (2, Fate::Summarise)]
        );
        assert_eq!(
            fates(&plan, HistoryPart::Summaries),
            vec![(0, Fate::Delete)]
        );
        assert_eq!(
            fates(&plan, HistoryPart::Drafts),
            vec![(4, Fate::Delete), (5, Fate::Delete)]
        );
    }

    #[test]
    fn the_latest_result_is_never_pruned_even_with_a_zero_policy() {
        let e = Entries {
            published: vec![kept(1, JAN)],
            ..Entries::default()
        };
        let p = Policy {
            full_refreshes: 0,
            full_months: 0,
            summary_days: 1,
        };
        assert!(plan(&e, p, JAN + 1000 * DAY).is_empty());
    }
}
