//! Numbers and dates written for French readers: pages, copies and
//! documents, with times in Mayotte's local time. Formatting only; no text
//! of the product lives here.

use std::sync::OnceLock;

use jiff::{civil::Date, tz::TimeZone, Timestamp, ZonedDateTime};

/// A number the French way: narrow no-break space between thousands,
/// decimal comma.
pub fn number(v: f64, decimals: u8) -> String {
    let text = format!("{:.*}", usize::from(decimals), v.abs());
    let (int, frac) = text
        .split_once('.')
        .map_or((text.as_str(), None), |(i, f)| (i, Some(f)));
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push('\u{202f}');
        }
        grouped.push(ch);
    }
    let sign = if v < 0.0 && text.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
        "−"
    } else {
        ""
    };
    match frac {
        Some(f) => format!("{sign}{grouped},{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// Mayotte's time zone (`Indian/Mayotte`, UTC+3 all year, no daylight
/// saving), from the time-zone data compiled into the binary.
pub fn mayotte() -> &'static TimeZone {
    static ZONE: OnceLock<TimeZone> = OnceLock::new();
    ZONE.get_or_init(|| {
        TimeZone::get("Indian/Mayotte").unwrap_or(TimeZone::fixed(jiff::tz::offset(3)))
    })
}

/// A Unix time in Mayotte.
fn local(t: u64) -> Option<ZonedDateTime> {
    let t = Timestamp::from_second(i64::try_from(t).ok()?).ok()?;
    Some(t.to_zoned_datetime(mayotte().clone()))
}

/// A date and time in French, in Mayotte's time and named so:
/// `23/11/2026 à 03:00 (heure de Mayotte)`.
pub fn date(t: u64) -> String {
    match local(t) {
        Some(z) => z
            .strftime("%d/%m/%Y à %H:%M (heure de Mayotte)")
            .to_string(),
        None => passerelle_link::output::time(Some(t)),
    }
}

/// A Unix time in Mayotte as its day and its time, in French:
/// `("23/11/2026", "03:00")`, for pages that word the rest themselves
/// (the vault's, in the reader's language).
pub fn parts(t: u64) -> Option<(String, String)> {
    let z = local(t)?;
    Some((
        z.strftime("%d/%m/%Y").to_string(),
        z.strftime("%H:%M").to_string(),
    ))
}

/// The last day of something that ends at `t`, as `23/11/2026`, when `t`
/// is midnight in Mayotte (as [`end_of_day`] makes it): a consent "until
/// the 5th" ends at midnight between the 5th and the 6th, and reads "the
/// 5th". `None` for any other time.
pub fn last_day(t: u64) -> Option<String> {
    let z = local(t)?;
    if (z.hour(), z.minute(), z.second(), z.subsec_nanosecond()) != (0, 0, 0, 0) {
        return None;
    }
    let last = z.date().yesterday().ok()?;
    Some(last.strftime("%d/%m/%Y").to_string())
}

/// When something ends, in French: `05/12/2026 inclus` when it ends at
/// midnight in Mayotte (see [`last_day`]), otherwise as [`date`].
pub fn until(t: u64) -> String {
    last_day(t).map_or_else(|| date(t), |day| format!("{day} inclus"))
}

/// The calendar day of a Unix time in Mayotte, as `YYYY-MM-DD` (the value
/// of a date field).
pub fn day(t: u64) -> String {
    local(t).map_or_else(String::new, |z| z.date().to_string())
}

/// When a `YYYY-MM-DD` day ends in Mayotte (midnight of the next day), as a
/// Unix time; `None` for text that is not a real day from 1970 on.
pub fn end_of_day(text: &str) -> Option<u64> {
    let day: Date = text.trim().parse().ok()?;
    if day.year() < 1970 {
        return None;
    }
    let end = day
        .tomorrow()
        .ok()?
        .to_zoned_datetime(mayotte().clone())
        .ok()?;
    u64::try_from(end.timestamp().as_second()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_in_mayotte_time() {
        // 2026-11-23 00:00 UTC is 03:00 in Mayotte.
        assert_eq!(date(1_795_392_000), "23/11/2026 à 03:00 (heure de Mayotte)");
        assert_eq!(
            date(1_795_392_000 - 3 * 3600 - 60),
            "22/11/2026 à 23:59 (heure de Mayotte)"
        );
        assert_eq!(day(1_795_392_000 - 3 * 3600), "2026-11-23");
        assert_eq!(day(1_795_392_000 - 3 * 3600 - 1), "2026-11-22");
        // The named zone, from the bundled data, not the fallback offset.
        assert_eq!(mayotte().iana_name(), Some("Indian/Mayotte"));
        assert_eq!(
            mayotte().to_offset(Timestamp::UNIX_EPOCH),
            jiff::tz::offset(3)
        );
    }

    #[test]
    fn a_day_ends_at_midnight_in_mayotte() {
        assert_eq!(
            end_of_day("2026-11-23"),
            Some(1_795_392_000 + 86_400 - 3 * 3600)
        );
        assert_eq!(end_of_day(" 1970-01-01 "), Some(86_400 - 3 * 3600));
        assert_eq!(end_of_day("2026-02-30"), None);
        assert_eq!(end_of_day("2026-13-01"), None);
        assert_eq!(end_of_day("1969-12-31"), None);
        assert_eq!(end_of_day("hier"), None);
    }

    #[test]
    fn an_end_at_midnight_reads_as_its_last_day() {
        // "Until 2026-12-05": ends at 2026-12-05 21:00 UTC, midnight in
        // Mayotte; it reads as the 5th, included.
        let end = end_of_day("2026-12-05").unwrap();
        assert_eq!(end, 1_796_504_400);
        assert_eq!(date(end - 60), "05/12/2026 à 23:59 (heure de Mayotte)");
        assert_eq!(last_day(end).as_deref(), Some("05/12/2026"));
        assert_eq!(until(end), "05/12/2026 inclus");
        // Any other time is shown as a date and time.
        assert_eq!(last_day(end - 1), None);
        assert_eq!(last_day(end + 3600), None);
        assert_eq!(until(end + 3600), "06/12/2026 à 01:00 (heure de Mayotte)");
        assert_eq!(
            parts(end - 60),
            Some(("05/12/2026".to_string(), "23:59".to_string()))
        );
        // Midnight UTC is 03:00 in Mayotte: not the end of a local day.
        assert_eq!(last_day(1_795_392_000), None);
    }
}
