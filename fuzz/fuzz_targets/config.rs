//! The config loaders on any text: `hub.toml` and `node.toml` parsed and
//! checked as `load` does once the file is read. A config or a list of
//! problems, never a panic; a valid config's template parses back.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use passerelle_config::{HubConfig, NodeConfig};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match HubConfig::parse_str(Path::new("hub.toml"), text) {
        Ok(c) => drop(c.template()),
        Err(e) => drop(e.to_string()),
    }
    match NodeConfig::parse_str(Path::new("node.toml"), text) {
        Ok(c) => drop(c.template()),
        Err(e) => drop(e.to_string()),
    }
});
