//! A real OpenID Connect provider on loopback (`tests/oidc/provider.mjs`,
//! the npm package `oidc-provider`), a browser-like client that follows
//! redirects and keeps cookies across the portal and the provider, and a
//! capture of the process's logs (to check that refusals are logged).

use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::Path,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, OnceLock},
};

/// The provider, in a child process; killed when dropped.
pub struct TestProvider {
    child: Child,
    /// Its issuer, `http://127.0.0.1:PORT`.
    pub issuer: String,
}

impl TestProvider {
    /// Starts the provider with `setup` (clients and accounts; see
    /// `tests/oidc/provider.mjs`), written in `dir`.
    ///
    /// # Panics
    /// When node or the npm packages are missing (`bash .ci/setup`
    /// installs them), or the provider does not start.
    pub fn start(setup: &serde_json::Value, dir: &Path) -> Self {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("oidc");
        assert!(
            folder.join("node_modules/oidc-provider").is_dir(),
            "tests/oidc/node_modules is missing: run bash .ci/setup"
        );
        let file = dir.join("oidc-setup.json");
        std::fs::write(&file, setup.to_string()).expect("setup written");
        let mut child = Command::new("node")
            .arg(folder.join("provider.mjs"))
            .arg(&file)
            .current_dir(&folder)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs (Node.js 20 or later)");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        let mut reader = BufReader::new(stdout);
        reader.read_line(&mut line).expect("provider output");
        // The provider logs to its standard output: keep reading it (a
        // closed pipe would end the provider at its next line).
        std::thread::spawn(move || {
            for l in reader.lines().map_while(Result::ok) {
                eprintln!("oidc-provider: {l}");
            }
        });
        let issuer = line
            .strip_prefix("issuer ")
            .unwrap_or_else(|| panic!("the provider did not start: {line:?}"))
            .trim()
            .to_string();
        Self { child, issuer }
    }
}

impl Drop for TestProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser: cookies by name (the portal's and the provider's names
/// differ), redirects followed on request.
#[derive(Debug, Default, Clone)]
pub struct Browser {
    /// Cookies kept.
    pub jar: HashMap<String, String>,
}

/// A reply: status, headers (lower-case names), body.
pub type Reply = (u16, Vec<(String, String)>, String);

/// Splits `http://HOST:PORT/path` into the address and the path.
///
/// # Panics
/// On anything else.
pub fn split_url(url: &str) -> (SocketAddr, String) {
    let rest = url.strip_prefix("http://").expect("an http:// address");
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], rest[at..].to_string()),
        None => (rest, "/".to_string()),
    };
    (authority.parse().expect("HOST:PORT"), path)
}

/// The `location` header of a reply.
pub fn location(h: &[(String, String)]) -> Option<String> {
    h.iter()
        .find(|(k, _)| k == "location")
        .map(|(_, v)| v.clone())
}

impl Browser {
    /// The `Cookie` header.
    fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, headers: &[(String, String)]) {
        for (_, v) in headers.iter().filter(|(k, _)| k == "set-cookie") {
            let Some((name, rest)) = v.split_once('=') else {
                continue;
            };
            let value = rest.split(';').next().unwrap_or("").to_string();
            let gone = v.contains("Max-Age=0") || value.is_empty();
            if gone {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_string(), value);
            }
        }
    }

    /// One request to an absolute `http://` address.
    pub async fn request(&mut self, method: &str, url: &str, form: &str) -> Reply {
        let (addr, path) = split_url(url);
        let cookie = self.cookie_header();
        let headers: Vec<(&str, &str)> = if cookie.is_empty() {
            vec![]
        } else {
            vec![("Cookie", cookie.as_str())]
        };
        let reply = crate::http(addr, method, &path, &headers, form).await;
        self.keep(&reply.1);
        reply
    }

    /// GETs `url` and follows redirects while they stay off `stop` (a
    /// prefix); returns the last reply and its address.
    pub async fn follow(&mut self, url: &str, stop: &str) -> (String, Reply) {
        let mut url = url.to_string();
        for _ in 0..10 {
            let reply = self.request("GET", &url, "").await;
            let Some(to) = location(&reply.1).filter(|_| (300..400).contains(&reply.0)) else {
                return (url, reply);
            };
            let next = if to.starts_with("http://") {
                to
            } else {
                let (addr, _) = split_url(&url);
                format!("http://{addr}{to}")
            };
            if next.starts_with(stop) {
                return (next, reply);
            }
            url = next;
        }
        panic!("too many redirects from {url}");
    }
}

/// The process's log lines, captured from the first call on (before the
/// test harness installs its own subscriber).
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    /// Whether a line holds every one of `parts`.
    pub fn has_line(&self, parts: &[&str]) -> bool {
        self.text()
            .lines()
            .any(|l| parts.iter().all(|p| l.contains(p)))
    }
}

/// Writes into [`Logs`].
pub struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = LogWriter;
    fn make_writer(&'a self) -> Self::Writer {
        LogWriter(self.0.clone())
    }
}

/// Installs (once per test process) a subscriber that keeps every log
/// line at `info` and above; the same [`Logs`] for every caller.
pub fn capture_logs() -> Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_ansi(false)
            .with_writer(logs.clone())
            .try_init();
        logs
    })
    .clone()
}
