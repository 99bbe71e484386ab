//! Connection caps of the HTTP server: how many connections are open at
//! once, in all and per client address. A connection over a cap is closed
//! as soon as it is accepted, before any TLS or HTTP work.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex, PoisonError},
};

/// How many connections the server keeps open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caps {
    /// Connections open at once, all clients together.
    pub total: usize,
    /// Connections open at once from one address (IPv6: one /64, which a
    /// single subscriber usually holds).
    pub per_address: usize,
    /// Peers that only the total cap applies to: a reverse proxy carries
    /// every client's connections from its one address.
    pub unlimited: Vec<IpAddr>,
}

impl Default for Caps {
    fn default() -> Self {
        Self {
            total: 1024,
            per_address: 64,
            unlimited: Vec::new(),
        }
    }
}

/// Why a connection was closed at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// [`Caps::total`] connections are open.
    ServerFull,
    /// [`Caps::per_address`] connections are open from this address.
    AddressFull,
}

/// The open connections, counted against [`Caps`].
#[derive(Debug)]
pub struct Admission {
    caps: Caps,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub struct Slot {
    admission: Arc<Admission>,
    /// The address counted, when the per-address cap applies.
    key: Option<IpAddr>,
}

impl Admission {
    /// No connection open yet.
    pub fn new(caps: Caps) -> Arc<Self> {
        Arc::new(Self {
            caps,
            open: Mutex::default(),
        })
    }

    /// Takes a place for a connection from `peer`.
    ///
    /// # Errors
    /// The cap that is reached; nothing is counted then.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Slot, Refusal> {
        let key = (!self.caps.unlimited.contains(&peer)).then(|| address_key(peer));
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.total >= self.caps.total {
            return Err(Refusal::ServerFull);
        }
        if let Some(k) = key {
            let n = open.per_address.entry(k).or_default();
            if *n >= self.caps.per_address {
                return Err(Refusal::AddressFull);
            }
            *n += 1;
        }
        open.total += 1;
        Ok(Slot {
            admission: self.clone(),
            key,
        })
    }

    /// Connections open now: in all, and from `peer`'s address.
    pub fn open(&self, peer: IpAddr) -> (usize, usize) {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let from = open
            .per_address
            .get(&address_key(peer))
            .copied()
            .unwrap_or(0);
        (open.total, from)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .admission
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        open.total = open.total.saturating_sub(1);
        if let Some(k) = self.key {
            if let Some(n) = open.per_address.get_mut(&k) {
                *n -= 1;
                if *n == 0 {
                    open.per_address.remove(&k);
                }
            }
        }
    }
}

/// The address a client is counted under: IPv4 as is, IPv6 by its /64
/// (one subscriber usually holds a whole /64). The web applications' rate
/// limits key clients the same way.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            let mut o = v6.octets();
            o[8..].fill(0);
            IpAddr::V6(o.into())
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn caps_hold_and_places_come_back() {
        let a = Admission::new(Caps {
            total: 3,
            per_address: 2,
            unlimited: vec![ip("10.0.0.9")],
        });
        let one = a.admit(ip("10.0.0.1")).unwrap();
        let _two = a.admit(ip("10.0.0.1")).unwrap();
        assert_eq!(a.admit(ip("10.0.0.1")).unwrap_err(), Refusal::AddressFull);
        let _proxy = a.admit(ip("10.0.0.9")).unwrap();
        assert_eq!(a.admit(ip("10.0.0.2")).unwrap_err(), Refusal::ServerFull);
        drop(one);
        assert_eq!(a.open(ip("10.0.0.1")), (2, 1));
        a.admit(ip("10.0.0.1")).unwrap();
        assert_eq!(a.open(ip("10.0.0.1")), (2, 1), "the slot was dropped");
    }

    #[test]
    fn an_ipv6_subscriber_is_counted_by_its_64() {
        let a = Admission::new(Caps {
            total: 10,
            per_address: 1,
            unlimited: Vec::new(),
        });
        let _s = a.admit(ip("2001:db8::1")).unwrap();
        assert_eq!(
            a.admit(ip("2001:db8::2")).unwrap_err(),
            Refusal::AddressFull
        );
        a.admit(ip("2001:db8:0:1::1")).unwrap();
    }

    #[test]
    fn the_proxy_is_held_by_the_total_only() {
        let a = Admission::new(Caps {
            total: 2,
            per_address: 1,
            unlimited: vec![ip("127.0.0.1")],
        });
        let _a = a.admit(ip("127.0.0.1")).unwrap();
        let _b = a.admit(ip("127.0.0.1")).unwrap();
        assert_eq!(a.admit(ip("127.0.0.1")).unwrap_err(), Refusal::ServerFull);
    }
}
