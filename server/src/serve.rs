//! The accept loop: one client cannot take the server down.
//!
//! - A request's head must arrive within the client timeout, and so must the next one on an idle
//!   kept-alive connection (hyper's header read timeout: a slowloris or silent connection is closed).
//! - A body that sends nothing for the client timeout fails (tower-http's request body timeout).
//! - Connections are counted per client address and in all: past either cap, a new connection is
//!   closed at once, so one client cannot take every file descriptor.
//! - On the shutdown signal it stops accepting, lets the requests in progress finish, and closes
//!   whatever is left after the shutdown deadline.
//!
//! axum's own `serve` has none of these knobs, so the connections are served by hyper directly.

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
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

/// The open connections, by client address.
#[derive(Default)]
struct Counts {
    by_client: HashMap<IpAddr, usize>,
    total: usize,
}

/// One counted connection; uncounted when dropped.
struct Slot {
    counts: Arc<Mutex<Counts>>,
    client: IpAddr,
}

impl Slot {
    fn take(counts: &Arc<Mutex<Counts>>, client: IpAddr, limits: &ServeLimits) -> Option<Slot> {
        let mut c = counts.lock().unwrap_or_else(|p| p.into_inner());
        let mine = c.by_client.get(&client).copied().unwrap_or(0);
        if mine >= limits.per_client || c.total >= limits.total {
            return None;
        }
        c.by_client.insert(client, mine + 1);
        c.total += 1;
        Some(Slot { counts: Arc::clone(counts), client })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        c.total -= 1;
        if let Some(n) = c.by_client.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                c.by_client.remove(&self.client);
            }
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then for at most the shutdown
/// deadline. Returns how many connections the deadline cut.
pub async fn serve(listener: TcpListener, router: Router, limits: ServeLimits, shutdown: impl Future<Output = ()>) -> usize {
    let router = router.layer(RequestBodyTimeoutLayer::new(limits.client_timeout));
    let counts = Arc::new(Mutex::new(Counts::default()));
    let graceful = GracefulShutdown::new();
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
                eprintln!("vod-server: connection from {} refused: too many open connections", peer.ip());
                refused_logged = true;
            }
            continue;
        };
        refused_logged = false;
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.client_timeout)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(router.clone()));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    let open = counts.lock().unwrap_or_else(|p| p.into_inner()).total;
    tokio::select! {
        () = graceful.shutdown() => 0,
        () = tokio::time::sleep(limits.shutdown) => open,
    }
}
