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
                for (k, v) in m.clone() {
                    if v.is_null() {
                        m.remove(&k);
                    }
                }
                let input: Input = serde_json::from_value(Value::Object(m))
                    .map_err(|e| Error::invalid_argument(format!("bad appointment data: {e}")))?;
                // A time or zone that cannot be read would leave the event at another hour:
                // refuse it rather than fall back to the stored time or the doctor's zone. A
                // start without its end is fine (the stored times are used), but not a bad one.
                for (what, t) in [("start_utc", &input.start_utc), ("end_utc", &input.end_utc), ("start", &input.start), ("end", &input.end)] {
                    if let Some(t) = t {
                        parse_dt(what, t)?;
                    }
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
        self.doctor_id.is_none() && self.start_utc.is_none() && self.start.is_none()
    }
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
struct Row {
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

/// The appointment row with its patient, doctor, doctor's zone, clinic and services, in one
/// statement (plain reads, no locks).
fn read_row(ctx: &Context, id: u64) -> Result<Option<Row>> {
    let p = &ctx.config.table_prefix;
    let b = &ctx.config.base_prefix;
    let mut c = ctx.store.conn()?;
    // SELECT a.* so both table shapes work: 4.2+ has the UTC columns, older sites do not. What
    // joins to it comes after, under names no KiviCare column has.
    let row: Option<mysql::Row> = c.exec_first(
        format!(
            "SELECT a.*,
               (SELECT display_name FROM `{b}users` WHERE ID = a.patient_id) AS kcm_patient_name,
               (SELECT user_email FROM `{b}users` WHERE ID = a.patient_id) AS kcm_patient_email,
               (SELECT display_name FROM `{b}users` WHERE ID = a.doctor_id) AS kcm_doctor_name,
               (SELECT user_email FROM `{b}users` WHERE ID = a.doctor_id) AS kcm_doctor_email,
               (SELECT meta_value FROM `{b}usermeta` WHERE user_id = a.doctor_id AND meta_key = 'timezone' ORDER BY umeta_id LIMIT 1) AS kcm_doctor_tz,
               cl.name AS kcm_clinic_name, cl.address AS kcm_clinic_address, cl.city AS kcm_clinic_city,
               cl.postal_code AS kcm_clinic_postal, cl.country AS kcm_clinic_country,
               -- A video consultation: one of its services is mapped telemed for this doctor and clinic.
               (SELECT GROUP_CONCAT(CONCAT(COALESCE(sdm.telemed_service, 'no'), ':', COALESCE(NULLIF(sdm.service_name_alias, ''), s.name, ''))
                         ORDER BY asm.id SEPARATOR '{SERVICE_SEPARATOR}')
                FROM `{p}kc_appointment_service_mapping` asm
                LEFT JOIN `{p}kc_services` s ON s.id = asm.service_id
                LEFT JOIN `{p}kc_service_doctor_mapping` sdm ON sdm.service_id = asm.service_id AND sdm.doctor_id = a.doctor_id
                     AND (sdm.clinic_id = a.clinic_id OR COALESCE(a.clinic_id, 0) = 0)
                WHERE asm.appointment_id = a.id) AS kcm_services
             FROM `{p}kc_appointments` a
             LEFT JOIN `{p}kc_clinics` cl ON cl.id = a.clinic_id AND a.clinic_id > 0
             WHERE a.id = ?"
        ),
        (id,),
    )?;
    let Some(row) = row else { return Ok(None) };
    let raw = |name: &str| -> Option<String> {
        row.columns_ref().iter().position(|c| c.name_str() == name).and_then(|i| row.as_ref(i)).and_then(value_text)
    };
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
    r.doctor_tz = raw("kcm_doctor_tz").filter(|s| !s.is_empty());
    if r.clinic_id.is_some() && raw("kcm_clinic_name").is_some() {
        r.clinic_name = raw("kcm_clinic_name").unwrap_or_default();
        r.clinic_address = ["kcm_clinic_address", "kcm_clinic_city", "kcm_clinic_postal", "kcm_clinic_country"]
            .into_iter()
            .filter_map(raw)
            .filter(|s| !s.trim().is_empty())
            .collect::<Vec<_>>()
            .join(", ");
    }
    let services: Vec<(String, String)> = raw("kcm_services")
        .map(|list| {
            list.split(SERVICE_SEPARATOR)
                .map(|s| {
                    let (telemed, name) = s.split_once(':').unwrap_or((s, ""));
                    (name.to_string(), telemed.to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    r.telemed = services.iter().any(|(_, t)| t == "yes");
    r.services = services.into_iter().filter(|(_, t)| t == "yes").map(|(n, _)| n).collect();
    Ok(Some(r))
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
    let row = read_row(ctx, id)?;
    if row.is_none() && input.is_empty() {
        return Ok(None);
    }
    let row = row.unwrap_or_default();
    let doctor_id = input.doctor_id.unwrap_or(row.doctor_id);
    if doctor_id == 0 {
        return Err(Error::invalid_argument(format!("appointment {id} has no doctor")));
    }
    // 4.2+ rows carry their zone; its column default 'UTC' says nothing about older rows.
    let zone_name = input.timezone.clone().or(row.timezone.clone().filter(|z| !z.is_empty() && z != "UTC")).or(row.doctor_tz.clone());
    let zone = match zone_name {
        Some(z) => parse_timezone(&z).unwrap_or(ctx.config.timezone),
        None => ctx.config.timezone,
    };
    // UTC columns first, then local wall times in the zone.
    let (start, end) = if let (Some(s), Some(e)) = (input.start_utc.as_ref(), input.end_utc.as_ref()) {
        (parse_dt("start_utc", s)?.and_utc(), parse_dt("end_utc", e)?.and_utc())
    } else if let (Some(s), Some(e)) = (input.start.as_ref(), input.end.as_ref()) {
        (local_to_utc(parse_dt("start", s)?, zone), local_to_utc(parse_dt("end", e)?, zone))
    } else if let (Some(s), Some(e)) = (row.start_utc.as_ref(), row.end_utc.as_ref()) {
        (parse_dt("start_utc", s)?.and_utc(), parse_dt("end_utc", e)?.and_utc())
    } else if let (Some(s), Some(e)) = (row.start_local.as_ref(), row.end_local.as_ref()) {
        (local_to_utc(parse_dt("start", s)?, zone), local_to_utc(parse_dt("end", e)?, zone))
    } else {
        return Err(Error::invalid_argument(format!("appointment {id} has no start and end time")));
    };
    if end <= start {
        return Err(Error::invalid_argument(format!("appointment {id} ends before it starts")));
    }
    let local = start.with_timezone(&match zone {
        SiteTz::Named(tz) => tz.offset_from_utc_datetime(&start.naive_utc()).fix(),
        SiteTz::Offset(o) => o,
    });
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
        telemed: input.telemed.unwrap_or(false) || row.telemed,
        services: input.services.clone().filter(|s| !s.is_empty()).unwrap_or(row.services),
        patient_name: pick(&input.patient_name, row.patient_name),
        patient_email: pick(&input.patient_email, row.patient_email),
        doctor_name: pick(&input.doctor_name, row.doctor_name),
        doctor_email: pick(&input.doctor_email, row.doctor_email),
        clinic_name: pick(&input.clinic_name, row.clinic_name),
        clinic_address: pick(&input.clinic_address, row.clinic_address),
        description: pick(&input.description, row.description),
        appointment_date: pick(&input.appointment_date, local.format("%Y-%m-%d").to_string()),
        appointment_time: pick(&input.appointment_time, local.format("%H:%M").to_string()),
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
}
