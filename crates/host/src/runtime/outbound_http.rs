//! Outbound `wasi:http` requests: the allow-list, `http://self`, and local service
//! chaining to `http://<component>.spin.internal`, served in-process without a socket.

use super::durability::Durability;
use super::{HostBody, Runtime};
use crate::outbound::{AllowList, default_port};
use http_body_util::BodyExt;
use std::sync::Arc;
use wasmtime_wasi_http::p3::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::p3::{RequestOptions, WasiHttpHooks};

type HttpError = wasmtime_wasi::TrappableError<ErrorCode>;

const CHAINING_SUFFIX: &str = ".spin.internal";

/// Per-instance hooks: which component is calling, and what it may reach.
pub struct OutboundHooks {
    component: Arc<str>,
    allow: Arc<AllowList>,
    runtime: Arc<Runtime>,
    durability: Arc<Durability>,
}

impl OutboundHooks {
    pub(super) fn new(
        component: Arc<str>,
        allow: Arc<AllowList>,
        runtime: Arc<Runtime>,
        durability: Arc<Durability>,
    ) -> Self {
        Self {
            component,
            allow,
            runtime,
            durability,
        }
    }
}

type IoFuture = Box<dyn Future<Output = Result<(), ErrorCode>> + Send>;
type SendFuture =
    Box<dyn Future<Output = Result<(http::Response<HostBody>, IoFuture), HttpError>> + Send>;

fn ready_io() -> IoFuture {
    Box::new(async { Ok(()) })
}

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<HostBody>,
        options: Option<RequestOptions>,
        _fut: IoFuture,
    ) -> SendFuture {
        let runtime = self.runtime.clone();
        let allow = self.allow.clone();
        let caller = self.component.clone();
        let durability = self.durability.clone();
        Box::new(async move {
            if runtime.shared.faults.outbound_refused() {
                return Err(ErrorCode::HttpRequestDenied.into());
            }
            // What the request tells another service must not rest on writes a
            // crash could still undo; its body may stream on while the component
            // works, so from now on each KV call settles itself too.
            if let Err(e) = durability.before_going_out().await {
                eprintln!(
                    "component \"{caller}\": outbound request held back: store not durable: {e}"
                );
                return Err(
                    ErrorCode::InternalError(Some(format!("store not durable: {e}"))).into(),
                );
            }
            let uri = request.uri().clone();
            let scheme = uri.scheme_str().unwrap_or("https").to_ascii_lowercase();
            let host = uri
                .host()
                .ok_or(HttpError::from(ErrorCode::HttpRequestUriInvalid))?
                .to_ascii_lowercase();
            let port = uri
                .port_u16()
                .or_else(|| default_port(&scheme))
                .ok_or(HttpError::from(ErrorCode::HttpRequestUriInvalid))?;
            if !allow.allows(&scheme, &host, port) {
                eprintln!(
                    "component \"{caller}\": outbound request to {scheme}://{host}:{port} denied: not in allowed_outbound_hosts"
                );
                return Err(ErrorCode::HttpRequestDenied.into());
            }
            if let Some(target) = host.strip_suffix(CHAINING_SUFFIX) {
                if !runtime.has_component(target) {
                    return Err(ErrorCode::DestinationNotFound.into());
                }
                let req = crate::http_trigger::chained_request(request, target);
                let resp = runtime.handle_http(target, req).await;
                return Ok((resp, ready_io()));
            }
            if host == "self" {
                let Some(m) = runtime.router.route(uri.path()) else {
                    let resp = super::plain(404, "Not Found");
                    return Ok((resp, ready_io()));
                };
                let component = m.route.component.as_str();
                let req = crate::http_trigger::routed_request(request, m, None, Some("self"));
                let resp = runtime.handle_http(component, req).await;
                return Ok((resp, ready_io()));
            }
            let (resp, io) = wasmtime_wasi_http::p3::default_send_request(request, options).await?;
            let resp = resp.map(|b| b.boxed_unsync());
            Ok((resp, Box::new(io) as IoFuture))
        })
    }
}
