//! A doctor's Google connection: connect, status, access tokens (with refresh), disconnect.
//!
//! Owns what a doctor's state means and every transition of it:
//! `not_connected` → (connect) → `connected` → (refresh refused: `invalid_grant`) →
//! `needs_reconnect` → (connect) → `connected`; any state → (disconnect) → `not_connected`.
//! A doctor who is not connected, or needs to reconnect, causes no request to Google at all.
//!
//! The token lives in the doctor's user meta (network-wide, where KiviCare and the vendor
//! add-on keep it), sealed; our per-site row holds what the admin sees (e-mail, expiry, last
//! error). Writes that belong together happen in one transaction, and every change of a
//! doctor's tokens happens under that doctor's MySQL lock, so two PHP processes never refresh
//! the same grant twice or interleave a connect with a disconnect.

use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::google::calendar::Calendar;
use crate::base::error::{Code, Error, Result};
use crate::google::oauth::{self, OAuth, TokenSet};
use crate::base::redact::Secret;
use crate::runtime::Context;
use crate::store::{DoctorRow, meta};
use crate::store::tokens::{self, TokenRecord};

/// How long an authorization link stays valid.
pub const STATE_TTL_S: i64 = 600;
/// Refresh this long before Google's expiry, so a token never dies mid-request.
pub const REFRESH_MARGIN_S: i64 = 300;
/// How long a process waits for another one refreshing or rewriting the same doctor's tokens.
const DOCTOR_LOCK_WAIT: Duration = Duration::from_secs(20);

/// A doctor's connection state. PHP sees it as its string (`as_str`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    Connected,
    NotConnected,
    NeedsReconnect,
}

impl ConnectionState {
    pub const fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Connected => "connected",
            ConnectionState::NotConnected => "not_connected",
            ConnectionState::NeedsReconnect => "needs_reconnect",
        }
    }

    /// The state a status string names (what [`DoctorStatus::status`] and our table hold).
    pub fn of(status: &str) -> ConnectionState {
        match status {
            "connected" => ConnectionState::Connected,
            "needs_reconnect" => ConnectionState::NeedsReconnect,
            _ => ConnectionState::NotConnected,
        }
    }
}

/// A doctor's state as shown to PHP (`kc_meet_status()`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DoctorStatus {
    pub doctor_id: u64,
    pub status: &'static str,
    pub email: Option<String>,
    pub calendar_id: Option<String>,
    pub scopes: Vec<String>,
    pub token_expires_at: Option<i64>,
    pub connected_at: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
}

/// The result of a connection (`kc_meet_connect()`).
#[derive(Debug, Clone, Serialize)]
pub struct Connected {
    pub doctor_id: u64,
    pub status: &'static str,
    pub email: String,
    pub calendar_id: String,
    pub scopes: Vec<String>,
    pub initiator_user_id: u64,
}

/// The result of `kc_meet_disconnect()`.
#[derive(Debug, Clone, Serialize)]
pub struct Disconnected {
    pub doctor_id: u64,
    pub status: &'static str,
    pub was_connected: bool,
    /// Google confirmed the grant is gone (revoked now, or already unknown to Google).
    pub revoked: bool,
    /// Why revocation did not happen, when it did not.
    pub revoke_error: Option<String>,
}

fn check_id(what: &str, id: i64) -> Result<u64> {
    if id <= 0 {
        return Err(Error::invalid_argument(format!("{what} must be a positive user id, got {id}")));
    }
    Ok(id as u64)
}

fn lock_name(doctor_id: u64) -> String {
    format!("doctor:{doctor_id}")
}

fn state_hash(state: &str) -> String {
    Sha256::digest(state.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `kc_meet_auth_url()`: a Google authorization URL bound to this doctor and initiator.
pub fn auth_url(ctx: &Context, doctor_id: i64, initiator_user_id: i64) -> Result<String> {
    let doctor_id = check_id("doctor_id", doctor_id)?;
    let initiator = check_id("initiator_user_id", initiator_user_id)?;
    ctx.config.oauth_ready()?;
    let keyring = ctx.keyring()?;
    ctx.store.require_schema()?;
    if !ctx.store.user_exists(doctor_id)? {
        return Err(Error::invalid_argument(format!("user {doctor_id} does not exist")));
    }
    // The doctor id leads the state so the public callback can tell whose it is; the random
    // part makes it unguessable, and only its hash is stored.
    let state = format!("{doctor_id}.{}", crate::random_token(32));
    let hash = state_hash(&state);
    let (challenge, verifier) = oauth::pkce_pair();
    let sealed = keyring.seal(verifier.expose(), &format!("oauth_state|{hash}"));
    ctx.store.insert_state(&hash, doctor_id, initiator, &sealed, STATE_TTL_S)?;
    OAuth::new(&ctx.config, &ctx.http).authorize_url(&state, challenge, None)
}

/// `kc_meet_connect()`: completes the redirect flow started by [`auth_url`]. `acting_user` is
/// the WordPress user whose browser brought the redirect back (the OAuth callback passes the
/// logged-in user): it must be the user who started the flow, so a link that reached another
/// browser (sent to a victim, or a login CSRF) connects nobody. The state is used up either way.
pub fn connect(ctx: &Context, doctor_id: i64, code: &str, state: &str, acting_user: Option<i64>) -> Result<Connected> {
    let doctor_id = check_id("doctor_id", doctor_id)?;
    if code.is_empty() || code.len() > 2048 {
        return Err(Error::invalid_argument("the authorization code is empty or too long"));
    }
    ctx.config.oauth_ready()?;
    let keyring = ctx.keyring()?;
    ctx.store.require_schema()?;
    let bad_state = |why: &str| Error::new(Code::BadState, format!("the authorization link is not valid: {why}; start the connection again"));
    // A state that names another doctor is rejected without consuming anything.
    match state.split_once('.') {
        Some((id, _)) if id == doctor_id.to_string() => {}
        _ => return Err(bad_state("it was not issued for this doctor")),
    }
    let hash = state_hash(state);
    let row = ctx.store.consume_state(&hash)?.ok_or_else(|| bad_state("it is unknown or was already used"))?;
    if row.doctor_id != doctor_id {
        return Err(bad_state("it was not issued for this doctor"));
    }
    if row.expired {
        return Err(bad_state("it expired"));
    }
    if let Some(user) = acting_user
        && u64::try_from(user).ok() != Some(row.initiator_user_id)
    {
        // Checked before the code reaches Google: nothing is exchanged or stored.
        let _ = ctx.store.audit(Some(doctor_id), None, "connect", "rejected", "the callback came from another user than the one who started the connection");
        return Err(bad_state("it was started by another user"));
    }
    let verifier = keyring.open(&row.verifier_sealed, &format!("oauth_state|{hash}"))?.plaintext;
    let tokens = exchange(ctx, &Secret::new(code), Some(&verifier), &ctx.config.redirect_uri)?;
    finish_connect(ctx, doctor_id, row.initiator_user_id, tokens)
}

/// `kc_meet_connect_postmessage()`: KiviCare 3.x's popup flow, where core has already checked
/// the nonce and that the user is the doctor, and the code was issued for `postmessage`.
pub fn connect_postmessage(ctx: &Context, doctor_id: i64, code: &str) -> Result<Connected> {
    let doctor_id = check_id("doctor_id", doctor_id)?;
    if code.is_empty() || code.len() > 2048 {
        return Err(Error::invalid_argument("the authorization code is empty or too long"));
    }
    ctx.config.oauth_ready()?;
    ctx.keyring()?;
    ctx.store.require_schema()?;
    if !ctx.store.user_exists(doctor_id)? {
        return Err(Error::invalid_argument(format!("user {doctor_id} does not exist")));
    }
    let tokens = exchange(ctx, &Secret::new(code), None, oauth::POSTMESSAGE)?;
    finish_connect(ctx, doctor_id, doctor_id, tokens)
}

fn exchange(ctx: &Context, code: &Secret, verifier: Option<&Secret>, redirect_uri: &str) -> Result<TokenSet> {
    OAuth::new(&ctx.config, &ctx.http).exchange_code(code, verifier, redirect_uri).map_err(|e| {
        if e.reason.as_deref() == Some("invalid_grant") {
            Error::new(
                Code::CodeRejected,
                "Google refused the authorization code (already used, expired, or not issued for this request): start the connection again",
            )
        } else {
            e
        }
    })
}

fn finish_connect(ctx: &Context, doctor_id: u64, initiator: u64, tokens: TokenSet) -> Result<Connected> {
    let oauth = OAuth::new(&ctx.config, &ctx.http);
    let give_back = |t: &TokenSet| {
        // Tokens we will not keep are revoked, not left valid at Google.
        let _ = oauth.revoke(t.refresh_token.as_ref().unwrap_or(&t.access_token));
    };
    if !tokens.has_calendar_scope() {
        give_back(&tokens);
        let _ = ctx.store.audit(Some(doctor_id), None, "connect", "failed", "Calendar scope not granted");
        return Err(Error::new(
            Code::ScopeNotGranted,
            "Google Calendar access was not granted: connect again and leave \"See, edit, share and delete all your Google calendars\" ticked",
        ));
    }
    let info = match Calendar::new(&ctx.http, &ctx.config.endpoints.calendar, &tokens.access_token).get_calendar("primary") {
        Ok(info) => info,
        Err(e) => {
            give_back(&tokens);
            let _ = ctx.store.audit(Some(doctor_id), None, "connect", "failed", &e.message);
            return Err(if e.http_status == Some(403) && e.reason.as_deref() == Some("insufficientPermissions") {
                Error::new(Code::ScopeNotGranted, "Google refused Calendar access for this account: connect again and allow Calendar access")
            } else {
                e
            });
        }
    };
    let refresh = match tokens.refresh_token.clone() {
        Some(r) => r,
        // Google answers a re-consent without `prompt=consent` (KiviCare 3.x's popup) with no
        // refresh token when the account's grant already has one. When that grant is the one
        // we hold, its refresh token stays valid and is kept; giving the new token back would
        // revoke that grant, i.e. disconnect the doctor.
        None => match stored_refresh_of_account(ctx, doctor_id, &info.id) {
            Some(r) => r,
            None => {
                give_back(&tokens);
                return Err(Error::new(Code::CodeRejected, "Google issued no refresh token (offline access was not granted): connect again"));
            }
        },
    };
    let scopes = tokens.scopes.join(" ");
    let record = TokenRecord {
        access_token: tokens.access_token.expose().to_string(),
        refresh_token: Some(refresh.expose().to_string()),
        expires_at: tokens.expires_at,
        scope: scopes.clone(),
    };

    let previous_refresh = {
        let _lock = ctx.store.lock(&lock_name(doctor_id), DOCTOR_LOCK_WAIT)?;
        let mut conn = ctx.store.conn()?;
        let previous = ctx.store.get_meta(&mut conn, doctor_id, meta::TOKEN)?;
        let previous_account = ctx.store.get_doctor(&mut conn, doctor_id)?.and_then(|r| r.email);
        let mut tx = conn.start_transaction(mysql::TxOpts::default())?;
        let s = &ctx.store;
        s.set_meta(&mut tx, doctor_id, meta::TOKEN, &tokens::seal(ctx.keyring()?, doctor_id, &record))?;
        s.set_meta(&mut tx, doctor_id, meta::CONNECT, "on")?;
        s.set_meta(&mut tx, doctor_id, meta::TELEMED_TYPE, "googlemeet")?;
        s.set_meta(&mut tx, doctor_id, meta::CALENDAR, "primary")?;
        s.upsert_connected(&mut tx, doctor_id, &info.id, "primary", &scopes, tokens.expires_at)?;
        tx.commit()?;
        // Google keeps one grant per account and client: a reconnect of the same account adds
        // tokens to it, and revoking any of its tokens revokes all of them, the new ones too
        // (<https://developers.google.com/identity/protocols/oauth2/web-server#tokenrevoke>).
        // So the previous token is revoked only when the doctor chose another account; when the
        // previous account is unknown (a vendor token) it is left alone rather than risk the new
        // grant.
        let account_changed = previous_account.is_some_and(|old| !old.eq_ignore_ascii_case(&info.id));
        previous
            .filter(|_| account_changed)
            .and_then(|p| tokens::open(ctx.keyring().ok()?, doctor_id, &p).ok())
            .and_then(|l| l.record.refresh().or_else(|| Some(l.record.access())))
            .filter(|old| old != &refresh)
    };
    let _ = ctx.store.audit(Some(doctor_id), None, "connect", "ok", &format!("connected as {}", info.id));
    if ctx.config.push_enabled() {
        // Push notifications for this doctor's calendar; without them the periodic sync polls.
        if let Err(e) = crate::sync::open_channel(ctx, doctor_id) {
            let _ = ctx.store.audit(Some(doctor_id), None, "channel", "open_failed", &e.message);
        }
    }
    if let Some(old) = previous_refresh {
        // Another account replaced the old one: its grant should not stay valid at Google.
        let outcome = match oauth.revoke(&old) {
            Ok(_) => "ok",
            Err(_) => "revoke_failed",
        };
        let _ = ctx.store.audit(Some(doctor_id), None, "previous_grant_revoked", outcome, "the doctor connected another Google account");
    }
    Ok(Connected {
        doctor_id,
        status: ConnectionState::Connected.as_str(),
        email: info.id,
        calendar_id: "primary".into(),
        scopes: tokens.scopes,
        initiator_user_id: initiator,
    })
}

/// The refresh token we hold for the doctor when it belongs to Google account `account`.
fn stored_refresh_of_account(ctx: &Context, doctor_id: u64, account: &str) -> Option<Secret> {
    let mut conn = ctx.store.conn().ok()?;
    let email = ctx.store.get_doctor(&mut conn, doctor_id).ok()??.email?;
    if !email.eq_ignore_ascii_case(account) {
        return None;
    }
    let stored = ctx.store.get_meta(&mut conn, doctor_id, meta::TOKEN).ok()??;
    tokens::open(ctx.keyring().ok()?, doctor_id, &stored).ok()?.record.refresh()
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
        let has_token = self.token.as_deref().is_some_and(|t| !t.is_empty());
        derive_status(doctor_id, has_token, self.flag.as_deref(), self.row.clone())
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

/// The one rule for a doctor's state.
fn derive_status(doctor_id: u64, has_token: bool, connect_flag: Option<&str>, row: Option<DoctorRow>) -> DoctorStatus {
    let connected = has_token && connect_flag != Some("off");
    let row = row.unwrap_or_default();
    let state = match (connected, ConnectionState::of(&row.status)) {
        (false, _) => ConnectionState::NotConnected,
        (true, ConnectionState::NeedsReconnect) => ConnectionState::NeedsReconnect,
        (true, _) => ConnectionState::Connected,
    };
    let status = state.as_str();
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
    match ConnectionState::of(st.status) {
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
            let mut conn = ctx.store.conn()?;
            let mut tx = conn.start_transaction(mysql::TxOpts::default())?;
            ctx.store.set_meta(&mut tx, doctor_id, meta::TOKEN, &tokens::seal(ctx.keyring()?, doctor_id, &updated))?;
            ctx.store.record_refresh(&mut tx, doctor_id, updated.expires_at, &updated.scope)?;
            tx.commit()?;
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
    with_token_as(ctx, doctor_id, Lock::Take, call)
}

/// [`with_token`] for a caller that holds the doctor's lock already (disconnect).
pub(crate) fn with_token_lock_held<T>(ctx: &Context, doctor_id: u64, call: impl FnMut(&Secret) -> Result<T>) -> Result<T> {
    with_token_as(ctx, doctor_id, Lock::Held, call)
}

fn with_token_as<T>(ctx: &Context, doctor_id: u64, lock: Lock, mut call: impl FnMut(&Secret) -> Result<T>) -> Result<T> {
    let token = access_token_as(ctx, doctor_id, lock)?;
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

/// `kc_meet_check_connection()`: asks Google (refreshing when due) whether the doctor's
/// connection works, and records the account's e-mail.
pub fn check_connection(ctx: &Context, doctor_id: i64) -> Result<DoctorStatus> {
    let id = check_id("doctor_id", doctor_id)?;
    let cal = with_token(ctx, id, |token| Calendar::new(&ctx.http, &ctx.config.endpoints.calendar, token).get_calendar("primary"))?;
    ctx.store.set_doctor_email(id, &cal.id)?;
    status(ctx, doctor_id)
}

/// `kc_meet_disconnect()`: revoke at Google, erase tokens and our state, flags off.
pub fn disconnect(ctx: &Context, doctor_id: i64) -> Result<Disconnected> {
    let doctor_id = check_id("doctor_id", doctor_id)?;
    ctx.store.require_schema()?;
    let _lock = ctx.store.lock(&lock_name(doctor_id), DOCTOR_LOCK_WAIT)?;
    let mut conn = ctx.store.conn()?;
    let stored = ctx.store.get_meta(&mut conn, doctor_id, meta::TOKEN)?.filter(|s| !s.is_empty());
    let was_connected = stored.is_some();

    // Channels first: stopping them needs the grant we are about to revoke. We hold the
    // doctor's lock, so a refresh on the way must not take it again.
    if was_connected {
        if let Err(e) = crate::sync::stop_doctor_channels_lock_held(ctx, doctor_id) {
            let _ = ctx.store.audit(Some(doctor_id), None, "channel", "stop_failed", &e.message);
        }
    }
    let (revoked, revoke_error) = match &stored {
        None => (false, None),
        Some(value) => match ctx.keyring().and_then(|k| tokens::open(k, doctor_id, value)) {
            Err(e) => (false, Some(format!("the stored token could not be read, so it was not revoked at Google: {}", e.message))),
            Ok(loaded) => {
                let token = loaded.record.refresh().unwrap_or_else(|| loaded.record.access());
                match OAuth::new(&ctx.config, &ctx.http).revoke(&token) {
                    Ok(_) => (true, None),
                    Err(e) => (false, Some(e.message)),
                }
            }
        },
    };

    let mut tx = conn.start_transaction(mysql::TxOpts::default())?;
    let s = &ctx.store;
    s.delete_meta(&mut tx, doctor_id, meta::TOKEN)?;
    s.delete_meta(&mut tx, doctor_id, meta::CALENDAR)?;
    s.set_meta(&mut tx, doctor_id, meta::CONNECT, "off")?;
    if s.get_meta(&mut tx, doctor_id, meta::TELEMED_TYPE)?.as_deref() == Some("googlemeet") {
        s.delete_meta(&mut tx, doctor_id, meta::TELEMED_TYPE)?;
    }
    s.delete_doctor(&mut tx, doctor_id)?;
    tx.commit()?;
    // Changes of that calendar still waiting for a re-read no longer concern us.
    let _ = ctx.store.set_sync_retries(doctor_id, &[]);

    if was_connected {
        let outcome = if revoked { "ok" } else { "revoke_failed" };
        let detail = revoke_error.clone().unwrap_or_else(|| "grant revoked at Google".into());
        let _ = ctx.store.audit(Some(doctor_id), None, "disconnect", outcome, &detail);
    }
    Ok(Disconnected { doctor_id, status: ConnectionState::NotConnected.as_str(), was_connected, revoked, revoke_error })
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
        assert_eq!(derive_status(1, false, Some("on"), row("connected")).status, "not_connected");
        assert_eq!(derive_status(1, false, None, None).email, None);
    }

    #[test]
    fn connect_flag_off_overrides_a_leftover_token() {
        assert_eq!(derive_status(1, true, Some("off"), row("connected")).status, "not_connected");
    }

    #[test]
    fn broken_grant_shows_as_needs_reconnect() {
        assert_eq!(derive_status(1, true, Some("on"), row("needs_reconnect")).status, "needs_reconnect");
    }

    #[test]
    fn legacy_token_without_our_row_counts_as_connected_on_primary() {
        let s = derive_status(1, true, None, None);
        assert_eq!((s.status, s.calendar_id.as_deref()), ("connected", Some("primary")));
    }

    #[test]
    fn state_hash_is_hex_sha256() {
        assert_eq!(state_hash("abc").len(), 64);
        assert_ne!(state_hash("1.a"), state_hash("1.b"));
    }
}
