//! Numbers and dates written for French readers: pages, copies and
//! documents. Formatting only; no text of the product lives here.

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

/// A date in French, from a Unix time (UTC).
pub fn date(t: u64) -> String {
    let text = passerelle_link::output::time(Some(t));
    // "YYYY-MM-DD HH:MM:SS UTC" → "DD/MM/YYYY à HH:MM (UTC)"
    let (d, rest) = text.split_once(' ').unwrap_or((&text, ""));
    let parts: Vec<&str> = d.split('-').collect();
    match parts.as_slice() {
        [y, m, dd] => format!("{dd}/{m}/{y} à {} (UTC)", rest.get(..5).unwrap_or("")),
        _ => text,
    }
}
