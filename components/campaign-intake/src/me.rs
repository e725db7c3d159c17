//! `GET /api/me`: who the bearer token belongs to, so the dashboard can show the
//! signed-in user and offer only the actions their roles allow (the API still
//! decides every request).

use opsflow_api::{ApiResponse, Principal};

/// The caller's user id and roles; never cached.
pub fn respond(who: Principal) -> ApiResponse {
    ApiResponse::json(
        200,
        &serde_json::json!({ "sub": who.sub, "roles": who.roles }),
    )
    .with_header("cache-control", "no-store")
}
