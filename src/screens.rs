//! The admin screens' listings: the site's telemedicine appointments with the state of their
//! Google event, and the site's KiviCare doctors with their connection.
//!
//! Owns only read queries that join KiviCare's tables with ours (events, jobs, doctors,
//! channels); the store's doc names them as its exceptions. Each page is one SQL statement (rows plus `COUNT(*) OVER ()` for the total), so a
//! clinic with 50,000 appointments pages through them without a native call or a query per
//! row. It writes nothing and makes no Google request: the actions on the screens go through
//! the use-case modules (`events`, `jobs`, `connection`, `sync`, `channels`).

use mysql::{Row, params};
use mysql::prelude::Queryable;
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::runtime::Context;
use crate::store::DOCTOR_STATUS_SQL;

/// Largest page a caller may ask for (a list table shows 20–100 rows).
const MAX_PER_PAGE: u64 = 500;

/// UTC times go out as ISO 8601 with `Z`: PHP shows them in the site's zone and format.
const ISO: &str = "'%Y-%m-%dT%H:%i:%sZ'";

/// The one rule for an appointment's state on the screens, most urgent first: a job that
/// gave up, a change made in Google waiting for review, a job waiting to run, a Meet
/// conference Google has not finished creating (Calendar API: `conferenceData.createRequest`
/// answers `pending` first), a live event, an event removed, and nothing at all yet.
const STATE_SQL: &str = "CASE WHEN j.state = 'failed' THEN 'failed'
    WHEN e.flag IS NOT NULL AND e.flag <> '' THEN 'flagged'
    WHEN j.state = 'queued' THEN 'queued'
    WHEN e.state = 'active' AND e.conference_status = 'pending' THEN 'pending'
    WHEN e.state = 'active' THEN 'linked'
    WHEN e.state = 'deleted' THEN 'removed'
    ELSE 'missing' END";

/// The states [`STATE_SQL`] yields, in the order a filter lists them.
pub const APPOINTMENT_STATES: [&str; 7] = ["linked", "pending", "queued", "failed", "flagged", "removed", "missing"];

/// A page of rows and how many rows match in all.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
}

/// One telemedicine appointment as the appointments screen shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AppointmentRow {
    pub appointment_id: u64,
    pub doctor_id: u64,
    pub doctor_name: String,
    pub patient_id: u64,
    pub patient_name: String,
    /// KiviCare's local date and time of the appointment (`Y-m-d`, `H:i:s`).
    pub start_date: String,
    pub start_time: String,
    /// KiviCare's status: 0 cancelled, 1 booked, 2 pending, 3 check-out, 4 check-in.
    pub status: i64,
    /// One of [`APPOINTMENT_STATES`].
    pub state: String,
    pub event_id: String,
    pub meet_url: String,
    pub event_url: String,
    pub conference_status: String,
    /// What changed in Google (e.g. `deleted_in_google`), empty when nothing waits for review.
    pub flag: String,
    pub event_updated_at: Option<String>,
    pub job_id: Option<u64>,
    pub job_action: Option<String>,
    pub job_state: Option<String>,
    pub attempts: u32,
    pub next_run_at: Option<String>,
    pub last_error: Option<String>,
}

/// One KiviCare doctor as the doctors screen shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DoctorRow {
    pub doctor_id: u64,
    pub name: String,
    pub user_email: String,
    /// `connected`, `needs_reconnect` or `not_connected` (the rule of `kc_meet_status`).
    pub status: String,
    /// The Google account, while connected.
    pub google_email: Option<String>,
    pub calendar_id: Option<String>,
    pub connected_at: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    pub last_sync_at: Option<String>,
    pub last_sync_error: Option<String>,
    /// Expiry (milliseconds since the epoch, as Google sends it) of the doctor's newest active
    /// push channel; none means the doctor is polled.
    pub channel_expires_at: Option<i64>,
    pub jobs_queued: u64,
    pub jobs_failed: u64,
}

fn opt_u64(opts: &Value, key: &str) -> Result<Option<u64>> {
    match opts.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(v) => {
            let n = v.as_u64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
            match n {
                Some(0) => Ok(None),
                Some(n) => Ok(Some(n)),
                None => Err(Error::invalid_argument(format!("{key} must be a positive integer"))),
            }
        }
    }
}

/// A text option; empty (a form's blank filter) is none. Another type is refused, not ignored.
fn opt_str<'a>(opts: &'a Value, key: &str) -> Result<Option<&'a str>> {
    match opts.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim()).filter(|s| !s.is_empty())),
        Some(_) => Err(Error::invalid_argument(format!("{key} must be a string"))),
    }
}

fn opt_date(opts: &Value, key: &str) -> Result<Option<String>> {
    match opt_str(opts, key)? {
        None => Ok(None),
        Some(s) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(|d| Some(d.format("%Y-%m-%d").to_string()))
            .map_err(|_| Error::invalid_argument(format!("{key} must be a date (YYYY-MM-DD)"))),
    }
}

/// (page, per_page, offset) from `page` (1-based) and `per_page`.
fn paging(opts: &Value) -> Result<(u64, u64, u64)> {
    let page = opt_u64(opts, "page")?.unwrap_or(1);
    let per_page = opt_u64(opts, "per_page")?.unwrap_or(20).min(MAX_PER_PAGE);
    let offset = (page - 1).checked_mul(per_page).ok_or_else(|| Error::invalid_argument("page is too large"))?;
    Ok((page, per_page, offset))
}

/// The WordPress users table, from the network-wide usermeta table's name.
fn users_table(ctx: &Context) -> String {
    let usermeta = &ctx.store.t.usermeta;
    format!("{}users", usermeta.strip_suffix("usermeta").unwrap_or(usermeta))
}

/// `kc_meet_appointments()`: a page of telemedicine appointments (newest first unless
/// `order` = `asc`), filtered by `doctor_id`, `state` (one of [`APPOINTMENT_STATES`]),
/// `from`/`to` (local dates, inclusive) and `appointment_id`.
pub fn appointments(ctx: &Context, opts: &Value) -> Result<Page<AppointmentRow>> {
    crate::base::opts::known_keys(opts, "kc_meet_appointments()", &["doctor_id", "state", "from", "to", "appointment_id", "order", "page", "per_page"])?;
    ctx.store.require_schema()?;
    let doctor_id = opt_u64(opts, "doctor_id")?;
    let appointment_id = opt_u64(opts, "appointment_id")?;
    let state = opt_str(opts, "state")?;
    if let Some(s) = state {
        if !APPOINTMENT_STATES.contains(&s) {
            return Err(Error::invalid_argument(format!("state must be one of {}", APPOINTMENT_STATES.join(", "))));
        }
    }
    let from = opt_date(opts, "from")?;
    let to = opt_date(opts, "to")?;
    let order = match opt_str(opts, "order")? {
        None | Some("desc") => "DESC",
        Some("asc") => "ASC",
        Some(_) => return Err(Error::invalid_argument("order must be asc or desc")),
    };
    let (page, per_page, offset) = paging(opts)?;

    let p = ctx.store.t.prefix();
    let users = users_table(ctx);
    let (events, jobs) = (&ctx.store.t.events, &ctx.store.t.jobs);
    // Telemedicine (`store::telemed_exists`); an appointment we already hold an event or job
    // for stays listed even if its services changed since.
    let telemed = crate::store::telemed_exists(p);
    let from_where = format!(
        "FROM `{p}kc_appointments` a
         LEFT JOIN `{events}` e ON e.appointment_id = a.id
         LEFT JOIN `{jobs}` j ON j.appointment_id = a.id
         WHERE (e.appointment_id IS NOT NULL OR j.id IS NOT NULL
                OR {telemed})
           AND (:doctor = 0 OR a.doctor_id = :doctor)
           AND (:appt = 0 OR a.id = :appt)
           AND (:from = '' OR a.appointment_start_date >= :from)
           AND (:to = '' OR a.appointment_start_date <= :to)
           AND (:state = '' OR ({STATE_SQL}) = :state)"
    );
    let params = params! {
        "doctor" => doctor_id.unwrap_or(0),
        "appt" => appointment_id.unwrap_or(0),
        "from" => from.clone().unwrap_or_default(),
        "to" => to.clone().unwrap_or_default(),
        "state" => state.unwrap_or(""),
    };
    // The inner select finds the page's ids and the total over narrow rows; only the page's
    // rows are then joined with names and details (joining users for every matching row made
    // a page of 50,000 appointments take most of a second).
    let sql = format!(
        "SELECT a.id, a.doctor_id, COALESCE(du.display_name, ''), a.patient_id, COALESCE(pu.display_name, ''),
                DATE_FORMAT(a.appointment_start_date, '%Y-%m-%d'), TIME_FORMAT(a.appointment_start_time, '%H:%i:%s'),
                a.status, {STATE_SQL}, COALESCE(e.event_id, ''), COALESCE(e.meet_url, ''), COALESCE(e.event_url, ''),
                COALESCE(e.conference_status, ''), COALESCE(e.flag, ''), DATE_FORMAT(e.updated_at, {ISO}),
                j.id, j.action, j.state, COALESCE(j.attempts, 0), DATE_FORMAT(j.next_run_at, {ISO}), j.last_error,
                pg.total
         FROM (SELECT a.id, a.appointment_start_date AS sd, a.appointment_start_time AS st, COUNT(*) OVER () AS total
               {from_where}
               ORDER BY a.appointment_start_date {order}, a.appointment_start_time {order}, a.id {order}
               LIMIT {per_page} OFFSET {offset}) pg
         JOIN `{p}kc_appointments` a ON a.id = pg.id
         LEFT JOIN `{events}` e ON e.appointment_id = a.id
         LEFT JOIN `{jobs}` j ON j.appointment_id = a.id
         LEFT JOIN `{users}` du ON du.ID = a.doctor_id
         LEFT JOIN `{users}` pu ON pu.ID = a.patient_id
         ORDER BY pg.sd {order}, pg.st {order}, pg.id {order}"
    );
    let mut c = ctx.store.conn()?;
    let rows: Vec<Row> = c.exec(sql, params.clone())?;
    let mut total = 0;
    let rows = rows
        .into_iter()
        .map(|mut r| {
            total = r.take::<u64, _>(21).unwrap_or(0);
            AppointmentRow {
                appointment_id: r.take(0).unwrap_or(0),
                doctor_id: r.take::<Option<u64>, _>(1).flatten().unwrap_or(0),
                doctor_name: r.take(2).unwrap_or_default(),
                patient_id: r.take::<Option<u64>, _>(3).flatten().unwrap_or(0),
                patient_name: r.take(4).unwrap_or_default(),
                start_date: r.take::<Option<String>, _>(5).flatten().unwrap_or_default(),
                start_time: r.take::<Option<String>, _>(6).flatten().unwrap_or_default(),
                status: r.take::<Option<i64>, _>(7).flatten().unwrap_or(0),
                state: r.take(8).unwrap_or_default(),
                event_id: r.take(9).unwrap_or_default(),
                meet_url: r.take(10).unwrap_or_default(),
                event_url: r.take(11).unwrap_or_default(),
                conference_status: r.take(12).unwrap_or_default(),
                flag: r.take(13).unwrap_or_default(),
                event_updated_at: r.take(14).flatten(),
                job_id: r.take(15).flatten(),
                job_action: r.take(16).flatten(),
                job_state: r.take(17).flatten(),
                attempts: r.take(18).unwrap_or(0),
                next_run_at: r.take(19).flatten(),
                last_error: r.take(20).flatten(),
            }
        })
        .collect::<Vec<_>>();
    if rows.is_empty() && offset > 0 {
        // Past the last page the window count has no row to ride on: count separately.
        total = c.exec_first(format!("SELECT COUNT(*) {from_where}"), params)?.unwrap_or(0);
    }
    Ok(Page { rows, total, page, per_page })
}

/// `kc_meet_doctors()`: a page of the site's KiviCare doctors (users whose role on this site
/// is `kiviCare_doctor`, connected or not), by name; filters `status`, `doctor_id`, `search`
/// (name, login or e-mail).
pub fn doctors(ctx: &Context, opts: &Value) -> Result<Page<DoctorRow>> {
    crate::base::opts::known_keys(opts, "kc_meet_doctors()", &["status", "doctor_id", "search", "page", "per_page"])?;
    ctx.store.require_schema()?;
    let status = opt_str(opts, "status")?;
    if let Some(s) = status {
        if !matches!(s, "connected" | "needs_reconnect" | "not_connected") {
            return Err(Error::invalid_argument("status must be connected, needs_reconnect or not_connected"));
        }
    }
    let doctor_id = opt_u64(opts, "doctor_id")?;
    let search = opt_str(opts, "search")?.map(|s| format!("%{}%", s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));
    let (page, per_page, offset) = paging(opts)?;

    let t = &ctx.store.t;
    let users = users_table(ctx);
    // The role lives in `{site prefix}capabilities`: on a multisite network each site lists
    // only its own doctors.
    let caps_key = format!("{}capabilities", t.prefix());
    let from_where = format!(
        "FROM `{users}` u
         JOIN `{um}` cap ON cap.user_id = u.ID AND cap.meta_key = :caps AND cap.meta_value LIKE '%\"kiviCare\\_doctor\"%'
         {status_joins}
         WHERE (:doctor = 0 OR u.ID = :doctor)
           AND (:search = '' OR u.display_name LIKE :search OR u.user_login LIKE :search OR u.user_email LIKE :search)
           AND (:status = '' OR ({DOCTOR_STATUS_SQL}) = :status)",
        um = t.usermeta,
        status_joins = ctx.store.doctor_status_joins("u.ID"),
    );
    let params = params! {
        "caps" => caps_key,
        "doctor" => doctor_id.unwrap_or(0),
        "search" => search.unwrap_or_default(),
        "status" => status.unwrap_or(""),
    };
    let sql = format!(
        "SELECT u.ID, COALESCE(u.display_name, ''), COALESCE(u.user_email, ''), {DOCTOR_STATUS_SQL},
                d.email, d.calendar_id, DATE_FORMAT(d.connected_at, {ISO}), d.last_error, DATE_FORMAT(d.last_error_at, {ISO}),
                DATE_FORMAT(d.last_sync_at, {ISO}), d.last_sync_error,
                (SELECT MAX(ch.expires_at) FROM `{channels}` ch WHERE ch.doctor_id = u.ID AND ch.state = 'active'),
                (SELECT COUNT(*) FROM `{jobs}` jq WHERE jq.doctor_id = u.ID AND jq.state = 'queued'),
                (SELECT COUNT(*) FROM `{jobs}` jf WHERE jf.doctor_id = u.ID AND jf.state = 'failed'),
                COUNT(*) OVER ()
         {from_where}
         ORDER BY u.display_name, u.ID
         LIMIT {per_page} OFFSET {offset}",
        channels = t.channels,
        jobs = t.jobs,
    );
    let mut c = ctx.store.conn()?;
    let rows: Vec<Row> = c.exec(sql, params.clone())?;
    let mut total = 0;
    let rows = rows
        .into_iter()
        .map(|mut r| {
            total = r.take::<u64, _>(14).unwrap_or(0);
            let status: String = r.take(3).unwrap_or_default();
            let connected = status != "not_connected";
            // Details of a past connection are not shown once it is gone.
            let keep = |v: Option<String>| if connected { v } else { None };
            DoctorRow {
                doctor_id: r.take(0).unwrap_or(0),
                name: r.take(1).unwrap_or_default(),
                user_email: r.take(2).unwrap_or_default(),
                google_email: keep(r.take(4).flatten()),
                calendar_id: keep(r.take::<Option<String>, _>(5).flatten()).or_else(|| connected.then(|| "primary".to_string())),
                connected_at: keep(r.take(6).flatten()),
                last_error: keep(r.take(7).flatten()),
                last_error_at: keep(r.take(8).flatten()),
                last_sync_at: keep(r.take(9).flatten()),
                last_sync_error: keep(r.take(10).flatten()),
                channel_expires_at: r.take(11).flatten(),
                jobs_queued: r.take(12).unwrap_or(0),
                jobs_failed: r.take(13).unwrap_or(0),
                status,
            }
        })
        .collect::<Vec<_>>();
    if rows.is_empty() && offset > 0 {
        total = c.exec_first(format!("SELECT COUNT(*) {from_where}"), params)?.unwrap_or(0);
    }
    Ok(Page { rows, total, page, per_page })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paging_defaults_and_caps() {
        assert_eq!(paging(&json!({})).unwrap(), (1, 20, 0));
        assert_eq!(paging(&json!({"page": 3, "per_page": 50})).unwrap(), (3, 50, 100));
        assert_eq!(paging(&json!({"page": "2", "per_page": 10_000})).unwrap(), (2, MAX_PER_PAGE, MAX_PER_PAGE));
        assert!(paging(&json!({"page": -1})).is_err());
        assert!(paging(&json!({"per_page": "many"})).is_err());
    }

    #[test]
    fn a_filter_of_another_type_is_refused_not_ignored() {
        assert!(opt_str(&json!({"status": ["connected"]}), "status").is_err());
        assert!(opt_str(&json!({"state": 5}), "state").is_err());
        assert_eq!(opt_str(&json!({"state": " "}), "state").unwrap(), None);
        assert_eq!(opt_str(&json!({"state": null}), "state").unwrap(), None);
    }

    #[test]
    fn dates_must_be_calendar_dates() {
        assert_eq!(opt_date(&json!({"from": "2026-02-28"}), "from").unwrap().as_deref(), Some("2026-02-28"));
        assert!(opt_date(&json!({"from": "2026-02-30"}), "from").is_err());
        assert!(opt_date(&json!({"from": "1' OR 1=1"}), "from").is_err());
        assert_eq!(opt_date(&json!({"from": ""}), "from").unwrap(), None);
    }
}
