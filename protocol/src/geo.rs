//! The reference geography of Mayotte: 17 communes, 5 EPCI, one
//! department, from INSEE's official geographic code (COG).
//!
//! Populations are INSEE's legal populations 2017 (population municipale),
//! total 256,518. Of the EPCI SIREN codes, three are confirmed and two are
//! not: see [`Epci::siren_confirmed`]. A wrong fact is worse than a missing
//! one, so the unconfirmed ones are marked wherever they are shown.

use serde::{Deserialize, Serialize};

/// A geography level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// One of the 17 communes.
    Commune,
    /// One of the 5 groupings of communes.
    Epci,
    /// The department.
    Department,
}

impl Level {
    /// All levels, finest first.
    pub const ALL: [Level; 3] = [Level::Commune, Level::Epci, Level::Department];

    /// The name used in configs and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Commune => "commune",
            Level::Epci => "epci",
            Level::Department => "department",
        }
    }

    /// The French label.
    pub fn label_fr(self) -> &'static str {
        match self {
            Level::Commune => "commune",
            Level::Epci => "intercommunalité (EPCI)",
            Level::Department => "département",
        }
    }
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "commune" => Ok(Level::Commune),
            "epci" => Ok(Level::Epci),
            "department" => Ok(Level::Department),
            other => Err(format!(
                "unknown level {other:?}: use commune, epci or department"
            )),
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An EPCI (établissement public de coopération intercommunale).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Epci {
    /// SIREN code, used as the EPCI's code.
    pub siren: &'static str,
    /// Official name.
    pub name: &'static str,
    /// Whether the SIREN code was confirmed against a public source.
    pub siren_confirmed: bool,
}

/// A commune.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Commune {
    /// INSEE code.
    pub code: &'static str,
    /// Name.
    pub name: &'static str,
    /// Index of its EPCI in [`EPCIS`].
    pub epci: usize,
    /// Population municipale 2017 (INSEE).
    pub population_2017: u32,
}

/// The department.
pub const DEPARTMENT_CODE: &str = "976";
/// The department's name.
pub const DEPARTMENT_NAME: &str = "Mayotte";

/// The five EPCI.
pub const EPCIS: [Epci; 5] = [
    Epci {
        siren: "200060465",
        name: "CA du Grand Nord de Mayotte",
        siren_confirmed: true,
    },
    Epci {
        siren: "200060473",
        name: "CC du Sud",
        siren_confirmed: true,
    },
    Epci {
        siren: "200059871",
        name: "CC du Centre-Ouest",
        siren_confirmed: false,
    },
    Epci {
        siren: "200060457",
        name: "CA de Dembéni-Mamoudzou",
        siren_confirmed: false,
    },
    Epci {
        siren: "200050532",
        name: "CC de Petite-Terre",
        siren_confirmed: true,
    },
];

/// The seventeen communes, by INSEE code.
pub const COMMUNES: [Commune; 17] = [
    Commune {
        code: "97601",
        name: "Acoua",
        epci: 0,
        population_2017: 5_192,
    },
    Commune {
        code: "97602",
        name: "Bandraboua",
        epci: 0,
        population_2017: 13_989,
    },
    Commune {
        code: "97603",
        name: "Bandrélé",
        epci: 1,
        population_2017: 10_282,
    },
    Commune {
        code: "97604",
        name: "Bouéni",
        epci: 1,
        population_2017: 6_189,
    },
    Commune {
        code: "97605",
        name: "Chiconi",
        epci: 2,
        population_2017: 8_295,
    },
    Commune {
        code: "97606",
        name: "Chirongui",
        epci: 1,
        population_2017: 8_920,
    },
    Commune {
        code: "97607",
        name: "Dembeni",
        epci: 3,
        population_2017: 15_848,
    },
    Commune {
        code: "97608",
        name: "Dzaoudzi",
        epci: 4,
        population_2017: 17_831,
    },
    Commune {
        code: "97609",
        name: "Kani-Kéli",
        epci: 1,
        population_2017: 5_507,
    },
    Commune {
        code: "97610",
        name: "Koungou",
        epci: 0,
        population_2017: 32_156,
    },
    Commune {
        code: "97611",
        name: "Mamoudzou",
        epci: 3,
        population_2017: 71_437,
    },
    Commune {
        code: "97612",
        name: "Mtsamboro",
        epci: 0,
        population_2017: 7_705,
    },
    Commune {
        code: "97613",
        name: "M'Tsangamouji",
        epci: 2,
        population_2017: 6_432,
    },
    Commune {
        code: "97614",
        name: "Ouangani",
        epci: 2,
        population_2017: 10_203,
    },
    Commune {
        code: "97615",
        name: "Pamandzi",
        epci: 4,
        population_2017: 11_442,
    },
    Commune {
        code: "97616",
        name: "Sada",
        epci: 2,
        population_2017: 11_156,
    },
    Commune {
        code: "97617",
        name: "Tsingoni",
        epci: 2,
        population_2017: 13_934,
    },
];

/// Index of a commune in [`COMMUNES`] by INSEE code.
pub fn commune_index(code: &str) -> Option<usize> {
    COMMUNES.iter().position(|c| c.code == code)
}

/// Index of an EPCI in [`EPCIS`] by SIREN.
pub fn epci_index(siren: &str) -> Option<usize> {
    EPCIS.iter().position(|e| e.siren == siren)
}

/// The name of a unit given its level and code, if known.
pub fn name(level: Level, code: &str) -> Option<&'static str> {
    match level {
        Level::Commune => commune_index(code).map(|i| COMMUNES[i].name),
        Level::Epci => epci_index(code).map(|i| EPCIS[i].name),
        Level::Department => (code == DEPARTMENT_CODE).then_some(DEPARTMENT_NAME),
    }
}

/// Every unit at a level, as codes.
pub fn codes(level: Level) -> Vec<&'static str> {
    match level {
        Level::Commune => COMMUNES.iter().map(|c| c.code).collect(),
        Level::Epci => EPCIS.iter().map(|e| e.siren).collect(),
        Level::Department => vec![DEPARTMENT_CODE],
    }
}

/// The code of the unit containing a commune at a level.
pub fn parent_code(commune: usize, level: Level) -> &'static str {
    match level {
        Level::Commune => COMMUNES[commune].code,
        Level::Epci => EPCIS[COMMUNES[commune].epci].siren,
        Level::Department => DEPARTMENT_CODE,
    }
}

/// Population 2017 of a unit.
pub fn population_2017(level: Level, code: &str) -> Option<u64> {
    let pop = |c: &Commune| u64::from(c.population_2017);
    match level {
        Level::Commune => commune_index(code).map(|i| pop(&COMMUNES[i])),
        Level::Epci => {
            let e = epci_index(code)?;
            Some(COMMUNES.iter().filter(|c| c.epci == e).map(pop).sum())
        }
        Level::Department => (code == DEPARTMENT_CODE).then(|| COMMUNES.iter().map(pop).sum()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_facts_hold_together() {
        assert_eq!(population_2017(Level::Department, "976"), Some(256_518));
        let by_epci: u64 = EPCIS
            .iter()
            .map(|e| population_2017(Level::Epci, e.siren).unwrap())
            .sum();
        assert_eq!(by_epci, 256_518);
        // Two EPCI have exactly two communes: the reason secondary
        // suppression must work across the hierarchy.
        let sizes: Vec<usize> = (0..5)
            .map(|e| COMMUNES.iter().filter(|c| c.epci == e).count())
            .collect();
        assert_eq!(sizes, vec![4, 4, 5, 2, 2]);
        assert_eq!(name(Level::Commune, "97611"), Some("Mamoudzou"));
        assert_eq!(
            parent_code(commune_index("97615").unwrap(), Level::Epci),
            "200050532"
        );
        assert_eq!(codes(Level::Commune).len(), 17);
        assert_eq!("epci".parse::<Level>(), Ok(Level::Epci));
    }
}
