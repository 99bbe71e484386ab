//! Charts as server-rendered SVG: a time series and a bar chart. Each is
//! an image with a text title; the page repeats its values in a table.

use std::fmt::Write as _;

use super::layout::{esc, number};

/// Colours of the series (colour-blind safe, Okabe–Ito).
const COLOURS: [&str; 6] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
];

/// One line: a name and a value (or a gap) per period.
pub struct Series {
    /// Name shown in the legend.
    pub name: String,
    /// One value per period, `None` for a gap (masked or missing).
    pub values: Vec<Option<f64>>,
}

/// A line chart of several series over the same periods.
pub fn lines(
    title: &str,
    periods: &[String],
    series: &[Series],
    unit: &str,
    decimals: u8,
) -> String {
    let (w, h, left, top, bottom) = (560.0, 300.0, 64.0, 16.0, 40.0);
    let plot_h = h - top - bottom;
    let all: Vec<f64> = series
        .iter()
        .flat_map(|s| s.values.iter().flatten().copied())
        .collect();
    let max = all.iter().copied().fold(0.0f64, f64::max);
    let max = if max <= 0.0 { 1.0 } else { nice(max) };
    let step = if periods.len() > 1 {
        (w - left - 40.0) / (periods.len() - 1) as f64
    } else {
        0.0
    };
    let x = |i: usize| {
        left + step * i as f64
            + if periods.len() == 1 {
                (w - left) / 2.0
            } else {
                0.0
            }
    };
    let y = |v: f64| top + plot_h * (1.0 - v / max);
    let legend_h = 20.0 * series.len() as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {}\" role=\"img\" aria-label=\"{}\"><title>{}</title>",
        h + legend_h,
        esc(title),
        esc(title)
    );
    for k in 0..=4 {
        let v = max * f64::from(k) / 4.0;
        let _ = write!(
            s,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{yy}\" y2=\"{yy}\" stroke=\"#d8dee4\"/><text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{}</text>",
            w - 8.0,
            left - 6.0,
            y(v) + 4.0,
            number(v, decimals.min(1)),
            yy = y(v)
        );
    }
    for (i, p) in periods.iter().enumerate() {
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
            x(i),
            h - bottom + 18.0,
            esc(p)
        );
    }
    for (n, ser) in series.iter().enumerate() {
        let c = COLOURS[n % COLOURS.len()];
        let mut d = String::new();
        let mut pen = false;
        for (i, v) in ser.values.iter().enumerate() {
            match v {
                Some(v) => {
                    let _ = write!(d, "{}{:.1} {:.1}", if pen { "L" } else { "M" }, x(i), y(*v));
                    pen = true;
                }
                None => pen = false,
            }
        }
        let _ = write!(
            s,
            "<path d=\"{d}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"2.5\"/>"
        );
        for (i, v) in ser.values.iter().enumerate() {
            if let Some(v) = v {
                let _ = write!(
                    s,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{c}\"><title>{} — {} : {} {}</title></circle>",
                    x(i),
                    y(*v),
                    esc(&ser.name),
                    esc(&periods[i]),
                    number(*v, decimals),
                    esc(unit)
                );
            }
        }
        let ly = h + 20.0 * n as f64;
        let _ = write!(
            s,
            "<rect x=\"{left}\" y=\"{}\" width=\"14\" height=\"4\" fill=\"{c}\"/><text x=\"{}\" y=\"{}\" font-size=\"12\">{}</text>",
            ly + 2.0,
            left + 20.0,
            ly + 7.0,
            esc(&ser.name)
        );
    }
    s.push_str("</svg>");
    s
}

/// One bar: a name and a value, or the reason there is none.
pub struct Bar {
    /// Label.
    pub name: String,
    /// Value when released.
    pub value: Option<f64>,
    /// Text shown instead of a value.
    pub absent: &'static str,
}

/// A horizontal bar chart.
pub fn bars(title: &str, items: &[Bar], unit: &str, decimals: u8) -> String {
    let (w, row, left) = (560.0, 22.0, 130.0);
    let max = items
        .iter()
        .filter_map(|b| b.value)
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let h = row * items.len() as f64 + 8.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>",
        t = esc(title)
    );
    for (i, b) in items.iter().enumerate() {
        let y = 4.0 + row * i as f64;
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"end\">{}</text>",
            left - 6.0,
            y + 14.0,
            esc(&b.name)
        );
        match b.value {
            Some(v) => {
                let len = (w - left - 90.0) * v / max;
                let _ = write!(
                    s,
                    "<rect x=\"{left}\" y=\"{}\" width=\"{len:.1}\" height=\"16\" fill=\"#3182bd\"><title>{} : {} {}</title></rect><text x=\"{:.1}\" y=\"{}\" font-size=\"12\">{}</text>",
                    y + 2.0,
                    esc(&b.name),
                    number(v, decimals),
                    esc(unit),
                    left + len + 4.0,
                    y + 14.0,
                    number(v, decimals)
                );
            }
            None => {
                let _ = write!(
                    s,
                    "<text x=\"{left}\" y=\"{}\" font-size=\"12\" fill=\"#6b3a00\">{}</text>",
                    y + 14.0,
                    b.absent
                );
            }
        }
    }
    s.push_str("</svg>");
    s
}

/// A round upper bound for an axis.
fn nice(max: f64) -> f64 {
    let mag = 10f64.powf(max.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if max <= m * mag {
            return m * mag;
        }
    }
    10.0 * mag
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_carry_values_and_gaps() {
        let periods = vec!["2025-T1".to_string(), "2025-T2".to_string()];
        let svg = lines(
            "Essai",
            &periods,
            &[Series {
                name: "Mayotte".into(),
                values: vec![Some(12.5), None],
            }],
            "‰",
            1,
        );
        assert!(
            svg.contains("<title>Mayotte — 2025-T1 : 12,5 ‰</title>"),
            "{svg}"
        );
        assert!(!svg.contains("2025-T2 :"), "a gap is not drawn as a value");
        let svg = bars(
            "Essai",
            &[Bar {
                name: "Acoua".into(),
                value: None,
                absent: "secret statistique",
            }],
            "foyers",
            0,
        );
        assert!(svg.contains(">secret statistique<"));
        assert_eq!(nice(83.0), 100.0);
        assert_eq!(nice(230.0), 250.0);
    }
}
