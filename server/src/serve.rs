//! The accept loop: one client cannot take the server down.
//!
//! - A request's head must arrive within the client timeout, and so must the next one on an idle
//!   kept-alive connection (hyper's header read timeout: a slowloris or silent connection is closed).
//! - A body that sends nothing for the client timeout fails (tower-http's request body timeout).
//! - Connections are counted per client address and in all. Past either cap, an idle connection
//!   (between requests, or none sent yet) is closed to make room: one of the same client's when that
//!   client is at its cap, else one of the client holding the most. With none idle, the new
//!   connection is closed at once: one client cannot take every file descriptor.
//! - On the shutdown signal it stops accepting, lets the requests in progress finish, and closes
//!   whatever is left after the shutdown deadline.
//!
//! axum's own `serve` has none of these knobs, so the connections are served by hyper directly.

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
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
    /// How long a shutdown waits for the requests in progress.
    pub shutdown: Duration,
}

impl Default for ServeLimits {
    fn default() -> ServeLimits {
        ServeLimits {
            client_timeout: Duration::from_secs(5),
            per_client: 64,
            total: 512,
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
}

/// One open connection, as the accept loop counts it.
struct Open {
    client: IpAddr,
    conn: Arc<Conn>,
    /// It has been asked to close: it no longer counts against the caps.
    shedding: bool,
}

/// The open connections, and how many of them stay (not asked to close), by client address and in
/// all: what the caps are held against, kept as connections come and go so that an accept does not
/// count them.
#[derive(Default)]
struct Counts {
    open: HashMap<u64, Open>,
    staying_by_client: HashMap<IpAddr, usize>,
    staying: usize,
    next_id: u64,
}

impl Counts {
    /// One connection of `client` no longer stays.
    fn leave(&mut self, client: IpAddr) {
        self.staying -= 1;
        if let Some(n) = self.staying_by_client.get_mut(&client) {
            *n -= 1;
            if *n == 0 {
                self.staying_by_client.remove(&client);
            }
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
            if !c.shed_one(client, true) {
                return None;
            }
        } else if c.staying >= limits.total && !c.shed_one(client, false) {
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
        }
    }
}

/// The router, counting the requests in progress on one connection.
struct Tracked {
    inner: TowerToHyperService<Router>,
    conn: Arc<Conn>,
}

/// A request in progress; counted out when its answer is ready (or it is dropped).
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
        self.conn.busy.fetch_add(1, Ordering::SeqCst);
        let busy = Busy(Arc::clone(&self.conn));
        let answer = self.inner.call(request);
        Box::pin(async move {
            let answer = answer.await;
            drop(busy);
            answer
        })
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
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.client_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let mut closing = closing_seen.clone();
        tokio::spawn(async move {
            tokio::pin!(connection);
            let mut asked = false;
            loop {
                tokio::select! {
                    _ = connection.as_mut() => break,
                    () = slot.conn.shed.notified(), if !asked => {
                        connection.as_mut().graceful_shutdown();
                        asked = true;
                    }
                    _ = closing.wait_for(|closing| *closing), if !asked => {
                        connection.as_mut().graceful_shutdown();
                        asked = true;
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
