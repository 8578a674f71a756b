//! A scripted hostile HTTP server: answers every request with whatever the
//! test's handler returns (any status, headers, a body of given bytes, or a
//! huge generated body without Content-Length), and records what it was sent (method, path, headers) and how
//! many body bytes it produced. Tests use it as a foreign host behind a
//! redirect, a token realm, a Hub API or a whole fake registry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{combinators::BoxBody, BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};

pub type Body = BoxBody<Bytes, std::io::Error>;

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// A response body.
#[derive(Clone, Debug)]
pub enum CannedBody {
    Bytes(Vec<u8>),
    /// `len` copies of `byte`, produced lazily in 64 KiB chunks, no Content-Length.
    Repeat {
        prefix: Vec<u8>,
        byte: u8,
        len: u64,
    },
}

/// A whole response.
#[derive(Clone, Debug)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: CannedBody,
}

impl Canned {
    pub fn status(status: u16) -> Canned {
        Canned {
            status,
            headers: Vec::new(),
            body: CannedBody::Bytes(Vec::new()),
        }
    }

    pub fn json(status: u16, v: serde_json::Value) -> Canned {
        Canned::status(status)
            .header("content-type", "application/json")
            .body(v.to_string().into_bytes())
    }

    pub fn header(mut self, k: &str, v: &str) -> Canned {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }

    pub fn body(mut self, b: Vec<u8>) -> Canned {
        self.body = CannedBody::Bytes(b);
        self
    }

    pub fn repeat(mut self, prefix: &[u8], byte: u8, len: u64) -> Canned {
        self.body = CannedBody::Repeat {
            prefix: prefix.to_vec(),
            byte,
            len,
        };
        self
    }

    /// Builds the hyper response; `sent` counts body bytes produced.
    pub fn into_response(self, sent: Arc<Mutex<u64>>) -> Response<Body> {
        let mut b = Response::builder().status(self.status);
        for (k, v) in &self.headers {
            b = b.header(k.as_str(), v.as_str());
        }
        let count = move |n: usize| {
            if let Ok(mut s) = sent.lock() {
                *s += n as u64;
            }
        };
        let body: Body = match self.body {
            CannedBody::Bytes(v) => {
                count(v.len());
                http_body_util::Full::new(Bytes::from(v))
                    .map_err(|never| match never {})
                    .boxed()
            }
            CannedBody::Repeat { prefix, byte, len } => {
                const CHUNK: u64 = 64 * 1024;
                let chunk = Bytes::from(vec![byte; CHUNK as usize]);
                let n_chunks = len.div_ceil(CHUNK);
                let head = futures_util::stream::iter([Bytes::from(prefix)]);
                let rest = futures_util::stream::iter(0..n_chunks).map(move |i| {
                    let take = (len - i * CHUNK).min(CHUNK) as usize;
                    chunk.slice(..take)
                });
                let s = head.chain(rest).map(move |b| {
                    count(b.len());
                    Ok::<_, std::io::Error>(Frame::data(b))
                });
                BodyExt::boxed(StreamBody::new(s))
            }
        };
        b.body(body).expect("response")
    }
}

type Handler = dyn Fn(&Seen) -> Canned + Send + Sync;

#[derive(Default)]
struct State {
    log: Vec<Seen>,
}

/// A running hostile server on 127.0.0.1.
pub struct Hostile {
    pub port: u16,
    state: Arc<Mutex<State>>,
    sent: Arc<Mutex<u64>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Hostile {
    pub fn start(handler: impl Fn(&Seen) -> Canned + Send + Sync + 'static) -> Hostile {
        let handler: Arc<Handler> = Arc::new(handler);
        let state = Arc::new(Mutex::new(State::default()));
        let sent = Arc::new(Mutex::new(0u64));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let (st, sn) = (state.clone(), sent.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                loop {
                    tokio::select! {
                        _ = &mut rx => break,
                        acc = listener.accept() => {
                            let Ok((sock, _)) = acc else { continue };
                            let (st, sn, h) = (st.clone(), sn.clone(), handler.clone());
                            tokio::spawn(async move {
                                let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                                    let seen = Seen {
                                        method: req.method().to_string(),
                                        path: req
                                            .uri()
                                            .path_and_query()
                                            .map(|p| p.as_str().to_string())
                                            .unwrap_or_default(),
                                        headers: req
                                            .headers()
                                            .iter()
                                            .map(|(k, v)| {
                                                (
                                                    k.as_str().to_string(),
                                                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                                                )
                                            })
                                            .collect(),
                                    };
                                    let canned = h(&seen);
                                    if let Ok(mut s) = st.lock() {
                                        s.log.push(seen);
                                    }
                                    let resp = canned.into_response(sn.clone());
                                    async move {
                                        // Read (and drop) the request body first.
                                        let _ = req.into_body().collect().await;
                                        Ok::<_, std::convert::Infallible>(resp)
                                    }
                                });
                                let _ = hyper::server::conn::http1::Builder::new()
                                    .serve_connection(hyper_util::rt::TokioIo::new(sock), svc)
                                    .await;
                            });
                        }
                    }
                }
            });
            // Connections still open are dropped with the runtime.
            rt.shutdown_background();
        });
        Hostile {
            port,
            state,
            sent,
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request seen so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.state.lock().expect("state").log.clone()
    }

    /// Body bytes produced so far (what a client was made to read, at most).
    pub fn sent_bytes(&self) -> u64 {
        *self.sent.lock().expect("sent")
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
