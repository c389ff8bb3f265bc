//! A KiviCare appointment as the event code needs it: who, when (in UTC), whether it is a video
//! consultation, and the text for the event.
//!
//! Owns reading KiviCare's tables (plain, non-locking reads: core 4.x holds its own locks on
//! these rows inside an open transaction) and merging them with what the plugin passes. The
//! plugin's data wins: inside core's transaction the extension's connection cannot see the new
//! rows at all. Owns time conversion too: the UTC columns when present, else the local columns
//! in the appointment's, doctor's or site's zone, with DST gaps and overlaps resolved the way
//! PHP's `DateTime` resolves them. Never touches the process's time zone.

use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use mysql::prelude::Queryable;
use serde::Deserialize;
use serde_json::Value;

use crate::base::config::{SiteTz, parse_timezone};
use crate::error::{Error, Result};
use crate::runtime::Context;

/// What the plugin may pass (`$appointment`); every key optional, unknown keys refused.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub doctor_id: Option<u64>,
    pub patient_id: Option<u64>,
    pub clinic_id: Option<u64>,
    pub status: Option<i64>,
    pub start_utc: Option<String>,
    pub end_utc: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub timezone: Option<String>,
    pub telemed: Option<bool>,
    pub services: Option<Vec<String>>,
    pub patient_name: Option<String>,
    pub patient_email: Option<String>,
    pub doctor_name: Option<String>,
    pub doctor_email: Option<String>,
    pub clinic_name: Option<String>,
    pub clinic_address: Option<String>,
    pub description: Option<String>,
    pub appointment_date: Option<String>,
    pub appointment_time: Option<String>,
    /// When the plugin read this data (Unix seconds, e.g. `microtime(true)`); defaults to the
    /// call's start. Data read before the stored state was made never wins over it.
    pub read_at: Option<f64>,
    /// The appointment's `kc_appointments` row as the plugin read it on WordPress's connection
    /// (column => value, unconverted; columns other than the time columns are ignored). Its
    /// times are decided here exactly as the database row's are ([`StoredTimes`]); the
    /// explicit `start_utc`/`end_utc` and `start`/`end` win over it.
    pub row: Option<serde_json::Map<String, Value>>,
    /// The doctor's `timezone` user meta, raw (an unusable value is ignored, as in the database).
    pub doctor_timezone: Option<String>,
    /// Length in minutes: the end when `start` comes without `end` (KiviCare 4.x's meetings).
    pub duration: Option<i64>,
    /// The appointment's service rows as the plugin read them: `name` (`kc_services.name`),
    /// `service_name_alias` and `telemed_service` (of the doctor's `kc_service_doctor_mapping`
    /// row). The names of the telemed ones win over `services` (see [`service_label`]).
    pub service_rows: Option<Vec<serde_json::Map<String, Value>>>,
    /// PHP `date()` formats of the site (`date_format`, `time_format` options) for
    /// `appointment_date` / `appointment_time` when those are not given.
    pub date_format: Option<String>,
    pub time_format: Option<String>,
}

impl Input {
    /// Parses `$appointment`; PHP sends ids as strings or ints, an empty array as `[]`.
    pub fn from_value(v: &Value) -> Result<Input> {
        match v {
            Value::Null => Ok(Input::default()),
            Value::Array(a) if a.is_empty() => Ok(Input::default()),
            Value::Object(map) => {
                let mut m = map.clone();
                for key in ["doctor_id", "patient_id", "clinic_id", "status"] {
                    if let Some(Value::String(s)) = m.get(key) {
                        let n: i64 = s.trim().parse().map_err(|_| Error::invalid_argument(format!("appointment {key} must be a number")))?;
                        m.insert(key.into(), Value::from(n));
                    }
                }
                if let Some(Value::Number(n)) = m.get("telemed").cloned() {
                    m.insert("telemed".into(), Value::Bool(n.as_i64() != Some(0)));
                }
                if let Some(Value::String(s)) = m.get("duration") {
                    let n: i64 = s.trim().parse().map_err(|_| Error::invalid_argument("appointment duration must be a number of minutes"))?;
                    m.insert("duration".into(), Value::from(n));
                }
                // A service row PHP sends as an empty array arrives as a JSON list: not a row.
                if let Some(Value::Array(rows)) = m.get_mut("service_rows") {
                    rows.retain(Value::is_object);
                }
                for (k, v) in m.clone() {
                    // PHP's empty array is a JSON list, also where a map is expected (`row`).
                    if v.is_null() || (k == "row" && v.as_array().is_some_and(|a| a.is_empty())) {
                        m.remove(&k);
                    }
                }
                let input: Input = serde_json::from_value(Value::Object(m))
                    .map_err(|e| Error::invalid_argument(format!("bad appointment data: {e}")))?;
                // A time or zone that cannot be read would leave the event at another hour:
                // refuse it rather than fall back to the stored time or the doctor's zone. A
                // start without its end is fine (the stored times are used), but not a bad one.
                for (what, t) in [("start_utc", &input.start_utc), ("end_utc", &input.end_utc)] {
                    if let Some(t) = t {
                        parse_dt(what, t)?;
                    }
                }
                for (what, t) in [("start", &input.start), ("end", &input.end)] {
                    if let Some(t) = t {
                        parse_moment(what, t)?;
                    }
                }
                if input.duration.is_some_and(|d| !(1..=7 * 24 * 60).contains(&d)) {
                    return Err(Error::invalid_argument("appointment duration must be between 1 minute and 7 days"));
                }
                if let Some(z) = &input.timezone {
                    parse_timezone(z).map_err(|_| {
                        Error::invalid_argument(format!("appointment timezone '{z}' is neither an IANA time zone nor an offset like +05:30"))
                    })?;
                }
                Ok(input)
            }
            _ => Err(Error::invalid_argument("appointment data must be an array")),
        }
    }

    /// Whether the plugin passed no snapshot of the appointment (no doctor, no time): then the
    /// database is the only source.
    pub(crate) fn is_empty(&self) -> bool {
        self.doctor_id.is_none() && self.start_utc.is_none() && self.start.is_none() && self.row.is_none()
    }

    /// The time columns of the `row` the plugin passed.
    fn stored_times(&self) -> Option<StoredTimes> {
        let row = self.row.as_ref()?;
        let text = |k: &str| row.get(k).and_then(json_text);
        let join = |d: Option<String>, t: Option<String>| d.zip(t).map(|(d, t)| format!("{d} {t}"));
        Some(StoredTimes {
            start_local: join(text("appointment_start_date"), text("appointment_start_time")),
            // 3.x rows may leave the end date empty: the appointment ends on its start day.
            end_local: join(text("appointment_end_date").or_else(|| text("appointment_start_date")), text("appointment_end_time")),
            start_utc: text("appointment_start_utc"),
            end_utc: text("appointment_end_utc"),
            timezone: text("appointment_timezone"),
        })
    }
}

/// A JSON value of a raw column as text; `None` when null, empty or a zero date.
fn json_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
    .filter(|s| !s.is_empty() && !s.starts_with("0000"))
}

/// The name an appointment's service goes by: the doctor's `service_name_alias` when set, else
/// the service's own `name` (KIVICARE.md, `kc_service_doctor_mapping`). The one place of that rule.
pub fn service_label(name: Option<&str>, alias: Option<&str>) -> String {
    alias.map(str::trim).filter(|a| !a.is_empty()).or(name.map(str::trim)).unwrap_or_default().to_string()
}

/// Whether a `kc_service_doctor_mapping.telemed_service` value marks a video consultation.
pub fn is_telemed_flag(flag: Option<&str>) -> bool {
    flag.is_some_and(|f| f.trim().eq_ignore_ascii_case("yes"))
}

/// The time columns of a `kc_appointments` row, unconverted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredTimes {
    /// `appointment_start_date` + `appointment_start_time` (local).
    pub start_local: Option<String>,
    /// `appointment_end_date` (else the start date) + `appointment_end_time` (local).
    pub end_local: Option<String>,
    /// `appointment_start_utc` / `appointment_end_utc` (4.2+, NULL on older rows).
    pub start_utc: Option<String>,
    pub end_utc: Option<String>,
    /// `appointment_timezone` (4.2+, column default 'UTC').
    pub timezone: Option<String>,
}

impl StoredTimes {
    /// The zone the row names, when it is a real choice: always when the row has UTC times, but
    /// not the column default 'UTC' of a row without them (core < 4.2 wrote local times only).
    fn zone(&self) -> Option<SiteTz> {
        let name = self.timezone.as_deref().map(str::trim).filter(|z| !z.is_empty())?;
        if self.start_utc.is_none() && name.eq_ignore_ascii_case("UTC") {
            return None;
        }
        parse_timezone(name).ok()
    }

    /// Start and end in UTC: the UTC columns when set (an end missing there keeps the local
    /// columns' length), else the local columns in `zone`. `None` when the row has no usable time.
    fn instants(&self, zone: SiteTz) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let local = |s: &Option<String>| s.as_deref().and_then(|s| parse_dt("time", s).ok());
        let (ls, le) = (local(&self.start_local), local(&self.end_local));
        if let Some(start) = local(&self.start_utc) {
            let end = local(&self.end_utc).or_else(|| ls.zip(le).filter(|(s, e)| e > s).map(|(s, e)| start + (e - s)))?;
            return Some((start.and_utc(), end.and_utc()));
        }
        Some((local_to_utc(ls?, zone), local_to_utc(le?, zone)))
    }
}

/// An appointment's start and end (UTC), and the zone its local times are read in.
pub type DecidedTimes = (DateTime<Utc>, DateTime<Utc>, SiteTz);

/// Which time applies to an appointment and in which zone, from what the plugin passed
/// (`input`), the row's time columns (`stored`: the plugin's `row`, then the extension's own
/// read), the doctor's `timezone` meta and the site's zone.
///
/// Zone: the caller's `timezone`, else the row's ([`StoredTimes::zone`]), else the doctor's
/// meta, else the site's. Times: the caller's `start_utc`/`end_utc`; else the caller's
/// `start` with `end` or `duration` (local in the zone, or RFC 3339 with an offset); else the
/// first of `stored` with a usable time. Local times in a DST gap or overlap are resolved by
/// [`local_to_utc`]. `None` when nothing gives both a start and an end.
pub fn decide_times(input: &Input, stored: &[StoredTimes], doctor_tz: Option<&str>, site: SiteTz) -> Result<Option<DecidedTimes>> {
    let zone = input
        .timezone
        .as_deref()
        .and_then(|z| parse_timezone(z).ok())
        .or_else(|| stored.iter().find_map(StoredTimes::zone))
        .or_else(|| doctor_tz.map(str::trim).filter(|z| !z.is_empty()).and_then(|z| parse_timezone(z).ok()))
        .unwrap_or(site);
    if let (Some(s), Some(e)) = (input.start_utc.as_ref(), input.end_utc.as_ref()) {
        return Ok(Some((parse_dt("start_utc", s)?.and_utc(), parse_dt("end_utc", e)?.and_utc(), zone)));
    }
    if let Some(s) = input.start.as_ref() {
        let start = parse_moment("start", s)?.in_zone(zone);
        let end = match (input.end.as_ref(), input.duration) {
            (Some(e), _) => Some(parse_moment("end", e)?.in_zone(zone)),
            (None, Some(minutes)) => Some(start + chrono::Duration::minutes(minutes)),
            (None, None) => None,
        };
        if let Some(end) = end {
            return Ok(Some((start, end, zone)));
        }
    }
    Ok(stored.iter().find_map(|t| t.instants(zone)).map(|(s, e)| (s, e, zone)))
}

/// A time the plugin passed: local (in the appointment's zone) or an instant with its offset.
enum Moment {
    Local(NaiveDateTime),
    Instant(DateTime<Utc>),
}

impl Moment {
    fn in_zone(self, zone: SiteTz) -> DateTime<Utc> {
        match self {
            Moment::Local(t) => local_to_utc(t, zone),
            Moment::Instant(t) => t,
        }
    }
}

/// 'Y-m-d H:i(:s)' (local), or ISO 8601 / RFC 3339 with `Z` or an offset (what core 4.x's
/// `update_meeting` sends).
fn parse_moment(what: &str, s: &str) -> Result<Moment> {
    let t = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(&t.replacen(' ', "T", 1)) {
        return Ok(Moment::Instant(t.with_timezone(&Utc)));
    }
    for f in ["%Y-%m-%dT%H:%M%:z", "%Y-%m-%d %H:%M%:z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"] {
        if let Ok(t) = DateTime::parse_from_str(t, f) {
            return Ok(Moment::Instant(t.with_timezone(&Utc)));
        }
    }
    parse_dt(what, t).map(Moment::Local)
}

/// Formats `t` with a PHP `date()` format (the site's `date_format` / `time_format`), in
/// English. Unknown letters are kept as they are; `\` escapes the next character.
pub fn php_date(t: &DateTime<chrono::FixedOffset>, format: &str) -> String {
    use chrono::{Datelike, Timelike};
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        let piece = match c {
            '\\' => chars.next().map(String::from).unwrap_or_default(),
            'd' => t.format("%d").to_string(),
            'D' => t.format("%a").to_string(),
            'j' => t.day().to_string(),
            'l' => t.format("%A").to_string(),
            'N' => t.weekday().number_from_monday().to_string(),
            'w' => t.weekday().num_days_from_sunday().to_string(),
            'S' => match (t.day() % 10, t.day()) {
                (_, 11..=13) => "th",
                (1, _) => "st",
                (2, _) => "nd",
                (3, _) => "rd",
                _ => "th",
            }
            .to_string(),
            'F' => t.format("%B").to_string(),
            'M' => t.format("%b").to_string(),
            'm' => t.format("%m").to_string(),
            'n' => t.month().to_string(),
            'Y' => t.year().to_string(),
            'y' => t.format("%y").to_string(),
            'a' => if t.hour() < 12 { "am" } else { "pm" }.to_string(),
            'A' => if t.hour() < 12 { "AM" } else { "PM" }.to_string(),
            'g' => t.hour12().1.to_string(),
            'G' => t.hour().to_string(),
            'h' => format!("{:02}", t.hour12().1),
            'H' => format!("{:02}", t.hour()),
            'i' => format!("{:02}", t.minute()),
            's' => format!("{:02}", t.second()),
            'P' => t.format("%:z").to_string(),
            'O' => t.format("%z").to_string(),
            'U' => t.timestamp().to_string(),
            other => other.to_string(),
        };
        out.push_str(&piece);
    }
    out
}

/// A resolved appointment.
#[derive(Debug, Clone, PartialEq)]
pub struct Appointment {
    pub id: u64,
    pub doctor_id: u64,
    pub patient_id: Option<u64>,
    pub clinic_id: Option<u64>,
    pub status: i64,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The zone the appointment was booked in (event `timeZone` when it is an IANA zone).
    pub zone: SiteTz,
    pub telemed: bool,
    pub services: Vec<String>,
    pub patient_name: String,
    pub patient_email: String,
    pub doctor_name: String,
    pub doctor_email: String,
    pub clinic_name: String,
    pub clinic_address: String,
    pub description: String,
    pub appointment_date: String,
    pub appointment_time: String,
}

/// Converts a local wall time to UTC. A time in a DST gap moves forward by the gap (02:30 on
/// spring-forward day is 03:30); a time in an overlap takes the first occurrence. This is what
/// PHP's `DateTime` does, so the event matches what KiviCare shows.
pub fn local_to_utc(local: NaiveDateTime, zone: SiteTz) -> DateTime<Utc> {
    match zone {
        SiteTz::Offset(off) => (local - off.fix()).and_utc(),
        SiteTz::Named(tz) => match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
            LocalResult::None => {
                // In the gap: read it with the offset in force just before the gap.
                let before = tz.from_utc_datetime(&(local - chrono::Duration::hours(3))).offset().fix();
                (local - before).and_utc()
            }
        },
    }
}

/// RFC 3339 with the zone's offset at that instant (`2026-03-08T10:00:00-04:00`).
pub fn rfc3339_in(t: DateTime<Utc>, zone: SiteTz) -> String {
    match zone {
        SiteTz::Named(tz) => t.with_timezone(&tz).to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        SiteTz::Offset(off) => t.with_timezone(&off).to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
    }
}

/// The IANA name to send as `timeZone`, if the zone has one.
pub fn iana_name(zone: SiteTz) -> Option<String> {
    match zone {
        SiteTz::Named(tz) => Some(tz.name().to_string()),
        SiteTz::Offset(_) => None,
    }
}

fn parse_dt(what: &str, s: &str) -> Result<NaiveDateTime> {
    let s = s.trim();
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M"))
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map(|d| d.and_time(chrono::NaiveTime::MIN)))
        .map_err(|_| Error::invalid_argument(format!("appointment {what} '{s}' is not a date and time (Y-m-d H:i:s)")))
}

/// A row of `kc_appointments` with what joins to it, as the extension's connection sees it.
#[derive(Debug, Default)]
pub(crate) struct Row {
    doctor_id: u64,
    patient_id: Option<u64>,
    clinic_id: Option<u64>,
    status: i64,
    start_local: Option<String>,
    end_local: Option<String>,
    start_utc: Option<String>,
    end_utc: Option<String>,
    timezone: Option<String>,
    description: String,
    patient_name: String,
    patient_email: String,
    doctor_name: String,
    doctor_email: String,
    clinic_name: String,
    clinic_address: String,
    doctor_tz: Option<String>,
    services: Vec<String>,
    telemed: bool,
}

/// Separates the services in [`read_row`]'s list (ASCII unit separator: not in a name).
const SERVICE_SEPARATOR: char = '\u{1f}';
/// Separates a service's fields in that list (ASCII record separator).
const SERVICE_FIELD: char = '\u{1e}';

/// The appointment row with its patient, doctor, doctor's zone, clinic and services, in one
/// statement (plain reads, no locks).
fn read_row(ctx: &Context, id: u64) -> Result<Option<Row>> {
    let mut c = ctx.store.conn()?;
    let row: Option<mysql::Row> = c.exec_first(row_sql(ctx), (id,))?;
    Ok(row.map(|r| row_from(&r, 0)))
}

/// [`read_row`]'s statement: one `?`, the appointment id.
pub(crate) fn row_sql(ctx: &Context) -> String {
    rows_where(ctx, "a.id = ?")
}

/// The rows of the appointments `ids` by [`row_sql`]'s statement, as literal SQL (for a batch
/// of statements sent at once); [`row_from`] reads them, and `id` names each.
pub(crate) fn rows_sql(ctx: &Context, ids: &[u64]) -> String {
    let list: Vec<String> = ids.iter().map(u64::to_string).collect();
    rows_where(ctx, &format!("a.id IN ({})", list.join(", ")))
}

fn rows_where(ctx: &Context, condition: &str) -> String {
    let p = &ctx.config.table_prefix;
    let b = &ctx.config.base_prefix;
    // SELECT a.* so both table shapes work: 4.2+ has the UTC columns, older sites do not. What
    // joins to it comes after, under names no KiviCare column has. The patient and the doctor
    // are joined once each. The last column lists the appointment's services with this
    // doctor's and clinic's mapping.
    format!(
            "SELECT a.*,
               pu.display_name AS kcm_patient_name, pu.user_email AS kcm_patient_email,
               du.display_name AS kcm_doctor_name, du.user_email AS kcm_doctor_email,
               (SELECT meta_value FROM `{b}usermeta` WHERE user_id = a.doctor_id AND meta_key = 'timezone' ORDER BY umeta_id LIMIT 1) AS kcm_doctor_tz,
               cl.name AS kcm_clinic_name, cl.address AS kcm_clinic_address, cl.city AS kcm_clinic_city,
               cl.postal_code AS kcm_clinic_postal, cl.country AS kcm_clinic_country,
               (SELECT GROUP_CONCAT(CONCAT_WS('{SERVICE_FIELD}', COALESCE(sdm.telemed_service, ''), COALESCE(sdm.service_name_alias, ''), COALESCE(s.name, ''))
                         ORDER BY asm.id SEPARATOR '{SERVICE_SEPARATOR}')
                FROM `{p}kc_appointment_service_mapping` asm
                LEFT JOIN `{p}kc_services` s ON s.id = asm.service_id
                LEFT JOIN `{p}kc_service_doctor_mapping` sdm ON sdm.service_id = asm.service_id AND sdm.doctor_id = a.doctor_id
                     AND (sdm.clinic_id = a.clinic_id OR COALESCE(a.clinic_id, 0) = 0)
                WHERE asm.appointment_id = a.id) AS kcm_services
             FROM `{p}kc_appointments` a
             LEFT JOIN `{p}kc_clinics` cl ON cl.id = a.clinic_id AND a.clinic_id > 0
             LEFT JOIN `{b}users` pu ON pu.ID = a.patient_id
             LEFT JOIN `{b}users` du ON du.ID = a.doctor_id
             WHERE {condition}"
    )
}

/// The appointment's part of the event core's load ([`crate::store::Store::load_with_appointment`]):
/// its columns and its joins, which read the appointment `?` as the table `a`. No subquery: the
/// server plans every subquery anew on each execution, and this statement is the whole of a call
/// with nothing to do. The doctor's time zone and the services are joined, so the appointment
/// comes as several rows (one per service and time-zone meta row), which [`row_from_rows`]
/// reads back as [`row_sql`]'s one.
pub(crate) fn load_parts(ctx: &Context) -> (String, String) {
    let p = &ctx.config.table_prefix;
    let b = &ctx.config.base_prefix;
    (
        "a.*, pu.display_name AS kcm_patient_name, pu.user_email AS kcm_patient_email,
         du.display_name AS kcm_doctor_name, du.user_email AS kcm_doctor_email,
         tzm.umeta_id AS kcm_doctor_tz_id, tzm.meta_value AS kcm_doctor_tz,
         cl.name AS kcm_clinic_name, cl.address AS kcm_clinic_address, cl.city AS kcm_clinic_city,
         cl.postal_code AS kcm_clinic_postal, cl.country AS kcm_clinic_country,
         asm.id AS kcm_service_map, sdm.id AS kcm_service_doctor_map, sdm.telemed_service AS kcm_service_telemed,
         sdm.service_name_alias AS kcm_service_alias, s.name AS kcm_service_name"
            .to_string(),
        format!(
            "LEFT JOIN `{p}kc_appointments` a ON a.id = ?
             LEFT JOIN `{p}kc_clinics` cl ON cl.id = a.clinic_id AND a.clinic_id > 0
             LEFT JOIN `{b}users` pu ON pu.ID = a.patient_id
             LEFT JOIN `{b}users` du ON du.ID = a.doctor_id
             LEFT JOIN `{b}usermeta` tzm ON tzm.user_id = a.doctor_id AND tzm.meta_key = 'timezone'
             LEFT JOIN `{p}kc_appointment_service_mapping` asm ON asm.appointment_id = a.id
             LEFT JOIN `{p}kc_services` s ON s.id = asm.service_id
             LEFT JOIN `{p}kc_service_doctor_mapping` sdm ON sdm.service_id = asm.service_id AND sdm.doctor_id = a.doctor_id
                  AND (sdm.clinic_id = a.clinic_id OR COALESCE(a.clinic_id, 0) = 0)"
        ),
    )
}

/// The columns of [`row_sql`] and [`load_parts`] that [`row_from`] and [`row_from_rows`] read.
const ROW_COLUMNS: [&str; 29] = [
    "doctor_id", "patient_id", "clinic_id", "status", "appointment_start_date", "appointment_start_time",
    "appointment_end_date", "appointment_end_time", "appointment_start_utc", "appointment_end_utc", "appointment_timezone",
    "description", "kcm_patient_name", "kcm_patient_email", "kcm_doctor_name", "kcm_doctor_email", "kcm_doctor_tz",
    "kcm_clinic_name", "kcm_clinic_address", "kcm_clinic_city", "kcm_clinic_postal", "kcm_clinic_country", "kcm_services",
    "kcm_doctor_tz_id", "kcm_service_map", "kcm_service_doctor_map", "kcm_service_telemed", "kcm_service_alias", "kcm_service_name",
];

/// A service of the appointment: (name, alias, telemed flag) as KiviCare has them.
type ServiceCells = (Option<String>, Option<String>, Option<String>);

/// Where each of [`ROW_COLUMNS`] is in `row` (from column `from` on), found in one pass
/// comparing names as bytes: `a.*` varies with KiviCare's version, and this runs on every call
/// (even one with nothing to do).
fn column_positions(row: &mysql::Row, from: usize) -> [Option<usize>; ROW_COLUMNS.len()] {
    let mut at = [None::<usize>; ROW_COLUMNS.len()];
    for (i, c) in row.columns_ref().iter().enumerate().skip(from) {
        if let Some(k) = ROW_COLUMNS.iter().position(|n| n.as_bytes() == c.name_ref()) {
            at[k].get_or_insert(i);
        }
    }
    at
}

/// The column `name` of `row` as text, by [`column_positions`].
fn cell(row: &mysql::Row, at: &[Option<usize>; ROW_COLUMNS.len()], name: &str) -> Option<String> {
    let k = ROW_COLUMNS.iter().position(|n| *n == name);
    debug_assert!(k.is_some(), "{name} is not in ROW_COLUMNS");
    at[k?].and_then(|i| row.as_ref(i)).and_then(value_text)
}

/// The appointment's [`Row`] from the columns of [`row_sql`], which start at column `from` of `row`.
pub(crate) fn row_from(row: &mysql::Row, from: usize) -> Row {
    let at = column_positions(row, from);
    // Each service as `telemed_service FIELD alias FIELD name`.
    let services: Vec<ServiceCells> = cell(row, &at, "kcm_services")
        .map(|list| {
            list.split(SERVICE_SEPARATOR)
                .map(|s| {
                    let mut f = s.split(SERVICE_FIELD).map(|v| Some(v.to_string()).filter(|v| !v.is_empty()));
                    let telemed = f.next().flatten();
                    let alias = f.next().flatten();
                    let name = f.next().flatten();
                    (name, alias, telemed)
                })
                .collect()
        })
        .unwrap_or_default();
    let doctor_tz = cell(row, &at, "kcm_doctor_tz");
    row_with(row, &at, doctor_tz, services)
}

/// The appointment's [`Row`] from the rows of [`load_parts`] (its columns start at column `from`
/// of each): the appointment's own columns are the same in every row; the doctor's time zone is
/// the first `timezone` meta row (by `umeta_id`, as `get_user_meta` reads it) and the services
/// come in the order of their mapping rows, as [`row_sql`] reads them.
pub(crate) fn row_from_rows(rows: &[mysql::Row], from: usize) -> Row {
    let Some(first) = rows.first() else { return Row::default() };
    let at = column_positions(first, from);
    let id = |r: &mysql::Row, name: &str| cell(r, &at, name).and_then(|v| v.parse::<u64>().ok());
    let mut doctor_tz: Option<(u64, Option<String>)> = None;
    let mut services = std::collections::BTreeMap::<(u64, u64), ServiceCells>::new();
    for r in rows {
        if let Some(tz_id) = id(r, "kcm_doctor_tz_id") {
            if doctor_tz.as_ref().is_none_or(|(seen, _)| tz_id < *seen) {
                doctor_tz = Some((tz_id, cell(r, &at, "kcm_doctor_tz")));
            }
        }
        if let Some(map_id) = id(r, "kcm_service_map") {
            let text = |name: &str| cell(r, &at, name).filter(|v| !v.is_empty());
            services
                .entry((map_id, id(r, "kcm_service_doctor_map").unwrap_or(0)))
                .or_insert_with(|| (text("kcm_service_name"), text("kcm_service_alias"), text("kcm_service_telemed")));
        }
    }
    row_with(first, &at, doctor_tz.and_then(|(_, tz)| tz), services.into_values().collect())
}

/// [`Row`] from `row`'s own columns (at `at`), the doctor's time zone and the services.
fn row_with(row: &mysql::Row, at: &[Option<usize>; ROW_COLUMNS.len()], doctor_tz: Option<String>, services: Vec<ServiceCells>) -> Row {
    let raw = |name: &str| cell(row, at, name);
    let text = |name: &str| -> Option<String> { raw(name).filter(|s| !s.is_empty() && !s.starts_with("0000")) };
    let num = |name: &str| -> Option<u64> { text(name).and_then(|s| s.parse().ok()) };
    let mut r = Row {
        doctor_id: num("doctor_id").unwrap_or(0),
        patient_id: num("patient_id").filter(|n| *n > 0),
        clinic_id: num("clinic_id").filter(|n| *n > 0),
        status: text("status").and_then(|s| s.parse().ok()).unwrap_or(1),
        start_local: text("appointment_start_date").zip(text("appointment_start_time")).map(|(d, t)| format!("{d} {t}")),
        end_local: text("appointment_end_date").zip(text("appointment_end_time")).map(|(d, t)| format!("{d} {t}")),
        start_utc: text("appointment_start_utc"),
        end_utc: text("appointment_end_utc"),
        timezone: text("appointment_timezone"),
        description: text("description").unwrap_or_default(),
        ..Row::default()
    };
    if r.patient_id.is_some() {
        r.patient_name = raw("kcm_patient_name").unwrap_or_default();
        r.patient_email = raw("kcm_patient_email").unwrap_or_default();
    }
    r.doctor_name = raw("kcm_doctor_name").unwrap_or_default();
    r.doctor_email = raw("kcm_doctor_email").unwrap_or_default();
    r.doctor_tz = doctor_tz.filter(|s| !s.is_empty());
    if r.clinic_id.is_some() && raw("kcm_clinic_name").is_some() {
        r.clinic_name = raw("kcm_clinic_name").unwrap_or_default();
        r.clinic_address = ["kcm_clinic_address", "kcm_clinic_city", "kcm_clinic_postal", "kcm_clinic_country"]
            .into_iter()
            .filter_map(raw)
            .filter(|s| !s.trim().is_empty())
            .collect::<Vec<_>>()
            .join(", ");
    }
    // The rules of what a telemed service is and which name it shows are service_label() and
    // is_telemed_flag(), not SQL.
    r.telemed = services.iter().any(|(_, _, t)| is_telemed_flag(t.as_deref()));
    r.services = services
        .into_iter()
        .filter(|(_, _, t)| is_telemed_flag(t.as_deref()))
        .map(|(name, alias, _)| service_label(name.as_deref(), alias.as_deref()))
        .collect();
    r
}

/// A column value as text, whatever type the server sent it as (DATE, TIME, DATETIME, numbers,
/// strings), so one reader serves every table shape.
fn value_text(v: &mysql::Value) -> Option<String> {
    use mysql::Value as V;
    match v {
        V::NULL => None,
        V::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        V::Int(n) => Some(n.to_string()),
        V::UInt(n) => Some(n.to_string()),
        V::Float(f) => Some(f.to_string()),
        V::Double(f) => Some(f.to_string()),
        // A DATE column (and a DATETIME at midnight, which parse_dt reads back as midnight).
        V::Date(y, mo, d, 0, 0, 0, _) => Some(format!("{y:04}-{mo:02}-{d:02}")),
        V::Date(y, mo, d, h, mi, s, _) => Some(format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")),
        V::Time(neg, days, h, mi, s, _) => {
            let hours = u32::from(*h) + days * 24;
            Some(format!("{}{hours:02}:{mi:02}:{s:02}", if *neg { "-" } else { "" }))
        }
    }
}

/// Resolves an appointment from the plugin's data and the database. `None` when neither knows it.
pub fn resolve(ctx: &Context, id: u64, input: &Input) -> Result<Option<Appointment>> {
    resolve_row(ctx, id, input, read_row(ctx, id)?)
}

/// [`resolve`] with the appointment's row already read (`None`: KiviCare has no such row).
pub(crate) fn resolve_row(ctx: &Context, id: u64, input: &Input, row: Option<Row>) -> Result<Option<Appointment>> {
    if row.is_none() && input.is_empty() {
        return Ok(None);
    }
    let row = row.unwrap_or_default();
    let doctor_id = input.doctor_id.unwrap_or(row.doctor_id);
    if doctor_id == 0 {
        return Err(Error::invalid_argument(format!("appointment {id} has no doctor")));
    }
    let db_times = StoredTimes {
        start_local: row.start_local.clone(),
        end_local: row.end_local.clone(),
        start_utc: row.start_utc.clone(),
        end_utc: row.end_utc.clone(),
        timezone: row.timezone.clone(),
    };
    let stored: Vec<StoredTimes> = input.stored_times().into_iter().chain([db_times]).collect();
    let doctor_tz = input.doctor_timezone.as_deref().filter(|z| !z.trim().is_empty()).or(row.doctor_tz.as_deref());
    let Some((start, end, zone)) = decide_times(input, &stored, doctor_tz, ctx.config.timezone)? else {
        return Err(Error::invalid_argument(format!("appointment {id} has no start and end time")));
    };
    if end <= start {
        return Err(Error::invalid_argument(format!("appointment {id} ends before it starts")));
    }
    let local = start.with_timezone(&match zone {
        SiteTz::Named(tz) => tz.offset_from_utc_datetime(&start.naive_utc()).fix(),
        SiteTz::Offset(o) => o,
    });
    // Services: the telemed ones of the rows the plugin read, else its list, else ours.
    let handed_rows = input.service_rows.as_ref().map(|rows| {
        let text = |r: &serde_json::Map<String, Value>, k: &str| r.get(k).and_then(json_text);
        let telemed: Vec<String> = rows
            .iter()
            .filter(|r| is_telemed_flag(text(r, "telemed_service").as_deref()))
            .map(|r| service_label(text(r, "name").as_deref(), text(r, "service_name_alias").as_deref()))
            .filter(|n| !n.is_empty())
            .fold(Vec::new(), |mut v, n| {
                if !v.contains(&n) {
                    v.push(n);
                }
                v
            });
        telemed
    });
    let handed_telemed = handed_rows.as_ref().is_some_and(|names| !names.is_empty());
    let services = handed_rows.filter(|n| !n.is_empty()).or(input.services.clone().filter(|s| !s.is_empty())).unwrap_or(row.services);
    let format_or = |given: &Option<String>, format: &Option<String>, default: &str| {
        given.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| match format.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
            Some(f) => php_date(&local, f),
            None => local.format(default).to_string(),
        })
    };
    let appointment_date = format_or(&input.appointment_date, &input.date_format, "%Y-%m-%d");
    let appointment_time = format_or(&input.appointment_time, &input.time_format, "%H:%M");
    let pick = |a: &Option<String>, b: String| a.clone().filter(|s| !s.is_empty()).unwrap_or(b);
    Ok(Some(Appointment {
        id,
        doctor_id,
        patient_id: input.patient_id.or(row.patient_id),
        clinic_id: input.clinic_id.or(row.clinic_id),
        status: input.status.unwrap_or(row.status),
        start,
        end,
        zone,
        telemed: input.telemed.unwrap_or(false) || handed_telemed || row.telemed,
        services,
        patient_name: pick(&input.patient_name, row.patient_name),
        patient_email: pick(&input.patient_email, row.patient_email),
        doctor_name: pick(&input.doctor_name, row.doctor_name),
        doctor_email: pick(&input.doctor_email, row.doctor_email),
        clinic_name: pick(&input.clinic_name, row.clinic_name),
        clinic_address: pick(&input.clinic_address, row.clinic_address),
        description: pick(&input.description, row.description),
        appointment_date,
        appointment_time,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    fn ny() -> SiteTz {
        SiteTz::Named(chrono_tz::America::New_York)
    }

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn ordinary_local_times_convert_with_the_season_offset() {
        assert_eq!(local_to_utc(at("2026-01-15 10:00:00"), ny()).to_rfc3339(), "2026-01-15T15:00:00+00:00");
        assert_eq!(local_to_utc(at("2026-07-15 10:00:00"), ny()).to_rfc3339(), "2026-07-15T14:00:00+00:00");
    }

    #[test]
    fn a_time_in_the_spring_gap_moves_forward_like_php() {
        // 2026-03-08 02:30 does not exist in New York: PHP reads it as 03:30 EDT.
        let t = local_to_utc(at("2026-03-08 02:30:00"), ny());
        assert_eq!(rfc3339_in(t, ny()), "2026-03-08T03:30:00-04:00");
    }

    #[test]
    fn a_time_in_the_autumn_overlap_takes_the_first_occurrence() {
        let t = local_to_utc(at("2026-11-01 01:30:00"), ny());
        assert_eq!(rfc3339_in(t, ny()), "2026-11-01T01:30:00-04:00");
    }

    #[test]
    fn offset_only_sites_convert_by_the_offset() {
        let ist = SiteTz::Offset(FixedOffset::east_opt(19800).unwrap());
        let t = local_to_utc(at("2026-05-01 09:00:00"), ist);
        assert_eq!(t.to_rfc3339(), "2026-05-01T03:30:00+00:00");
        assert_eq!(rfc3339_in(t, ist), "2026-05-01T09:00:00+05:30");
        assert_eq!(iana_name(ist), None);
        assert_eq!(iana_name(ny()).as_deref(), Some("America/New_York"));
    }

    #[test]
    fn input_accepts_php_shapes_and_refuses_unknown_keys() {
        let i = Input::from_value(&serde_json::json!({"doctor_id": "2", "status": 1, "telemed": 1, "start": "2026-01-01 10:00:00", "patient_email": null})).unwrap();
        assert_eq!((i.doctor_id, i.telemed), (Some(2), Some(true)));
        assert!(Input::from_value(&serde_json::json!({"colour": "red"})).is_err());
        assert!(Input::from_value(&serde_json::json!([])).unwrap().is_empty());
    }

    #[test]
    fn input_refuses_a_time_or_timezone_it_cannot_read_and_keeps_the_ones_kivicare_sends() {
        use serde_json::json;
        for z in ["Europe/Paris'; DROP TABLE wp_users; --", "Mars/Olympus", "+25:00"] {
            let e = Input::from_value(&serde_json::json!({"timezone": z})).unwrap_err();
            assert_eq!(e.code, crate::error::Code::InvalidArgument, "{z}");
        }
        for t in [json!({"start": "x"}), json!({"end": "2031-13-01 10:00:00"}), json!({"start_utc": "tomorrow", "end_utc": "2031-05-06 10:00:00"})] {
            assert_eq!(Input::from_value(&t).unwrap_err().code, crate::error::Code::InvalidArgument, "{t}");
        }
        let i = Input::from_value(&json!({"start": "2031-05-06 10:00:00", "end": null})).unwrap();
        assert_eq!((i.start.as_deref(), i.end), (Some("2031-05-06 10:00:00"), None));
        for z in ["", "UTC", "Europe/Berlin", "+05:30", "UTC-3"] {
            assert_eq!(Input::from_value(&serde_json::json!({"timezone": z})).unwrap().timezone.as_deref(), Some(z));
        }
    }

    fn berlin() -> SiteTz {
        SiteTz::Named(chrono_tz::Europe::Berlin)
    }

    fn input(v: serde_json::Value) -> Input {
        Input::from_value(&v).unwrap()
    }

    fn decide(i: &Input, doctor_tz: Option<&str>) -> (String, String, Option<String>) {
        let stored: Vec<StoredTimes> = i.stored_times().into_iter().collect();
        let (s, e, z) = decide_times(i, &stored, doctor_tz, SiteTz::Named(chrono_tz::UTC)).unwrap().unwrap();
        (rfc3339_in(s, z), rfc3339_in(e, z), iana_name(z))
    }

    #[test]
    fn a_row_with_utc_times_uses_them_in_its_own_zone() {
        let i = input(serde_json::json!({"row": {
            "appointment_start_date": "2031-07-01", "appointment_start_time": "10:00:00",
            "appointment_end_date": "2031-07-01", "appointment_end_time": "10:30:00",
            "appointment_start_utc": "2031-07-01 08:00:00", "appointment_end_utc": "2031-07-01 08:30:00",
            "appointment_timezone": "Europe/Berlin", "visit_type": "x"}}));
        let expected_offset = rfc3339_in(local_to_utc(at("2031-07-01 10:00:00"), berlin()), berlin())[19..].to_string();
        let (s, e, z) = decide(&i, Some("America/New_York"));
        assert_eq!(s, format!("2031-07-01T10:00:00{expected_offset}"));
        assert_eq!(e, format!("2031-07-01T10:30:00{expected_offset}"));
        assert_eq!(z.as_deref(), Some("Europe/Berlin"));
    }

    #[test]
    fn a_row_without_utc_times_ignores_the_utc_column_default_and_takes_the_doctors_zone() {
        let i = input(serde_json::json!({"row": {
            "appointment_start_date": "2031-01-15", "appointment_start_time": "10:00:00",
            "appointment_end_date": "2031-01-15", "appointment_end_time": "10:30:00",
            "appointment_start_utc": null, "appointment_end_utc": null, "appointment_timezone": "UTC"}}));
        let (s, _, z) = decide(&i, Some("America/New_York"));
        assert_eq!(s, "2031-01-15T10:00:00-05:00");
        assert_eq!(z.as_deref(), Some("America/New_York"));
        // Without the doctor's zone: the site's.
        assert_eq!(decide(&i, None).0, "2031-01-15T10:00:00+00:00");
    }

    #[test]
    fn a_row_with_utc_times_and_the_utc_zone_is_in_utc_whatever_the_doctor_says() {
        let i = input(serde_json::json!({"row": {
            "appointment_start_utc": "2031-01-15 10:00:00", "appointment_end_utc": "2031-01-15 10:30:00", "appointment_timezone": "UTC"}}));
        assert_eq!(decide(&i, Some("America/New_York")).0, "2031-01-15T10:00:00+00:00");
    }

    #[test]
    fn a_missing_utc_end_keeps_the_local_length() {
        let i = input(serde_json::json!({"row": {
            "appointment_start_date": "2031-01-15", "appointment_start_time": "10:00:00",
            "appointment_end_date": "", "appointment_end_time": "10:45:00",
            "appointment_start_utc": "2031-01-15 09:00:00", "appointment_end_utc": null, "appointment_timezone": "Europe/Berlin"}}));
        let (s, e, _) = decide(&i, None);
        assert_eq!((&s[..19], &e[..19]), ("2031-01-15T10:00:00", "2031-01-15T10:45:00"));
    }

    #[test]
    fn local_row_times_in_a_dst_gap_move_forward() {
        let i = input(serde_json::json!({"row": {
            "appointment_start_date": "2026-03-08", "appointment_start_time": "02:30:00",
            "appointment_end_date": "2026-03-08", "appointment_end_time": "03:30:00"}}));
        assert_eq!(decide(&i, Some("America/New_York")).0, "2026-03-08T03:30:00-04:00");
    }

    #[test]
    fn core_start_with_a_duration_or_an_offset_is_read_here() {
        let i = input(serde_json::json!({"start": "2031-01-15 10:00:00", "duration": "45", "timezone": "America/New_York"}));
        let (s, e, _) = decide(&i, None);
        assert_eq!((s.as_str(), e.as_str()), ("2031-01-15T10:00:00-05:00", "2031-01-15T10:45:00-05:00"));
        let i = input(serde_json::json!({"start": "2031-01-15T10:00:00+01:00", "end": "2031-01-15T11:00:00+01:00", "timezone": "America/New_York"}));
        assert_eq!(decide(&i, None).0, "2031-01-15T04:00:00-05:00");
        // The caller's explicit times win over the row it passed.
        let i = input(serde_json::json!({"start": "2031-01-15 12:00:00", "end": "2031-01-15 13:00:00",
            "row": {"appointment_start_utc": "2031-01-15 08:00:00", "appointment_end_utc": "2031-01-15 09:00:00"}}));
        assert_eq!(decide(&i, None).0, "2031-01-15T12:00:00+00:00");
        assert_eq!(Input::from_value(&serde_json::json!({"duration": 0})).unwrap_err().code, crate::error::Code::InvalidArgument);
    }

    #[test]
    fn service_rows_that_are_not_rows_are_ignored() {
        let i = input(serde_json::json!({"service_rows": [[], {"name": "Video visit", "service_name_alias": null, "telemed_service": "yes"}]}));
        assert_eq!(i.service_rows.map(|r| r.len()), Some(1));
    }

    #[test]
    fn a_service_goes_by_its_alias_when_the_doctor_set_one() {
        assert_eq!(service_label(Some("Video visit"), Some(" Online consultation ")), "Online consultation");
        assert_eq!(service_label(Some("Video visit"), Some("")), "Video visit");
        assert_eq!(service_label(Some("Video visit"), None), "Video visit");
        assert!(is_telemed_flag(Some("yes")) && !is_telemed_flag(Some("no")) && !is_telemed_flag(None));
    }

    #[test]
    fn php_date_formats_like_wordpress_in_english() {
        let t = DateTime::parse_from_rfc3339("2031-01-03T14:05:09+01:00").unwrap();
        assert_eq!(php_date(&t, "F j, Y"), "January 3, 2031");
        assert_eq!(php_date(&t, "g:i a"), "2:05 pm");
        assert_eq!(php_date(&t, "d/m/Y H:i"), "03/01/2031 14:05");
        assert_eq!(php_date(&t, "jS \\o\\f M"), "3rd of Jan");
    }
}
