//! The one bridge from store failures to problem documents: the store crate knows
//! nothing of HTTP, so a [`StoreError`] becomes a status code here, at the edge.
//!
//! | store error | answer |
//! |---|---|
//! | `Unavailable` | 503 with `Retry-After`: the store may come back |
//! | `Corrupt` | 500 `corrupt-record`: retrying reads the same bytes |
//! | `Contended` | 503 with `Retry-After`: too many writers on one record, for now |

use crate::problem::Problem;
use opsflow_store::StoreError;

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => {
                Problem::unavailable(format!("the store is unavailable ({m}); retry later"))
            }
            StoreError::Corrupt(m) => {
                Problem::new(500, "corrupt-record", "Stored record unreadable", m)
            }
            StoreError::Contended => {
                Problem::unavailable("too many concurrent writers on one record; retry")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_corrupt_record_is_a_server_error_without_retry() {
        let unavailable = Problem::from(StoreError::Unavailable("down".into()));
        assert_eq!(unavailable.status, 503);
        assert!(unavailable.retry_after.is_some());
        assert_eq!(Problem::from(StoreError::Contended).status, 503);
        let corrupt = Problem::from(StoreError::Corrupt("cnt:i:x".into()));
        assert_eq!(corrupt.status, 500);
        assert!(corrupt.retry_after.is_none());
    }
}
