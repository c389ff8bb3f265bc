//! The tables behind two-way sync: each doctor's sync position (columns of `kc_meet_doctors`),
//! the changes still to re-read (`kc_meet_meta`, one row per doctor) and the push channels
//! (`kc_meet_channels`), and the writes of changes made in Google (event rows, KiviCare
//! appointments' times, their audit entries: [`ChangeSet`]) under their appointments' locks
//! taken a page at a time ([`Store::lock_page`]). Owns their SQL and the stored form of a
//! position only.

use std::collections::HashMap;

use mysql::params;
use mysql::prelude::Queryable;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::store::{Batch, Conn, Store};
use crate::store::events::{DoctorState, EventState, JobState};

/// Where a doctor's sync stands.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncPosition {
    pub sync_token: Option<String>,
    /// The page a budget-interrupted listing resumes from.
    pub page_token: Option<String>,
    /// The `timeMin`/`timeMax` a full listing began with. Google accepts a page token only with
    /// the parameters of the listing's first page, so a listing resumed on another day must
    /// send these again, not a window recomputed from today.
    pub window: Option<(String, String)>,
}

/// The stored form of a full listing's page token with its window (`sync_page_token` column).
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredPage {
    page: String,
    time_min: String,
    time_max: String,
}

impl SyncPosition {
    /// Reads the columns. A page token stored before windows were kept (plain text) belongs
    /// to an incremental listing, or to a full one whose window is lost: that one starts over.
    fn from_columns(sync_token: Option<String>, page: Option<String>) -> SyncPosition {
        match page {
            Some(p) if p.starts_with('{') => match serde_json::from_str::<StoredPage>(&p) {
                Ok(sp) => SyncPosition { sync_token, page_token: Some(sp.page), window: Some((sp.time_min, sp.time_max)) },
                Err(_) => SyncPosition { sync_token, page_token: None, window: None },
            },
            Some(p) if sync_token.is_some() => SyncPosition { sync_token, page_token: Some(p), window: None },
            _ => SyncPosition { sync_token, page_token: None, window: None },
        }
    }

    fn page_column(&self) -> Option<String> {
        let page = self.page_token.clone()?;
        match (&self.sync_token, &self.window) {
            (None, Some((time_min, time_max))) => {
                Some(serde_json::to_string(&StoredPage { page, time_min: time_min.clone(), time_max: time_max.clone() }).expect("strings serialize"))
            }
            _ => Some(page),
        }
    }
}

/// A change that failed to apply: the event to re-read, and how often that failed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RetryItem {
    pub event_id: String,
    pub attempts: u32,
}

/// A push channel.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelRow {
    pub channel_id: String,
    pub doctor_id: u64,
    pub resource_id: String,
    #[serde(skip)]
    pub token_hash: String,
    /// Milliseconds since the epoch.
    pub expires_at: i64,
    pub state: ChannelState,
    pub last_message: i64,
}

/// A channel's life: `opening` (recorded before asking Google, whose first message can
/// overtake its answer), `active`, then `stopped` (by us, or by Google's `not_exists`) or
/// `failed` (Google refused to open it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelState {
    Opening,
    Active,
    Stopped,
    Failed,
}

impl ChannelState {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelState::Opening => "opening",
            ChannelState::Active => "active",
            ChannelState::Stopped => "stopped",
            ChannelState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> ChannelState {
        match s {
            "opening" => ChannelState::Opening,
            "active" => ChannelState::Active,
            "failed" => ChannelState::Failed,
            // Anything unknown is treated as closed: a channel we cannot name accepts nothing.
            _ => ChannelState::Stopped,
        }
    }
}

/// What a sync reads about a doctor before its first request: the position, the re-read list,
/// the calendar and the doctor's state with the token (one statement).
#[derive(Debug, Clone, Default)]
pub struct SyncStart {
    pub position: SyncPosition,
    pub retries: Vec<RetryItem>,
    /// The calendar the doctor connected (`primary` when none is recorded).
    pub calendar_id: String,
    /// What [`Store::doctor_state`] reads, for the call's copy of the doctor.
    pub doctor: DoctorState,
    /// The doctor's sync request as it stood (0: none), for [`Store::save_sync_position`].
    pub requested: i64,
}

/// What sync needs of an event row to decide, without a lock, that a listed event asks for
/// nothing: who it belongs to, its state and the etag of our last write.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncRow {
    pub appointment_id: u64,
    pub event_id: String,
    pub doctor_id: u64,
    pub state: EventState,
    pub etag: String,
}

/// An appointment's event row as sync reads it under the appointment's lock, with the state
/// of the appointment's job ([`Store::lock_page`], [`Store::read_locked`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LockedEvent {
    pub event_id: String,
    pub doctor_id: u64,
    pub state: EventState,
    pub etag: String,
    pub meet_url: String,
    /// `Y-m-d H:M:S`, UTC.
    pub start_utc: String,
    pub end_utc: String,
    /// The state of the appointment's job, if it has one.
    pub job_state: Option<JobState>,
    /// What changed in Google waiting for review (`deleted_in_google`, `moved_in_google`), or
    /// empty.
    pub flag: String,
}

/// Ids per statement when a page's rows are read: a fixed count (the last id repeated), so every
/// chunk runs the same prepared statement.
const ROWS_CHUNK: usize = 250;

impl Store {
    pub fn sync_position(&self, doctor_id: u64) -> Result<SyncPosition> {
        let mut c = self.conn()?;
        let row: Option<(Option<String>, Option<String>)> =
            c.exec_first(format!("SELECT sync_token, sync_page_token FROM `{}` WHERE doctor_id = ?", self.t.doctors), (doctor_id,))?;
        Ok(row.map(|(sync_token, page)| SyncPosition::from_columns(sync_token, page)).unwrap_or_default())
    }

    /// Stores progress: a page token mid-listing, or the sync token after the last page. The
    /// last page clears the doctor's sync request only if it is still the one the sync saw at
    /// its start (`served`, [`SyncStart::requested`]): a push message recorded since then
    /// ([`Store::request_sync`]) may tell of a change the listing began too early to see, so its
    /// request stays for the next round. Answers whether the doctor is still connected.
    pub fn save_sync_position(&self, doctor_id: u64, pos: &SyncPosition, served: i64) -> Result<bool> {
        let mut batch = Batch::new();
        batch.push(
            format!(
                "UPDATE `{}` SET sync_token = :s, sync_page_token = :p, last_sync_at = UTC_TIMESTAMP(), last_sync_error = NULL,
                 sync_requested = IF(:p IS NULL AND sync_requested = :r, 0, sync_requested) WHERE doctor_id = :d",
                self.t.doctors
            ),
            params! { "s" => &pos.sync_token, "p" => pos.page_column(), "r" => served, "d" => doctor_id },
        );
        // In the same round trip: whether the doctor is still connected (by the grant's rule: a
        // disconnect erases the token; Google may have refused the grant), so that a long
        // listing asks between pages and a doctor who disconnected meanwhile gets no further
        // request.
        batch.push(
            format!("SELECT {} = 'connected' FROM (SELECT ? AS id) x {}", crate::store::DOCTOR_STATUS_SQL, self.doctor_status_joins("x.id")),
            (doctor_id,),
        );
        let sets = self.conn()?.run(&batch)?;
        Ok(sets.get(1).and_then(|rows| rows.first()).and_then(|r| r.get::<Option<i64>, _>(0).flatten()) == Some(1))
    }

    /// Records a sync that failed; its position and the doctor's sync request stay as they are
    /// (the request was not served).
    pub fn save_sync_error(&self, doctor_id: u64, error: &str) -> Result<()> {
        let mut c = self.conn()?;
        c.exec_drop(
            format!("UPDATE `{}` SET last_sync_at = UTC_TIMESTAMP(), last_sync_error = ? WHERE doctor_id = ?", self.t.doctors),
            (crate::base::redact::text(error), doctor_id),
        )?;
        Ok(())
    }

    fn retry_key(doctor_id: u64) -> String {
        format!("sync_retry:{doctor_id}")
    }

    /// The doctor's changes that failed to apply and wait for a targeted re-read.
    pub fn sync_retries(&self, doctor_id: u64) -> Result<Vec<RetryItem>> {
        let mut c = self.conn()?;
        let v: Option<String> = c.exec_first(format!("SELECT value FROM `{}` WHERE name = ?", self.t.meta), (Self::retry_key(doctor_id),))?;
        Ok(v.and_then(|v| serde_json::from_str(&v).ok()).unwrap_or_default())
    }

    /// Replaces the doctor's re-read list (called under the doctor's sync lock).
    pub fn set_sync_retries(&self, doctor_id: u64, items: &[RetryItem]) -> Result<()> {
        let mut c = self.conn()?;
        if items.is_empty() {
            c.exec_drop(format!("DELETE FROM `{}` WHERE name = ?", self.t.meta), (Self::retry_key(doctor_id),))?;
        } else {
            let json = serde_json::to_string(items).expect("retry items serialize");
            c.exec_drop(
                format!("INSERT INTO `{}` (name, value) VALUES (?, ?) ON DUPLICATE KEY UPDATE value = VALUES(value)", self.t.meta),
                (Self::retry_key(doctor_id), json),
            )?;
        }
        Ok(())
    }

    /// [`SyncStart`] of a doctor in one statement (the doctor's columns are empty without a
    /// row of ours; the re-read list may still exist on its own).
    pub fn sync_start(&self, doctor_id: u64) -> Result<SyncStart> {
        let mut c = self.conn()?;
        let (columns, joins) = self.doctor_state_sql("x.id");
        let rows: Vec<mysql::Row> = c.exec(
            format!(
                "SELECT {columns}, d.sync_token, d.sync_page_token, d.calendar_id, m.value, d.sync_requested FROM (SELECT ? AS id) x {joins}
                 LEFT JOIN `{}` m ON m.name = ?",
                self.t.meta
            ),
            (doctor_id, Self::retry_key(doctor_id)),
        )?;
        let Some(row) = rows.first() else { return Ok(SyncStart { calendar_id: "primary".into(), ..SyncStart::default() }) };
        let at = Self::DOCTOR_STATE_COLUMNS;
        let text = |i: usize| row.get::<Option<String>, _>(at + i).flatten();
        Ok(SyncStart {
            position: SyncPosition::from_columns(text(0), text(1)),
            retries: text(3).and_then(|v| serde_json::from_str(&v).ok()).unwrap_or_default(),
            calendar_id: text(2).filter(|c| !c.is_empty()).unwrap_or_else(|| "primary".into()),
            doctor: Self::doctor_state_from(&rows, 0),
            requested: row.get::<Option<i64>, _>(at + 4).flatten().unwrap_or(0),
        })
    }

    /// The event rows of a listed page: those named by one of `event_ids` and those of one of
    /// `appointment_ids`, read in a few statements without any lock.
    pub fn sync_rows(&self, event_ids: &[&str], appointment_ids: &[u64]) -> Result<Vec<SyncRow>> {
        let mut out = vec![];
        if event_ids.is_empty() && appointment_ids.is_empty() {
            return Ok(out);
        }
        let mut c = self.conn()?;
        let marks = vec!["?"; ROWS_CHUNK].join(",");
        let columns = "appointment_id, event_id, doctor_id, state, etag";
        let mut read = |sql: &str, params: Vec<mysql::Value>| -> Result<()> {
            let rows: Vec<(u64, String, u64, String, String)> = c.exec(sql, params)?;
            out.extend(rows.into_iter().map(|(appointment_id, event_id, doctor_id, state, etag)| SyncRow {
                appointment_id,
                event_id,
                doctor_id,
                state: EventState::parse(&state).unwrap_or_default(),
                etag,
            }));
            Ok(())
        };
        if !event_ids.is_empty() {
            let sql = format!("SELECT {columns} FROM `{}` WHERE event_id IN ({marks})", self.t.events);
            for chunk in event_ids.chunks(ROWS_CHUNK) {
                let last = chunk[chunk.len() - 1];
                let params = chunk.iter().chain(std::iter::repeat_n(&last, ROWS_CHUNK - chunk.len())).map(|id| mysql::Value::from(*id)).collect();
                read(&sql, params)?;
            }
        }
        if !appointment_ids.is_empty() {
            let sql = format!("SELECT {columns} FROM `{}` WHERE appointment_id IN ({marks})", self.t.events);
            for chunk in appointment_ids.chunks(ROWS_CHUNK) {
                let last = chunk[chunk.len() - 1];
                let params = chunk.iter().chain(std::iter::repeat_n(&last, ROWS_CHUNK - chunk.len())).map(|id| mysql::Value::from(*id)).collect();
                read(&sql, params)?;
            }
        }
        Ok(out)
    }

    /// The [`LockedEvent`] statement of the appointments `ids` (literal ids, comma-separated).
    fn locked_events_sql(&self, ids: &str) -> String {
        format!(
            "SELECT e.appointment_id, e.event_id, e.doctor_id, e.state, e.etag, e.meet_url, DATE_FORMAT(e.start_utc, '%Y-%m-%d %H:%i:%s'),
             DATE_FORMAT(e.end_utc, '%Y-%m-%d %H:%i:%s'), j.state, e.flag
             FROM `{}` e LEFT JOIN `{}` j ON j.appointment_id = e.appointment_id WHERE e.appointment_id IN ({ids})",
            self.t.events, self.t.jobs
        )
    }

    /// Takes, without waiting, the locks of `appointments` ([`Store::appointment_lock`], the lock every write of
    /// an appointment takes) that no other connection holds, then reads their event rows and
    /// the rows of `appointment_rows` (the caller's SELECT of those appointments): one round
    /// trip, whatever their number. The locks stay on the connection of the [`PageLocks`], which
    /// writes the page's changes and releases them in one more.
    pub fn lock_page(&self, appointments: &[u64], appointment_rows: &str) -> Result<(PageLocks<'_>, LockedPage)> {
        let names: Vec<String> = appointments.iter().map(|a| self.lock_name(&Store::appointment_lock(*a))).collect();
        let take = names.iter().map(|n| format!("GET_LOCK({}, 0)", lit(n.as_str()))).collect::<Vec<_>>().join(", ");
        // Until the answer says which it got, every name counts as held: a failure releases all.
        let mut locks = PageLocks { store: self, conn: self.conn()?, held: names };
        let mut read = Batch::new();
        read.push(format!("SELECT {take}"), ()).push(self.locked_events_sql(&id_list(appointments)), ()).push(appointment_rows, ());
        let mut sets = locks.conn.run(&read)?.into_iter();
        let got: Vec<bool> = match sets.next().and_then(|rows| rows.into_iter().next()) {
            Some(row) => (0..appointments.len()).map(|i| row.get::<Option<i64>, _>(i).flatten() == Some(1)).collect(),
            None => return Err(Error::new(crate::error::Code::DbQuery, "MySQL answered no row to a lock statement")),
        };
        let mut flags = got.iter();
        locks.held.retain(|_| flags.next().copied().unwrap_or(false));
        let locked = appointments.iter().zip(&got).filter(|(_, g)| **g).map(|(a, _)| *a).collect();
        Ok((locks, LockedPage::from_sets(locked, sets)))
    }

    /// [`Store::lock_page`]'s reads, of one appointment whose lock the caller holds.
    pub fn read_locked(&self, appointment_id: u64, appointment_rows: &str) -> Result<LockedPage> {
        let mut read = Batch::new();
        read.push(self.locked_events_sql(&id_list(&[appointment_id])), ()).push(appointment_rows, ());
        let sets = self.conn()?.run(&read)?;
        Ok(LockedPage::from_sets(vec![appointment_id], sets.into_iter()))
    }

    /// Writes `changes` in one transaction, in one round trip (under the locks the caller holds).
    pub fn write_changes(&self, changes: &ChangeSet) -> Result<()> {
        if !changes.is_empty() {
            self.conn()?.run(&changes.transaction(self))?;
        }
        Ok(())
    }

    /// Records that the doctor's calendar changed (a push message): a new request, told from
    /// the one a running sync saw at its start. The counter runs 1..=127 (the column is a
    /// TINYINT) and wraps: only exactly 127 messages during one sync would look unchanged.
    pub fn request_sync(&self, doctor_id: u64) -> Result<()> {
        let mut c = self.conn()?;
        c.exec_drop(self.request_sync_sql(), (doctor_id,))?;
        Ok(())
    }

    /// The statement that records a doctor's sync request (`?`: the doctor): a counter, so a
    /// sync clears only the requests it saw.
    fn request_sync_sql(&self) -> String {
        format!("UPDATE `{}` SET sync_requested = IF(sync_requested BETWEEN 1 AND 126, sync_requested + 1, 1) WHERE doctor_id = ?", self.t.doctors)
    }

    /// Connected doctors, those with a requested (push-triggered) or unfinished sync first.
    pub fn doctors_to_sync(&self, only: Option<u64>) -> Result<Vec<u64>> {
        Ok(self.round_doctors(only)?.into_iter().map(|(id, _)| id).collect())
    }

    /// [`Store::doctors_to_sync`] with each doctor's token expiry as our row last recorded it
    /// (at the connection or the last refresh): a round's order and which tokens it will
    /// refresh. Connected by the grant's rule ([`crate::store::DOCTOR_STATUS_SQL`]) among the
    /// holders of a token and the doctors of our rows: a token the vendor add-on stored is synced
    /// before any row of ours exists.
    pub fn round_doctors(&self, only: Option<u64>) -> Result<Vec<(u64, Option<i64>)>> {
        let mut c = self.conn()?;
        Ok(c.exec(
            format!(
                "SELECT x.id, d.token_expires_at
                 FROM (SELECT user_id AS id FROM `{um}` WHERE meta_key = '{token}' UNION SELECT doctor_id FROM `{doctors}`) x {joins}
                 WHERE (? = 0 OR x.id = ?) AND ({status}) = 'connected'
                 ORDER BY (COALESCE(d.sync_requested, 0) <> 0 OR d.sync_page_token IS NOT NULL) DESC, d.last_sync_at, x.id",
                um = self.t.usermeta,
                token = crate::store::meta::TOKEN,
                doctors = self.t.doctors,
                joins = self.doctor_status_joins("x.id"),
                status = crate::store::DOCTOR_STATUS_SQL,
            ),
            (only.unwrap_or(0), only.unwrap_or(0)),
        )?)
    }

    pub fn insert_channel(&self, ch: &ChannelRow) -> Result<()> {
        let mut c = self.conn()?;
        c.exec_drop(
            format!(
                "INSERT INTO `{}` (channel_id, doctor_id, resource_id, token_hash, expires_at, state, last_message, created_at)
                 VALUES (?, ?, ?, ?, ?, ?, 0, UTC_TIMESTAMP())",
                self.t.channels
            ),
            (&ch.channel_id, ch.doctor_id, &ch.resource_id, &ch.token_hash, ch.expires_at, ch.state.as_str()),
        )?;
        Ok(())
    }

    /// Records Google's confirmation of a channel.
    pub fn activate_channel(&self, ch: &ChannelRow) -> Result<()> {
        let mut c = self.conn()?;
        c.exec_drop(
            format!("UPDATE `{}` SET resource_id = ?, expires_at = ?, state = 'active' WHERE channel_id = ?", self.t.channels),
            (&ch.resource_id, ch.expires_at, &ch.channel_id),
        )?;
        Ok(())
    }

    fn channel_rows(&self, filter: &str, p: mysql::Params) -> Result<Vec<ChannelRow>> {
        let mut c = self.conn()?;
        let rows: Vec<(String, u64, String, String, i64, String, i64)> = c.exec(
            format!(
                "SELECT channel_id, doctor_id, resource_id, token_hash, expires_at, state, last_message FROM `{}` WHERE {filter} ORDER BY doctor_id, expires_at",
                self.t.channels
            ),
            p,
        )?;
        Ok(rows
            .into_iter()
            .map(|(channel_id, doctor_id, resource_id, token_hash, expires_at, state, last_message)| ChannelRow {
                channel_id,
                doctor_id,
                resource_id,
                token_hash,
                expires_at,
                state: ChannelState::parse(&state),
                last_message,
            })
            .collect())
    }

    pub fn channel(&self, channel_id: &str) -> Result<Option<ChannelRow>> {
        Ok(self.channel_rows("channel_id = :c", params! {"c" => channel_id})?.into_iter().next())
    }

    pub fn active_channels(&self, doctor_id: Option<u64>) -> Result<Vec<ChannelRow>> {
        self.channel_rows("state = 'active' AND (:d = 0 OR doctor_id = :d)", params! {"d" => doctor_id.unwrap_or(0)})
    }

    pub fn set_channel_state(&self, channel_id: &str, state: ChannelState) -> Result<()> {
        let mut c = self.conn()?;
        c.exec_drop(format!("UPDATE `{}` SET state = ? WHERE channel_id = ?", self.t.channels), (state.as_str(), channel_id))?;
        Ok(())
    }

    /// Records a message number; false when it is not newer than the last one (a replay).
    /// With `request_sync_of`, the doctor's sync request is recorded in the same transaction:
    /// a message whose request could not be recorded is not counted either, so Google's retry
    /// of it (it retries what our site failed) is handled instead of being taken for a replay.
    pub fn advance_channel_message(&self, channel_id: &str, number: i64, request_sync_of: Option<u64>) -> Result<bool> {
        let mut c = self.conn()?;
        let mut tx = c.start_transaction(mysql::TxOpts::default())?;
        tx.exec_drop(
            format!("UPDATE `{}` SET last_message = ? WHERE channel_id = ? AND last_message < ?", self.t.channels),
            (number, channel_id, number),
        )?;
        if tx.affected_rows() == 0 {
            return Ok(false);
        }
        if let Some(doctor_id) = request_sync_of {
            tx.exec_drop(self.request_sync_sql(), (doctor_id,))?;
        }
        tx.commit()?;
        Ok(true)
    }

    /// Marks the event as changed at Google by hand, for an admin to review.
    pub fn flag_event(&self, appointment_id: u64, flag: &str) -> Result<()> {
        let mut c = self.conn()?;
        c.exec_drop(format!("UPDATE `{}` SET flag = ?, updated_at = UTC_TIMESTAMP() WHERE appointment_id = ?", self.t.events), (flag, appointment_id))?;
        Ok(())
    }

    /// Appointment id of one of our events, by Google's event id.
    pub fn appointment_of_event(&self, event_id: &str) -> Result<Option<u64>> {
        let mut c = self.conn()?;
        Ok(c.exec_first(format!("SELECT appointment_id FROM `{}` WHERE event_id = ?", self.t.events), (event_id,))?)
    }

    /// Whether KiviCare's appointments table has the UTC columns (4.x).
    pub fn appointments_have_utc(&self) -> Result<bool> {
        let mut c = self.conn()?;
        let has_utc: Option<String> = c.exec_first(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = 'appointment_start_utc'",
            (format!("{}kc_appointments", self.t.prefix()),),
        )?;
        Ok(has_utc.is_some())
    }

    /// Cancels a KiviCare appointment (status 0).
    pub fn cancel_appointment(&self, id: u64) -> Result<()> {
        let mut c = self.conn()?;
        c.exec_drop(format!("UPDATE `{}kc_appointments` SET status = 0 WHERE id = ?", self.t.prefix()), (id,))?;
        Ok(())
    }
}

/// An audit entry of a [`ChangeSet`], written with its changes (`detail` already scrubbed).
#[derive(Debug)]
struct AuditLine {
    doctor_id: Option<u64>,
    appointment_id: Option<u64>,
    action: &'static str,
    outcome: String,
    detail: String,
}

/// Changes made in Google (and an admin's review of one) as the rows they write: event rows
/// with what Google now says, KiviCare appointments' new times, and their audit entries. Any
/// number of them is written in one transaction by a fixed number of statements, sent in one
/// round trip ([`PageLocks::commit`], [`Store::write_changes`]), so a change and its audit entry
/// are never apart and a page of changes costs what one does.
#[derive(Debug, Default)]
pub struct ChangeSet {
    events: Vec<EventFromGoogle>,
    appointments: Vec<AppointmentTimes>,
    /// Whether KiviCare's appointments table has the UTC columns (4.x), for `appointments`.
    appointments_have_utc: bool,
    audits: Vec<AuditLine>,
    /// Event rows whose flag goes, if it is still the one named: (appointment, flag).
    cleared_flags: Vec<(u64, &'static str)>,
}

/// An event row as Google now reports it (the mapping row's link follows).
#[derive(Debug, Clone)]
pub struct EventFromGoogle {
    pub appointment_id: u64,
    /// `Y-m-d H:M:S`, UTC.
    pub start_utc: String,
    pub end_utc: String,
    pub meet_url: String,
    pub etag: String,
    pub updated: String,
}

/// A KiviCare appointment's new times: local `Y-m-d H:i:s` (the date and time columns) and UTC.
#[derive(Debug, Clone)]
pub struct AppointmentTimes {
    pub appointment_id: u64,
    pub local: (String, String),
    pub utc: (String, String),
}

impl ChangeSet {
    pub fn event(&mut self, e: EventFromGoogle) {
        self.events.push(e);
    }

    /// An appointment's new times; `has_utc` when KiviCare's table has the UTC columns.
    pub fn appointment(&mut self, a: AppointmentTimes, has_utc: bool) {
        self.appointments_have_utc = has_utc;
        self.appointments.push(a);
    }

    /// An audit entry, written with the changes (`detail` is scrubbed as [`Store::audit`] does).
    pub fn audit(&mut self, doctor_id: Option<u64>, appointment_id: Option<u64>, action: &'static str, outcome: &str, detail: &str) {
        self.audits.push(AuditLine { doctor_id, appointment_id, action, outcome: outcome.to_string(), detail: crate::base::redact::text(detail) });
    }

    /// Clears the event row's flag if it is still `flag` (a review decided).
    pub fn clear_flag(&mut self, appointment_id: u64, flag: &'static str) {
        self.cleared_flags.push((appointment_id, flag));
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.appointments.is_empty() && self.audits.is_empty() && self.cleared_flags.is_empty()
    }

    /// One transaction writing the set (an empty batch for an empty set), its values bound by
    /// [`Batch`] for the connection it runs on: they come from Google and from the audit
    /// trail's text, so they are never written into the text here.
    fn transaction(&self, store: &Store) -> Batch<'static> {
        let mut batch = Batch::transaction();
        if self.is_empty() {
            return batch;
        }
        if !self.events.is_empty() {
            let rows = || {
                self.events.iter().map(|e| {
                    vec![e.appointment_id.into(), e.start_utc.as_str().into(), e.end_utc.as_str().into(), e.meet_url.as_str().into(), e.etag.as_str().into(), e.updated.as_str().into()]
                })
            };
            let (v, vals) = values(&["id", "s", "e", "m", "t", "u"], rows());
            batch.push(
                format!(
                    "UPDATE `{}` x JOIN ({v}) v ON v.id = x.appointment_id SET x.start_utc = v.s, x.end_utc = v.e, x.meet_url = v.m, x.etag = v.t,
                     x.google_updated = v.u, x.updated_at = UTC_TIMESTAMP()",
                    store.t.events
                ),
                vals.clone(),
            );
            batch.push(format!("UPDATE `{}` x JOIN ({v}) v ON v.id = x.appointment_id SET x.url = v.m", store.t.mapping), vals);
        }
        if !self.appointments.is_empty() {
            let split = |t: &str| -> (String, String) {
                let (d, h) = t.split_once(' ').unwrap_or((t, "00:00:00"));
                (d.to_string(), h.to_string())
            };
            let (v, vals) = values(
                &["id", "sd", "st", "ed", "et", "su", "eu"],
                self.appointments.iter().map(|a| {
                    let ((sd, st), (ed, et)) = (split(&a.local.0), split(&a.local.1));
                    vec![a.appointment_id.into(), sd.into(), st.into(), ed.into(), et.into(), a.utc.0.as_str().into(), a.utc.1.as_str().into()]
                }),
            );
            let utc = if self.appointments_have_utc { ", x.appointment_start_utc = v.su, x.appointment_end_utc = v.eu" } else { "" };
            batch.push(
                format!(
                    "UPDATE `{}kc_appointments` x JOIN ({v}) v ON v.id = x.id SET x.appointment_start_date = v.sd, x.appointment_start_time = v.st,
                     x.appointment_end_date = v.ed, x.appointment_end_time = v.et{utc}",
                    store.t.prefix()
                ),
                vals,
            );
        }
        for (appointment_id, flag) in &self.cleared_flags {
            batch.push(
                format!("UPDATE `{}` SET flag = '', updated_at = UTC_TIMESTAMP() WHERE appointment_id = ? AND flag = ?", store.t.events),
                (*appointment_id, *flag),
            );
        }
        if !self.audits.is_empty() {
            let mut vals: Vec<mysql::Value> = Vec::with_capacity(self.audits.len() * 5);
            let rows: Vec<&str> = self
                .audits
                .iter()
                .map(|l| {
                    vals.extend([l.doctor_id.into(), l.appointment_id.into(), l.action.into(), l.outcome.as_str().into(), l.detail.as_str().into()]);
                    "(UTC_TIMESTAMP(3), ?, ?, ?, ?, ?)"
                })
                .collect();
            batch.push(format!("{} {}", store.audit_insert(), rows.join(", ")), vals);
        }
        batch
    }
}

/// A lock name as an SQL literal (as [`crate::store::LockSet`] writes them): [`Store::lock_page`]
/// takes many in one statement, and a prepared statement per count would crowd the
/// connection's statement cache. Only for lock names, which are ASCII letters, digits and `:`
/// (so the same under every escaping mode and character set); values go through [`Batch`].
fn lit(v: impl Into<mysql::Value>) -> String {
    v.into().as_sql(false)
}

/// A derived table of rows (`SELECT ? AS col, … UNION ALL SELECT ?, …`) and its values, in
/// order.
fn values(columns: &[&str], rows: impl Iterator<Item = Vec<mysql::Value>>) -> (String, Vec<mysql::Value>) {
    let mut vals = vec![];
    let sql = rows
        .enumerate()
        .map(|(i, row)| {
            let n = row.len();
            vals.extend(row);
            match i {
                0 => format!("SELECT {}", columns.iter().take(n).map(|c| format!("? AS {c}")).collect::<Vec<_>>().join(", ")),
                _ => format!("SELECT {}", vec!["?"; n].join(", ")),
            }
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    (sql, vals)
}

/// What [`Store::lock_page`] read of its appointments.
#[derive(Debug, Default)]
pub struct LockedPage {
    /// The appointments whose lock is held.
    pub locked: Vec<u64>,
    /// Their event rows ([`LockedEvent`]), by appointment.
    pub events: HashMap<u64, LockedEvent>,
    /// The rows of the caller's appointment statement, read under the locks.
    pub appointments: Vec<mysql::Row>,
}

impl LockedPage {
    /// From the result sets of the event rows' statement and the caller's.
    fn from_sets(locked: Vec<u64>, mut sets: impl Iterator<Item = Vec<mysql::Row>>) -> LockedPage {
        let events = sets
            .next()
            .unwrap_or_default()
            .into_iter()
            .map(|row| {
                let text = |i: usize| row.get::<Option<String>, _>(i).flatten();
                let event = LockedEvent {
                    event_id: text(1).unwrap_or_default(),
                    doctor_id: row.get::<Option<u64>, _>(2).flatten().unwrap_or(0),
                    state: text(3).and_then(|s| EventState::parse(&s)).unwrap_or_default(),
                    etag: text(4).unwrap_or_default(),
                    meet_url: text(5).unwrap_or_default(),
                    start_utc: text(6).unwrap_or_default(),
                    end_utc: text(7).unwrap_or_default(),
                    job_state: text(8).and_then(|s| JobState::parse(&s)),
                    flag: text(9).unwrap_or_default(),
                };
                (row.get::<Option<u64>, _>(0).flatten().unwrap_or(0), event)
            })
            .collect();
        LockedPage { locked, events, appointments: sets.next().unwrap_or_default() }
    }
}

/// The appointments' locks a page's changes hold ([`Store::lock_page`]), on the one connection
/// their reads and writes use (the call's connection when the thread has one, see
/// [`crate::store::Conn`]). It holds a connection only while the page's statements run, never
/// across a Google request. [`PageLocks::commit`] releases the locks with the page's writes; a
/// page dropped without it releases them then.
pub struct PageLocks<'a> {
    store: &'a Store,
    conn: Conn,
    /// The full names held.
    held: Vec<String>,
}

impl PageLocks<'_> {
    /// Writes `changes` in one transaction and releases the locks: one round trip.
    pub fn commit(mut self, changes: &ChangeSet) -> Result<()> {
        let mut batch = changes.transaction(self.store);
        if !self.held.is_empty() {
            batch.after_commit(release_sql(&self.held));
        }
        if !changes.is_empty() || !self.held.is_empty() {
            self.conn.run(&batch)?;
        }
        self.held.clear();
        Ok(())
    }
}

impl Drop for PageLocks<'_> {
    fn drop(&mut self) {
        if self.held.is_empty() {
            return;
        }
        // A pooled connection that cannot release them is not given back with them: the pool
        // resets it first (which releases them) or forgets it. The call's connection is never
        // reset (it holds the call's other locks); if it broke, the server released them all.
        if self.conn.query_drop(release_sql(&self.held)).is_err() && self.conn.pinned.is_none() {
            self.conn.reset_connection(true);
        }
    }
}

/// One statement releasing the named locks `names` (full names).
fn release_sql(names: &[String]) -> String {
    format!("DO {}", names.iter().map(|n| format!("RELEASE_LOCK({})", lit(n.as_str()))).collect::<Vec<_>>().join(", "))
}

/// Ids as an SQL list.
fn id_list(ids: &[u64]) -> String {
    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_listings_window_is_stored_with_its_page_and_read_back() {
        let pos = SyncPosition { sync_token: None, page_token: Some("p+/=".into()), window: Some(("a".into(), "b".into())) };
        assert_eq!(SyncPosition::from_columns(None, pos.page_column()), pos);
    }

    #[test]
    fn an_incremental_page_is_stored_as_it_is() {
        let pos = SyncPosition { sync_token: Some("s".into()), page_token: Some("p".into()), window: None };
        assert_eq!(pos.page_column().as_deref(), Some("p"));
        assert_eq!(SyncPosition::from_columns(Some("s".into()), Some("p".into())), pos);
    }

    #[test]
    fn a_full_listing_page_stored_without_its_window_starts_over() {
        assert_eq!(SyncPosition::from_columns(None, Some("legacy".into())), SyncPosition::default());
    }
}
