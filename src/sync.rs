//! Two-way sync: what doctors change in Google Calendar comes back to KiviCare.
//!
//! Owns incremental sync (<https://developers.google.com/calendar/api/guides/sync>): a full
//! listing of the doctor's window the first time, then `syncToken` listings; `nextSyncToken` is
//! stored only from the last page, a budget-interrupted listing resumes from its page token with
//! the very parameters of its first page (Google answers 400 otherwise: the stored window, not
//! one recomputed from today), and 410 drops the token for a full listing without deleting
//! anything local. A change that fails to apply is not lost when the position moves past it:
//! its event is kept for a targeted re-read (`events.get`) at the start of the next sync. Memory stays bounded:
//! pages are processed one at a time. Only our events count (our private extended property and
//! our event ids); everything else in the calendar is ignored and never stored. Our own writes
//! never come back as changes: each stores the etag Google answered, and an item with that etag
//! is an echo. When KiviCare has a change of its own still queued for the appointment, KiviCare
//! wins (the queued write will put it on Google), so simultaneous changes resolve the same way
//! every time. What each configured policy (`on_google_move`, `on_google_delete`) does is
//! decided here and only here. Push channels have their own module, one layer up, which asks this
//! module to sync one doctor.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::appointments::{self, Input};
use crate::google::calendar::Calendar;
use crate::base::config::{DeletePolicy, MovePolicy, SendUpdates};
use crate::error::{Error, Result};
use crate::base::retry::{MAX_REREAD_ATTEMPTS, is_transient};
use crate::base::str_enum::str_enum;
use crate::runtime::Context;
use crate::store::Store;
use crate::store::events::{EventState, JobState};
use crate::store::sync::{AppointmentTimes, ChangeSet, EventFromGoogle, LockedEvent, RetryItem, SyncPosition, SyncRow};
use crate::{events, grant};

/// Requests in flight at once when many doctors sync. Bounded by Google's quotas ("Manage
/// quotas": 10,000 requests per minute per project, 600 per minute per user): an idle round is one
/// request per doctor (user), so 1,000 doctors use a tenth of the project's minute even at full
/// speed; 429 and rate-limit 403s back off with jitter (crate::base::retry). Not by MySQL: the
/// round's MySQL connections do not grow with it (see [`sync`]).
pub const CONCURRENCY: usize = 24;
/// Doctors whose sync locks a round takes in one statement when its workers have used up the
/// doctors claimed before: as many as there are workers, so a claimed doctor waits for a worker
/// about as long as one doctor's sync.
const CLAIM_BATCH: usize = CONCURRENCY;
// A round's MySQL connections, whatever CONCURRENCY is: one for its doctors' sync locks, one for
// each thread that holds an appointment's or a doctor's lock (crate::store::LOCK_HOLDERS at
// most), and at least two for single statements: those the other workers run between Google
// requests (holding no connection while they wait for Google) and those a lock holder runs while
// its call connection is lent out.
const _: () = assert!(1 + crate::store::LOCK_HOLDERS + 2 <= crate::store::POOL_MAX);
/// The first listing covers this window around today.
const WINDOW_PAST_DAYS: i64 = 30;
const WINDOW_FUTURE_DAYS: i64 = 365;
str_enum! {
    /// What sync did about a change made in Google (the plugin dispatches on these strings).
    pub enum ChangeKind {
        /// The appointment follows the event's new time (`on_google_move` = apply).
        Moved = "moved",
        /// The event was put back at the appointment's time (`on_google_move` = revert).
        Reverted = "reverted",
        /// The event was deleted in Google; the appointment is kept and flagged.
        DeletedFlagged = "deleted_flagged",
        /// The event was deleted in Google; the appointment was cancelled.
        Cancelled = "cancelled",
        /// The event was deleted in Google; a new one was made.
        Recreated = "recreated",
        /// The event's Meet link changed in Google.
        MeetLinkChanged = "meet_link_changed",
        /// The event deleted in Google and flagged is back (the doctor undid the deletion or
        /// restored it from the bin): it is the appointment's event again, the flag is gone.
        Restored = "restored",
    }
}

/// A change made in Google and what was done about it.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub appointment_id: u64,
    pub doctor_id: u64,
    /// `moved`, `reverted`, `deleted_flagged`, `cancelled`, `recreated`, `meet_link_changed`,
    /// `restored`.
    pub kind: ChangeKind,
    pub event_id: String,
    pub from_start_utc: Option<String>,
    pub to_start_utc: Option<String>,
    pub to_end_utc: Option<String>,
}

/// One doctor's sync.
#[derive(Debug, Default, Serialize)]
pub struct DoctorSync {
    pub doctor_id: u64,
    pub pages: u32,
    pub events_seen: u32,
    pub changes_applied: u32,
    pub full: bool,
    pub remaining: bool,
    /// Changes that failed to apply and wait for a re-read at the next sync.
    pub retry_pending: u32,
    /// Another process holds this doctor's sync.
    pub skipped: bool,
    pub error: Option<String>,
    pub changes: Vec<Change>,
}

/// `kc_meet_sync()`'s report.
#[derive(Debug, Default, Serialize)]
pub struct SyncReport {
    pub doctors: Vec<DoctorSync>,
    pub remaining: bool,
    pub google_calls: u32,
    pub elapsed_s: f64,
}

/// `kc_meet_sync()` options (checked by [`crate::base::opts::parse`]).
#[derive(Debug, Default, serde::Deserialize)]
struct SyncOpts {
    doctor_id: Option<u64>,
    #[serde(default)]
    full: bool,
    budget_s: Option<f64>,
}

/// `kc_meet_sync()`: one doctor or every connected one, concurrently, within a budget.
///
/// Many doctors are synced by [`CONCURRENCY`] worker threads on a few MySQL connections: the
/// round claims its doctors' sync locks (`sync:{doctor}`, the lock a single doctor's sync takes)
/// a batch at a time on one connection of its own ([`crate::store::LockSet`]) and releases each
/// when its doctor is done; the workers check out a pooled connection for each statement, so a
/// worker waiting for Google holds no connection. A due token is refreshed with the doctor's
/// lock claimed on that same connection ([`Claims::next`]). Only a thread holding an
/// appointment's lock (a change written back to Google), or a doctor's lock it had to wait for
/// (another process held it at the claim, a token Google dropped early), keeps a connection
/// across Google requests, and at most [`crate::store::LOCK_HOLDERS`] threads at once. One doctor
/// is synced on the calling thread, on the call's one connection.
pub fn sync(ctx: &Context, opts: &Value) -> Result<SyncReport> {
    let o: SyncOpts = crate::base::opts::parse(opts, "kc_meet_sync()", &["doctor_id", "full", "budget_s"])?;
    ctx.store.require_schema()?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(o.budget_s.unwrap_or(25.0).clamp(0.5, 3600.0));
    let queue: VecDeque<(u64, Option<i64>)> = ctx.store.round_doctors(o.doctor_id)?.into();
    let (mut doctors, left) = if queue.len() <= 1 {
        match queue.front() {
            Some(&(doctor, _)) if Instant::now() < deadline => (vec![sync_doctor(ctx, doctor, o.full, deadline)], 0),
            _ => (vec![], queue.len()),
        }
    } else {
        round(ctx, queue, o.full, deadline)
    };
    doctors.sort_by_key(|d| d.doctor_id);
    Ok(SyncReport {
        remaining: left > 0 || doctors.iter().any(|d| d.remaining),
        google_calls: doctors.iter().map(|d| d.pages).sum(),
        doctors,
        elapsed_s: started.elapsed().as_secs_f64(),
    })
}

/// The round's doctors as its workers share them: those not claimed yet (with the token expiry
/// our row records), those whose sync lock the round holds and no worker has begun (and whether
/// the round holds the doctor's lock for a refresh as well), and the locks.
struct Claims {
    queue: VecDeque<(u64, Option<i64>)>,
    ready: VecDeque<(u64, bool)>,
    locks: crate::store::LockSet,
}

impl Claims {
    /// Releases the locks of `done` (a doctor a worker finished) and hands out the next doctor,
    /// unless `stop`: the next claimed one, else the next of a batch claimed in the same
    /// statement. The doctors of a batch that another process is syncing, or that could not be
    /// claimed, are reported into `out`.
    ///
    /// A doctor whose token our row says is due is claimed with the doctor's lock
    /// ([`grant::lock_name`], the lock of every change of the doctor's tokens) as well, taken
    /// only along with the sync lock and without waiting: the worker refreshes the token with
    /// the lock held here ([`grant::refresh_if_due_lock_held`]), so a round's refreshes keep no
    /// connection of their own across the token request. When another process holds that lock
    /// (refreshing, connecting), the worker's refresh takes it the usual way.
    fn next(&mut self, done: Option<u64>, stop: bool, out: &Mutex<Vec<DoctorSync>>) -> Option<(u64, bool)> {
        // The doctor's lock is normally gone by then ([`Claims::release_refresh`]); a name the
        // set does not hold costs nothing.
        let mut release: Vec<String> = done.into_iter().flat_map(|d| [sync_lock(d), grant::lock_name(d)]).collect();
        while !stop && self.ready.is_empty() && !self.queue.is_empty() {
            let batch: Vec<(u64, Option<i64>)> = self.queue.drain(..CLAIM_BATCH.min(self.queue.len())).collect();
            let due_by = chrono::Utc::now().timestamp() + grant::REFRESH_MARGIN_S;
            let names: Vec<(String, Option<String>)> = batch
                .iter()
                .map(|&(doctor, expires)| (sync_lock(doctor), expires.is_some_and(|x| x <= due_by).then(|| grant::lock_name(doctor))))
                .collect();
            let not_claimed: Vec<DoctorSync> = match self.locks.exchange_paired(&std::mem::take(&mut release), &names) {
                Ok(got) => batch
                    .into_iter()
                    .zip(got)
                    .filter_map(|((doctor, _), (taken, refresh))| match taken {
                        true => {
                            self.ready.push_back((doctor, refresh));
                            None
                        }
                        // Two nodes never sync the same doctor at once: the second one skips.
                        false => Some(DoctorSync { doctor_id: doctor, skipped: true, ..DoctorSync::default() }),
                    })
                    .collect(),
                Err(e) => batch
                    .into_iter()
                    .map(|(doctor, _)| DoctorSync { doctor_id: doctor, error: Some(e.message.clone()), ..DoctorSync::default() })
                    .collect(),
            };
            if let Ok(mut v) = out.lock() {
                v.extend(not_claimed);
            }
        }
        if !release.is_empty() {
            // A failure gives up the set's connection, which releases the lock as well.
            let _ = self.locks.exchange(&release, &[]);
        }
        if stop { None } else { self.ready.pop_front() }
    }

    /// Releases the doctor's lock taken with its sync lock, once its refresh is stored.
    fn release_refresh(&mut self, doctor: u64) {
        // A failure gives up the set's connection, which releases the lock as well.
        let _ = self.locks.exchange(&[grant::lock_name(doctor)], &[]);
    }
}

/// The name of a doctor's sync lock.
fn sync_lock(doctor_id: u64) -> String {
    format!("sync:{doctor_id}")
}

/// Syncs the doctors of `queue` with [`CONCURRENCY`] workers (see [`sync`]); the reports, and
/// how many doctors the budget left for the next round.
fn round(ctx: &Context, queue: VecDeque<(u64, Option<i64>)>, full: bool, deadline: Instant) -> (Vec<DoctorSync>, usize) {
    let workers = CONCURRENCY.min(queue.len()).max(1);
    let claims = Mutex::new(Claims { queue, ready: VecDeque::new(), locks: ctx.store.lock_set() });
    let results: Mutex<Vec<DoctorSync>> = Mutex::new(vec![]);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                let mut done = None;
                loop {
                    let stop = Instant::now() >= deadline;
                    let next = match claims.lock() {
                        Ok(mut c) => c.next(done.take(), stop, &results),
                        Err(_) => None,
                    };
                    let Some((doctor, refresh)) = next else { break };
                    let release = || {
                        if let Ok(mut c) = claims.lock() {
                            c.release_refresh(doctor);
                        }
                    };
                    let r = sync_locked(ctx, doctor, full, deadline, refresh.then_some(&release as &dyn Fn()));
                    if let Ok(mut v) = results.lock() {
                        v.push(r);
                    }
                    done = Some(doctor);
                }
            });
        }
    });
    // Dropping the claims releases the locks of the doctors the budget left.
    let left = claims.into_inner().map(|c| c.queue.len() + c.ready.len()).unwrap_or(0);
    (results.into_inner().unwrap_or_default(), left)
}

/// One doctor's sync on this thread, under its sync lock (the push route, a one-doctor round).
pub(crate) fn sync_doctor(ctx: &Context, doctor_id: u64, full: bool, deadline: Instant) -> DoctorSync {
    // The budget bounds the lock's wait as well.
    let _budget = crate::base::retry::deadline_scope(deadline);
    // Two nodes never sync the same doctor at once: the second one skips.
    match ctx.store.try_lock(&sync_lock(doctor_id), Duration::ZERO) {
        Ok(Some(_lock)) => sync_locked(ctx, doctor_id, full, deadline, None),
        Ok(None) => DoctorSync { doctor_id, skipped: true, ..DoctorSync::default() },
        Err(e) => DoctorSync { doctor_id, error: Some(e.message), ..DoctorSync::default() },
    }
}

/// One doctor's sync, by a caller that holds the doctor's sync lock; `refresh_lock` when it
/// holds the doctor's lock for a refresh as well, on a connection of its own: called once to
/// release it, after the token is refreshed (see [`Claims::next`]).
fn sync_locked(ctx: &Context, doctor_id: u64, full: bool, deadline: Instant, refresh_lock: Option<&dyn Fn()>) -> DoctorSync {
    let mut r = DoctorSync { doctor_id, ..DoctorSync::default() };
    // The budget bounds every request and lock wait of this worker thread, not only the pages
    // between them: a Google that hangs cannot hold the push route or cron past it.
    let _budget = crate::base::retry::deadline_scope(deadline);
    let result = run_listing(ctx, doctor_id, full, deadline, refresh_lock, &mut r);
    // A request cut by the budget is not a failure: the listing stopped where the budget ended
    // and the next run resumes from the stored position.
    let result = match result {
        Err(e) if is_transient(&e) && Instant::now() >= deadline => {
            r.remaining = true;
            Ok(())
        }
        other => other,
    };
    if let Err(e) = result {
        let _ = ctx.store.save_sync_error(doctor_id, &e.message);
        r.error = Some(e.message);
    }
    r
}

/// The window of a full listing that begins now.
fn full_window() -> (String, String) {
    let now = chrono::Utc::now();
    let day = |d: i64| (now + chrono::Duration::days(d)).format("%Y-%m-%dT00:00:00Z").to_string();
    (day(-WINDOW_PAST_DAYS), day(WINDOW_FUTURE_DAYS))
}

/// The `events.list` parameters at `pos`. A continued page repeats its listing's first
/// request (the sync token, or the stored window) plus the page token: Google refuses a page
/// token sent with other parameters.
fn list_query(pos: &SyncPosition) -> Vec<(&'static str, String)> {
    let mut query: Vec<(&str, String)> = vec![];
    match &pos.sync_token {
        Some(token) => query.push(("syncToken", token.clone())),
        None => {
            let (time_min, time_max) = pos.window.clone().unwrap_or_else(full_window);
            query.push(("timeMin", time_min));
            query.push(("timeMax", time_max));
            // Deleted events too: an event deleted before the first sync must still count.
            query.push(("showDeleted", "true".into()));
        }
    }
    if let Some(p) = &pos.page_token {
        query.push(("pageToken", p.clone()));
    }
    query
}

/// What one doctor's sync keeps between pages: the site's key (computed once).
struct Pass {
    site: Option<String>,
}

impl Pass {
    fn new() -> Pass {
        Pass { site: None }
    }

    fn site(&mut self, ctx: &Context) -> &str {
        self.site.get_or_insert_with(|| events::site_key(ctx))
    }
}

fn run_listing(ctx: &Context, doctor_id: u64, full: bool, deadline: Instant, refresh_lock: Option<&dyn Fn()>, r: &mut DoctorSync) -> Result<()> {
    // On an error before the refresh, the doctor's lock goes with the sync lock, at once.
    let start = ctx.store.sync_start(doctor_id)?;
    // The doctor and token read with the position serve the listing's requests.
    let _doctor = grant::hold_for_call(ctx, doctor_id, start.doctor);
    // Refreshed (when still due) before the listing asks for the token, the lock released once
    // the new token is stored; the token serves the first request. A refresh that failed is
    // this doctor's error, recorded once, without a second request to the token endpoint.
    let mut token = match refresh_lock {
        Some(release) => {
            let refreshed = grant::refresh_if_due_lock_held(ctx, doctor_id);
            release();
            Some(refreshed?)
        }
        None => None,
    };
    let calendar_id = start.calendar_id;
    let served = start.requested;
    let mut pos = if full { SyncPosition::default() } else { start.position };
    let mut retries = start.retries;
    let mut pass = Pass::new();
    reread_failed(ctx, doctor_id, &calendar_id, &mut retries, deadline, &mut token, &mut pass, r)?;
    let mut restarted = false;
    loop {
        r.full = pos.sync_token.is_none();
        if r.full && pos.window.is_none() {
            // A full listing begins: its window is kept with its page tokens.
            pos.window = Some(full_window());
        }
        let query = list_query(&pos);
        r.pages += 1;
        let page = match with_token(ctx, doctor_id, &mut token, |t| list_page(ctx, t, &calendar_id, &query)) {
            Ok(p) => p,
            Err(e) if e.http_status == Some(410) && !restarted => {
                // The token is stale: list everything again; nothing local is deleted.
                let _ = ctx.store.audit(Some(doctor_id), None, "sync", "full_resync", "Google asked for a full sync (410)");
                pos = SyncPosition::default();
                restarted = true;
                continue;
            }
            Err(e) => return Err(e),
        };
        r.events_seen += page.items.len() as u32;
        let mut failed = false;
        let work = needing_work(ctx, doctor_id, &page.items, &mut pass)?;
        for (item, e) in apply_page(ctx, doctor_id, &calendar_id, work, r) {
            // The position moves on (one bad change must not block the others), so the event
            // is kept for a targeted re-read instead of being lost.
            let _ = ctx.store.audit(Some(doctor_id), None, "sync.apply", "failed", &e.message);
            if !item.id.is_empty() && !retries.iter().any(|x| x.event_id == item.id) {
                retries.push(RetryItem { event_id: item.id.clone(), attempts: 0 });
                failed = true;
            }
        }
        if failed {
            // Stored before the position advances past the failed change.
            ctx.store.set_sync_retries(doctor_id, &retries)?;
        }
        r.retry_pending = retries.len() as u32;
        match (page.next_page_token, page.next_sync_token) {
            (Some(next), _) => {
                pos.page_token = Some(next);
                if !ctx.store.save_sync_position(doctor_id, &pos, served)? {
                    // Disconnected (or refused by Google) while this listing ran: not one more
                    // request for that doctor. The changes waiting for a re-read stay stored: a
                    // doctor who reconnects the same account needs them (a disconnect, or
                    // another account, clears them).
                    let _ = ctx.store.audit(Some(doctor_id), None, "sync", "stopped", "the doctor is no longer connected");
                    return Ok(());
                }
                if Instant::now() >= deadline {
                    r.remaining = true;
                    return Ok(());
                }
            }
            (None, token) => {
                pos = SyncPosition { sync_token: token, page_token: None, window: None };
                ctx.store.save_sync_position(doctor_id, &pos, served)?;
                return Ok(());
            }
        }
    }
}

/// [`grant::with_token`], the first time with the token the round's refresh just obtained.
fn with_token<T>(ctx: &Context, doctor_id: u64, token: &mut Option<crate::base::redact::Secret>, call: impl FnMut(&crate::base::redact::Secret) -> Result<T>) -> Result<T> {
    match token.take() {
        Some(t) => grant::with_token_given(ctx, doctor_id, t, call),
        None => grant::with_token(ctx, doctor_id, call),
    }
}

/// The items of a page that may ask for work, with their appointments, decided from the page's
/// event rows read at once (a few statements per page, no lock). An item is left out only when [`apply_page`], which
/// reads the row again under the appointment's lock, would do nothing with it as the rows stand:
/// not ours (neither our properties nor one of our event ids); ours and current with the etag
/// of our last write (an echo) or not active; or no longer the appointment's event while Google
/// shows it deleted. A row a concurrent write changes after this read is the same as a sync run
/// just before that write.
fn needing_work<'a>(ctx: &Context, doctor_id: u64, items: &'a [Item], pass: &mut Pass) -> Result<Vec<Work<'a>>> {
    if items.is_empty() {
        return Ok(vec![]);
    }
    let site = pass.site(ctx).to_string();
    let marked: Vec<Option<u64>> = items.iter().map(|i| i.marked(&site)).collect();
    let unmarked_ids: Vec<&str> = items.iter().zip(&marked).filter(|(i, m)| m.is_none() && !i.id.is_empty()).map(|(i, _)| i.id.as_str()).collect();
    let mut appointment_ids: Vec<u64> = marked.iter().flatten().copied().collect();
    appointment_ids.sort_unstable();
    appointment_ids.dedup();
    let rows = ctx.store.sync_rows(&unmarked_ids, &appointment_ids)?;
    let mut by_appointment: HashMap<u64, &SyncRow> = HashMap::with_capacity(rows.len());
    let mut by_event: HashMap<&str, u64> = HashMap::with_capacity(rows.len());
    for row in &rows {
        by_appointment.insert(row.appointment_id, row);
        by_event.entry(row.event_id.as_str()).or_insert(row.appointment_id);
    }
    Ok(items
        .iter()
        .zip(marked)
        .filter_map(|(item, marked)| {
            // Deleted events may come back without their properties: matched by our ids.
            let appt = marked.or_else(|| by_event.get(item.id.as_str()).copied())?;
            let stored = by_appointment.get(&appt);
            let current = stored.is_some_and(|s| s.event_id == item.id && s.doctor_id == doctor_id && matches!(s.state, EventState::Active | EventState::Creating));
            let needs = match stored {
                Some(s) if current => s.state == EventState::Active && s.etag != item.etag,
                Some(s) if another_doctors(doctor_id, (&s.event_id, s.doctor_id), item) => false,
                _ => marked.is_some() && item.status != "cancelled",
            };
            needs.then_some(Work { item, appointment_id: appt, marked: marked.is_some() })
        })
        .collect())
}

/// Re-reads the events whose change failed to apply at an earlier sync and applies them again.
/// An event Google no longer has (404) is applied as deleted; one that keeps failing is given
/// up after [`MAX_REREAD_ATTEMPTS`] syncs, with an audit line an admin can act on.
#[expect(clippy::too_many_arguments, reason = "the sync pass's own state, lent for the re-reads")]
fn reread_failed(
    ctx: &Context,
    doctor_id: u64,
    calendar_id: &str,
    retries: &mut Vec<RetryItem>,
    deadline: Instant,
    token: &mut Option<crate::base::redact::Secret>,
    pass: &mut Pass,
    r: &mut DoctorSync,
) -> Result<()> {
    if retries.is_empty() {
        return Ok(());
    }
    let before = retries.clone();
    let mut pending: VecDeque<RetryItem> = std::mem::take(retries).into();
    let mut kept = vec![];
    while let Some(mut item) = pending.pop_front() {
        if Instant::now() >= deadline {
            // Out of time: the rest waits for the next sync, unchanged.
            kept.push(item);
            kept.extend(pending.drain(..));
            break;
        }
        let read = with_token(ctx, doctor_id, token, |t| {
            Calendar::new(&ctx.http, &ctx.config.endpoints.calendar, t).get_event_value(calendar_id, &item.event_id)
        });
        let applied = match read {
            Ok(v) => match serde_json::from_value::<Item>(v) {
                Ok(event) => apply_item(ctx, doctor_id, calendar_id, &event, pass, r),
                Err(_) => Err(Error::new(crate::error::Code::GoogleError, "Google's answer to events.get has an unexpected shape")),
            },
            Err(e) if matches!(e.http_status, Some(404) | Some(410)) => apply_item(ctx, doctor_id, calendar_id, &Item::deleted(&item.event_id), pass, r),
            Err(e) if is_transient(&e) || e.http_status == Some(401) => {
                // Google is unavailable: keep every item and let the listing report it.
                kept.push(item);
                kept.extend(pending);
                *retries = kept;
                ctx.store.set_sync_retries(doctor_id, retries)?;
                return Err(e);
            }
            Err(e) => Err(e),
        };
        match applied {
            Ok(()) => {
                let _ = ctx.store.audit(Some(doctor_id), None, "sync.apply", "reapplied", &format!("event {}", item.event_id));
            }
            Err(e) => {
                item.attempts += 1;
                if item.attempts >= MAX_REREAD_ATTEMPTS {
                    let _ = ctx.store.audit(Some(doctor_id), None, "sync.apply", "given_up", &format!("event {}: {}", item.event_id, e.message));
                } else {
                    let _ = ctx.store.audit(Some(doctor_id), None, "sync.apply", "failed", &e.message);
                    kept.push(item);
                }
            }
        }
    }
    *retries = kept;
    if *retries != before {
        ctx.store.set_sync_retries(doctor_id, retries)?;
    }
    Ok(())
}

/// What sync reads of a listed event; the rest of Google's resource (description, attendees,
/// reminders …) is skipped by the parser without being built.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    #[serde(default)]
    id: String,
    /// `confirmed`, `tentative` or `cancelled` (deleted).
    #[serde(default)]
    status: String,
    #[serde(default)]
    etag: String,
    #[serde(default)]
    updated: String,
    #[serde(default)]
    start: Option<When>,
    #[serde(default)]
    end: Option<When>,
    #[serde(default)]
    hangout_link: Option<String>,
    #[serde(default)]
    conference_data: Option<ConferenceData>,
    #[serde(default)]
    extended_properties: Option<ExtendedProperties>,
    /// Set on an occurrence of a recurring event that has an id of its own.
    #[serde(default)]
    recurring_event_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct When {
    #[serde(default)]
    date_time: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConferenceData {
    #[serde(default)]
    entry_points: Vec<EntryPoint>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EntryPoint {
    #[serde(default)]
    entry_point_type: String,
    #[serde(default)]
    uri: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ExtendedProperties {
    #[serde(default)]
    private: Option<OurProperties>,
}

/// Our private extended properties; other keys are ignored.
#[derive(Debug, Default, Deserialize)]
struct OurProperties {
    #[serde(default)]
    kc_meet_site: Option<String>,
    #[serde(default)]
    kc_meet_appointment: Option<String>,
}

impl Item {
    /// A deleted event as the listing would show it.
    fn deleted(id: &str) -> Item {
        Item { id: id.to_string(), status: "cancelled".into(), ..Item::default() }
    }

    /// The appointment our private properties name, when they carry this site's key. Not for
    /// an occurrence of a recurring event (the doctor made ours recurring and changed one
    /// occurrence, or split the series): it carries the series' properties, but it is the
    /// doctor's own event, not one we made, and never a stray of ours to delete.
    fn marked(&self, site: &str) -> Option<u64> {
        if self.recurring_event_id.is_some() || self.id.contains('_') {
            return None;
        }
        let p = self.extended_properties.as_ref()?.private.as_ref()?;
        if p.kc_meet_site.as_deref() != Some(site) {
            return None;
        }
        p.kc_meet_appointment.as_deref()?.parse().ok()
    }

    /// The Meet link: the video entry point's, else `hangoutLink`; empty while pending.
    fn meet_url(&self) -> &str {
        self.conference_data
            .as_ref()
            .and_then(|c| c.entry_points.iter().find(|e| e.entry_point_type == "video"))
            .and_then(|e| e.uri.as_deref())
            .or(self.hangout_link.as_deref())
            .unwrap_or_default()
    }

    fn meet_url_or(&self, fallback: &str) -> String {
        let m = self.meet_url();
        if m.is_empty() { fallback.to_string() } else { m.to_string() }
    }
}

fn utc_of(w: Option<&When>) -> Option<String> {
    let s = w?.date_time.as_deref()?;
    chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&chrono::Utc).format("%Y-%m-%d %H:%M:%S").to_string())
}

/// One page of `events.list`, parsed straight from the body into the fields sync reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListPage {
    #[serde(default)]
    items: Vec<Item>,
    #[serde(default)]
    next_page_token: Option<String>,
    #[serde(default)]
    next_sync_token: Option<String>,
}

/// `events.list`: one page (`maxResults` 2500), `query` as [`list_query`] makes it. The same
/// request and error mapping as [`Calendar::list_events`], without building the whole answer
/// as a JSON tree. (<https://developers.google.com/calendar/api/guides/sync>)
fn list_page(ctx: &Context, token: &crate::base::redact::Secret, calendar_id: &str, query: &[(&'static str, String)]) -> Result<ListPage> {
    const WHAT: &str = "events.list";
    let mut url = ctx.config.endpoints.calendar.clone();
    match url.path_segments_mut() {
        Ok(mut p) => {
            p.pop_if_empty().extend(["calendars", calendar_id, "events"]);
        }
        Err(()) => return Err(Error::new(crate::error::Code::ConfigInvalid, "the Calendar endpoint is not an http(s) URL")),
    }
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("maxResults", "2500");
        for (k, v) in query {
            q.append_pair(k, v);
        }
    }
    let resp = crate::google::http::send(WHAT, ctx.http.get(url).bearer_auth(token.expose()))?;
    let status = resp.status().as_u16();
    if !(200..300).contains(&status) {
        // Google's errors (410 for a stale sync token, 401, 429 with Retry-After …).
        return crate::google::http::json(WHAT, resp).map(|_| ListPage::default());
    }
    let body = resp.bytes().map_err(|e| crate::google::http::transport_error(WHAT, &e))?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(ListPage::default());
    }
    serde_json::from_slice(&body).map_err(|_| Error::new(crate::error::Code::GoogleError, format!("Google's answer to {WHAT} is not JSON (HTTP {status})")))
}

/// A listed event that may ask for work, and the appointment it belongs to.
#[derive(Clone, Copy)]
struct Work<'a> {
    item: &'a Item,
    appointment_id: u64,
    /// Our private properties name the appointment (else one of our event ids matched).
    marked: bool,
}

/// What a listed event asks of its appointment, decided under the appointment's lock from the
/// event row and the appointment's job as they stand then.
#[derive(Debug, PartialEq)]
enum Decision {
    /// Not the appointment's event and deleted, our own write (its etag), an event we let go
    /// of, a deletion while KiviCare's own change is queued, an event without times.
    Nothing,
    /// One of ours that is not the appointment's event, alive: it goes ([`apply_one`]).
    Stray,
    /// The appointment's event was deleted in Google (`on_google_delete`).
    Deleted,
    /// The appointment's event, deleted in Google and flagged for review, is alive again: it is
    /// the appointment's event again if the appointment still wants one, else a stray.
    Restored,
    /// The event moved while KiviCare has a change of its own queued: KiviCare wins.
    KivicareWins,
    /// The event moved to (start, end), UTC (`on_google_move`).
    Moved(String, String),
    /// The same times: what else Google says (link, etag) is recorded.
    Same(String, String),
}

/// Whether the listed event is the one the row records for another doctor: both doctors are
/// connected with the same Google account, so their calendars are one. That doctor's sync
/// applies its changes; to this one it is neither a change nor a stray event.
fn another_doctors(doctor_id: u64, (row_event, row_doctor): (&str, u64), item: &Item) -> bool {
    row_event == item.id && row_doctor != doctor_id
}

/// The flag a deletion in Google leaves on the event row under `on_google_delete` = flag.
const DELETED_FLAG: &str = "deleted_in_google";

fn decide(doctor_id: u64, w: &Work, stored: Option<&LockedEvent>) -> Decision {
    let info = w.item;
    // The appointment's event: the row names it and has not let it go. A row that has (state
    // `deleted`/`deleting`) while Google shows the event alive means an insert landed after our
    // delete of the same id answered 404.
    let current = stored.is_some_and(|s| s.event_id == info.id && s.doctor_id == doctor_id && matches!(s.state, EventState::Active | EventState::Creating));
    if stored.is_some_and(|s| another_doctors(doctor_id, (&s.event_id, s.doctor_id), info)) {
        return Decision::Nothing;
    }
    let flagged_deletion =
        stored.is_some_and(|s| s.event_id == info.id && s.doctor_id == doctor_id && s.state == EventState::Deleted && s.flag == DELETED_FLAG);
    if flagged_deletion && info.status != "cancelled" {
        return Decision::Restored;
    }
    if !current && w.marked && info.status != "cancelled" {
        return Decision::Stray;
    }
    let Some(stored) = stored.filter(|_| current) else { return Decision::Nothing };
    if info.etag == stored.etag || stored.state != EventState::Active {
        return Decision::Nothing; // our own write, or an event we already let go of
    }
    let queued_here = stored.job_state == Some(JobState::Queued);
    if info.status == "cancelled" {
        return if queued_here { Decision::Nothing } else { Decision::Deleted };
    }
    let (Some(start), Some(end)) = (utc_of(info.start.as_ref()), utc_of(info.end.as_ref())) else {
        return Decision::Nothing;
    };
    match (start != stored.start_utc || end != stored.end_utc, queued_here) {
        (true, true) => Decision::KivicareWins,
        (true, false) => Decision::Moved(start, end),
        (false, _) => Decision::Same(start, end),
    }
}

/// Whether the decision is only rows to write (with its audit entry), which a page writes
/// together: not a stray event or a deletion (Google requests, the event's own rules), nor a
/// move the site reverts (the event is written back to Google).
fn only_writes(ctx: &Context, d: &Decision) -> bool {
    match d {
        Decision::Nothing | Decision::KivicareWins | Decision::Same(..) => true,
        Decision::Moved(..) => ctx.config.on_google_move == MovePolicy::Apply,
        Decision::Stray | Decision::Deleted | Decision::Restored => false,
    }
}

/// The KiviCare rows read with a page's locks, by appointment.
struct AppointmentRows {
    rows: HashMap<u64, mysql::Row>,
    /// KiviCare's appointments table has the UTC columns (4.x): seen in the rows' columns.
    have_utc: bool,
}

impl AppointmentRows {
    fn new(rows: Vec<mysql::Row>) -> AppointmentRows {
        let have_utc = rows.first().is_some_and(|r| r.columns_ref().iter().any(|c| c.name_str() == "appointment_start_utc"));
        let rows = rows.into_iter().filter_map(|r| Some((r.get::<Option<u64>, _>("id").flatten()?, r))).collect();
        AppointmentRows { rows, have_utc }
    }

    fn get(&self, id: u64) -> Option<appointments::Row> {
        self.rows.get(&id).map(|r| appointments::row_from(r, 0))
    }
}

fn change(doctor_id: u64, w: &Work, kind: ChangeKind, from: Option<String>, to: Option<(String, String)>) -> Change {
    Change {
        appointment_id: w.appointment_id,
        doctor_id,
        kind,
        event_id: w.item.id.clone(),
        from_start_utc: from,
        to_start_utc: to.as_ref().map(|t| t.0.clone()),
        to_end_utc: to.map(|t| t.1),
    }
}

fn report(r: &mut DoctorSync, changes: impl IntoIterator<Item = Change>) {
    for c in changes {
        r.changes_applied += 1;
        r.changes.push(c);
    }
}

/// Adds the rows of a decision that [`only_writes`] to `changes`, with its audit entry (in
/// the same transaction); the change to report once they are committed.
fn write(ctx: &Context, doctor_id: u64, w: &Work, stored: Option<&LockedEvent>, decision: Decision, rows: &AppointmentRows, changes: &mut ChangeSet) -> Result<Option<Change>> {
    let (Some(stored), info, appt) = (stored, w.item, w.appointment_id) else { return Ok(None) };
    let detail = format!("event {}", info.id);
    let event = |start: String, end: String| EventFromGoogle {
        appointment_id: appt,
        start_utc: start,
        end_utc: end,
        meet_url: info.meet_url_or(&stored.meet_url),
        etag: info.etag.clone(),
        updated: info.updated.clone(),
    };
    match decision {
        Decision::KivicareWins => {
            changes.audit(Some(doctor_id), Some(appt), "google_change", "kivicare_wins", "a KiviCare change is queued for this appointment");
            Ok(None)
        }
        Decision::Same(start, end) => {
            let e = event(start, end);
            let link_changed = e.meet_url != stored.meet_url;
            changes.event(e);
            if !link_changed {
                return Ok(None);
            }
            changes.audit(Some(doctor_id), Some(appt), "google_change", ChangeKind::MeetLinkChanged.as_str(), &detail);
            Ok(Some(change(doctor_id, w, ChangeKind::MeetLinkChanged, None, None)))
        }
        Decision::Moved(start, end) => {
            let Some(a) = appointments::resolve_row(ctx, appt, &Input::default(), rows.get(appt))? else { return Ok(None) };
            let local = |t: &str| -> String {
                let utc = chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").map(|n| n.and_utc()).unwrap_or_default();
                events::local_wall(utc, a.zone)
            };
            let times = AppointmentTimes { appointment_id: appt, local: (local(&start), local(&end)), utc: (start.clone(), end.clone()) };
            changes.appointment(times, rows.have_utc);
            changes.event(event(start.clone(), end.clone()));
            changes.audit(Some(doctor_id), Some(appt), "google_change", ChangeKind::Moved.as_str(), &detail);
            Ok(Some(change(doctor_id, w, ChangeKind::Moved, Some(stored.start_utc.clone()), Some((start, end)))))
        }
        _ => Ok(None),
    }
}

/// Applies a page's work. The changes that are only rows to write ([`only_writes`]: most)
/// go together: their appointments' locks are taken and their rows read in one round trip,
/// and their writes with their audit entries committed in one transaction that releases the
/// locks, in one more, whatever their number. One at a time ([`apply_one`]): those whose
/// appointment another process is writing (its lock is then waited for), those that ask more
/// than writes, and an appointment's second event on the page. Returns the items that failed.
fn apply_page<'a>(ctx: &Context, doctor_id: u64, calendar_id: &str, work: Vec<Work<'a>>, r: &mut DoctorSync) -> Vec<(&'a Item, Error)> {
    let mut seen = std::collections::HashSet::new();
    let (batch, second): (Vec<Work>, Vec<Work>) = work.into_iter().partition(|w| seen.insert(w.appointment_id));
    let (mut one_by_one, mut failed) = match apply_batch(ctx, doctor_id, &batch, r) {
        Ok(left) => left,
        Err(e) => (vec![], batch.iter().map(|w| (w.item, e.clone())).collect()),
    };
    one_by_one.extend(second);
    for w in one_by_one {
        if let Err(e) = apply_one(ctx, doctor_id, calendar_id, &w, r) {
            failed.push((w.item, e));
        }
    }
    failed
}

/// [`apply_page`]'s batch (one item per appointment): the work it left for [`apply_one`], and
/// the items whose change could not be made (the others are written).
#[allow(clippy::type_complexity)]
fn apply_batch<'a>(ctx: &Context, doctor_id: u64, batch: &[Work<'a>], r: &mut DoctorSync) -> Result<(Vec<Work<'a>>, Vec<(&'a Item, Error)>)> {
    if batch.is_empty() {
        return Ok((vec![], vec![]));
    }
    let ids: Vec<u64> = batch.iter().map(|w| w.appointment_id).collect();
    let (locks, page) = ctx.store.lock_page(&ids, &appointments::rows_sql(ctx, &ids))?;
    let locked: std::collections::HashSet<u64> = page.locked.iter().copied().collect();
    let rows = AppointmentRows::new(page.appointments);
    let mut changes = ChangeSet::default();
    let (mut done, mut left, mut failed) = (vec![], vec![], vec![]);
    for w in batch {
        let stored = page.events.get(&w.appointment_id);
        let decision = decide(doctor_id, w, stored);
        if !locked.contains(&w.appointment_id) || !only_writes(ctx, &decision) {
            left.push(*w);
            continue;
        }
        match write(ctx, doctor_id, w, stored, decision, &rows, &mut changes) {
            Ok(c) => done.extend(c),
            Err(e) => failed.push((w.item, e)),
        }
    }
    locks.commit(&changes)?;
    report(r, done);
    Ok((left, failed))
}

/// Applies one listed event of the appointment `w` names, under the appointment's lock (waited
/// for); [`apply_item`] finds the appointment first.
fn apply_one(ctx: &Context, doctor_id: u64, calendar_id: &str, w: &Work, r: &mut DoctorSync) -> Result<()> {
    let (info, appt) = (w.item, w.appointment_id);
    let lock = ctx.store.lock(&Store::appointment_lock(appt), Duration::from_secs(20))?;
    let page = ctx.store.read_locked(appt, &appointments::rows_sql(ctx, &[appt]))?;
    let stored = page.events.get(&appt);
    let rows = AppointmentRows::new(page.appointments);
    let mut decision = decide(doctor_id, w, stored);
    if decision == Decision::Restored {
        // Only an appointment that still wants this doctor's video consultation takes its
        // event back; for one cancelled or changed since, the event is a stray of ours.
        let wanted = appointments::resolve_row(ctx, appt, &Input::default(), rows.get(appt))?
            .is_some_and(|a| a.doctor_id == doctor_id && a.telemed && !matches!(a.status, 0 | 2));
        if !wanted {
            decision = Decision::Stray;
        } else {
            let note = crate::store::events::AuditNote {
                doctor_id: Some(doctor_id),
                action: "google_change",
                outcome: ChangeKind::Restored.as_str(),
                detail: format!("event {} is back in Google", info.id),
            };
            if !ctx.store.restore_event(appt, &info.id, &info.meet_url_or(""), DELETED_FLAG, &events::local_now(ctx), &note)? {
                return Ok(());
            }
            report(r, [change(doctor_id, w, ChangeKind::Restored, None, None)]);
            // The row is the appointment's event again, with the times and etag it had: what
            // else changed in Google (a move) is applied now as any change is.
            drop(lock);
            return apply_one(ctx, doctor_id, calendar_id, w, r);
        }
    }
    if only_writes(ctx, &decision) {
        let mut changes = ChangeSet::default();
        let done = write(ctx, doctor_id, w, stored, decision, &rows, &mut changes)?;
        ctx.store.write_changes(&changes)?;
        report(r, done);
        return Ok(());
    }
    let audit = |kind: ChangeKind| {
        let _ = ctx.store.audit(Some(doctor_id), Some(appt), "google_change", kind.as_str(), &format!("event {}", info.id));
    };
    match (decision, stored) {
        (Decision::Stray, _) => {
            // One of ours that is not the appointment's event: an insert Google finished after
            // we had given up on it and deleted its id (a request cut by the budget can still be
            // processed), an older generation, or the old doctor's event after a doctor change.
            // Under the appointment's lock, so no insert of ours is in flight: it goes, and its
            // attendees are told.
            let result = grant::with_token(ctx, doctor_id, |t| {
                Calendar::new(&ctx.http, &ctx.config.endpoints.calendar, t).delete_event(calendar_id, &info.id, SendUpdates::All)
            });
            match result {
                Ok(_) => {
                    let _ = ctx.store.audit(Some(doctor_id), Some(appt), "google_change", "stray_deleted", &format!("event {} is not the appointment's event", info.id));
                }
                Err(e) if matches!(e.http_status, Some(404) | Some(410)) => {}
                Err(e) => return Err(e),
            }
        }
        (Decision::Deleted, _) => {
            let kind = match ctx.config.on_google_delete {
                DeletePolicy::Cancel => {
                    ctx.store.cancel_appointment(appt)?;
                    ctx.store.forget_event(appt)?;
                    ChangeKind::Cancelled
                }
                DeletePolicy::Recreate => {
                    ctx.store.forget_event(appt)?;
                    drop(lock);
                    events::ensure(ctx, appt, &Input::default(), false)?;
                    ChangeKind::Recreated
                }
                DeletePolicy::Flag => {
                    ctx.store.forget_event(appt)?;
                    ctx.store.flag_event(appt, DELETED_FLAG)?;
                    ChangeKind::DeletedFlagged
                }
            };
            audit(kind);
            report(r, [change(doctor_id, w, kind, None, None)]);
        }
        (Decision::Moved(start, end), Some(stored)) => {
            // `on_google_move` = revert: the row takes what Google says, then the event is
            // written back to the appointment's time.
            let mut changes = ChangeSet::default();
            let meet_url = info.meet_url_or(&stored.meet_url);
            changes.event(EventFromGoogle { appointment_id: appt, start_utc: start.clone(), end_utc: end, meet_url, etag: info.etag.clone(), updated: info.updated.clone() });
            ctx.store.write_changes(&changes)?;
            drop(lock);
            events::ensure(ctx, appt, &Input::default(), false)?;
            audit(ChangeKind::Reverted);
            report(r, [change(doctor_id, w, ChangeKind::Reverted, Some(start), Some((stored.start_utc.clone(), stored.end_utc.clone())))]);
        }
        _ => {}
    }
    Ok(())
}

/// Applies one listed event, if it is ours and not our own echo (a re-read change).
fn apply_item(ctx: &Context, doctor_id: u64, calendar_id: &str, info: &Item, pass: &mut Pass, r: &mut DoctorSync) -> Result<()> {
    let marked = info.marked(pass.site(ctx));
    let appointment = match marked {
        Some(a) => Some(a),
        // Deleted events may come back without their properties: match them by our ids.
        None => ctx.store.appointment_of_event(&info.id)?,
    };
    let Some(appt) = appointment else { return Ok(()) };
    apply_one(ctx, doctor_id, calendar_id, &Work { item: info, appointment_id: appt, marked: marked.is_some() }, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(body: &str) -> ListPage {
        serde_json::from_str(body).expect("a listing parses")
    }

    #[test]
    fn a_listed_page_keeps_what_sync_reads_and_skips_the_rest() {
        let p = page(
            r#"{"kind":"calendar#events","nextSyncToken":"s+/=","items":[
                {"id":"kcmabcg1g0","status":"confirmed","etag":"\"3\"","updated":"2026-01-01T00:00:00.000Z",
                 "description":"long text","attendees":[{"email":"p@example.com"}],"reminders":{"useDefault":true},
                 "start":{"dateTime":"2026-03-01T10:00:00+01:00","timeZone":"Europe/Berlin"},"end":{"dateTime":"2026-03-01T10:30:00+01:00"},
                 "hangoutLink":"https://meet.google.com/old-link",
                 "conferenceData":{"entryPoints":[{"entryPointType":"phone","uri":"tel:+1"},{"entryPointType":"video","uri":"https://meet.google.com/abc-defg-hij"}]},
                 "extendedProperties":{"private":{"kc_meet_site":"abc","kc_meet_appointment":"1","other":"x"},"shared":{"k":"v"}}},
                {"id":"foreign","status":"confirmed","start":{"date":"2026-03-02"},"end":{"date":"2026-03-03"}},
                {"id":"gone","status":"cancelled"}]}"#,
        );
        assert_eq!(p.next_sync_token.as_deref(), Some("s+/="));
        assert_eq!(p.next_page_token, None);
        assert_eq!(p.items.len(), 3);
        let ours = &p.items[0];
        assert_eq!(ours.etag, "\"3\"");
        assert_eq!(ours.marked("abc"), Some(1));
        assert_eq!(ours.marked("another-site"), None);
        assert_eq!(ours.meet_url(), "https://meet.google.com/abc-defg-hij");
        assert_eq!(utc_of(ours.start.as_ref()).as_deref(), Some("2026-03-01 09:00:00"));
        assert_eq!(utc_of(ours.end.as_ref()).as_deref(), Some("2026-03-01 09:30:00"));
        let foreign = &p.items[1];
        assert_eq!(foreign.marked("abc"), None);
        assert_eq!(utc_of(foreign.start.as_ref()), None, "an all-day event has no time");
        assert_eq!(foreign.meet_url(), "");
        assert_eq!(p.items[2].status, "cancelled");
    }

    #[test]
    fn the_meet_link_falls_back_to_hangout_link_and_then_to_ours() {
        let p = page(r#"{"items":[{"id":"a","hangoutLink":"https://meet.google.com/h"},{"id":"b","conferenceData":{"entryPoints":[{"entryPointType":"video"}]}}]}"#);
        assert_eq!(p.items[0].meet_url(), "https://meet.google.com/h");
        assert_eq!(p.items[0].meet_url_or("https://meet.google.com/stored"), "https://meet.google.com/h");
        assert_eq!(p.items[1].meet_url_or("https://meet.google.com/stored"), "https://meet.google.com/stored");
    }

    #[test]
    fn a_marked_appointment_must_be_a_number_of_this_site() {
        let p = page(r#"{"items":[{"id":"a","extendedProperties":{"private":{"kc_meet_site":"abc","kc_meet_appointment":"x1"}}},{"id":"b","extendedProperties":{"private":{"kc_meet_appointment":"7"}}}]}"#);
        assert_eq!(p.items[0].marked("abc"), None);
        assert_eq!(p.items[1].marked("abc"), None);
        assert_eq!(Item::deleted("z").status, "cancelled");
    }
}
