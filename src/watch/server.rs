//! The HTTP endpoints of `sync --watch` on `--listen` (hyper, HTTP/1.1):
//! `GET`/`HEAD` only, bounded connections, header and connection timeouts.
//! It answers from a handler the caller gives, and runs inside the caller's
//! task (no spawn), so the handler may borrow the caller's state. Imports
//! nothing of crossdock but `error`; never prints.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

/// Open connections beyond this are closed at once.
const MAX_CONNECTIONS: usize = 64;
/// A connection lives at most this long.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);
/// Headers must arrive within this.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// What the handler is asked.
#[derive(Clone, Copy, Debug)]
pub struct Ask<'a> {
    /// The request path (no query).
    pub path: &'a str,
    /// The `Accept` header, or "".
    pub accept: &'a str,
}

/// What the handler answers.
#[derive(Clone, Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Body.
    pub body: String,
}

impl Answer {
    /// A plain-text answer.
    pub fn text(status: u16, body: impl Into<String>) -> Answer {
        Answer {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
        }
    }
}

fn respond<H: Fn(Ask<'_>) -> Answer>(
    handler: &H,
    req: &Request<Incoming>,
) -> Response<Full<Bytes>> {
    let answer = if req.method() == Method::GET || req.method() == Method::HEAD {
        let accept = req
            .headers()
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        handler(Ask {
            path: req.uri().path(),
            accept,
        })
    } else {
        Answer::text(405, "only GET and HEAD\n")
    };
    let mut resp = Response::new(Full::new(Bytes::from(answer.body)));
    *resp.status_mut() =
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(answer.content_type));
    resp
}

/// Serves `listener` until the future is dropped.
pub async fn serve<H>(listener: TcpListener, handler: H)
where
    H: Fn(Ask<'_>) -> Answer,
{
    let handler = &handler;
    let mut conns = FuturesUnordered::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((s, _)) => s,
                    // Out of descriptors and the like: let the others finish first.
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                if conns.len() >= MAX_CONNECTIONS {
                    drop(stream);
                    continue;
                }
                let _ = stream.set_nodelay(true);
                let svc = service_fn(move |req: Request<Incoming>| async move {
                    Ok::<_, Infallible>(respond(handler, &req))
                });
                let conn = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), svc);
                conns.push(tokio::time::timeout(CONNECTION_TIMEOUT, conn));
            }
            Some(_) = conns.next(), if !conns.is_empty() => {}
        }
    }
}
