//! GeoJSON boundaries (`boundaries` in `hub.toml`) on any text: a map
//! geometry or a message saying what is wrong, never a panic; every area of
//! a geometry read has a path of finite numbers.

#![no_main]

use libfuzzer_sys::fuzz_target;
use passerelle_portal::map::Geometry;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(g) = Geometry::from_geojson(text, "code") {
        assert!(!g.areas.is_empty());
        assert!(g.width.is_finite() && g.height.is_finite());
        for a in &g.areas {
            assert!(a.path.len() > 1, "{}: empty outline", a.code);
            assert!(
                !a.path.contains("NaN") && !a.path.contains("inf"),
                "{}",
                a.path
            );
        }
    }
});
