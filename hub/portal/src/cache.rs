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
    pages: RwLock<(u64, HashMap<String, Arc<String>>)>,
}

impl PageCache {
    /// The page for `key`, rendered by `render` on a miss.
    /// The page for `key`, rendered by `render` on a miss. `generation`
    /// is the results' generation now: pages rendered under another one
    /// are forgotten.
    pub fn get_or_render(
        &self,
        key: &str,
        generation: u64,
        render: impl FnOnce() -> Option<String>,
    ) -> Option<Arc<String>> {
        {
            let pages = self.pages.read().expect("page cache lock");
            if pages.0 == generation {
                if let Some(p) = pages.1.get(key) {
                    return Some(p.clone());
                }
            }
        }
        let page = Arc::new(render()?);
        let mut pages = self.pages.write().expect("page cache lock");
        if pages.0 != generation || pages.1.len() >= MAX_ENTRIES {
            pages.1.clear();
            pages.0 = generation;
        }
        pages.1.insert(key.to_string(), page.clone());
        Some(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_once_per_generation_and_stays_bounded() {
        let c = PageCache::default();
        let mut calls = 0;
        for _ in 0..3 {
            c.get_or_render("a", 0, || {
                calls += 1;
                Some("page".into())
            });
        }
        assert_eq!(calls, 1);
        // A new generation of results: the page is rendered again.
        assert_eq!(
            c.get_or_render("a", 1, || Some("new".into()))
                .as_deref()
                .map(String::as_str),
            Some("new")
        );
        assert!(c.get_or_render("missing", 1, || None).is_none());
        for i in 0..2 * MAX_ENTRIES {
            c.get_or_render(&i.to_string(), 1, || Some(String::new()));
        }
        assert!(c.pages.read().unwrap().1.len() <= MAX_ENTRIES);
    }
}
