//! The HTTP conventions every opsflow component follows (docs/design.md §3 "API conventions"),
//! with no dependency on spin-sdk so they are tested natively:
//! problem+json errors, bearer-token roles, JSON bodies with limits, ETags,
//! sortable ids, cursor pages, CSV exports and a small path router.
#![forbid(unsafe_code)]

pub mod auth;
pub mod conditional;
pub mod csv;
pub mod idempotency;
pub mod ids;
pub mod openapi;
pub mod paging;
pub mod problem;
pub mod request;
pub mod response;
pub mod roles;
pub mod route;
mod store_errors;
pub mod time;

pub use auth::{Principal, Role, Tokens};
pub use problem::{FieldError, Problem, ProblemDoc};
pub use request::ApiRequest;
pub use response::ApiResponse;
pub use route::{Access, Operation, RouteDef, def};
