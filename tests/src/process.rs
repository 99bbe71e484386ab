//! Nodes and hubs in child processes, so that a test can kill them
//! (SIGKILL) or freeze them (SIGSTOP) as a crash or a hung machine would,
//! with the kernel, not the program, deciding what their sockets and
//! files do.
//!
//! The programs are `passerelle-node` and `passerelle-hub` themselves:
//! this package builds their `main.rs` as `passerelle-test-node` and
//! `passerelle-test-hub` (see `tests/Cargo.toml`), and cargo builds those
//! before any integration test. [`node_exe!`](crate::node_exe) and
//! [`hub_exe!`](crate::hub_exe) name them from an integration test.
//!
//! A child is killed when its handle is dropped, so a failing test (which
//! unwinds) leaves no process behind.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
};

/// The path of the node program, from an integration test of this package.
#[macro_export]
macro_rules! node_exe {
    () => {
        ::std::path::Path::new(env!("CARGO_BIN_EXE_passerelle-test-node"))
    };
}

/// The path of the hub program, from an integration test of this package.
#[macro_export]
macro_rules! hub_exe {
    () => {
        ::std::path::Path::new(env!("CARGO_BIN_EXE_passerelle-test-hub"))
    };
}

/// A program running in a child process, its output in a log file.
pub struct Running {
    child: Child,
    log: PathBuf,
}

impl Running {
    /// Starts `exe args…`; standard output and error go to `log`.
    ///
    /// # Panics
    /// When the process cannot be started.
    pub fn spawn(exe: &Path, args: &[&std::ffi::OsStr], log: &Path) -> Self {
        let out = std::fs::File::create(log).expect("log file");
        let child = Command::new(exe)
            .args(args)
            .env("PASSERELLE_LOG", "info")
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not start: {e}", exe.display()));
        Self {
            child,
            log: log.to_path_buf(),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal by name (`STOP`, `CONT`, `KILL`).
    ///
    /// # Panics
    /// When `kill` fails.
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill runs")
            .success();
        assert!(ok, "kill -{name} {} failed", self.pid());
    }

    /// Kills the process with SIGKILL and reaps it; how it ended (`None`
    /// when it had already been reaped).
    pub fn kill(&mut self) -> Option<ExitStatus> {
        let _ = self.child.kill();
        self.child.wait().ok()
    }

    /// How it ended, if it has.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The process's output so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A frozen process still dies of SIGKILL.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A node served by a child process: `passerelle-node --dir ROOT serve`.
pub struct NodeProcess {
    process: Running,
    /// The node folder.
    pub root: PathBuf,
}

impl NodeProcess {
    /// Starts `exe` (see [`node_exe!`](crate::node_exe)) serving the
    /// enrolled node folder `root`; its log goes to `node.log` there.
    ///
    /// # Panics
    /// When the process cannot be started.
    pub fn spawn(exe: &Path, root: &Path) -> Self {
        Self::spawn_logging_to(exe, root, &root.join("node.log"))
    }

    /// As [`NodeProcess::spawn`], with the log in `log` (outside a folder
    /// a test fills, for example).
    ///
    /// # Panics
    /// When the process cannot be started.
    pub fn spawn_logging_to(exe: &Path, root: &Path, log: &Path) -> Self {
        let args = ["--dir".as_ref(), root.as_os_str(), "serve".as_ref()];
        Self {
            process: Running::spawn(exe, &args, log),
            root: root.to_path_buf(),
        }
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.process.try_wait().is_none()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Sends a signal by name (`STOP`, `CONT`, `KILL`).
    ///
    /// # Panics
    /// When `kill` fails.
    pub fn signal(&self, name: &str) {
        self.process.signal(name);
    }

    /// Kills the node with SIGKILL and reaps it.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// The node's log so far (for failure messages).
    pub fn log(&self) -> String {
        self.process.log()
    }
}

/// A hub served by a child process on fixed loopback addresses (so that
/// a restarted hub is found where its nodes left it).
pub struct HubProcess {
    process: Running,
    /// The hub folder.
    pub root: PathBuf,
    /// Where nodes reach it (UDP).
    pub quic_addr: SocketAddr,
    /// The portal (TCP).
    pub http_addr: SocketAddr,
}

impl HubProcess {
    /// Starts `exe` (see [`hub_exe!`](crate::hub_exe)) serving the hub
    /// folder `root` on the given addresses; its log goes to `hub.log`
    /// there. Returns once the portal and the admin socket answer.
    ///
    /// # Panics
    /// When the process cannot be started or does not come up within
    /// 20 seconds.
    pub async fn start(exe: &Path, root: &Path, quic: SocketAddr, http: SocketAddr) -> Self {
        let (q, h) = (quic.to_string(), http.to_string());
        let args = [
            "--dir".as_ref(),
            root.as_os_str(),
            "serve".as_ref(),
            "--quic-listen".as_ref(),
            q.as_ref(),
            "--http-listen".as_ref(),
            h.as_ref(),
        ];
        let mut hub = Self {
            process: Running::spawn(exe, &args, &root.join("hub.log")),
            root: root.to_path_buf(),
            quic_addr: quic,
            http_addr: http,
        };
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            if let Some(status) = hub.process.try_wait() {
                panic!("the hub ended ({status}):\n{}", hub.log());
            }
            if tokio::net::TcpStream::connect(http).await.is_ok()
                && passerelle_link::admin::call::<_, passerelle_hub::admin::Response>(
                    root,
                    &passerelle_hub::admin::Request::Nodes,
                )
                .await
                .is_ok_and(|r| r.is_some())
            {
                return hub;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the hub did not come up:\n{}",
                hub.log()
            );
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }

    /// Sends a signal by name (`STOP`, `CONT`, `KILL`).
    ///
    /// # Panics
    /// When `kill` fails.
    pub fn signal(&self, name: &str) {
        self.process.signal(name);
    }

    /// Kills the hub with SIGKILL and reaps it.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// The hub process's id (to read its CPU time and memory).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The hub's log so far (for failure messages).
    pub fn log(&self) -> String {
        self.process.log()
    }
}

/// Two free loopback addresses for a hub: a UDP port and a TCP port the
/// OS picked (and released for the hub to take).
///
/// # Panics
/// When loopback sockets cannot be bound.
pub fn free_hub_addrs() -> (SocketAddr, SocketAddr) {
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp socket");
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("tcp socket");
    (udp.local_addr().unwrap(), tcp.local_addr().unwrap())
}

/// How a command run by [`run_cli`] ended.
#[derive(Debug)]
pub struct Finished {
    /// `Some(code)` when it exited, `None` when it was killed at the deadline.
    pub code: Option<i32>,
    /// Standard output and error, together.
    pub output: String,
    /// How long it ran.
    pub took: std::time::Duration,
}

/// Runs `exe ARGS` (see [`node_exe!`](crate::node_exe)) in a child
/// process and kills it when it has not ended within `patience`.
///
/// # Panics
/// When the process cannot be started.
pub fn run_cli(exe: &Path, args: &[&str], patience: std::time::Duration) -> Finished {
    let out = tempfile::NamedTempFile::new().expect("output file");
    let started = std::time::Instant::now();
    let mut child = Command::new(exe)
        .args(args)
        .env("PASSERELLE_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(out.reopen().expect("output file"))
        .stderr(out.reopen().expect("output file"))
        .spawn()
        .unwrap_or_else(|e| panic!("{} does not start: {e}", exe.display()));
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code();
        }
        if started.elapsed() > patience {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    Finished {
        code,
        output: std::fs::read_to_string(out.path()).unwrap_or_default(),
        took: started.elapsed(),
    }
}
