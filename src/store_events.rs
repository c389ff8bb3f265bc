//! The tables behind appointment events: ours (`kc_meet_events`, `kc_meet_jobs`) and
//! KiviCare's mapping table, which core reads for lists, e-mails and the join button.
//!
//! Owns their SQL. One mapping row per appointment is ours to guarantee (no version of the
//! table has a unique key): every write replaces the appointment's rows in one transaction,
//! under the appointment's lock taken by [`crate::events`]. The mapping table comes in two
//! shapes (1.x without `created_at`); writes use only the columns the site's table has.

use mysql::prelude::Queryable;
use mysql::{TxOpts, params};
use serde::Serialize;

use crate::error::Result;
use crate::store::Store;

/// Our record of an appointment's Google event.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EventRow {
    pub appointment_id: u64,
    pub doctor_id: u64,
    pub calendar_id: String,
    pub event_id: String,
    pub generation: u32,
    /// `active` or `deleted`.
    pub state: String,
    pub meet_url: String,
    pub event_url: String,
    pub conference_status: String,
    pub etag: String,
    pub sequence: i64,
    pub google_updated: String,
    pub start_utc: String,
    pub end_utc: String,
    pub summary: String,
    pub updated_at: String,
}

/// A background job: the desired state of one appointment's event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub id: u64,
    pub appointment_id: u64,
    pub doctor_id: Option<u64>,
    /// `ensure` (the event exists and matches the appointment) or `remove`.
    pub action: String,
    /// `queued` or `failed` (permanent error: waits for an admin's retry).
    pub state: String,
    pub attempts: u32,
    pub next_run_at: String,
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// The mapping row core reads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mapping {
    pub appointment_id: u64,
    pub event_id: String,
    pub url: String,
    pub event_url: String,
    pub password: String,
    pub created_at: Option<String>,
}

/// One audit entry.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub time: String,
    pub action: String,
    pub outcome: String,
    pub detail: Option<String>,
}

const ISO: &str = "'%Y-%m-%dT%H:%i:%sZ'";

impl Store {
    pub fn get_event<Q: Queryable>(&self, q: &mut Q, appointment_id: u64) -> Result<Option<EventRow>> {
        let row: Option<mysql::Row> = q.exec_first(
            format!(
                "SELECT appointment_id, doctor_id, calendar_id, event_id, generation, state, meet_url, COALESCE(event_url, ''),
                 conference_status, etag, sequence, google_updated, DATE_FORMAT(start_utc, '%Y-%m-%d %H:%i:%s'),
                 DATE_FORMAT(end_utc, '%Y-%m-%d %H:%i:%s'), summary, DATE_FORMAT(updated_at, {ISO})
                 FROM `{}` WHERE appointment_id = ?",
                self.t.events
            ),
            (appointment_id,),
        )?;
        Ok(row.map(|r| EventRow {
            appointment_id: r.get(0).unwrap_or_default(),
            doctor_id: r.get(1).unwrap_or_default(),
            calendar_id: r.get(2).unwrap_or_default(),
            event_id: r.get(3).unwrap_or_default(),
            generation: r.get(4).unwrap_or_default(),
            state: r.get(5).unwrap_or_default(),
            meet_url: r.get(6).unwrap_or_default(),
            event_url: r.get(7).unwrap_or_default(),
            conference_status: r.get(8).unwrap_or_default(),
            etag: r.get(9).unwrap_or_default(),
            sequence: r.get(10).unwrap_or_default(),
            google_updated: r.get(11).unwrap_or_default(),
            start_utc: r.get(12).unwrap_or_default(),
            end_utc: r.get(13).unwrap_or_default(),
            summary: r.get(14).unwrap_or_default(),
            updated_at: r.get(15).unwrap_or_default(),
        }))
    }

    /// Records the event and makes the mapping table hold exactly one row for the appointment,
    /// in one transaction.
    pub fn save_event(&self, e: &EventRow, local_now: &str) -> Result<()> {
        let mut c = self.conn()?;
        let mut tx = c.start_transaction(TxOpts::default())?;
        tx.exec_drop(
            format!(
                "INSERT INTO `{}` (appointment_id, doctor_id, calendar_id, event_id, generation, state, meet_url, event_url,
                   conference_status, etag, sequence, google_updated, start_utc, end_utc, summary, created_at, updated_at)
                 VALUES (:a, :d, :c, :e, :g, 'active', :m, :u, :cs, :et, :sq, :gu, :s, :en, :su, UTC_TIMESTAMP(), UTC_TIMESTAMP())
                 ON DUPLICATE KEY UPDATE doctor_id = :d, calendar_id = :c, event_id = :e, generation = :g, state = 'active',
                   meet_url = :m, event_url = :u, conference_status = :cs, etag = :et, sequence = :sq, google_updated = :gu,
                   start_utc = :s, end_utc = :en, summary = :su, flag = '', updated_at = UTC_TIMESTAMP()",
                self.t.events
            ),
            params! {
                "a" => e.appointment_id, "d" => e.doctor_id, "c" => &e.calendar_id, "e" => &e.event_id, "g" => e.generation,
                "m" => &e.meet_url, "u" => &e.event_url, "cs" => &e.conference_status, "et" => &e.etag, "sq" => e.sequence,
                "gu" => &e.google_updated, "s" => &e.start_utc, "en" => &e.end_utc, "su" => &e.summary,
            },
        )?;
        let ids: Vec<u64> = tx.exec(
            format!("SELECT id FROM `{}` WHERE appointment_id = ? ORDER BY id", self.t.mapping),
            (e.appointment_id,),
        )?;
        let has_created_at = self.mapping_has_created_at(&mut tx)?;
        match ids.split_first() {
            Some((first, rest)) => {
                tx.exec_drop(
                    format!("UPDATE `{}` SET event_id = ?, url = ?, event_url = ?, password = '' WHERE id = ?", self.t.mapping),
                    (&e.event_id, &e.meet_url, &e.event_url, first),
                )?;
                for id in rest {
                    tx.exec_drop(format!("DELETE FROM `{}` WHERE id = ?", self.t.mapping), (id,))?;
                }
            }
            None if has_created_at => tx.exec_drop(
                format!("INSERT INTO `{}` (appointment_id, event_id, url, password, event_url, created_at) VALUES (?, ?, ?, '', ?, ?)", self.t.mapping),
                (e.appointment_id, &e.event_id, &e.meet_url, &e.event_url, local_now),
            )?,
            None => tx.exec_drop(
                format!("INSERT INTO `{}` (appointment_id, event_id, url, password, event_url) VALUES (?, ?, ?, '', ?)", self.t.mapping),
                (e.appointment_id, &e.event_id, &e.meet_url, &e.event_url),
            )?,
        }
        // The event matches the appointment now: whatever was queued or failed for it is resolved.
        tx.exec_drop(format!("DELETE FROM `{}` WHERE appointment_id = ?", self.t.jobs), (e.appointment_id,))?;
        tx.commit()?;
        Ok(())
    }

    /// The event is gone at Google: mark ours deleted (its generation is kept, because Google
    /// reserves a deleted event's id) and remove the mapping rows and any queued job.
    pub fn forget_event(&self, appointment_id: u64) -> Result<()> {
        let mut c = self.conn()?;
        let mut tx = c.start_transaction(TxOpts::default())?;
        tx.exec_drop(
            format!("UPDATE `{}` SET state = 'deleted', meet_url = '', updated_at = UTC_TIMESTAMP() WHERE appointment_id = ?", self.t.events),
            (appointment_id,),
        )?;
        tx.exec_drop(format!("DELETE FROM `{}` WHERE appointment_id = ?", self.t.mapping), (appointment_id,))?;
        tx.exec_drop(format!("DELETE FROM `{}` WHERE appointment_id = ?", self.t.jobs), (appointment_id,))?;
        tx.commit()?;
        Ok(())
    }

    /// The mapping table's shape, read from the schema once per process and site (it is on the
    /// path of every event write). Not remembered while the table does not exist yet.
    fn mapping_has_created_at<Q: Queryable>(&self, q: &mut Q) -> Result<bool> {
        if let Some(known) = self.mapping_created_at.get() {
            return Ok(*known);
        }
        let columns: Vec<String> = q.exec(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
            (self.t.mapping.as_str(),),
        )?;
        let has = columns.iter().any(|c| c == "created_at");
        if !columns.is_empty() {
            let _ = self.mapping_created_at.set(has);
        }
        Ok(has)
    }

    /// The first mapping row of an appointment (what core's e-mails use).
    pub fn get_mapping(&self, appointment_id: u64) -> Result<Option<Mapping>> {
        let mut c = self.conn()?;
        let created = if self.mapping_has_created_at(&mut c)? { "DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s')" } else { "NULL" };
        let row: Option<(u64, Option<String>, Option<String>, Option<String>, Option<String>)> = c.exec_first(
            format!("SELECT appointment_id, event_id, url, event_url, {created} FROM `{}` WHERE appointment_id = ? ORDER BY id LIMIT 1", self.t.mapping),
            (appointment_id,),
        )?;
        Ok(row.map(|(appointment_id, event_id, url, event_url, created_at)| Mapping {
            appointment_id,
            event_id: event_id.unwrap_or_default(),
            url: url.unwrap_or_default(),
            event_url: event_url.unwrap_or_default(),
            password: String::new(),
            created_at,
        }))
    }

    /// Appointments with an active event, for reconciliation.
    pub fn active_events(&self, doctor_id: Option<u64>) -> Result<Vec<EventRow>> {
        let ids: Vec<u64> = {
            let mut c = self.conn()?;
            c.exec(
                format!("SELECT appointment_id FROM `{}` WHERE state = 'active' AND (? = 0 OR doctor_id = ?) ORDER BY appointment_id", self.t.events),
                (doctor_id.unwrap_or(0), doctor_id.unwrap_or(0)),
            )?
        };
        let mut c = self.conn()?;
        let mut out = vec![];
        for id in ids {
            if let Some(e) = self.get_event(&mut c, id)? {
                out.push(e);
            }
        }
        Ok(out)
    }

    // ----- jobs ---------------------------------------------------------------------------

    /// Queues (or re-aims) the appointment's job: one per appointment, so a later intent
    /// replaces an earlier one (create then cancel collapses into one removal).
    pub fn queue_job(&self, appointment_id: u64, doctor_id: Option<u64>, action: &str, delay_s: i64, error: Option<&str>) -> Result<()> {
        let mut c = self.conn()?;
        c.exec_drop(
            format!(
                "INSERT INTO `{}` (appointment_id, doctor_id, action, state, attempts, next_run_at, last_error, created_at, updated_at)
                 VALUES (:a, :d, :act, 'queued', 0, UTC_TIMESTAMP() + INTERVAL :delay SECOND, :err, UTC_TIMESTAMP(), UTC_TIMESTAMP())
                 ON DUPLICATE KEY UPDATE doctor_id = COALESCE(:d, doctor_id), attempts = IF(action = :act AND state = 'queued', attempts, 0),
                   action = :act, state = 'queued', next_run_at = UTC_TIMESTAMP() + INTERVAL :delay SECOND,
                   last_error = COALESCE(:err, last_error), updated_at = UTC_TIMESTAMP()",
                self.t.jobs
            ),
            params! { "a" => appointment_id, "d" => doctor_id, "act" => action, "delay" => delay_s, "err" => error },
        )?;
        Ok(())
    }

    /// After a failed run: try again later, or give up (`failed`) on a permanent error.
    pub fn job_failed(&self, appointment_id: u64, permanent: bool, delay_s: i64, error: &str) -> Result<()> {
        let mut c = self.conn()?;
        c.exec_drop(
            format!(
                "UPDATE `{}` SET attempts = attempts + 1, state = IF(:p, 'failed', 'queued'),
                 next_run_at = UTC_TIMESTAMP() + INTERVAL :delay SECOND, last_error = :err, updated_at = UTC_TIMESTAMP()
                 WHERE appointment_id = :a",
                self.t.jobs
            ),
            params! { "a" => appointment_id, "p" => permanent, "delay" => delay_s, "err" => crate::redact::text(error) },
        )?;
        Ok(())
    }

    /// Records a permanent failure for the admin, creating the job row if there was none.
    pub fn record_failed_job(&self, appointment_id: u64, doctor_id: Option<u64>, action: &str, error: &str) -> Result<()> {
        self.queue_job(appointment_id, doctor_id, action, 0, None)?;
        self.job_failed(appointment_id, true, 0, error)
    }

    pub fn delete_job(&self, appointment_id: u64) -> Result<()> {
        let mut c = self.conn()?;
        c.exec_drop(format!("DELETE FROM `{}` WHERE appointment_id = ?", self.t.jobs), (appointment_id,))?;
        Ok(())
    }

    fn job_select(&self) -> String {
        format!(
            "SELECT id, appointment_id, doctor_id, action, state, attempts, DATE_FORMAT(next_run_at, {ISO}), last_error,
             DATE_FORMAT(created_at, {ISO}), DATE_FORMAT(updated_at, {ISO}) FROM `{}`",
            self.t.jobs
        )
    }

    fn job_from(r: mysql::Row) -> Job {
        Job {
            id: r.get(0).unwrap_or_default(),
            appointment_id: r.get(1).unwrap_or_default(),
            doctor_id: r.get(2).unwrap_or_default(),
            action: r.get(3).unwrap_or_default(),
            state: r.get(4).unwrap_or_default(),
            attempts: r.get(5).unwrap_or_default(),
            next_run_at: r.get(6).unwrap_or_default(),
            last_error: r.get(7).unwrap_or_default(),
            created_at: r.get(8).unwrap_or_default(),
            updated_at: r.get(9).unwrap_or_default(),
        }
    }

    pub fn jobs(&self, state: Option<&str>, limit: u32) -> Result<Vec<Job>> {
        let mut c = self.conn()?;
        let rows: Vec<mysql::Row> = c.exec(
            format!("{} WHERE (? = '' OR state = ?) ORDER BY next_run_at, id LIMIT ?", self.job_select()),
            (state.unwrap_or(""), state.unwrap_or(""), limit),
        )?;
        Ok(rows.into_iter().map(Self::job_from).collect())
    }

    pub fn job_by_appointment(&self, appointment_id: u64) -> Result<Option<Job>> {
        let mut c = self.conn()?;
        let row: Option<mysql::Row> = c.exec_first(format!("{} WHERE appointment_id = ?", self.job_select()), (appointment_id,))?;
        Ok(row.map(Self::job_from))
    }

    pub fn job_by_id(&self, id: u64) -> Result<Option<Job>> {
        let mut c = self.conn()?;
        let row: Option<mysql::Row> = c.exec_first(format!("{} WHERE id = ?", self.job_select()), (id,))?;
        Ok(row.map(Self::job_from))
    }

    /// Due jobs, oldest first.
    pub fn due_jobs(&self, limit: u32) -> Result<Vec<Job>> {
        let mut c = self.conn()?;
        let rows: Vec<mysql::Row> = c.exec(
            format!("{} WHERE state = 'queued' AND next_run_at <= UTC_TIMESTAMP() ORDER BY next_run_at, id LIMIT ?", self.job_select()),
            (limit,),
        )?;
        Ok(rows.into_iter().map(Self::job_from).collect())
    }

    pub fn count_due_jobs(&self) -> Result<u64> {
        let mut c = self.conn()?;
        Ok(c.query_first(format!("SELECT COUNT(*) FROM `{}` WHERE state = 'queued' AND next_run_at <= UTC_TIMESTAMP()", self.t.jobs))?.unwrap_or(0))
    }

    /// Makes a job due now (an admin's retry).
    pub fn retry_job(&self, id: u64) -> Result<bool> {
        let mut c = self.conn()?;
        c.exec_drop(
            format!("UPDATE `{}` SET state = 'queued', next_run_at = UTC_TIMESTAMP(), updated_at = UTC_TIMESTAMP() WHERE id = ?", self.t.jobs),
            (id,),
        )?;
        Ok(c.affected_rows() > 0)
    }

    // ----- content and history --------------------------------------------------------------

    /// The site's event template post (title, content), if it has one.
    pub fn event_template(&self) -> Result<Option<(String, String)>> {
        let mut c = self.conn()?;
        match c.exec_first::<(String, String), _, _>(
            format!(
                "SELECT post_title, post_content FROM `{}` WHERE post_type = 'kivicare_gmeet_tmp' AND post_status <> 'trash'
                 ORDER BY (post_name = 'kivicare_doctor_gm_event_template') DESC, ID LIMIT 1",
                self.t.posts
            ),
            (),
        ) {
            Ok(v) => Ok(v),
            // A site without the posts table (tests of the bare extension) has no template.
            Err(mysql::Error::MySqlError(e)) if e.code == 1146 => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub fn audit_for(&self, appointment_id: u64, limit: u32) -> Result<Vec<AuditEntry>> {
        let mut c = self.conn()?;
        let rows: Vec<(String, String, String, Option<String>)> = c.exec(
            format!(
                "SELECT DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%s.%fZ'), action, outcome, detail FROM `{}`
                 WHERE appointment_id = ? ORDER BY id DESC LIMIT ?",
                self.t.audit
            ),
            (appointment_id, limit),
        )?;
        Ok(rows.into_iter().map(|(time, action, outcome, detail)| AuditEntry { time, action, outcome, detail }).collect())
    }

    /// Ids of appointments that exist, among `ids` (plain read; no locks on core's table).
    pub fn existing_appointments(&self, ids: &[u64]) -> Result<Vec<(u64, i64)>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let mut c = self.conn()?;
        let list = ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
        Ok(c.query(format!("SELECT id, status FROM `{}kc_appointments` WHERE id IN ({list})", self.t.prefix()))?)
    }
}
