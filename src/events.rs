//! An appointment's Google Calendar event with its Meet link: create, update, delete.
//!
//! Owns the rules that make it exactly one event per telemedicine appointment, never lost:
//! - the event id is chosen by us, derived from the site and the appointment (base32hex, with a
//!   generation for re-bookings, since Google keeps a deleted event's id reserved), and the
//!   conference `requestId` is the same id, so a retried insert answers 409 and resolves to the
//!   event that exists instead of making a second one
//!   (<https://developers.google.com/calendar/api/v3/reference/events/insert>);
//! - every write for an appointment runs under that appointment's MySQL lock, so two PHP
//!   processes never race;
//! - Google's transient failures are retried within a small budget, then the write becomes a
//!   job ([`crate::jobs`]) and the call answers `queued`: a booking never fails because of Google;
//! - an update only patches start, end and summary: the Meet link never changes.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::appointments::{self, Appointment, Input, iana_name, rfc3339_in};
use crate::calendar::{Calendar, EventInfo};
use crate::error::{Code, Error, Result};
use crate::redact::Secret;
use crate::retry;
use crate::runtime::Context;
use crate::store_events::EventRow;
use crate::{doctors, store_events};

/// How long a call waits for another process working on the same appointment.
const APPOINTMENT_LOCK_WAIT: Duration = Duration::from_secs(20);
/// A pending conference is re-read this many times before a job takes over.
const PENDING_REREADS: u32 = 3;
/// Google refuses event descriptions beyond 8 KB-ish; keep well inside.
const MAX_DESCRIPTION: usize = 8000;
const MAX_SUMMARY: usize = 1000;

/// What a call did (`kc_meet_create_event()` and friends).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Outcome {
    pub appointment_id: u64,
    /// `created`, `updated`, `deleted`, `unchanged`, `pending`, `queued` or `skipped`.
    pub state: &'static str,
    pub reason: Option<&'static str>,
    pub event_id: Option<String>,
    pub meet_url: Option<String>,
    pub event_url: Option<String>,
    pub doctor_id: Option<u64>,
    pub warnings: Vec<String>,
}

impl Outcome {
    fn new(appointment_id: u64, state: &'static str) -> Outcome {
        Outcome { appointment_id, state, reason: None, event_id: None, meet_url: None, event_url: None, doctor_id: None, warnings: vec![] }
    }

    fn skipped(appointment_id: u64, reason: &'static str, doctor_id: Option<u64>) -> Outcome {
        Outcome { reason: Some(reason), doctor_id, ..Outcome::new(appointment_id, "skipped") }
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

/// 12 hex digits naming this site: its URL, database and table prefix, so a staging copy of
/// the site never adopts production's events.
pub fn site_key(ctx: &Context) -> String {
    let c = &ctx.config;
    let h = Sha256::digest(format!("{}|{}|{}", c.redirect_uri, c.db.name, c.table_prefix).as_bytes());
    h.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// The event id for an appointment: base32hex (`a-v`, `0-9`), deterministic.
pub fn event_id(ctx: &Context, appointment_id: u64, generation: u32) -> String {
    format!("kcm{}g{appointment_id:x}g{generation:x}", site_key(ctx))
}

/// `kc_meet_create_event()`.
pub fn create(ctx: &Context, id: i64, input: &Value) -> Result<Outcome> {
    let input = Input::from_value(input)?;
    ensure(ctx, check_id(id)?, &input, false)
}

/// `kc_meet_update_event()`: the same convergence as create (an update of an appointment
/// without an event creates it).
pub fn update(ctx: &Context, id: i64, input: &Value) -> Result<Outcome> {
    create(ctx, id, input)
}

/// `kc_meet_delete_event()`.
pub fn delete(ctx: &Context, id: i64) -> Result<Outcome> {
    remove(ctx, check_id(id)?, false)
}

fn lock(ctx: &Context, id: u64) -> Result<crate::store::LockGuard> {
    ctx.store.lock(&format!("appt:{id}"), APPOINTMENT_LOCK_WAIT)
}

/// Makes the appointment's event match the appointment. `from_job` says a job runs it: then a
/// transient failure is returned for the runner to reschedule instead of queued again.
pub(crate) fn ensure(ctx: &Context, id: u64, input: &Input, from_job: bool) -> Result<Outcome> {
    ctx.store.require_schema()?;
    let Some(appt) = appointments::resolve(ctx, id, input)? else {
        if from_job {
            return Ok(Outcome::skipped(id, "appointment_not_found", None));
        }
        return Err(Error::invalid_argument(format!("appointment {id} does not exist")));
    };
    let _lock = lock(ctx, id)?;
    let existing = {
        let mut c = ctx.store.conn()?;
        ctx.store.get_event(&mut c, id)?.filter(|e| e.state == "active")
    };
    if appt.status == 0 || !appt.telemed || existing.as_ref().is_some_and(|e| e.doctor_id != appt.doctor_id) {
        // Cancelled, no longer a video consultation, or moved to another doctor: the event
        // that exists goes (and for another doctor a new one follows).
        if existing.is_some() {
            let removed = remove_locked(ctx, id, from_job)?;
            if appt.status == 0 || !appt.telemed || removed.state == "queued" {
                return Ok(removed);
            }
        } else if appt.status == 0 {
            return Ok(Outcome::skipped(id, "cancelled", Some(appt.doctor_id)));
        } else if !appt.telemed {
            return Ok(Outcome::skipped(id, "not_telemed", Some(appt.doctor_id)));
        }
    }
    if appt.status == 2 {
        return Ok(Outcome::skipped(id, "pending_status", Some(appt.doctor_id)));
    }
    match doctors::status(ctx, appt.doctor_id as i64)?.status {
        "not_connected" => return Ok(Outcome::skipped(id, "doctor_not_connected", Some(appt.doctor_id))),
        "needs_reconnect" => {
            let why = "the doctor must reconnect Google Calendar";
            let _ = ctx.store.record_failed_job(id, Some(appt.doctor_id), "ensure", why);
            return Ok(Outcome::skipped(id, "doctor_needs_reconnect", Some(appt.doctor_id)));
        }
        _ => {}
    }
    let existing = {
        let mut c = ctx.store.conn()?;
        ctx.store.get_event(&mut c, id)?
    };
    let result = match existing.as_ref().filter(|e| e.state == "active") {
        Some(e) => write_update(ctx, &appt, e),
        None => write_create(ctx, &appt, existing.as_ref().map(|e| e.generation + 1).unwrap_or(0)),
    };
    finish(ctx, id, Some(appt.doctor_id), "ensure", from_job, result)
}

/// Turns a write's result into the outcome: transient failures queue a job, permanent ones are
/// recorded for the admin and thrown.
fn finish(ctx: &Context, id: u64, doctor_id: Option<u64>, action: &str, from_job: bool, result: Result<Outcome>) -> Result<Outcome> {
    match result {
        Ok(o) => Ok(o),
        Err(e) if from_job => Err(e),
        Err(e) if e.is_transient() => {
            ctx.store.queue_job(id, doctor_id, action, 30, Some(&e.message))?;
            let _ = ctx.store.audit(doctor_id, Some(id), action, "queued", &e.message);
            let mut o = Outcome::new(id, "queued");
            o.doctor_id = doctor_id;
            o.warnings.push(format!("Google is unavailable; the change will be retried in the background: {}", e.message));
            Ok(o)
        }
        Err(e) if e.code == Code::NeedsReconnect => {
            let _ = ctx.store.record_failed_job(id, doctor_id, action, &e.message);
            Ok(Outcome::skipped(id, "doctor_needs_reconnect", doctor_id))
        }
        Err(e) => {
            let _ = ctx.store.record_failed_job(id, doctor_id, action, &e.message);
            Err(e)
        }
    }
}

/// Runs a Google call with the doctor's token, retrying transient failures within the budget
/// left, and writing every failed attempt to the audit trail.
fn google<T>(ctx: &Context, doctor_id: u64, appt: u64, what: &str, deadline: Instant, mut call: impl FnMut(&Calendar) -> Result<T>) -> Result<T> {
    let budget = deadline.saturating_duration_since(Instant::now());
    retry::with_backoff(
        budget,
        || doctors::with_token(ctx, doctor_id, |token: &Secret| call(&Calendar::new(&ctx.http, &ctx.config.endpoints.calendar, token))),
        |attempt, e| {
            let _ = ctx.store.audit(Some(doctor_id), Some(appt), what, "attempt_failed", &format!("attempt {attempt}: {}", e.message));
        },
    )
}

fn calendar_of(ctx: &Context, doctor_id: u64) -> Result<(String, Option<String>)> {
    let s = doctors::status(ctx, doctor_id as i64)?;
    Ok((s.calendar_id.unwrap_or_else(|| "primary".into()), s.email))
}

fn write_create(ctx: &Context, a: &Appointment, mut generation: u32) -> Result<Outcome> {
    let deadline = Instant::now() + ctx.config.request_budget;
    let (calendar_id, account) = calendar_of(ctx, a.doctor_id)?;
    let (body, summary, warnings) = event_body(ctx, a, account.as_deref())?;
    let site = site_key(ctx);
    let mut info = None;
    // A 409 means the id exists: ours from a lost response (adopt it), or deleted earlier
    // (Google keeps its id reserved: take the next generation). Bounded.
    for _ in 0..16 {
        let eid = event_id(ctx, a.id, generation);
        let mut b = body.clone();
        b["id"] = json!(eid);
        b["conferenceData"] = json!({"createRequest": {"requestId": eid, "conferenceSolutionKey": {"type": "hangoutsMeet"}}});
        match google(ctx, a.doctor_id, a.id, "events.insert", deadline, |cal| cal.insert_event(&calendar_id, &b, &ctx.config.send_updates)) {
            Ok(i) => {
                info = Some(i);
                break;
            }
            Err(e) if e.http_status == Some(409) => {
                let found = google(ctx, a.doctor_id, a.id, "events.get", deadline, |cal| cal.get_event(&calendar_id, &eid))?;
                let ours = found.private.get("kc_meet_site").and_then(Value::as_str) == Some(site.as_str())
                    && found.private.get("kc_meet_appointment").and_then(Value::as_str) == Some(a.id.to_string().as_str());
                if ours && found.status != "cancelled" {
                    let _ = ctx.store.audit(Some(a.doctor_id), Some(a.id), "events.insert", "adopted", "the event already existed (an earlier response was lost)");
                    info = Some(found);
                    break;
                }
                generation += 1;
            }
            Err(e) => return Err(e),
        }
    }
    let info = info.ok_or_else(|| Error::google(409, Some("duplicate".into()), "no free event id for this appointment"))?;
    let info = wait_for_conference(ctx, a, &calendar_id, info, deadline);
    let row = save(ctx, a, &calendar_id, generation, &summary, &info)?;
    let pending = row.meet_url.is_empty();
    if pending {
        ctx.store.queue_job(a.id, Some(a.doctor_id), "ensure", 20, Some("the Meet conference is still being created"))?;
    }
    let _ = ctx.store.audit(Some(a.doctor_id), Some(a.id), "create", if pending { "pending" } else { "ok" }, &format!("event {}", row.event_id));
    let mut o = Outcome::new(a.id, if pending { "pending" } else { "created" }).with_event(&row);
    o.warnings = warnings;
    Ok(o)
}

/// Re-reads an event whose conference is `pending` a few times within the budget.
fn wait_for_conference(ctx: &Context, a: &Appointment, calendar_id: &str, mut info: EventInfo, deadline: Instant) -> EventInfo {
    let mut wait = Duration::from_millis(300);
    for _ in 0..PENDING_REREADS {
        if !info.meet_url.is_empty() || info.conference_status == "failure" {
            break;
        }
        if Instant::now() + wait > deadline {
            break;
        }
        std::thread::sleep(wait);
        wait *= 2;
        match google(ctx, a.doctor_id, a.id, "events.get", deadline, |cal| cal.get_event(calendar_id, &info.id)) {
            Ok(i) => info = i,
            Err(_) => break,
        }
    }
    info
}

fn save(ctx: &Context, a: &Appointment, calendar_id: &str, generation: u32, summary: &str, info: &EventInfo) -> Result<EventRow> {
    let row = EventRow {
        appointment_id: a.id,
        doctor_id: a.doctor_id,
        calendar_id: calendar_id.to_string(),
        event_id: info.id.clone(),
        generation,
        state: "active".into(),
        meet_url: info.meet_url.clone(),
        event_url: info.html_link.clone(),
        conference_status: info.conference_status.clone(),
        etag: info.etag.clone(),
        sequence: info.sequence,
        google_updated: info.updated.clone(),
        start_utc: a.start.format("%Y-%m-%d %H:%M:%S").to_string(),
        end_utc: a.end.format("%Y-%m-%d %H:%M:%S").to_string(),
        summary: summary.to_string(),
        updated_at: String::new(),
    };
    ctx.store.save_event(&row, &local_now(ctx))?;
    Ok(row)
}

fn local_now(ctx: &Context) -> String {
    appointments::rfc3339_in(chrono::Utc::now(), ctx.config.timezone)[..19].replace('T', " ")
}

fn write_update(ctx: &Context, a: &Appointment, e: &EventRow) -> Result<Outcome> {
    let deadline = Instant::now() + ctx.config.request_budget;
    let (_, account) = calendar_of(ctx, a.doctor_id)?;
    let (body, summary, warnings) = event_body(ctx, a, account.as_deref())?;
    let same_time = e.start_utc == a.start.format("%Y-%m-%d %H:%M:%S").to_string() && e.end_utc == a.end.format("%Y-%m-%d %H:%M:%S").to_string();
    if same_time && e.summary == summary && !e.meet_url.is_empty() {
        let mut o = Outcome::new(a.id, "unchanged").with_event(e);
        o.warnings = warnings;
        return Ok(o);
    }
    let info = if same_time && e.summary == summary {
        // Only the Meet link was missing (pending conference): read it.
        google(ctx, a.doctor_id, a.id, "events.get", deadline, |cal| cal.get_event(&e.calendar_id, &e.event_id))?
    } else {
        let patch = json!({"start": body["start"], "end": body["end"], "summary": body["summary"]});
        match google(ctx, a.doctor_id, a.id, "events.patch", deadline, |cal| cal.patch_event(&e.calendar_id, &e.event_id, &patch, &ctx.config.send_updates)) {
            Ok(i) if i.status != "cancelled" => i,
            // Deleted at Google meanwhile (by hand): a booking that still stands gets a new event.
            Ok(_) => return write_create(ctx, a, e.generation + 1),
            Err(err) if matches!(err.http_status, Some(404) | Some(410)) => return write_create(ctx, a, e.generation + 1),
            Err(err) => return Err(err),
        }
    };
    let info = wait_for_conference(ctx, a, &e.calendar_id, info, deadline);
    let row = save(ctx, a, &e.calendar_id, e.generation, &summary, &info)?;
    let pending = row.meet_url.is_empty();
    if pending {
        ctx.store.queue_job(a.id, Some(a.doctor_id), "ensure", 20, Some("the Meet conference is still being created"))?;
    }
    let _ = ctx.store.audit(Some(a.doctor_id), Some(a.id), "update", "ok", &format!("event {} now {} to {} UTC", row.event_id, row.start_utc, row.end_utc));
    let mut o = Outcome::new(a.id, if pending { "pending" } else { "updated" }).with_event(&row);
    o.warnings = warnings;
    Ok(o)
}

/// Removes the appointment's event (attendees are told: `sendUpdates=all`).
pub(crate) fn remove(ctx: &Context, id: u64, from_job: bool) -> Result<Outcome> {
    ctx.store.require_schema()?;
    let _lock = lock(ctx, id)?;
    remove_locked(ctx, id, from_job)
}

fn remove_locked(ctx: &Context, id: u64, from_job: bool) -> Result<Outcome> {
    let existing = {
        let mut c = ctx.store.conn()?;
        ctx.store.get_event(&mut c, id)?.filter(|e| e.state == "active")
    };
    let Some(e) = existing else {
        // Nothing of ours; a stray or vendor mapping row must not keep showing a dead link.
        ctx.store.forget_event(id)?;
        return Ok(Outcome::skipped(id, "no_event", None));
    };
    if doctors::status(ctx, e.doctor_id as i64)?.status == "not_connected" {
        ctx.store.forget_event(id)?;
        let mut o = Outcome::new(id, "deleted").with_event(&e);
        o.meet_url = None;
        o.warnings.push("the doctor is not connected to Google: the event stays in their calendar".into());
        let _ = ctx.store.audit(Some(e.doctor_id), Some(id), "delete", "local_only", "doctor not connected");
        return Ok(o);
    }
    let deadline = Instant::now() + ctx.config.request_budget;
    let result = google(ctx, e.doctor_id, id, "events.delete", deadline, |cal| cal.delete_event(&e.calendar_id, &e.event_id, "all"))
        .and_then(|_| ctx.store.forget_event(id))
        .map(|_| {
            let _ = ctx.store.audit(Some(e.doctor_id), Some(id), "delete", "ok", &format!("event {}", e.event_id));
            let mut o = Outcome::new(id, "deleted").with_event(&e);
            o.meet_url = None;
            o
        });
    finish(ctx, id, Some(e.doctor_id), "remove", from_job, result)
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

/// The event resource for an appointment: content from the site's template when it has one,
/// else a default that carries no clinical notes; the patient (and the doctor's WordPress
/// address, when it is not the calendar's own) as attendees, never as a room resource.
fn event_body(ctx: &Context, a: &Appointment, account: Option<&str>) -> Result<(Value, String, Vec<String>)> {
    let services = if a.services.is_empty() { "Video consultation".to_string() } else { a.services.join(", ") };
    let fields = [
        ("service_name", services.as_str()),
        ("patient_name", a.patient_name.as_str()),
        ("doctor_name", a.doctor_name.as_str()),
        ("clinic_name", a.clinic_name.as_str()),
        ("appointment_date", a.appointment_date.as_str()),
        ("appointment_time", a.appointment_time.as_str()),
        ("description", a.description.as_str()),
    ];
    let fill = |template: &str, escape: bool| {
        let mut out = template.to_string();
        for (k, v) in fields {
            let value = if escape { html(v) } else { plain(v) };
            out = out.replace(&format!("{{{{{k}}}}}"), &value).replace(&format!("{{{{ {k} }}}}"), &value);
        }
        out
    };
    let (summary, description) = match ctx.store.event_template()? {
        Some((title, content)) if !title.trim().is_empty() || !content.trim().is_empty() => {
            (plain(&fill(&title, false)), fill(&content, true))
        }
        _ => {
            let with = if a.doctor_name.is_empty() { String::new() } else { format!(" with {}", plain(&a.doctor_name)) };
            let summary = format!("{}{with}", plain(&services));
            let description = format!(
                "{}{} on {} at {}{}.<br>Join the video call with the Google Meet link of this event.",
                html(&services),
                if a.doctor_name.is_empty() { String::new() } else { format!(" with {}", html(&a.doctor_name)) },
                html(&a.appointment_date),
                html(&a.appointment_time),
                if a.clinic_name.is_empty() { String::new() } else { format!(" ({})", html(&a.clinic_name)) },
            );
            (summary, description)
        }
    };
    let summary = cut(if summary.is_empty() { "Video consultation".into() } else { summary }, MAX_SUMMARY);
    let description = cut(description, MAX_DESCRIPTION);

    let mut warnings = vec![];
    let mut attendees = vec![];
    let valid = |e: &str| e.contains('@') && !e.contains(char::is_whitespace) && e.len() <= 254;
    if valid(&a.patient_email) {
        attendees.push(json!({"email": a.patient_email, "displayName": plain(&a.patient_name)}));
    } else {
        warnings.push("the patient has no valid e-mail address: they are not invited; share the Meet link with them".into());
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
        let id = format!("kcm{}g{:x}g{:x}", "0123456789ab", 123456u64, 2u32);
        assert!(id.chars().all(|c| c.is_ascii_digit() || ('a'..='v').contains(&c)));
        assert!(id.len() >= 5);
    }
}
