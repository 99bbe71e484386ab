//! A small log-log SVG chart for benchmark figures (time against N), with
//! horizontal floor lines. Standalone: benchmarks write it to a file that
//! BENCHMARKS.md shows.

use std::fmt::Write;

const W: f64 = 640.0;
const H: f64 = 400.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;

fn decades(lo: f64, hi: f64) -> (f64, f64) {
    (
        lo.log10().floor(),
        hi.log10().ceil().max(lo.log10().floor() + 1.0),
    )
}

/// A chart of `median` and `p99` (x = nodes, y = milliseconds) on log
/// scales, with the two floors (milliseconds) as horizontal lines.
pub fn loglog(
    title: &str,
    median: &[(f64, f64)],
    p99: &[(f64, f64)],
    signed_floor: f64,
    bare_floor: f64,
) -> String {
    let xs = median.iter().map(|p| p.0);
    let (x0, x1) = decades(
        xs.clone().fold(f64::MAX, f64::min).max(1.0),
        xs.fold(1.0, f64::max),
    );
    let ys = median
        .iter()
        .chain(p99)
        .map(|p| p.1)
        .chain([signed_floor, bare_floor]);
    let (y0, y1) = decades(
        ys.clone().fold(f64::MAX, f64::min).max(1e-3),
        ys.fold(1e-3, f64::max),
    );
    let px = |x: f64| LEFT + (x.max(1e-9).log10() - x0) / (x1 - x0) * (W - LEFT - RIGHT);
    let py = |y: f64| H - BOTTOM - (y.max(1e-9).log10() - y0) / (y1 - y0) * (H - TOP - BOTTOM);
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#fff"/>
<text x="{LEFT}" y="22" font-size="14">{title}</text>
"##
    );
    for d in (x0 as i32)..=(x1 as i32) {
        let x = px(10f64.powi(d));
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            H - BOTTOM,
            H - BOTTOM + 16.0,
            10u64.pow(d as u32)
        );
    }
    for d in (y0 as i32)..=(y1 as i32) {
        let y = py(10f64.powi(d));
        let label = 10f64.powi(d);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{label} ms</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0
        );
    }
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle">nœuds (N)</text>"##,
        (LEFT + W - RIGHT) / 2.0,
        H - 12.0
    );
    let series = |pts: &[(f64, f64)], color: &str, dash: &str| {
        let mut out = String::new();
        let path: Vec<String> = pts
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
            .collect();
        let _ = writeln!(
            out,
            r##"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2" stroke-dasharray="{dash}"/>"##,
            path.join(" ")
        );
        for &(x, y) in pts {
            let _ = writeln!(
                out,
                r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{color}"/>"##,
                px(x),
                py(y)
            );
        }
        out
    };
    s.push_str(&series(median, "#1f5fa8", ""));
    s.push_str(&series(p99, "#c0392b", "5,3"));
    for (v, color) in [(signed_floor, "#27ae60"), (bare_floor, "#7f8c8d")] {
        let y = py(v);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{color}" stroke-dasharray="2,3"/>"##,
            W - RIGHT
        );
    }
    let legend = [
        ("#1f5fa8", "médiane"),
        ("#c0392b", "99e centile"),
        ("#27ae60", "plancher : requête signée"),
        ("#7f8c8d", "plancher : QUIC nu"),
    ];
    for (i, (color, label)) in legend.iter().enumerate() {
        let y = TOP + 10.0 + i as f64 * 18.0;
        let x = W - RIGHT + 10.0;
        let _ = writeln!(
            s,
            r##"<rect x="{x:.1}" y="{:.1}" width="10" height="10" fill="{color}"/><text x="{:.1}" y="{:.1}" font-size="10">{label}</text>"##,
            y - 9.0,
            x + 14.0,
            y
        );
    }
    s.push_str("</svg>\n");
    s
}
