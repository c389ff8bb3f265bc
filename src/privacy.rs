//! What kc-meet keeps about one WordPress user, for WordPress's personal-data exporter and
//! eraser (GDPR requests under Tools → Export/Erase Personal Data).
//!
//! Owns the read of a user's rows across our tables (connection, audit trail, the events of
//! the appointments they are doctor or patient of) and the erasure of what is ours to erase:
//! the Google connection (through [`crate::connection::disconnect`], which revokes the grant and
//! stops the push channels first) and the audit rows about the user. The events and KiviCare's
//! mapping rows of appointments are the clinic's appointment records: they are reported as
//! retained, never deleted here (the appointment itself is KiviCare's to erase).

use mysql::prelude::Queryable;
use serde::Serialize;

use crate::{connection, grant};
use crate::error::{Error, Result};
use crate::runtime::Context;

/// At most this many audit rows go into one export (the audit keeps the newest first).
const AUDIT_LIMIT: u32 = 1000;

/// One audit row about the user.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRow {
    pub time: String,
    pub appointment_id: Option<u64>,
    pub action: String,
    pub outcome: String,
    pub detail: Option<String>,
}

/// The event of an appointment the user is doctor or patient of.
#[derive(Debug, Clone, Serialize)]
pub struct AppointmentEvent {
    pub appointment_id: u64,
    /// `doctor` or `patient`.
    pub role: &'static str,
    pub event_id: String,
    pub meet_url: String,
    pub event_url: String,
    pub start_utc: String,
    pub state: String,
}

/// `kc_meet_privacy_export()`.
#[derive(Debug, Clone, Serialize)]
pub struct Export {
    pub user_id: u64,
    pub connection: grant::DoctorStatus,
    pub audit: Vec<AuditRow>,
    pub appointments: Vec<AppointmentEvent>,
}

/// `kc_meet_privacy_erase()`.
#[derive(Debug, Clone, Serialize)]
pub struct Erased {
    pub user_id: u64,
    /// The Google connection was removed (grant revoked at Google when it could be).
    pub disconnected: bool,
    pub revoked: bool,
    pub revoke_error: Option<String>,
    pub audit_rows_removed: u64,
    /// Events of the user's appointments, kept as part of the clinic's records.
    pub appointments_retained: u64,
}

fn user(user_id: i64) -> Result<u64> {
    u64::try_from(user_id).ok().filter(|u| *u > 0).ok_or_else(|| Error::invalid_argument("user_id must be positive"))
}

fn appointments(ctx: &Context, user_id: u64) -> Result<Vec<AppointmentEvent>> {
    let p = ctx.store.t.prefix();
    let mut c = ctx.store.conn()?;
    let rows: Vec<(u64, u64, String, String, String, String, String)> = c.exec(
        format!(
            "SELECT e.appointment_id, a.doctor_id, e.event_id, e.meet_url, COALESCE(e.event_url, ''),
                    DATE_FORMAT(e.start_utc, '%Y-%m-%d %H:%i:%s'), e.state
             FROM `{events}` e JOIN `{p}kc_appointments` a ON a.id = e.appointment_id
             WHERE a.doctor_id = ? OR a.patient_id = ? ORDER BY e.appointment_id",
            events = ctx.store.t.events
        ),
        (user_id, user_id),
    )?;
    Ok(rows
        .into_iter()
        .map(|(appointment_id, doctor, event_id, meet_url, event_url, start_utc, state)| AppointmentEvent {
            appointment_id,
            role: if doctor == user_id { "doctor" } else { "patient" },
            event_id,
            meet_url,
            event_url,
            start_utc,
            state,
        })
        .collect())
}

/// Everything kc-meet keeps about the user (no Google request).
pub fn export(ctx: &Context, user_id: i64) -> Result<Export> {
    let id = user(user_id)?;
    ctx.store.require_schema()?;
    let connection = grant::status(ctx, user_id)?;
    let mut c = ctx.store.conn()?;
    let audit: Vec<mysql::Row> = c.exec(
        format!(
            "SELECT DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%sZ'), appointment_id, action, outcome, detail FROM `{}`
             WHERE doctor_id = ? ORDER BY id DESC LIMIT {AUDIT_LIMIT}",
            ctx.store.t.audit
        ),
        (id,),
    )?;
    let audit = audit
        .into_iter()
        .map(|mut r| AuditRow {
            time: r.take(0).unwrap_or_default(),
            appointment_id: r.take(1).flatten(),
            action: r.take(2).unwrap_or_default(),
            outcome: r.take(3).unwrap_or_default(),
            detail: r.take(4).flatten(),
        })
        .collect();
    Ok(Export { user_id: id, connection, audit, appointments: appointments(ctx, id)? })
}

/// Disconnects the user's Google account (revoke, tokens erased, channels stopped) and removes
/// the audit rows about them; reports the appointment events kept.
pub fn erase(ctx: &Context, user_id: i64) -> Result<Erased> {
    let id = user(user_id)?;
    ctx.store.require_schema()?;
    let d = connection::disconnect(ctx, user_id)?;
    let mut c = ctx.store.conn()?;
    c.exec_drop(format!("DELETE FROM `{}` WHERE doctor_id = ?", ctx.store.t.audit), (id,))?;
    let removed = c.affected_rows();
    Ok(Erased {
        user_id: id,
        disconnected: d.was_connected,
        revoked: d.revoked,
        revoke_error: d.revoke_error,
        audit_rows_removed: removed,
        appointments_retained: appointments(ctx, id)?.len() as u64,
    })
}
