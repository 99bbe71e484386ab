//! The hub's hot store operations on sled and on PostgreSQL, side by
//! side: `PASSERELLE_TEST_PG=postgresql://… cargo bench -p passerelle-store
//! --bench kv` (sled alone without it). Each figure is the median of
//! `ROUNDS` timed runs, in microseconds per operation, one caller thread
//! (the hub's handlers call the store one operation at a time).

use std::time::Instant;

use passerelle_store::{Db, Options, PgSettings, Program};

const ROUNDS: usize = 5;
const OPS: u32 = 2000;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Microseconds per call of `op` (called `n` times per round).
fn time(n: u32, mut op: impl FnMut(u32)) -> f64 {
    median(
        (0..ROUNDS)
            .map(|r| {
                let start = Instant::now();
                for i in 0..n {
                    op(r as u32 * n + i);
                }
                start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
            })
            .collect(),
    )
}

fn bench(db: &Db) -> Vec<(&'static str, f64)> {
    let t = db.tree("bench").unwrap();
    let value = vec![7u8; 200];
    let mut out = Vec::new();
    out.push((
        "insert (200 B)",
        time(OPS, |i| t.insert(i.to_be_bytes(), &value).unwrap()),
    ));
    out.push((
        "get",
        time(OPS, |i| {
            t.get((i % OPS).to_be_bytes()).unwrap();
        }),
    ));
    out.push((
        "compare_and_swap (insert_new)",
        time(OPS, |i| {
            t.compare_and_swap(
                [b"n".as_slice(), &i.to_be_bytes()].concat(),
                None,
                Some(&value),
            )
            .unwrap();
        }),
    ));
    out.push((
        "fetch_and_update (counter)",
        time(OPS / 4, |_| {
            t.fetch_and_update(b"counter", |old| {
                let n = old.map_or(0, |b| u64::from_be_bytes(b.try_into().unwrap()));
                Some((n + 1).to_be_bytes().to_vec())
            })
            .unwrap();
        }),
    ));
    // The latest result of an indicator: the last key under a prefix.
    let results = db.tree("results_bench").unwrap();
    let big = vec![1u8; 20_000];
    for ind in 0..20u32 {
        for seq in 0..50u32 {
            let key = [format!("ind-{ind:02}\0").as_bytes(), &seq.to_be_bytes()].concat();
            results.insert(key, &big).unwrap();
        }
    }
    out.push((
        "latest under a prefix (50 × 20 KB)",
        time(OPS / 4, |i| {
            results
                .scan_prefix(format!("ind-{:02}\0", i % 20))
                .next_back()
                .unwrap()
                .unwrap();
        }),
    ));
    out.push((
        "scan 1,000 records (per record)",
        time(4, |_| {
            assert!(t.iter().take(1000).count() == 1000);
        }) / 1000.0,
    ));
    out.push((
        "generate_id",
        time(OPS, |_| {
            db.generate_id().unwrap();
        }),
    ));
    out
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut engines = vec![(
        "sled",
        Db::open_sled(&dir.path().join("sled"), Options::new(Program::Hub)).unwrap(),
    )];
    if let Ok(url) = std::env::var("PASSERELLE_TEST_PG") {
        let schema = format!("bench_{}", std::process::id());
        engines.push((
            "postgres",
            Db::open_postgres(
                &dir.path().join("pg"),
                Program::Hub,
                &PgSettings {
                    url,
                    password: None,
                    schema,
                    connections: 2,
                },
            )
            .unwrap(),
        ));
    }
    let results: Vec<(&str, Vec<(&str, f64)>)> =
        engines.iter().map(|(n, db)| (*n, bench(db))).collect();
    print!("| operation |");
    for (n, _) in &results {
        print!(" {n} (µs) |");
    }
    println!();
    print!("| --- |");
    for _ in &results {
        print!(" ---: |");
    }
    println!();
    for (i, (op, _)) in results[0].1.iter().enumerate() {
        print!("| {op} |");
        for (_, r) in &results {
            print!(" {:.1} |", r[i].1);
        }
        println!();
    }
}
