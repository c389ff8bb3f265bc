//! An appointment's Google Calendar event with its Meet link: create, update, delete,
//! regenerate the link, and take over the vendor add-on's events.
//!
//! Owns the rules that make it exactly one event per telemedicine appointment, never lost:
//! - the event id is chosen by us, derived from the site's stored random id and the
//!   appointment (base32hex, with a generation for re-bookings, since Google keeps a deleted
//!   event's id reserved), and the conference `requestId` is the same id, so a retried insert
//!   answers 409 and resolves to the event that exists instead of making a second one
//!   (<https://developers.google.com/calendar/api/v3/reference/events/insert>);
//! - the id is recorded (state `creating`) before the insert is sent, so an event Google made
//!   while every answer was lost is still known: a cancel deletes it, a retry adopts it;
//! - every call that may write decides under the appointment's MySQL lock from a read made
//!   under it: our row, its job, its mapping rows, the event template, the doctor's state and
//!   token and the appointment (one statement, one snapshot), sent in the lock's round trip, so
//!   two PHP processes, cron, sync and KiviCare's own writes (made without our lock) never make
//!   a call act on a stale read; a snapshot PHP passed that is older than the one behind the
//!   stored state loses. A create first reads that statement without the lock (the look), after
//!   asking whether the lock is free, and answers "unchanged" from it when there is nothing at
//!   all to do (no write, no Google call, no audit) and no call held the lock. An update (an
//!   edit in KiviCare, which nearly always changes the event) takes the lock with its read at
//!   once;
//! - commits: a create commits twice, because the intent (`creating`, event id and generation)
//!   must be durable before the insert is sent (a fresh booking's goes with the lock, in the
//!   same round trip, only once the lock is granted); the outcome (event row, mapping row, the job
//!   it ends, the audit entry) is one transaction committed once. An update and a delete commit
//!   once (their outcome; a delete whose answer was lost marks the id `deleting` instead); a new
//!   Meet link twice (its conference request is recorded before Google hears of it). A call
//!   with nothing to do ("unchanged") only reads. When nothing follows the outcome under the
//!   lock, its transaction and the unlock are one round trip;
//! - an event that already exists (a 409, a pending conference, a vendor event) is compared
//!   with the appointment and patched when its times or its conference differ;
//! - a call's budget bounds its wall time: lock waits and every request are cut to the time
//!   left ([`crate::base::retry`]); transient failures (Google's, a lock held too long) become a job
//!   (`store::events::queue_job`), run later by the job runner, and the call answers `queued`: a booking never fails because of Google;
//! - an update only patches start, end and summary: the Meet link only changes on request
//!   (regenerate), with a new conference `requestId`.

use std::sync::Mutex;
use std::time::Instant;

use once_cell::sync::Lazy;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::appointments::{self, Appointment, Input, iana_name, rfc3339_in};
use crate::google::calendar::{Calendar, EventInfo};
use crate::error::{Code, Error, Result};
use crate::base::redact::Secret;
use crate::base::retry;
use crate::runtime::Context;
use crate::store::{Store, meta};
use crate::store::events::{AuditNote, EventRow, EventState, Job, JobAction, JobState, Loaded, MappingRows, Origin};
use crate::base::config::{SendUpdates, SiteTz};
use crate::base::str_enum::str_enum;
use crate::grant::{self, ConnectionState};
use crate::store::events as store_events;

/// How long a call waits for another process working on the same appointment (always cut to
/// the call's budget).
const APPOINTMENT_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(20);
/// A pending conference is re-read this many times before a job takes over.
const PENDING_REREADS: u32 = 3;
/// Google refuses event descriptions beyond 8 KB-ish; keep well inside.
const MAX_DESCRIPTION: usize = 8000;
const MAX_SUMMARY: usize = 1000;
/// Our marker in `conference_status` while a new conference request is under way.
const CONFERENCE_REQUESTED: &str = "requested";

str_enum! {
    /// What a call did.
    pub enum State {
        Created = "created",
        Updated = "updated",
        /// The event got a new Meet conference (`kc_meet_regenerate_event()`).
        Regenerated = "regenerated",
        Deleted = "deleted",
        Unchanged = "unchanged",
        /// The event exists; Google is still making its Meet conference (a job finishes it).
        Pending = "pending",
        /// Google or a lock was unavailable: a job does it.
        Queued = "queued",
        Skipped = "skipped",
    }
}

str_enum! {
    /// Why a call skipped, or how it found the event.
    pub enum Reason {
        AppointmentNotFound = "appointment_not_found",
        Cancelled = "cancelled",
        NotTelemed = "not_telemed",
        PendingStatus = "pending_status",
        DoctorNotConnected = "doctor_not_connected",
        DoctorNeedsReconnect = "doctor_needs_reconnect",
        NoEvent = "no_event",
        /// The appointment data passed is older than what the stored state was made from.
        StaleSnapshot = "stale_snapshot",
        /// The vendor add-on's event was taken over.
        Adopted = "adopted",
    }
}

/// What a call did (`kc_meet_create_event()` and friends).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Outcome {
    pub appointment_id: u64,
    pub state: State,
    pub reason: Option<Reason>,
    pub event_id: Option<String>,
    pub meet_url: Option<String>,
    pub event_url: Option<String>,
    pub doctor_id: Option<u64>,
    pub warnings: Vec<String>,
}

impl Outcome {
    fn new(appointment_id: u64, state: State) -> Outcome {
        Outcome { appointment_id, state, reason: None, event_id: None, meet_url: None, event_url: None, doctor_id: None, warnings: vec![] }
    }

    fn skipped(appointment_id: u64, reason: Reason, doctor_id: Option<u64>) -> Outcome {
        Outcome { reason: Some(reason), doctor_id, ..Outcome::new(appointment_id, State::Skipped) }
    }

    fn with_event(mut self, e: &EventRow) -> Outcome {
        self.event_id = Some(e.event_id.clone());
        self.meet_url = Some(e.meet_url.clone());
        self.event_url = Some(e.event_url.clone());
        self.doctor_id = Some(e.doctor_id);
        self
    }
}

fn check_id(id: i64) -> Result<u64> {
    if id <= 0 {
        return Err(Error::invalid_argument(format!("appointment id must be positive, got {id}")));
    }
    Ok(id as u64)
}

/// What the sites made before the id was stored: 12 hex digits of their URL, database and
/// table prefix. Kept for sites that already made events with it.
fn legacy_site_key(ctx: &Context) -> String {
    let c = &ctx.config;
    let h = Sha256::digest(format!("{}|{}|{}", c.redirect_uri, c.db.name, c.table_prefix).as_bytes());
    h.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

thread_local! {
    /// What a test runs on this thread between a call's lock-free look and its lock: another
    /// process's writes landing in that gap ([`after_look`]).
    static AFTER_LOOK: std::cell::RefCell<Option<Box<dyn FnOnce()>>> = const { std::cell::RefCell::new(None) };
}

/// For tests: runs `f` once on this thread, in the next call's gap between its lock-free look
/// and its lock (as another process's call landing there would).
#[doc(hidden)]
pub fn after_look(f: impl FnOnce() + 'static) {
    AFTER_LOOK.with(|slot| *slot.borrow_mut() = Some(Box::new(f)));
}

/// Site ids already read in this process, by database and prefix.
static SITE_KEYS: Lazy<Mutex<std::collections::HashMap<String, String>>> = Lazy::new(Default::default);

/// The site's id (12 hex digits): random, stored once in our meta table, so it survives a
/// move of the site to another URL, database name or prefix.
fn site_id(ctx: &Context) -> Result<String> {
    let c = &ctx.config;
    let cache_key = format!("{:?}|{}|{}", c.db.target, c.db.name, c.table_prefix);
    if let Some(k) = SITE_KEYS.lock().ok().and_then(|m| m.get(&cache_key).cloned()) {
        return Ok(k);
    }
    let key = ctx.store.site_key(&legacy_site_key(ctx))?;
    if let Ok(mut m) = SITE_KEYS.lock() {
        m.insert(cache_key, key.clone());
    }
    Ok(key)
}

/// The site's id as our events carry it (`kc_meet_site`); the legacy derivation while the
/// database cannot say.
pub fn site_key(ctx: &Context) -> String {
    site_id(ctx).unwrap_or_else(|_| legacy_site_key(ctx))
}

fn id_for(site: &str, appointment_id: u64, generation: u32) -> String {
    format!("kcm{site}g{appointment_id:x}g{generation:x}")
}

/// The event id for an appointment: base32hex (`a-v`, `0-9`), deterministic.
pub fn event_id(ctx: &Context, appointment_id: u64, generation: u32) -> Result<String> {
    Ok(id_for(&site_id(ctx)?, appointment_id, generation))
}

/// The conference `requestId` of request `n` for the event of `generation`: the event id for
/// the first (the insert's), then a suffix per new request. Stable, so a retried request is
/// the same request to Google (it ignores a repeated `requestId`).
fn request_id(site: &str, appointment_id: u64, generation: u32, n: u32) -> String {
    let id = id_for(site, appointment_id, generation);
    if n == 0 { id } else { format!("{id}c{n:x}") }
}

fn now_us() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// When the call's appointment data was read: `read_at` when the plugin says, else now; 0
/// when the plugin passed no data (the call reads the database under the lock: always fresh).
fn snapshot_of(input: &Input) -> u64 {
    if input.is_empty() {
        return 0;
    }
    match input.read_at {
        Some(t) if t.is_finite() && t > 0.0 => ((t * 1e6) as u64).min(now_us()),
        _ => now_us(),
    }
}

/// How one call runs: where its appointment data comes from and which job it may end.
#[derive(Debug, Clone, Default)]
struct Call<'l> {
    /// When PHP's snapshot of the appointment was taken (the call's start), µs; 0 when the
    /// call reads the appointment from the database under the lock.
    snapshot_us: u64,
    /// A job runs it: transient failures go back to the runner instead of queueing again.
    from_job: bool,
    /// The version of the appointment's job loaded under the lock.
    job: Option<u64>,
    /// The appointment's mapping rows loaded under the lock (what a save replaces).
    mapping: MappingRows,
    /// The mapping rows are one, showing the loaded event's id and links as they are.
    mapping_current: bool,
    /// The generation whose intent was written with the lock ([`first_intent`]).
    intent: Option<u32>,
    /// The site's event template, loaded with them.
    template: Option<(String, String)>,
    /// The appointment's lock when the call's outcome write is its last statement under it
    /// (a create, update or delete from PHP): that write's round trip releases it once
    /// committed. A pending conference, a job's settlement or a second write keep it.
    unlock: Option<&'l crate::store::LockGuard>,
}

impl Call<'_> {
    /// Takes what the call's writes depend on from what was loaded under the lock.
    fn loaded(&mut self, loaded: &Loaded) {
        self.job = loaded.job.as_ref().map(|j| j.version);
        self.mapping = loaded.mapping_rows;
        self.mapping_current = loaded.event.as_ref().is_some_and(|e| mapping_shows(loaded, e));
        self.template = loaded.template.clone();
    }
}

/// The call's budget: the configured request budget from now.
fn budget(ctx: &Context) -> retry::DeadlineGuard {
    retry::deadline_scope(Instant::now() + ctx.config.request_budget)
}

fn lock(ctx: &Context, id: u64) -> Result<crate::store::LockGuard> {
    ctx.store.lock(&Store::appointment_lock(id), APPOINTMENT_LOCK_WAIT)
}

/// `kc_meet_create_event()`.
pub fn create(ctx: &Context, id: i64, input: &Value) -> Result<Outcome> {
    let input = Input::from_value(input)?;
    ensure(ctx, check_id(id)?, &input, false)
}

/// `kc_meet_update_event()`: the same convergence as create (an update of an appointment
/// without an event creates it). KiviCare calls it when an appointment was edited, which
/// nearly always changes the event: it takes the appointment's lock with its read at once,
/// without the lock-free look first (one round trip and one read less; an edit that changes
/// nothing of the event costs the lock's release).
pub fn update(ctx: &Context, id: i64, input: &Value) -> Result<Outcome> {
    let input = Input::from_value(input)?;
    ensure_with(ctx, check_id(id)?, &input, false, false)
}

/// `kc_meet_delete_event()`: an explicit removal from PHP (its time wins over older snapshots).
pub fn delete(ctx: &Context, id: i64) -> Result<Outcome> {
    let id = check_id(id)?;
    let call = Call { snapshot_us: now_us(), ..Call::default() };
    let _budget = budget(ctx);
    ctx.store.require_schema()?;
    // The lock, then the read under it.
    let (lock, loaded) = match ctx.store.lock_and_load(&Store::appointment_lock(id), APPOINTMENT_LOCK_WAIT, id, None::<fn() -> store_events::AppointmentParts>) {
        Ok(l) => l,
        Err(e) => return finish(ctx, id, None, JobAction::Remove, &call, Err(e)),
    };
    let loaded = loaded?.0;
    let _doctor = hold_doctor(ctx, &loaded);
    let mut call = Call { unlock: Some(&lock), ..call };
    call.loaded(&loaded);
    remove_locked(ctx, id, &loaded, &call, None)
}

/// Makes the appointment's event match the appointment. `from_job` says a job runs it: then a
/// transient failure is returned for the runner to reschedule instead of queued again.
pub(crate) fn ensure(ctx: &Context, id: u64, input: &Input, from_job: bool) -> Result<Outcome> {
    ensure_with(ctx, id, input, from_job, true)
}

/// [`ensure`]; `look_first` says whether a lock-free look may answer first (see [`look`]).
fn ensure_with(ctx: &Context, id: u64, input: &Input, from_job: bool, look_first: bool) -> Result<Outcome> {
    let _budget = budget(ctx);
    let mut call = Call { snapshot_us: snapshot_of(input), from_job, ..Call::default() };
    ctx.store.require_schema()?;
    let seen = match look_first.then(|| look(ctx, id, input, &call)) {
        Some(Look::Unchanged(o)) => return Ok(o),
        Some(Look::Seen(loaded, appt)) => Some((loaded, appt)),
        Some(Look::Unsure) | None => None,
    };
    if let Some(f) = AFTER_LOOK.with(|slot| slot.borrow_mut().take()) {
        f();
    }
    let lock_name = Store::appointment_lock(id);
    let _doctor_seen = seen.as_ref().and_then(|(seen, _)| hold_doctor(ctx, seen));
    let locked = match seen {
        Some((seen, appt)) => lock_as_seen(ctx, id, input, &lock_name, seen, appt, &mut call)?,
        None => Locked::Wait,
    };
    let (lock, (loaded, appt)) = match locked {
        Locked::Held(lock, read) => (lock, read),
        Locked::Failed(e) => return finish(ctx, id, input.doctor_id, JobAction::Ensure, &call, Err(e)),
        // Waited for, with everything read after it: whatever the process that held it changed
        // (the appointment, the doctor, our rows) is seen.
        Locked::Wait => match ctx.store.lock_and_load(&lock_name, APPOINTMENT_LOCK_WAIT, id, Some(|| appointments::load_parts(ctx))) {
            Ok((lock, read)) => (lock, resolved(ctx, id, input, read?)),
            Err(e) => return finish(ctx, id, input.doctor_id, JobAction::Ensure, &call, Err(e)),
        },
    };
    let _doctor = hold_doctor(ctx, &loaded);
    call.loaded(&loaded);
    call.unlock = Some(&lock);
    let Some(appt) = appt? else {
        if from_job {
            return Ok(Outcome::skipped(id, Reason::AppointmentNotFound, None));
        }
        return Err(Error::invalid_argument(format!("appointment {id} does not exist")));
    };
    ensure_locked(ctx, &appt, &loaded, &call)
}

/// The appointment from what the load statement read ([`Store::load_with_appointment`]): the
/// appointment's result is kept apart, so the caller holds the doctor before deciding what a
/// missing or invalid appointment means.
fn resolved(ctx: &Context, id: u64, input: &Input, (loaded, row): store_events::LoadedWith) -> (Loaded, Result<Option<Appointment>>) {
    let appt = match row {
        Some(row) => appointments::resolve_row(ctx, id, input, row.map(|(rows, from)| appointments::row_from_rows(&rows, from))),
        None => appointments::resolve(ctx, id, input),
    };
    (loaded, appt)
}

/// How [`lock_as_seen`] went.
#[expect(clippy::large_enum_variant, reason = "returned once per call and matched at once: boxing would add an allocation for nothing")]
enum Locked {
    /// The lock is held, with the read made under it.
    Held(crate::store::LockGuard, (Loaded, Result<Option<Appointment>>)),
    /// Not taken: another process holds it (or every lock-holder permit is taken). The caller
    /// waits for it and reads everything after it.
    Wait,
    /// The lock could not be taken, or what follows it failed (MySQL): transient, the caller
    /// queues the call.
    Failed(Error),
}

/// The appointment's lock for a call whose lock-free look found something to do (`seen`,
/// `appt`), taken at once when it is free, with everything read again after it in the same
/// round trip ([`Store::try_lock_loading`]): the call decides from what it reads under the lock,
/// not from its look. KiviCare changes an appointment without our lock and without touching our
/// rows, and its own call for the change may come and go between the look and the lock.
///
/// A fresh booking's create (the look found no row of ours) writes its intent in that same
/// round trip ([`first_intent`]). The intent stands when the read under the lock, the intent
/// aside, leads to the same intent; otherwise (the appointment changed, another call or the
/// vendor got there first) it is taken back before anything is asked of Google. The doctor
/// read with `seen` is held by the caller.
fn lock_as_seen(ctx: &Context, id: u64, input: &Input, lock_name: &str, seen: Loaded, appt: Appointment, call: &mut Call) -> Result<Locked> {
    let intent = first_intent(ctx, &seen, &appt, call);
    let (lock, read) = match ctx.store.try_lock_loading(lock_name, id, intent.as_ref(), || appointments::load_parts(ctx)) {
        Ok(Some(got)) => got,
        Ok(None) => return Ok(Locked::Wait),
        Err(e) => return Ok(Locked::Failed(e)),
    };
    // A failure after the lock is transient like one taking it: the call is queued (the lock
    // is let go first), whether or not the intent was written.
    let store_events::LockedRead { read, wrote_intent } = match read {
        Ok(read) => read,
        Err(e) => return Ok(Locked::Failed(e)),
    };
    let (mut loaded, appt) = resolved(ctx, id, input, read);
    let Some(intent) = intent.filter(|_| wrote_intent) else {
        return Ok(Locked::Held(lock, (loaded, appt)));
    };
    // Our intent is the event row now: what was read besides it is what it was made from.
    loaded.event = None;
    let again = match &appt {
        Ok(Some(a)) => {
            let _doctor = hold_doctor(ctx, &loaded);
            first_intent(ctx, &loaded, a, call)
        }
        _ => None,
    };
    if again.as_ref() == Some(&intent) {
        call.intent = Some(intent.generation);
    } else if let Err(e) = ctx.store.drop_intent(&intent) {
        return Ok(Locked::Failed(e));
    }
    Ok(Locked::Held(lock, (loaded, appt)))
}

/// The intent a fresh booking's create starts with, when the look's read leads there: no row
/// of ours for the appointment (event row, job, mapping rows), a booked video consultation,
/// the doctor (held from the look's read) connected. [`lock_as_seen`] writes it with the lock,
/// and [`write_create`] then sends the insert without writing it again.
fn first_intent(ctx: &Context, seen: &Loaded, appt: &Appointment, call: &Call) -> Option<EventRow> {
    let ours = seen.event.is_some() || seen.job.is_some() || seen.mapping_rows.count > 0;
    if ours || matches!(appt.status, 0 | 2) || !appt.telemed {
        return None;
    }
    let (doctor, _doctor_read) = grant::for_call(ctx, appt.doctor_id).ok()?;
    if matches!(doctor.status, ConnectionState::NotConnected | ConnectionState::NeedsReconnect) {
        return None;
    }
    let cal = Cal::of(doctor);
    // Longer than the column: the usual intent reports it, as strict SQL does.
    if cal.id.chars().count() > 255 {
        return None;
    }
    let site = site_id(ctx).ok()?;
    Some(intent_row(appt, &cal.id, id_for(&site, appt.id, 0), 0, call))
}

/// The intent of inserting the event `event_id` (generation `generation`) for `a`.
fn intent_row(a: &Appointment, calendar_id: &str, event_id: String, generation: u32, call: &Call) -> EventRow {
    EventRow {
        appointment_id: a.id,
        doctor_id: a.doctor_id,
        calendar_id: calendar_id.to_string(),
        event_id,
        generation,
        start_utc: utc_text(a.start),
        end_utc: utc_text(a.end),
        snapshot_us: call.snapshot_us,
        ..EventRow::default()
    }
}

/// What [`look`] found.
#[expect(clippy::large_enum_variant, reason = "returned once per call and matched at once: boxing would add an allocation for nothing")]
enum Look {
    /// Nothing to do: answered without the lock.
    Unchanged(Outcome),
    /// Something to do (or to decide under the lock), with what was read.
    Seen(Loaded, Appointment),
    /// The read failed, or found no valid appointment: the locked path reads again and decides
    /// (and reports what is wrong).
    Unsure,
}

/// The lock-free first look of [`ensure`]: one statement (the load with the appointment, one
/// snapshot), no lock. It answers only a pure "unchanged" (the active event of the same doctor
/// already matches the appointment, nothing queued, the mapping row shows that event, the data
/// passed is not older than the stored state, the doctor connected): nothing is written, Google
/// is not called. Anything else, or any doubt, is for the locked path to decide.
fn look(ctx: &Context, id: u64, input: &Input, call: &Call) -> Look {
    let read = ctx.store.look_with_appointment(id, || appointments::load_parts(ctx)).map(|read| resolved(ctx, id, input, read));
    let Ok((loaded, Ok(Some(appt)))) = read else { return Look::Unsure };
    match unchanged_now(ctx, &loaded, &appt, call) {
        Some(o) => Look::Unchanged(o),
        None => Look::Seen(loaded, appt),
    }
}

/// [`look`]'s answer when the appointment needs nothing.
fn unchanged_now(ctx: &Context, loaded: &Loaded, appt: &Appointment, call: &Call) -> Option<Outcome> {
    let e = live_event(loaded).filter(|e| e.state == EventState::Active)?;
    let mapping_equal = mapping_shows(loaded, e);
    let stale = call.snapshot_us > 0 && e.snapshot_us > call.snapshot_us;
    // A call holding the appointment's lock may be about to write what it read before the
    // appointment's last change: only the locked path, after it, may say nothing is to be done.
    if !loaded.lock_free || stale || loaded.job.is_some() || !mapping_equal || e.doctor_id != appt.doctor_id || matches!(appt.status, 0 | 2) || !appt.telemed {
        return None;
    }
    let (doctor_id, state) = loaded.doctor.clone().filter(|(d, _)| *d == appt.doctor_id)?;
    let _doctor = grant::hold_for_call(ctx, doctor_id, state);
    let (doctor, _doctor_read) = grant::for_call(ctx, appt.doctor_id).ok()?;
    if doctor.status != ConnectionState::Connected {
        return None;
    }
    unchanged(appt, e, &event_summary(appt, loaded.template.as_ref()), &event_warnings(appt))
}

/// Whether the appointment's mapping rows are one row showing the event `e` (its id and
/// links): what core reads for the join button, lists and e-mails.
fn mapping_shows(loaded: &Loaded, e: &EventRow) -> bool {
    loaded.mapping_rows.count == 1
        && loaded.mapping.as_ref().is_some_and(|(event_id, url, event_url)| {
            *event_id == e.event_id && *url == e.meet_url && *event_url == e.event_url
        })
}

/// Makes the doctor read with the appointment's row the call's copy ([`grant::CallDoctor`]).
fn hold_doctor(ctx: &Context, loaded: &Loaded) -> Option<grant::CallDoctor> {
    let (doctor_id, state) = loaded.doctor.clone()?;
    grant::hold_for_call(ctx, doctor_id, state)
}

/// The vendor add-on's events for the appointment: the events its mapping rows name that are
/// not ours, first row first, each once. Normally one; its "regenerate" left a row and an event
/// each time, and a row without an event when Google failed.
fn vendor_events(loaded: &Loaded) -> Vec<&str> {
    let ours = loaded.event.as_ref().map(|e| e.event_id.as_str());
    let mut found: Vec<&str> = Vec::new();
    for id in loaded.mapping_events.iter().map(String::as_str) {
        if Some(id) != ours && !found.contains(&id) {
            found.push(id);
        }
    }
    found
}

fn live_event(loaded: &Loaded) -> Option<&EventRow> {
    loaded.event.as_ref().filter(|e| e.state != EventState::Deleted)
}

fn ensure_locked(ctx: &Context, appt: &Appointment, loaded: &Loaded, call: &Call) -> Result<Outcome> {
    let id = appt.id;
    if call.snapshot_us > 0 && loaded.event.as_ref().is_some_and(|e| e.snapshot_us > call.snapshot_us) {
        // Another call with newer appointment data got the lock first: ours must not undo it
        // (a re-created event after a cancel, an older reschedule winning).
        let _ = ctx.store.audit(Some(appt.doctor_id), Some(id), "ensure", "stale_snapshot", "a newer change of this appointment was already applied");
        let o = Outcome::skipped(id, Reason::StaleSnapshot, Some(appt.doctor_id));
        // The outcome still shows the event the newer change left.
        return Ok(match live_event(loaded).filter(|e| e.state == EventState::Active) {
            Some(e) => o.with_event(e),
            None => o,
        });
    }
    let gone = appt.status == 0 || !appt.telemed;
    let mut loaded = loaded.clone();
    let mut call = call.clone();
    let moved = live_event(&loaded).is_some_and(|e| e.doctor_id != appt.doctor_id);
    if gone || moved {
        if live_event(&loaded).is_some() || (gone && !vendor_events(&loaded).is_empty()) {
            // Cancelled, no longer a video consultation, or moved to another doctor: the event
            // that exists goes (and for another doctor a new one follows; when the removal is
            // queued, the job's convergence makes the new one). Only a removal that ends the call
            // may release the lock with its write.
            let removal = Call { unlock: call.unlock.filter(|_| gone), ..call.clone() };
            let removed = remove_locked(ctx, id, &loaded, &removal, Some(appt.doctor_id))?;
            if gone || removed.state != State::Deleted {
                return Ok(removed);
            }
            if let Some(e) = loaded.event.as_mut() {
                e.state = EventState::Deleted;
            }
            loaded.job = None;
            loaded.mapping = None;
            loaded.mapping_events.clear();
            call.job = None;
            call.mapping = MappingRows::default();
        } else if appt.status == 0 {
            if call.snapshot_us > 0 {
                // Remember when it was cancelled, so an older snapshot cannot bring it back.
                ctx.store.forget(id, call.snapshot_us, call.job, None, call.unlock)?;
            }
            return Ok(Outcome::skipped(id, Reason::Cancelled, Some(appt.doctor_id)));
        } else {
            return Ok(Outcome::skipped(id, Reason::NotTelemed, Some(appt.doctor_id)));
        }
    }
    if appt.status == 2 {
        return Ok(Outcome::skipped(id, Reason::PendingStatus, Some(appt.doctor_id)));
    }
    // The doctor's state and token, read once per call (one statement).
    let (doctor, _doctor_read) = grant::for_call(ctx, appt.doctor_id)?;
    match doctor.status {
        ConnectionState::NotConnected => return Ok(Outcome::skipped(id, Reason::DoctorNotConnected, Some(appt.doctor_id))),
        ConnectionState::NeedsReconnect => {
            let why = "the doctor must reconnect Google Calendar";
            let _ = ctx.store.record_failed_job(id, Some(appt.doctor_id), JobAction::Ensure, why);
            return Ok(Outcome::skipped(id, Reason::DoctorNeedsReconnect, Some(appt.doctor_id)));
        }
        _ => {}
    }
    let cal = Cal::of(doctor);
    let result = match live_event(&loaded) {
        Some(e) if e.state == EventState::Active => write_update(ctx, appt, e, &cal, &call),
        Some(e) if e.state == EventState::Deleting => {
            // Our delete of this id may still land at Google: never reuse it. One more try to
            // delete it now (a 404 is fine; if it fails, sync removes it as a stray of ours),
            // then the booking gets the next generation.
            let _ = google(ctx, e.doctor_id, id, "events.delete", |c| c.delete_event(&e.calendar_id, &e.event_id, SendUpdates::All));
            write_create(ctx, appt, &cal, e.generation + 1, &call)
        }
        Some(e) => write_create(ctx, appt, &cal, e.generation, &call),
        None => match vendor_events(&loaded).as_slice() {
            [] => write_create(ctx, appt, &cal, loaded.event.as_ref().map(|e| e.generation + 1).unwrap_or(0), &call),
            vendor => adopt(ctx, appt, &cal, vendor, &loaded, &call),
        },
    };
    finish(ctx, id, Some(appt.doctor_id), JobAction::Ensure, &call, result)
}

/// The doctor's calendar and the Google account it belongs to.
struct Cal {
    id: String,
    account: Option<String>,
}

impl Cal {
    /// The doctor's calendar (their primary one unless they chose another).
    fn of(doctor: grant::DoctorStatus) -> Cal {
        Cal { id: doctor.calendar_id.unwrap_or_else(|| "primary".into()), account: doctor.email }
    }
}

/// Turns a write's result into the outcome: transient failures queue a job, permanent ones are
/// recorded for the admin and thrown; a pending conference leaves a job to finish it.
fn finish(ctx: &Context, id: u64, doctor_id: Option<u64>, action: JobAction, call: &Call, result: Result<Outcome>) -> Result<Outcome> {
    match result {
        Ok(o) if o.state == State::Pending && !call.from_job => {
            ctx.store.queue_job(id, doctor_id, JobAction::Ensure, 20, Some("the Meet conference is still being created"))?;
            Ok(o)
        }
        Ok(o) => Ok(o),
        Err(e) if call.from_job => Err(e),
        Err(e) if crate::base::retry::is_transient(&e) => {
            // When: 30 s, or as long as one of Google's usage limits lasts.
            let later = crate::base::retry::later(&e, 0, 0);
            ctx.store.queue_job(id, doctor_id, action, later.delay_s, Some(&later.note))?;
            let _ = ctx.store.audit(doctor_id, Some(id), action.as_str(), "queued", &later.note);
            let mut o = Outcome::new(id, State::Queued);
            o.doctor_id = doctor_id;
            o.warnings.push(format!("Google is unavailable; the change will be retried in the background: {}", later.note));
            Ok(o)
        }
        Err(e) if e.code == Code::NeedsReconnect => {
            let _ = ctx.store.record_failed_job(id, doctor_id, action, &e.message);
            Ok(Outcome::skipped(id, Reason::DoctorNeedsReconnect, doctor_id))
        }
        Err(e) => {
            let _ = ctx.store.record_failed_job(id, doctor_id, action, &e.message);
            Err(e)
        }
    }
}

/// Runs a Google call with the doctor's token, retrying transient failures within the call's
/// time left, and writing every failed attempt to the audit trail.
fn google<T>(ctx: &Context, doctor_id: u64, appt: u64, what: &str, mut call: impl FnMut(&Calendar) -> Result<T>) -> Result<T> {
    let budget = retry::time_left().unwrap_or(ctx.config.request_budget);
    retry::with_backoff(
        budget,
        || grant::with_token(ctx, doctor_id, |token: &Secret| call(&Calendar::new(&ctx.http, &ctx.config.endpoints.calendar, token))),
        |attempt, e| {
            let _ = ctx.store.audit(Some(doctor_id), Some(appt), what, "attempt_failed", &format!("attempt {attempt}: {}", e.message));
        },
    )
}

fn utc_text(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn write_create(ctx: &Context, a: &Appointment, cal: &Cal, mut generation: u32, call: &Call) -> Result<Outcome> {
    let (body, summary, warnings) = event_body(ctx, a, cal.account.as_deref(), call.template.as_ref())?;
    let site = site_id(ctx)?;
    let mut info = None;
    let mut n = 0;
    // A 409 means the id exists: ours from a lost response (adopt it), or deleted earlier
    // (Google keeps its id reserved: take the next generation). Bounded.
    for _ in 0..16 {
        let eid = id_for(&site, a.id, generation);
        // The intent first: if every answer to the insert is lost, the id is still known. A
        // fresh booking's was written with the lock.
        if call.intent != Some(generation) {
            ctx.store.record_intent(&intent_row(a, &cal.id, eid.clone(), generation, call))?;
        }
        let mut b = body.clone();
        b["id"] = json!(eid);
        b["conferenceData"] = json!({"createRequest": {"requestId": eid, "conferenceSolutionKey": {"type": "hangoutsMeet"}}});
        match google(ctx, a.doctor_id, a.id, "events.insert", |c| c.insert_event(&cal.id, &b, ctx.config.send_updates)) {
            Ok(i) => {
                info = Some(i);
                break;
            }
            Err(e) if e.http_status == Some(409) => {
                let found = google(ctx, a.doctor_id, a.id, "events.get", |c| c.get_event(&cal.id, &eid))?;
                let ours = found.private.get("kc_meet_site").and_then(Value::as_str) == Some(site.as_str())
                    && found.private.get("kc_meet_appointment").and_then(Value::as_str) == Some(a.id.to_string().as_str());
                if ours && found.status != "cancelled" {
                    // Made by an earlier attempt whose answer was lost, perhaps with older
                    // data: it must match the appointment now, not as it was then.
                    let _ = ctx.store.audit(Some(a.doctor_id), Some(a.id), "events.insert", "adopted", "the event already existed (an earlier response was lost)");
                    info = Some(converge_event(ctx, a, &body, &cal.id, &site, generation, &mut n, found)?);
                    break;
                }
                generation += 1;
            }
            Err(e) => return Err(e),
        }
    }
    let info = info.ok_or_else(|| Error::google(409, Some("duplicate".into()), "no free event id for this appointment"))?;
    let info = wait_for_conference(ctx, a, &cal.id, info);
    // The intent made our row: the outcome updates it.
    let row = save(ctx, a, &cal.id, generation, &summary, &info, call, n, Origin::KcMeet, |row| AuditNote {
        doctor_id: Some(a.doctor_id),
        action: "create",
        outcome: if row.meet_url.is_empty() { "pending" } else { "ok" },
        detail: format!("event {}", row.event_id),
    })?;
    let pending = row.meet_url.is_empty();
    let mut o = Outcome::new(a.id, if pending { State::Pending } else { State::Created }).with_event(&row);
    o.warnings = warnings;
    Ok(o)
}

/// Makes an event read back from Google match the appointment: its times (patched when they
/// differ), and its conference: one is added when it has none or Google's failed (a new
/// `requestId`), and replaced when request `n` asked for a new link and Google still shows
/// another one. Google keeps an existing conference on patch, so a replacement first removes
/// it (`conferenceData: null`, no mail) and then asks for the new one
/// (<https://developers.google.com/calendar/api/guides/create-events#conferencing>).
#[allow(clippy::too_many_arguments)]
fn converge_event(ctx: &Context, a: &Appointment, body: &Value, calendar_id: &str, site: &str, generation: u32, n: &mut u32, info: EventInfo) -> Result<EventInfo> {
    let mut patch = serde_json::Map::new();
    if info.start_utc != utc_text(a.start) || info.end_utc != utc_text(a.end) {
        patch.insert("start".into(), body["start"].clone());
        patch.insert("end".into(), body["end"].clone());
    }
    let has_conference = !info.meet_url.is_empty() || !info.conference_status.is_empty();
    let mut replace = *n > 0 && has_conference && info.conference_request_id != request_id(site, a.id, generation, *n);
    if info.conference_status == "failure" {
        *n += 1;
        ctx.store.set_conference_n(a.id, *n)?;
        replace = false; // a failed conference has no link to remove
    }
    let wanted = !has_conference || info.conference_status == "failure" || replace;
    if replace {
        google(ctx, a.doctor_id, a.id, "events.patch", |c| c.patch_event(calendar_id, &info.id, &json!({"conferenceData": null}), SendUpdates::None))?;
    }
    if wanted {
        let rid = request_id(site, a.id, generation, *n);
        patch.insert("conferenceData".into(), json!({"createRequest": {"requestId": rid, "conferenceSolutionKey": {"type": "hangoutsMeet"}}}));
    }
    if patch.is_empty() {
        return Ok(info);
    }
    let patch = Value::Object(patch);
    google(ctx, a.doctor_id, a.id, "events.patch", |c| c.patch_event(calendar_id, &info.id, &patch, ctx.config.send_updates))
}

/// Re-reads an event whose conference is `pending` a few times within the budget.
fn wait_for_conference(ctx: &Context, a: &Appointment, calendar_id: &str, mut info: EventInfo) -> EventInfo {
    let mut wait = std::time::Duration::from_millis(300);
    for _ in 0..PENDING_REREADS {
        if !info.meet_url.is_empty() || info.conference_status == "failure" {
            break;
        }
        if retry::time_left().is_some_and(|left| left <= wait) {
            break;
        }
        std::thread::sleep(wait);
        wait *= 2;
        match google(ctx, a.doctor_id, a.id, "events.get", |cal| cal.get_event(calendar_id, &info.id)) {
            Ok(i) => info = i,
            Err(_) => break,
        }
    }
    info
}

#[allow(clippy::too_many_arguments)]
fn save(
    ctx: &Context,
    a: &Appointment,
    calendar_id: &str,
    generation: u32,
    summary: &str,
    info: &EventInfo,
    call: &Call,
    conference_n: u32,
    origin: Origin,
    note: impl FnOnce(&EventRow) -> AuditNote<'static>,
) -> Result<EventRow> {
    let row = EventRow {
        appointment_id: a.id,
        doctor_id: a.doctor_id,
        calendar_id: calendar_id.to_string(),
        event_id: info.id.clone(),
        generation,
        state: EventState::Active,
        meet_url: info.meet_url.clone(),
        event_url: info.html_link.clone(),
        conference_status: info.conference_status.clone(),
        etag: info.etag.clone(),
        sequence: info.sequence,
        google_updated: info.updated.clone(),
        start_utc: utc_text(a.start),
        end_utc: utc_text(a.end),
        summary: summary.to_string(),
        updated_at: String::new(),
        snapshot_us: call.snapshot_us,
        conference_n,
        origin,
    };
    // While the link is pending the job stays: it is what finishes the conference.
    // Likewise the lock (`finish` queues that job under it).
    let pending = row.meet_url.is_empty();
    let ends_job = if pending { None } else { call.job };
    let unlock = if pending { None } else { call.unlock };
    ctx.store.save_event(&row, &local_now(ctx), ends_job, call.mapping, &note(&row), unlock)?;
    Ok(row)
}

pub(crate) fn local_now(ctx: &Context) -> String {
    local_wall(chrono::Utc::now(), ctx.config.timezone)
}

/// `t` as the wall time KiviCare stores (`Y-m-d H:M:S`) in `zone`.
pub(crate) fn local_wall(t: chrono::DateTime<chrono::Utc>, zone: SiteTz) -> String {
    appointments::rfc3339_in(t, zone)[..19].replace('T', " ")
}

/// The one comparison of an active event with its appointment: `Some(unchanged)` when its
/// times and summary match and its conference is settled (nothing to send to Google). Used by
/// [`write_update`] under the lock and by [`look`] without it.
fn unchanged(a: &Appointment, e: &EventRow, summary: &str, warnings: &[String]) -> Option<Outcome> {
    let same_time = e.start_utc == utc_text(a.start) && e.end_utc == utc_text(a.end);
    let settled = !e.meet_url.is_empty() && e.conference_status != CONFERENCE_REQUESTED;
    (same_time && e.summary == summary && settled).then(|| {
        let mut o = Outcome::new(a.id, State::Unchanged).with_event(e);
        o.warnings = warnings.to_vec();
        o
    })
}

fn write_update(ctx: &Context, a: &Appointment, e: &EventRow, cal: &Cal, call: &Call) -> Result<Outcome> {
    let (body, summary, warnings) = event_body(ctx, a, cal.account.as_deref(), call.template.as_ref())?;
    if let Some(o) = unchanged(a, e, &summary, &warnings) {
        if !call.mapping_current {
            // Nothing to send to Google, but core's mapping row does not show the event (removed,
            // edited, or with copies beside it): written again from our row, with no request.
            let info = EventInfo {
                id: e.event_id.clone(),
                html_link: e.event_url.clone(),
                meet_url: e.meet_url.clone(),
                conference_status: e.conference_status.clone(),
                etag: e.etag.clone(),
                updated: e.google_updated.clone(),
                sequence: e.sequence,
                ..EventInfo::default()
            };
            save(ctx, a, &e.calendar_id, e.generation, &summary, &info, call, e.conference_n, e.origin, |row| AuditNote {
                doctor_id: Some(a.doctor_id),
                action: "update",
                outcome: "ok",
                detail: format!("mapping row of event {} written again", row.event_id),
            })?;
        }
        return Ok(o);
    }
    let same_time = e.start_utc == utc_text(a.start) && e.end_utc == utc_text(a.end);
    let site = site_id(ctx)?;
    let mut n = e.conference_n;
    let info = if same_time && e.summary == summary {
        // Only the conference is unsettled (pending, or a new link requested): read it and
        // bring it, and the times, in line.
        let found = google(ctx, a.doctor_id, a.id, "events.get", |c| c.get_event(&e.calendar_id, &e.event_id))?;
        if found.status == "cancelled" {
            return write_create(ctx, a, cal, e.generation + 1, call);
        }
        converge_event(ctx, a, &body, &e.calendar_id, &site, e.generation, &mut n, found)?
    } else {
        let patch = json!({"start": body["start"], "end": body["end"], "summary": body["summary"]});
        match google(ctx, a.doctor_id, a.id, "events.patch", |c| c.patch_event(&e.calendar_id, &e.event_id, &patch, ctx.config.send_updates)) {
            Ok(i) if i.status != "cancelled" => converge_event(ctx, a, &body, &e.calendar_id, &site, e.generation, &mut n, i)?,
            // Deleted at Google meanwhile (by hand): a booking that still stands gets a new event.
            Ok(_) => return write_create(ctx, a, cal, e.generation + 1, call),
            Err(err) if matches!(err.http_status, Some(404) | Some(410)) => return write_create(ctx, a, cal, e.generation + 1, call),
            Err(err) => return Err(err),
        }
    };
    let info = wait_for_conference(ctx, a, &e.calendar_id, info);
    let row = save(ctx, a, &e.calendar_id, e.generation, &summary, &info, call, n, e.origin, |row| AuditNote {
        doctor_id: Some(a.doctor_id),
        action: "update",
        outcome: "ok",
        detail: format!("event {} now {} to {} UTC", row.event_id, row.start_utc, row.end_utc),
    })?;
    let pending = row.meet_url.is_empty();
    let mut o = Outcome::new(a.id, if pending { State::Pending } else { State::Updated }).with_event(&row);
    o.warnings = warnings;
    Ok(o)
}

/// The calendar the vendor add-on wrote the doctor's events to (`kiviCare_doctor_meet_id`).
fn vendor_calendar(ctx: &Context, doctor_id: u64, fallback: &str) -> Result<String> {
    let mut c = ctx.store.conn()?;
    Ok(ctx.store.get_meta(&mut c, doctor_id, meta::CALENDAR)?.filter(|s| !s.trim().is_empty()).unwrap_or_else(|| fallback.to_string()))
}

/// Takes over the vendor add-on's event of the appointment: read at Google, brought in line
/// with the appointment (times; a conference when it has none), recorded as ours with its Meet
/// link kept. Of several (the vendor's "regenerate" made a new event each time without removing
/// the old one), the first its mapping rows name that Google still has is taken over and the
/// others are deleted, attendees told, before the mapping rows are replaced: the patient keeps
/// one invitation and one link. With none left at Google, the appointment gets one of ours.
fn adopt(ctx: &Context, a: &Appointment, cal: &Cal, vendor_ids: &[&str], loaded: &Loaded, call: &Call) -> Result<Outcome> {
    let calendar_id = vendor_calendar(ctx, a.doctor_id, &cal.id)?;
    let generation = loaded.event.as_ref().map(|e| e.generation + 1).unwrap_or(0);
    let mut found = None;
    let mut others = Vec::new();
    for &vendor_id in vendor_ids {
        if found.is_some() {
            others.push(vendor_id);
            continue;
        }
        match google(ctx, a.doctor_id, a.id, "events.get", |c| c.get_event(&calendar_id, vendor_id)) {
            Ok(f) if f.status != "cancelled" => found = Some(f),
            Ok(_) => {}
            Err(e) if matches!(e.http_status, Some(404) | Some(410)) => {}
            Err(e) => return Err(e),
        }
    }
    let Some(found) = found else { return write_create(ctx, a, cal, generation, call) };
    let (body, summary, mut warnings) = event_body(ctx, a, cal.account.as_deref(), call.template.as_ref())?;
    let site = site_id(ctx)?;
    let mut n = 0;
    let before = found.etag.clone();
    let info = converge_event(ctx, a, &body, &calendar_id, &site, generation, &mut n, found)?;
    let info = wait_for_conference(ctx, a, &calendar_id, info);
    for other in &others {
        google(ctx, a.doctor_id, a.id, "events.delete", |c| c.delete_event(&calendar_id, other, SendUpdates::All))?;
    }
    let row = save(ctx, a, &calendar_id, generation, &summary, &info, call, n, Origin::Vendor, |row| AuditNote {
        doctor_id: Some(a.doctor_id),
        action: "adopt",
        outcome: "ok",
        detail: if others.is_empty() {
            format!("the vendor add-on's event {} is now kc-meet's", row.event_id)
        } else {
            format!("the vendor add-on's event {} is now kc-meet's; its duplicates {} were deleted", row.event_id, others.join(", "))
        },
    })?;
    let state = if row.meet_url.is_empty() { State::Pending } else if info.etag != before { State::Updated } else { State::Unchanged };
    warnings.push("the event made by the previous Google Meet add-on was taken over (same event, same Meet link)".into());
    if !others.is_empty() {
        warnings.push(format!("{} duplicate event(s) made by the previous Google Meet add-on were deleted", others.len()));
    }
    let mut o = Outcome::new(a.id, state).with_event(&row);
    o.reason = Some(Reason::Adopted);
    o.warnings = warnings;
    Ok(o)
}

fn remove_locked(ctx: &Context, id: u64, loaded: &Loaded, call: &Call, doctor_hint: Option<u64>) -> Result<Outcome> {
    let Some(e) = live_event(loaded) else {
        let vendor = vendor_events(loaded);
        if !vendor.is_empty() {
            return remove_vendor(ctx, id, &vendor, call, doctor_hint);
        }
        // Nothing of ours; a stray mapping row must not keep showing a dead link. An id KiviCare
        // never had, with nothing of ours for it, gets no tombstone either (no rows left behind).
        let unknown = loaded.event.is_none() && loaded.mapping.is_none() && loaded.job.is_none()
            && appointments::resolve(ctx, id, &Input::default())?.is_none();
        if !unknown {
            ctx.store.forget(id, call.snapshot_us, call.job, None, call.unlock)?;
        }
        return Ok(Outcome::skipped(id, Reason::NoEvent, None));
    };
    let (doctor, _doctor_read) = grant::for_call(ctx, e.doctor_id)?;
    if doctor.status == ConnectionState::NotConnected {
        let note = AuditNote { doctor_id: Some(e.doctor_id), action: "delete", outcome: "local_only", detail: "doctor not connected".into() };
        ctx.store.forget(id, call.snapshot_us, call.job, Some(&note), call.unlock)?;
        let mut o = Outcome::new(id, State::Deleted).with_event(e);
        o.meet_url = None;
        o.warnings.push("the doctor is not connected to Google: the event stays in their calendar".into());
        return Ok(o);
    }
    // A `creating` row's id may or may not exist at Google: deleting it settles both (404/410
    // count as done).
    let result = google(ctx, e.doctor_id, id, "events.delete", |c| c.delete_event(&e.calendar_id, &e.event_id, SendUpdates::All))
        .inspect_err(|err| {
            // A delete whose answer was lost (timeout, reset) may still be carried out at
            // Google, even after a later write: the id is not reused from now on.
            if err.code == Code::GoogleUnreachable {
                let _ = ctx.store.mark_deleting(id, &e.event_id);
            }
        })
        .and_then(|_| {
            let note = AuditNote { doctor_id: Some(e.doctor_id), action: "delete", outcome: "ok", detail: format!("event {}", e.event_id) };
            ctx.store.forget(id, call.snapshot_us, call.job, Some(&note), call.unlock)
        })
        .map(|_| {
            let mut o = Outcome::new(id, State::Deleted).with_event(e);
            o.meet_url = None;
            o
        });
    finish(ctx, id, Some(e.doctor_id), JobAction::Remove, call, result)
}

/// Deletes the vendor add-on's events of the appointment (every one its mapping rows name,
/// attendees told) and then its mapping rows.
fn remove_vendor(ctx: &Context, id: u64, vendor_ids: &[&str], call: &Call, doctor_hint: Option<u64>) -> Result<Outcome> {
    let doctor_id = match doctor_hint {
        Some(d) => Some(d),
        None => appointments::resolve(ctx, id, &Input::default()).ok().flatten().map(|a| a.doctor_id),
    };
    let (status, _doctor_read) = match doctor_id {
        Some(d) => {
            let (s, g) = grant::for_call(ctx, d)?;
            (Some(s), g)
        }
        None => (None, None),
    };
    let Some(doctor) = status.filter(|s| s.status != ConnectionState::NotConnected) else {
        ctx.store.forget(id, call.snapshot_us, call.job, None, call.unlock)?;
        let mut o = Outcome::skipped(id, Reason::NoEvent, doctor_id);
        o.warnings.push(format!(
            "the previous Google Meet add-on's event ({}) could not be removed (no connected doctor): remove it in Google Calendar",
            vendor_ids.join(", ")
        ));
        return Ok(o);
    };
    let calendar_id = vendor_calendar(ctx, doctor.doctor_id, doctor.calendar_id.as_deref().unwrap_or("primary"))?;
    let result = vendor_ids
        .iter()
        .try_for_each(|vendor_id| google(ctx, doctor.doctor_id, id, "events.delete", |c| c.delete_event(&calendar_id, vendor_id, SendUpdates::All)))
        .and_then(|_| {
            let detail = format!("the vendor add-on's event {}", vendor_ids.join(", "));
            let note = AuditNote { doctor_id: Some(doctor.doctor_id), action: "delete", outcome: "ok", detail };
            ctx.store.forget(id, call.snapshot_us, call.job, Some(&note), call.unlock)
        })
        .map(|_| {
            let mut o = Outcome::new(id, State::Deleted);
            o.event_id = vendor_ids.first().map(|v| v.to_string());
            o.doctor_id = Some(doctor.doctor_id);
            o
        });
    finish(ctx, id, Some(doctor.doctor_id), JobAction::Remove, call, result)
}

/// `kc_meet_regenerate_event()`: the same event gets a new Meet conference (a new `requestId`),
/// the mapping row the new link, and attendees are told (`sendUpdates` as configured). An
/// appointment without an event gets one (with a new link); one that should have none is
/// converged like an update.
pub fn regenerate(ctx: &Context, id: i64, input: &Value) -> Result<Outcome> {
    let input = Input::from_value(input)?;
    let id = check_id(id)?;
    let _budget = budget(ctx);
    let mut call = Call { snapshot_us: snapshot_of(&input), ..Call::default() };
    ctx.store.require_schema()?;
    let _lock = match lock(ctx, id) {
        Ok(l) => l,
        Err(e) => return finish(ctx, id, input.doctor_id, JobAction::Ensure, &call, Err(e)),
    };
    let loaded = ctx.store.load(id)?;
    let _doctor = hold_doctor(ctx, &loaded);
    call.loaded(&loaded);
    let Some(appt) = appointments::resolve(ctx, id, &input)? else {
        return Err(Error::invalid_argument(format!("appointment {id} does not exist")));
    };
    let first = ensure_locked(ctx, &appt, &loaded, &call)?;
    match first.state {
        State::Created => return Ok(Outcome { state: State::Regenerated, ..first }),
        State::Updated | State::Unchanged => {}
        _ => return Ok(first),
    }
    let loaded = ctx.store.load(id)?;
    let _doctor = hold_doctor(ctx, &loaded);
    let Some(e) = loaded.event.clone().filter(|e| e.state == EventState::Active) else { return Ok(first) };
    call.loaded(&loaded);
    let n = e.conference_n + 1;
    // The request is recorded before Google hears of it: if this call cannot finish, the job
    // asks Google for the same conference (same requestId) instead of yet another one.
    ctx.store.set_conference_n(id, n)?;
    let result = (|| {
        let (body, summary, warnings) = event_body(ctx, &appt, None, call.template.as_ref())?;
        let site = site_id(ctx)?;
        let found = google(ctx, appt.doctor_id, id, "events.get", |c| c.get_event(&e.calendar_id, &e.event_id))?;
        let mut n = n;
        let info = converge_event(ctx, &appt, &body, &e.calendar_id, &site, e.generation, &mut n, found)?;
        let info = wait_for_conference(ctx, &appt, &e.calendar_id, info);
        let row = save(ctx, &appt, &e.calendar_id, e.generation, &summary, &info, &call, n, e.origin, |row| AuditNote {
            doctor_id: Some(appt.doctor_id),
            action: "regenerate",
            outcome: if row.meet_url.is_empty() { "pending" } else { "ok" },
            detail: format!("event {} has a new Meet conference", row.event_id),
        })?;
        let pending = row.meet_url.is_empty();
        let mut o = Outcome::new(id, if pending { State::Pending } else { State::Regenerated }).with_event(&row);
        o.warnings = warnings;
        Ok(o)
    })();
    finish(ctx, id, Some(appt.doctor_id), JobAction::Ensure, &call, result)
}

/// Makes Google match the appointment as the database has it now, read under its lock: the
/// event made or brought up to date, or removed when the appointment is cancelled or gone
/// (reconcile: what it found before taking the lock may have changed since).
pub(crate) fn converge(ctx: &Context, id: u64) -> Result<Outcome> {
    let _budget = budget(ctx);
    ctx.store.require_schema()?;
    let mut call = Call::default();
    let _lock = match lock(ctx, id) {
        Ok(l) => l,
        Err(e) => return finish(ctx, id, None, JobAction::Ensure, &call, Err(e)),
    };
    let loaded = ctx.store.load(id)?;
    let _doctor = hold_doctor(ctx, &loaded);
    call.loaded(&loaded);
    match appointments::resolve(ctx, id, &Input::default())? {
        Some(appt) => ensure_locked(ctx, &appt, &loaded, &call),
        None => remove_locked(ctx, id, &loaded, &call, None),
    }
}

/// Runs the appointment's due job under the appointment's lock: converges (makes Google match
/// the appointment as it is now) and hands the job (as loaded under the lock, with its version)
/// and the result to `settle`, still under the lock. `None` when the job was resolved
/// meanwhile. An appointment that stays missing past `grace_s` (a booking rolled back, a
/// delete core never reported) has its event removed.
pub(crate) fn run_job<T>(ctx: &Context, id: u64, grace_s: i64, settle: impl FnOnce(&Job, Result<Outcome>) -> Result<T>) -> Result<Option<T>> {
    let _budget = budget(ctx);
    let _lock = lock(ctx, id)?;
    let loaded = ctx.store.load(id)?;
    let _doctor = hold_doctor(ctx, &loaded);
    let Some(job) = loaded.job.clone().filter(|j| j.state == JobState::Queued) else { return Ok(None) };
    let mut call = Call { snapshot_us: 0, from_job: true, ..Call::default() };
    call.loaded(&loaded);
    let result = match appointments::resolve(ctx, id, &Input::default()) {
        Ok(Some(appt)) => ensure_locked(ctx, &appt, &loaded, &call),
        Ok(None) if job_age_s(&job.created_at) < grace_s && job.action == JobAction::Ensure => {
            Ok(Outcome::skipped(id, Reason::AppointmentNotFound, job.doctor_id))
        }
        Ok(None) => remove_locked(ctx, id, &loaded, &call, job.doctor_id),
        Err(e) => Err(e),
    };
    settle(&job, result).map(Some)
}

fn job_age_s(created_at: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(created_at)
        .map(|t| (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds())
        .unwrap_or(i64::MAX)
}

/// Escapes text for the HTML Google renders in descriptions.
fn html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// Plain text: tags dropped (titles are not HTML), control characters removed.
fn plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if in_tag => {}
            c if c.is_control() && c != '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out.trim().to_string()
}

fn cut(s: String, max: usize) -> String {
    if s.chars().count() <= max { s } else { s.chars().take(max - 1).collect::<String>() + "…" }
}

/// Whether Google accepts `e` as an attendee address: Calendar answers 400 "Invalid attendee
/// email." for the whole insert otherwise, so an address it would refuse (`d3@x`, no domain
/// dot, spaces, brackets) is left out with a warning instead of failing the event.
fn attendee_email_ok(e: &str) -> bool {
    let Some((local, domain)) = e.rsplit_once('@') else { return false };
    let label_ok = |l: &str| {
        !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') && !l.starts_with('-') && !l.ends_with('-')
    };
    e.len() <= 254
        && !local.is_empty()
        && !local.chars().any(|c| c.is_whitespace() || c.is_control() || "@<>(),;:\"[]".contains(c))
        && domain.split('.').count() >= 2
        && domain.split('.').all(label_ok)
}

/// The site's event template, when it has any text (else the default text is used).
fn usable(template: Option<&(String, String)>) -> Option<&(String, String)> {
    template.filter(|(title, content)| !title.trim().is_empty() || !content.trim().is_empty())
}

/// The appointment's services as the event names them.
fn services_text(a: &Appointment) -> String {
    if a.services.is_empty() { "Video consultation".to_string() } else { a.services.join(", ") }
}

/// `template` with its `{{placeholders}}` filled from the appointment: HTML-escaped values
/// (`escape`, for the description) or plain text (the title).
fn fill(template: &str, a: &Appointment, escape: bool) -> String {
    let services = services_text(a);
    let fields = [
        ("service_name", services.as_str()),
        ("patient_name", a.patient_name.as_str()),
        ("doctor_name", a.doctor_name.as_str()),
        ("clinic_name", a.clinic_name.as_str()),
        ("appointment_date", a.appointment_date.as_str()),
        ("appointment_time", a.appointment_time.as_str()),
        ("description", a.description.as_str()),
    ];
    let mut out = template.to_string();
    for (k, v) in fields {
        let value = if escape { html(v) } else { plain(v) };
        out = out.replace(&format!("{{{{{k}}}}}"), &value).replace(&format!("{{{{ {k} }}}}"), &value);
    }
    out
}

/// The event's summary: the template's title when the site has a template, else the services
/// with the doctor. Apart from the body, because the lock-free look compares only it.
fn event_summary(a: &Appointment, template: Option<&(String, String)>) -> String {
    let summary = match usable(template) {
        Some((title, _)) => plain(&fill(title, a, false)),
        None => {
            let with = if a.doctor_name.is_empty() { String::new() } else { format!(" with {}", plain(&a.doctor_name)) };
            format!("{}{with}", plain(&services_text(a)))
        }
    };
    cut(if summary.is_empty() { "Video consultation".into() } else { summary }, MAX_SUMMARY)
}

/// What the caller is told about the event's attendees: a patient Google would refuse as an
/// attendee is left out (see [`attendee_email_ok`]).
fn event_warnings(a: &Appointment) -> Vec<String> {
    if attendee_email_ok(&a.patient_email) {
        vec![]
    } else {
        vec!["the patient has no valid e-mail address: they are not invited; share the Meet link with them".into()]
    }
}

/// The event resource for an appointment: content from the site's template when it has one,
/// else a default that carries no clinical notes; the patient (and the doctor's WordPress
/// address, when it is not the calendar's own) as attendees, never as a room resource.
fn event_body(ctx: &Context, a: &Appointment, account: Option<&str>, template: Option<&(String, String)>) -> Result<(Value, String, Vec<String>)> {
    let summary = event_summary(a, template);
    let description = match usable(template) {
        Some((_, content)) => fill(content, a, true),
        None => {
            let services = services_text(a);
            format!(
                "{}{} on {} at {}{}.<br>Join the video call with the Google Meet link of this event.",
                html(&services),
                if a.doctor_name.is_empty() { String::new() } else { format!(" with {}", html(&a.doctor_name)) },
                html(&a.appointment_date),
                html(&a.appointment_time),
                if a.clinic_name.is_empty() { String::new() } else { format!(" ({})", html(&a.clinic_name)) },
            )
        }
    };
    let description = cut(description, MAX_DESCRIPTION);

    let warnings = event_warnings(a);
    let mut attendees = vec![];
    let valid = attendee_email_ok;
    if valid(&a.patient_email) {
        attendees.push(json!({"email": a.patient_email, "displayName": plain(&a.patient_name)}));
    }
    if valid(&a.doctor_email) && account.is_none_or(|acc| !acc.eq_ignore_ascii_case(&a.doctor_email)) {
        attendees.push(json!({"email": a.doctor_email, "displayName": plain(&a.doctor_name)}));
    }
    let time = |t| {
        let mut v = json!({"dateTime": rfc3339_in(t, a.zone)});
        if let Some(tz) = iana_name(a.zone) {
            v["timeZone"] = json!(tz);
        }
        v
    };
    let mut body = json!({
        "summary": summary,
        "description": description,
        "start": time(a.start),
        "end": time(a.end),
        "attendees": attendees,
        "visibility": "private",
        "reminders": {"useDefault": true},
        "extendedProperties": {"private": {"kc_meet_site": site_key(ctx), "kc_meet_appointment": a.id.to_string()}},
    });
    if !a.clinic_address.is_empty() {
        body["location"] = json!(plain(&a.clinic_address));
    }
    Ok((body, summary, warnings))
}

/// `kc_meet_mapping()`: the mapping row, read on the extension's own connection.
pub fn mapping(ctx: &Context, id: i64) -> Result<Option<store_events::Mapping>> {
    ctx.store.get_mapping(check_id(id)?)
}

/// `kc_meet_appointment_state()`.
#[derive(Debug, Serialize)]
pub struct AppointmentState {
    pub appointment_id: u64,
    pub mapping: Option<store_events::Mapping>,
    pub event: Option<EventRow>,
    pub job: Option<store_events::Job>,
    pub audit: Vec<store_events::AuditEntry>,
}

pub fn state(ctx: &Context, id: i64) -> Result<AppointmentState> {
    let id = check_id(id)?;
    ctx.store.require_schema()?;
    let mut c = ctx.store.conn()?;
    Ok(AppointmentState {
        appointment_id: id,
        mapping: ctx.store.get_mapping(id)?,
        event: ctx.store.get_event(&mut c, id)?,
        job: ctx.store.job_by_appointment(id)?,
        audit: ctx.store.audit_for(id, 50)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attendee_addresses_google_would_refuse_are_left_out() {
        for ok in ["patient@example.org", "dr.two+meet@clinic.example.co.uk", "a_b@x-y.example"] {
            assert!(attendee_email_ok(ok), "{ok}");
        }
        for bad in ["d3@x", "no-at.example", "@example.org", "a b@example.org", "a@-x.example", "a@x..example", "<a>@example.org", ""] {
            assert!(!attendee_email_ok(bad), "{bad}");
        }
    }

    #[test]
    fn html_and_plain_text_are_safe() {
        assert_eq!(html("<script>\"x\" & 'y'</script>"), "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;");
        assert_eq!(plain("<b>Dr. O'Neil</b> 🩺"), "Dr. O'Neil 🩺");
    }

    #[test]
    fn long_text_is_cut() {
        assert_eq!(cut("x".repeat(9000), MAX_DESCRIPTION).chars().count(), MAX_DESCRIPTION);
    }

    #[test]
    fn event_ids_are_base32hex() {
        for (site, appt, generation) in [("0123456789ab", 123456u64, 2u32), ("ffffffffffff", u64::MAX, u32::MAX), ("000000000000", 1, 0)] {
            let id = id_for(site, appt, generation);
            assert!(id.chars().all(|c| c.is_ascii_digit() || ('a'..='v').contains(&c)), "{id}");
            assert!((5..=1024).contains(&id.len()), "{id}");
            for n in [1u32, 15, u32::MAX] {
                let rid = request_id(site, appt, generation, n);
                assert!(rid.starts_with(&id) && rid != id);
            }
            assert_eq!(request_id(site, appt, generation, 0), id, "the insert's requestId is the event id");
        }
    }

    #[test]
    fn event_ids_differ_per_appointment_generation_and_site() {
        let ids = [id_for("0123456789ab", 1, 0), id_for("0123456789ab", 1, 1), id_for("0123456789ab", 2, 0), id_for("ba9876543210", 1, 0)];
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // Hex digits never run into the separator: appointment 0x1 generation 0x10 differs
        // from appointment 0x11 generation 0x0.
        assert_ne!(id_for("0123456789ab", 1, 16), id_for("0123456789ab", 17, 0));
    }

    #[test]
    fn a_snapshot_is_when_the_plugin_read_the_data_never_later_than_now() {
        assert_eq!(snapshot_of(&Input::default()), 0, "no data: the database is read under the lock");
        let data = |read_at: Option<f64>| Input { doctor_id: Some(2), read_at, ..Input::default() };
        assert_eq!(snapshot_of(&data(Some(1_700_000_000.5))), 1_700_000_000_500_000);
        let before = now_us();
        let ahead = snapshot_of(&data(Some(4_000_000_000.0)));
        assert!(before <= ahead && ahead <= now_us(), "a clock ahead of ours is capped");
        assert!(snapshot_of(&data(None)) >= before);
        assert!(snapshot_of(&data(Some(f64::NAN))) >= before);
    }

    #[test]
    fn states_and_reasons_are_the_strings_php_receives() {
        assert_eq!(serde_json::to_value(State::Regenerated).unwrap(), "regenerated");
        assert_eq!(serde_json::to_value(Reason::StaleSnapshot).unwrap(), "stale_snapshot");
        assert_eq!(State::parse("queued"), Some(State::Queued));
        assert_eq!(State::parse("queue"), None);
        assert!(State::Skipped.as_str() == "skipped");
    }
}
