//! HTTP route matching with the semantics of Spin's `routes` crate.
//!
//! Routes are `/exact/path`, `/with/:param/segments` and `/prefix/...` (a trailing
//! wildcard that also matches the bare prefix). When several routes match, the most
//! specific wins: segment by segment an exact segment beats a parameter, which beats
//! the wildcard; then the route with more segments. A later duplicate of the same
//! route replaces the earlier one, with a warning, as Spin does.

use anyhow::{Result, bail};
use std::collections::BTreeMap;

/// The reserved prefix Spin answers itself.
pub const WELL_KNOWN_PREFIX: &str = "/.well-known/spin/";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    Exact(String),
    Param(String),
}

/// A parsed route and what it leads to.
#[derive(Debug, Clone)]
pub struct Route {
    /// The component that handles it.
    pub component: String,
    /// The route as written in the manifest (without the app base).
    pub raw: String,
    /// The route with the app base applied.
    pub based: String,
    segments: Vec<Segment>,
    wildcard: bool,
}

impl Route {
    /// The route without the trailing `/...`, as Spin reports it in `spin-component-route`.
    pub fn raw_prefix(&self) -> &str {
        self.raw.strip_suffix("/...").unwrap_or(&self.raw)
    }

    /// The based route without its trailing `/...`.
    pub fn based_prefix(&self) -> &str {
        self.based.strip_suffix("/...").unwrap_or(&self.based)
    }

    /// Whether the route ends in a wildcard.
    pub fn is_wildcard(&self) -> bool {
        self.wildcard
    }
}

/// The route a request path matched, with what the match captured.
#[derive(Debug)]
pub struct RouteMatch<'r> {
    /// The matched route.
    pub route: &'r Route,
    /// `:name` captures.
    pub params: BTreeMap<String, String>,
    /// The part of the path after the route prefix (Spin's `spin-path-info`).
    pub path_info: String,
}

/// A duplicate that was replaced while building the router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateRoute {
    /// The route as written in the manifest.
    pub route: String,
    /// The component that lost the route.
    pub replaced: String,
    /// The component that now handles it.
    pub effective: String,
}

/// The application's routing table.
#[derive(Debug, Clone, Default)]
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    /// Builds the table from `(component, route)` pairs in manifest order.
    pub fn build<'a>(
        base: &str,
        entries: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(Self, Vec<DuplicateRoute>)> {
        let mut routes: Vec<Route> = Vec::new();
        let mut duplicates = Vec::new();
        for (component, raw) in entries {
            let based = format!(
                "{}{}",
                strip_one_slash(base),
                strip_one_slash(&absolutize(raw))
            );
            let (segments, wildcard) = parse_pattern(&based).map_err(|e| {
                anyhow::anyhow!(
                    "Error parsing route {raw} associated with component {component}: {e}"
                )
            })?;
            let route = Route {
                component: component.to_string(),
                raw: raw.to_string(),
                based,
                segments,
                wildcard,
            };
            if let Some(existing) = routes.iter_mut().find(|r| r.raw == route.raw) {
                duplicates.push(DuplicateRoute {
                    route: route.raw.clone(),
                    replaced: existing.component.clone(),
                    effective: route.component.clone(),
                });
                *existing = route;
            } else {
                routes.push(route);
            }
        }
        Ok((Self { routes }, duplicates))
    }

    /// All routes, in manifest order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The best route for `path`, if any.
    pub fn route(&self, path: &str) -> Option<RouteMatch<'_>> {
        let parts: Vec<&str> = split(path);
        self.routes
            .iter()
            .filter_map(|route| {
                let params = matches(route, &parts)?;
                Some((route, params))
            })
            .min_by(|(a, _), (b, _)| specificity(a).cmp(&specificity(b)))
            .map(|(route, params)| {
                let path_info = if route.wildcard {
                    let rest = &parts[route.segments.len()..];
                    match (rest.is_empty(), path.ends_with('/')) {
                        (true, false) => String::new(),
                        (true, true) => "/".to_string(),
                        (false, false) => format!("/{}", rest.join("/")),
                        (false, true) => format!("/{}/", rest.join("/")),
                    }
                } else {
                    String::new()
                };
                RouteMatch {
                    route,
                    params,
                    path_info,
                }
            })
    }
}

/// Sort key: smaller is more specific.
fn specificity(route: &Route) -> (Vec<u8>, std::cmp::Reverse<usize>) {
    let mut ranks: Vec<u8> = route
        .segments
        .iter()
        .map(|s| match s {
            Segment::Exact(_) => 0,
            Segment::Param(_) => 1,
        })
        .collect();
    if route.wildcard {
        ranks.push(2);
    }
    (ranks, std::cmp::Reverse(route.segments.len()))
}

fn matches(route: &Route, parts: &[&str]) -> Option<BTreeMap<String, String>> {
    if parts.len() < route.segments.len()
        || (!route.wildcard && parts.len() != route.segments.len())
    {
        return None;
    }
    let mut params = BTreeMap::new();
    for (segment, part) in route.segments.iter().zip(parts) {
        match segment {
            Segment::Exact(s) if s == part => {}
            Segment::Exact(_) => return None,
            Segment::Param(name) => {
                params.insert(name.clone(), (*part).to_string());
            }
        }
    }
    Some(params)
}

fn split(path: &str) -> Vec<&str> {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        Vec::new()
    } else {
        trimmed.split('/').collect()
    }
}

fn parse_pattern(based: &str) -> Result<(Vec<Segment>, bool)> {
    let (body, wildcard) = match based.strip_suffix("/...") {
        Some(prefix) => (prefix, true),
        None => match based.strip_suffix("/*") {
            Some(prefix) => (prefix, true),
            None => (based, false),
        },
    };
    let mut segments = Vec::new();
    for part in split(body) {
        if part == "..." || part == "*" {
            bail!("a wildcard may only end a route");
        }
        match part.strip_prefix(':') {
            Some("") => bail!("a parameter needs a name"),
            Some(name) => segments.push(Segment::Param(name.to_string())),
            None => segments.push(Segment::Exact(part.to_string())),
        }
    }
    Ok((segments, wildcard))
}

fn absolutize(s: &str) -> String {
    if s.starts_with('/') {
        s.to_string()
    } else {
        format!("/{s}")
    }
}

fn strip_one_slash(s: &str) -> &str {
    s.strip_suffix('/').unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[(&str, &str)]) -> Router {
        Router::build("/", routes.iter().copied()).expect("valid").0
    }

    fn target(r: &Router, path: &str) -> Option<String> {
        r.route(path).map(|m| m.route.component.clone())
    }

    #[test]
    fn wildcard_matches_prefix_with_and_without_slash_but_not_siblings() {
        let r = router(&[("x", "/api/x/...")]);
        for path in ["/api/x", "/api/x/", "/api/x/a/b"] {
            assert_eq!(target(&r, path).as_deref(), Some("x"), "{path}");
        }
        assert_eq!(target(&r, "/api/xy"), None);
        assert_eq!(target(&r, "/api"), None);
    }

    #[test]
    fn params_match_one_segment_only() {
        let r = router(&[("y", "/api/y/:id/z")]);
        let m = r.route("/api/y/7/z").expect("match");
        assert_eq!(m.params["id"], "7");
        assert!(r.route("/api/y/7/z/extra").is_none());
        assert!(r.route("/api/y/z").is_none());
    }

    #[test]
    fn most_specific_route_wins() {
        let r = router(&[
            ("wild", "/..."),
            ("api", "/api/..."),
            ("item", "/api/items/:id"),
            ("new", "/api/items/new"),
            ("deep", "/api/items/:id/..."),
        ]);
        assert_eq!(target(&r, "/").as_deref(), Some("wild"));
        assert_eq!(target(&r, "/other").as_deref(), Some("wild"));
        assert_eq!(target(&r, "/api/things").as_deref(), Some("api"));
        assert_eq!(target(&r, "/api/items/new").as_deref(), Some("new"));
        assert_eq!(target(&r, "/api/items/42").as_deref(), Some("item"));
        assert_eq!(target(&r, "/api/items/42/a").as_deref(), Some("deep"));
    }

    #[test]
    fn exact_route_matches_with_trailing_slash() {
        let r = router(&[("e", "/exact")]);
        assert_eq!(target(&r, "/exact/").as_deref(), Some("e"));
        assert_eq!(target(&r, "/exact/more"), None);
    }

    #[test]
    fn path_info_follows_spin() {
        let r = router(&[("i", "/api/items/:id/...")]);
        assert_eq!(r.route("/api/items/42/a/b").expect("m").path_info, "/a/b");
        assert_eq!(r.route("/api/items/42").expect("m").path_info, "");
        assert_eq!(r.route("/api/items/42/").expect("m").path_info, "/");
        assert_eq!(r.route("/api/items/42/a/").expect("m").path_info, "/a/");
        assert_eq!(r.routes()[0].raw_prefix(), "/api/items/:id");
    }

    #[test]
    fn duplicate_route_is_replaced_and_reported() {
        let (r, dups) = Router::build("/", [("a", "/same"), ("b", "/same")]).expect("valid");
        assert_eq!(target(&r, "/same").as_deref(), Some("b"));
        assert_eq!(
            dups,
            vec![DuplicateRoute {
                route: "/same".into(),
                replaced: "a".into(),
                effective: "b".into()
            }]
        );
    }

    #[test]
    fn base_is_prefixed() {
        let (r, _) = Router::build("/base/", [("a", "/x/...")]).expect("valid");
        assert_eq!(target(&r, "/base/x/1").as_deref(), Some("a"));
        assert_eq!(target(&r, "/x/1"), None);
    }

    #[test]
    fn misplaced_wildcard_is_refused() {
        assert!(Router::build("/", [("a", "/x/.../y")]).is_err());
    }
}
