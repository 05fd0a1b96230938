//! Upgrading a request of a hyper server (hyper 1, and so axum 0.8) to a
//! framewire connection. Feature `hyper`.
//!
//! [`upgrade`] (or [`upgrade_with`], with a decision hook) gives the answer
//! to return from the service, the `101 Switching Protocols` or the refusal
//! with its status, headers and body, and an [`UpgradeFut`] that resolves,
//! once hyper has sent the 101 and hands over the connection, to a
//! [`WebSocket`] over [`TokioIo`]`<`[`hyper::upgrade::Upgraded`]`>`. The request
//! is checked and answered by the core's handshake machine
//! ([`PendingRequest::from_request`], then `accept` or `decline`), exactly as
//! [`crate::accept`] does on a raw transport: nothing is parsed here.
//!
//! Why a feature, off by default: most users of [`crate::accept`] and
//! [`crate::connect`] have no hyper in their program, and should not compile
//! hyper, hyper-util and http-body-util for a module they do not call. hyper
//! is taken with no feature of its own (only its upgrade types are used);
//! the server's own hyper decides HTTP/1 or HTTP/2.
//!
//! ```no_run
//! use framewire_server::upgrade::{upgrade, UpgradeResponse};
//! use framewire_server::{AcceptConfig, Message};
//!
//! // The body of a hyper `service_fn` (serve the connection `.with_upgrades()`).
//! async fn handle<B>(mut req: http::Request<B>) -> Result<UpgradeResponse, std::convert::Infallible> {
//!     let (response, ws) = match upgrade(&mut req, &AcceptConfig::default()) {
//!         Ok(accepted) => accepted,
//!         Err(declined) => return Ok(declined.response), // 400, 426, ... saying why
//!     };
//!     tokio::spawn(async move {
//!         let Ok(mut ws) = ws.await else { return };
//!         while let Some(Ok(msg)) = ws.recv().await {
//!             if let Message::Text(_) | Message::Binary(_) = msg {
//!                 let _ = ws.send(msg).await;
//!             }
//!         }
//!     });
//!     Ok(response)
//! }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use framewire_core::handshake::{
    Acceptance, HandshakeError, HandshakeInfo, HttpResponse, PendingRequest, Request,
};
use framewire_core::{Bytes, Connection};
use http_body_util::Full;
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;

use crate::error::{Error, Result};
use crate::handshake::AcceptConfig;
use crate::stream::WebSocket;

/// The response a service returns for an upgrade request: the 101, or the
/// refusal. Its body is a `Full<Bytes>` (empty for the 101), which hyper
/// serves as it is and axum takes as a response (`IntoResponse`).
pub type UpgradeResponse = http::Response<Full<Bytes>>;

/// The connection once hyper hands it over.
pub type HyperWebSocket = WebSocket<TokioIo<Upgraded>>;

/// An upgrade request that is not answered with a 101: return
/// [`Self::response`] from the service.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
#[error("upgrade declined with status {}", .response.status())]
pub struct Declined {
    /// The answer, with the status, headers and body the core's machine (or
    /// the decision hook) chose: 400, 403, 426, ... with a body that says why.
    pub response: UpgradeResponse,
    /// Why, when the machine refused on its own (not an upgrade, a bad key,
    /// a hook's invalid choice); `None` when the hook declined.
    pub error: Option<HandshakeError>,
}

impl From<Declined> for UpgradeResponse {
    fn from(d: Declined) -> Self {
        d.response
    }
}

/// Resolves, once hyper has written the 101 and hands the connection over,
/// to the [`WebSocket`]. It resolves only after the service's response went
/// out, so spawn it (do not await it inside the service). Fails with
/// [`Error::Upgrade`] when hyper has no connection to give (a server not
/// serving `with_upgrades()`, or the client left).
#[derive(Debug)]
#[must_use = "the connection arrives through this future"]
pub struct UpgradeFut {
    on_upgrade: OnUpgrade,
    /// The connection and what was settled, until the transport arrives.
    accepted: Option<(Connection, HandshakeInfo)>,
}

impl Future for UpgradeFut {
    type Output = Result<HyperWebSocket>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let upgraded = ready!(Pin::new(&mut this.on_upgrade).poll(cx)).map_err(Error::Upgrade)?;
        let Some((connection, info)) = this.accepted.take() else {
            return Poll::Ready(Err(Error::Closed));
        };
        Poll::Ready(Ok(WebSocket::from_connection(
            TokioIo::new(upgraded),
            connection,
            info,
        )))
    }
}

/// Answers an upgrade request of a hyper (or axum) server: any path, the
/// configured subprotocols, origins and permessage-deflate. Returns the 101
/// to return from the service and the future of the connection, or the
/// refusal to return instead. Use [`upgrade_with`] to decide per request.
#[allow(
    clippy::result_large_err,
    reason = "the Ok value (the 101 and the connection) is larger still; boxing the refusal would add an allocation, once per request, for nothing"
)]
pub fn upgrade<B>(
    req: &mut http::Request<B>,
    cfg: &AcceptConfig,
) -> std::result::Result<(UpgradeResponse, UpgradeFut), Declined> {
    upgrade_with(req, cfg, |_| Ok(Acceptance::default()))
}

/// Like [`upgrade`], but shows the request to `decide` first (as
/// [`crate::accept_with`] does): it returns the [`Acceptance`] (the
/// subprotocol, extra 101 headers such as cookies) or an [`HttpResponse`] to
/// answer instead, which gives a [`Declined`] with that response and no error.
#[allow(
    clippy::result_large_err,
    reason = "the Ok value (the 101 and the connection) is larger still; boxing the refusal would add an allocation, once per request, for nothing"
)]
pub fn upgrade_with<B, F>(
    req: &mut http::Request<B>,
    cfg: &AcceptConfig,
    decide: F,
) -> std::result::Result<(UpgradeResponse, UpgradeFut), Declined>
where
    F: FnOnce(&http::Request<B>) -> std::result::Result<Acceptance, HttpResponse>,
{
    let pending = PendingRequest::from_request(
        cfg.ws.clone(),
        cfg.handshake.clone(),
        Request::from_http(req),
    );
    let outcome = match decide(req) {
        Ok(acceptance) => pending.accept(acceptance),
        Err(response) => Err(pending.decline(response)),
    };
    let upgraded = match outcome {
        Ok(u) => u,
        Err(d) => {
            let response = d.to_http_response().map_or_else(
                |e| internal_error(&e.to_string()),
                |r| r.map(|body| Full::new(Bytes::from(body))),
            );
            return Err(Declined {
                response,
                error: d.error,
            });
        }
    };
    let response = match upgraded.to_http_response() {
        Ok(r) => r.map(|()| Full::default()),
        Err(e) => {
            return Err(Declined {
                response: internal_error(&e.to_string()),
                error: None,
            })
        }
    };
    let on_upgrade = hyper::upgrade::on(req);
    Ok((
        response,
        UpgradeFut {
            on_upgrade,
            accepted: Some((upgraded.connection, upgraded.info)),
        },
    ))
}

/// A 500 for an answer that could not be converted (a bug, said in the body).
fn internal_error(why: &str) -> UpgradeResponse {
    let mut response = http::Response::new(Full::new(Bytes::from(format!("{why}\n"))));
    *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
    response
}
