//! The group rule: no group of 1 to `min_count - 1` contributors, made of
//! withheld parts of the same total, may have a sum that follows from the
//! released cells.

use super::{
    protect::{complement, Space},
    shape::Relations,
    CellInput, CellStatus, DisclosureError, Rule,
};

/// Withheld parts of one relation among which groups are sought: the ones
/// with the fewest contributors, at most this many (`2^n` subsets each).
pub const MAX_GROUP_PARTS: usize = 12;

/// One pass over the relations in order (see [`super::protect`]). Returns
/// whether any cell was withheld.
pub(super) fn pass(
    table: &Relations,
    cells: &[CellInput],
    rule: &Rule,
    status: &mut [CellStatus],
) -> Result<bool, DisclosureError> {
    let mut changed = false;
    // Rebuilt only when a relation needs it after a change.
    let mut space: Option<Space> = None;
    for rel in &table.relations {
        let Some(&(total, _)) = rel.iter().find(|e| e.1 > 0) else {
            continue;
        };
        let parts = rel.iter().filter(|e| e.1 < 0).map(|e| e.0);
        let withheld: Vec<usize> = parts
            .clone()
            .filter(|&c| status[c].is_suppressed())
            .collect();
        if withheld.len() < 2 {
            // One withheld part with its total released is a determined
            // cell: the secondary pass protects it (this round's partners
            // are seen by the next one).
            continue;
        }
        let group = withheld
            .iter()
            .fold(0u64, |g, &c| g.saturating_add(cells[c].count));
        let partner = if status[total].is_released() && group > 0 && group < rule.min_count {
            let need = rule.min_count - group;
            let released = parts.filter(|&c| status[c].is_released() && cells[c].count > 0);
            // The smallest part that completes the group, else the
            // largest, else the total; lower index on ties (parts come in
            // cell order).
            let enough = released
                .clone()
                .filter(|&c| cells[c].count >= need)
                .min_by_key(|&c| cells[c].count);
            let largest = released.rev().max_by_key(|&c| cells[c].count);
            enough.or(largest).unwrap_or(total)
        } else {
            if space.is_none() {
                let suppressed: Vec<bool> = status.iter().map(|s| s.is_suppressed()).collect();
                space = Some(Space::new(table, &suppressed)?);
            }
            let Some(known) = space.as_ref() else {
                continue;
            };
            let Some(small) = small_derivable(known, &withheld, cells, rule.min_count)? else {
                continue;
            };
            // The group is derived through released cells, so some are
            // connected to it.
            complement(table, &small, status, cells)
                .ok_or(DisclosureError::Unprotectable { cell: small[0] })?
        };
        status[partner] = CellStatus::Secondary;
        space = None;
        changed = true;
    }
    Ok(changed)
}

/// The first group (in subset order) of two or more of the `withheld` parts
/// with the fewest contributors whose contributors number 1 to
/// `min_count - 1` and whose sum the released cells give away.
fn small_derivable(
    space: &Space,
    withheld: &[usize],
    cells: &[CellInput],
    min_count: u64,
) -> Result<Option<Vec<usize>>, DisclosureError> {
    let mut small: Vec<usize> = withheld
        .iter()
        .copied()
        .filter(|&c| cells[c].count < min_count)
        .collect();
    if small.len() < 2 {
        return Ok(None);
    }
    small.sort_by_key(|&c| (cells[c].count, c));
    small.truncate(MAX_GROUP_PARTS);
    small.sort_unstable();
    for mask in 1u32..1 << small.len() {
        if mask.count_ones() < 2 {
            continue;
        }
        let group: Vec<usize> = (0..small.len())
            .filter(|k| mask & (1 << k) != 0)
            .map(|k| small[k])
            .collect();
        let people = group
            .iter()
            .fold(0u64, |g, &c| g.saturating_add(cells[c].count));
        if people > 0 && people < min_count && space.derivable(&group)? {
            return Ok(Some(group));
        }
    }
    Ok(None)
}

#[cfg(test)]
#[path = "group_tests.rs"]
mod tests;
