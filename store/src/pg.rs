//! The PostgreSQL engine: the same ordered trees as sled, in one table of
//! a schema, shared by every hub instance that names it.
//!
//! - **Layout.** `kv (tree text, key bytea, value bytea, primary key
//!   (tree, key))` and a sequence `ids`. `bytea` compares byte by byte
//!   (shorter first on a common prefix), as sled orders its keys, so
//!   `ORDER BY key` walks a tree in sled's order, and a prefix scan is the
//!   range from the prefix to its successor.
//! - **Atomic steps.** Every statement commits on its own. sled's
//!   compare-and-swap becomes a conditional `UPDATE`/`DELETE`, or an
//!   `INSERT … ON CONFLICT DO NOTHING` when nothing was expected; the
//!   number of rows it touched says whether it won. Ids come from the
//!   sequence, so they are unique and increasing across instances.
//! - **Threads.** The `postgres` client runs a runtime of its own and
//!   must not be called from inside an async task (it panics there), and
//!   the hub calls its store from async handlers. So each connection
//!   lives on a thread of its own (`store-pg-N`); a call hands it a
//!   closure over a channel and waits for the answer, as a sled call
//!   blocks on its own work. A connection that breaks is opened again on
//!   the next call; the store's health goes degraded meanwhile.
//! - **Iteration** reads pages in key order (or reversed), from a window
//!   that narrows from both ends, so a double-ended walk never yields a
//!   record twice; the first page from the end is one record (the latest
//!   result is read that way), later pages grow.
//! - **No TLS.** The connection is made without TLS: the configuration
//!   allows a database on this machine (a local socket, loopback) or,
//!   when the operator says so, on a private network.

use std::{
    collections::VecDeque,
    path::{Path, PathBuf},
    sync::{mpsc, Arc, Mutex, RwLock},
    time::Duration,
};

use passerelle_link::{health::Health, lock::LockFile};
use postgres::{Client, NoTls, Statement};
use tracing::{info, warn};

use crate::{kv::Bytes, StoreError};

/// How a PostgreSQL store is reached.
#[derive(Clone)]
pub struct PgSettings {
    /// The connection address (`postgresql://…` or `key=value` pairs).
    pub url: String,
    /// The password, when not in the address.
    pub password: Option<String>,
    /// The schema of the hub's table (a plain name, checked by the
    /// configuration).
    pub schema: String,
    /// Connections (threads) kept.
    pub connections: usize,
}

impl std::fmt::Debug for PgSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgSettings")
            .field("schema", &self.schema)
            .field("connections", &self.connections)
            .finish_non_exhaustive()
    }
}

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The first page read from the front of a window, and the largest page.
const FRONT_PAGE: i64 = 32;
const MAX_PAGE: i64 = 1024;

type Job = Box<dyn FnOnce(&mut Conn) + Send>;

/// An opened PostgreSQL store; clones share it.
#[derive(Clone)]
pub struct Pg {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Pg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pg")
            .field("schema", &self.inner.schema)
            .finish_non_exhaustive()
    }
}

struct Inner {
    jobs: mpsc::Sender<Job>,
    schema: String,
    folder: PathBuf,
    gate: RwLock<()>,
    health: Health,
    _lock: LockFile,
}

/// One connection, on its thread, with its prepared statements.
struct Conn {
    config: postgres::Config,
    schema: String,
    live: Option<(Client, Statements)>,
}

struct Statements {
    get: Statement,
    put: Statement,
    remove: Statement,
    insert_new: Statement,
    swap: Statement,
    remove_if: Statement,
    asc: Statement,
    asc_below: Statement,
    desc: Statement,
    desc_below: Statement,
    next_id: Statement,
    trees: Statement,
}

impl Conn {
    fn connect(&mut self) -> Result<(), postgres::Error> {
        let mut client = self.config.connect(NoTls)?;
        ensure_schema(&mut client, &self.schema)?;
        client.batch_execute(&format!("SET search_path TO \"{}\"", self.schema))?;
        let p = |c: &mut Client, sql: &str| c.prepare(sql);
        let cols = "SELECT key, value FROM kv WHERE tree = $1 AND key >= $2";
        let statements = Statements {
            get: p(&mut client, "SELECT value FROM kv WHERE tree = $1 AND key = $2")?,
            put: p(&mut client, "INSERT INTO kv (tree, key, value) VALUES ($1, $2, $3) ON CONFLICT (tree, key) DO UPDATE SET value = EXCLUDED.value")?,
            remove: p(&mut client, "DELETE FROM kv WHERE tree = $1 AND key = $2 RETURNING value")?,
            insert_new: p(&mut client, "INSERT INTO kv (tree, key, value) VALUES ($1, $2, $3) ON CONFLICT (tree, key) DO NOTHING")?,
            swap: p(&mut client, "UPDATE kv SET value = $4 WHERE tree = $1 AND key = $2 AND value = $3")?,
            remove_if: p(&mut client, "DELETE FROM kv WHERE tree = $1 AND key = $2 AND value = $3")?,
            asc: p(&mut client, &format!("{cols} ORDER BY key ASC LIMIT $3"))?,
            asc_below: p(&mut client, &format!("{cols} AND key < $3 ORDER BY key ASC LIMIT $4"))?,
            desc: p(&mut client, &format!("{cols} ORDER BY key DESC LIMIT $3"))?,
            desc_below: p(&mut client, &format!("{cols} AND key < $3 ORDER BY key DESC LIMIT $4"))?,
            next_id: p(&mut client, "SELECT nextval('ids')")?,
            trees: p(&mut client, "SELECT DISTINCT tree FROM kv ORDER BY tree")?,
        };
        self.live = Some((client, statements));
        Ok(())
    }

    fn run<T>(
        &mut self,
        f: impl FnOnce(&mut Client, &Statements) -> Result<T, postgres::Error>,
    ) -> Result<T, postgres::Error> {
        if self.live.as_ref().is_none_or(|(c, _)| c.is_closed()) {
            self.live = None;
            self.connect()?;
        }
        let (client, statements) = self.live.as_mut().expect("connected above");
        let r = f(client, statements);
        if r.is_err() && client.is_closed() {
            self.live = None;
        }
        r
    }
}

/// Creates the schema, the table and the sequence when missing, under an
/// advisory lock so that instances starting together do not race.
fn ensure_schema(client: &mut Client, schema: &str) -> Result<(), postgres::Error> {
    let present = client
        .query_opt(
            "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = 'ids'",
            &[&schema],
        )?
        .is_some();
    if present {
        return Ok(());
    }
    let mut t = client.transaction()?;
    // "passerelle" in ASCII: the lock every instance takes to create.
    t.execute("SELECT pg_advisory_xact_lock(112971201148265)", &[])?;
    let schema_present = t
        .query_opt(
            "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1",
            &[&schema],
        )?
        .is_some();
    if !schema_present {
        t.batch_execute(&format!("CREATE SCHEMA \"{schema}\""))?;
    }
    t.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS \"{schema}\".kv (
             tree text COLLATE \"C\" NOT NULL,
             key bytea NOT NULL,
             value bytea NOT NULL,
             PRIMARY KEY (tree, key));
         CREATE SEQUENCE IF NOT EXISTS \"{schema}\".ids AS bigint MINVALUE 1;"
    ))?;
    t.commit()
}

impl Pg {
    /// Connects to the database, creating the schema, table and sequence
    /// when missing, and starts the connection threads. `folder` is the
    /// store folder: its lock file keeps one process per hub folder, as
    /// with sled (other instances have folders of their own).
    ///
    /// # Errors
    /// [`StoreError::Locked`]-like errors come from the caller's lock;
    /// here, [`StoreError::Unavailable`] when the database cannot be
    /// reached, or its error.
    pub fn open(folder: &Path, lock: LockFile, settings: &PgSettings) -> Result<Self, StoreError> {
        let mut config: postgres::Config =
            settings
                .url
                .parse()
                .map_err(|e: postgres::Error| StoreError::Unavailable {
                    path: folder.to_path_buf(),
                    why: format!("store.url is not a PostgreSQL address: {e}"),
                })?;
        if let Some(p) = &settings.password {
            config.password(p);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("passerelle-hub");
        }
        let (jobs, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..settings.connections.max(1) {
            let rx = rx.clone();
            let mut conn = Conn {
                config: config.clone(),
                schema: settings.schema.clone(),
                live: None,
            };
            std::thread::Builder::new()
                .name(format!("store-pg-{i}"))
                .spawn(move || loop {
                    let job = rx
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .recv();
                    match job {
                        Ok(job) => job(&mut conn),
                        Err(_) => return,
                    }
                })
                .map_err(|error| StoreError::Io {
                    path: folder.to_path_buf(),
                    error,
                })?;
        }
        let pg = Self {
            inner: Arc::new(Inner {
                jobs,
                schema: settings.schema.clone(),
                folder: folder.to_path_buf(),
                gate: RwLock::default(),
                health: Health::default(),
                _lock: lock,
            }),
        };
        // The first call connects (and creates the table): a database
        // that cannot be reached fails the opening, with its reason.
        pg.call(|c, s| c.query_one(&s.next_id, &[]).map(drop))
            .map_err(|e| StoreError::Unavailable {
                path: folder.to_path_buf(),
                why: format!(
                    "cannot use the PostgreSQL database (store.url, schema {}): {e}",
                    settings.schema
                ),
            })?;
        info!(schema = %settings.schema, "store: PostgreSQL");
        Ok(pg)
    }

    /// Runs `f` on a connection's thread and waits for its answer; marks
    /// the health from the outcome.
    fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Client, &Statements) -> Result<T, postgres::Error> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |conn: &mut Conn| {
            let _ = tx.send(conn.run(f));
        });
        let gone = || StoreError::Unavailable {
            path: self.inner.folder.clone(),
            why: "the database connection thread stopped".into(),
        };
        self.inner.jobs.send(job).map_err(|_| gone())?;
        match rx.recv().map_err(|_| gone())? {
            Ok(v) => {
                if self.inner.health.degraded().is_some() {
                    self.inner.health.mark_healthy();
                }
                Ok(v)
            }
            Err(e) => {
                let e = StoreError::Database(e);
                if e.is_storage_failure() {
                    self.inner.health.mark_degraded(e.to_string());
                }
                Err(e)
            }
        }
    }

    /// The store folder (its lock file is beside it).
    pub fn folder(&self) -> &Path {
        &self.inner.folder
    }

    /// The schema in use.
    pub fn schema(&self) -> &str {
        &self.inner.schema
    }

    /// The store's health: degraded while the database fails.
    pub fn health(&self) -> &Health {
        &self.inner.health
    }

    /// Held by every write of this process, so that an export sees none
    /// of them half done (other instances write on).
    pub fn writing(&self) -> std::sync::RwLockReadGuard<'_, ()> {
        self.inner
            .gate
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every write of this process held back.
    pub fn frozen(&self) -> std::sync::RwLockWriteGuard<'_, ()> {
        self.inner
            .gate
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Asks the database for a round trip; marks the health.
    pub fn probe(&self) {
        if let Err(error) = self.call(|c, _| c.simple_query("SELECT 1").map(drop)) {
            warn!(%error, "store probe failed");
        }
    }

    /// A new id, unique and increasing across every instance.
    ///
    /// # Errors
    /// On a database failure.
    pub fn generate_id(&self) -> Result<u64, StoreError> {
        self.call(|c, s| c.query_one(&s.next_id, &[]).map(|r| r.get::<_, i64>(0)))
            .map(|id| id as u64)
    }

    /// The trees that hold at least one record.
    ///
    /// # Errors
    /// On a database failure.
    pub fn tree_names(&self) -> Result<Vec<String>, StoreError> {
        self.call(|c, s| {
            c.query(&s.trees, &[])
                .map(|rows| rows.iter().map(|r| r.get::<_, String>(0)).collect())
        })
    }

    /// A tree (it exists once it holds a record).
    pub fn tree(&self, name: &str) -> PgTree {
        PgTree {
            pg: self.clone(),
            name: Arc::from(name),
        }
    }
}

/// One tree of a PostgreSQL store.
#[derive(Clone)]
pub struct PgTree {
    pg: Pg,
    name: Arc<str>,
}

impl PgTree {
    /// The value under `key`.
    ///
    /// # Errors
    /// On a database failure.
    pub fn get(&self, key: &[u8]) -> Result<Option<Bytes>, StoreError> {
        let (tree, key) = (self.name.clone(), key.to_vec());
        self.pg.call(move |c, s| {
            c.query_opt(&s.get, &[&&*tree, &key])
                .map(|r| r.map(|r| Bytes::from(r.get::<_, Vec<u8>>(0))))
        })
    }

    /// Writes `value` under `key`.
    ///
    /// # Errors
    /// On a database failure.
    pub fn insert(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        let (tree, key, value) = (self.name.clone(), key.to_vec(), value.to_vec());
        self.pg
            .call(move |c, s| c.execute(&s.put, &[&&*tree, &key, &value]).map(drop))
    }

    /// Removes the value under `key`; what was there.
    ///
    /// # Errors
    /// On a database failure.
    pub fn remove(&self, key: &[u8]) -> Result<Option<Bytes>, StoreError> {
        let (tree, key) = (self.name.clone(), key.to_vec());
        self.pg.call(move |c, s| {
            c.query_opt(&s.remove, &[&&*tree, &key])
                .map(|r| r.map(|r| Bytes::from(r.get::<_, Vec<u8>>(0))))
        })
    }

    /// Replaces `old` (nothing: `None`) by `new` (removal: `None`) under
    /// `key` in one step; whether the value was `old`, so it was replaced.
    ///
    /// # Errors
    /// On a database failure.
    pub fn compare_and_swap(
        &self,
        key: &[u8],
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<bool, StoreError> {
        let tree = self.name.clone();
        let key = key.to_vec();
        let (old, new) = (old.map(<[u8]>::to_vec), new.map(<[u8]>::to_vec));
        self.pg.call(move |c, s| {
            let t = &&*tree;
            match (old, new) {
                (None, Some(new)) => c.execute(&s.insert_new, &[t, &key, &new]).map(|n| n == 1),
                (Some(old), Some(new)) => {
                    c.execute(&s.swap, &[t, &key, &old, &new]).map(|n| n == 1)
                }
                (Some(old), None) => c.execute(&s.remove_if, &[t, &key, &old]).map(|n| n == 1),
                (None, None) => c.query_opt(&s.get, &[t, &key]).map(|r| r.is_none()),
            }
        })
    }

    /// The records of `[lo, hi)` (`hi`: no end), in key order.
    pub fn range(&self, lo: Vec<u8>, hi: Option<Vec<u8>>) -> PgIter {
        PgIter {
            tree: self.clone(),
            lo,
            hi,
            exhausted: false,
            front: VecDeque::new(),
            back: VecDeque::new(),
            front_page: FRONT_PAGE,
            back_page: 1,
        }
    }
}

/// Records of a tree in key order, read page by page (see the module).
pub struct PgIter {
    tree: PgTree,
    /// The window not read yet: `[lo, hi)`.
    lo: Vec<u8>,
    hi: Option<Vec<u8>>,
    /// The window is empty: every record left is in a buffer.
    exhausted: bool,
    /// Read from the front, in key order.
    front: VecDeque<(Bytes, Bytes)>,
    /// Read from the end, greatest key first.
    back: VecDeque<(Bytes, Bytes)>,
    front_page: i64,
    back_page: i64,
}

impl PgIter {
    /// Reads the next page from the front (`descending`: from the end).
    fn fetch(&mut self, descending: bool) -> Result<(), StoreError> {
        let limit = if descending {
            self.back_page
        } else {
            self.front_page
        };
        let tree = self.tree.name.clone();
        let (lo, hi) = (self.lo.clone(), self.hi.clone());
        let rows: Vec<(Vec<u8>, Vec<u8>)> = self.tree.pg.call(move |c, s| {
            let t = &&*tree;
            let rows = match (&hi, descending) {
                (None, false) => c.query(&s.asc, &[t, &lo, &limit])?,
                (Some(hi), false) => c.query(&s.asc_below, &[t, &lo, hi, &limit])?,
                (None, true) => c.query(&s.desc, &[t, &lo, &limit])?,
                (Some(hi), true) => c.query(&s.desc_below, &[t, &lo, hi, &limit])?,
            };
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })?;
        if (rows.len() as i64) < limit {
            self.exhausted = true;
        }
        if descending {
            self.back_page = (self.back_page * 8).min(MAX_PAGE);
            if let Some((first, _)) = rows.last() {
                self.hi = Some(first.clone());
            }
            self.back
                .extend(rows.into_iter().map(|(k, v)| (k.into(), v.into())));
        } else {
            self.front_page = (self.front_page * 2).min(MAX_PAGE);
            if let Some((last, _)) = rows.last() {
                // The smallest key after `last`.
                let mut next = last.clone();
                next.push(0);
                self.lo = next;
            }
            self.front
                .extend(rows.into_iter().map(|(k, v)| (k.into(), v.into())));
        }
        Ok(())
    }
}

impl Iterator for PgIter {
    type Item = Result<(Bytes, Bytes), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.front.is_empty() && !self.exhausted {
            if let Err(e) = self.fetch(false) {
                self.exhausted = true;
                self.back.clear();
                return Some(Err(e));
            }
        }
        self.front
            .pop_front()
            .or_else(|| self.back.pop_back())
            .map(Ok)
    }
}

impl DoubleEndedIterator for PgIter {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.back.is_empty() && !self.exhausted {
            if let Err(e) = self.fetch(true) {
                self.exhausted = true;
                self.front.clear();
                return Some(Err(e));
            }
        }
        self.back
            .pop_front()
            .or_else(|| self.front.pop_back())
            .map(Ok)
    }
}

/// The smallest key greater than every key starting with `prefix`, if
/// any (a prefix of 0xFF bytes only has none).
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_ends_at_its_successor() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xFF, 0xFF]), None);
        assert_eq!(prefix_end(b""), None);
    }
}
