//! Push notifications (<https://developers.google.com/calendar/api/guides/push>): channels per
//! doctor with a random token compared in constant time, opened on connect and renewed before
//! expiry, `channels.stop` on disconnect and replacement. A notification is checked against our
//! channels without any Google request; `exists` syncs the doctor through [`crate::sync`].

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use crate::base::crypto::sha256_hex;
use subtle::ConstantTimeEq;

use crate::base::crypto::random_token;
use crate::error::Result;
use crate::grant;
use crate::google::calendar::Calendar;
use crate::runtime::Context;
use crate::store::sync::{ChannelRow, ChannelState};
use crate::sync::{Change, sync_doctor};

/// Channels live a week; renew those that expire within a day.
const CHANNEL_TTL_S: i64 = 7 * 24 * 3600;
const RENEW_WITHIN_MS: i64 = 24 * 3600 * 1000;

/// `kc_meet_handle_notification()`'s answer.
#[derive(Debug, Serialize)]
pub struct NotificationResult {
    /// The HTTP status to answer Google with.
    pub status: u16,
    /// `acknowledged`, `synced`, `queued`, `closed` (`not_exists`), `ignored_replay`, or `rejected`.
    pub action: &'static str,
    pub reason: Option<&'static str>,
    pub doctor_id: Option<u64>,
    pub changes: Vec<Change>,
}

fn rejected(status: u16, reason: &'static str) -> NotificationResult {
    NotificationResult { status, action: "rejected", reason: Some(reason), doctor_id: None, changes: vec![] }
}

/// `kc_meet_handle_notification()`: checks a push message against our channels without any
/// Google request, acknowledges `sync`, and syncs the doctor on `exists`.
pub fn handle_notification(ctx: &Context, headers: &Value) -> Result<NotificationResult> {
    let h = |name: &str| -> Option<String> {
        headers.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(name) || k.replace('_', "-").eq_ignore_ascii_case(name)).and_then(|(_, v)| match v {
            Value::String(s) => Some(s.clone()),
            Value::Array(a) => a.first().and_then(Value::as_str).map(str::to_string),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    ctx.store.require_schema()?;
    let Some(channel_id) = h("X-Goog-Channel-ID") else { return Ok(rejected(400, "no_channel_header")) };
    let Some(ch) = ctx.store.channel(&channel_id)? else { return Ok(rejected(404, "unknown_channel")) };
    let given = sha256_hex(&h("X-Goog-Channel-Token").unwrap_or_default());
    if !bool::from(given.as_bytes().ct_eq(ch.token_hash.as_bytes())) {
        return Ok(rejected(403, "wrong_token"));
    }
    if ch.state == ChannelState::Opening {
        // Google's first message can overtake its answer to events.watch.
        return Ok(if h("X-Goog-Resource-State").as_deref() == Some("sync") {
            NotificationResult { status: 200, action: "acknowledged", reason: None, doctor_id: Some(ch.doctor_id), changes: vec![] }
        } else {
            rejected(404, "channel_closed")
        });
    }
    if h("X-Goog-Resource-ID").as_deref() != Some(ch.resource_id.as_str()) {
        return Ok(rejected(403, "wrong_resource"));
    }
    if ch.state != ChannelState::Active || ch.expires_at < chrono::Utc::now().timestamp_millis() {
        return Ok(rejected(404, "channel_closed"));
    }
    let number = h("X-Goog-Message-Number").and_then(|n| n.parse::<i64>().ok()).unwrap_or(0);
    let mut result = NotificationResult { status: 200, action: "acknowledged", reason: None, doctor_id: Some(ch.doctor_id), changes: vec![] };
    let state = h("X-Goog-Resource-State");
    let exists = state.as_deref() == Some("exists");
    if !ctx.store.advance_channel_message(&channel_id, number, exists.then_some(ch.doctor_id))? {
        result.action = "ignored_replay";
        return Ok(result);
    }
    match state.as_deref() {
        Some("exists") => {
            // The sync request went with the message number. Sync now if it is quick; otherwise the periodic sync picks up the request.
            let r = sync_doctor(ctx, ch.doctor_id, false, Instant::now() + Duration::from_secs(3));
            result.action = if r.skipped || r.remaining || r.error.is_some() { "queued" } else { "synced" };
            result.changes = r.changes;
        }
        Some("not_exists") => {
            // The watched calendar is gone for this channel: Google sends nothing more on it.
            // It is closed here, and a sync is requested so the periodic run reports the cause
            // (and renewal opens a new channel while the doctor stays connected).
            ctx.store.set_channel_state(&channel_id, ChannelState::Stopped)?;
            ctx.store.request_sync(ch.doctor_id)?;
            let _ = ctx.store.audit(Some(ch.doctor_id), None, "channel", "not_exists", &format!("channel {channel_id}"));
            result.action = "closed";
        }
        _ => {} // "sync": the channel works
    }
    Ok(result)
}

/// A channel report line.
#[derive(Debug, Serialize)]
pub struct ChannelReport {
    pub created: u32,
    pub renewed: u32,
    pub stopped: u32,
    pub failures: Vec<ItemFailure>,
    pub push_enabled: bool,
}

#[derive(Debug, Serialize)]
pub struct ItemFailure {
    pub doctor_id: u64,
    pub error: String,
}

/// Opens a channel for the doctor and stops the one it replaces.
pub fn open_channel(ctx: &Context, doctor_id: u64) -> Result<ChannelRow> {
    let channel_id = format!("kcm-{}", random_token(18));
    let token = random_token(32);
    let calendar_id = grant::status(ctx, doctor_id as i64)?.calendar_id.unwrap_or_else(|| "primary".into());
    // Recorded before asking Google: its first ("sync") message can arrive before the answer.
    let mut row = ChannelRow {
        channel_id: channel_id.clone(),
        doctor_id,
        resource_id: String::new(),
        token_hash: sha256_hex(&token),
        expires_at: chrono::Utc::now().timestamp_millis() + CHANNEL_TTL_S * 1000,
        state: ChannelState::Opening,
        last_message: 0,
    };
    ctx.store.insert_channel(&row)?;
    let ch = match grant::with_token(ctx, doctor_id, |t| {
        Calendar::new(&ctx.http, &ctx.config.endpoints.calendar, t).watch(&calendar_id, &channel_id, &ctx.config.notify_url, &token, CHANNEL_TTL_S)
    }) {
        Ok(ch) => ch,
        Err(e) => {
            let _ = ctx.store.set_channel_state(&channel_id, ChannelState::Failed);
            return Err(e);
        }
    };
    row.resource_id = ch.resource_id;
    row.expires_at = ch.expiration_ms;
    row.state = ChannelState::Active;
    ctx.store.activate_channel(&row)?;
    let _ = ctx.store.audit(Some(doctor_id), None, "channel", "opened", &format!("channel {} until {}", row.channel_id, row.expires_at));
    Ok(row)
}

/// Stops a channel at Google (best effort when the doctor's grant is gone) and here.
pub fn stop_channel(ctx: &Context, ch: &ChannelRow) -> Result<()> {
    stop_channel_as(ctx, ch, false)
}

fn stop_channel_as(ctx: &Context, ch: &ChannelRow, lock_held: bool) -> Result<()> {
    let stop = |t: &crate::base::redact::Secret| Calendar::new(&ctx.http, &ctx.config.endpoints.calendar, t).stop_channel(&ch.channel_id, &ch.resource_id);
    let r = if lock_held { grant::with_token_lock_held(ctx, ch.doctor_id, stop) } else { grant::with_token(ctx, ch.doctor_id, stop) };
    ctx.store.set_channel_state(&ch.channel_id, ChannelState::Stopped)?;
    let _ = ctx.store.audit(Some(ch.doctor_id), None, "channel", "stopped", &ch.channel_id);
    match r {
        Err(e) if crate::base::retry::is_transient(&e) => Err(e),
        _ => Ok(()),
    }
}

/// `kc_meet_renew_channels()`: renews channels expiring within a day, opens missing ones.
pub fn renew_channels(ctx: &Context) -> Result<ChannelReport> {
    ctx.store.require_schema()?;
    let mut rep = ChannelReport { created: 0, renewed: 0, stopped: 0, failures: vec![], push_enabled: ctx.config.push_enabled() };
    let channels = ctx.store.active_channels(None)?;
    let now = chrono::Utc::now().timestamp_millis();
    let connected: Vec<u64> = ctx.store.doctors_to_sync(None)?;
    if !rep.push_enabled {
        // No HTTPS route: sync runs by polling; channels left from before are stopped.
        for ch in &channels {
            if stop_channel(ctx, ch).is_ok() {
                rep.stopped += 1;
            }
        }
        return Ok(rep);
    }
    for doctor in connected {
        let mine: Vec<&ChannelRow> = channels.iter().filter(|c| c.doctor_id == doctor).collect();
        let fresh = mine.iter().any(|c| c.expires_at > now + RENEW_WITHIN_MS);
        if fresh {
            continue;
        }
        match open_channel(ctx, doctor) {
            Ok(_) => {
                if mine.is_empty() { rep.created += 1 } else { rep.renewed += 1 }
                for old in mine {
                    if stop_channel(ctx, old).is_ok() {
                        rep.stopped += 1;
                    }
                }
            }
            Err(e) => rep.failures.push(ItemFailure { doctor_id: doctor, error: e.message }),
        }
    }
    // Channels of doctors who are no longer connected.
    for ch in channels.iter().filter(|c| !ctx.store.doctors_to_sync(Some(c.doctor_id)).map(|d| !d.is_empty()).unwrap_or(true)) {
        if ctx.store.set_channel_state(&ch.channel_id, ChannelState::Stopped).is_ok() {
            rep.stopped += 1;
        }
    }
    Ok(rep)
}

/// Stops every channel of a doctor (`wp kc-meet channels stop`).
pub fn stop_doctor_channels(ctx: &Context, doctor_id: u64) -> Result<u32> {
    stop_doctor_channels_as(ctx, doctor_id, false)
}

/// [`stop_doctor_channels`] for disconnect, which holds the doctor's lock: a token refresh on
/// the way must not wait for that lock on another connection (it would wait for itself).
pub(crate) fn stop_doctor_channels_lock_held(ctx: &Context, doctor_id: u64) -> Result<u32> {
    stop_doctor_channels_as(ctx, doctor_id, true)
}

fn stop_doctor_channels_as(ctx: &Context, doctor_id: u64, lock_held: bool) -> Result<u32> {
    let mut n = 0;
    for ch in ctx.store.active_channels(Some(doctor_id))? {
        stop_channel_as(ctx, &ch, lock_held)?;
        n += 1;
    }
    Ok(n)
}

/// `kc_meet_channels()`.
pub fn channels(ctx: &Context, doctor_id: Option<u64>) -> Result<Vec<ChannelRow>> {
    ctx.store.require_schema()?;
    ctx.store.active_channels(doctor_id)
}
