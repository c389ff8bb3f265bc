//! An administrator's review of a move made in Google Calendar.
//!
//! Two-way sync (`sync`) applies a move by the site's policy (`on_google_move`: the appointment
//! follows the event, or the event is put back) and reports it; the plugin lists it for review.
//! This module owns the review's three steps and nothing else:
//! - `flag`: the appointment's event is marked `moved_in_google` (the screens show it as
//!   flagged), unless a deletion flag is already there (that one asks more of the admin);
//! - `accept` / `revert`: the appointment takes the given time (the time the doctor chose in
//!   Google, or the appointment's time before the change), written as KiviCare stores it (the
//!   local date/time columns in the appointment's zone, and the 4.2+ UTC columns when the table
//!   has them), the move flag is cleared, and the event is brought in line with the appointment
//!   (one PATCH of start and end when they differ; the Meet link stays).
//!
//! Both decisions are idempotent: a decision only acts while the move flag is there (a second
//! call, or one after KiviCare moved the appointment itself, answers `reviewed: false` and
//! writes nothing), and an appointment at the target already is not written again. Each is audited
//! (`review`, `move_accepted` / `move_reverted`). No Google request is made here directly: the
//! event goes through `events`, under its rules (lock, budget, queue on failure).

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use mysql::prelude::Queryable;
use serde::Serialize;
use serde_json::Value;

use crate::appointments::{self, Input};
use crate::error::{Error, Result};
use crate::events::{self, Outcome};
use crate::runtime::Context;
use crate::store::Store;
use crate::store::sync::{AppointmentTimes, ChangeSet};

/// The flag a reviewable move leaves on the event row (the column holds at most 32 characters).
pub const MOVE_FLAG: &str = "moved_in_google";

/// What a review step did.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Review {
    pub appointment_id: u64,
    /// `flag`, `accept` or `revert`.
    pub action: String,
    /// `flag`: whether the event row now carries the move flag (false: no live event, or a
    /// deletion is flagged already).
    pub flagged: bool,
    /// `accept`/`revert`: whether a move was waiting for review (false: the flag was already
    /// gone — decided before, or KiviCare changed the appointment since, and KiviCare wins —
    /// and nothing was written).
    pub reviewed: bool,
    /// `accept`/`revert`: whether KiviCare's row was written (false: it was at the target).
    pub moved: bool,
    /// The appointment's start and end after the step, UTC `Y-m-d H:i:s`.
    pub start_utc: Option<String>,
    pub end_utc: Option<String>,
    /// `accept`/`revert`: what the event call did (`updated`, `unchanged`, `queued` …).
    pub event: Option<Outcome>,
}

/// A UTC time from `Y-m-d H:i:s` or RFC 3339.
fn parse_utc(v: Option<&Value>, key: &str) -> Result<DateTime<Utc>> {
    let s = v.and_then(Value::as_str).map(str::trim).unwrap_or_default();
    if let Ok(n) = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S") {
        return Ok(n.and_utc());
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| Error::invalid_argument(format!("{key} must be a UTC time (Y-m-d H:i:s)")))
}

/// The target of a decision: `start_utc` before `end_utc`, at most a day apart.
fn target(times: &Value) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    let start = parse_utc(times.get("start_utc"), "start_utc")?;
    let end = parse_utc(times.get("end_utc"), "end_utc")?;
    if end <= start || end - start > chrono::Duration::hours(24) {
        return Err(Error::invalid_argument("end_utc must be after start_utc, within a day"));
    }
    Ok((start, end))
}

fn utc_text(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// `kc_meet_review_move()`.
pub fn review_move(ctx: &Context, appointment_id: i64, action: &str, times: &Value) -> Result<Review> {
    let id = u64::try_from(appointment_id)
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| Error::invalid_argument("appointment_id must be a positive integer"))?;
    ctx.store.require_schema()?;
    match action {
        "flag" => flag(ctx, id),
        "accept" | "revert" => decide(ctx, id, action, target(times)?),
        _ => Err(Error::invalid_argument("action must be flag, accept or revert")),
    }
}

fn flag(ctx: &Context, id: u64) -> Result<Review> {
    let mut c = ctx.store.conn()?;
    // Only a live event with no other flag: a deletion waiting for review keeps its own.
    c.exec_drop(
        format!(
            "UPDATE `{}` SET flag = ?, updated_at = UTC_TIMESTAMP() WHERE appointment_id = ? AND state = 'active' AND flag IN ('', ?)",
            ctx.store.t.events
        ),
        (MOVE_FLAG, id, MOVE_FLAG),
    )?;
    let flagged: Option<String> = c.exec_first(format!("SELECT flag FROM `{}` WHERE appointment_id = ?", ctx.store.t.events), (id,))?;
    Ok(Review {
        appointment_id: id,
        action: "flag".into(),
        flagged: flagged.as_deref() == Some(MOVE_FLAG),
        reviewed: false,
        moved: false,
        start_utc: None,
        end_utc: None,
        event: None,
    })
}

fn decide(ctx: &Context, id: u64, action: &str, (start, end): (DateTime<Utc>, DateTime<Utc>)) -> Result<Review> {
    let moved = {
        // The appointment's lock, as every event call and the sync take it: no sync or booking
        // of this appointment writes in between.
        let _lock = ctx.store.lock(&Store::appointment_lock(id), Duration::from_secs(20))?;
        let mut c = ctx.store.conn()?;
        let flag: Option<String> = c.exec_first(format!("SELECT flag FROM `{}` WHERE appointment_id = ?", ctx.store.t.events), (id,))?;
        // Given back to the call, whose later statements use it.
        drop(c);
        if flag.as_deref() != Some(MOVE_FLAG) {
            // Decided already, or KiviCare moved the appointment since (its write cleared the
            // flag): nothing to do, and KiviCare's time stands.
            return Ok(Review { appointment_id: id, action: action.into(), flagged: false, reviewed: false, moved: false, start_utc: None, end_utc: None, event: None });
        }
        let a = appointments::resolve(ctx, id, &Input::default())?
            .ok_or_else(|| Error::invalid_argument(format!("appointment {id} does not exist")))?;
        let moved = a.start != start || a.end != end;
        // The appointment's times (as KiviCare stores them), the flag and the audit entry: one
        // transaction, one round trip.
        let mut changes = ChangeSet::default();
        if moved {
            let local = |t: DateTime<Utc>| -> Result<String> {
                let text = appointments::rfc3339_in(t, a.zone);
                text.get(..19)
                    .map(|s| s.replace('T', " "))
                    .ok_or_else(|| Error::invalid_argument("the appointment's time cannot be written in its zone"))
            };
            let times = AppointmentTimes { appointment_id: id, local: (local(start)?, local(end)?), utc: (utc_text(start), utc_text(end)) };
            changes.appointment(times, ctx.store.appointments_have_utc()?);
        }
        changes.clear_flag(id, MOVE_FLAG);
        let detail = format!("{} {} - {}", if moved { "moved to" } else { "already at" }, utc_text(start), utc_text(end));
        let outcome = if action == "accept" { "move_accepted" } else { "move_reverted" };
        changes.audit(Some(a.doctor_id), Some(id), "review", outcome, &detail);
        ctx.store.write_changes(&changes)?;
        moved
    };
    // The event follows the appointment (its own lock, budget and queue).
    let event = events::update(ctx, id as i64, &Value::Null)?;
    Ok(Review {
        appointment_id: id,
        action: action.into(),
        flagged: false,
        reviewed: true,
        moved,
        start_utc: Some(utc_text(start)),
        end_utc: Some(utc_text(end)),
        event: Some(event),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_target_takes_mysql_or_rfc3339_utc_times() {
        let (s, e) = target(&json!({"start_utc": "2026-03-10 09:00:00", "end_utc": "2026-03-10T09:30:00Z"})).unwrap();
        assert_eq!((utc_text(s), utc_text(e)), ("2026-03-10 09:00:00".to_string(), "2026-03-10 09:30:00".to_string()));
    }

    #[test]
    fn a_target_must_end_after_it_starts_and_within_a_day() {
        assert!(target(&json!({"start_utc": "2026-03-10 09:00:00", "end_utc": "2026-03-10 09:00:00"})).is_err());
        assert!(target(&json!({"start_utc": "2026-03-10 09:00:00", "end_utc": "2026-03-12 09:00:00"})).is_err());
        assert!(target(&json!({"start_utc": "tomorrow", "end_utc": "2026-03-10 09:00:00"})).is_err());
        assert!(target(&json!({})).is_err());
    }
}
