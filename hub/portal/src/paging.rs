//! Long lists a page at a time: `?page=N` (from 1) picks the page, each
//! page holds at most [`PAGE_SIZE`] rows, and links in French lead to the
//! previous and next pages. A page number out of range shows the nearest
//! page; one that does not parse shows the first.

use maud::{html, Markup};

/// Rows per page.
pub const PAGE_SIZE: usize = 10;

/// The page asked for in a query string (`page=N`), 1 when absent or not
/// a number.
pub fn asked(query: Option<&str>) -> usize {
    query
        .and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "page")
                .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        })
        .unwrap_or(1)
        .max(1)
}

/// One page of a list.
#[derive(Debug, PartialEq, Eq)]
pub struct Page<'a, T> {
    /// Its rows.
    pub rows: &'a [T],
    /// Its number, from 1.
    pub number: usize,
    /// How many pages in all (at least 1).
    pub pages: usize,
}

/// Page `number` of `all`, [`PAGE_SIZE`] rows a page.
pub fn page<T>(all: &[T], number: usize) -> Page<'_, T> {
    let pages = all.len().div_ceil(PAGE_SIZE).max(1);
    let number = number.clamp(1, pages);
    let start = (number - 1) * PAGE_SIZE;
    Page {
        rows: &all[start.min(all.len())..(start + PAGE_SIZE).min(all.len())],
        number,
        pages,
    }
}

impl<T> Page<'_, T> {
    /// The links to the previous and next pages of `path` (nothing when
    /// the list fits on one page).
    pub fn links(&self, path: &str) -> Markup {
        html! {
            @if self.pages > 1 {
                nav.pages aria-label="Pages" {
                    @if self.number > 1 {
                        a href={ (path) "?page=" (self.number - 1) } { "« Page précédente" } " "
                    }
                    span { "Page " (self.number) " sur " (self.pages) }
                    @if self.number < self.pages {
                        " " a href={ (path) "?page=" (self.number + 1) } { "Page suivante »" }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_bounded_and_numbered_from_one() {
        assert_eq!(asked(None), 1);
        assert_eq!(asked(Some("page=3")), 3);
        assert_eq!(asked(Some("x=1&page=0")), 1);
        assert_eq!(asked(Some("page=abc")), 1);
        assert_eq!(asked(Some("page=99999999999999999999999")), 1);
        let all: Vec<u32> = (0..23).collect();
        let p = page(&all, 1);
        assert_eq!((p.rows.len(), p.number, p.pages), (PAGE_SIZE, 1, 3));
        let last = page(&all, 3);
        assert_eq!(last.rows, &[20, 21, 22]);
        assert_eq!(page(&all, 1000).number, 3);
        let links = page(&all, 2).links("/x").into_string();
        assert!(links.contains("href=\"/x?page=1\""), "{links}");
        assert!(links.contains("href=\"/x?page=3\""), "{links}");
        assert!(links.contains("Page précédente") && links.contains("Page suivante"));
        assert!(!page(&all, 3).links("/x").into_string().contains("suivante"));
        let empty: Vec<u32> = Vec::new();
        assert_eq!((page(&empty, 2).rows.len(), page(&empty, 2).pages), (0, 1));
        assert!(page(&empty, 1).links("/x").into_string().is_empty());
    }
}
