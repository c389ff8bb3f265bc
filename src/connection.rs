//! Connecting and disconnecting a doctor's Google account (the OAuth redirect flow, KiviCare
//! 3.x's popup flow, the connection check), including opening and stopping the doctor's push
//! channels through [`crate::channels`].
//!
//! Writes that belong together happen in one transaction, under the doctor's lock
//! (`grant::lock_name`), so a connect never interleaves with a refresh or a disconnect.

use serde::Serialize;
use crate::base::crypto::sha256_hex;

use crate::error::{Code, Error, Result};
use crate::base::redact::Secret;
use crate::channels;
use crate::grant::{self, DOCTOR_LOCK_WAIT, DoctorStatus, check_id, lock_name};
use crate::google::calendar::Calendar;
use crate::google::oauth::{self, OAuth, TokenSet};
use crate::runtime::Context;
use crate::store::meta;
use crate::store::tokens::{self, TokenRecord};

/// How long an authorization link stays valid.
pub const STATE_TTL_S: i64 = 600;

/// The result of a connection (`kc_meet_connect()`).
#[derive(Debug, Clone, Serialize)]
pub struct Connected {
    pub doctor_id: u64,
    pub status: grant::ConnectionState,
    pub email: String,
    pub calendar_id: String,
    pub scopes: Vec<String>,
    pub initiator_user_id: u64,
}

/// The result of `kc_meet_disconnect()`.
#[derive(Debug, Clone, Serialize)]
pub struct Disconnected {
    pub doctor_id: u64,
    pub status: grant::ConnectionState,
    pub was_connected: bool,
    /// Google confirmed the grant is gone (revoked now, or already unknown to Google).
    pub revoked: bool,
    /// Why revocation did not happen, when it did not.
    pub revoke_error: Option<String>,
}

thread_local! {
    /// For tests: what runs in a disconnect's gap between deciding whether another doctor uses
    /// the account and erasing the doctor ([`after_share_check`]).
    static AFTER_SHARE_CHECK: std::cell::RefCell<Option<Box<dyn FnOnce()>>> = const { std::cell::RefCell::new(None) };
}

/// For tests: runs `f` once on this thread, in the next disconnect's gap between deciding
/// whether another doctor uses the account and erasing the doctor (as another process's
/// disconnect landing there would).
#[doc(hidden)]
pub fn after_share_check(f: impl FnOnce() + 'static) {
    AFTER_SHARE_CHECK.with(|slot| *slot.borrow_mut() = Some(Box::new(f)));
}

/// The lock of a Google account (by its e-mail, lower-cased): who else uses its grant is
/// decided under it.
fn account_lock_name(email: &str) -> String {
    format!("acct:{}", &sha256_hex(&email.to_ascii_lowercase())[..32])
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
    let state = format!("{doctor_id}.{}", crate::base::crypto::random_token(32));
    let hash = sha256_hex(&state);
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
    let hash = sha256_hex(state);
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
            // Which account the tokens belong to is unknown here. When Google failed for a while
            // (5xx, 429, no answer) they are dropped, not revoked: they may belong to the grant
            // this doctor or another one of the site is connected with, and revoking any token of
            // a grant revokes all of them. Never stored, they reach no one.
            if !crate::base::retry::is_transient(&e) {
                give_back(&tokens);
            }
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

    let (previous_refresh, other_calendar) = {
        let _lock = ctx.store.lock(&lock_name(doctor_id), DOCTOR_LOCK_WAIT)?;
        let mut conn = ctx.store.conn()?;
        let previous = ctx.store.get_meta(&mut conn, doctor_id, meta::TOKEN)?;
        let previous_account = ctx.store.get_doctor(&mut conn, doctor_id)?.and_then(|r| r.email);
        // The account the doctor leaves for another one, if any.
        let left = previous_account.as_deref().filter(|old| !old.eq_ignore_ascii_case(&info.id));
        // Its lock, while whether another doctor still uses it is decided (see `disconnect`).
        let _account_lock = left.map(|old| ctx.store.lock(&account_lock_name(old), DOCTOR_LOCK_WAIT)).transpose()?;
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
        // Nor when another doctor of the site is connected with the previous account.
        let revoke_left = match left {
            Some(old) => ctx.store.other_doctor_with_account(&mut conn, doctor_id, old)?.is_none(),
            None => false,
        };
        let previous_refresh = previous
            .filter(|_| revoke_left)
            .and_then(|p| tokens::open(ctx.keyring().ok()?, doctor_id, &p).ok())
            .and_then(|l| l.record.refresh().or_else(|| Some(l.record.access())))
            .filter(|old| old != &refresh);
        // The retries below belong to the account of the row, if any.
        (previous_refresh, previous_account.is_none() || left.is_some())
    };
    if other_calendar {
        // Changes of another account's calendar waiting for a re-read (a sync that ran while
        // the doctor disconnected may have stored some): asked of this calendar, each would
        // answer 404 and be taken for a deletion.
        ctx.store.set_sync_retries(doctor_id, &[])?;
    }
    let _ = ctx.store.audit(Some(doctor_id), None, "connect", "ok", &format!("connected as {}", info.id));
    if ctx.config.push_enabled() {
        // Push notifications for this doctor's calendar; without them the periodic sync polls.
        if let Err(e) = channels::open_channel(ctx, doctor_id) {
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
        status: grant::ConnectionState::Connected,
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

/// `kc_meet_check_connection()`: asks Google (refreshing when due) whether the doctor's
/// connection works, and records the account's e-mail.
pub fn check_connection(ctx: &Context, doctor_id: i64) -> Result<DoctorStatus> {
    let id = check_id("doctor_id", doctor_id)?;
    let cal = grant::with_token(ctx, id, |token| Calendar::new(&ctx.http, &ctx.config.endpoints.calendar, token).get_calendar("primary"))?;
    ctx.store.set_doctor_email(id, &cal.id)?;
    grant::status(ctx, doctor_id)
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
        if let Err(e) = channels::stop_doctor_channels_lock_held(ctx, doctor_id) {
            let _ = ctx.store.audit(Some(doctor_id), None, "channel", "stop_failed", &e.message);
        }
    }
    // Google keeps one grant per account and client: while another doctor of the site is
    // connected with the same account, revoking this doctor's token would disconnect them too.
    // The account's lock, until this doctor's row is gone: two doctors sharing it who
    // disconnect at once would each see the other still connected, and neither revoke.
    let account = ctx.store.get_doctor(&mut conn, doctor_id)?.and_then(|r| r.email).filter(|_| was_connected);
    let _account_lock = account.as_deref().map(|email| ctx.store.lock(&account_lock_name(email), DOCTOR_LOCK_WAIT)).transpose()?;
    let sharing = match account.as_deref() {
        Some(email) => ctx.store.other_doctor_with_account(&mut conn, doctor_id, email)?,
        None => None,
    };
    if let Some(f) = AFTER_SHARE_CHECK.with(|slot| slot.borrow_mut().take()) {
        f();
    }
    let (revoked, revoke_error) = match &stored {
        None => (false, None),
        Some(_) if sharing.is_some() => (
            false,
            Some(format!(
                "not revoked at Google: doctor {} is connected with the same Google account, and revoking would disconnect them too; the tokens are erased here",
                sharing.unwrap_or_default()
            )),
        ),
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
    // The flag KiviCare reads says off for a doctor who had it; a user who never connected
    // (a patient whose personal data is erased) gets no meta of ours.
    if was_connected || s.get_meta(&mut tx, doctor_id, meta::CONNECT)?.is_some() {
        s.set_meta(&mut tx, doctor_id, meta::CONNECT, "off")?;
    }
    if s.get_meta(&mut tx, doctor_id, meta::TELEMED_TYPE)?.as_deref() == Some("googlemeet") {
        s.delete_meta(&mut tx, doctor_id, meta::TELEMED_TYPE)?;
    }
    s.delete_doctor(&mut tx, doctor_id)?;
    tx.commit()?;
    // Changes of that calendar still waiting for a re-read no longer concern us.
    let _ = ctx.store.set_sync_retries(doctor_id, &[]);

    if was_connected {
        let outcome = if revoked {
            "ok"
        } else if sharing.is_some() {
            "revoke_skipped"
        } else {
            "revoke_failed"
        };
        let detail = revoke_error.clone().unwrap_or_else(|| "grant revoked at Google".into());
        let _ = ctx.store.audit(Some(doctor_id), None, "disconnect", outcome, &detail);
    }
    Ok(Disconnected { doctor_id, status: grant::ConnectionState::NotConnected, was_connected, revoked, revoke_error })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_hash_is_hex_sha256() {
        assert_eq!(sha256_hex("abc").len(), 64);
        assert_ne!(sha256_hex("1.a"), sha256_hex("1.b"));
    }
}
