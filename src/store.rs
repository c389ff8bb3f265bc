//! The WordPress MySQL database: our tables, their migrations, the doctor's user meta,
//! cross-process locks and the audit trail.
//!
//! Owns the extension's SQL, except for statements that still live with their use case: the
//! appointment's read (`appointments`), reconcile's candidates (`reconcile`), the admin screens'
//! listings (`screens`), a move review's flag (`review`) and the privacy export and erasure of
//! audit rows (`privacy`). It never talks to Google
//! and never decides what a doctor's state means (the grant does). Times are written as UTC
//! computed here (`UTC_TIMESTAMP()`), never from the session time zone.
//!
//! KiviCare's tables are read with plain, non-locking reads. The only writes to them are the
//! mapping rows (`store::events`, one appointment's rows per transaction) and the moves and
//! cancellations that sync and a move's review apply to `kc_appointments` (`store::sync`), each
//! a single-row statement outside KiviCare's transactions. WordPress's `usermeta` is written for
//! the doctor's token and connect flags.
//!
//! The submodules split the tables: `events` (our events and jobs, KiviCare's mapping table),
//! `sync` (sync positions, re-reads, push channels, moves applied to appointments) and `tokens`
//! (the sealed form of a stored token).
//!
//! Connections cost nothing on the way in and out of the pool: a checkout sends nothing to the
//! server (no ping, no `COM_RESET_CONNECTION`, no `SET NAMES` again; prepared statements stay
//! cached on the connection). A call's first named lock pins the connection it took to the
//! thread ([`Conn`]): every statement of the call, its reads, writes and further locks, runs on
//! that one connection, which goes back to the pool with the call's last lock, so a native
//! call uses the one connection the worker keeps between requests. A connection the server closed (restart, `KILL`,
//! `wait_timeout`) is noticed at checkout by one non-blocking peek at its socket and replaced, so
//! a restarted MariaDB costs one reconnect and loses nothing. Because sessions are not reset,
//! nothing here may leave session state behind (no `SET SESSION`, no user variables, locks only
//! through [`LockGuard`], transactions only through `start_transaction`, which rolls back on drop,
//! or a transaction [`Batch`], which rolls back when any of its statements fails). Statements
//! that may share a round trip are sent as one [`Batch`]: on this kind of host a round trip costs
//! far more than the server's work for it.
//! The schema version is checked once per [`Store`] (one per process and configuration) and
//! again after any statement failed on a missing table or column.

pub mod events;
pub mod sync;
pub mod tokens;

use std::cell::RefCell;
use std::os::unix::io::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mysql::prelude::{AsStatement, Queryable};
use mysql::{Binary, Opts, OptsBuilder, Params, Pool, PoolConstraints, PoolOpts, PooledConn, QueryResult, Statement, Text, TxOpts, params};
use serde::Serialize;

use crate::base::config::{Config, DbConfig, DbTarget};
use crate::error::{Code, Error, Result};
use crate::base::redact;

/// The schema this build expects; `migrate()` brings a site up to it.
pub const SCHEMA_VERSION: i64 = 5;

/// User meta keys shared with KiviCare core and the vendor add-on.
pub mod meta {
    pub const TOKEN: &str = "google_meet_access_token";
    pub const CONNECT: &str = "kiviCare_google_meet_connect";
    pub const CALENDAR: &str = "kiviCare_doctor_meet_id";
    pub const TELEMED_TYPE: &str = "telemed_type";
}

/// KiviCare's rule for a video consultation, as an SQL condition on the appointment aliased
/// `a`: one of its services is mapped with `telemed_service = 'yes'` for the appointment's
/// doctor and clinic (KIVICARE.md). Tables carry the site's prefix `p`.
pub fn telemed_exists(p: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM `{p}kc_appointment_service_mapping` asm
                 JOIN `{p}kc_service_doctor_mapping` sdm ON sdm.service_id = asm.service_id
                      AND sdm.doctor_id = a.doctor_id AND sdm.clinic_id = a.clinic_id AND sdm.telemed_service = 'yes'
                 WHERE asm.appointment_id = a.id)"
    )
}

/// Counts statements that failed on a missing table (1146) or column (1054): a cached "the
/// schema is current" ([`Store::require_schema`]) is trusted only while it stays
/// the same.
static SCHEMA_ERRORS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The number of schema errors this process has seen.
pub fn schema_error_epoch() -> u64 {
    SCHEMA_ERRORS.load(std::sync::atomic::Ordering::Acquire)
}

/// A MySQL failure as the caller must treat it: unreachable (transient), schema missing, or a
/// failed query. The server's text is redacted.
impl From<mysql::Error> for Error {
    fn from(e: mysql::Error) -> Self {
        use mysql::Error as E;
        if let E::MySqlError(me) = &e {
            if matches!(me.code, 1146 | 1054) {
                SCHEMA_ERRORS.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
            }
        }
        match &e {
            E::IoError(_) | E::DriverError(_) => {
                Error::new(Code::DbUnreachable, format!("MySQL is unreachable: {}", crate::base::redact::text(&e.to_string())))
            }
            E::MySqlError(me) if me.code == 1146 => Error::new(
                Code::SchemaMissing,
                "kc-meet's tables are missing: run kc_meet_migrate() (or `wp kc-meet migrate`)",
            ),
            E::MySqlError(me) if matches!(me.code, 1045 | 1044 | 1049 | 2002 | 2003 | 2006 | 2013) => Error::new(
                Code::DbUnreachable,
                format!("MySQL refused the connection: {}", crate::base::redact::text(&me.message)),
            ),
            _ => Error::new(Code::DbQuery, format!("MySQL query failed: {}", crate::base::redact::text(&e.to_string()))),
        }
    }
}

/// Opens the site's connection pool. Nothing connects until the first query; the pool is made
/// lazily in the worker process, by the runtime.
pub fn open_pool(db: &DbConfig) -> Result<Pool> {
    let mut b = OptsBuilder::new()
        .user(Some(db.user.clone()))
        .pass(Some(db.password.expose().to_string()))
        .db_name(Some(db.name.clone()))
        .tcp_connect_timeout(Some(Duration::from_secs(5)))
        .read_timeout(Some(Duration::from_secs(30)))
        .write_timeout(Some(Duration::from_secs(30)))
        .prefer_socket(false)
        // Run once per new connection: sessions are never reset (see the module comment).
        .init(vec![format!("SET NAMES {}", db.charset)])
        // Enough for every statement of a call to stay prepared across calls (the server's
        // default max_prepared_stmt_count of 16382 allows hundreds of workers at this size).
        .stmt_cache_size(Some(64))
        .pool_opts(
            PoolOpts::default()
                .with_constraints(PoolConstraints::new(0, POOL_MAX).expect("0 <= POOL_MAX"))
                // The defaults ping on every checkout and reset the session (then re-send
                // `SET NAMES`) on every return: three round trips per Store method. Liveness is
                // checked without a round trip instead ([`Store::conn`]).
                .with_reset_connection(false)
                .with_check_health(false),
        );
    b = match &db.target {
        DbTarget::Tcp { host, port } => b.ip_or_hostname(Some(host.clone())).tcp_port(*port),
        DbTarget::Socket { path } => b.socket(Some(path.clone())),
    };
    Pool::new(Opts::from(b)).map_err(Error::from)
}

/// The pool's size limit (per process and database), whatever the number of doctors or of
/// Google requests in flight. Connections are made only when needed: a PHP request uses one
/// (two while a statement runs with its call connection lent out); a sync round over many
/// doctors holds one for its doctors' sync locks ([`LockSet`]), at most [`LOCK_HOLDERS`] threads
/// hold one across an appointment's or a doctor's lock, and the rest (two at least, `sync`
/// asserts it) serves one statement at a time: the other workers' and those a lock holder runs
/// while its call connection is lent out. A holder waits for at most one such connection at a
/// time and gives it back after one statement, so one always comes free. Two overlapping cron
/// or WP-CLI runs stay far below MariaDB's default `max_connections` (151), leaving it to
/// WordPress.
pub const POOL_MAX: usize = 8;

/// Threads of one [`Store`] that may hold a connection across named locks at once: a call
/// connection pinned by its first lock ([`Store::try_lock`]). A thread waits for a permit before
/// it checks out that connection (holding none while it waits), so threads that hold a lock
/// while they talk to Google (an appointment's write, a token refresh) can never take the whole
/// pool and leave the statements they wait for without a connection. Only a sync round runs
/// threads; a PHP request never waits here.
pub const LOCK_HOLDERS: usize = 5;

/// Whether a pooled connection's socket is still open with nothing unread, without a round
/// trip: between statements the server sends nothing, so readable data or end-of-file means it
/// closed the connection (restart, `KILL`, `wait_timeout`; MariaDB may send an error packet
/// first) and the connection is unusable.
fn socket_is_idle(c: &mysql::Conn) -> bool {
    let mut byte = 0u8;
    // SAFETY: a one-byte peek into a local buffer on a descriptor the connection owns; MSG_PEEK
    // consumes nothing and MSG_DONTWAIT leaves the socket's blocking mode alone.
    let n = unsafe {
        libc::recv(c.as_raw_fd(), (&mut byte as *mut u8).cast(), 1, libc::MSG_PEEK | libc::MSG_DONTWAIT)
    };
    n < 0 && matches!(std::io::Error::last_os_error().raw_os_error(), Some(libc::EAGAIN) | Some(libc::EINTR))
}

/// Table names of one site.
#[derive(Debug, Clone)]
pub struct Tables {
    pub meta: String,
    pub states: String,
    pub doctors: String,
    pub audit: String,
    pub mapping: String,
    pub usermeta: String,
    pub events: String,
    pub jobs: String,
    pub posts: String,
    pub channels: String,
    prefix: String,
}

impl Tables {
    /// The site's table prefix (for KiviCare's own tables).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn new(config: &Config) -> Tables {
        let p = &config.table_prefix;
        Tables {
            meta: format!("{p}kc_meet_meta"),
            states: format!("{p}kc_meet_oauth_states"),
            doctors: format!("{p}kc_meet_doctors"),
            audit: format!("{p}kc_meet_audit"),
            mapping: format!("{p}kc_appointment_google_meet_mappings"),
            usermeta: format!("{}usermeta", config.base_prefix),
            events: format!("{p}kc_meet_events"),
            jobs: format!("{p}kc_meet_jobs"),
            posts: format!("{p}posts"),
            channels: format!("{p}kc_meet_channels"),
            prefix: p.clone(),
        }
    }
}

/// A doctor's connection state as stored in our table.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DoctorRow {
    pub doctor_id: u64,
    pub status: String,
    pub email: Option<String>,
    pub calendar_id: Option<String>,
    pub scopes: Option<String>,
    pub token_expires_at: Option<i64>,
    pub connected_at: Option<String>,
    pub last_refresh_at: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    /// With status `needs_reconnect`: the SHA-256 (hex) of the stored token Google refused. The
    /// token meta is the network's, our row the site's: once the token changes (the doctor
    /// connected again, on this site or another one of the network), the mark no longer holds.
    pub reconnect_token: Option<String>,
}

/// A consumed OAuth state.
#[derive(Debug, Clone)]
pub struct StateRow {
    pub doctor_id: u64,
    pub initiator_user_id: u64,
    pub verifier_sealed: String,
    pub expired: bool,
}

/// What `migrate()` did.
#[derive(Debug, Clone, Serialize)]
pub struct MigrateReport {
    pub schema_version: i64,
    pub previous_version: i64,
    pub tables: Vec<String>,
    pub mapping_table: &'static str,
}

/// A doctor's state in SQL: connected = a stored token and the connect flag not 'off'; then our
/// row may say needs_reconnect, for the token it was marked on (the one rule of the grant,
/// `derive_status`, behind `kc_meet_status()`; `tests/doctor_states.rs` checks they agree on
/// every combination). `tok`,
/// `flag` and `d` are joined by [`Store::doctor_status_joins`]. The comparisons are byte for
/// byte, as in Rust: the tables' collations ignore case and trailing spaces, so a plain `=` would
/// call `OFF` or `off ` off while the rule does not.
pub const DOCTOR_STATUS_SQL: &str = "CASE WHEN COALESCE(LENGTH(tok.meta_value), 0) = 0 OR COALESCE(CAST(flag.meta_value AS BINARY) = 'off', FALSE) THEN 'not_connected'
    WHEN COALESCE(CAST(d.status AS BINARY) = 'needs_reconnect' AND (d.reconnect_token IS NULL OR d.reconnect_token = SHA2(tok.meta_value, 256)), FALSE)
    THEN 'needs_reconnect' ELSE 'connected' END";

/// Adds the column `col` (`def`) to `table` unless it has it (a migration run twice, or cut
/// short, adds nothing twice).
pub(crate) fn add_column<Q: Queryable>(c: &mut Q, table: &str, col: &str, def: &str) -> Result<()> {
    let exists: Option<String> = c.exec_first(
        "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?",
        (table, col),
    )?;
    if exists.is_none() {
        c.query_drop(format!("ALTER TABLE `{table}` ADD COLUMN {col} {def}"))?;
    }
    Ok(())
}

/// A database handle for one site: the process's pool plus the site's table names.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    pub t: Tables,
    lock_ns: String,
    /// Whether the site's mapping table has `created_at` (4.x shape), learnt once it exists.
    pub(crate) mapping_created_at: std::sync::Arc<std::sync::OnceLock<bool>>,
    /// Set once the site's posts table is known to exist.
    pub(crate) posts_known: std::sync::Arc<std::sync::OnceLock<()>>,
    /// Set once KiviCare's appointments table is known to exist.
    pub(crate) appointments_known: std::sync::Arc<std::sync::OnceLock<()>>,
    /// The load's statement texts, built once they are known ([`events::LoadStatements`]).
    pub(crate) load_statements: std::sync::Arc<events::LoadStatements>,
    /// `1 +` the schema-error epoch ([`schema_error_epoch`]) at which the schema
    /// was last found current; 0 = not checked yet.
    schema_ok: std::sync::Arc<AtomicU64>,
    /// This store's number (shared by its clones), for the call connection.
    id: u64,
    /// The permits of the threads holding a connection across named locks ([`LOCK_HOLDERS`]).
    holders: std::sync::Arc<Holders>,
    /// Whether a [`Batch`] may be one text query on this site's connections ([`text_is_safe`]).
    text: bool,
}

/// A MySQL named lock (`GET_LOCK`), held until dropped: on the thread's call connection when
/// it took the lock there (see [`Conn`]), else on a connection of its own. A [`Batch`] that
/// ends the call's writes may release it in its own round trip ([`Batch::unlock`]); the guard
/// then sends nothing when dropped.
pub struct LockGuard {
    /// The connection the lock lives on, when it is not the call connection.
    own: Option<PooledConn>,
    name: String,
    /// The store whose call connection holds the lock.
    pinned: Option<u64>,
    /// Set once a batch released the lock on the server.
    released: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockGuard").field("name", &self.name).field("released", &self.released).finish()
    }
}

impl LockGuard {
    fn new(own: Option<PooledConn>, name: String, pinned: Option<u64>) -> LockGuard {
        LockGuard { own, name, pinned, released: Default::default() }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let released = *self.released.get_mut();
        // Best effort: if the connection broke, MySQL released the lock with it.
        if let Some(c) = self.own.as_mut() {
            if !released {
                release_lock(c, &self.name);
            }
            return;
        }
        if let Some(store) = self.pinned {
            let name = std::mem::take(&mut self.name);
            CALL_CONN.with(|slot| {
                let mut slot = slot.borrow_mut();
                let Some(pin) = slot.as_mut().filter(|p| p.store == store) else { return };
                pin.locks = pin.locks.saturating_sub(1);
                if !released {
                    pin.pending.push(name);
                }
                if let Some(mut c) = pin.conn.take() {
                    // Not lent out: release now (else the connection does when it comes back).
                    pin.release_pending(&mut c);
                    if pin.locks > 0 {
                        pin.conn = Some(c);
                    } else {
                        *slot = None;
                    }
                }
            });
        }
    }
}

/// Named locks held together on one connection of their own and taken without waiting: a sync
/// round's doctors. They are the locks [`Store::try_lock`] takes by the same names, so each
/// excludes the other across processes; any number of them costs one connection, and releasing
/// some and taking a batch more costs one statement. Not tied to a thread: the caller shares it
/// (behind a mutex) among its workers. What it still holds is released when it is dropped, and
/// by the server if its connection dies.
pub struct LockSet {
    store: Store,
    /// Checked out at the first statement; `None` again after a failed one.
    conn: Option<PooledConn>,
    /// The full names held.
    held: Vec<String>,
}

impl LockSet {
    /// Releases `release` (names of locks it holds) and takes each lock of `take` that no
    /// other connection holds, in one statement; says which of `take` it got, in order. Names
    /// are those of [`Store::try_lock`]. After a failure the connection is given up (the server
    /// releases its locks with it) and the set holds nothing.
    pub fn exchange(&mut self, release: &[String], take: &[String]) -> Result<Vec<bool>> {
        let take: Vec<(String, Option<String>)> = take.iter().map(|n| (n.clone(), None)).collect();
        Ok(self.exchange_paired(release, &take)?.into_iter().map(|(got, _)| got).collect())
    }

    /// [`LockSet::exchange`] where a lock of `take` may bring a second one along: the second
    /// is tried (without waiting either) only once the first is got, in the same statement, so
    /// the set never holds a second lock without its first. Says for each whether it got the
    /// first and the second.
    pub fn exchange_paired(&mut self, release: &[String], take: &[(String, Option<String>)]) -> Result<Vec<(bool, bool)>> {
        let full = |name: &String| self.store.lock_name(name);
        let release: Vec<String> = release.iter().map(full).filter(|n| self.held.contains(n)).collect();
        if release.is_empty() && take.is_empty() {
            // Nothing it holds to release (already released, or lost with a failed statement).
            return Ok(vec![]);
        }
        let take: Vec<(String, Option<String>)> = take.iter().map(|(a, b)| (full(a), b.as_ref().map(full))).collect();
        // A literal per lock, as the server would escape it: a prepared statement per batch
        // size would crowd the connection's statement cache.
        let literal = |n: &String| mysql::Value::from(n.as_str()).as_sql(false);
        let calls: Vec<String> = release
            .iter()
            .map(|n| format!("RELEASE_LOCK({})", literal(n)))
            .chain(take.iter().map(|(a, b)| match b {
                None => format!("GET_LOCK({}, 0)", literal(a)),
                // 1: the first only, 3: both, 0: neither.
                Some(b) => format!("IF(GET_LOCK({}, 0) = 1, IF(GET_LOCK({}, 0) = 1, 3, 1), 0)", literal(a), literal(b)),
            }))
            .collect();
        let sql = format!("SELECT {}", calls.join(", "));
        let row: Option<mysql::Row> = match self.conn.as_mut() {
            Some(c) => c.query_first(&sql),
            None => {
                let c = self.conn.insert(self.store.pooled_conn()?);
                c.query_first(&sql)
            }
        }
        .inspect_err(|_| self.give_up())?;
        let row = row.ok_or_else(|| Error::new(Code::DbQuery, "MySQL answered no row to a lock statement"))?;
        self.held.retain(|n| !release.contains(n));
        let got: Vec<(bool, bool)> = (0..take.len())
            .map(|i| {
                let v = row.get::<Option<i64>, _>(release.len() + i).flatten().unwrap_or(0);
                (v & 1 == 1, v & 2 == 2)
            })
            .collect();
        for ((a, b), (got_a, got_b)) in take.into_iter().zip(&got) {
            if *got_a {
                self.held.push(a);
            }
            if let (Some(b), true) = (b, *got_b) {
                self.held.push(b);
            }
        }
        Ok(got)
    }

    /// Whether it holds the lock `name` (a name of [`Store::try_lock`]).
    pub fn holds(&self, name: &str) -> bool {
        self.held.contains(&self.store.lock_name(name))
    }

    /// How many locks it holds.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Drops the connection without giving it back with locks on it: the pool resets it first
    /// (which releases them) or, when it is dead, forgets it.
    fn give_up(&mut self) {
        if let Some(mut c) = self.conn.take() {
            c.reset_connection(true);
        }
        self.held.clear();
    }
}

impl Drop for LockSet {
    fn drop(&mut self) {
        let Some(c) = self.conn.as_mut() else { return };
        if self.held.is_empty() {
            return;
        }
        let calls: Vec<String> = self.held.iter().map(|n| format!("RELEASE_LOCK({})", mysql::Value::from(n.as_str()).as_sql(false))).collect();
        if c.query_drop(format!("DO {}", calls.join(", "))).is_err() {
            self.give_up();
        }
    }
}

/// The connection a call keeps for all its statements: pinned to the thread by the first
/// named lock the call takes ([`Store::try_lock`]), lent to every [`Store::conn`] of the same
/// store on that thread while the lock is held, and given back to the pool when the call's
/// last lock is released. So a call's lock, reads and writes share one connection and one
/// checkout, and its locks are released on the connection that took them.
struct Pinned {
    store: u64,
    /// `None` while lent out.
    conn: Option<PooledConn>,
    /// Lock guards alive on it.
    locks: usize,
    /// Locks to release once the connection is back.
    pending: Vec<String>,
    /// Given back with the connection (declared after it: the connection goes back first).
    _permit: HolderPermit,
}

/// The permits of [`LOCK_HOLDERS`]: how many threads of a store hold a connection across locks.
#[derive(Default)]
struct Holders {
    taken: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
}

/// One of a store's [`LOCK_HOLDERS`] permits, given back on drop.
struct HolderPermit(std::sync::Arc<Holders>);

impl Holders {
    /// A permit, waiting up to `wait` for one; `None` when none came free in time.
    fn acquire(self: &std::sync::Arc<Self>, wait: Duration) -> Option<HolderPermit> {
        let until = std::time::Instant::now() + wait;
        let mut taken = self.taken.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while *taken >= LOCK_HOLDERS {
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return None;
            }
            taken = self.freed.wait_timeout(taken, left).unwrap_or_else(std::sync::PoisonError::into_inner).0;
        }
        *taken += 1;
        Some(HolderPermit(self.clone()))
    }
}

impl Drop for HolderPermit {
    fn drop(&mut self) {
        let mut taken = self.0.taken.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *taken = taken.saturating_sub(1);
        self.0.freed.notify_one();
    }
}

impl Pinned {
    fn release_pending(&mut self, c: &mut PooledConn) {
        for name in self.pending.drain(..) {
            release_lock(c, &name);
        }
    }
}

/// Releases the named lock `name` on `c`, best effort (if the connection broke, MySQL released
/// it with it): as text, one round trip and no statement kept on the server, when the name is
/// plain ASCII (the names this store makes: safe in any connection character set); else
/// prepared.
fn release_lock(c: &mut PooledConn, name: &str) {
    if name.bytes().all(|b| b.is_ascii_alphanumeric() || b":_-.".contains(&b)) {
        let _ = c.query_drop(format!("DO RELEASE_LOCK({})", mysql::Value::from(name).as_sql(c.no_backslash_escape())));
    } else {
        let _ = c.exec_drop("DO RELEASE_LOCK(?)", (name,));
    }
}

thread_local! {
    static CALL_CONN: RefCell<Option<Pinned>> = const { RefCell::new(None) };
}

/// Stores made in this process, numbered: a call connection serves only its own store.
static STORE_IDS: AtomicU64 = AtomicU64::new(1);

/// A connection from [`Store::conn`]: the thread's call connection (given back to the call on
/// drop) or a pooled one (given back to the pool).
pub struct Conn {
    inner: Option<PooledConn>,
    /// The store whose call connection this is.
    pinned: Option<u64>,
    /// Whether a [`Batch`] may travel as one text query: not when the connection's character
    /// set lets an escaping backslash end a multibyte character ([`text_is_safe`]).
    text: bool,
}

/// Whether values written into query text by the driver's escaping stay inside their quotes in
/// the connection character set `charset`. In big5, cp932, gbk, gb18030 and sjis a byte 0x5C
/// (the escaping backslash) can be the second byte of a character, so an escaped quote can
/// end a string: MySQL's own `mysql_real_escape_string` warns of these. A site on one of them
/// gets every statement of a batch sent on its own, as a prepared statement, in the same order
/// and transaction.
pub fn text_is_safe(charset: &str) -> bool {
    !["big5", "cp932", "gbk", "gb18030", "sjis"].iter().any(|c| charset.eq_ignore_ascii_case(c))
}

impl Conn {
    fn pooled(c: PooledConn, text: bool) -> Conn {
        Conn { inner: Some(c), pinned: None, text }
    }

    fn get(&mut self) -> &mut PooledConn {
        // `inner` is only emptied by `drop`.
        self.inner.as_mut().expect("a connection until dropped")
    }
}

impl std::ops::Deref for Conn {
    type Target = PooledConn;
    fn deref(&self) -> &PooledConn {
        self.inner.as_ref().expect("a connection until dropped")
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut PooledConn {
        self.get()
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let (Some(mut c), Some(store)) = (self.inner.take(), self.pinned) else { return };
        CALL_CONN.with(|slot| {
            let mut slot = slot.borrow_mut();
            if let Some(pin) = slot.as_mut().filter(|p| p.store == store && p.conn.is_none()) {
                pin.release_pending(&mut c);
                if pin.locks > 0 {
                    pin.conn = Some(c);
                } else {
                    *slot = None;
                }
            }
        });
    }
}

impl Queryable for Conn {
    fn query_iter<T: AsRef<str>>(&mut self, query: T) -> mysql::Result<QueryResult<'_, '_, '_, Text>> {
        self.get().query_iter(query)
    }

    fn prep<T: AsRef<str>>(&mut self, query: T) -> mysql::Result<Statement> {
        self.get().prep(query)
    }

    fn close(&mut self, stmt: Statement) -> mysql::Result<()> {
        self.get().close(stmt)
    }

    fn exec_iter<S, P>(&mut self, stmt: S, params: P) -> mysql::Result<QueryResult<'_, '_, '_, Binary>>
    where
        S: AsStatement,
        P: Into<Params>,
    {
        self.get().exec_iter(stmt, params)
    }

    fn exec_batch<S, P, I>(&mut self, stmt: S, params: I) -> mysql::Result<()>
    where
        Self: Sized,
        S: AsStatement,
        P: Into<Params>,
        I: IntoIterator<Item = P>,
    {
        self.get().exec_batch(stmt, params)
    }
}

/// What a [`Batch`] read: each statement's rows, in order.
pub type Rows = Vec<Vec<mysql::Row>>;

/// What the statements sent after a lock ([`Store::try_lock_then`]) answered, one entry per
/// statement: its rows and how many rows it changed.
#[derive(Debug, Default)]
pub struct Then {
    pub sets: Rows,
    pub affected: Vec<u64>,
}

impl Then {
    /// The last statement's rows.
    pub fn last(mut self) -> Vec<mysql::Row> {
        self.sets.pop().unwrap_or_default()
    }
}

/// Statements sent to the server as one text query: one round trip, however many there are
/// (the driver negotiates `CLIENT_MULTI_STATEMENTS` and `CLIENT_MULTI_RESULTS`). Values are
/// bound with `?` or `:name` placeholders, as for a prepared statement, and written into the
/// text as literals by the driver's own escaping ([`mysql::Value::as_sql`]) for the session's
/// `NO_BACKSLASH_ESCAPES` mode, which the server reports with every answer.
///
/// The server runs the statements in order and stops at the first that fails. A batch made
/// by [`Batch::transaction`] runs between `START TRANSACTION` and `COMMIT`; when anything in
/// it fails it is rolled back before the error is returned, so nothing of it is committed and
/// the connection never goes back to the pool inside a transaction.
#[derive(Default)]
pub struct Batch<'g> {
    statements: Vec<(String, Params)>,
    transaction: bool,
    /// A lock to release after the last statement ([`Batch::unlock`]).
    unlock: Option<&'g LockGuard>,
    /// Statements without values run after the commit ([`Batch::after_commit`]).
    after: Vec<String>,
}

impl<'g> Batch<'g> {
    /// An empty batch: each statement commits on its own (autocommit).
    pub fn new() -> Batch<'g> {
        Batch::default()
    }

    /// An empty batch whose statements are one transaction, committed once.
    pub fn transaction() -> Batch<'g> {
        Batch { transaction: true, ..Batch::default() }
    }

    /// Adds a statement; its result is the batch's next one.
    pub fn push(&mut self, sql: impl Into<String>, params: impl Into<Params>) -> &mut Self {
        self.statements.push((sql.into(), params.into()));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// Adds a statement without values that runs after the batch's statements (after the
    /// commit of a transaction batch), only when they all succeeded: e.g. releasing named locks
    /// a caller holds by name. Its result is not returned.
    pub fn after_commit(&mut self, sql: impl Into<String>) -> &mut Self {
        self.after.push(sql.into());
        self
    }

    /// Releases `lock` after the batch's last statement (after its commit), in the same round
    /// trip, when the batch runs on the connection the lock lives on and everything before it
    /// succeeded. Otherwise the guard keeps the lock and releases it when dropped, as always:
    /// a failed write never leaves the lock held, and never releases it before the rollback.
    /// `None` leaves the batch as it is.
    pub fn unlock(&mut self, lock: impl Into<Option<&'g LockGuard>>) -> &mut Self {
        if let Some(lock) = lock.into() {
            self.unlock = Some(lock);
        }
        self
    }

    /// The query text: the statements with their values written in, separated by `;`, and
    /// how many statements it holds.
    fn text(&self, no_backslash_escapes: bool, unlock: Option<&LockGuard>) -> Result<(String, usize)> {
        let mut parts = Vec::with_capacity(self.statements.len() + 3);
        if self.transaction {
            parts.push("START TRANSACTION".to_string());
        }
        for (sql, params) in &self.statements {
            parts.push(bind(sql, params, no_backslash_escapes)?);
        }
        if self.transaction {
            parts.push("COMMIT".to_string());
        }
        parts.extend(self.after.iter().cloned());
        if let Some(lock) = unlock {
            parts.push(format!("DO RELEASE_LOCK({})", mysql::Value::from(lock.name.as_str()).as_sql(no_backslash_escapes)));
        }
        let n = parts.len();
        Ok((parts.join(";\n"), n))
    }
}

/// `sql` with its placeholders (`?`, or `:name` for named parameters, as the driver reads
/// them) replaced by `params` as SQL literals. Fails when they do not match (a bug in the
/// caller's statement).
fn bind(sql: &str, params: &Params, no_backslash_escapes: bool) -> Result<String> {
    let mismatch = |detail: String| Error::new(Code::DbQuery, format!("a batched statement's values do not match its placeholders: {detail}"));
    let at = placeholders(sql, no_backslash_escapes);
    let empty = vec![];
    let positional = match params {
        Params::Positional(v) => v,
        _ => &empty,
    };
    if at.iter().filter(|(_, name)| name.is_none()).count() != positional.len() {
        return Err(mismatch(format!("{} values for {} placeholders", positional.len(), at.len())));
    }
    let mut next = positional.iter();
    let mut out = String::with_capacity(sql.len() + 16 * at.len());
    let mut from = 0;
    for (i, name) in at {
        out.push_str(&sql[from..i]);
        let value = match (name, params) {
            (None, _) => next.next(),
            (Some(name), Params::Named(map)) => map.get(name.as_bytes()),
            (Some(_), _) => None,
        };
        let value = value.ok_or_else(|| mismatch(format!("no value for {}", name.unwrap_or("?"))))?;
        out.push_str(&value.as_sql(no_backslash_escapes));
        from = i + name.map_or(1, |n| 1 + n.len());
    }
    out.push_str(&sql[from..]);
    Ok(out)
}

/// The placeholders of `sql`, with their byte offsets: `?`, and `:name` (a name starts with
/// `_` or `a`–`z` and goes on with those and digits, the driver's rule), outside quoted
/// strings, quoted identifiers and comments, read as the server reads them.
fn placeholders(sql: &str, no_backslash_escapes: bool) -> Vec<(usize, Option<&str>)> {
    let b = sql.as_bytes();
    let name_start = |c: &u8| *c == b'_' || c.is_ascii_lowercase();
    let mut at = vec![];
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < b.len() {
                    let escape = b[i] == b'\\' && q != b'`' && !no_backslash_escapes;
                    if escape || (b[i] == q && b.get(i + 1) == Some(&q)) {
                        i += 2;
                    } else if b[i] == q {
                        break;
                    } else {
                        i += 1;
                    }
                }
            }
            b'#' => i = b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |n| i + n),
            b'-' if b.get(i + 1) == Some(&b'-') && b.get(i + 2).is_none_or(|c| c.is_ascii_whitespace() || c.is_ascii_control()) => {
                i = b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |n| i + n)
            }
            b'/' if b.get(i + 1) == Some(&b'*') => i = b[i + 2..].windows(2).position(|w| w == b"*/").map_or(b.len(), |n| i + 2 + n + 1),
            b'?' => at.push((i, None)),
            b':' if b.get(i + 1).is_some_and(name_start) => {
                let len = b[i + 1..].iter().take_while(|c| name_start(c) || c.is_ascii_digit()).count();
                at.push((i, Some(&sql[i + 1..i + 1 + len])));
                i += len;
            }
            _ => {}
        }
        i += 1;
    }
    at
}

impl Conn {
    /// Sends `batch` in one round trip and returns each of its statements' rows, in order.
    /// Errors are mapped as for any statement ([`Error`]'s `From<mysql::Error>`, the schema-error
    /// epoch included); a transaction batch is rolled back first.
    pub fn run(&mut self, batch: &Batch<'_>) -> Result<Rows> {
        let unlock = batch.unlock.filter(|lock| {
            lock.own.is_none() && lock.pinned.is_some() && lock.pinned == self.pinned && !lock.released.load(Ordering::Acquire)
        });
        let (sets, _, error) = self.run_sets(batch, unlock);
        match error {
            None => {
                if let Some(lock) = unlock {
                    lock.released.store(true, Ordering::Release);
                }
                Ok(sets)
            }
            Some(e) => Err(e),
        }
    }

    /// [`Conn::run`] with `unlock` decided, keeping the results the server sent before a
    /// failure: the batch's own statements' rows and affected-row counts (not those of the
    /// transaction's or the unlock's statements) and the failure.
    fn run_sets(&mut self, batch: &Batch<'_>, unlock: Option<&LockGuard>) -> (Rows, Vec<u64>, Option<Error>) {
        let text = self.text;
        let c = self.get();
        let mut sets: Vec<Vec<mysql::Row>> = Vec::with_capacity(batch.statements.len() + 3);
        let mut affected: Vec<u64> = Vec::with_capacity(batch.statements.len() + 3);
        let error = match text {
            true => Self::run_text(c, batch, unlock, &mut sets, &mut affected),
            false => Self::run_each(c, batch, unlock, &mut sets, &mut affected),
        }
        .err();
        if error.is_some() && batch.transaction {
            // The server stopped at the failure with the transaction open (or, when the
            // commit's answer was lost, already ended it): end it without committing more.
            // Should even that fail, the pool resets the connection (which rolls back) or,
            // when it is dead, forgets it.
            if c.query_drop("ROLLBACK").is_err() {
                c.reset_connection(true);
            }
        }
        if batch.transaction && !sets.is_empty() {
            sets.remove(0);
            affected.remove(0);
        }
        sets.truncate(batch.statements.len());
        affected.truncate(batch.statements.len());
        (sets, affected, error)
    }

    /// The batch as one text query: one round trip.
    fn run_text(c: &mut PooledConn, batch: &Batch<'_>, unlock: Option<&LockGuard>, sets: &mut Rows, affected: &mut Vec<u64>) -> Result<()> {
        let (sql, statements) = batch.text(c.no_backslash_escape(), unlock)?;
        let mut result = c.query_iter(sql)?;
        while let Some(set) = result.iter() {
            let n = set.affected_rows();
            sets.push(set.collect::<mysql::Result<Vec<_>>>()?);
            affected.push(n);
        }
        if sets.len() != statements {
            return Err(Error::new(Code::DbQuery, format!("MySQL answered {} of a batch's {statements} statements", sets.len())));
        }
        Ok(())
    }

    /// The batch one statement at a time, each prepared with its values sent apart: the same
    /// statements, order, transaction and unlock as [`Conn::run_text`], a round trip each, for
    /// a character set where values may not be written into the text ([`text_is_safe`]).
    fn run_each(c: &mut PooledConn, batch: &Batch<'_>, unlock: Option<&LockGuard>, sets: &mut Rows, affected: &mut Vec<u64>) -> Result<()> {
        if batch.transaction {
            c.query_drop("START TRANSACTION")?;
            sets.push(vec![]);
            affected.push(0);
        }
        for (sql, params) in &batch.statements {
            sets.push(c.exec(sql.as_str(), params.clone())?);
            affected.push(c.affected_rows());
        }
        if batch.transaction {
            c.query_drop("COMMIT")?;
        }
        for sql in &batch.after {
            c.query_drop(sql)?;
        }
        if let Some(lock) = unlock {
            c.exec_drop("DO RELEASE_LOCK(?)", (lock.name.as_str(),))?;
        }
        Ok(())
    }
}

impl Store {
    pub fn new(pool: Pool, config: &Config) -> Store {
        // Lock names are server-wide: namespace them by database and network prefix, hashed to
        // stay within MySQL's 64-character limit.
        use sha2::Digest;
        let h = sha2::Sha256::digest(format!("{}|{}", config.db.name, config.base_prefix).as_bytes());
        let lock_ns = h.iter().take(6).map(|b| format!("{b:02x}")).collect();
        Store {
            pool,
            t: Tables::new(config),
            lock_ns,
            mapping_created_at: Default::default(),
            posts_known: Default::default(),
            appointments_known: Default::default(),
            load_statements: Default::default(),
            schema_ok: Default::default(),
            id: STORE_IDS.fetch_add(1, Ordering::Relaxed),
            holders: Default::default(),
            text: text_is_safe(&config.db.charset),
        }
    }

    /// The name of an appointment's lock ([`Store::lock`]), which every write of the
    /// appointment takes: events, sync, an admin's review.
    pub fn appointment_lock(id: u64) -> String {
        format!("appt:{id}")
    }

    /// The server-wide name of the named lock `name` ([`Store::try_lock`], [`LockSet`]): in
    /// this site's namespace.
    fn lock_name(&self, name: &str) -> String {
        format!("kcm:{}:{name}", self.lock_ns)
    }

    /// A connection: the call's own while one of its named locks is held on this thread (see
    /// [`Conn`]), else a pooled one, reused without any round trip. A pooled connection the
    /// server has closed since it was last used is dropped and replaced, so a restarted MySQL is
    /// reconnected.
    pub fn conn(&self) -> Result<Conn> {
        let lent = CALL_CONN.with(|slot| {
            let mut slot = slot.borrow_mut();
            slot.as_mut().filter(|p| p.store == self.id).and_then(|p| p.conn.take())
        });
        if let Some(c) = lent {
            return Ok(Conn { inner: Some(c), pinned: Some(self.id), text: self.text });
        }
        self.pooled_conn().map(|c| Conn::pooled(c, self.text))
    }

    fn pooled_conn(&self) -> Result<PooledConn> {
        // Every pooled connection may have died at once (a restart): try each, then a new one.
        for _ in 0..=POOL_MAX {
            let mut c = self.checkout()?;
            if socket_is_idle(&c) {
                return Ok(c);
            }
            // Make the pool forget it: a reset on a dead socket fails, and the pool then
            // counts the connection as gone instead of taking it back.
            c.reset_connection(true);
            drop(c);
        }
        Err(Error::new(Code::DbUnreachable, "MySQL closes every connection right after it is made"))
    }

    fn checkout(&self) -> Result<PooledConn> {
        self.pool.try_get_conn(Duration::from_secs(10)).map_err(|e| match e {
            mysql::Error::DriverError(mysql::DriverError::Timeout) => {
                Error::new(Code::DbUnreachable, "MySQL: no free connection within 10 s")
            }
            other => {
                let mut err = Error::from(other);
                if err.code == Code::DbQuery {
                    err.code = Code::DbUnreachable;
                }
                err
            }
        })
    }

    /// Takes the named lock, waiting up to `wait` (never past the current call's budget,
    /// [`crate::base::retry::time_left`]); `None` when another process holds it.
    pub fn try_lock(&self, name: &str, wait: Duration) -> Result<Option<LockGuard>> {
        Ok(self.try_lock_then(name, wait, vec![])?.map(|(guard, _)| guard))
    }

    /// [`Store::try_lock`], with the statements `then` sent in the same round trip, run by the
    /// server in order once the lock is granted (or refused; a statement that must not run
    /// without the lock checks `IS_USED_LOCK` itself): their rows and affected-row counts come
    /// with the guard ([`Then`]).
    /// An error of `then` comes with the lock held (the guard releases it when dropped); an
    /// error taking the lock is the outer error, and `then`'s rows are dropped when the lock is
    /// not granted.
    pub fn try_lock_then(&self, name: &str, wait: Duration, then: Vec<(&str, Params)>) -> Result<Option<(LockGuard, Result<Then>)>> {
        let wait = crate::base::retry::capped(wait);
        let started = std::time::Instant::now();
        // The thread's first lock pins its connection for the call (see [`Conn`]), once one of
        // the store's lock-holder permits is free: no connection is checked out before.
        let pin = CALL_CONN.with(|slot| slot.borrow().is_none());
        let permit = match pin {
            true => match self.holders.acquire(wait) {
                Some(p) => Some(p),
                None => return Ok(None),
            },
            false => None,
        };
        let mut conn = self.conn()?;
        let full = self.lock_name(name);
        let wait = wait.saturating_sub(started.elapsed());
        let (got, read) = match then.is_empty() {
            true => {
                let got: Option<Option<i64>> = conn.exec_first("SELECT GET_LOCK(?, ?)", (full.as_str(), wait.as_secs_f64()))?;
                (got.flatten(), Ok(Then::default()))
            }
            false => {
                let mut batch = Batch::new();
                batch.push("SELECT GET_LOCK(?, ?)", (full.as_str(), wait.as_secs_f64()));
                for (sql, params) in then {
                    batch.push(sql, params);
                }
                let (mut sets, mut affected, error) = conn.run_sets(&batch, None);
                let got = sets.first().and_then(|rows| rows.first()).and_then(|r| r.get::<Option<i64>, _>(0)).flatten();
                match (error, got) {
                    (Some(e), Some(1)) => (got, Err(e)),
                    (Some(e), _) => return Err(e),
                    (None, _) => {
                        if !sets.is_empty() {
                            sets.remove(0);
                            affected.remove(0);
                        }
                        (got, Ok(Then { sets, affected }))
                    }
                }
            }
        };
        if got != Some(1) {
            return Ok(None);
        }
        let guard = if let Some(permit) = permit {
            if let Some(c) = conn.inner.take() {
                CALL_CONN.with(|slot| {
                    *slot.borrow_mut() = Some(Pinned { store: self.id, conn: Some(c), locks: 1, pending: vec![], _permit: permit })
                });
            }
            LockGuard::new(None, full, Some(self.id))
        } else {
            match conn.pinned {
                Some(store) => {
                    CALL_CONN.with(|slot| {
                        if let Some(p) = slot.borrow_mut().as_mut().filter(|p| p.store == store) {
                            p.locks += 1;
                        }
                    });
                    LockGuard::new(None, full, Some(store))
                }
                None => LockGuard::new(conn.inner.take(), full, None),
            }
        };
        Ok(Some((guard, read)))
    }

    /// Takes the named lock or fails after `wait` with [`Code::LockTimeout`]: transient, so the
    /// caller queues the work or retries it instead of reporting a permanent failure.
    pub fn lock(&self, name: &str, wait: Duration) -> Result<LockGuard> {
        self.try_lock(name, wait)?.ok_or_else(|| {
            Error::new(Code::LockTimeout, format!("another process held the lock '{name}' for longer than this call could wait"))
        })
    }

    /// An empty [`LockSet`] of this store.
    pub fn lock_set(&self) -> LockSet {
        LockSet { store: self.clone(), conn: None, held: vec![] }
    }

    // ----- schema -------------------------------------------------------------------------

    /// The installed schema version, `None` when our tables do not exist.
    pub fn schema_version(&self) -> Result<Option<i64>> {
        let mut c = self.conn()?;
        match c.exec_first::<String, _, _>(format!("SELECT value FROM `{}` WHERE name = 'schema_version'", self.t.meta), ()) {
            Ok(v) => Ok(Some(v.and_then(|s| s.parse().ok()).unwrap_or(0))),
            Err(e) => match Error::from(e) {
                e if e.code == Code::SchemaMissing => Ok(None),
                e => Err(e),
            },
        }
    }

    /// Fails with [`Code::SchemaMissing`] unless `migrate()` has run for this build. Asks the
    /// database once per store, and again after a statement failed on a missing table or column
    /// anywhere in the process (tables dropped, a site restored from an old backup).
    pub fn require_schema(&self) -> Result<()> {
        let epoch = schema_error_epoch();
        if self.schema_ok.load(Ordering::Acquire) == epoch + 1 {
            return Ok(());
        }
        match self.schema_version()? {
            Some(v) if v >= SCHEMA_VERSION => {
                self.schema_ok.store(epoch + 1, Ordering::Release);
                Ok(())
            }
            _ => Err(Error::new(
                Code::SchemaMissing,
                "kc-meet's tables are missing or outdated: run kc_meet_migrate() (or `wp kc-meet migrate`)",
            )),
        }
    }

    /// Creates or upgrades our tables (idempotent; serialised by a lock), and KiviCare's
    /// mapping table in its 4.x shape when the site has none.
    pub fn migrate(&self) -> Result<MigrateReport> {
        let epoch = schema_error_epoch();
        let report = self.migrate_locked()?;
        self.schema_ok.store(epoch + 1, Ordering::Release);
        Ok(report)
    }

    fn migrate_locked(&self) -> Result<MigrateReport> {
        let _guard = self.lock("migrate", Duration::from_secs(30))?;
        let mut c = self.conn()?;
        let t = &self.t;
        c.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS `{}` (name VARCHAR(64) NOT NULL PRIMARY KEY, value TEXT NOT NULL) \
             ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
            t.meta
        ))?;
        let previous: i64 = c
            .exec_first::<String, _, _>(format!("SELECT value FROM `{}` WHERE name = 'schema_version'", t.meta), ())?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);

        if previous < 1 {
            c.query_drop(format!(
                "CREATE TABLE IF NOT EXISTS `{}` (
                    state_hash CHAR(64) NOT NULL PRIMARY KEY,
                    doctor_id BIGINT UNSIGNED NOT NULL,
                    initiator_user_id BIGINT UNSIGNED NOT NULL,
                    verifier TEXT NOT NULL,
                    created_at DATETIME NOT NULL,
                    expires_at DATETIME NOT NULL,
                    KEY expires_at (expires_at),
                    KEY doctor_id (doctor_id)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
                t.states
            ))?;
            c.query_drop(format!(
                "CREATE TABLE IF NOT EXISTS `{}` (
                    doctor_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
                    status VARCHAR(20) NOT NULL,
                    email VARCHAR(320) NULL,
                    calendar_id VARCHAR(255) NULL,
                    scopes TEXT NULL,
                    token_expires_at BIGINT NULL,
                    connected_at DATETIME NULL,
                    last_refresh_at DATETIME NULL,
                    last_error VARCHAR(1000) NULL,
                    last_error_at DATETIME NULL,
                    updated_at DATETIME NOT NULL
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
                t.doctors
            ))?;
            c.query_drop(format!(
                "CREATE TABLE IF NOT EXISTS `{}` (
                    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
                    created_at DATETIME(3) NOT NULL,
                    doctor_id BIGINT UNSIGNED NULL,
                    appointment_id BIGINT UNSIGNED NULL,
                    action VARCHAR(40) NOT NULL,
                    outcome VARCHAR(20) NOT NULL,
                    detail VARCHAR(1000) NULL,
                    KEY doctor_id (doctor_id),
                    KEY appointment_id (appointment_id),
                    KEY created_at (created_at)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
                t.audit
            ))?;
        }

        if previous < 2 {
            c.query_drop(format!(
                "CREATE TABLE IF NOT EXISTS `{}` (
                    appointment_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
                    doctor_id BIGINT UNSIGNED NOT NULL,
                    calendar_id VARCHAR(255) NOT NULL,
                    event_id VARCHAR(191) NOT NULL,
                    generation INT UNSIGNED NOT NULL DEFAULT 0,
                    state VARCHAR(16) NOT NULL,
                    meet_url VARCHAR(255) NOT NULL DEFAULT '',
                    event_url TEXT NULL,
                    conference_status VARCHAR(16) NOT NULL DEFAULT '',
                    etag VARCHAR(64) NOT NULL DEFAULT '',
                    sequence INT NOT NULL DEFAULT 0,
                    google_updated VARCHAR(40) NOT NULL DEFAULT '',
                    start_utc DATETIME NOT NULL,
                    end_utc DATETIME NOT NULL,
                    summary VARCHAR(1024) NOT NULL DEFAULT '',
                    created_at DATETIME NOT NULL,
                    updated_at DATETIME NOT NULL,
                    KEY doctor_id (doctor_id),
                    KEY event_id (event_id)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
                t.events
            ))?;
            c.query_drop(format!(
                "CREATE TABLE IF NOT EXISTS `{}` (
                    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
                    appointment_id BIGINT UNSIGNED NOT NULL,
                    doctor_id BIGINT UNSIGNED NULL,
                    action VARCHAR(16) NOT NULL,
                    state VARCHAR(16) NOT NULL,
                    attempts INT UNSIGNED NOT NULL DEFAULT 0,
                    next_run_at DATETIME NOT NULL,
                    last_error VARCHAR(1000) NULL,
                    created_at DATETIME NOT NULL,
                    updated_at DATETIME NOT NULL,
                    UNIQUE KEY appointment_id (appointment_id),
                    KEY due (state, next_run_at)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
                t.jobs
            ))?;
        }

        if previous < 3 {
            for (col, def) in [
                ("sync_token", "TEXT NULL"),
                ("sync_page_token", "TEXT NULL"),
                ("sync_requested", "TINYINT NOT NULL DEFAULT 0"),
                ("last_sync_at", "DATETIME NULL"),
                ("last_sync_error", "VARCHAR(1000) NULL"),
            ] {
                add_column(&mut c, &t.doctors, col, def)?;
            }
            add_column(&mut c, &t.events, "flag", "VARCHAR(32) NOT NULL DEFAULT ''")?;
            c.query_drop(format!(
                "CREATE TABLE IF NOT EXISTS `{}` (
                    channel_id VARCHAR(64) NOT NULL PRIMARY KEY,
                    doctor_id BIGINT UNSIGNED NOT NULL,
                    resource_id VARCHAR(255) NOT NULL,
                    token_hash CHAR(64) NOT NULL,
                    expires_at BIGINT NOT NULL,
                    state VARCHAR(16) NOT NULL,
                    last_message BIGINT NOT NULL DEFAULT 0,
                    created_at DATETIME NOT NULL,
                    KEY doctor_id (doctor_id),
                    KEY expires_at (state, expires_at)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
                t.channels
            ))?;
        }

        if previous < 4 {
            self.migrate_events_v4(&mut c)?;
        }

        if previous < 5 {
            add_column(&mut c, &t.doctors, "reconnect_token", "CHAR(64) NULL")?;
        }

        let mapping_exists: Option<String> =
            c.exec_first("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?", (t.mapping.as_str(),))?;
        let mapping_table = if mapping_exists.is_some() {
            "exists"
        } else {
            // KiviCare 4.x's shape (KIVICARE.md); core reads it, so its columns are fixed.
            c.query_drop(format!(
                "CREATE TABLE IF NOT EXISTS `{}` (
                    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
                    appointment_id BIGINT UNSIGNED NOT NULL,
                    event_id VARCHAR(191) NOT NULL,
                    url LONGTEXT NOT NULL,
                    password VARCHAR(191) NULL,
                    event_url LONGTEXT NULL,
                    created_at DATETIME NOT NULL,
                    extra TEXT NULL,
                    KEY appointment_id (appointment_id),
                    KEY event_id (event_id),
                    KEY created_at (created_at)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
                t.mapping
            ))?;
            "created"
        };

        c.exec_drop(
            format!(
                "INSERT INTO `{}` (name, value) VALUES ('schema_version', ?) ON DUPLICATE KEY UPDATE value = VALUES(value)",
                t.meta
            ),
            (SCHEMA_VERSION.to_string(),),
        )?;
        Ok(MigrateReport {
            schema_version: SCHEMA_VERSION,
            previous_version: previous,
            tables: vec![t.meta.clone(), t.states.clone(), t.doctors.clone(), t.audit.clone(), t.events.clone(), t.jobs.clone(), t.channels.clone()],
            mapping_table,
        })
    }

    // ----- OAuth states -------------------------------------------------------------------

    /// Stores a new state (by hash: the state itself is never stored) and drops expired ones.
    pub fn insert_state(&self, hash: &str, doctor_id: u64, initiator: u64, verifier_sealed: &str, ttl_s: i64) -> Result<()> {
        let mut c = self.conn()?;
        c.exec_drop(format!("DELETE FROM `{}` WHERE expires_at < UTC_TIMESTAMP() - INTERVAL 1 DAY", self.t.states), ())?;
        c.exec_drop(
            format!(
                "INSERT INTO `{}` (state_hash, doctor_id, initiator_user_id, verifier, created_at, expires_at) \
                 VALUES (:h, :d, :i, :v, UTC_TIMESTAMP(), UTC_TIMESTAMP() + INTERVAL :ttl SECOND)",
                self.t.states
            ),
            params! { "h" => hash, "d" => doctor_id, "i" => initiator, "v" => verifier_sealed, "ttl" => ttl_s },
        )?;
        Ok(())
    }

    /// Removes and returns a state in one transaction, so it can be used exactly once even
    /// when two callbacks race.
    pub fn consume_state(&self, hash: &str) -> Result<Option<StateRow>> {
        let mut c = self.conn()?;
        let mut tx = c.start_transaction(TxOpts::default())?;
        let row: Option<(u64, u64, String, i64)> = tx.exec_first(
            format!(
                "SELECT doctor_id, initiator_user_id, verifier, expires_at < UTC_TIMESTAMP() FROM `{}` WHERE state_hash = ? FOR UPDATE",
                self.t.states
            ),
            (hash,),
        )?;
        if row.is_some() {
            tx.exec_drop(format!("DELETE FROM `{}` WHERE state_hash = ?", self.t.states), (hash,))?;
        }
        tx.commit()?;
        Ok(row.map(|(doctor_id, initiator_user_id, verifier_sealed, expired)| StateRow {
            doctor_id,
            initiator_user_id,
            verifier_sealed,
            expired: expired != 0,
        }))
    }

    // ----- user meta (network-wide {base}usermeta) ------------------------------------------

    /// Reads a user meta value (the first row, as WordPress's `get_user_meta(..., true)`).
    pub fn get_meta<Q: Queryable>(&self, q: &mut Q, user_id: u64, key: &str) -> Result<Option<String>> {
        Ok(q.exec_first(
            format!("SELECT meta_value FROM `{}` WHERE user_id = ? AND meta_key = ? ORDER BY umeta_id LIMIT 1", self.t.usermeta),
            (user_id, key),
        )?)
    }

    /// Sets a user meta value, leaving exactly one row (as `update_user_meta`).
    pub fn set_meta<Q: Queryable>(&self, q: &mut Q, user_id: u64, key: &str, value: &str) -> Result<()> {
        let ids: Vec<u64> = q.exec(
            format!("SELECT umeta_id FROM `{}` WHERE user_id = ? AND meta_key = ? ORDER BY umeta_id", self.t.usermeta),
            (user_id, key),
        )?;
        match ids.split_first() {
            None => q.exec_drop(
                format!("INSERT INTO `{}` (user_id, meta_key, meta_value) VALUES (?, ?, ?)", self.t.usermeta),
                (user_id, key, value),
            )?,
            Some((first, extra)) => {
                q.exec_drop(format!("UPDATE `{}` SET meta_value = ? WHERE umeta_id = ?", self.t.usermeta), (value, first))?;
                for id in extra {
                    q.exec_drop(format!("DELETE FROM `{}` WHERE umeta_id = ?", self.t.usermeta), (id,))?;
                }
            }
        }
        Ok(())
    }

    /// Deletes a user meta key (all rows).
    pub fn delete_meta<Q: Queryable>(&self, q: &mut Q, user_id: u64, key: &str) -> Result<()> {
        q.exec_drop(format!("DELETE FROM `{}` WHERE user_id = ? AND meta_key = ?", self.t.usermeta), (user_id, key))?;
        Ok(())
    }

    /// Users that hold a Google token (connected, broken or legacy).
    pub fn users_with_token(&self) -> Result<Vec<u64>> {
        let mut c = self.conn()?;
        Ok(c.exec(
            format!("SELECT DISTINCT user_id FROM `{}` WHERE meta_key = ? ORDER BY user_id", self.t.usermeta),
            (meta::TOKEN,),
        )?)
    }

    // ----- doctors ----------------------------------------------------------------------------

    pub fn get_doctor<Q: Queryable>(&self, q: &mut Q, doctor_id: u64) -> Result<Option<DoctorRow>> {
        type Row = (u64, String, Option<String>, Option<String>, Option<String>, Option<i64>, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>);
        let row: Option<Row> = q.exec_first(
            format!(
                "SELECT doctor_id, status, email, calendar_id, scopes, token_expires_at, \
                 DATE_FORMAT(connected_at, '%Y-%m-%dT%H:%i:%sZ'), DATE_FORMAT(last_refresh_at, '%Y-%m-%dT%H:%i:%sZ'), \
                 last_error, DATE_FORMAT(last_error_at, '%Y-%m-%dT%H:%i:%sZ'), reconnect_token FROM `{}` WHERE doctor_id = ?",
                self.t.doctors
            ),
            (doctor_id,),
        )?;
        Ok(row.map(|r| DoctorRow {
            doctor_id: r.0,
            status: r.1,
            email: r.2,
            calendar_id: r.3,
            scopes: r.4,
            token_expires_at: r.5,
            connected_at: r.6,
            last_refresh_at: r.7,
            last_error: r.8,
            last_error_at: r.9,
            reconnect_token: r.10,
        }))
    }

    /// Everything a doctor's state and token come from, in one statement: the token meta, the
    /// connect flag (both as `get_meta` reads them) and our row.
    pub fn doctor_state<Q: Queryable>(&self, q: &mut Q, doctor_id: u64) -> Result<(Option<String>, Option<String>, Option<DoctorRow>)> {
        let (columns, joins) = self.doctor_state_sql("x.id");
        let rows: Vec<mysql::Row> = q.exec(format!("SELECT {columns} FROM (SELECT ? AS id) x {joins}"), (doctor_id,))?;
        Ok(Self::doctor_state_from(&rows, 0))
    }

    /// How many columns [`Store::doctor_state_sql`] reads.
    pub(crate) const DOCTOR_STATE_COLUMNS: usize = 15;

    /// The columns and the joins that read [`Store::doctor_state`] for the doctor `id` (an SQL
    /// expression), to be part of a larger statement: our row, and the doctor's token and
    /// connect-flag meta rows joined (no subquery: the server plans each one anew on every
    /// execution). A key with copies makes more rows (one each, the rest of the row repeated);
    /// [`Store::doctor_state_from`] reads them all. The columns are [`DOCTOR_STATE_COLUMNS`].
    pub(crate) fn doctor_state_sql(&self, id: &str) -> (String, String) {
        let meta = |alias: &str, key: &str| format!("LEFT JOIN `{}` {alias} ON {alias}.user_id = {id} AND {alias}.meta_key = '{key}'", self.t.usermeta);
        (
            "tok.umeta_id, tok.meta_value, flag.umeta_id, flag.meta_value, d.doctor_id, d.status, d.email, d.calendar_id, d.scopes, \
             d.token_expires_at, DATE_FORMAT(d.connected_at, '%Y-%m-%dT%H:%i:%sZ'), DATE_FORMAT(d.last_refresh_at, '%Y-%m-%dT%H:%i:%sZ'), \
             d.last_error, DATE_FORMAT(d.last_error_at, '%Y-%m-%dT%H:%i:%sZ'), d.reconnect_token"
                .to_string(),
            format!("LEFT JOIN `{}` d ON d.doctor_id = {id} {} {}", self.t.doctors, meta("tok", meta::TOKEN), meta("flag", meta::CONNECT)),
        )
    }

    /// The joins [`DOCTOR_STATUS_SQL`] reads for the doctor `id` (an SQL expression): the
    /// doctor's first meta row of the token and of the connect flag (as `get_meta` reads them),
    /// and our row.
    pub(crate) fn doctor_status_joins(&self, id: &str) -> String {
        let first = |alias: &str, key: &str| {
            format!(
                "LEFT JOIN `{um}` {alias} ON {alias}.umeta_id = (SELECT MIN(umeta_id) FROM `{um}` WHERE user_id = {id} AND meta_key = '{key}')",
                um = self.t.usermeta
            )
        };
        format!("{} {} LEFT JOIN `{}` d ON d.doctor_id = {id}", first("tok", meta::TOKEN), first("flag", meta::CONNECT), self.t.doctors)
    }

    /// The doctor's state from the rows of [`Store::doctor_state_sql`]'s columns (at column `at`
    /// of each): of each meta key the row with the lowest `umeta_id` (the one `get_meta`
    /// reads); our row from any (it is the same in all).
    pub(crate) fn doctor_state_from(rows: &[mysql::Row], at: usize) -> (Option<String>, Option<String>, Option<DoctorRow>) {
        let first = |col: usize| -> Option<String> {
            rows.iter()
                .filter_map(|r| Some((r.get::<Option<u64>, _>(col).flatten()?, r)))
                .min_by_key(|(umeta_id, _)| *umeta_id)
                .and_then(|(_, r)| r.get::<Option<String>, _>(col + 1).flatten())
        };
        let doctor = rows.first().and_then(|r| {
            let text = |i: usize| r.get::<Option<String>, _>(at + i).flatten();
            r.get::<Option<u64>, _>(at + 4).flatten().map(|id| DoctorRow {
                doctor_id: id,
                status: text(5).unwrap_or_default(),
                email: text(6),
                calendar_id: text(7),
                scopes: text(8),
                token_expires_at: r.get::<Option<i64>, _>(at + 9).flatten(),
                connected_at: text(10),
                last_refresh_at: text(11),
                last_error: text(12),
                last_error_at: text(13),
                reconnect_token: text(14),
            })
        });
        (first(at), first(at + 2), doctor)
    }

    /// This store's number (shared by its clones).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Whether a WordPress user with this id exists (network-wide `{base}users`).
    pub fn user_exists(&self, user_id: u64) -> Result<bool> {
        let mut c = self.conn()?;
        let users = format!("{}users", self.t.usermeta.trim_end_matches("usermeta"));
        Ok(c.exec_first::<u64, _, _>(format!("SELECT ID FROM `{users}` WHERE ID = ?"), (user_id,))?.is_some())
    }

    /// Records the Google account's e-mail (learnt again on a connection check).
    pub fn set_doctor_email(&self, doctor_id: u64, email: &str) -> Result<()> {
        let mut c = self.conn()?;
        c.exec_drop(
            format!("UPDATE `{}` SET email = ?, updated_at = UTC_TIMESTAMP() WHERE doctor_id = ?", self.t.doctors),
            (email, doctor_id),
        )?;
        Ok(())
    }

    /// Another doctor of the site connected with the Google account `email`. Google keeps one
    /// grant per account and client, so revoking a token of that account would disconnect them
    /// too.
    pub fn other_doctor_with_account<Q: Queryable>(&self, q: &mut Q, doctor_id: u64, email: &str) -> Result<Option<u64>> {
        Ok(q.exec_first(
            format!(
                "SELECT x.doctor_id FROM `{}` x {} WHERE x.doctor_id <> ? AND LOWER(x.email) = LOWER(?) AND {DOCTOR_STATUS_SQL} = 'connected'
                 ORDER BY x.doctor_id LIMIT 1",
                self.t.doctors,
                self.doctor_status_joins("x.doctor_id")
            ),
            (doctor_id, email),
        )?)
    }

    pub fn doctor_ids(&self) -> Result<Vec<u64>> {
        let mut c = self.conn()?;
        Ok(c.query(format!("SELECT doctor_id FROM `{}` ORDER BY doctor_id", self.t.doctors))?)
    }

    /// Records a fresh connection. Another Google account than the row's (or an unknown one)
    /// is another calendar: its listing starts afresh, as the previous account's sync and page
    /// tokens say nothing about it.
    pub fn upsert_connected<Q: Queryable>(&self, q: &mut Q, doctor_id: u64, email: &str, calendar_id: &str, scopes: &str, expires_at: i64) -> Result<()> {
        q.exec_drop(
            format!(
                "INSERT INTO `{}` (doctor_id, status, email, calendar_id, scopes, token_expires_at, connected_at, last_refresh_at, last_error, last_error_at, updated_at) \
                 VALUES (:d, 'connected', :e, :c, :s, :x, UTC_TIMESTAMP(), NULL, NULL, NULL, UTC_TIMESTAMP()) \
                 ON DUPLICATE KEY UPDATE sync_token = IF(LOWER(email) <=> LOWER(:e), sync_token, NULL), \
                 sync_page_token = IF(LOWER(email) <=> LOWER(:e), sync_page_token, NULL), \
                 status = 'connected', email = :e, calendar_id = :c, scopes = :s, token_expires_at = :x, \
                 connected_at = UTC_TIMESTAMP(), last_refresh_at = NULL, last_error = NULL, last_error_at = NULL, reconnect_token = NULL, updated_at = UTC_TIMESTAMP()",
                self.t.doctors
            ),
            params! { "d" => doctor_id, "e" => email, "c" => calendar_id, "s" => scopes, "x" => expires_at },
        )?;
        Ok(())
    }

    /// Records a successful refresh (creating the row for a legacy, pre-kc-meet token). Google
    /// accepted the grant: a `needs_reconnect` mark left from an older token goes.
    pub fn record_refresh<Q: Queryable>(&self, q: &mut Q, doctor_id: u64, expires_at: i64, scopes: &str) -> Result<()> {
        q.exec_drop(
            format!(
                "INSERT INTO `{}` (doctor_id, status, scopes, calendar_id, token_expires_at, last_refresh_at, updated_at) \
                 VALUES (:d, 'connected', :s, 'primary', :x, UTC_TIMESTAMP(), UTC_TIMESTAMP()) \
                 ON DUPLICATE KEY UPDATE token_expires_at = :x, scopes = :s, last_refresh_at = UTC_TIMESTAMP(), \
                 status = IF(status = 'needs_reconnect', 'connected', status), reconnect_token = NULL, updated_at = UTC_TIMESTAMP()",
                self.t.doctors
            ),
            params! { "d" => doctor_id, "x" => expires_at, "s" => scopes },
        )?;
        Ok(())
    }

    /// Sets the doctor's status and last error (`error` already redacted).
    pub fn set_doctor_status(&self, doctor_id: u64, status: &str, error: Option<&str>) -> Result<()> {
        let mut c = self.conn()?;
        c.exec_drop(
            format!(
                "INSERT INTO `{d}` (doctor_id, status, last_error, last_error_at, reconnect_token, updated_at) \
                 VALUES (:d, :st, :e, IF(:e IS NULL, NULL, UTC_TIMESTAMP()), {fp}, UTC_TIMESTAMP()) \
                 ON DUPLICATE KEY UPDATE status = :st, last_error = COALESCE(:e, last_error), \
                 last_error_at = IF(:e IS NULL, last_error_at, UTC_TIMESTAMP()), reconnect_token = {fp}, updated_at = UTC_TIMESTAMP()",
                d = self.t.doctors,
                // The token the state is about (the first meta row, as `get_meta` reads it).
                fp = format!(
                    "IF(:st = 'needs_reconnect', (SELECT SHA2(meta_value, 256) FROM `{}` WHERE user_id = :d AND meta_key = '{}' ORDER BY umeta_id LIMIT 1), NULL)",
                    self.t.usermeta,
                    meta::TOKEN
                ),
            ),
            params! { "d" => doctor_id, "st" => status, "e" => error },
        )?;
        Ok(())
    }

    /// Records an error without changing the status.
    pub fn set_doctor_error(&self, doctor_id: u64, error: &str) -> Result<()> {
        let mut c = self.conn()?;
        c.exec_drop(
            format!("UPDATE `{}` SET last_error = ?, last_error_at = UTC_TIMESTAMP(), updated_at = UTC_TIMESTAMP() WHERE doctor_id = ?", self.t.doctors),
            (error, doctor_id),
        )?;
        Ok(())
    }

    pub fn delete_doctor<Q: Queryable>(&self, q: &mut Q, doctor_id: u64) -> Result<()> {
        q.exec_drop(format!("DELETE FROM `{}` WHERE doctor_id = ?", self.t.doctors), (doctor_id,))?;
        q.exec_drop(format!("DELETE FROM `{}` WHERE doctor_id = ?", self.t.states), (doctor_id,))?;
        Ok(())
    }

    // ----- audit ---------------------------------------------------------------------------

    /// Appends to the audit trail. `detail` is scrubbed of anything credential-shaped.
    pub fn audit(&self, doctor_id: Option<u64>, appointment_id: Option<u64>, action: &str, outcome: &str, detail: &str) -> Result<()> {
        let mut c = self.conn()?;
        c.exec_drop(format!("{} (UTC_TIMESTAMP(3), ?, ?, ?, ?, ?)", self.audit_insert()), (doctor_id, appointment_id, action, outcome, redact::text(detail)))?;
        Ok(())
    }

    /// The audit trail's INSERT up to its rows (`created_at, doctor_id, appointment_id, action,
    /// outcome, detail`): one entry here, many written with the changes they record elsewhere.
    pub(crate) fn audit_insert(&self) -> String {
        format!("INSERT INTO `{}` (created_at, doctor_id, appointment_id, action, outcome, detail) VALUES", self.t.audit)
    }

    /// Database reachability for health: `Err` carries the reason.
    pub fn ping(&self) -> Result<()> {
        let mut c = self.conn()?;
        c.query_drop("SELECT 1")?;
        Ok(())
    }
}
