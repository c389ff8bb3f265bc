//! The reconcile pass: finds what core never told us about and converges it. Events whose
//! appointment was deleted, rolled back or cancelled without a hook are removed; telemedicine
//! appointments of connected doctors without an event get one (or take over the vendor
//! add-on's event). Each fix goes through `events::converge` under the appointment's
//! lock.

use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use serde::Serialize;

use crate::appointments::Input;
use crate::error::{Error, Result};
use crate::events::{self, Reason, State};
use crate::runtime::Context;

/// `kc_meet_reconcile()` options (checked by [`crate::base::opts::parse`]).
#[derive(Debug, Default, serde::Deserialize)]
pub struct ReconcileOpts {
    #[serde(default)]
    pub dry_run: bool,
    pub doctor_id: Option<u64>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub create_missing: Option<bool>,
    pub remove_orphans: Option<bool>,
    pub limit: Option<u32>,
    pub budget_s: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct Orphan {
    pub appointment_id: u64,
    pub event_id: String,
    pub reason: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Missing {
    pub appointment_id: u64,
    pub doctor_id: u64,
    pub start_utc: String,
}

#[derive(Debug, Serialize)]
pub struct ItemError {
    pub appointment_id: u64,
    pub error: String,
}

/// An appointment whose event the vendor add-on made (its mapping row): taken over, never
/// made twice.
#[derive(Debug, Serialize)]
pub struct Adopted {
    pub appointment_id: u64,
    pub doctor_id: u64,
    pub event_id: String,
}

#[derive(Debug, Default, Serialize)]
pub struct ReconcileReport {
    pub orphans: Vec<Orphan>,
    pub missing: Vec<Missing>,
    pub adopted: Vec<Adopted>,
    pub fixed: u32,
    pub errors: Vec<ItemError>,
}

/// Finds (and unless `dry_run`, fixes) events without a live appointment and telemedicine
/// appointments of connected doctors without an event.
pub fn reconcile(ctx: &Context, opts: &serde_json::Value) -> Result<ReconcileReport> {
    let o: ReconcileOpts = crate::base::opts::parse(
        opts,
        "kc_meet_reconcile()",
        &["dry_run", "doctor_id", "from", "to", "create_missing", "remove_orphans", "limit", "budget_s"],
    )?;
    ctx.store.require_schema()?;
    let deadline = Instant::now() + Duration::from_secs_f64(o.budget_s.unwrap_or(60.0).clamp(0.0, 3600.0));
    let limit = o.limit.unwrap_or(500).clamp(1, 10_000) as usize;
    let mut report = ReconcileReport::default();

    if o.remove_orphans.unwrap_or(true) {
        let active = ctx.store.active_events(o.doctor_id)?;
        let ids: Vec<u64> = active.iter().map(|e| e.appointment_id).collect();
        let live: std::collections::HashMap<u64, i64> = ctx.store.existing_appointments(&ids)?.into_iter().collect();
        for e in active.iter().take(limit) {
            let reason = match live.get(&e.appointment_id) {
                None => "appointment_deleted",
                Some(0) => "cancelled",
                Some(_) => continue,
            };
            report.orphans.push(Orphan { appointment_id: e.appointment_id, event_id: e.event_id.clone(), reason });
        }
    }
    if o.create_missing.unwrap_or(true) {
        let p = ctx.store.t.prefix().to_string();
        let from = o.from.clone().unwrap_or_else(|| (chrono::Utc::now() - chrono::Duration::days(1)).format("%Y-%m-%d").to_string());
        let to = o.to.clone().unwrap_or_else(|| (chrono::Utc::now() + chrono::Duration::days(365)).format("%Y-%m-%d").to_string());
        for (what, d) in [("from", &from), ("to", &to)] {
            if chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err() {
                return Err(Error::invalid_argument(format!("{what} must be a date (Y-m-d)")));
            }
        }
        let connected: Vec<u64> = crate::grant::all_statuses(ctx)?
            .into_iter()
            .filter(|s| s.status == crate::grant::ConnectionState::Connected && o.doctor_id.is_none_or(|d| d == s.doctor_id))
            .map(|s| s.doctor_id)
            .collect();
        if !connected.is_empty() {
            let list = connected.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
            let mut c = ctx.store.conn()?;
            let rows: Vec<(u64, u64, String, Option<String>)> = c.exec(
                format!(
                    "SELECT a.id, a.doctor_id, CONCAT(a.appointment_start_date, ' ', a.appointment_start_time),
                       (SELECT m.event_id FROM `{}` m WHERE m.appointment_id = a.id AND m.event_id <> '' ORDER BY m.id LIMIT 1)
                     FROM `{p}kc_appointments` a
                     WHERE a.doctor_id IN ({list}) AND a.status IN (1, 3, 4)
                       AND a.appointment_start_date BETWEEN ? AND ?
                       AND {telemed}
                       AND NOT EXISTS (SELECT 1 FROM `{}` e WHERE e.appointment_id = a.id AND (e.state = 'active' OR e.flag <> ''))
                     ORDER BY a.appointment_start_date, a.appointment_start_time LIMIT {limit}",
                    ctx.store.t.mapping,
                    ctx.store.t.events,
                    telemed = crate::store::telemed_exists(&p),
                ),
                (&from, &to),
            )?;
            // The listing selects on local dates; report the start in UTC as the appointment
            // code resolves it (UTC columns, else the appointment's, doctor's or site's zone).
            for (appointment_id, doctor_id, local_start, vendor_event) in rows {
                // The vendor add-on's event exists already: take it over, never make a second.
                if let Some(event_id) = vendor_event {
                    report.adopted.push(Adopted { appointment_id, doctor_id, event_id });
                    continue;
                }
                let start_utc = match crate::appointments::resolve(ctx, appointment_id, &Input::default()) {
                    Ok(Some(a)) => a.start.format("%Y-%m-%d %H:%M:%S").to_string(),
                    _ => local_start,
                };
                report.missing.push(Missing { appointment_id, doctor_id, start_utc });
            }
        }
    }
    if o.dry_run {
        return Ok(report);
    }
    let orphan_ids: Vec<u64> = report.orphans.iter().map(|x| x.appointment_id).collect();
    let missing_ids: Vec<u64> =
        report.missing.iter().map(|x| x.appointment_id).chain(report.adopted.iter().map(|x| x.appointment_id)).collect();
    for id in orphan_ids.into_iter().chain(missing_ids) {
        if Instant::now() > deadline {
            break;
        }
        // Re-read under the appointment's lock: a re-booking since the listing keeps its event.
        match events::converge(ctx, id) {
            Ok(out) if out.reason == Some(Reason::Adopted) => report.fixed += 1,
            Ok(out) if matches!(out.state, State::Deleted | State::Created | State::Pending | State::Updated) => report.fixed += 1,
            Ok(_) => {}
            Err(e) => report.errors.push(ItemError { appointment_id: id, error: e.message }),
        }
    }
    let _ = ctx.store.audit(None, None, "reconcile", "ok", &format!("{} orphans, {} missing, {} adopted, {} fixed", report.orphans.len(), report.missing.len(), report.adopted.len(), report.fixed));
    Ok(report)
}
