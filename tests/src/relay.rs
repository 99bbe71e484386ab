//! A fault-injecting UDP relay, in-process, to put between a node and the
//! hub: it forwards datagrams both ways and can lose, delay, reorder and
//! duplicate them, or cut the link altogether.
//!
//! Every decision comes from a seeded generator, one per direction, drawn
//! in datagram order: the same seed gives the same fate to the n-th
//! datagram of each direction, so a failing run can be replayed (the
//! timing of the programs on either side may still differ between runs).
//!
//! The relay serves one client at a time: the node's latest address
//! (a reconnection comes from a new port).

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use tokio::net::UdpSocket;

/// What the relay does to each datagram (the same both ways).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    /// Share of datagrams dropped, 0.0 to 1.0.
    pub loss: f64,
    /// Share of datagrams sent twice.
    pub duplicate: f64,
    /// Share of datagrams held back long enough for later ones to pass.
    pub reorder: f64,
    /// Delay added to every datagram.
    pub delay: Duration,
    /// A further delay drawn evenly between zero and this.
    pub jitter: Duration,
}

impl Faults {
    /// A clean link.
    pub const NONE: Self = Self {
        loss: 0.0,
        duplicate: 0.0,
        reorder: 0.0,
        delay: Duration::ZERO,
        jitter: Duration::ZERO,
    };
}

/// Counts of what the relay did, both directions together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Datagrams received.
    pub received: u64,
    /// Dropped as lost.
    pub lost: u64,
    /// Dropped because the link was cut.
    pub cut: u64,
    /// Sent twice.
    pub duplicated: u64,
    /// Held back for reordering.
    pub reordered: u64,
}

#[derive(Default)]
struct Counters {
    received: AtomicU64,
    lost: AtomicU64,
    cut: AtomicU64,
    duplicated: AtomicU64,
    reordered: AtomicU64,
}

struct Shared {
    cut: AtomicBool,
    faults: Mutex<Faults>,
    counters: Counters,
}

/// A running relay; stops when dropped.
pub struct Relay {
    /// Where the node should send (the relay's front).
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    /// Starts a relay to `target` on a free loopback port, with a clean
    /// link and the generator seeded with `seed`.
    ///
    /// # Panics
    /// When loopback sockets cannot be bound.
    pub async fn start(target: SocketAddr, seed: u64) -> Self {
        let front = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("relay front"));
        let back = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("relay back"));
        back.connect(target).await.expect("relay target");
        let addr = front.local_addr().expect("relay address");
        let shared = Arc::new(Shared {
            cut: AtomicBool::new(false),
            faults: Mutex::new(Faults::NONE),
            counters: Counters::default(),
        });
        let task = tokio::spawn(forward(front, back, shared.clone(), seed));
        Self { addr, shared, task }
    }

    /// Cuts the link (every datagram dropped, both ways) or restores it.
    pub fn cut(&self, cut: bool) {
        self.shared.cut.store(cut, Ordering::SeqCst);
    }

    /// Sets what happens to the datagrams from now on.
    pub fn set_faults(&self, faults: Faults) {
        *self.shared.faults.lock().expect("faults") = faults;
    }

    /// What the relay has done so far.
    pub fn stats(&self) -> Stats {
        let c = &self.shared.counters;
        Stats {
            received: c.received.load(Ordering::Relaxed),
            lost: c.lost.load(Ordering::Relaxed),
            cut: c.cut.load(Ordering::Relaxed),
            duplicated: c.duplicated.load(Ordering::Relaxed),
            reordered: c.reordered.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// SplitMix64: small, seedable, good enough to draw fates (here and in
/// the fault suite's choice of when to kill).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The fate of one datagram: dropped, or sent after these delays (one
/// per copy).
fn fate(rng: &mut Rng, f: &Faults, c: &Counters) -> Vec<Duration> {
    // Always draw the same number of values, so that a datagram's fate
    // does not depend on the faults of the ones before it.
    let (lost, dup, reorder, j1, j2) = (rng.unit(), rng.unit(), rng.unit(), rng.unit(), rng.unit());
    if lost < f.loss {
        c.lost.fetch_add(1, Ordering::Relaxed);
        return Vec::new();
    }
    let hold = if reorder < f.reorder {
        c.reordered.fetch_add(1, Ordering::Relaxed);
        // Long enough for the next few datagrams to overtake it.
        f.jitter + f.delay / 2 + Duration::from_millis(5)
    } else {
        Duration::ZERO
    };
    let mut out = vec![f.delay + f.jitter.mul_f64(j1) + hold];
    if dup < f.duplicate {
        c.duplicated.fetch_add(1, Ordering::Relaxed);
        out.push(f.delay + f.jitter.mul_f64(j2));
    }
    out
}

async fn forward(front: Arc<UdpSocket>, back: Arc<UdpSocket>, shared: Arc<Shared>, seed: u64) {
    let mut up_rng = Rng::new(seed);
    let mut down_rng = Rng::new(seed ^ 0x5DEE_CE66_D1CE_5EED);
    let (mut up, mut down) = (vec![0u8; 65536], vec![0u8; 65536]);
    let mut client: Option<SocketAddr> = None;
    loop {
        // (datagram, toward the hub?)
        let (bytes, to_hub) = tokio::select! {
            r = front.recv_from(&mut up) => match r {
                Ok((n, from)) => {
                    client = Some(from);
                    (up[..n].to_vec(), true)
                }
                Err(_) => continue,
            },
            r = back.recv(&mut down) => match r {
                Ok(n) => (down[..n].to_vec(), false),
                Err(_) => continue,
            },
        };
        let c = &shared.counters;
        c.received.fetch_add(1, Ordering::Relaxed);
        let faults = *shared.faults.lock().expect("faults");
        let rng = if to_hub { &mut up_rng } else { &mut down_rng };
        let delays = fate(rng, &faults, c);
        if shared.cut.load(Ordering::SeqCst) {
            c.cut.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        // Toward the hub the back socket is connected; toward the node,
        // its latest address.
        let to = match (to_hub, client) {
            (true, _) => None,
            (false, Some(node)) => Some(node),
            (false, None) => continue,
        };
        for delay in delays {
            let (front, back, bytes) = (front.clone(), back.clone(), bytes.clone());
            let send = async move {
                match to {
                    None => {
                        let _ = back.send(&bytes).await;
                    }
                    Some(node) => {
                        let _ = front.send_to(&bytes, node).await;
                    }
                }
            };
            if delay.is_zero() {
                send.await;
            } else {
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    send.await;
                });
            }
        }
    }
}
