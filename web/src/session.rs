//! Sessions. The cookie carries a random token (256 bits); the server
//! keeps only its SHA-256, so a copy of the store opens no session. Each
//! session carries its own CSRF token, which every form must return.
//!
//! Where sessions live is the application's choice, behind [`Backend`]:
//! the hub keeps its partners' sessions in memory ([`Memory`]: a restart
//! signs everyone out), the node keeps its agents' in its store. The
//! session itself is the application's type; [`Sessions`] needs only to
//! know when it ends and whose it is ([`Entry`]).

use std::{collections::HashMap, convert::Infallible, marker::PhantomData, sync::Mutex};

use passerelle_protocol::{hex, sign::sha256, UnixTime};

/// What [`Sessions`] needs to know of a session.
pub trait Entry: Clone {
    /// When it ends.
    fn expires_at(&self) -> UnixTime;
    /// Whose it is (an account's login).
    fn account(&self) -> &str;
}

/// Where sessions are kept, by the SHA-256 of their token.
pub trait Backend<S> {
    /// Why the store failed.
    type Error;
    /// Keeps `session` under `key`, replacing any there.
    ///
    /// # Errors
    /// When the store fails.
    fn put(&self, key: [u8; 32], session: &S) -> Result<(), Self::Error>;
    /// The session under `key`.
    ///
    /// # Errors
    /// When the store fails.
    fn get(&self, key: &[u8; 32]) -> Result<Option<S>, Self::Error>;
    /// Removes the session under `key`, if any.
    ///
    /// # Errors
    /// When the store fails.
    fn remove(&self, key: &[u8; 32]) -> Result<(), Self::Error>;
    /// Removes every session `keep` refuses.
    ///
    /// # Errors
    /// When the store fails.
    fn retain(&self, keep: &mut dyn FnMut(&S) -> bool) -> Result<(), Self::Error>;
}

/// Sessions in memory.
#[derive(Debug)]
pub struct Memory<S> {
    map: Mutex<HashMap<[u8; 32], S>>,
}

impl<S> Default for Memory<S> {
    fn default() -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl<S> Memory<S> {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], S>> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<S: Clone> Backend<S> for Memory<S> {
    type Error = Infallible;

    fn put(&self, key: [u8; 32], session: &S) -> Result<(), Infallible> {
        self.map().insert(key, session.clone());
        Ok(())
    }

    fn get(&self, key: &[u8; 32]) -> Result<Option<S>, Infallible> {
        Ok(self.map().get(key).cloned())
    }

    fn remove(&self, key: &[u8; 32]) -> Result<(), Infallible> {
        self.map().remove(key);
        Ok(())
    }

    fn retain(&self, keep: &mut dyn FnMut(&S) -> bool) -> Result<(), Infallible> {
        self.map().retain(|_, s| keep(s));
        Ok(())
    }
}

/// A fresh cookie token: 256 random bits, hex.
pub fn new_token() -> String {
    hex::encode(&[passerelle_link::random16(), passerelle_link::random16()].concat())
}

/// What the store keeps a token under.
pub fn key(token: &str) -> [u8; 32] {
    sha256(token.as_bytes())
}

/// Sessions over a [`Backend`].
#[derive(Debug)]
pub struct Sessions<S, B = Memory<S>> {
    backend: B,
    kind: PhantomData<fn() -> S>,
}

impl<S, B: Default> Default for Sessions<S, B> {
    fn default() -> Self {
        Self {
            backend: B::default(),
            kind: PhantomData,
        }
    }
}

impl<S: Entry, B: Backend<S>> Sessions<S, B> {
    /// Sessions kept in `backend`.
    pub fn new(backend: B) -> Self {
        Self {
            backend,
            kind: PhantomData,
        }
    }

    /// The store underneath.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Opens `session` (ended ones are dropped on the way); returns the
    /// cookie token.
    ///
    /// # Errors
    /// When the store fails.
    pub fn open(&self, session: &S, now: UnixTime) -> Result<String, B::Error> {
        self.backend.retain(&mut |s| s.expires_at() > now)?;
        let token = new_token();
        self.backend.put(key(&token), session)?;
        Ok(token)
    }

    /// The live session of a cookie token.
    ///
    /// # Errors
    /// When the store fails.
    pub fn get(&self, token: &str, now: UnixTime) -> Result<Option<S>, B::Error> {
        Ok(self
            .backend
            .get(&key(token))?
            .filter(|s| s.expires_at() > now))
    }

    /// Changes a session; whether there was one.
    ///
    /// # Errors
    /// When the store fails.
    pub fn update(&self, token: &str, change: impl FnOnce(&mut S)) -> Result<bool, B::Error> {
        let k = key(token);
        match self.backend.get(&k)? {
            Some(mut s) => {
                change(&mut s);
                self.backend.put(k, &s)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Ends a session.
    ///
    /// # Errors
    /// When the store fails.
    pub fn close(&self, token: &str) -> Result<(), B::Error> {
        self.backend.remove(&key(token))
    }

    /// Ends every session of an account.
    ///
    /// # Errors
    /// When the store fails.
    pub fn close_all(&self, account: &str) -> Result<(), B::Error> {
        self.backend.retain(&mut |s| s.account() != account)
    }
}

/// The value of a result that cannot fail ([`Memory`]'s).
pub fn infallible<T>(r: Result<T, Infallible>) -> T {
    match r {
        Ok(v) => v,
        Err(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct S(&'static str, UnixTime);

    impl Entry for S {
        fn expires_at(&self) -> UnixTime {
            self.1
        }
        fn account(&self) -> &str {
            self.0
        }
    }

    #[test]
    fn sessions_expire_close_and_change() {
        let s: Sessions<S> = Sessions::default();
        let a = infallible(s.open(&S("ana", 160), 100));
        assert_eq!(infallible(s.get(&a, 120)), Some(S("ana", 160)));
        assert_eq!(infallible(s.get(&a, 160)), None);
        assert_eq!(infallible(s.get("forged", 120)), None);
        assert!(infallible(s.update(&a, |x| x.1 = 500)));
        assert_eq!(infallible(s.get(&a, 400)), Some(S("ana", 500)));
        assert!(!infallible(s.update("forged", |x| x.1 = 0)));
        let b = infallible(s.open(&S("bob", 900), 100));
        let a2 = infallible(s.open(&S("ana", 900), 100));
        infallible(s.close_all("ana"));
        assert_eq!(infallible(s.get(&a2, 101)), None);
        assert!(infallible(s.get(&b, 101)).is_some());
        infallible(s.close(&b));
        assert_eq!(infallible(s.get(&b, 101)), None);
        // The store holds the token's hash, never the token.
        let c = infallible(s.open(&S("cleo", 900), 100));
        assert_eq!(c.len(), 64);
        assert!(infallible(s.backend().get(&key(&c))).is_some());
        assert!(!s
            .backend()
            .map()
            .keys()
            .any(|k| k[..] == c.as_bytes()[..32]));
    }
}
