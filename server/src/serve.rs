//! The accept loop: one client cannot take the server down.
//!
//! - A request's head must arrive within the client timeout, and so must the next one on an idle
//!   kept-alive connection (hyper's header read timeout: a slowloris or silent connection is closed).
//! - A body that sends nothing for the client timeout fails (tower-http's request body timeout).
//! - An answer the client does not read for the write timeout is cut (a download nobody reads holds
//!   no descriptor for ever).
//! - Connections are counted per client address and in all, from accept until closed. Past either
//!   cap, an idle connection (between requests, or none sent yet) is asked to close to make room: one
//!   of the same client's when that client is at its cap, else one of the client holding the most. A
//!   connection asked to close still counts (as closing, at most as many as the cap again) until it
//!   is closed, and it is cut after the client timeout if it has not closed by then. With none idle,
//!   the new connection is closed at once: one client cannot take every file descriptor.
//! - A request counts as in progress until its answer's last byte is written, not only until the
//!   answer is ready: a download under way is not idle.
//! - On the shutdown signal it stops accepting, lets the requests in progress finish, and closes
//!   whatever is left after the shutdown deadline.
//!
//! axum's own `serve` has none of these knobs, so the connections are served by hyper directly.

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper::Request;
use http_body_util::BodyExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tower_http::timeout::RequestBodyTimeoutLayer;

/// How long clients may take, and how many connections they may hold.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    /// For a request's head (also the wait for the next request on an idle connection), and for
    /// each piece of a body.
    pub client_timeout: Duration,
    /// Open connections from one client address at most.
    pub per_client: usize,
    /// Open connections at most.
    pub total: usize,
    /// How long an answer may wait for the client to read any of it.
    pub write_timeout: Duration,
    /// How long a shutdown waits for the requests in progress.
    pub shutdown: Duration,
}

impl Default for ServeLimits {
    fn default() -> ServeLimits {
        ServeLimits {
            client_timeout: Duration::from_secs(5),
            per_client: 64,
            total: 512,
            write_timeout: Duration::from_secs(30),
            shutdown: Duration::from_secs(5),
        }
    }
}

/// What a connection's task and the accept loop share.
#[derive(Default)]
struct Conn {
    /// Requests being answered on it now: 0 is idle (between requests, or none sent yet).
    busy: AtomicUsize,
    /// Wakes its task to close it (once idle: hyper's graceful shutdown of one connection).
    shed: Notify,
    /// It was asked to close: a request that still comes on it is not served.
    asked: std::sync::atomic::AtomicBool,
}

/// One open connection, as the accept loop counts it.
struct Open {
    client: IpAddr,
    conn: Arc<Conn>,
    /// It has been asked to close: it no longer counts against the caps.
    shedding: bool,
}

/// The open connections, and how many of them stay (not asked to close) and are closing, by client
/// address and in all: what the caps are held against, kept as connections come and go so that an
/// accept does not count them.
#[derive(Default)]
struct Counts {
    open: HashMap<u64, Open>,
    staying_by_client: HashMap<IpAddr, usize>,
    staying: usize,
    closing_by_client: HashMap<IpAddr, usize>,
    closing: usize,
    next_id: u64,
}

/// One less for `client` in `by_client`.
fn decrement(by_client: &mut HashMap<IpAddr, usize>, client: IpAddr) {
    if let Some(n) = by_client.get_mut(&client) {
        *n -= 1;
        if *n == 0 {
            by_client.remove(&client);
        }
    }
}

impl Counts {
    /// One connection of `client` no longer stays: it is closing.
    fn leave(&mut self, client: IpAddr) {
        self.staying -= 1;
        decrement(&mut self.staying_by_client, client);
        self.closing += 1;
        *self.closing_by_client.entry(client).or_insert(0) += 1;
    }

    /// A connection of `client` that was closing is closed.
    fn closed(&mut self, client: IpAddr) {
        self.closing -= 1;
        decrement(&mut self.closing_by_client, client);
    }

    /// Whether another connection may be asked to close for `client` (`own`: one of its own): the
    /// closing ones count until they are closed, at most as many as the cap again.
    fn may_close(&self, client: IpAddr, own: bool, limits: &ServeLimits) -> bool {
        match own {
            true => self.closing_by_client.get(&client).copied().unwrap_or(0) < limits.per_client,
            false => self.closing < limits.total,
        }
    }

    /// Asks an idle connection to close, to make room for one from `client`: one of `client`'s own
    /// when `client` is at its cap (`own`), else one of the client that holds the most. Whether it
    /// found one.
    fn shed_one(&mut self, client: IpAddr, own: bool) -> bool {
        let idle = self.open.iter().filter(|(_, o)| {
            !o.shedding && (!own || o.client == client) && o.conn.busy.load(Ordering::SeqCst) == 0
        });
        let victim = idle.max_by_key(|(_, o)| self.staying_by_client.get(&o.client).copied().unwrap_or(0)).map(|(id, _)| *id);
        let Some(o) = victim.and_then(|id| self.open.get_mut(&id)) else {
            return false;
        };
        o.shedding = true;
        o.conn.asked.store(true, Ordering::SeqCst);
        o.conn.shed.notify_one();
        let client = o.client;
        self.leave(client);
        true
    }
}

/// One counted connection; uncounted when dropped.
struct Slot {
    counts: Arc<Mutex<Counts>>,
    id: u64,
    conn: Arc<Conn>,
}

impl Slot {
    /// A place for a connection from `client`. Past a cap, an idle connection (of the same client
    /// when that client is at its cap) is asked to close to make room; with none idle, `None`.
    fn take(counts: &Arc<Mutex<Counts>>, client: IpAddr, limits: &ServeLimits) -> Option<Slot> {
        let mut c = counts.lock().unwrap_or_else(|p| p.into_inner());
        if c.staying_by_client.get(&client).copied().unwrap_or(0) >= limits.per_client {
            if !c.may_close(client, true, limits) || !c.shed_one(client, true) {
                return None;
            }
        } else if c.staying >= limits.total && (!c.may_close(client, false, limits) || !c.shed_one(client, false)) {
            return None;
        }
        *c.staying_by_client.entry(client).or_insert(0) += 1;
        c.staying += 1;
        let id = c.next_id;
        c.next_id += 1;
        let conn = Arc::new(Conn::default());
        c.open.insert(id, Open { client, conn: Arc::clone(&conn), shedding: false });
        Some(Slot { counts: Arc::clone(counts), id, conn })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(o) = c.open.remove(&self.id) {
            if !o.shedding {
                c.leave(o.client);
            }
            c.closed(o.client);
        }
    }
}

/// The router, counting the requests in progress on one connection.
struct Tracked {
    inner: TowerToHyperService<Router>,
    conn: Arc<Conn>,
}

/// A request in progress; counted out when its answer's body is done (or dropped).
struct Busy(Arc<Conn>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

type Answered = Result<axum::response::Response<Body>, std::convert::Infallible>;

impl hyper::service::Service<Request<Incoming>> for Tracked {
    type Response = axum::response::Response<Body>;
    type Error = std::convert::Infallible;
    type Future = Pin<Box<dyn Future<Output = Answered> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        if self.conn.asked.load(Ordering::SeqCst) {
            // Its head came after it was asked to close: not served (no file opened, no part read
            // on a connection that is going), and the client tries again on a new one.
            let answer = axum::response::Response::builder()
                .status(hyper::StatusCode::SERVICE_UNAVAILABLE)
                .header(hyper::header::CONNECTION, "close")
                .header(hyper::header::RETRY_AFTER, "1")
                .body(Body::from("closing to make room for other connections; retry\n"))
                .unwrap_or_default();
            return Box::pin(async move { Ok(answer) });
        }
        self.conn.busy.fetch_add(1, Ordering::SeqCst);
        let busy = Busy(Arc::clone(&self.conn));
        let answer = self.inner.call(request);
        Box::pin(async move {
            let answer = answer.await?;
            // Busy until hyper drops the body: once written, or with the connection.
            Ok(answer.map(|body| Body::new(body.map_frame(move |frame| {
                let _ = &busy;
                frame
            }))))
        })
    }
}

/// hyper's read and write buffer limit: a request head up to this size, and as much of an answer
/// waiting for a slow reader.
const MAX_BUF: usize = 64 * 1024;

/// Since when a connection's writes have not gone through (none: they do).
#[derive(Clone)]
struct Stalled(Arc<Mutex<Option<Instant>>>);

impl Stalled {
    fn longer_than(&self, limit: Duration) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).is_some_and(|since| since.elapsed() > limit)
    }

    /// A write went through (`true`) or had to wait (`false`).
    fn note(&self, wrote: bool) {
        let mut since = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match wrote {
            true => *since = None,
            false => {
                since.get_or_insert_with(Instant::now);
            }
        }
    }
}

/// A socket that notes when its writes stop going through.
struct Watched {
    io: TcpStream,
    stalled: Stalled,
}

impl Watched {
    fn new(io: TcpStream) -> (Watched, Stalled) {
        let stalled = Stalled(Arc::new(Mutex::new(None)));
        (Watched { io, stalled: stalled.clone() }, stalled)
    }

    fn note<T>(&self, poll: Poll<std::io::Result<T>>) -> Poll<std::io::Result<T>> {
        self.stalled.note(poll.is_ready());
        poll
    }
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write(cx, buf);
        self.note(poll)
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[std::io::IoSlice<'_>]) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.note(poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then for at most the shutdown
/// deadline. Returns how many connections the deadline cut.
pub async fn serve(listener: TcpListener, router: Router, limits: ServeLimits, shutdown: impl Future<Output = ()>) -> usize {
    let router = router.layer(RequestBodyTimeoutLayer::new(limits.client_timeout));
    let counts = Arc::new(Mutex::new(Counts::default()));
    let (closing, closing_seen) = watch::channel(false);
    let mut refused_logged = false;
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors, most likely: let connections close, then go on.
                    eprintln!("vod-server: accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(slot) = Slot::take(&counts, peer.ip(), &limits) else {
            if !refused_logged {
                eprintln!("vod-server: connection from {} refused: too many open connections, none idle", peer.ip());
                refused_logged = true;
            }
            continue;
        };
        refused_logged = false;
        let service = Tracked { inner: TowerToHyperService::new(router.clone()), conn: Arc::clone(&slot.conn) };
        let (io, stalled) = Watched::new(stream);
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.client_timeout)
            // What an answer nobody reads can hold in memory (hyper's default is about 400 KiB).
            .max_buf_size(MAX_BUF)
            .serve_connection(TokioIo::new(io), service);
        let mut closing = closing_seen.clone();
        tokio::spawn(async move {
            tokio::pin!(connection);
            let mut asked: Option<Instant> = None;
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = connection.as_mut() => break,
                    () = slot.conn.shed.notified(), if asked.is_none() => {
                        connection.as_mut().graceful_shutdown();
                        asked = Some(Instant::now());
                    }
                    _ = closing.wait_for(|closing| *closing), if asked.is_none() => {
                        connection.as_mut().graceful_shutdown();
                        // The shutdown deadline cuts it, not the one of a connection asked to make room.
                        asked = Some(Instant::now() + limits.shutdown);
                    }
                    _ = tick.tick() => {
                        // An answer the client does not read, or a connection asked to close that
                        // did not: dropped, which closes the socket.
                        if stalled.longer_than(limits.write_timeout)
                            || asked.is_some_and(|at| at.elapsed() > limits.client_timeout)
                        {
                            break;
                        }
                    }
                }
            }
            drop(slot);
        });
    }
    drop(listener);
    // Every connection closes once its request in progress is answered; the deadline cuts the rest.
    let _ = closing.send(true);
    let deadline = Instant::now() + limits.shutdown;
    loop {
        let open = counts.lock().unwrap_or_else(|p| p.into_inner()).open.len();
        if open == 0 || Instant::now() >= deadline {
            return open;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
