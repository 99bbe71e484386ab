//! A small filesystem to fill: a tmpfs mounted on a test folder (root
//! only), so that full-disk behaviour is tested for real, with the kernel
//! answering `ENOSPC`.
//!
//! [`Tmpfs::mount`] says why it cannot (not root, `mount` refused) so a
//! test prints the reason and returns: such a test passes without having
//! run, which its output states.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::Command,
};

/// A tmpfs mounted on a folder, unmounted when dropped.
#[derive(Debug)]
pub struct Tmpfs {
    /// The mount point.
    pub path: PathBuf,
}

/// The filler file [`Tmpfs::fill`] writes.
const FILLER: &str = "filler.bin";

impl Tmpfs {
    /// Mounts a tmpfs of `bytes` on `path` (created if missing).
    ///
    /// # Errors
    /// Why it cannot: not running as root, or `mount` failed.
    pub fn mount(path: &Path, bytes: u64) -> Result<Self, String> {
        if !is_root() {
            return Err("not running as root: cannot mount a small filesystem".into());
        }
        std::fs::create_dir_all(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={bytes},mode=0700"))
            .arg("tmpfs")
            .arg(path)
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Self {
            path: path.to_path_buf(),
        })
    }

    /// Fills the filesystem to the last byte with a file of zeros (tmpfs
    /// allocates pages for them), and returns how much it wrote.
    ///
    /// # Panics
    /// When the filler cannot be created, or a write fails with anything
    /// but "no space left".
    pub fn fill(&self) -> u64 {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path.join(FILLER))
            .expect("filler file");
        let block = vec![0u8; 64 * 1024];
        let mut written = 0u64;
        let mut size = block.len();
        loop {
            match f.write(&block[..size]) {
                Ok(n) => written += n as u64,
                Err(e) if e.raw_os_error() == Some(28) => {
                    // Down to single bytes, so not one is left.
                    if size == 1 {
                        break;
                    }
                    size = (size / 2).max(1);
                }
                Err(e) => panic!("filling {}: {e}", self.path.display()),
            }
        }
        written
    }

    /// Fills the filesystem but for about `left` bytes.
    ///
    /// # Panics
    /// As [`Tmpfs::fill`].
    pub fn fill_leaving(&self, left: u64) -> u64 {
        let written = self.fill();
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(self.path.join(FILLER))
            .expect("filler file");
        let keep = written.saturating_sub(left);
        f.set_len(keep).expect("filler shrinks");
        keep
    }

    /// Frees what [`Tmpfs::fill`] took.
    ///
    /// # Panics
    /// When the filler cannot be removed.
    pub fn free(&self) {
        std::fs::remove_file(self.path.join(FILLER)).expect("filler removed");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a process still holding a file there must not keep the
        // mount (and the test's temporary folder) forever.
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Mounts a tmpfs, or prints why not and returns `None` (the caller then
/// returns: the test is skipped with a printed reason).
pub fn tmpfs_or_skip(test: &str, path: &Path, bytes: u64) -> Option<Tmpfs> {
    match Tmpfs::mount(path, bytes) {
        Ok(t) => Some(t),
        Err(why) => {
            eprintln!("{test}: SKIPPED, {why}");
            None
        }
    }
}
