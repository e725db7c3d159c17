//! A component's route table as data, dispatching to a typed operation.
//!
//! Each component declares its operations once with [`operations!`](crate::operations):
//! an enum whose variants carry their OpenAPI `operationId` and the roles allowed to
//! call them. The route table maps (method, path template) to a variant; the
//! component dispatches with an exhaustive `match`, so a missing handler is a build
//! error, and the tests check the same table against the OpenAPI document.
//!
//! Routing is by specificity, as Spin routes components: among the path templates
//! that match, literal segments outrank parameters, left to right
//! (`/api/resources/allocations` beats `/api/resources/{id}`), so table order never
//! decides which handler runs. Two routes with the same method and the same template
//! shape are a table error ([`check_table`]).

use crate::auth::Role;
use crate::problem::Problem;
use std::cmp::Ordering;

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No bearer token (public documents, signature-checked webhooks).
    Public,
    /// A bearer token holding one of these roles (admin holds them all).
    Roles(&'static [Role]),
}

/// A component's operation: one variant per OpenAPI operation.
pub trait Operation: Copy + Eq + std::fmt::Debug + 'static {
    /// The OpenAPI `operationId`.
    fn id(self) -> &'static str;
    /// Who may call it.
    fn access(self) -> Access;
}

/// Declares a component's operations: the enum, its `operationId`s and its access.
///
/// ```
/// use opsflow_api::{operations, route::{Access, Operation}, roles};
/// operations! {
///     /// This component's operations.
///     pub enum Op {
///         ListThings = "list_things" => Access::Roles(roles::EVERYONE),
///         Document = "document" => Access::Public,
///     }
/// }
/// assert_eq!(Op::ListThings.id(), "list_things");
/// assert_eq!(Op::ALL.len(), 2);
/// ```
#[macro_export]
macro_rules! operations {
    ($(#[$meta:meta])* $vis:vis enum $name:ident {
        $($(#[$vmeta:meta])* $variant:ident = $id:literal => $access:expr),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every operation, in declaration order.
            #[allow(dead_code)]
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
        }

        impl $crate::route::Operation for $name {
            fn id(self) -> &'static str {
                match self {
                    $($name::$variant => $id),+
                }
            }
            fn access(self) -> $crate::route::Access {
                #[allow(unused_imports)]
                use $crate::route::Access;
                match self {
                    $($name::$variant => $access),+
                }
            }
        }
    };
}

/// One route: method and path template to an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteDef<Op> {
    /// HTTP method, upper case.
    pub method: &'static str,
    /// OpenAPI-style path template, e.g. `/api/campaigns/{id}/transitions`.
    pub path: &'static str,
    /// The operation it runs.
    pub op: Op,
}

/// Shorthand for table entries.
pub const fn def<Op>(method: &'static str, path: &'static str, op: Op) -> RouteDef<Op> {
    RouteDef { method, path, op }
}

/// Finds the operation for a request: `404 no-route` when no path matches, `405` when
/// the most specific matching path exists with other methods (listing them in
/// `allow`). Returns the operation and the path parameters in order.
pub fn find<Op: Copy>(
    table: &[RouteDef<Op>],
    method: &str,
    path: &str,
) -> Result<(Op, Vec<String>), Problem> {
    let best = table
        .iter()
        .filter_map(|r| matches(r.path, path).map(|params| (r, params)))
        .max_by(|(a, _), (b, _)| specificity(a.path, b.path));
    let Some((best, _)) = best else {
        return Err(Problem::new(
            404,
            "no-route",
            "Not found",
            format!("no route for {path}"),
        ));
    };
    let same_path = table.iter().filter(|r| r.path == best.path);
    let mut allowed = Vec::new();
    for r in same_path {
        if r.method.eq_ignore_ascii_case(method) {
            let params = matches(r.path, path).unwrap_or_default();
            return Ok((r.op, params.into_iter().map(str::to_string).collect()));
        }
        allowed.push(r.method);
    }
    Err(Problem::method_not_allowed(format!(
        "{method} is not allowed here; use {}",
        allowed.join(", ")
    ))
    .with("allow", serde_json::json!(allowed)))
}

/// Orders two templates that match the same path: at the first segment where one
/// is literal and the other a parameter, the literal one is more specific.
fn specificity(a: &str, b: &str) -> Ordering {
    for (x, y) in segments(a).zip(segments(b)) {
        match (is_param(x), is_param(y)) {
            (false, true) => return Ordering::Greater,
            (true, false) => return Ordering::Less,
            _ => {}
        }
    }
    Ordering::Equal
}

fn segments(template: &str) -> impl Iterator<Item = &str> {
    template.trim_matches('/').split('/')
}

fn is_param(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

/// The template with parameter names erased: `/a/{id}` and `/a/{name}` are one shape.
fn shape(template: &str) -> String {
    segments(template)
        .map(|s| if is_param(s) { "{}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

/// Refuses a table in which two routes share a method and a template shape (one of
/// them could never run).
pub fn check_table<Op: Operation>(table: &[RouteDef<Op>]) -> Result<(), String> {
    for (i, a) in table.iter().enumerate() {
        for b in &table[i + 1..] {
            if a.method == b.method && shape(a.path) == shape(b.path) {
                return Err(format!(
                    "duplicate route {} {} ({} and {})",
                    a.method,
                    a.path,
                    a.op.id(),
                    b.op.id()
                ));
            }
        }
    }
    Ok(())
}

/// A concrete path that reaches `template` (each parameter filled with a value no
/// literal segment uses), for reachability checks.
pub fn example_path(template: &str) -> String {
    let filled: Vec<String> = segments(template)
        .enumerate()
        .map(|(i, s)| {
            if is_param(s) {
                format!("p{i}-01JX")
            } else {
                s.to_string()
            }
        })
        .collect();
    format!("/{}", filled.join("/"))
}

/// Matches `path` against a template like `/api/campaigns/{id}/transitions`,
/// returning the parameter values in order.
pub fn matches<'a>(pattern: &str, path: &'a str) -> Option<Vec<&'a str>> {
    let mut params = Vec::new();
    let mut pat = segments(pattern);
    let mut parts = path
        .trim_end_matches('/')
        .trim_start_matches('/')
        .split('/');
    loop {
        match (pat.next(), parts.next()) {
            (None, None) => return Some(params),
            (Some(p), Some(s)) if is_param(p) => {
                if s.is_empty() {
                    return None;
                }
                params.push(s);
            }
            (Some(p), Some(s)) if p == s => {}
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roles;

    crate::operations! {
        enum TestOp {
            GetA = "get_a" => Access::Roles(roles::EVERYONE),
            PutA = "put_a" => Access::Roles(roles::OPERATIONS),
            ListB = "list_b" => Access::Public,
            GetB = "get_b" => Access::Public,
            DeleteB = "delete_b" => Access::Public,
        }
    }

    #[test]
    fn literal_and_param_segments() {
        assert_eq!(matches("/api/c/{id}", "/api/c/42"), Some(vec!["42"]));
        assert_eq!(matches("/api/c/{id}", "/api/c/42/"), Some(vec!["42"]));
        assert_eq!(matches("/api/c", "/api/c"), Some(vec![]));
        assert_eq!(matches("/api/c/{id}", "/api/c"), None);
        assert_eq!(matches("/api/c/{id}", "/api/c//"), None);
        assert_eq!(matches("/api/c/{id}/x", "/api/c/1/y"), None);
        assert_eq!(matches("/api/c/{id}", "/api/c/1/extra"), None);
    }

    #[test]
    fn find_distinguishes_404_and_405() {
        const T: &[RouteDef<TestOp>] = &[
            def("GET", "/a/{id}", TestOp::GetA),
            def("PUT", "/a/{id}", TestOp::PutA),
        ];
        let (op, p) = find(T, "PUT", "/a/7").expect("found");
        assert_eq!((op, p), (TestOp::PutA, vec!["7".to_string()]));
        let refused = find(T, "DELETE", "/a/7").unwrap_err();
        assert_eq!(refused.status, 405);
        let answer = crate::response::ApiResponse::problem(refused.clone());
        assert!(
            answer
                .headers
                .iter()
                .any(|(k, v)| k == "allow" && v == "GET, PUT"),
            "405 carries Allow (RFC 9110): {:?}",
            answer.headers
        );
        assert_eq!(refused.extra["allow"], serde_json::json!(["GET", "PUT"]));
        assert_eq!(find(T, "GET", "/b").unwrap_err().status, 404);
    }

    #[test]
    fn literal_segments_win_whatever_the_table_order() {
        let parameter_first: &[RouteDef<TestOp>] = &[
            def("GET", "/b/{id}", TestOp::GetB),
            def("DELETE", "/b/{id}", TestOp::DeleteB),
            def("GET", "/b/list", TestOp::ListB),
        ];
        let literal_first: Vec<RouteDef<TestOp>> = parameter_first.iter().rev().copied().collect();
        for table in [parameter_first, literal_first.as_slice()] {
            assert_eq!(
                find(table, "GET", "/b/list").expect("found").0,
                TestOp::ListB
            );
            assert_eq!(find(table, "GET", "/b/7").expect("found").0, TestOp::GetB);
            // The literal path exists only with GET: DELETE is a 405 there, not a
            // delete of an item called "list".
            assert_eq!(find(table, "DELETE", "/b/list").unwrap_err().status, 405);
        }
    }

    #[test]
    fn duplicate_shapes_are_refused_and_every_route_is_reachable() {
        let dup = [
            def("GET", "/a/{id}", TestOp::GetA),
            def("GET", "/a/{name}", TestOp::GetB),
        ];
        assert!(
            check_table(&dup)
                .unwrap_err()
                .contains("duplicate route GET /a/{id}")
        );
        let ok = [
            def("GET", "/b/{id}", TestOp::GetB),
            def("GET", "/b/list", TestOp::ListB),
        ];
        check_table(&ok).expect("distinct");
        for r in ok {
            assert_eq!(
                find(&ok, r.method, &example_path(r.path))
                    .expect("reachable")
                    .0,
                r.op
            );
        }
    }

    #[test]
    fn declared_operations_know_their_ids_and_access() {
        assert_eq!(TestOp::ALL.len(), 5);
        assert_eq!(TestOp::PutA.id(), "put_a");
        assert_eq!(TestOp::PutA.access(), Access::Roles(roles::OPERATIONS));
        assert_eq!(TestOp::ListB.access(), Access::Public);
    }
}
