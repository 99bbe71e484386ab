//! Benchmark: disclosure control of Mayotte's tables, the geography (the
//! department, 5 EPCI, 17 communes, from `geo`) crossed with the total and
//! its categories: ten categories (23 × 11 cells) and sex (23 × 3).
//!
//! Run: `cargo bench -p passerelle-protocol --bench protect`. Each table is
//! drawn from a fixed seed (30 % zeros, 40 % counts of 1 to 10, the rest 11
//! to 500; half of them with totals summed from the leaves), protected with
//! the default rule, and timed alone; the mean, median, 99th percentile and
//! worst are printed. A last run withholds the commune rows by policy, as
//! a node that shares EPCI and department only. The last runs protect
//! linked tables (the total, sex and five age bands, 23 × 8; with a
//! ten-value category too, 23 × 18), drawn as a full cross of commune, sex,
//! band (and category) so every margin adds up, as a node protects every
//! query about a dataset whose policy shares those breakdowns.

use std::time::{Duration, Instant};

use passerelle_protocol::{
    disclosure::{protect, protect_linked, CellInput, Hierarchy, LinkedShape, Rule, TableShape},
    geo,
};

const TABLES: usize = 2000;

fn geography() -> Hierarchy {
    let mut parent = vec![None];
    parent.extend(geo::EPCIS.iter().map(|_| Some(0)));
    parent.extend(geo::COMMUNES.iter().map(|c| Some(1 + c.epci)));
    Hierarchy::new(parent)
}

/// Leaf cells under each cell (itself for a leaf).
fn leaves(parent: &[Option<usize>], u: usize) -> Vec<usize> {
    let kids: Vec<usize> = (0..parent.len())
        .filter(|&k| parent[k] == Some(u))
        .collect();
    if kids.is_empty() {
        vec![u]
    } else {
        kids.into_iter().flat_map(|k| leaves(parent, k)).collect()
    }
}

fn summed(shape: &TableShape, counts: &[u64]) -> Vec<u64> {
    let nc = shape.cols.len();
    (0..counts.len())
        .map(|i| {
            let rows = leaves(&shape.rows.parent, i / nc);
            let cols = leaves(&shape.cols.parent, i % nc);
            rows.iter()
                .flat_map(|r| cols.iter().map(move |c| r * nc + c))
                .map(|cell| counts[cell])
                .sum()
        })
        .collect()
}

/// Protects the tables; with `communes_withheld`, the commune rows are
/// withheld by policy (a node sharing EPCI and department only).
fn run(categories: usize, communes_withheld: bool) {
    let shape = TableShape::new(geography(), Hierarchy::flat(categories));
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut times = Vec::with_capacity(TABLES);
    let mut withheld = 0;
    for _ in 0..TABLES {
        let leaves: Vec<u64> = (0..shape.cell_count())
            .map(|_| match next() % 10 {
                0..=2 => 0,
                3..=6 => 1 + next() % 10,
                _ => 11 + next() % 490,
            })
            .collect();
        let counts = if next() % 2 == 0 {
            summed(&shape, &leaves)
        } else {
            leaves
        };
        let nc = shape.cols.len();
        let first_commune = 1 + geo::EPCIS.len();
        let cells: Vec<CellInput> = counts
            .into_iter()
            .enumerate()
            .map(|(i, n)| CellInput {
                withheld: communes_withheld && i / nc >= first_commune,
                ..CellInput::counted(n)
            })
            .collect();
        let start = Instant::now();
        let status = protect(&shape, &cells, &Rule::default()).expect("a valid table");
        times.push(start.elapsed());
        withheld += status.iter().filter(|s| s.is_suppressed()).count();
    }
    times.sort();
    let total: Duration = times.iter().sum();
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    println!(
        "{} x {}{} ({} cells, {:.0} withheld on average): mean {:?}, median {:?}, p99 {:?}, worst {:?} over {} tables",
        shape.rows.len(),
        shape.cols.len(),
        if communes_withheld {
            ", communes not shared"
        } else {
            ""
        },
        shape.cell_count(),
        withheld as f64 / TABLES as f64,
        total / TABLES as u32,
        at(0.5),
        at(0.99),
        times[times.len() - 1],
        TABLES
    );
}

/// Protects linked tables of these breakdowns, from a full cross.
fn run_linked(breakdowns: &[usize]) {
    let shape = LinkedShape::new(geography(), breakdowns.to_vec());
    let nc = shape.column_count();
    let parent = shape.rows.parent.clone();
    let combos: usize = breakdowns.iter().product();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut times = Vec::with_capacity(TABLES);
    let mut withheld = 0;
    for _ in 0..TABLES {
        let mut counts = vec![0u64; shape.cell_count()];
        for commune in 1 + geo::EPCIS.len()..parent.len() {
            for k in 0..combos {
                let n = match next() % 10 {
                    0..=3 => 0,
                    4..=7 => 1 + next() % 6,
                    _ => 7 + next() % 60,
                };
                let mut row = Some(commune);
                while let Some(r) = row {
                    counts[r * nc] += n;
                    let (mut first, mut rest) = (1, k);
                    for (i, &b) in breakdowns.iter().enumerate() {
                        let inner: usize = breakdowns[i + 1..].iter().product();
                        counts[r * nc + first + (rest / inner) % b] += n;
                        rest %= inner;
                        first += b;
                    }
                    row = parent[r];
                }
            }
        }
        let cells: Vec<CellInput> = counts.into_iter().map(CellInput::counted).collect();
        let start = Instant::now();
        let status = protect_linked(&shape, &cells, &Rule::default()).expect("a valid table");
        times.push(start.elapsed());
        withheld += status.iter().filter(|s| s.is_suppressed()).count();
    }
    times.sort();
    let total: Duration = times.iter().sum();
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    println!(
        "linked 23 x {} (breakdowns {:?}, {:.0} withheld on average): mean {:?}, median {:?}, p99 {:?}, worst {:?} over {} tables",
        nc,
        breakdowns,
        withheld as f64 / TABLES as f64,
        total / TABLES as u32,
        at(0.5),
        at(0.99),
        times[times.len() - 1],
        TABLES
    );
}

fn main() {
    run(10, false);
    run(2, false);
    run(10, true);
    run_linked(&[2, 5]);
    run_linked(&[2, 5, 10]);
}
