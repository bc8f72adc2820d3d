//! A fault-injecting TCP proxy in front of the test database, for tests of
//! writes whose outcome the client cannot know.
//!
//! When a connection fails after a statement was sent, the statement may or
//! may not have committed. Killing the backend (`pg_terminate_backend`) only
//! produces the "did not commit" half of that. [`Proxy`] produces the other
//! half: it forwards the client's statement to PostgreSQL, lets the server
//! run it to the end (an autocommit statement commits when its `Sync` is
//! processed, before the server sends `ReadyForQuery`), withholds the
//! server's whole answer, then closes the client's connection. The client
//! sees a broken connection; the row is in the table.
//!
//! ```ignore
//! let proxy = Proxy::start().await;
//! let pool = proxy.pool().await; // connections go through the proxy
//! proxy.arm(Fault::after_execute().containing("INSERT INTO accounts"));
//! let err = sqlx::query("INSERT INTO accounts ...").execute(&pool).await.unwrap_err();
//! let fired = proxy.fired(); // what the server said and the client never saw
//! assert_eq!(fired[0].withheld.command_tags, ["INSERT 0 1"]);
//! ```
//!
//! # How the trigger is exact
//!
//! The proxy parses PostgreSQL's framing on both sides: the untyped startup
//! packets first (a 4-byte big-endian length that counts itself, then a
//! protocol code), then typed messages (one type byte, then such a length).
//! It answers `SSLRequest` and `GSSENCRequest` itself with `N`, so the
//! session stays plaintext and readable. Connections made by [`Proxy::pool`]
//! disable TLS anyway.
//!
//! sqlx runs a statement with bind parameters in the extended protocol:
//! `Parse`+`Describe`+`Sync` the first time (preparing, nothing runs), then
//! `Bind`+`Execute`+`Close`+`Sync` each time. A statement without parameters
//! run through `Executor::execute(&str)`, and sqlx's own `COMMIT` and
//! `ROLLBACK`, go as one simple `Query` message. The proxy remembers the SQL
//! text of each `Parse` and which statement each `Bind` put in which portal,
//! so a [`Fault`] can name the SQL of the statement an `Execute` runs.
//!
//! Once a message matches the armed fault, on that connection the proxy:
//!
//! 1. forwards the client's messages up to and including the next one that
//!    makes the server answer with `ReadyForQuery` (`Sync`, `Query` or
//!    `FunctionCall`; for a `Query` that is the message itself), and nothing
//!    after it;
//! 2. withholds everything the server sends from then on, noting command
//!    tags, the SQLSTATE of an error and the transaction status
//!    ([`Withheld`]);
//! 3. when the server's `ReadyForQuery` answering that message arrives (the
//!    proxy counts them, so a `ReadyForQuery` answering an earlier `Sync`
//!    does not count), or after [`Fault::reply_wait`] without one, records a
//!    [`Fired`] and closes both connections.
//!
//! The record is stored before the client's socket is closed, so a test that
//! got the client's error can read [`Proxy::fired`] right away.
//!
//! # Bounds
//!
//! The proxy listens on 127.0.0.1 with a port the OS picks, accepts only
//! loopback peers, and forwards only to loopback addresses (it panics when
//! `DATABASE_URL` names another host or a Unix socket). It holds at most
//! [`MAX_CONNECTIONS`] connections at once (more are closed on accept),
//! refuses messages over [`MAX_MESSAGE`] bytes, stops accepting after
//! [`LIFETIME`], and stops everything when the [`Proxy`] is dropped: the
//! accept task is aborted and with it every connection task.

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

/// Connections the proxy holds at once; further ones are closed on accept.
pub const MAX_CONNECTIONS: usize = 16;

/// How long a proxy accepts connections. A test that runs longer than this
/// has a bug; the proxy should not outlive it.
pub const LIFETIME: Duration = Duration::from_secs(300);

/// Largest message the proxy relays (PostgreSQL allows up to 1 GiB; tests
/// stay far below). A longer length prefix closes the connection.
pub const MAX_MESSAGE: usize = 64 << 20;

/// Default of [`Fault::reply_wait`]: how long a tripped fault waits for the
/// server's `ReadyForQuery` before closing anyway.
pub const REPLY_WAIT: Duration = Duration::from_secs(5);

/// Connections per pool made by [`Proxy::pool`].
pub const POOL_CONNECTIONS: u32 = 2;

/// Bound on connecting to PostgreSQL, on the startup packets, and on
/// acquiring a connection from [`Proxy::pool`].
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// PostgreSQL caps startup packets at 10,000 bytes.
const MAX_STARTUP: usize = 10_000;
const CANCEL_REQUEST: u32 = 80_877_102;
const SSL_REQUEST: u32 = 80_877_103;
const GSSENC_REQUEST: u32 = 80_877_104;

/// A TCP proxy between the tests and PostgreSQL that can drop a connection
/// right after the server has answered a chosen statement. See the
/// [module documentation](self).
///
/// Dropping it stops it: no more connections are accepted and open ones are
/// closed.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

#[derive(Debug)]
struct Shared {
    armed: Mutex<Option<Fault>>,
    fired: Mutex<Vec<Fired>>,
    fired_count: watch::Sender<usize>,
    accepted: AtomicU64,
}

/// Which message trips a [`Fault`], and optionally which SQL it must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    on: On,
    sql_contains: Option<String>,
    reply_wait: Duration,
}

/// The message kinds a [`Fault`] can trip on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum On {
    /// An extended-protocol `Execute` (`E`): a statement with bind
    /// parameters, run by sqlx as `Bind`+`Execute`+`Close`+`Sync`.
    Execute,
    /// A simple-protocol `Query` (`Q`): sqlx's `COMMIT`/`ROLLBACK`, and
    /// `execute` of a `&str` without arguments.
    Query,
    /// Either of them.
    Statement,
}

impl Fault {
    /// Trips on the next `Execute` message, on any connection.
    pub fn after_execute() -> Self {
        Self::on(On::Execute)
    }

    /// Trips on the next simple `Query` message, on any connection.
    pub fn after_query() -> Self {
        Self::on(On::Query)
    }

    /// Trips on the next `Execute` or `Query` message, on any connection.
    pub fn after_statement() -> Self {
        Self::on(On::Statement)
    }

    fn on(on: On) -> Self {
        Self {
            on,
            sql_contains: None,
            reply_wait: REPLY_WAIT,
        }
    }

    /// Trips only when the statement's SQL text contains `sql` (for an
    /// `Execute`, the text of the prepared statement its portal runs).
    pub fn containing(mut self, sql: impl Into<String>) -> Self {
        self.sql_contains = Some(sql.into());
        self
    }

    /// How long to wait for the server's `ReadyForQuery` once tripped before
    /// closing anyway ([`REPLY_WAIT`] unless set).
    pub fn reply_wait(mut self, wait: Duration) -> Self {
        self.reply_wait = wait;
        self
    }

    /// What trips it.
    pub fn trips_on(&self) -> On {
        self.on
    }

    fn matches(&self, kind: u8, sql: Option<&str>) -> bool {
        let kind_ok = matches!(
            (self.on, kind),
            (On::Execute | On::Statement, b'E') | (On::Query | On::Statement, b'Q')
        );
        kind_ok
            && match &self.sql_contains {
                None => true,
                Some(needle) => sql.is_some_and(|sql| sql.contains(needle.as_str())),
            }
    }
}

/// A fault that fired: the statement the client sent and what the server
/// answered instead of the client seeing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    /// The fault that fired.
    pub fault: Fault,
    /// The message that tripped it: `b'E'` (`Execute`) or `b'Q'` (`Query`).
    pub message: u8,
    /// The statement's SQL text, when the proxy saw it (`None` for an
    /// `Execute` of a statement prepared before the proxy saw it, which
    /// cannot happen for connections made through the proxy).
    pub sql: Option<String>,
    /// What the server sent after the trip, none of which reached the client.
    pub withheld: Withheld,
}

/// Server messages withheld from the client after a fault tripped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Withheld {
    /// Tags of `CommandComplete` messages, e.g. `"INSERT 0 1"`, `"COMMIT"`.
    pub command_tags: Vec<String>,
    /// SQLSTATEs of `ErrorResponse` messages.
    pub errors: Vec<String>,
    /// The transaction status in the awaited `ReadyForQuery`: `b'I'` idle
    /// (an autocommit statement or a `COMMIT` has committed), `b'T'` in a
    /// transaction, `b'E'` in a failed transaction; `None` when it did not
    /// arrive within [`Fault::reply_wait`] (outcome unknown even to the
    /// proxy).
    pub ready: Option<u8>,
    /// Messages withheld, `ReadyForQuery` included.
    pub messages: usize,
}

impl Withheld {
    /// The server finished the statement without error and ended up outside
    /// any transaction: what it did is committed.
    pub fn committed(&self) -> bool {
        self.ready == Some(b'I') && self.errors.is_empty() && !self.command_tags.is_empty()
    }
}

impl Proxy {
    /// Starts a proxy to the test database ([`crate::database_url`]), which
    /// is created and migrated first if needed.
    ///
    /// # Panics
    /// When the database URL does not name a loopback TCP address, or the
    /// proxy cannot listen on 127.0.0.1.
    pub async fn start() -> Proxy {
        crate::prepared().await;
        let options = crate::parse(&crate::database_url());
        let upstream = upstream(&options).await;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap_or_else(|e| panic!("the proxy cannot listen on 127.0.0.1: {e}"));
        let addr = listener.local_addr().expect("the proxy's address");
        let shared = Arc::new(Shared {
            armed: Mutex::new(None),
            fired: Mutex::new(Vec::new()),
            fired_count: watch::Sender::new(0),
            accepted: AtomicU64::new(0),
        });
        let accept = tokio::spawn(accept_loop(listener, upstream, Arc::clone(&shared)));
        Proxy {
            addr,
            shared,
            accept,
        }
    }

    /// The address the proxy listens on (127.0.0.1, an OS-assigned port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The test database's connect options with host and port replaced by
    /// the proxy's, and TLS disabled.
    pub fn connect_options(&self) -> PgConnectOptions {
        crate::parse(&crate::database_url())
            .host(&self.addr.ip().to_string())
            .port(self.addr.port())
            .ssl_mode(PgSslMode::Disable)
    }

    /// A pool of up to [`POOL_CONNECTIONS`] connections through the proxy.
    ///
    /// # Panics
    /// When no connection can be made.
    pub async fn pool(&self) -> PgPool {
        PgPoolOptions::new()
            .max_connections(POOL_CONNECTIONS)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(self.connect_options())
            .await
            .unwrap_or_else(|e| panic!("cannot connect through the proxy at {}: {e}", self.addr))
    }

    /// Arms `fault`, replacing any armed one. It fires once, on the first
    /// matching message on any connection, and is disarmed by firing.
    pub fn arm(&self, fault: Fault) {
        *lock(&self.shared.armed) = Some(fault);
    }

    /// Arms [`Fault::after_execute`]: the next `Execute` on any connection
    /// runs to its `ReadyForQuery`, then that connection is dropped.
    pub fn drop_after_next_execute(&self) {
        self.arm(Fault::after_execute());
    }

    /// Disarms the armed fault, returning it (`None` if nothing was armed
    /// or it has fired).
    pub fn disarm(&self) -> Option<Fault> {
        lock(&self.shared.armed).take()
    }

    /// The fault armed and not yet fired.
    pub fn armed(&self) -> Option<Fault> {
        lock(&self.shared.armed).clone()
    }

    /// Every fault fired so far, oldest first.
    pub fn fired(&self) -> Vec<Fired> {
        lock(&self.shared.fired).clone()
    }

    /// Waits up to `within` until `count` faults have fired in total; true
    /// if they have.
    pub async fn wait_fired(&self, count: usize, within: Duration) -> bool {
        let mut fired = self.shared.fired_count.subscribe();
        tokio::time::timeout(within, fired.wait_for(|n| *n >= count))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Client connections accepted so far.
    pub fn connections_accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // The accept task owns the connection tasks (a `JoinSet`), so
        // aborting it aborts them too.
        self.accept.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The loopback addresses of the database server.
async fn upstream(options: &PgConnectOptions) -> Vec<SocketAddr> {
    let (host, port) = (options.get_host(), options.get_port());
    assert!(
        !host.starts_with('/'),
        "the proxy forwards TCP only, and DATABASE_URL names the Unix socket {host}"
    );
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .unwrap_or_else(|e| panic!("cannot resolve the database host {host}: {e}"))
        .filter(|addr| addr.ip().is_loopback())
        .collect();
    assert!(
        !addrs.is_empty(),
        "the proxy only forwards to loopback addresses, and the database host {host} is not one"
    );
    addrs
}

async fn accept_loop(listener: TcpListener, upstream: Vec<SocketAddr>, shared: Arc<Shared>) {
    let upstream: Arc<[SocketAddr]> = upstream.into();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    let end = tokio::time::sleep(LIFETIME);
    tokio::pin!(end);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            () = &mut end => return,
        };
        let (client, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(_) => {
                // Out of descriptors or similar: do not spin.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if !peer.ip().is_loopback() {
            continue;
        }
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            continue; // over MAX_CONNECTIONS: dropping `client` closes it
        };
        shared.accepted.fetch_add(1, Ordering::Relaxed);
        let (upstream, shared) = (Arc::clone(&upstream), Arc::clone(&shared));
        connections.spawn(async move {
            serve(client, &upstream, &shared).await;
            drop(slot);
        });
    }
}

/// One client connection, from accept to close.
async fn serve(mut client: TcpStream, upstream: &[SocketAddr], shared: &Shared) {
    let Some(mut server) = connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let Ok(Ok(readies)) =
        tokio::time::timeout(CONNECT_TIMEOUT, startup(&mut client, &mut server)).await
    else {
        return;
    };
    let conn = Conn {
        target: AtomicU64::new(0),
        trip: Mutex::new(None),
        withheld: Mutex::new(Withheld::default()),
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    tokio::select! {
        () = client_to_server(&conn, shared, readies, &mut client_read, &mut server_write) => {}
        () = server_to_client(&conn, &mut server_read, &mut client_write) => {}
    }
    // Record before closing, so the client's error implies the record.
    let trip = lock(&conn.trip).take();
    if let Some((fault, message, sql)) = trip {
        let withheld = std::mem::take(&mut *lock(&conn.withheld));
        lock(&shared.fired).push(Fired {
            fault,
            message,
            sql,
            withheld,
        });
        shared.fired_count.send_modify(|n| *n += 1);
    }
    drop((client_read, client_write, server_read, server_write));
}

async fn connect(upstream: &[SocketAddr]) -> Option<TcpStream> {
    for addr in upstream {
        if let Ok(Ok(stream)) =
            tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await
        {
            return Some(stream);
        }
    }
    None
}

/// Relays the untyped startup packets. Encryption requests are refused here
/// (`N`), so the rest stays readable. Returns how many `ReadyForQuery` the
/// server will send for what was forwarded: one after a successful startup,
/// none for a `CancelRequest`.
async fn startup(client: &mut TcpStream, server: &mut TcpStream) -> io::Result<u64> {
    loop {
        let len = client.read_u32().await? as usize;
        if !(8..=MAX_STARTUP).contains(&len) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("startup packet of {len} bytes"),
            ));
        }
        let mut packet = vec![0; len];
        packet[..4].copy_from_slice(&(len as u32).to_be_bytes());
        client.read_exact(&mut packet[4..]).await?;
        let code = u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]);
        match code {
            SSL_REQUEST | GSSENC_REQUEST => client.write_all(b"N").await?,
            _ => {
                server.write_all(&packet).await?;
                return Ok(if code == CANCEL_REQUEST { 0 } else { 1 });
            }
        }
    }
}

/// State of one proxied connection shared by its two directions.
struct Conn {
    /// 0 until the fault trips; then the ordinal (counting from the start of
    /// the connection) of the `ReadyForQuery` that ends the wait.
    target: AtomicU64,
    /// The fault, the message that tripped it and the statement's SQL.
    trip: Mutex<Option<(Fault, u8, Option<String>)>>,
    withheld: Mutex<Withheld>,
}

/// What the client has prepared and bound, to know what an `Execute` runs.
#[derive(Default)]
struct Statements {
    /// Prepared statement name → SQL text.
    sql: HashMap<Vec<u8>, String>,
    /// Portal name → prepared statement name.
    portals: HashMap<Vec<u8>, Vec<u8>>,
}

impl Statements {
    /// Follows `Parse`, `Bind` and `Close`.
    fn track(&mut self, msg: &[u8]) {
        let body = &msg[5..];
        match msg[0] {
            b'P' => {
                if let Some((name, rest)) = cstr(body)
                    && let Some((sql, _)) = cstr(rest)
                {
                    self.sql
                        .insert(name.to_vec(), String::from_utf8_lossy(sql).into_owned());
                }
            }
            b'B' => {
                if let Some((portal, rest)) = cstr(body)
                    && let Some((statement, _)) = cstr(rest)
                {
                    self.portals.insert(portal.to_vec(), statement.to_vec());
                }
            }
            b'C' => {
                if let Some((&kind, rest)) = body.split_first()
                    && let Some((name, _)) = cstr(rest)
                {
                    match kind {
                        b'S' => {
                            self.sql.remove(name);
                        }
                        b'P' => {
                            self.portals.remove(name);
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }

    /// The SQL text a statement message runs: for `Execute`, that of the
    /// statement bound to its portal; for `Query`, its own.
    fn sql_of(&self, msg: &[u8]) -> Option<String> {
        let (text, _) = cstr(&msg[5..])?;
        match msg[0] {
            b'E' => self
                .portals
                .get(text)
                .and_then(|statement| self.sql.get(statement))
                .cloned(),
            b'Q' => Some(String::from_utf8_lossy(text).into_owned()),
            _ => None,
        }
    }
}

/// Client → server. Returns on end of stream, an error, bad framing, or when
/// a tripped fault has waited its [`Fault::reply_wait`].
async fn client_to_server(
    conn: &Conn,
    shared: &Shared,
    mut readies: u64,
    from: &mut (impl AsyncRead + Unpin),
    to: &mut (impl AsyncWrite + Unpin),
) {
    let mut buf = Vec::with_capacity(8192);
    let mut statements = Statements::default();
    // Set once tripped: until when to wait for the server.
    let mut deadline: Option<Instant> = None;
    // Set once the message the awaited `ReadyForQuery` answers is forwarded.
    let mut holding = false;
    loop {
        let read = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, from.read_buf(&mut buf))
                .await
                .unwrap_or(Ok(0)),
            None => from.read_buf(&mut buf).await,
        };
        if !matches!(read, Ok(n) if n > 0) {
            if let Some(deadline) = deadline {
                // Let the server's answer arrive; `serve` ends when it does.
                tokio::time::sleep_until(deadline).await;
            }
            return;
        }
        let mut out = Vec::new();
        let mut at = 0;
        loop {
            let len = match frame(&buf[at..]) {
                Ok(Some(len)) => len,
                Ok(None) => break,
                Err(_) => return,
            };
            let msg = &buf[at..at + len];
            at += len;
            if holding {
                continue; // after the awaited message: never forwarded
            }
            statements.track(msg);
            if deadline.is_none()
                && matches!(msg[0], b'E' | b'Q')
                && let Some((fault, sql)) = take_matching(shared, msg, &statements)
            {
                deadline = Some(Instant::now() + fault.reply_wait);
                *lock(&conn.trip) = Some((fault, msg[0], sql));
                // Set before the message is written, so every byte the server
                // sends about it is withheld.
                conn.target.store(readies + 1, Ordering::Release);
            }
            out.extend_from_slice(msg);
            if matches!(msg[0], b'S' | b'Q' | b'F') {
                readies += 1;
                holding = deadline.is_some();
            }
        }
        buf.drain(..at);
        if out.is_empty() {
            continue;
        }
        let written = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, to.write_all(&out))
                .await
                .unwrap_or(Ok(())),
            None => to.write_all(&out).await,
        };
        if written.is_err() {
            return;
        }
    }
}

/// Takes the armed fault if `msg` (an `Execute` or `Query`) trips it.
fn take_matching(
    shared: &Shared,
    msg: &[u8],
    statements: &Statements,
) -> Option<(Fault, Option<String>)> {
    let mut armed = lock(&shared.armed);
    let sql = statements.sql_of(msg);
    if armed.as_ref()?.matches(msg[0], sql.as_deref()) {
        armed.take().map(|fault| (fault, sql))
    } else {
        None
    }
}

/// Server → client. Returns on end of stream, an error, bad framing, or once
/// the `ReadyForQuery` a tripped fault waits for has arrived.
async fn server_to_client(
    conn: &Conn,
    from: &mut (impl AsyncRead + Unpin),
    to: &mut (impl AsyncWrite + Unpin),
) {
    let mut buf = Vec::with_capacity(8192);
    let mut readies = 0u64;
    loop {
        if !matches!(from.read_buf(&mut buf).await, Ok(n) if n > 0) {
            return;
        }
        let mut relay = 0; // bytes of `buf` to relay: messages before the trip
        let mut at = 0;
        let mut done = false;
        loop {
            let len = match frame(&buf[at..]) {
                Ok(Some(len)) => len,
                Ok(None) => break,
                Err(_) => return,
            };
            let msg = &buf[at..at + len];
            at += len;
            if msg[0] == b'Z' {
                readies += 1;
            }
            let target = conn.target.load(Ordering::Acquire);
            if target == 0 {
                relay = at;
                continue;
            }
            let mut withheld = lock(&conn.withheld);
            observe(msg, &mut withheld);
            if msg[0] == b'Z' && readies >= target {
                withheld.ready = msg.get(5).copied();
                done = true;
                break;
            }
        }
        if relay > 0 && to.write_all(&buf[..relay]).await.is_err() {
            return;
        }
        if done {
            return;
        }
        buf.drain(..at);
    }
}

/// Notes what a withheld server message says.
fn observe(msg: &[u8], withheld: &mut Withheld) {
    withheld.messages += 1;
    let body = &msg[5..];
    match msg[0] {
        b'C' => {
            if let Some((tag, _)) = cstr(body) {
                withheld
                    .command_tags
                    .push(String::from_utf8_lossy(tag).into_owned());
            }
        }
        b'E' => {
            // Fields: a type byte and a C string each, ended by a zero byte.
            let mut rest = body;
            while let Some((&field, after)) = rest.split_first() {
                let Some((value, next)) = cstr(after) else {
                    break;
                };
                if field == b'C' {
                    withheld
                        .errors
                        .push(String::from_utf8_lossy(value).into_owned());
                }
                rest = next;
            }
        }
        _ => {}
    }
}

/// The length of the typed message at the start of `buf` (type byte
/// included), `None` if it is not complete yet, an error if its length is
/// impossible.
fn frame(buf: &[u8]) -> io::Result<Option<usize>> {
    let Some(header) = buf.get(..5) else {
        return Ok(None);
    };
    let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
    if !(4..=MAX_MESSAGE).contains(&len) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("message {:?} of length {len}", header[0] as char),
        ));
    }
    Ok((buf.len() > len).then_some(len + 1))
}

/// The zero-terminated string at the start of `buf`, and what follows it.
fn cstr(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = buf.iter().position(|&b| b == 0)?;
    Some((&buf[..end], &buf[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn frames_whole_messages_only() {
        let m = msg(b'S', b"");
        assert_eq!(frame(&m).unwrap(), Some(5));
        assert_eq!(frame(&m[..4]).unwrap(), None);
        let q = msg(b'Q', b"SELECT 1\0");
        assert_eq!(frame(&q).unwrap(), Some(q.len()));
        assert_eq!(frame(&q[..q.len() - 1]).unwrap(), None);
        assert!(frame(&[b'X', 0, 0, 0, 3]).is_err());
        assert!(frame(&[b'X', 0xff, 0, 0, 0]).is_err());
    }

    #[test]
    fn an_execute_runs_the_sql_its_portal_was_bound_to() {
        let mut s = Statements::default();
        s.track(&msg(b'P', b"sqlx_s_1\0INSERT INTO t VALUES ($1)\0\0\0"));
        s.track(&msg(b'B', b"\0sqlx_s_1\0\0\0\0\0\0\0"));
        let execute = msg(b'E', b"\0\0\0\0\0");
        assert_eq!(
            s.sql_of(&execute).as_deref(),
            Some("INSERT INTO t VALUES ($1)")
        );
        s.track(&msg(b'C', b"P\0"));
        assert_eq!(s.sql_of(&execute), None);
        let query = msg(b'Q', b"COMMIT\0");
        assert_eq!(s.sql_of(&query).as_deref(), Some("COMMIT"));
    }

    #[test]
    fn faults_match_kind_and_sql() {
        let insert = Fault::after_execute().containing("INSERT");
        assert!(insert.matches(b'E', Some("INSERT INTO t")));
        assert!(!insert.matches(b'E', Some("SELECT 1")));
        assert!(!insert.matches(b'E', None));
        assert!(!insert.matches(b'Q', Some("INSERT INTO t")));
        assert!(Fault::after_query().matches(b'Q', Some("COMMIT")));
        assert!(Fault::after_statement().matches(b'E', None));
        assert!(Fault::after_statement().matches(b'Q', None));
    }

    #[test]
    fn notes_tags_errors_and_status() {
        let mut w = Withheld::default();
        observe(&msg(b'C', b"INSERT 0 1\0"), &mut w);
        observe(&msg(b'E', b"SERROR\0C23505\0Mduplicate\0\0"), &mut w);
        assert_eq!(w.command_tags, ["INSERT 0 1"]);
        assert_eq!(w.errors, ["23505"]);
        assert_eq!(w.messages, 2);
        assert!(!w.committed());
    }
}
