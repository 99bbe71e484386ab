//! Periods: a year (`2024`), a quarter (`2024-T3`) or a month (`2024-09`).

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// A reporting period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Period {
    /// A calendar year.
    Year(u16),
    /// A quarter, 1 to 4.
    Quarter(u16, u8),
    /// A month, 1 to 12.
    Month(u16, u8),
}

/// Why a text is not a period.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid period {0:?}: use a year (2024), a quarter (2024-T3) or a month (2024-09)")]
pub struct PeriodError(pub String);

impl FromStr for Period {
    type Err = PeriodError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || PeriodError(s.to_string());
        let year = |y: &str| -> Result<u16, PeriodError> {
            if y.len() != 4 || !y.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err());
            }
            let y: u16 = y.parse().map_err(|_| err())?;
            if !(1900..=2200).contains(&y) {
                return Err(err());
            }
            Ok(y)
        };
        match s.split_once('-') {
            None => Ok(Period::Year(year(s)?)),
            Some((y, rest)) => {
                let y = year(y)?;
                if let Some(q) = rest.strip_prefix('T') {
                    match q {
                        "1" | "2" | "3" | "4" => {
                            Ok(Period::Quarter(y, q.parse().map_err(|_| err())?))
                        }
                        _ => Err(err()),
                    }
                } else if rest.len() == 2 && rest.bytes().all(|b| b.is_ascii_digit()) {
                    let m: u8 = rest.parse().map_err(|_| err())?;
                    if (1..=12).contains(&m) {
                        Ok(Period::Month(y, m))
                    } else {
                        Err(err())
                    }
                } else {
                    Err(err())
                }
            }
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Year(y) => write!(f, "{y}"),
            Period::Quarter(y, q) => write!(f, "{y}-T{q}"),
            Period::Month(y, m) => write!(f, "{y}-{m:02}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Period;

    #[test]
    fn parses_and_prints() {
        for text in ["2024", "2024-T3", "2024-09"] {
            assert_eq!(text.parse::<Period>().unwrap().to_string(), text);
        }
        for bad in [
            "24", "2024-T5", "2024-13", "2024-9", "2024-T", "abcd", "2024-00", "12024", "",
        ] {
            assert!(bad.parse::<Period>().is_err(), "{bad}");
        }
        assert!("2023-T4".parse::<Period>().unwrap() < "2024-T1".parse().unwrap());
    }
}
