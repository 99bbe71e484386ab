//! Benchmark: an aggregate answer at a node holding 1,000,000 records, and
//! import throughput, each side by side with SQLite on the same CSV file
//! (the `sqlite3` command-line shell: `.import`, then a GROUP BY count).
//!
//! Run: `cargo bench -p passerelle-node --bench aggregate` (needs `sqlite3`
//! on the PATH). Ratios matter more than absolute times: both sides run in
//! the same process tree, on the same file, one after the other.

use std::{
    io::Write,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use passerelle_config::{
    dataset::{
        DatasetConfig, DatasetKind, DimensionConfig, DimensionKind, MeasureConfig, PolicyConfig,
        ShareConfig,
    },
    NodeConfig,
};
use passerelle_node::{batches, data::aggregate, store::Store};
use passerelle_protocol::{
    aggregate::{AggregateQuery, Measure},
    geo::{self, Level},
    ids::NodeId,
};

const ROWS: usize = 1_000_000;
const AGES: [&str; 4] = [
    "moins de 25 ans",
    "25-34 ans",
    "35-49 ans",
    "50 ans et plus",
];
const CATS: [&str; 3] = ["A", "B", "C"];
const PERIODS: [&str; 4] = ["2024-T3", "2024-T4", "2025-T1", "2025-T2"];

fn config() -> NodeConfig {
    let dims = vec![
        DimensionConfig {
            column: "sexe".into(),
            kind: DimensionKind::Sex,
            values: vec![],
        },
        DimensionConfig {
            column: "tranche_age".into(),
            kind: DimensionKind::AgeBand,
            values: AGES.iter().map(|s| s.to_string()).collect(),
        },
        DimensionConfig {
            column: "categorie".into(),
            kind: DimensionKind::Category,
            values: CATS.iter().map(|s| s.to_string()).collect(),
        },
    ];
    NodeConfig {
        datasets: vec![DatasetConfig {
            name: "rsa".into(),
            title: None,
            kind: DatasetKind::Records,
            commune: "code_commune".into(),
            period: "periode".into(),
            count_column: None,
            dimensions: dims,
            measures: vec![MeasureConfig {
                name: "montant".into(),
                column: "montant".into(),
            }],
            require_validation: false,
            drop_folder: None,
        }],
        policy: PolicyConfig {
            share: vec![ShareConfig {
                dataset: "rsa".into(),
                by: vec!["sexe".into(), "tranche_age".into(), "categorie".into()],
                measures: vec!["montant".into()],
                levels: Level::ALL.to_vec(),
            }],
            ..PolicyConfig::default()
        },
        ..NodeConfig::new(
            NodeId::new("bench").unwrap(),
            "localhost:4433".parse().unwrap(),
        )
    }
}

fn write_csv(path: &Path) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, "code_commune,periode,sexe,tranche_age,categorie,montant").unwrap();
    let mut x: u64 = 42;
    for _ in 0..ROWS {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let c = &geo::COMMUNES[(x % 17) as usize];
        writeln!(
            f,
            "{},{},{},{},{},{}",
            c.code,
            PERIODS[(x >> 8) as usize % 4],
            if (x >> 12) & 1 == 0 { "F" } else { "M" },
            AGES[(x >> 16) as usize % 4],
            CATS[(x >> 20) as usize % 3],
            300 + (x >> 24) % 900
        )
        .unwrap();
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn sqlite(db: &Path, script: &str) -> String {
    let mut child = Command::new("sqlite3")
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sqlite3 on the PATH");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The "real" seconds of the last `.timer on` line.
fn sqlite_timer(out: &str) -> Duration {
    let line = out
        .lines()
        .rev()
        .find(|l| l.starts_with("Run Time:"))
        .expect("timer line");
    let real: f64 = line.split_whitespace().nth(3).unwrap().parse().unwrap();
    Duration::from_secs_f64(real)
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("rsa.csv");
    write_csv(&csv);
    let size = std::fs::metadata(&csv).unwrap().len();
    println!("file: {ROWS} records, {:.1} MB", size as f64 / 1e6);
    let config = config();

    // Import: 3 runs each, fresh store / database every time.
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for i in 0..3 {
        let store = Store::open(&tmp.path().join(format!("store{i}"))).unwrap();
        let t = Instant::now();
        batches::import_file(&config, &store, "rsa", &csv, "bench", 0, &mut |_| {}).unwrap();
        ours.push(t.elapsed());
        drop(store);
        let db = tmp.path().join(format!("db{i}.sqlite"));
        let t = Instant::now();
        sqlite(&db, &format!(".mode csv\n.import {} t\n", csv.display()));
        theirs.push(t.elapsed());
    }
    let (ours_import, sqlite_import) = (median(ours), median(theirs));

    // Aggregate: count by commune × period × sex, every level, with
    // disclosure control, from the store (Passerelle) versus GROUP BY over
    // the imported table (SQLite).
    let store = Store::open(&tmp.path().join("store0")).unwrap();
    let q = AggregateQuery {
        dataset: "rsa".into(),
        measure: Measure::Count,
        periods: vec![],
        by: Some("sexe".into()),
    };
    let mut ours = Vec::new();
    let mut cells = 0;
    for _ in 0..21 {
        let t = Instant::now();
        let (cubes, as_of) = store.active_cubes("rsa").unwrap();
        let a = aggregate::answer(&q, &config.datasets, &config.policy, &cubes, as_of).unwrap();
        ours.push(t.elapsed());
        cells = a.cells.len();
    }
    let ours_answer = median(ours);

    // The same question again, the data unchanged: what the running node
    // does (`serve/source.rs`): read the batches in force, then the kept
    // answer.
    let answers = passerelle_node::data::answers::Answers::default();
    let mut kept = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        let data = store.in_force("rsa").unwrap();
        let a = answers
            .answer(&q, &data.fingerprint(), || {
                let (cubes, as_of) = store.cubes_of(&data).unwrap();
                aggregate::answer(&q, &config.datasets, &config.policy, &cubes, as_of)
            })
            .unwrap();
        kept.push(t.elapsed());
        assert_eq!(a.cells.len(), cells);
    }
    // The first one computed it.
    let kept_answer = median(kept[1..].to_vec());
    let db = tmp.path().join("db0.sqlite");
    let mut theirs = Vec::new();
    for _ in 0..5 {
        let out = sqlite(
            &db,
            ".timer on\nSELECT code_commune, periode, sexe, count(*) FROM t GROUP BY 1, 2, 3;\n",
        );
        theirs.push(sqlite_timer(&out));
    }
    let sqlite_answer = median(theirs);

    let rate = |d: Duration| ROWS as f64 / d.as_secs_f64();
    println!("import     passerelle {:>8.3} s ({:>9.0} rows/s)   sqlite3 .import {:>8.3} s ({:>9.0} rows/s)   passerelle/sqlite speed {:.2}",
        ours_import.as_secs_f64(), rate(ours_import), sqlite_import.as_secs_f64(), rate(sqlite_import), sqlite_import.as_secs_f64() / ours_import.as_secs_f64());
    println!("aggregate  passerelle {:>8.3} ms ({cells} cells, 3 levels, protected)   sqlite3 GROUP BY {:>8.3} ms   sqlite/passerelle time {:.1}x",
        ours_answer.as_secs_f64() * 1e3, sqlite_answer.as_secs_f64() * 1e3, sqlite_answer.as_secs_f64() / ours_answer.as_secs_f64());
    println!("kept       passerelle {:>8.3} ms (same question, data unchanged)   computed {:>8.3} ms   computed/kept time {:.1}x",
        kept_answer.as_secs_f64() * 1e3, ours_answer.as_secs_f64() * 1e3, ours_answer.as_secs_f64() / kept_answer.as_secs_f64());
}
