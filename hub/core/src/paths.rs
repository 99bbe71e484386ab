//! The files of a hub folder (`--dir`):
//!
//! | file | what |
//! | --- | --- |
//! | `hub.toml` | configuration |
//! | `ca.crt`, `ca.key` | the network's CA; the key is owner-only |
//! | `hub.crt`, `hub.key` | the hub's certificate and key (TLS and query signatures) |
//! | `store/` | the store (see the `store` module) |
//! | `store.lock` | held by the process that has the store open |
//! | `admin.sock` | admin socket while `serve` or `demo` runs |

use std::path::{Path, PathBuf};

use crate::HubError;

/// A hub folder.
#[derive(Debug, Clone)]
pub struct HubDir {
    root: PathBuf,
}

impl HubDir {
    /// A folder that must hold an initialised hub.
    ///
    /// # Errors
    /// When the folder is missing or was never initialised.
    pub fn existing(root: &Path) -> Result<Self, HubError> {
        if !root.is_dir() {
            return Err(HubError::Dir {
                path: root.to_path_buf(),
                why: "no such folder (give the hub's folder with --dir, or create one with passerelle-hub init --dir DIR)".into(),
            });
        }
        let dir = Self {
            root: root.to_path_buf(),
        };
        if !dir.ca_key().exists() {
            return Err(HubError::Dir {
                path: root.to_path_buf(),
                why: "not a hub folder: ca.key is missing (run passerelle-hub init here first)"
                    .into(),
            });
        }
        Ok(dir)
    }

    /// A folder for `init`; created owner-only when missing.
    ///
    /// # Errors
    /// When it cannot be created.
    pub fn create(root: &Path) -> Result<Self, HubError> {
        passerelle_link::create_private_dir(root).map_err(|source| HubError::Io {
            path: root.to_path_buf(),
            source,
        })?;
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// `hub.toml`.
    pub fn config(&self) -> PathBuf {
        self.root.join("hub.toml")
    }
    /// `ca.crt`.
    pub fn ca_cert(&self) -> PathBuf {
        self.root.join("ca.crt")
    }
    /// `ca-retired.crt`: CA certificates retired by a rotation, kept to
    /// verify the signed history.
    pub fn ca_retired(&self) -> PathBuf {
        self.root.join("ca-retired.crt")
    }
    /// `ca.key`.
    pub fn ca_key(&self) -> PathBuf {
        self.root.join("ca.key")
    }
    /// `hub.crt`.
    pub fn hub_cert(&self) -> PathBuf {
        self.root.join("hub.crt")
    }
    /// `hub.key`.
    pub fn hub_key(&self) -> PathBuf {
        self.root.join("hub.key")
    }
    /// `store/`.
    pub fn store(&self) -> PathBuf {
        self.root.join("store")
    }
    /// `vault/`: the persons' own uploads, sealed.
    pub fn vault(&self) -> PathBuf {
        self.root.join("vault")
    }
}
