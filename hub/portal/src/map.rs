//! Choropleth maps as server-rendered SVG.
//!
//! Geometry comes from a GeoJSON FeatureCollection keyed by INSEE code
//! (`boundaries` in `hub.toml`), projected and simplified here, or from the
//! schematic tile map shipped with the hub: one tile per commune, placed
//! roughly where the commune lies, tiles of an EPCI sharing a border
//! colour. At the EPCI level each commune takes its EPCI's value.

use std::fmt::Write as _;

use passerelle_protocol::geo::{self, Level};

use maud::{html, Markup};

use super::layout::{number, CellMark};
use passerelle_observatory::compose::Status;

/// One commune's outline.
#[derive(Debug, Clone)]
pub struct Area {
    /// INSEE code.
    pub code: String,
    /// SVG path data.
    pub path: String,
}

/// A closed ring of (longitude, latitude) points.
type Ring = Vec<(f64, f64)>;

/// The map's geometry.
#[derive(Debug, Clone)]
pub struct Geometry {
    /// View box width.
    pub width: f64,
    /// View box height.
    pub height: f64,
    /// Communes.
    pub areas: Vec<Area>,
    /// Whether this is the built-in schematic map.
    pub schematic: bool,
}

/// Grid positions (column, row) of the schematic tiles, by INSEE code.
const TILES: [(&str, u8, u8); 17] = [
    ("97612", 1, 0),
    ("97602", 2, 0),
    ("97601", 0, 1),
    ("97613", 1, 1),
    ("97610", 2, 1),
    ("97617", 1, 2),
    ("97611", 2, 2),
    ("97608", 4, 2),
    ("97605", 0, 3),
    ("97614", 1, 3),
    ("97607", 2, 3),
    ("97615", 4, 3),
    ("97616", 0, 4),
    ("97606", 1, 4),
    ("97603", 2, 4),
    ("97604", 0, 5),
    ("97609", 1, 5),
];

const TILE: f64 = 86.0;
const GAP: f64 = 6.0;

impl Geometry {
    /// The schematic tile map shipped with the hub.
    pub fn schematic() -> Self {
        let areas = TILES
            .iter()
            .map(|(code, col, row)| {
                let (x, y) = (
                    f64::from(*col) * (TILE + GAP) + GAP,
                    f64::from(*row) * (TILE + GAP) + GAP,
                );
                Area {
                    code: (*code).into(),
                    path: format!("M{x} {y}h{TILE}v{TILE}h-{TILE}z"),
                }
            })
            .collect();
        Self {
            width: 5.0 * (TILE + GAP) + GAP,
            height: 6.0 * (TILE + GAP) + GAP,
            areas,
            schematic: true,
        }
    }

    /// Reads a GeoJSON FeatureCollection whose features carry the INSEE
    /// code in property `code_property`; polygons and multipolygons.
    ///
    /// # Errors
    /// What is wrong with the file, naming the feature.
    pub fn from_geojson(text: &str, code_property: &str) -> Result<Self, String> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let features = v["features"]
            .as_array()
            .ok_or("not a FeatureCollection (no \"features\" array)")?;
        let mut polys: Vec<(String, Vec<Ring>)> = Vec::new();
        for (i, f) in features.iter().enumerate() {
            if let Some(poly) = feature_rings(i, f, code_property)? {
                polys.push(poly);
            }
        }
        if polys.is_empty() {
            return Err(format!(
                "no feature has a Mayotte INSEE code (97601 to 97617) in property {code_property:?}"
            ));
        }
        Ok(Self::projected(polys))
    }

    /// Projects (longitude, latitude) rings to a 480-wide view box, one
    /// simplified path per commune.
    fn projected(polys: Vec<(String, Vec<Ring>)>) -> Self {
        let all = polys.iter().flat_map(|(_, p)| p.iter().flatten());
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in all {
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
        }
        let kx = ((y0 + y1) / 2.0).to_radians().cos();
        let width = 480.0;
        let scale = width / ((x1 - x0) * kx).max(1e-9);
        let height = (y1 - y0) * scale;
        let areas = polys
            .into_iter()
            .map(|(code, rings)| {
                let mut path = String::new();
                for ring in rings {
                    let mut last: Option<(f64, f64)> = None;
                    for (n, (x, y)) in ring.into_iter().enumerate() {
                        let p = ((x - x0) * kx * scale, (y1 - y) * scale);
                        // Simplify: skip points closer than a pixel to the last kept one.
                        if let Some(l) = last {
                            if (p.0 - l.0).abs() < 1.2 && (p.1 - l.1).abs() < 1.2 {
                                continue;
                            }
                        }
                        let _ = write!(
                            path,
                            "{}{:.1} {:.1}",
                            if n == 0 { "M" } else { "L" },
                            p.0,
                            p.1
                        );
                        last = Some(p);
                    }
                    path.push('z');
                }
                Area { code, path }
            })
            .collect();
        Self {
            width,
            height: height.ceil(),
            areas,
            schematic: false,
        }
    }
}

/// The INSEE code and rings of feature `i`; `None` for another
/// territory's commune, which is not drawn.
fn feature_rings(
    i: usize,
    f: &serde_json::Value,
    code_property: &str,
) -> Result<Option<(String, Vec<Ring>)>, String> {
    let code = f["properties"][code_property]
        .as_str()
        .map(String::from)
        .or_else(|| {
            f["properties"][code_property]
                .as_u64()
                .map(|n| n.to_string())
        })
        .ok_or_else(|| format!("feature {i} has no property {code_property:?}"))?;
    if geo::commune_index(&code).is_none() {
        return Ok(None);
    }
    let g = &f["geometry"];
    let rings: Vec<&serde_json::Value> = match g["type"].as_str() {
        Some("Polygon") => g["coordinates"].as_array().into_iter().flatten().collect(),
        Some("MultiPolygon") => g["coordinates"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_array())
            .flatten()
            .collect(),
        other => {
            return Err(format!(
                "feature {i} ({code}): geometry type {other:?} is not a polygon"
            ))
        }
    };
    let mut out = Vec::new();
    for ring in rings {
        let pts: Vec<(f64, f64)> = ring
            .as_array()
            .ok_or_else(|| format!("feature {i} ({code}): malformed ring"))?
            .iter()
            .filter_map(|p| Some((p.get(0)?.as_f64()?, p.get(1)?.as_f64()?)))
            .collect();
        // Out of range, a point would stretch the projection to infinity.
        if !pts
            .iter()
            .all(|(x, y)| (-180.0..=180.0).contains(x) && (-90.0..=90.0).contains(y))
        {
            return Err(format!(
                "feature {i} ({code}): a point is not a longitude and a latitude in degrees"
            ));
        }
        if pts.len() >= 3 {
            out.push(pts);
        }
    }
    // Without a ring the commune would vanish from the map, silently.
    if out.is_empty() {
        return Err(format!(
            "feature {i} ({code}): no ring of 3 points or more in its coordinates"
        ));
    }
    Ok(Some((code, out)))
}

/// Five blues, light to dark (ColorBrewer "Blues", colour-blind safe).
const PALETTE: [&str; 5] = ["#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c"];

/// Quantile class breaks (upper bounds) of the released values.
pub fn breaks(values: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    if v.is_empty() {
        return Vec::new();
    }
    let classes = v.len().min(PALETTE.len());
    (1..=classes)
        .map(|k| v[(k * v.len()).div_ceil(classes) - 1])
        .collect()
}

/// One unit's value on the map.
#[derive(Debug, Clone)]
pub struct MapValue {
    /// Unit code at the map's level.
    pub code: String,
    /// Value, when released.
    pub value: Option<f64>,
    /// Status.
    pub status: Status,
    /// The cell it shows, written on each of the unit's areas.
    pub mark: CellMark,
}

/// Renders a choropleth at `level` (commune or EPCI).
pub fn choropleth(
    g: &Geometry,
    level: Level,
    values: &[MapValue],
    unit: &str,
    decimals: u8,
    title: &str,
) -> Markup {
    let released: Vec<f64> = values.iter().filter_map(|v| v.value).collect();
    let shading = Shading {
        level,
        values,
        breaks: breaks(&released),
        unit,
        decimals,
    };
    let legend_h = 24.0 * (shading.breaks.len() as f64 + 2.0) + 10.0;
    let schematic_note = if g.schematic {
        " Carte schématique : une case par commune, placée approximativement."
    } else {
        ""
    };
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (g.width) " " (g.height + legend_h) }
            role="img" aria-labelledby="carte-titre carte-desc" {
            title #carte-titre { (title) }
            desc #carte-desc {
                "Carte par " (level.label_fr())
                ". Les valeurs figurent aussi dans le tableau sous la carte." (schematic_note)
            }
            defs {
                pattern #hachures patternUnits="userSpaceOnUse" width="7" height="7"
                    patternTransform="rotate(45)" {
                    rect width="7" height="7" fill="#fff" {}
                    line x1="0" y1="0" x2="0" y2="7" stroke="#8a5a00" stroke-width="2.5" {}
                }
            }
            @for a in &g.areas {
                @if let Some(ci) = geo::commune_index(&a.code) {
                    (shading.area(g, a, ci))
                }
            }
            (shading.legend(g.height, &released))
        }
    }
}

/// How a map colours its units: the values at its level and their
/// class breaks.
struct Shading<'a> {
    level: Level,
    values: &'a [MapValue],
    breaks: Vec<f64>,
    unit: &'a str,
    decimals: u8,
}

impl Shading<'_> {
    /// The class (palette index) of a released value.
    fn class(&self, x: f64) -> usize {
        self.breaks
            .iter()
            .position(|b| x <= *b)
            .unwrap_or(self.breaks.len().saturating_sub(1))
    }

    /// One commune's shape, coloured by its unit's value, and on the
    /// schematic map its name.
    fn area(&self, g: &Geometry, a: &Area, ci: usize) -> Markup {
        let unit_code = geo::parent_code(ci, self.level);
        let v = self.values.iter().find(|v| v.code == unit_code);
        let (fill, label) = match v {
            Some(MapValue { value: Some(x), .. }) => (
                PALETTE[self.class(*x)],
                format!("{} {}", number(*x, self.decimals), self.unit),
            ),
            Some(MapValue {
                status: Status::Suppressed,
                ..
            }) => (
                "url(#hachures)",
                "secret statistique (chiffre masqué)".to_string(),
            ),
            _ => ("#e6e6e6", "non disponible".to_string()),
        };
        let name = geo::name(self.level, unit_code).unwrap_or(unit_code);
        let commune = geo::COMMUNES[ci].name;
        let stroke = if g.schematic {
            ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e"][geo::COMMUNES[ci].epci]
        } else {
            "#ffffff"
        };
        let dark = matches!(v, Some(MapValue { value: Some(x), .. }) if self.class(*x) >= 3);
        html! {
            @let m = v.map(|v| &v.mark);
            path d=(a.path) fill=(fill) stroke=(stroke)
                stroke-width=(if g.schematic { 3 } else { 1 })
                data-indicator=[m.map(|m| &m.indicator)] data-level=[m.map(|m| m.level)]
                data-code=[m.map(|m| &m.code)] data-period=[m.map(|m| &m.period)] {
                title {
                    (name)
                    @if self.level != Level::Commune { " (" (commune) ")" }
                    " : " (label)
                }
            }
            @if g.schematic {
                @let (x, y) = tile_origin(&a.code);
                text x=(x + TILE / 2.0) y=(y + TILE / 2.0 + 4.0) font-size="11" text-anchor="middle"
                    fill=(if dark { "#fff" } else { "#1b1b1b" }) aria-hidden="true" { (short(commune)) }
            }
        }
    }

    /// The legend under the map, from `top`: one swatch per class, then
    /// the hatched (masked) and grey (missing) swatches.
    fn legend(&self, top: f64, released: &[f64]) -> Markup {
        let row = |i: usize| top + 18.0 + 24.0 * i as f64;
        let lowest = released.iter().copied().fold(f64::INFINITY, f64::min);
        let n = self.breaks.len();
        html! {
            @for (i, b) in self.breaks.iter().enumerate() {
                @let lo = if i == 0 { lowest } else { self.breaks[i - 1] };
                (swatch(row(i), PALETTE[i], html! {
                    "de " (number(lo, self.decimals)) " à " (number(*b, self.decimals)) " " (self.unit)
                }))
            }
            (swatch(row(n), "url(#hachures)", html! { "secret statistique (chiffre masqué)" }))
            (swatch(row(n + 1), "#e6e6e6", html! { "non disponible" }))
        }
    }
}

/// One legend entry: a coloured square and its text.
fn swatch(y: f64, fill: &str, label: Markup) -> Markup {
    html! {
        rect x="8" y=(y) width="18" height="14" fill=(fill) stroke="#555" {}
        text x="32" y=(y + 11.0) font-size="12" { (label) }
    }
}

fn tile_origin(code: &str) -> (f64, f64) {
    let (_, col, row) = TILES
        .iter()
        .find(|(c, _, _)| *c == code)
        .copied()
        .unwrap_or(("", 0, 0));
    (
        f64::from(col) * (TILE + GAP) + GAP,
        f64::from(row) * (TILE + GAP) + GAP,
    )
}

fn short(name: &str) -> &str {
    match name {
        "M'Tsangamouji" => "M'Tsanga.",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(code: &str, value: Option<f64>, status: Status) -> MapValue {
        MapValue {
            code: code.into(),
            value,
            status,
            mark: CellMark::default(),
        }
    }

    #[test]
    fn schematic_map_colours_hatches_and_labels() {
        let g = Geometry::schematic();
        assert_eq!(g.areas.len(), 17);
        let values = vec![
            v("97611", Some(120.0), Status::Released),
            v("97601", None, Status::Suppressed),
            v("97602", Some(15.0), Status::Released),
        ];
        let svg = choropleth(&g, Level::Commune, &values, "foyers", 0, "Test").into_string();
        assert!(
            svg.contains("<title>Mamoudzou : 120 foyers</title>"),
            "{svg}"
        );
        assert!(svg.contains("<title>Acoua : secret statistique (chiffre masqué)</title>"));
        assert!(svg.contains("fill=\"url(#hachures)\""));
        assert!(svg.contains("<title>Koungou : non disponible</title>"));
        // Inside HTML, an SVG element left unclosed swallows what follows.
        for tag in ["rect", "line", "path", "text"] {
            assert_eq!(
                svg.matches(&["<", tag, " "].concat()).count(),
                svg.matches(&["</", tag, ">"].concat()).count(),
                "every <{tag}> is closed"
            );
        }
        // EPCI level: a commune shows its EPCI's value.
        let epci = vec![v("200060457", Some(33.0), Status::Released)];
        let svg = choropleth(&g, Level::Epci, &epci, "‰", 1, "Test").into_string();
        assert!(
            svg.contains("<title>CA de Dembéni-Mamoudzou (Mamoudzou) : 33,0 ‰</title>"),
            "{svg}"
        );
    }

    #[test]
    fn quantile_breaks() {
        assert_eq!(breaks(&[]), Vec::<f64>::new());
        assert_eq!(breaks(&[5.0, 5.0]), vec![5.0]);
        assert_eq!(
            breaks(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]),
            vec![2.0, 4.0, 6.0, 8.0, 10.0]
        );
    }

    #[test]
    fn geojson_is_read_and_bad_files_are_named() {
        let text = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"code":"97611","nom":"Mamoudzou"},"geometry":{"type":"Polygon","coordinates":[[[45.2,-12.8],[45.25,-12.8],[45.25,-12.75],[45.2,-12.8]]]}},
            {"type":"Feature","properties":{"code":"75056"},"geometry":{"type":"Polygon","coordinates":[[[2.3,48.8],[2.4,48.8],[2.4,48.9],[2.3,48.8]]]}}]}"#;
        let g = Geometry::from_geojson(text, "code").unwrap();
        assert_eq!(g.areas.len(), 1);
        assert!(g.areas[0].path.starts_with('M') && g.areas[0].path.ends_with('z'));
        assert!(Geometry::from_geojson(text, "insee")
            .unwrap_err()
            .contains("feature 0 has no property \"insee\""));
        assert!(Geometry::from_geojson("{}", "code")
            .unwrap_err()
            .contains("FeatureCollection"));
    }

    /// Found by the `geojson` fuzz target: a commune whose geometry had no
    /// `coordinates` was read as an empty outline and left off the map
    /// without a word. Points far out of range (1e308 and -1e308: an
    /// infinite span, a zero scale) made paths of `NaN`.
    #[test]
    fn a_commune_without_rings_or_with_impossible_points_is_named() {
        let without = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"code":"97611"},"geometry":{"type":"Polygon","koordinates":[]}}]}"#;
        assert!(Geometry::from_geojson(without, "code")
            .unwrap_err()
            .contains("feature 0 (97611): no ring"));
        let far = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"code":"97611"},"geometry":{"type":"Polygon","coordinates":[[[45.2,-12.8],[1e308,-12.8],[-1e308,-12.75],[45.2,-12.8]]]}}]}"#;
        assert!(Geometry::from_geojson(far, "code")
            .unwrap_err()
            .contains("feature 0 (97611): a point is not a longitude"));
    }
}
