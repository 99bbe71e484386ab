//! `[upstream]` in `hub.toml`: a regional hub enrolled as a node of a
//! national hub (hub of hubs). It keeps a link to the national hub and
//! answers its aggregate queries from its own published results.

use std::time::Duration;

use passerelle_protocol::geo::Level;
use serde::{Deserialize, Serialize};

use crate::HubAddr;

/// The national hub this hub answers, as a node of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// The national hub's QUIC address (`host:port`).
    pub hub: HubAddr,
    /// Levels whose published cells the national hub may receive.
    #[serde(default = "all_levels")]
    pub levels: Vec<Level>,
    /// First delay before reconnecting to the national hub.
    #[serde(with = "humantime_serde", default = "reconnect_min")]
    pub reconnect_min: Duration,
    /// Longest delay between reconnection attempts.
    #[serde(with = "humantime_serde", default = "reconnect_max")]
    pub reconnect_max: Duration,
    /// Largest accepted difference between the national hub's clock and
    /// this hub's, for the queries it signs.
    #[serde(with = "humantime_serde", default = "clock_window")]
    pub clock_window: Duration,
}

fn all_levels() -> Vec<Level> {
    Level::ALL.to_vec()
}

fn reconnect_min() -> Duration {
    Duration::from_millis(500)
}

fn reconnect_max() -> Duration {
    Duration::from_secs(30)
}

fn clock_window() -> Duration {
    Duration::from_secs(300)
}

impl UpstreamConfig {
    /// The settings for a national hub at `hub`, with the defaults.
    pub fn new(hub: HubAddr) -> Self {
        Self {
            hub,
            levels: all_levels(),
            reconnect_min: reconnect_min(),
            reconnect_max: reconnect_max(),
            clock_window: clock_window(),
        }
    }
}

/// The section as `hub.toml` writes it (commented out when absent).
pub fn template(upstream: Option<&UpstreamConfig>) -> String {
    let head = r#"
# Hub of hubs: this hub enrolled as a node of a national hub
# (`passerelle-hub upstream enroll --hub ADDR --token T` writes this
# section and keeps the identity in upstream/). It answers the national
# hub's aggregate queries from its published results only, at these
# levels. (Dotted keys: the same as an [upstream] table.)
"#;
    let h = crate::human_duration;
    match upstream {
        None => format!("{head}# upstream.hub = \"national.example.fr:4433\"\n# upstream.levels = [\"department\"]\n"),
        Some(u) => format!(
            "{head}upstream.hub = \"{hub}\"\nupstream.levels = [{levels}]\nupstream.reconnect_min = \"{min}\"\nupstream.reconnect_max = \"{max}\"\nupstream.clock_window = \"{window}\"\n",
            hub = u.hub,
            levels = u
                .levels
                .iter()
                .map(|l| format!("\"{}\"", l.as_str()))
                .collect::<Vec<_>>()
                .join(", "),
            min = h(u.reconnect_min),
            max = h(u.reconnect_max),
            window = h(u.clock_window),
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::HubConfig;

    #[test]
    fn the_upstream_section_reads_back_as_written() {
        let mut c = HubConfig::default();
        let path = std::path::Path::new("hub.toml");
        assert_eq!(HubConfig::parse_str(path, &c.template()).unwrap(), c);
        let mut u = super::UpstreamConfig::new("national.example.fr:4433".parse().unwrap());
        u.levels = vec![passerelle_protocol::geo::Level::Department];
        c.upstream = Some(u);
        assert_eq!(HubConfig::parse_str(path, &c.template()).unwrap(), c);
    }
}
