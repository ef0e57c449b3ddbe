//! Reading every current event once, a page at a time, while writes go on (`Store::read_pages`):
//! how the hub rebuilds what it derives from the stored events after a start. Pages are read at
//! different versions, so the reader keeps when each was read: a change committed after the
//! page that covered its key was read is not in that page ([`ReadPages::read_before`]).

use crate::{ListPage, ListQuery, Store};
use kevents_model::EventKey;

/// The pages a full read went through: each page's last key (`None`: to the end) and the
/// store's version when it was read. Page `i` covers the keys after page `i - 1`'s last key up
/// to its own.
#[derive(Debug, Default, Clone)]
pub struct ReadPages(Vec<(Option<EventKey>, u64)>);

impl ReadPages {
    /// Notes a page read (pages in key order).
    pub fn push(&mut self, page: &ListPage) {
        self.0
            .push((page.continue_after.clone(), page.resource_version));
    }

    /// True when the page that covered `key` was read before version `rv` was committed (so
    /// it saw the key's state before that change).
    pub fn read_before(&self, key: &EventKey, rv: u64) -> bool {
        let at = self
            .0
            .partition_point(|(last, _)| last.as_ref().is_some_and(|last| last < key));
        self.0
            .get(at)
            .or(self.0.last())
            .is_some_and(|(_, read_at)| *read_at < rv)
    }
}

impl Store {
    /// Reads every current event once in key order, `page` events at a time (the store's read
    /// lock is held for one page), handing each page to `each`; stops early when `each` returns
    /// false (`None` then). Returns when each page was read.
    pub fn read_pages(
        &self,
        page: usize,
        mut each: impl FnMut(ListPage) -> bool,
    ) -> Option<ReadPages> {
        let mut pages = ReadPages::default();
        let mut after: Option<EventKey> = None;
        loop {
            let listed = self
                .list(
                    ListQuery {
                        limit: Some(page.max(1)),
                        start_after: after.as_ref(),
                        ..Default::default()
                    },
                    |_| true,
                )
                .expect("a list at the current version is always retained");
            pages.push(&listed);
            let next = listed.continue_after.clone();
            if !each(listed) {
                return None;
            }
            match next {
                Some(last) => after = Some(last),
                None => return Some(pages),
            }
        }
    }
}
