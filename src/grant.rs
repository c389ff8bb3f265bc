//! A doctor's Google grant: the doctor's state, access tokens (with refresh) and the doctor's lock.
//!
//! Owns what a doctor's state means and its transitions below the connect flow:
//! `connected` → (refresh refused: `invalid_grant`) → `needs_reconnect`. Connecting and
//! disconnecting (the other transitions) are the connection use case, which takes the same
//! lock (`lock_name`). A doctor who is not connected, or needs to reconnect, causes no
//! request to Google at all.
//!
//! The token lives in the doctor's user meta (network-wide, where KiviCare and the vendor
//! add-on keep it), sealed; our per-site row holds what the admin sees (e-mail, expiry, last
//! error). Every change of a doctor's tokens happens under that doctor's MySQL lock, so two PHP
//! processes never refresh the same grant twice or interleave a refresh with a connect or a
//! disconnect.

use std::time::Duration;

use serde::Serialize;

use crate::error::{Code, Error, Result};
use crate::base::redact::Secret;
use crate::base::str_enum::str_enum;
use crate::google::oauth::OAuth;
use crate::runtime::Context;
use crate::store::{DoctorRow, meta};
use crate::store::tokens::{self, TokenRecord};


/// Refresh this long before Google's expiry, so a token never dies mid-request.
pub const REFRESH_MARGIN_S: i64 = 300;
/// How long a process waits for another one refreshing or rewriting the same doctor's tokens.
pub(crate) const DOCTOR_LOCK_WAIT: Duration = Duration::from_secs(20);

str_enum! {
    /// A doctor's connection state: the strings of our table's `status` column and of what PHP
    /// receives.
    pub enum ConnectionState {
        Connected = "connected",
        NotConnected = "not_connected",
        NeedsReconnect = "needs_reconnect",
    }
}

impl ConnectionState {
    /// The state our table's `status` column holds; anything else counts as not connected.
    pub fn of(status: &str) -> ConnectionState {
        ConnectionState::parse(status).unwrap_or(ConnectionState::NotConnected)
    }
}

/// A doctor's state as shown to PHP (`kc_meet_status()`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DoctorStatus {
    pub doctor_id: u64,
    pub status: ConnectionState,
    pub email: Option<String>,
    pub calendar_id: Option<String>,
    pub scopes: Vec<String>,
    pub token_expires_at: Option<i64>,
    pub connected_at: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
}

pub(crate) fn check_id(what: &str, id: i64) -> Result<u64> {
    if id <= 0 {
        return Err(Error::invalid_argument(format!("{what} must be a positive user id, got {id}")));
    }
    Ok(id as u64)
}

/// The name of the doctor's MySQL lock, taken for every change of the doctor's tokens.
pub(crate) fn lock_name(doctor_id: u64) -> String {
    format!("doctor:{doctor_id}")
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `kc_meet_status()`: the doctor's state from the database (one statement); no Google request.
pub fn status(ctx: &Context, doctor_id: i64) -> Result<DoctorStatus> {
    let doctor_id = check_id("doctor_id", doctor_id)?;
    ctx.store.require_schema()?;
    let stored = read_stored(ctx, doctor_id)?;
    Ok(stored.status(doctor_id))
}

/// What the doctor's state and token are made of, as read in one statement.
#[derive(Clone)]
struct Stored {
    token: Option<String>,
    flag: Option<String>,
    row: Option<DoctorRow>,
}

impl Stored {
    fn status(&self, doctor_id: u64) -> DoctorStatus {
        derive_status(doctor_id, self.token.as_deref(), self.flag.as_deref(), self.row.clone())
    }
}

thread_local! {
    /// The doctor read once for the current call ([`for_call`]): store, doctor, what was read.
    static CALL_DOCTOR: std::cell::RefCell<Option<(u64, u64, Stored)>> = const { std::cell::RefCell::new(None) };
}

fn read_stored(ctx: &Context, doctor_id: u64) -> Result<Stored> {
    let cached = CALL_DOCTOR.with(|c| {
        c.borrow().as_ref().filter(|(store, id, _)| *store == ctx.store.id() && *id == doctor_id).map(|(_, _, s)| s.clone())
    });
    if let Some(s) = cached {
        return Ok(s);
    }
    let mut conn = ctx.store.conn()?;
    let (token, flag, row) = ctx.store.doctor_state(&mut conn, doctor_id)?;
    Ok(Stored { token, flag, row })
}

/// Forgets the call's copy of a doctor whose stored state this process is changing.
fn forget_call_copy(doctor_id: u64) {
    CALL_DOCTOR.with(|c| {
        let mut c = c.borrow_mut();
        if c.as_ref().is_some_and(|(_, id, _)| *id == doctor_id) {
            *c = None;
        }
    });
}

/// The doctor's state read once for a call on this thread: until the guard drops, [`status`]
/// and the token of [`with_token`] for this doctor come from this one read (one statement per
/// call instead of one per use). A refresh or a change of the doctor's state reads again.
pub struct CallDoctor(());

impl Drop for CallDoctor {
    fn drop(&mut self) {
        CALL_DOCTOR.with(|c| *c.borrow_mut() = None);
    }
}

/// Reads the doctor for the current call (see [`CallDoctor`]). The guard is `None` when the
/// call already has one (its drop ends the call's copy).
pub fn for_call(ctx: &Context, doctor_id: u64) -> Result<(DoctorStatus, Option<CallDoctor>)> {
    ctx.store.require_schema()?;
    let stored = read_stored(ctx, doctor_id)?;
    let status = stored.status(doctor_id);
    Ok((status, hold(ctx, doctor_id, stored)))
}

/// Makes `state`, read by a larger statement of the call (the appointment's load), the call's
/// copy of the doctor (see [`CallDoctor`]).
pub fn hold_for_call(ctx: &Context, doctor_id: u64, state: crate::store::events::DoctorState) -> Option<CallDoctor> {
    let (token, flag, row) = state;
    hold(ctx, doctor_id, Stored { token, flag, row })
}

fn hold(ctx: &Context, doctor_id: u64, stored: Stored) -> Option<CallDoctor> {
    CALL_DOCTOR.with(|c| {
        let mut c = c.borrow_mut();
        let held = c.is_some();
        *c = Some((ctx.store.id(), doctor_id, stored));
        (!held).then(|| CallDoctor(()))
    })
}

/// The one rule for a doctor's state: connected with a stored token and the connect flag not
/// `off`; then `needs_reconnect` when our row says so for this token (the row's mark names the
/// token Google refused; a token stored since, by a connect on this site or another of the
/// network, is not refused yet).
fn derive_status(doctor_id: u64, token: Option<&str>, connect_flag: Option<&str>, row: Option<DoctorRow>) -> DoctorStatus {
    let token = token.filter(|t| !t.is_empty());
    let connected = token.is_some() && connect_flag != Some("off");
    let row = row.unwrap_or_default();
    let refused = ConnectionState::of(&row.status) == ConnectionState::NeedsReconnect
        && row.reconnect_token.as_deref().is_none_or(|marked| Some(marked) == token.map(crate::base::crypto::sha256_hex).as_deref());
    let state = match (connected, refused) {
        (false, _) => ConnectionState::NotConnected,
        (true, true) => ConnectionState::NeedsReconnect,
        (true, false) => ConnectionState::Connected,
    };
    let status = state;
    if state == ConnectionState::NotConnected {
        return DoctorStatus {
            doctor_id,
            status,
            email: None,
            calendar_id: None,
            scopes: vec![],
            token_expires_at: None,
            connected_at: None,
            last_error: None,
            last_error_at: None,
        };
    }
    DoctorStatus {
        doctor_id,
        status,
        email: row.email,
        calendar_id: row.calendar_id.or(Some("primary".into())),
        scopes: row.scopes.map(|s| s.split_whitespace().map(str::to_string).collect()).unwrap_or_default(),
        token_expires_at: row.token_expires_at,
        connected_at: row.connected_at,
        last_error: row.last_error,
        last_error_at: row.last_error_at,
    }
}

/// Loads the doctor's token if the doctor may use it; re-stores legacy plaintext sealed, unless
/// the caller already holds the doctor's lock (`lock_held`: the reseal takes it).
fn load_usable(ctx: &Context, doctor_id: u64, lock_held: bool) -> Result<TokenRecord> {
    ctx.store.require_schema()?;
    let read = read_stored(ctx, doctor_id)?;
    let st = read.status(doctor_id);
    match st.status {
        ConnectionState::NotConnected => {
            return Err(Error::new(Code::NotConnected, format!("doctor {doctor_id} has not connected a Google account")));
        }
        ConnectionState::NeedsReconnect => {
            return Err(Error::new(
                Code::NeedsReconnect,
                format!("doctor {doctor_id} must reconnect Google Calendar: Google no longer accepts the stored authorization"),
            ));
        }
        ConnectionState::Connected => {}
    }
    let keyring = ctx.keyring()?;
    let stored = read.token.unwrap_or_default();
    let loaded = match tokens::open(keyring, doctor_id, &stored) {
        Ok(l) => l,
        Err(e) if e.code == Code::NeedsReconnect => {
            mark_needs_reconnect(ctx, doctor_id, &e.message);
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    if loaded.needs_reseal && !lock_held {
        // Legacy plaintext (vendor add-on) or an old key: store it sealed under the current key.
        if let Some(_lock) = ctx.store.try_lock(&lock_name(doctor_id), Duration::from_secs(2))? {
            forget_call_copy(doctor_id);
            let mut conn = ctx.store.conn()?;
            let current = ctx.store.get_meta(&mut conn, doctor_id, meta::TOKEN)?;
            if current.as_deref() == Some(stored.as_str()) {
                ctx.store.set_meta(&mut conn, doctor_id, meta::TOKEN, &tokens::seal(keyring, doctor_id, &loaded.record))?;
                drop(conn);
                let _ = ctx.store.audit(Some(doctor_id), None, "token_resealed", "ok", "stored token re-encrypted under the current key");
            }
        }
    }
    Ok(loaded.record)
}

fn mark_needs_reconnect(ctx: &Context, doctor_id: u64, why: &str) {
    forget_call_copy(doctor_id);
    let _ = ctx.store.set_doctor_status(doctor_id, ConnectionState::NeedsReconnect.as_str(), Some(why));
    let _ = ctx.store.audit(Some(doctor_id), None, "refresh", "needs_reconnect", why);
}

/// A valid access token for the doctor, refreshed ahead of expiry.
pub fn access_token(ctx: &Context, doctor_id: u64) -> Result<Secret> {
    access_token_as(ctx, doctor_id, Lock::Take)
}

/// Refreshes the doctor's token if it is due, as [`access_token`] would, for a caller that
/// holds the doctor's lock ([`lock_name`]) on a connection no statement of this thread uses: a
/// sync round's lock set ([`crate::store::LockSet`]). Nothing here takes the lock or keeps a
/// connection: each statement checks one out, and none is held while Google's token endpoint
/// answers. The refreshed token is stored when this returns, so the caller releases the lock
/// afterwards and another process waiting for it reads the new token instead of refreshing.
/// The token it returns serves the caller's next request ([`with_token_given`]).
pub(crate) fn refresh_if_due_lock_held(ctx: &Context, doctor_id: u64) -> Result<Secret> {
    access_token_as(ctx, doctor_id, Lock::Held)
}

/// Whether the caller already holds the doctor's lock (`doctor:N`). MySQL's named locks belong
/// to a connection, and a refresh runs on another pooled connection than the holder's: taking
/// the lock again would wait for ourselves until the wait times out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lock {
    Take,
    Held,
}

fn access_token_as(ctx: &Context, doctor_id: u64, lock: Lock) -> Result<Secret> {
    let record = load_usable(ctx, doctor_id, lock == Lock::Held)?;
    if record.expires_at > now() + REFRESH_MARGIN_S {
        return Ok(record.access());
    }
    refresh(ctx, doctor_id, &record.access(), lock)
}

/// Refreshes the doctor's token unless another process already replaced `stale`.
/// One refresh at a time per doctor, across processes.
fn refresh(ctx: &Context, doctor_id: u64, stale: &Secret, lock: Lock) -> Result<Secret> {
    // What the call read before may be stale now: read under the lock.
    forget_call_copy(doctor_id);
    let _lock = match lock {
        Lock::Take => Some(ctx.store.lock(&lock_name(doctor_id), DOCTOR_LOCK_WAIT)?),
        Lock::Held => None,
    };
    let record = load_usable(ctx, doctor_id, true)?;
    if &record.access() != stale && record.expires_at > now() + REFRESH_MARGIN_S {
        return Ok(record.access());
    }
    let Some(refresh_token) = record.refresh() else {
        let why = "the stored authorization has no refresh token: the doctor must connect again";
        mark_needs_reconnect(ctx, doctor_id, why);
        return Err(Error::new(Code::NeedsReconnect, why));
    };
    match OAuth::new(&ctx.config, &ctx.http).refresh(&refresh_token) {
        Ok(tokens) => {
            let updated = TokenRecord {
                access_token: tokens.access_token.expose().to_string(),
                refresh_token: tokens.refresh_token.as_ref().map(|r| r.expose().to_string()),
                expires_at: tokens.expires_at,
                scope: tokens.scopes.join(" "),
            };
            {
                // Back to the caller (or the pool) before the audit line: a second connection
                // checked out for it while this one is held would be one more per refresh.
                let mut conn = ctx.store.conn()?;
                let mut tx = conn.start_transaction(mysql::TxOpts::default())?;
                ctx.store.set_meta(&mut tx, doctor_id, meta::TOKEN, &tokens::seal(ctx.keyring()?, doctor_id, &updated))?;
                ctx.store.record_refresh(&mut tx, doctor_id, updated.expires_at, &updated.scope)?;
                tx.commit()?;
            }
            let _ = ctx.store.audit(Some(doctor_id), None, "refresh", "ok", "access token refreshed");
            Ok(tokens.access_token)
        }
        Err(e) if e.reason.as_deref() == Some("invalid_grant") => {
            let why = "Google refused the stored authorization (revoked or expired): the doctor must connect Google Calendar again";
            mark_needs_reconnect(ctx, doctor_id, why);
            Err(Error::new(Code::NeedsReconnect, why))
        }
        Err(e) => {
            let _ = ctx.store.set_doctor_error(doctor_id, &e.message);
            let _ = ctx.store.audit(Some(doctor_id), None, "refresh", "failed", &e.message);
            Err(e)
        }
    }
}

/// Runs a Google call with the doctor's token. A 401 means Google dropped the token early
/// (revoked access token, clock skew): refresh once and try again; a second 401 means the
/// grant is gone.
pub fn with_token<T>(ctx: &Context, doctor_id: u64, call: impl FnMut(&Secret) -> Result<T>) -> Result<T> {
    with_token_as(ctx, doctor_id, Lock::Take, None, call)
}

/// [`with_token`] with a token this call has just obtained ([`refresh_if_due_lock_held`]),
/// used as it is: Google issued it a moment ago, and reading it back could find it inside the
/// refresh margin again only where Google's tokens live shorter than the margin.
pub(crate) fn with_token_given<T>(ctx: &Context, doctor_id: u64, token: Secret, call: impl FnMut(&Secret) -> Result<T>) -> Result<T> {
    with_token_as(ctx, doctor_id, Lock::Take, Some(token), call)
}

/// [`with_token`] for a caller that holds the doctor's lock already (disconnect).
pub(crate) fn with_token_lock_held<T>(ctx: &Context, doctor_id: u64, call: impl FnMut(&Secret) -> Result<T>) -> Result<T> {
    with_token_as(ctx, doctor_id, Lock::Held, None, call)
}

fn with_token_as<T>(ctx: &Context, doctor_id: u64, lock: Lock, given: Option<Secret>, mut call: impl FnMut(&Secret) -> Result<T>) -> Result<T> {
    let token = match given {
        Some(token) => token,
        None => access_token_as(ctx, doctor_id, lock)?,
    };
    match call(&token) {
        Err(e) if e.http_status == Some(401) => {
            let fresh = refresh(ctx, doctor_id, &token, lock)?;
            call(&fresh).inspect_err(|e| {
                if e.http_status == Some(401) {
                    mark_needs_reconnect(ctx, doctor_id, "Google rejects the doctor's fresh access token: connect again");
                }
            })
        }
        other => other,
    }
}

/// Every doctor the site knows a Google connection for (token holders and our rows).
pub fn all_statuses(ctx: &Context) -> Result<Vec<DoctorStatus>> {
    let mut ids = ctx.store.users_with_token()?;
    ids.extend(ctx.store.doctor_ids()?);
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter().map(|id| status(ctx, id as i64)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(status: &str) -> Option<DoctorRow> {
        Some(DoctorRow { status: status.into(), email: Some("d@example.com".into()), ..Default::default() })
    }

    #[test]
    fn no_token_means_not_connected_whatever_the_row_says() {
        assert_eq!(derive_status(1, None, Some("on"), row("connected")).status.as_str(), "not_connected");
        assert_eq!(derive_status(1, None, None, None).email, None);
    }

    #[test]
    fn connect_flag_off_overrides_a_leftover_token() {
        assert_eq!(derive_status(1, Some("t"), Some("off"), row("connected")).status.as_str(), "not_connected");
    }

    #[test]
    fn broken_grant_shows_as_needs_reconnect() {
        assert_eq!(derive_status(1, Some("t"), Some("on"), row("needs_reconnect")).status.as_str(), "needs_reconnect");
    }

    #[test]
    fn a_refusal_holds_for_the_token_it_was_marked_on_only() {
        let marked = |token: &str| {
            Some(DoctorRow { status: "needs_reconnect".into(), reconnect_token: Some(crate::base::crypto::sha256_hex(token)), ..Default::default() })
        };
        assert_eq!(derive_status(1, Some("t1"), None, marked("t1")).status.as_str(), "needs_reconnect");
        // Connected again on another site of the network: the shared token changed.
        assert_eq!(derive_status(1, Some("t2"), None, marked("t1")).status.as_str(), "connected");
        assert_eq!(crate::base::crypto::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn legacy_token_without_our_row_counts_as_connected_on_primary() {
        let s = derive_status(1, Some("t"), None, None);
        assert_eq!((s.status.as_str(), s.calendar_id.as_deref()), ("connected", Some("primary")));
    }

}
