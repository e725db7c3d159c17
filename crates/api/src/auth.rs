//! Bearer tokens → roles, from the `api_tokens` Spin variable.
//!
//! The variable holds a JSON object mapping the lowercase hex SHA-256 of each token
//! to `{"sub": "<user id>", "roles": [...]}`, so the secret itself is never stored.

use crate::problem::Problem;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// What a caller may do.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Campaign managers: objectives, channel strategy, content.
    Marketing,
    /// Operations leads: resources, gates, monitoring, dispatch.
    Operations,
    /// Decides brand review stages.
    BrandReviewer,
    /// Decides compliance review stages.
    ComplianceReviewer,
    /// Everything.
    Admin,
    /// Reads only.
    Viewer,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// User id.
    pub sub: String,
    /// Granted roles.
    pub roles: Vec<Role>,
}

impl Principal {
    /// Whether the caller holds any of `roles` (admin holds all).
    pub fn has_any(&self, roles: &[Role]) -> bool {
        self.roles.contains(&Role::Admin) || self.roles.iter().any(|r| roles.contains(r))
    }

    /// 403 unless the caller holds one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), Problem> {
        if self.has_any(roles) {
            Ok(())
        } else {
            let names: Vec<String> = roles
                .iter()
                .map(|r| {
                    serde_json::to_value(r)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                })
                .collect();
            Err(Problem::forbidden(format!(
                "this needs one of the roles: {}",
                names.join(", ")
            )))
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    sub: String,
    roles: Vec<Role>,
}

/// The parsed token table.
#[derive(Debug, Clone, Default)]
pub struct Tokens(BTreeMap<String, Entry>);

/// Why the token table could not be read.
#[derive(Debug, thiserror::Error)]
#[error("api_tokens is not a valid token table: {0}")]
pub struct TokensError(String);

impl Tokens {
    /// Parses the `api_tokens` variable.
    pub fn parse(raw: &str) -> Result<Self, TokensError> {
        let map: BTreeMap<String, Entry> =
            serde_json::from_str(raw).map_err(|e| TokensError(e.to_string()))?;
        for hash in map.keys() {
            if hash.len() != 64
                || !hash
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Err(TokensError(format!(
                    "'{hash}' is not a lowercase hex SHA-256"
                )));
            }
        }
        Ok(Self(map))
    }

    /// Resolves an `Authorization` header value.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, Problem> {
        let Some(value) = authorization else {
            return Err(Problem::unauthorized("send Authorization: Bearer <token>"));
        };
        let Some(token) = value.strip_prefix("Bearer ").map(str::trim) else {
            return Err(Problem::unauthorized(
                "the Authorization scheme must be Bearer",
            ));
        };
        if token.is_empty() {
            return Err(Problem::unauthorized("empty bearer token"));
        }
        // Looking up by digest means the comparison never touches the token itself.
        match self.0.get(&token_hash(token)) {
            Some(e) => Ok(Principal {
                sub: e.sub.clone(),
                roles: e.roles.clone(),
            }),
            None => Err(Problem::unauthorized("unknown bearer token")),
        }
    }
}

impl Tokens {
    /// Who `sub` is now: every role the table grants it, over all its tokens, or
    /// `None` when no token names it. What a standing grant a user made (a calendar
    /// feed URL, which carries no bearer token) may still show is decided by this.
    pub fn principal_of(&self, sub: &str) -> Option<Principal> {
        let mut roles: Vec<Role> = Vec::new();
        let mut found = false;
        for e in self.0.values().filter(|e| e.sub == sub) {
            found = true;
            for r in &e.roles {
                if !roles.contains(r) {
                    roles.push(*r);
                }
            }
        }
        found.then(|| Principal {
            sub: sub.to_string(),
            roles,
        })
    }
}

/// Lowercase hex SHA-256 of a token, as stored in `api_tokens`.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        let raw = serde_json::json!({
            token_hash("ops-token"): {"sub": "olga", "roles": ["operations"]},
            token_hash("admin-token"): {"sub": "root", "roles": ["admin"]},
        });
        Tokens::parse(&raw.to_string()).expect("valid")
    }

    #[test]
    fn known_token_resolves_to_its_roles() {
        let p = tokens()
            .authenticate(Some("Bearer ops-token"))
            .expect("known");
        assert_eq!(p.sub, "olga");
        assert!(p.require(&[Role::Operations]).is_ok());
        assert_eq!(p.require(&[Role::Marketing]).unwrap_err().status, 403);
    }

    #[test]
    fn admin_holds_every_role() {
        let p = tokens()
            .authenticate(Some("Bearer admin-token"))
            .expect("known");
        assert!(p.require(&[Role::BrandReviewer]).is_ok());
    }

    #[test]
    fn missing_malformed_and_unknown_tokens_are_401() {
        let t = tokens();
        for h in [
            None,
            Some("Basic abc"),
            Some("Bearer "),
            Some("Bearer nope"),
        ] {
            assert_eq!(t.authenticate(h).unwrap_err().status, 401, "{h:?}");
        }
    }

    #[test]
    fn bad_tables_are_refused() {
        assert!(Tokens::parse("[]").is_err());
        assert!(Tokens::parse(r#"{"abc": {"sub": "x", "roles": []}}"#).is_err());
        let bad_role = serde_json::json!({ token_hash("t"): {"sub": "x", "roles": ["king"]} });
        assert!(Tokens::parse(&bad_role.to_string()).is_err());
    }
}
