//! The hub's address as a node writes it: `HOST:PORT`.

use std::{fmt, str::FromStr};

/// A host name or IP address and a UDP port. Kept as written so the host
/// is also the TLS server name the hub certificate must carry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HubAddr {
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// UDP port.
    pub port: u16,
}

/// Why a hub address could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid hub address {text:?}: {why} (expected HOST:PORT, e.g. hub.deets-mayotte.fr:4433 or [::1]:4433)")]
pub struct AddrError {
    text: String,
    why: &'static str,
}

impl FromStr for HubAddr {
    type Err = AddrError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = |why| AddrError {
            text: text.to_string(),
            why,
        };
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (host, port) = rest
                .split_once("]:")
                .ok_or(err("IPv6 address must be written [ADDR]:PORT"))?;
            host.parse::<std::net::Ipv6Addr>()
                .map_err(|_| err("not an IPv6 address between brackets"))?;
            (host, port)
        } else {
            text.rsplit_once(':').ok_or(err("missing ':PORT'"))?
        };
        if host.is_empty() {
            return Err(err("empty host"));
        }
        if host.contains(':') && !text.starts_with('[') {
            return Err(err("IPv6 address must be written [ADDR]:PORT"));
        }
        if !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b':')
        {
            return Err(err("host contains characters not allowed in a host name"));
        }
        let port: u16 = port
            .parse()
            .map_err(|_| err("port is not a number from 1 to 65535"))?;
        if port == 0 {
            return Err(err("port 0 is not a valid destination"));
        }
        Ok(Self {
            host: host.to_string(),
            port,
        })
    }
}

impl TryFrom<String> for HubAddr {
    type Error = AddrError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<HubAddr> for String {
    fn from(a: HubAddr) -> Self {
        a.to_string()
    }
}

impl fmt::Display for HubAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::HubAddr;

    #[test]
    fn parses_names_and_addresses() {
        let a: HubAddr = "hub.example.org:4433".parse().unwrap();
        assert_eq!((a.host.as_str(), a.port), ("hub.example.org", 4433));
        let b: HubAddr = "[::1]:4433".parse().unwrap();
        assert_eq!(
            (b.host.as_str(), b.to_string().as_str()),
            ("::1", "[::1]:4433")
        );
        for bad in [
            "hub",
            "hub:",
            "hub:0",
            "hub:99999",
            ":4433",
            "::1:4433",
            "hub/x:1",
            "[nope]:1",
        ] {
            let err = bad.parse::<HubAddr>().unwrap_err().to_string();
            assert!(err.contains("expected HOST:PORT"), "{bad}: {err}");
        }
    }
}
