//! The fault matrix: every way Google fails, for every kind of Google work the extension does
//! (create, update, delete, sync, token refresh), on real MariaDB and the Google emulator.
//!
//! After each case, and again after the jobs have drained with Google healthy, the promise must
//! hold ([`common::calendar_problems`]): every booked telemedicine appointment has exactly one
//! event at its time or a visible queued/failed job, no event outlives its appointment, nothing
//! is doubled. Every call must also come back within its budget plus a small margin (a booking
//! must not hang a PHP worker). Failures are collected over the whole matrix and reported
//! together, so one broken case does not hide the others.

mod common;

use std::time::{Duration, Instant};

use common::{Bed, Booking, calendar_problems};
use kc_meet::{events, jobs, sync};
use mysql::prelude::Queryable;
use serde_json::{Value, json};

const DOC: &str = "dr.two@gmail.example";
/// `request_budget_s` of the bed: what a booking may spend on Google.
const BUDGET_S: f64 = 1.5;
/// What a call may take beyond its budget (lock waits, the last database writes).
const MARGIN_S: f64 = 1.5;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    S500,
    S503,
    /// 429 with `Retry-After`.
    S429,
    /// 403 `rateLimitExceeded`, `userRateLimitExceeded`, `quotaExceeded`
    /// (<https://developers.google.com/calendar/api/guides/errors#403_rate_limit_exceeded>).
    RateLimit403,
    UserRateLimit403,
    Quota403,
    /// Google answers, but only long after the budget.
    Hang,
    /// The connection dies before Google saw the request.
    ResetBefore,
    /// Google processed the request; the response is lost.
    ResetAfter,
    /// The token endpoint answers `invalid_grant` (after the access token was rejected).
    InvalidGrant,
    /// The doctor removed the app's access in their Google account.
    RevokedGrant,
    /// The Meet conference stays `pending` longer than the call waits.
    PendingConference,
    /// The Meet conference ends in `failure`.
    FailedConference,
    /// 410 Gone: a deleted event (update, delete) or an expired sync token (sync).
    Gone410,
}

const ALL: [Fault; 14] = [
    Fault::S500,
    Fault::S503,
    Fault::S429,
    Fault::RateLimit403,
    Fault::UserRateLimit403,
    Fault::Quota403,
    Fault::Hang,
    Fault::ResetBefore,
    Fault::ResetAfter,
    Fault::InvalidGrant,
    Fault::RevokedGrant,
    Fault::PendingConference,
    Fault::FailedConference,
    Fault::Gone410,
];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Create,
    Update,
    Delete,
    Sync,
    Refresh,
}

impl Op {
    /// The Google request the op's fault hits: (method, path prefix).
    fn target(self) -> (&'static str, &'static str) {
        match self {
            Op::Create => ("POST", "/calendar/v3/calendars/"),
            Op::Update => ("PATCH", "/calendar/v3/calendars/"),
            Op::Delete => ("DELETE", "/calendar/v3/calendars/"),
            Op::Sync => ("GET", "/calendar/v3/calendars/"),
            Op::Refresh => ("POST", "/token"),
        }
    }
}

fn google_error(status: u16, reason: &str, message: &str) -> Value {
    json!({"error": {"code": status, "message": message, "errors": [{"domain": "usageLimits", "reason": reason, "message": message}]}})
}

fn bed() -> Bed {
    let bed = Bed::with(|v| v["request_budget_s"] = json!(BUDGET_S), None);
    bed.kivicare();
    bed.connect(2, DOC);
    bed
}

/// Appointment times are given in UTC (KiviCare 4.2+ columns) so the check compares instants.
fn book(bed: &Bed, slot: u32) -> u64 {
    let (s, e) = slot_times(slot);
    bed.book(Booking { start: &s, end: &e, utc: Some((&s, &e)), ..Booking::default() })
}

/// Slot `n`: a half hour from three weeks ahead on, inside the window a full sync lists (a
/// year ahead), so a 410's full re-listing sees the events too.
fn slot_times(slot: u32) -> (String, String) {
    let day = chrono::Utc::now().date_naive() + chrono::Duration::days(21 + i64::from(slot % 300));
    let start = day.and_hms_opt(8 + slot % 9, 0, 0).unwrap();
    let fmt = |t: chrono::NaiveDateTime| t.format("%Y-%m-%d %H:%M:%S").to_string();
    (fmt(start), fmt(start + chrono::Duration::minutes(30)))
}

fn reschedule(bed: &Bed, id: u64, slot: u32) {
    let (s, e) = slot_times(slot);
    let (sd, st) = s.split_once(' ').unwrap();
    let (ed, et) = e.split_once(' ').unwrap();
    bed.sql()
        .exec_drop(
            "UPDATE wp_kc_appointments SET appointment_start_date = ?, appointment_start_time = ?, appointment_end_date = ?, appointment_end_time = ?,
               appointment_start_utc = ?, appointment_end_utc = ? WHERE id = ?",
            (sd, st, ed, et, &s, &e, id),
        )
        .unwrap();
}

fn event_of(bed: &Bed, id: u64) -> Option<Value> {
    bed.live_events(DOC).into_iter().find(|e| e["extendedProperties"]["private"]["kc_meet_appointment"].as_str().and_then(|a| a.parse::<u64>().ok()) == Some(id))
}

/// Installs the fault on the op's Google request (or sets Google up to fail that way).
fn inject(bed: &Bed, op: Op, fault: Fault) {
    let (method, path) = op.target();
    let status = |status: u16, body: Option<Value>, headers: Option<Value>| {
        let mut f = json!({"method": method, "path": path, "action": "status", "status": status, "times": 0});
        if let Some(b) = body {
            f["body"] = b;
        }
        if let Some(h) = headers {
            f["headers"] = h;
        }
        bed.emu.fault(f);
    };
    // A refresh happens only when Google rejects the access token: make it do so.
    if op == Op::Refresh || fault == Fault::InvalidGrant {
        bed.emu.post("/__emu/expire_access_tokens", json!({"email": DOC}));
    }
    match fault {
        Fault::S500 => status(500, None, None),
        Fault::S503 => status(503, None, None),
        Fault::S429 => status(429, None, Some(json!({"Retry-After": "1"}))),
        Fault::RateLimit403 => status(403, Some(google_error(403, "rateLimitExceeded", "Rate Limit Exceeded")), None),
        Fault::UserRateLimit403 => status(403, Some(google_error(403, "userRateLimitExceeded", "User Rate Limit Exceeded")), None),
        Fault::Quota403 => status(403, Some(google_error(403, "quotaExceeded", "Calendar usage limits exceeded.")), None),
        Fault::Hang => bed.emu.fault(json!({"method": method, "path": path, "action": "delay", "delay_s": BUDGET_S + 3.0, "times": 0})),
        Fault::ResetBefore => bed.emu.fault(json!({"method": method, "path": path, "action": "reset", "times": 0})),
        Fault::ResetAfter => bed.emu.fault(json!({"method": method, "path": path, "action": "reset_after", "times": 0})),
        Fault::InvalidGrant => bed.emu.fault(json!({"method": "POST", "path": "/token", "action": "status", "status": 400, "times": 0,
            "body": {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}})),
        Fault::RevokedGrant => {
            bed.emu.post("/__emu/revoke_grant", json!({"email": DOC}));
        }
        // Set up before the case (they shape how the event is created).
        Fault::PendingConference | Fault::FailedConference => {}
        Fault::Gone410 => match op {
            // The event was deleted in Google Calendar meanwhile (a real 410 on delete).
            Op::Delete | Op::Update => {}
            // Google expired the sync token.
            Op::Sync => {
                bed.emu.post("/__emu/invalidate_sync_tokens", json!({"email": DOC}));
            }
            Op::Create | Op::Refresh => unreachable!("not applicable"),
        },
    }
}

/// Which combinations exist: 410 belongs to calls on an existing event or a sync token.
fn applicable(op: Op, fault: Fault) -> bool {
    !(fault == Fault::Gone410 && matches!(op, Op::Create | Op::Refresh))
}

/// Whether the extension really met the fault: an injected fault was consumed, or Google
/// answered an error (a revoked grant, a real 410) or dropped the connection.
fn fault_hit(bed: &Bed, fault: Fault) -> bool {
    match fault {
        // Shaped how the event was created; the case's own checks show the conference state.
        Fault::PendingConference | Fault::FailedConference => true,
        _ => {
            let injected = bed.emu.get("/__emu/faults")["faults"].as_array().is_some_and(|f| f.iter().any(|f| f["hits"].as_u64().unwrap_or(0) > 0));
            injected || bed.emu.requests().iter().any(|r| r["status"].is_null() || r["status"].as_u64().is_some_and(|s| s >= 400))
        }
    }
}

/// Google healthy again and the doctor able to work: faults cleared, a revoked or refused
/// grant replaced by a reconnect (and the jobs it stopped retried by the admin).
fn heal(bed: &Bed, fault: Fault) {
    bed.emu.delete("/__emu/faults");
    bed.emu.config(json!({"conference_pending_reads": 0, "conference_outcome": "success"}));
    if matches!(fault, Fault::InvalidGrant | Fault::RevokedGrant) {
        bed.connect(2, DOC);
        for j in jobs::list(&bed.ctx, &json!({"state": "failed"})).unwrap() {
            let _ = jobs::retry(&bed.ctx, j.id as i64);
        }
    }
}

struct Case {
    op: Op,
    id: u64,
    /// For sync: the time Google moved the event to.
    moved_to: Option<u32>,
}

/// Prepares the case on fresh appointments (slot numbers unique per case) and returns it.
fn prepare(bed: &Bed, op: Op, fault: Fault, slot: u32) -> Case {
    if fault == Fault::PendingConference {
        // Longer than the call waits (it re-reads a few times), shorter than the jobs keep trying.
        bed.emu.config(json!({"conference_pending_reads": 6}));
    }
    if fault == Fault::FailedConference {
        bed.emu.config(json!({"conference_pending_reads": 1, "conference_outcome": "failure"}));
    }
    let id = book(bed, slot);
    let mut moved_to = None;
    if op != Op::Create && op != Op::Refresh {
        let o = events::create(&bed.ctx, id as i64, &Value::Null).unwrap();
        assert!(o.state.as_str() == "created" || o.state.as_str() == "pending", "setup of {op:?}/{fault:?}: {o:?}");
    }
    match op {
        Op::Update => reschedule(bed, id, slot + 500),
        Op::Delete => {
            bed.sql().exec_drop("UPDATE wp_kc_appointments SET status = 0 WHERE id = ?", (id,)).unwrap();
        }
        Op::Sync => {
            sync::sync(&bed.ctx, &json!({"doctor_id": 2})).unwrap();
            let (s, e) = slot_times(slot + 500);
            let eid = event_of(bed, id).expect("event to move")["id"].as_str().unwrap().to_string();
            let iso = |t: &str| format!("{}Z", t.replace(' ', "T"));
            bed.emu.post("/__emu/ui/move", json!({"email": DOC, "event_id": eid, "start": {"dateTime": iso(&s)}, "end": {"dateTime": iso(&e)}}));
            moved_to = Some(slot + 500);
        }
        Op::Create | Op::Refresh => {}
    }
    if fault == Fault::Gone410 && matches!(op, Op::Update | Op::Delete) {
        let eid = event_of(bed, id).unwrap()["id"].as_str().unwrap().to_string();
        bed.emu.post("/__emu/ui/delete", json!({"email": DOC, "event_id": eid}));
        if op == Op::Update {
            // Google answers 410 to the patch of an event that is gone for good.
            bed.emu.fault(json!({"method": "PATCH", "path": "/calendar/v3/calendars/", "action": "status", "status": 410, "times": 0,
                "body": {"error": {"code": 410, "message": "Resource has been deleted", "errors": [{"domain": "global", "reason": "deleted", "message": "Resource has been deleted"}]}}}));
        }
    }
    Case { op, id, moved_to }
}

fn run_op(bed: &Bed, case: &Case) -> Result<String, String> {
    let r = match case.op {
        Op::Create | Op::Refresh => events::create(&bed.ctx, case.id as i64, &Value::Null).map(|o| o.state.to_string()),
        Op::Update => events::update(&bed.ctx, case.id as i64, &Value::Null).map(|o| o.state.to_string()),
        Op::Delete => events::delete(&bed.ctx, case.id as i64).map(|o| o.state.to_string()),
        Op::Sync => sync::sync(&bed.ctx, &json!({"doctor_id": 2, "budget_s": BUDGET_S})).map(|r| format!("{:?}", r.remaining)),
    };
    r.map_err(|e| format!("{:?} {}", e.code, e.message))
}

/// Runs every fault against one op; returns the problems found.
fn matrix(op: Op) -> Vec<String> {
    let bed = bed();
    let mut problems = vec![];
    for (n, fault) in ALL.iter().copied().enumerate() {
        if !applicable(op, fault) {
            continue;
        }
        let case = prepare(&bed, op, fault, n as u32 * 3);
        inject(&bed, op, fault);
        let t = Instant::now();
        let result = run_op(&bed, &case);
        let took = t.elapsed();
        let tag = format!("{op:?}/{fault:?} (appointment {}, call answered {result:?})", case.id);
        if !fault_hit(&bed, fault) {
            problems.push(format!("{tag}: the fault never reached the extension: the case proved nothing"));
        }
        let bound = Duration::from_secs_f64(BUDGET_S + MARGIN_S + if fault == Fault::S429 { 1.0 } else { 0.0 });
        if took > bound {
            problems.push(format!("{tag}: took {:.1} s, budget {BUDGET_S} s", took.as_secs_f64()));
        }
        // An error the caller sees is acceptable only with a visible failed state behind it.
        if result.is_err() && events::state(&bed.ctx, case.id as i64).map(|s| s.job.is_none()).unwrap_or(true) {
            problems.push(format!("{tag}: the call failed and left no visible job"));
        }
        let moved_in_google = format!("appointment {}: event", case.id);
        for p in calendar_problems(&bed, 2, DOC, false, true) {
            // A failed sync leaves Google's move unapplied until the next one: that is the fault.
            if !(op == Op::Sync && p.starts_with(&moved_in_google)) {
                problems.push(format!("{tag}, right after: {p}"));
            }
        }
        heal(&bed, fault);
        if op == Op::Sync {
            let _ = sync::sync(&bed.ctx, &json!({"doctor_id": 2}));
        }
        bed.drain_jobs(6);
        // Lasting jobs are the visible state when Google refuses for good (its usage limits) or
        // cannot make the conference; everything else must converge once Google is healthy.
        let conference_failed = fault == Fault::FailedConference;
        for p in calendar_problems(&bed, 2, DOC, true, conference_failed || fault == Fault::Quota403) {
            problems.push(format!("{tag}, after the jobs drained: {p}"));
        }
        if conference_failed && !matches!(op, Op::Delete) {
            // The booking stands without a link: the admin sees why.
            let st = events::state(&bed.ctx, case.id as i64).unwrap();
            if st.job.is_none() {
                problems.push(format!("{tag}: Google failed the Meet conference and nothing shows it (no job)"));
            }
        }
        if let Some(slot) = case.moved_to {
            // The doctor's move in Google is applied to the appointment, or (KiviCare winning)
            // undone in Google; either way both agree in the end.
            let want = slot_times(slot).0;
            let got: Option<String> = bed
                .sql()
                .exec_first("SELECT DATE_FORMAT(appointment_start_utc, '%Y-%m-%d %H:%i:%s') FROM wp_kc_appointments WHERE id = ?", (case.id,))
                .unwrap();
            let at_google = event_of(&bed, case.id)
                .and_then(|e| e["start"]["dateTime"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()))
                .map(|t| t.with_timezone(&chrono::Utc).format("%Y-%m-%d %H:%M:%S").to_string());
            if got != at_google {
                problems.push(format!("{tag}: the move made in Google (to {want}) was neither applied nor undone: appointment at {got:?}, event at {at_google:?}"));
            }
        }
        // Retire the case's appointment so the next case starts clean: cancelled, its event
        // removed, no job left behind (a failed conference keeps its job cycling).
        bed.sql().exec_drop("UPDATE wp_kc_appointments SET status = 0 WHERE id = ?", (case.id,)).unwrap();
        let _ = events::delete(&bed.ctx, case.id as i64);
        bed.sql().exec_drop("DELETE FROM wp_kc_meet_jobs WHERE appointment_id = ?", (case.id,)).unwrap();
        bed.emu.delete("/__emu/requests");
    }
    problems
}

fn assert_kept(op: Op) {
    let problems = matrix(op);
    assert!(problems.is_empty(), "{} problem(s) in the {op:?} fault matrix:\n  {}", problems.len(), problems.join("\n  "));
}

#[test]
fn create_keeps_the_promise_under_every_fault() {
    assert_kept(Op::Create);
}

#[test]
fn update_keeps_the_promise_under_every_fault() {
    assert_kept(Op::Update);
}

#[test]
fn delete_keeps_the_promise_under_every_fault() {
    assert_kept(Op::Delete);
}

#[test]
fn sync_keeps_the_promise_under_every_fault() {
    assert_kept(Op::Sync);
}

#[test]
fn refresh_keeps_the_promise_under_every_fault() {
    assert_kept(Op::Refresh);
}

#[test]
fn retry_after_is_honoured_before_the_next_attempt() {
    let bed = bed();
    let id = book(&bed, 1);
    bed.emu.fault(json!({"method": "POST", "path": "/calendar/v3/calendars/", "action": "status", "status": 429, "times": 1, "headers": {"Retry-After": "1"}}));
    let o = events::create(&bed.ctx, id as i64, &Value::Null).unwrap();
    assert_eq!(o.state.as_str(), "created");
    let inserts: Vec<f64> = bed
        .emu
        .requests()
        .iter()
        .filter(|r| r["operation"] == "calendar.events.insert")
        .map(|r| r["time"].as_f64().unwrap())
        .collect();
    assert_eq!(inserts.len(), 2, "one refused attempt, one accepted");
    assert!(inserts[1] - inserts[0] >= 0.95, "Google asked for 1 s, the retry came after {:.2} s", inserts[1] - inserts[0]);
}

#[test]
fn a_fault_in_the_middle_of_many_bookings_loses_and_doubles_nothing() {
    // Google flaps while ten bookings go through: every other insert response is lost, then
    // Google is down, then back. Each booking ends with exactly one event.
    let bed = bed();
    let ids: Vec<u64> = (0..10).map(|i| book(&bed, 100 + i)).collect();
    bed.emu.fault(json!({"method": "POST", "path": "/calendar/v3/calendars/", "action": "reset_after", "times": 3}));
    for id in &ids[..5] {
        events::create(&bed.ctx, *id as i64, &Value::Null).unwrap();
    }
    bed.emu.fault(json!({"path": "/calendar/v3/", "action": "status", "status": 503, "times": 0}));
    for id in &ids[5..] {
        assert_eq!(events::create(&bed.ctx, *id as i64, &Value::Null).unwrap().state.as_str(), "queued");
    }
    assert!(calendar_problems(&bed, 2, DOC, false, false).is_empty());
    bed.emu.delete("/__emu/faults");
    bed.drain_jobs(4);
    let problems = calendar_problems(&bed, 2, DOC, true, false);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(bed.live_events(DOC).len(), 10);
}
