//! Where a Spin request becomes an [`ApiRequest`] and an [`ApiResponse`] goes back.
//!
//! Components call [`serve`] from their `#[http_service]` entry point; everything
//! after that is plain Rust over `opsflow-api` types. No error escapes as a trap:
//! a body over the limit is a 413, anything unexpected a problem document.
#![forbid(unsafe_code)]

pub mod handlers;

use futures::StreamExt;
use opsflow_api::{ApiRequest, ApiResponse, Problem};
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{FullBody, Request, Response};

/// Largest body any endpoint reads; endpoints may set lower limits.
pub const MAX_BODY: usize = 1024 * 1024;

/// Reads the request (body up to `limit` bytes) and runs `handler`.
pub async fn serve<F, Fut>(
    req: Request,
    limit: usize,
    handler: F,
) -> Response<FullBody<bytes::Bytes>>
where
    F: FnOnce(ApiRequest) -> Fut,
    Fut: std::future::Future<Output = ApiResponse>,
{
    let response = match read(req, limit).await {
        Ok(api) => {
            let method = api.method.clone();
            let if_none_match = api.header("if-none-match").map(str::to_string);
            let answer = handler(api).await;
            opsflow_api::conditional::conditional(&method, if_none_match.as_deref(), answer)
        }
        Err(problem) => problem.into(),
    };
    into_spin(response)
}

/// Reads method, path, query, headers and at most `limit` body bytes.
pub async fn read(req: Request, limit: usize) -> Result<ApiRequest, Problem> {
    let (parts, body) = req.into_parts();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_string(), v.to_string()))
        })
        .collect();
    if let Some(len) = parts
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && len > limit
    {
        return Err(Problem::too_large(limit));
    }
    let mut bytes = Vec::new();
    let mut stream = body.stream();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| Problem::bad_request(format!("could not read the body: {e:?}")))?;
        if bytes.len() + chunk.len() > limit {
            return Err(Problem::too_large(limit));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(ApiRequest::new(
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query().unwrap_or(""),
        headers,
        bytes,
    ))
}

/// Converts a response for the runtime.
pub fn into_spin(resp: ApiResponse) -> Response<FullBody<bytes::Bytes>> {
    let mut builder = Response::builder().status(resp.status);
    for (k, v) in &resp.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    match builder.body(FullBody::new(bytes::Bytes::from(resp.body))) {
        Ok(r) => r,
        Err(_) => {
            let mut r = Response::new(FullBody::new(bytes::Bytes::from_static(b"{}")));
            *r.status_mut() = spin_sdk::http::StatusCode::INTERNAL_SERVER_ERROR;
            r
        }
    }
}

/// A Spin variable, or `None` when unset or undefined.
pub async fn variable(name: &str) -> Option<String> {
    spin_sdk::variables::get(name)
        .await
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// The token table (`api_tokens`): 503 when unset or unreadable.
pub async fn tokens() -> Result<opsflow_api::Tokens, Problem> {
    let Some(raw) = variable("api_tokens").await else {
        return Err(Problem::unavailable("api_tokens is not configured"));
    };
    opsflow_api::Tokens::parse(&raw)
        .map_err(|e| Problem::new(503, "misconfigured", "Service misconfigured", e.to_string()))
}

/// The caller behind the request's bearer token, resolved through `api_tokens`.
pub async fn authenticate(req: &ApiRequest) -> Result<opsflow_api::Principal, Problem> {
    tokens().await?.authenticate(req.header("authorization"))
}

/// A request matched to one of a component's operations, with its caller.
pub struct Routed<Op> {
    /// The operation.
    pub op: Op,
    /// The path parameters, in order.
    pub params: Vec<String>,
    /// The authenticated caller; `None` for a public operation.
    pub who: Option<opsflow_api::Principal>,
}

/// Matches the request against `table` (404/405 first, so probing an unknown path
/// needs no token), then applies the operation's [`Access`](opsflow_api::Access):
/// a public one needs no token; otherwise the caller is authenticated (401) and
/// must hold one of the operation's roles (403).
pub async fn route_authenticated<Op: opsflow_api::Operation>(
    table: &[opsflow_api::RouteDef<Op>],
    req: &ApiRequest,
) -> Result<Routed<Op>, Problem> {
    let (op, params) = opsflow_api::route::find(table, &req.method, &req.path)?;
    let who = match op.access() {
        opsflow_api::Access::Public => None,
        opsflow_api::Access::Roles(roles) => {
            let who = authenticate(req).await?;
            who.require(roles)?;
            Some(who)
        }
    };
    Ok(Routed { op, params, who })
}

/// One request being served by an operation that needs a caller: what every
/// handler reads (the request, its path parameters, who calls and when the request
/// began) and the store it works on. Every component's handlers take this one type.
pub struct Ctx {
    /// The request (method, path, query, headers, body).
    pub req: ApiRequest,
    /// The route's path parameters, in order.
    pub params: Vec<String>,
    /// The authenticated caller, already checked against the operation's roles.
    pub who: opsflow_api::Principal,
    /// When the request began: one instant for every timestamp the request writes.
    pub now: chrono::DateTime<chrono::Utc>,
    /// The app's default key-value store.
    pub kv: opsflow_store::spin::SpinKv,
}

impl Ctx {
    /// The context of `req` for `who`, starting now, on the default store.
    pub fn new(req: ApiRequest, params: Vec<String>, who: opsflow_api::Principal) -> Self {
        Self {
            req,
            params,
            who,
            now: chrono::Utc::now(),
            kv: opsflow_store::spin::SpinKv::default_store(),
        }
    }

    /// The first path parameter (the `{id}` of most routes); empty for a route
    /// without parameters.
    pub fn id(&self) -> &str {
        self.params.first().map(String::as_str).unwrap_or_default()
    }
}

/// [`route_authenticated`] for a component whose every operation needs a caller:
/// the operation and the request's [`Ctx`].
pub async fn route_signed_in<Op: opsflow_api::Operation>(
    table: &[opsflow_api::RouteDef<Op>],
    req: ApiRequest,
) -> Result<(Op, Ctx), Problem> {
    let routed = route_authenticated(table, &req).await?;
    let who = caller(routed.who)?;
    Ok((routed.op, Ctx::new(req, routed.params, who)))
}

/// The caller of an operation that is not public.
pub fn caller(who: Option<opsflow_api::Principal>) -> Result<opsflow_api::Principal, Problem> {
    who.ok_or_else(|| Problem::unauthorized("this operation needs a bearer token"))
}
