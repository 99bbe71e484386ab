//! A node in a child process, so that a test can kill it (SIGKILL) or
//! freeze it (SIGSTOP) as a crash or a hung machine would, with the
//! kernel, not the node, deciding what its sockets do.
//!
//! The child is the test binary itself, run again with
//! [`CHILD_NODE`] naming the node folder and only the test that calls
//! [`serve_if_child`] selected: it runs the node's own `serve` command
//! (`passerelle-node serve --dir FOLDER`) until killed. It also exits when
//! its standard input closes, so a test process that dies takes its
//! children with it.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
};

/// The environment variable that makes a test binary serve a node.
pub const CHILD_NODE: &str = "PASSERELLE_TEST_CHILD_NODE";

/// A node served by a child process.
pub struct NodeProcess {
    child: Child,
    /// The node folder.
    pub root: PathBuf,
    /// Its log.
    log: PathBuf,
}

impl NodeProcess {
    /// Starts `passerelle-node serve` on `root` in a child process: this
    /// test binary, running only its test `child_test` (which must call
    /// [`serve_if_child`]). Its log goes to `node.log` in the folder.
    ///
    /// # Panics
    /// When the process cannot be started.
    pub fn spawn(root: &Path, child_test: &str) -> Self {
        Self::spawn_logging_to(root, child_test, &root.join("node.log"))
    }

    /// As [`NodeProcess::spawn`], with the log in `log` (outside a folder
    /// a test fills, for example).
    ///
    /// # Panics
    /// When the process cannot be started.
    pub fn spawn_logging_to(root: &Path, child_test: &str, log: &Path) -> Self {
        let log_path = log.to_path_buf();
        let log = std::fs::File::create(log).expect("node log");
        let exe = std::env::current_exe().expect("test binary path");
        let child = Command::new(exe)
            .args(["--exact", child_test, "--ignored", "--nocapture"])
            .args(["--test-threads", "1"])
            .env(CHILD_NODE, root)
            .env("PASSERELLE_LOG", "info")
            .stdin(Stdio::piped())
            .stdout(log.try_clone().expect("node log"))
            .stderr(log)
            .spawn()
            .expect("node process starts");
        Self {
            child,
            root: root.to_path_buf(),
            log: log_path,
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

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the node with SIGKILL and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The node's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        // A frozen process still dies of SIGKILL.
        self.kill();
    }
}

/// The body of the child: when [`CHILD_NODE`] names a folder, serves that
/// node until the process is killed or its standard input closes;
/// otherwise returns at once.
///
/// # Panics
/// When the node cannot serve (the parent sees the process end).
pub fn serve_if_child() {
    let Some(root) = std::env::var_os(CHILD_NODE) else {
        return;
    };
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    passerelle_certs::install_crypto_provider();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PASSERELLE_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let cli = passerelle_node::cli::Cli {
        dir: root.into(),
        command: passerelle_node::cli::Command::Serve,
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(passerelle_node::cli::run(cli))
        .expect("node serves");
}

/// The environment variable that makes a test binary run one node
/// command: the arguments after `passerelle-node`, separated by newlines.
pub const CHILD_NODE_CLI: &str = "PASSERELLE_TEST_CHILD_NODE_CLI";

/// How a command run by [`run_node_cli`] ended.
#[derive(Debug)]
pub struct Finished {
    /// `Some(code)` when it exited, `None` when it was killed at the deadline.
    pub code: Option<i32>,
    /// Standard output and error, together.
    pub output: String,
    /// How long it ran.
    pub took: std::time::Duration,
}

/// Runs `passerelle-node ARGS` in a child process (this test binary,
/// running only `child_test`, which must call [`run_cli_if_child`]), and
/// kills it when it has not ended within `patience`.
///
/// # Panics
/// When the process cannot be started.
pub fn run_node_cli(child_test: &str, args: &[&str], patience: std::time::Duration) -> Finished {
    let exe = std::env::current_exe().expect("test binary path");
    let out = tempfile::NamedTempFile::new().expect("output file");
    let started = std::time::Instant::now();
    let mut child = Command::new(exe)
        .args(["--exact", child_test, "--ignored", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(CHILD_NODE_CLI, args.join("\n"))
        .env("PASSERELLE_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(out.reopen().expect("output file"))
        .stderr(out.reopen().expect("output file"))
        .spawn()
        .expect("node command starts");
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

/// The body of a child that runs one node command: when
/// [`CHILD_NODE_CLI`] is set, runs it as `main` would (an error printed as
/// `error: …` and exit status 1) and exits; otherwise returns at once.
pub fn run_cli_if_child() {
    let Ok(args) = std::env::var(CHILD_NODE_CLI) else {
        return;
    };
    use clap::Parser;
    passerelle_certs::install_crypto_provider();
    let argv = std::iter::once("passerelle-node").chain(args.split('\n'));
    let cli = passerelle_node::cli::Cli::parse_from(argv);
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(passerelle_node::cli::run(cli));
    std::process::exit(match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    })
}
