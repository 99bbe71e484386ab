//! The catalog shipped with the hub, one file per theme group.

/// File name and text of each shipped catalog file.
pub const FILES: &[(&str, &str)] = &[
    (
        "observatoire.toml",
        include_str!("../../catalog/observatoire.toml"),
    ),
    ("activite.toml", include_str!("../../catalog/activite.toml")),
];
