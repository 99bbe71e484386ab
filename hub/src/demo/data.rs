//! Synthetic data for the demonstration nodes. Fictitious, and said so:
//! the generated files sit under `DIR/demo-data/` beside a README that says
//! they are invented, so anyone can recompute the published figures.
//!
//! Rows are drawn with a fixed seed in proportion to each commune's INSEE
//! population 2017, so small communes yield small cells and the portal
//! shows disclosure control at work.

use std::{fmt::Write as _, path::Path};

use passerelle_config::dataset::{
    DatasetConfig, DatasetKind, DimensionConfig, DimensionKind, MeasureConfig, PolicyConfig,
    ShareConfig,
};
use passerelle_protocol::geo::{self, Level};

/// Quarters the demo covers.
pub const PERIODS: [&str; 4] = ["2024-T3", "2024-T4", "2025-T1", "2025-T2"];

/// A dimension: column, kind, values with weights.
type Dim = (&'static str, DimensionKind, &'static [(&'static str, u32)]);

/// One demo dataset.
pub struct DemoDataset {
    /// Name.
    pub name: &'static str,
    /// Title.
    pub title: &'static str,
    /// Records or cells.
    pub kind: DatasetKind,
    /// Expected rows (records) or people (cells) per inhabitant per quarter.
    pub rate: f64,
    /// Categorical dimensions.
    pub dims: &'static [Dim],
    /// Sum measures: name, column, mean value.
    pub measures: &'static [(&'static str, &'static str, f64)],
}

const SEX: Dim = ("sexe", DimensionKind::Sex, &[("F", 55), ("M", 45)]);

/// The datasets of each demo institution.
pub fn datasets(node: &str) -> &'static [DemoDataset] {
    match node {
        "caf-976" => &[
            DemoDataset {
                name: "rsa",
                title: "Foyers allocataires du RSA",
                kind: DatasetKind::Records,
                rate: 0.030,
                dims: &[
                    SEX,
                    (
                        "tranche_age",
                        DimensionKind::AgeBand,
                        &[
                            ("moins de 25 ans", 10),
                            ("25-34 ans", 30),
                            ("35-49 ans", 40),
                            ("50 ans et plus", 20),
                        ],
                    ),
                ],
                measures: &[("montant", "montant_verse", 1_150.0)],
            },
            DemoDataset {
                name: "aah",
                title: "Allocataires de l'AAH",
                kind: DatasetKind::Records,
                rate: 0.006,
                dims: &[SEX],
                measures: &[],
            },
            DemoDataset {
                name: "aides_logement",
                title: "Foyers bénéficiaires d'une aide au logement",
                kind: DatasetKind::Records,
                rate: 0.020,
                dims: &[(
                    "type_aide",
                    DimensionKind::Category,
                    &[("APL", 30), ("ALF", 50), ("ALS", 20)],
                )],
                measures: &[],
            },
        ],
        "emploi-976" => &[
            DemoDataset {
                name: "demandeurs_emploi",
                title: "Demandeurs d'emploi inscrits",
                kind: DatasetKind::Records,
                rate: 0.050,
                dims: &[
                    SEX,
                    (
                        "tranche_age",
                        DimensionKind::AgeBand,
                        &[
                            ("moins de 26 ans", 30),
                            ("26-49 ans", 55),
                            ("50 ans et plus", 15),
                        ],
                    ),
                    (
                        "categorie",
                        DimensionKind::Category,
                        &[("A", 70), ("B", 15), ("C", 15)],
                    ),
                ],
                measures: &[],
            },
            DemoDataset {
                name: "entrees_formation",
                title: "Entrées en formation",
                kind: DatasetKind::Records,
                rate: 0.004,
                dims: &[SEX],
                measures: &[],
            },
        ],
        "departement-976" => &[
            DemoDataset {
                name: "apa",
                title: "Bénéficiaires de l'APA",
                kind: DatasetKind::Records,
                rate: 0.004,
                dims: &[
                    SEX,
                    (
                        "lieu",
                        DimensionKind::Category,
                        &[("domicile", 85), ("établissement", 15)],
                    ),
                ],
                measures: &[],
            },
            DemoDataset {
                name: "pch",
                title: "Bénéficiaires de la PCH",
                kind: DatasetKind::Records,
                rate: 0.0015,
                dims: &[],
                measures: &[],
            },
            DemoDataset {
                name: "contrats_engagement",
                title: "Contrats d'engagement réciproque signés",
                kind: DatasetKind::Records,
                rate: 0.003,
                dims: &[],
                measures: &[],
            },
        ],
        "mission-locale-976" => &[
            DemoDataset {
                name: "jeunes_accompagnes",
                title: "Jeunes accompagnés",
                kind: DatasetKind::Records,
                rate: 0.012,
                dims: &[
                    SEX,
                    (
                        "tranche_age",
                        DimensionKind::AgeBand,
                        &[("16-17 ans", 15), ("18-21 ans", 50), ("22-25 ans", 35)],
                    ),
                ],
                measures: &[("entretiens", "nombre_entretiens", 3.5)],
            },
            // The same dataset as the employment agency's: the hub adds the
            // two institutions' figures.
            DemoDataset {
                name: "entrees_formation",
                title: "Entrées en formation prescrites",
                kind: DatasetKind::Records,
                rate: 0.003,
                dims: &[SEX],
                measures: &[],
            },
        ],
        "mediation-numerique-976" => &[
            DemoDataset {
                name: "personnes_recues",
                title: "Personnes reçues",
                kind: DatasetKind::Records,
                rate: 0.008,
                dims: &[
                    SEX,
                    (
                        "motif",
                        DimensionKind::Category,
                        &[
                            ("accès aux droits", 40),
                            ("emploi", 15),
                            ("logement", 20),
                            ("santé", 10),
                            ("numérique", 15),
                        ],
                    ),
                ],
                measures: &[("entretiens", "nombre_rendez_vous", 2.2)],
            },
            DemoDataset {
                name: "demandes_hebergement",
                title: "Demandes d'hébergement d'urgence",
                kind: DatasetKind::Cells,
                rate: 0.002,
                dims: &[],
                measures: &[],
            },
        ],
        _ => &[],
    }
}

/// The node configuration sections for a demo institution.
pub fn config(node: &str) -> (Vec<DatasetConfig>, PolicyConfig) {
    let mut policy = PolicyConfig::default();
    let ds = datasets(node)
        .iter()
        .map(|d| {
            policy.share.push(ShareConfig {
                dataset: d.name.into(),
                by: d.dims.iter().map(|(c, _, _)| c.to_string()).collect(),
                measures: d.measures.iter().map(|(n, _, _)| n.to_string()).collect(),
                levels: Level::ALL.to_vec(),
            });
            DatasetConfig {
                name: d.name.into(),
                title: Some(format!("{} (données fictives de démonstration)", d.title)),
                kind: d.kind,
                commune: "code_commune".into(),
                period: "periode".into(),
                count_column: (d.kind == DatasetKind::Cells).then(|| "nombre".into()),
                dimensions: d
                    .dims
                    .iter()
                    .map(|(c, k, v)| DimensionConfig {
                        column: c.to_string(),
                        kind: *k,
                        values: if *k == DimensionKind::Sex {
                            vec![]
                        } else {
                            v.iter().map(|(x, _)| x.to_string()).collect()
                        },
                    })
                    .collect(),
                measures: d
                    .measures
                    .iter()
                    .map(|(n, c, _)| MeasureConfig {
                        name: n.to_string(),
                        column: c.to_string(),
                    })
                    .collect(),
                require_validation: false,
                drop_folder: None,
            }
        })
        .collect();
    (ds, policy)
}

/// A small deterministic generator (SplitMix64); not for cryptography.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick(&mut self, weights: &[(&'static str, u32)]) -> &'static str {
        let total: u32 = weights.iter().map(|(_, w)| w).sum();
        let mut x = (self.next() % u64::from(total)) as u32;
        for (v, w) in weights {
            if x < *w {
                return v;
            }
            x -= w;
        }
        weights[0].0
    }
}

/// Writes the CSV file of one demo dataset; returns its text.
pub fn csv(node: &str, d: &DemoDataset) -> String {
    let seed = node
        .bytes()
        .chain(d.name.bytes())
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    let mut rng = Rng(seed);
    let mut out = String::from("code_commune,periode");
    for (c, _, _) in d.dims {
        write!(out, ",{c}").expect("write to string");
    }
    for (_, c, _) in d.measures {
        write!(out, ",{c}").expect("write to string");
    }
    if d.kind == DatasetKind::Cells {
        out.push_str(",nombre");
    }
    out.push('\n');
    for (pi, period) in PERIODS.iter().enumerate() {
        for c in &geo::COMMUNES {
            let trend = 1.0 + 0.03 * pi as f64;
            let expected =
                f64::from(c.population_2017) * d.rate * trend * (0.85 + 0.3 * rng.unit());
            let n = expected.round() as u64;
            if d.kind == DatasetKind::Cells {
                writeln!(out, "{},{period},{n}", c.code).expect("write to string");
                continue;
            }
            for _ in 0..n {
                write!(out, "{},{period}", c.code).expect("write to string");
                for (_, _, values) in d.dims {
                    let v = rng.pick(values);
                    write!(out, ",{v}").expect("write to string");
                }
                for (_, _, mean) in d.measures {
                    let v = (mean * (0.4 + 1.2 * rng.unit())).round();
                    write!(out, ",{v}").expect("write to string");
                }
                out.push('\n');
            }
        }
    }
    out
}

/// The README placed beside the generated files.
pub const README: &str = "Données FICTIVES générées pour la démonstration de Passerelle.\n\
Elles ne décrivent aucune personne réelle. Les effectifs sont tirés au hasard\n\
(graine fixe) en proportion de la population municipale 2017 de l'INSEE.\n\
Un fichier par jeu de données et par institution de démonstration ; chaque\n\
indicateur publié par le portail de démonstration peut être recalculé à\n\
partir de ces fichiers.\n";

/// Writes every demo file of a node under `dir` and returns the paths.
///
/// # Errors
/// When a file cannot be written.
pub fn write_files(dir: &Path, node: &str) -> std::io::Result<Vec<(String, std::path::PathBuf)>> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("LISEZMOI.txt"), README)?;
    datasets(node)
        .iter()
        .map(|d| {
            let path = dir.join(format!("{}.csv", d.name));
            std::fs::write(&path, csv(node, d))?;
            Ok((d.name.to_string(), path))
        })
        .collect()
}

/// The directory entry of a demo institution (fictitious contact details).
pub fn directory(node: &str) -> Option<passerelle_protocol::directory::DirectoryEntry> {
    use passerelle_protocol::directory::DirectoryEntry;
    let (description, services, themes, communes, hours): (&str, &[&str], &[&str], &[&str], &str) = match node {
        "caf-976" => (
            "Versement des prestations familiales et sociales : RSA, aides au logement, AAH.",
            &["Accueil sur rendez-vous", "Aide aux démarches en ligne"],
            &["acces-aux-droits", "famille-enfance", "logement-hebergement"],
            &[],
            "Du lundi au jeudi, 7 h 30 – 15 h 30",
        ),
        "emploi-976" => (
            "Inscription des demandeurs d'emploi, accompagnement vers l'emploi et la formation.",
            &["Inscription", "Conseil en évolution professionnelle", "Offres d'emploi"],
            &["emploi", "insertion-formation"],
            &["97611", "97610", "97608", "97603"],
            "Du lundi au vendredi, 8 h – 12 h",
        ),
        "departement-976" => (
            "Action sociale du Département : RSA, autonomie des personnes âgées et handicapées, protection de l'enfance.",
            &["Orientation des allocataires du RSA", "Allocation personnalisée d'autonomie", "PCH"],
            &["acces-aux-droits", "personnes-agees", "handicap-autonomie", "famille-enfance"],
            &[],
            "Du lundi au vendredi, 7 h 30 – 15 h 30",
        ),
        "mission-locale-976" => (
            "Accompagnement des jeunes de 16 à 25 ans : emploi, formation, logement, santé.",
            &["Premier accueil", "Contrat d'engagement jeune", "Aide à la mobilité"],
            &["insertion-formation", "emploi"],
            &["97611", "97607", "97610", "97602", "97617", "97605"],
            "Du lundi au vendredi, 8 h – 16 h",
        ),
        "mediation-numerique-976" => (
            "Un bus itinérant aide chacun à faire ses démarches en ligne et oriente vers les bons interlocuteurs.",
            &["Aide aux démarches en ligne", "Accès à un ordinateur", "Orientation"],
            &["numerique", "acces-aux-droits", "logement-hebergement"],
            &["97601", "97612", "97613", "97609", "97604", "97606"],
            "Selon la tournée du bus, affichée chaque semaine en mairie",
        ),
        _ => return None,
    };
    Some(DirectoryEntry {
        name: String::new(),
        description: description.into(),
        services: services.iter().map(|s| s.to_string()).collect(),
        themes: themes.iter().map(|s| s.to_string()).collect(),
        communes: communes.iter().map(|s| s.to_string()).collect(),
        address: "Adresse fictive de démonstration".into(),
        phone: "02 69 00 00 00 (fictif)".into(),
        email: format!("contact@{node}.demo.invalid"),
        website: String::new(),
        hours: hours.into(),
    })
}
