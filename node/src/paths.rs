//! The files of a node folder (`--dir`):
//!
//! | file | what |
//! | --- | --- |
//! | `node.toml` | configuration |
//! | `node.key` | the node's private key, owner-only; never leaves the node |
//! | `node.crt` | the node certificate issued by the hub CA |
//! | `ca.crt` | the hub CA certificate(s) the node trusts |
//! | `store/` | the store (see the `store` module) |
//! | `store.lock` | held by the process that has the store open |
//! | `admin.sock` | admin socket while `serve` runs |

use std::path::{Path, PathBuf};

use crate::NodeError;

/// A node folder.
#[derive(Debug, Clone)]
pub struct NodeDir {
    root: PathBuf,
}

impl NodeDir {
    /// A folder that must already exist and hold a configured node.
    ///
    /// # Errors
    /// When the folder is missing or was never initialised.
    pub fn existing(root: &Path) -> Result<Self, NodeError> {
        if !root.is_dir() {
            return Err(NodeError::Dir {
                path: root.to_path_buf(),
                why: "no such folder (give the node's folder with --dir, or run passerelle-node init there first)".into(),
            });
        }
        let dir = Self {
            root: root.to_path_buf(),
        };
        if !dir.config().exists() {
            return Err(NodeError::Dir {
                path: root.to_path_buf(),
                why: "not a node folder: node.toml is missing (run passerelle-node init --hub HOST:PORT --token TOKEN here first)".into(),
            });
        }
        Ok(dir)
    }

    /// A folder for `init`, created owner-only if missing.
    ///
    /// # Errors
    /// When it cannot be created.
    pub fn create(root: &Path) -> Result<Self, NodeError> {
        passerelle_link::create_private_dir(root).map_err(|source| NodeError::Io {
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
    /// `node.toml`.
    pub fn config(&self) -> PathBuf {
        self.root.join("node.toml")
    }
    /// `node.key`.
    pub fn key(&self) -> PathBuf {
        self.root.join("node.key")
    }
    /// `node.crt`.
    pub fn cert(&self) -> PathBuf {
        self.root.join("node.crt")
    }
    /// `ca.crt`.
    pub fn ca(&self) -> PathBuf {
        self.root.join("ca.crt")
    }
    /// `store/`.
    pub fn store(&self) -> PathBuf {
        self.root.join("store")
    }
}
