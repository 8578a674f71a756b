//! A fault-injecting HTTP proxy in front of a registry: forwards every
//! request (streaming both ways, Host kept so upload Locations point back at
//! the proxy), counts requests, and injects faults by rule: an HTTP status
//! (429/503 with Retry-After), a connection reset before answering, a reset
//! in the middle of a response body, a delay, a redirect to another host
//! name (to check that credentials are not forwarded across hosts) or to any
//! URL, a canned response (see `hostile.rs`), or a body that stalls.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use http_body_util::{BodyExt, Empty, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};

use crate::hostile::{Body, Canned};

#[derive(Clone, Debug)]
pub enum Fault {
    Status(u16, Option<u64>),
    Reset,
    ResetBodyAfter(usize),
    Delay(Duration),
    /// 307 to `http://localhost:PORT/__cdn<path>`.
    RedirectToOtherHost,
    /// 429 with the spec's generic throttle body (`TOOMANYREQUESTS`, as
    /// ECR, GHCR, Harbor and Quay send) and this raw `Retry-After` value.
    TooMany(Option<String>),
    /// 401 with this `WWW-Authenticate` challenge (a token that expired).
    Unauthorized(String),
    /// 307 to `<base><path>` (another server altogether).
    RedirectTo(String),
    /// Answer this instead of forwarding.
    Respond(Canned),
    /// Forward, but stop sending the body after this many bytes (and hang).
    StallBodyAfter(usize),
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub method: &'static str,
    pub path_contains: &'static str,
    pub fault: Fault,
    /// How many times it fires (usize::MAX = always).
    pub times: usize,
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    fired: Vec<usize>,
    counts: HashMap<String, usize>,
    log: Vec<String>,
    /// Authorization seen on redirected (/__cdn) requests.
    cdn_auth: Vec<bool>,
    saved_auth: HashMap<String, String>,
}

pub struct Proxy {
    pub port: u16,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    /// Starts a proxy to `127.0.0.1:upstream`.
    pub fn start(upstream: u16, rules: Vec<Rule>) -> Proxy {
        let state = Arc::new(Mutex::new(State {
            fired: vec![0; rules.len()],
            rules,
            ..Default::default()
        }));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let st = state.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let client = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .expect("client");
                loop {
                    tokio::select! {
                        _ = &mut rx => break,
                        acc = listener.accept() => {
                            let Ok((sock, _)) = acc else { continue };
                            let st = st.clone();
                            let client = client.clone();
                            tokio::spawn(async move {
                                let svc = hyper::service::service_fn(move |req| {
                                    handle(req, upstream, port, st.clone(), client.clone())
                                });
                                let _ = hyper::server::conn::http1::Builder::new()
                                    .serve_connection(hyper_util::rt::TokioIo::new(sock), svc)
                                    .await;
                            });
                        }
                    }
                }
            });
        });
        Proxy {
            port,
            state,
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Requests seen whose "METHOD path" contains `needle`.
    pub fn count(&self, method: &str, needle: &str) -> usize {
        let s = self.state.lock().expect("state");
        s.counts
            .iter()
            .filter(|(k, _)| k.starts_with(&format!("{method} ")) && k.contains(needle))
            .map(|(_, v)| v)
            .sum()
    }

    /// How many times rule `i` fired.
    pub fn fired(&self, i: usize) -> usize {
        self.state.lock().expect("state").fired[i]
    }

    /// Whether each redirected request carried an Authorization header.
    pub fn cdn_auth(&self) -> Vec<bool> {
        self.state.lock().expect("state").cdn_auth.clone()
    }

    pub fn log(&self) -> Vec<String> {
        self.state.lock().expect("state").log.clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn empty() -> Body {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed()
}

#[derive(Debug)]
struct Abort;
impl std::fmt::Display for Abort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("injected connection reset")
    }
}
impl std::error::Error for Abort {}

/// An answer of the proxy's own: a status, headers and a JSON body.
fn json_answer(
    status: u16,
    headers: &[(&str, String)],
    body: &'static str,
) -> Result<Response<Body>, Abort> {
    let mut b = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    for (k, v) in headers {
        b = b.header(*k, v.as_str());
    }
    b.body(
        http_body_util::Full::new(Bytes::from_static(body.as_bytes()))
            .map_err(|never| match never {})
            .boxed(),
    )
    .map_err(|_| Abort)
}

async fn handle(
    req: Request<Incoming>,
    upstream: u16,
    self_port: u16,
    state: Arc<Mutex<State>>,
    client: reqwest::Client,
) -> Result<Response<Body>, Abort> {
    let method = req.method().to_string();
    let mut path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let mut via_cdn = false;
    if let Some(rest) = path.strip_prefix("/__cdn") {
        path = rest.to_string();
        via_cdn = true;
    }
    let fault = {
        let mut s = state.lock().map_err(|_| Abort)?;
        let key = format!("{method} {}", path.split('?').next().unwrap_or(""));
        *s.counts.entry(key.clone()).or_default() += 1;
        s.log.push(key);
        if via_cdn {
            let has = req.headers().contains_key("authorization");
            s.cdn_auth.push(has);
            None
        } else {
            let mut hit = None;
            for i in 0..s.rules.len() {
                let r = &s.rules[i];
                if r.method == method && path.contains(r.path_contains) && s.fired[i] < r.times {
                    hit = Some((i, r.fault.clone()));
                    break;
                }
            }
            if let Some((i, _)) = hit {
                s.fired[i] += 1;
            }
            hit.map(|(_, f)| f)
        }
    };
    let mut reset_after = None;
    let mut stall_after = None;
    match fault {
        Some(Fault::Respond(c)) => return Ok(c.into_response(Arc::new(Mutex::new(0)))),
        Some(Fault::RedirectTo(base)) => {
            return Response::builder()
                .status(307)
                .header("location", format!("{base}{path}"))
                .body(empty())
                .map_err(|_| Abort)
        }
        Some(Fault::StallBodyAfter(n)) => stall_after = Some(n),
        Some(Fault::Status(code, retry_after)) => {
            let mut b = Response::builder().status(code);
            if let Some(s) = retry_after {
                b = b.header("retry-after", s.to_string());
            }
            return b
                .header("content-type", "application/json")
                .body(
                    http_body_util::Full::new(Bytes::from(format!(
                        r#"{{"errors":[{{"code":"INJECTED","message":"injected {code}"}}]}}"#
                    )))
                    .map_err(|never| match never {})
                    .boxed(),
                )
                .map_err(|_| Abort);
        }
        Some(Fault::TooMany(retry_after)) => {
            let headers: Vec<_> = retry_after
                .map(|v| ("retry-after", v))
                .into_iter()
                .collect();
            return json_answer(
                429,
                &headers,
                r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"Rate exceeded"}]}"#,
            );
        }
        Some(Fault::Unauthorized(challenge)) => {
            return json_answer(
                401,
                &[("www-authenticate", challenge)],
                r#"{"errors":[{"code":"UNAUTHORIZED","message":"token expired"}]}"#,
            );
        }
        Some(Fault::Reset) => return Err(Abort),
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        Some(Fault::ResetBodyAfter(n)) => reset_after = Some(n),
        Some(Fault::RedirectToOtherHost) => {
            if let Some(a) = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
            {
                state
                    .lock()
                    .map_err(|_| Abort)?
                    .saved_auth
                    .insert(path.clone(), a.to_string());
            }
            return Response::builder()
                .status(307)
                .header(
                    "location",
                    format!("http://localhost:{self_port}/__cdn{path}"),
                )
                .body(empty())
                .map_err(|_| Abort);
        }
        None => {}
    }

    // Forward.
    let url = format!("http://127.0.0.1:{upstream}{path}");
    let (parts, body) = req.into_parts();
    let mut fwd = client.request(parts.method.clone(), &url);
    for (k, v) in parts.headers.iter() {
        if k == "host" && via_cdn {
            continue;
        }
        fwd = fwd.header(k, v);
    }
    if via_cdn {
        // The "CDN" serves with the credentials the registry saw (as a
        // pre-signed URL would), never with the client's.
        fwd = fwd.header("host", format!("127.0.0.1:{self_port}"));
        if let Some(a) = state
            .lock()
            .map_err(|_| Abort)?
            .saved_auth
            .get(&path)
            .cloned()
        {
            fwd = fwd.header("authorization", a);
        }
    }
    let stream = body
        .into_data_stream()
        .map_err(|e| std::io::Error::other(e.to_string()));
    fwd = fwd.body(reqwest::Body::wrap_stream(stream));
    let resp = fwd.send().await.map_err(|_| Abort)?;
    let mut out = Response::builder().status(resp.status().as_u16());
    for (k, v) in resp.headers() {
        out = out.header(k.as_str(), v.as_bytes());
    }
    let mut sent = 0usize;
    let body_stream = resp
        .bytes_stream()
        .map_err(|e| std::io::Error::other(e.to_string()))
        .map(move |chunk| {
            let chunk = chunk?;
            if let Some(limit) = reset_after {
                if sent + chunk.len() > limit {
                    return Err(std::io::Error::other("injected reset mid-body"));
                }
            }
            sent += chunk.len();
            Ok(Frame::data(chunk))
        });
    match stall_after {
        Some(limit) => {
            // Pass `limit` bytes, then never another.
            let mut passed = 0usize;
            let head = body_stream.take_while(move |c| {
                let go = passed < limit;
                if let Ok(f) = c {
                    passed += f.data_ref().map(|d| d.len()).unwrap_or(0);
                }
                futures_util::future::ready(go)
            });
            let s = head.chain(futures_util::stream::pending());
            out.body(BodyExt::boxed(StreamBody::new(s)))
                .map_err(|_| Abort)
        }
        None => out
            .body(BodyExt::boxed(StreamBody::new(body_stream)))
            .map_err(|_| Abort),
    }
}
