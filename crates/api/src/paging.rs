//! Cursor pages over id-sorted lists: the cursor is the last id returned.

use crate::problem::Problem;
use serde::Serialize;

/// Default and maximum page sizes.
pub const DEFAULT_LIMIT: usize = 50;
/// Largest page a caller may ask for.
pub const MAX_LIMIT: usize = 200;

/// One page of items.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Parses `limit`.
pub fn limit(raw: Option<&str>) -> Result<usize, Problem> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(Problem::bad_request(format!(
                "limit must be 1..={MAX_LIMIT}"
            ))),
        },
    }
}

/// Takes a page from items already sorted by `key`, starting after `cursor`.
pub fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> &str,
    cursor: Option<&str>,
    limit: usize,
) -> Page<T> {
    let mut rest: Vec<T> = items
        .into_iter()
        .filter(|i| cursor.is_none_or(|c| key(i) > c))
        .collect();
    let next_cursor = if rest.len() > limit {
        rest.truncate(limit);
        rest.last().map(|i| key(i).to_string())
    } else {
        None
    };
    Page {
        items: rest,
        next_cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_walk_every_item_once() {
        let items: Vec<String> = (0..7).map(|i| format!("id{i}")).collect();
        let mut cursor = None;
        let mut seen = Vec::new();
        loop {
            let p = page(items.clone(), |s| s.as_str(), cursor.as_deref(), 3);
            seen.extend(p.items);
            match p.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, items);
        assert!(limit(Some("0")).is_err());
        assert!(limit(Some("201")).is_err());
        assert_eq!(limit(None).expect("default"), DEFAULT_LIMIT);
    }
}
