//! Charts as server-rendered SVG: a time series and a bar chart. Each is
//! an image with a text title; the page repeats its values in a table.
//! Drawn with `maud::html!`, so every label is escaped.

use std::fmt::Write as _;

use maud::{html, Markup};

use super::layout::{number, CellMark};

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
    /// The cell of each value, written on its point.
    pub marks: Vec<CellMark>,
}

/// Where the line chart draws: its size and its value-to-point mapping.
struct Frame {
    w: f64,
    h: f64,
    left: f64,
    top: f64,
    bottom: f64,
    max: f64,
    step: f64,
    single: bool,
}

impl Frame {
    fn new(periods: usize, series: &[Series]) -> Self {
        let (w, h, left, top, bottom) = (560.0, 300.0, 64.0, 16.0, 40.0);
        let max = series
            .iter()
            .flat_map(|s| s.values.iter().flatten().copied())
            .fold(0.0f64, f64::max);
        let max = if max <= 0.0 { 1.0 } else { nice(max) };
        let step = if periods > 1 {
            (w - left - 40.0) / (periods - 1) as f64
        } else {
            0.0
        };
        Self {
            w,
            h,
            left,
            top,
            bottom,
            max,
            step,
            single: periods == 1,
        }
    }

    fn x(&self, i: usize) -> f64 {
        self.left
            + self.step * i as f64
            + if self.single {
                (self.w - self.left) / 2.0
            } else {
                0.0
            }
    }

    fn y(&self, v: f64) -> f64 {
        self.top + (self.h - self.top - self.bottom) * (1.0 - v / self.max)
    }

    /// SVG path data of a series, lifting the pen over gaps.
    fn path(&self, values: &[Option<f64>]) -> String {
        let mut d = String::new();
        let mut pen = false;
        for (i, v) in values.iter().enumerate() {
            match v {
                Some(v) => {
                    let _ = write!(
                        d,
                        "{}{:.1} {:.1}",
                        if pen { "L" } else { "M" },
                        self.x(i),
                        self.y(*v)
                    );
                    pen = true;
                }
                None => pen = false,
            }
        }
        d
    }
}

/// A line chart of several series over the same periods.
pub fn lines(
    title: &str,
    periods: &[String],
    series: &[Series],
    unit: &str,
    decimals: u8,
) -> Markup {
    let f = Frame::new(periods.len(), series);
    let legend_h = 20.0 * series.len() as f64;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (f.w) " " (f.h + legend_h) }
            role="img" aria-label=(title) {
            title { (title) }
            @for k in 0..=4 {
                @let v = f.max * f64::from(k) / 4.0;
                line x1=(f.left) x2=(f.w - 8.0) y1=(f.y(v)) y2=(f.y(v)) stroke="#d8dee4" {}
                text x=(f.left - 6.0) y=(f.y(v) + 4.0) font-size="11" text-anchor="end" {
                    (number(v, decimals.min(1)))
                }
            }
            @for (i, p) in periods.iter().enumerate() {
                text x=(f.x(i)) y=(f.h - f.bottom + 18.0) font-size="11" text-anchor="middle" { (p) }
            }
            @for (n, ser) in series.iter().enumerate() {
                (line(&f, n, ser, periods, unit, decimals))
            }
        }
    }
}

/// One series of the line chart: its line, a point per value, its legend.
fn line(f: &Frame, n: usize, ser: &Series, periods: &[String], unit: &str, decimals: u8) -> Markup {
    let c = COLOURS[n % COLOURS.len()];
    let ly = f.h + 20.0 * n as f64;
    html! {
        path d=(f.path(&ser.values)) fill="none" stroke=(c) stroke-width="2.5" {}
        @for (i, v) in ser.values.iter().enumerate() {
            @if let Some(v) = v {
                @let m = ser.marks.get(i);
                circle cx=(format_args!("{:.1}", f.x(i))) cy=(format_args!("{:.1}", f.y(*v)))
                    r="3.5" fill=(c)
                    data-indicator=[m.map(|m| &m.indicator)] data-level=[m.map(|m| m.level)]
                    data-code=[m.map(|m| &m.code)] data-period=[m.map(|m| &m.period)] {
                    title { (ser.name) " — " (periods[i]) " : " (number(*v, decimals)) " " (unit) }
                }
            }
        }
        rect x=(f.left) y=(ly + 2.0) width="14" height="4" fill=(c) {}
        text x=(f.left + 20.0) y=(ly + 7.0) font-size="12" { (ser.name) }
    }
}

/// One bar: a name and a value, or the reason there is none.
pub struct Bar {
    /// Label.
    pub name: String,
    /// Value when released.
    pub value: Option<f64>,
    /// Text shown instead of a value.
    pub absent: &'static str,
    /// The cell it shows, written on its bar and its figure.
    pub mark: CellMark,
}

/// A horizontal bar chart.
pub fn bars(title: &str, items: &[Bar], unit: &str, decimals: u8) -> Markup {
    let (w, row, left) = (560.0, 22.0, 130.0);
    let max = items
        .iter()
        .filter_map(|b| b.value)
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let h = row * items.len() as f64 + 8.0;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (w) " " (h) } role="img" aria-label=(title) {
            title { (title) }
            @for (i, b) in items.iter().enumerate() {
                @let y = 4.0 + row * i as f64;
                text x=(left - 6.0) y=(y + 14.0) font-size="12" text-anchor="end" { (b.name) }
                @match b.value {
                    Some(v) => {
                        @let len = (w - left - 90.0) * v / max;
                        @let m = &b.mark;
                        rect x=(left) y=(y + 2.0) width=(format_args!("{len:.1}")) height="16" fill="#3182bd"
                            data-indicator=(m.indicator) data-level=(m.level) data-code=(m.code)
                            data-period=(m.period) data-category=[m.category.as_deref()] {
                            title { (b.name) " : " (number(v, decimals)) " " (unit) }
                        }
                        text x=(format_args!("{:.1}", left + len + 4.0)) y=(y + 14.0) font-size="12"
                            data-indicator=(m.indicator) data-level=(m.level) data-code=(m.code)
                            data-period=(m.period) data-category=[m.category.as_deref()] {
                            (number(v, decimals))
                        }
                    }
                    None => {
                        text x=(left) y=(y + 14.0) font-size="12" fill="#6b3a00" { (b.absent) }
                    }
                }
            }
        }
    }
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
                marks: Vec::new(),
            }],
            "‰",
            1,
        )
        .into_string();
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
                mark: CellMark::default(),
            }],
            "foyers",
            0,
        )
        .into_string();
        assert!(svg.contains(">secret statistique<"));
        assert_eq!(nice(83.0), 100.0);
        assert_eq!(nice(230.0), 250.0);
    }
}
