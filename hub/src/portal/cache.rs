//! Rendered public pages, kept until a result changes. Public pages depend
//! only on the catalog and the latest results, so a refresh invalidates
//! them all; the cache is bounded, and keys are built from parsed
//! parameters only, so arbitrary query strings cannot fill it.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

/// Entries kept at most; the cache is emptied when full.
const MAX_ENTRIES: usize = 512;

/// A page cache.
#[derive(Debug, Default)]
pub struct PageCache {
    pages: RwLock<HashMap<String, Arc<String>>>,
}

impl PageCache {
    /// The page for `key`, rendered by `render` on a miss.
    pub fn get_or_render(
        &self,
        key: &str,
        render: impl FnOnce() -> Option<String>,
    ) -> Option<Arc<String>> {
        if let Some(p) = self.pages.read().expect("page cache lock").get(key) {
            return Some(p.clone());
        }
        let page = Arc::new(render()?);
        let mut pages = self.pages.write().expect("page cache lock");
        if pages.len() >= MAX_ENTRIES {
            pages.clear();
        }
        pages.insert(key.to_string(), page.clone());
        Some(page)
    }

    /// Forgets every page (a result changed).
    pub fn invalidate(&self) {
        self.pages.write().expect("page cache lock").clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_once_until_invalidated_and_stays_bounded() {
        let c = PageCache::default();
        let mut calls = 0;
        for _ in 0..3 {
            c.get_or_render("a", || {
                calls += 1;
                Some("page".into())
            });
        }
        assert_eq!(calls, 1);
        c.invalidate();
        assert_eq!(
            c.get_or_render("a", || Some("new".into()))
                .as_deref()
                .map(String::as_str),
            Some("new")
        );
        assert!(c.get_or_render("missing", || None).is_none());
        for i in 0..2 * MAX_ENTRIES {
            c.get_or_render(&i.to_string(), || Some(String::new()));
        }
        assert!(c.pages.read().unwrap().len() <= MAX_ENTRIES);
    }
}
