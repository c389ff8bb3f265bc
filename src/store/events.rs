//! The tables behind appointment events: ours (`kc_meet_events`, `kc_meet_jobs`) and
//! KiviCare's mapping table, which core reads for lists, e-mails and the join button.
//!
//! Owns their SQL. One mapping row per appointment is ours to guarantee (no version of the
//! table has a unique key): every write replaces the appointment's rows in one transaction,
//! under the appointment's lock, which the caller holds. The mapping table comes in two
//! shapes (1.x without `created_at`); writes use only the columns the site's table has. Also
//! owns the site's stored id (`site_key` in our meta table) and the schema-4 columns.
//!
//! Every write that ends an appointment's job deletes it only with the version the caller
//! loaded under the appointment's lock: a job re-aimed meanwhile (by a process whose lock wait
//! ran out) survives.

use mysql::prelude::Queryable;
use mysql::{PooledConn, TxOpts, params};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::base::str_enum::str_enum;
use crate::store::{Batch, LockGuard, Store};


str_enum! {
    /// Where our record of an appointment's event stands.
    #[derive(Default)]
    pub enum EventState {
        /// The event exists at Google and is the appointment's.
        Active = "active",
        /// An insert of `event_id` is under way or its answer was lost: the event may exist.
        Creating = "creating",
        /// A delete of `event_id` was sent and its answer was lost: the event may still exist
        /// and may go at any moment, so it is deleted again and never reused (a re-booking takes
        /// the next generation).
        Deleting = "deleting",
        /// Gone at Google (or never made); the generation is kept, Google reserves the id.
        #[default]
        Deleted = "deleted",
    }
}

str_enum! {
    /// What a job was queued for (the runner converges either way: it makes Google match the
    /// appointment as it is when the job runs).
    pub enum JobAction {
        Ensure = "ensure",
        Remove = "remove",
    }
}

str_enum! {
    pub enum JobState {
        Queued = "queued",
        /// A permanent error: waits for an admin's retry.
        Failed = "failed",
    }
}

str_enum! {
    /// Who made the event.
    #[derive(Default)]
    pub enum Origin {
        #[default]
        KcMeet = "kc_meet",
        /// The vendor add-on; taken over from its mapping row.
        Vendor = "vendor",
    }
}


/// Our record of an appointment's Google event.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EventRow {
    pub appointment_id: u64,
    pub doctor_id: u64,
    pub calendar_id: String,
    pub event_id: String,
    pub generation: u32,
    pub state: EventState,
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
    /// When the appointment data behind the last write from PHP was read (µs since the epoch;
    /// 0 when only jobs wrote): an older snapshot must not win over it.
    pub snapshot_us: u64,
    /// Conference requests made for the event beyond the first (regenerated links, a Meet
    /// link added to a vendor event): names the next `requestId`.
    pub conference_n: u32,
    pub origin: Origin,
}

/// A background job: the desired state of one appointment's event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub id: u64,
    pub appointment_id: u64,
    pub doctor_id: Option<u64>,
    pub action: JobAction,
    pub state: JobState,
    pub attempts: u32,
    /// Bumped whenever the job is queued again: the runner ends only the version it ran.
    pub version: u64,
    pub next_run_at: String,
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Job {
    /// How long the job was last set to wait (from its last failure or queueing to its
    /// `next_run_at`), in seconds; 0 when the times do not say.
    pub fn last_wait_s(&self) -> i64 {
        let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok();
        match (at(&self.updated_at), at(&self.next_run_at)) {
            (Some(from), Some(to)) => (to - from).num_seconds().max(0),
            _ => 0,
        }
    }
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

/// Everything the event code needs about one appointment, read in one statement under its
/// lock: our event row, its job, and the first mapping row (a vendor event to take over).
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub event: Option<EventRow>,
    pub job: Option<Job>,
    /// The first mapping row's `event_id`, `url`, `event_url`.
    pub mapping: Option<(String, String, String)>,
    /// The event ids the mapping rows name, first row first, blank ones left out: the vendor
    /// add-on wrote a row without one when Google failed, and a row per event when it made one
    /// again ("regenerate").
    pub mapping_events: Vec<String>,
    /// Which mapping rows the appointment has (what a write must replace).
    pub mapping_rows: MappingRows,
    /// The site's event template post (title, content), if it has one.
    pub template: Option<(String, String)>,
    /// The appointment's doctor (KiviCare's row, else our event's) with what their state and
    /// token come from ([`Store::doctor_state`]).
    pub doctor: Option<(u64, DoctorState)>,
    /// Whether no process held the appointment's lock just before this was read
    /// ([`Store::look_with_appointment`]): only then may a read made without the lock answer
    /// that nothing is to be done. A call holding it may be about to write what it read before
    /// the appointment last changed.
    pub lock_free: bool,
}

/// A doctor's token meta, connect flag and our row, as [`Store::doctor_state`] reads them.
pub type DoctorState = (Option<String>, Option<String>, Option<crate::store::DoctorRow>);

/// What [`Store::try_lock_loading`] read under the lock, and whether it wrote the intent.
pub struct LockedRead {
    pub read: LoadedWith,
    pub wrote_intent: bool,
}

/// [`Loaded`] with the appointment read by the same statement: its rows (one per service and
/// time-zone meta row, as the appointment's part of the statement joins them) and the index
/// where its columns start; `Some(None)` when KiviCare has no such appointment, `None` when
/// nothing was read for it ([`Store::load_with_appointment`]).
pub type LoadedWith = (Loaded, Option<Option<(Vec<mysql::Row>, usize)>>);

/// The appointment's part of the load: its columns and its joins, which read the appointment
/// `?` (one parameter) as the table `a`.
pub type AppointmentParts = (String, String);

/// An appointment's mapping rows as loaded under its lock: the first one's id and how many.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MappingRows {
    pub first_id: Option<u64>,
    pub count: u64,
}

/// An audit entry written with the call's other writes, in their transaction.
#[derive(Debug, Clone)]
pub struct AuditNote<'a> {
    pub doctor_id: Option<u64>,
    pub action: &'a str,
    pub outcome: &'a str,
    pub detail: String,
}

const ISO: &str = "'%Y-%m-%dT%H:%i:%sZ'";

fn event_columns(e: &str) -> String {
    format!(
        "{e}.appointment_id, {e}.doctor_id, {e}.calendar_id, {e}.event_id, {e}.generation, {e}.state, {e}.meet_url,
         COALESCE({e}.event_url, ''), {e}.conference_status, {e}.etag, {e}.sequence, {e}.google_updated,
         DATE_FORMAT({e}.start_utc, '%Y-%m-%d %H:%i:%s'), DATE_FORMAT({e}.end_utc, '%Y-%m-%d %H:%i:%s'), {e}.summary,
         DATE_FORMAT({e}.updated_at, {ISO}), {e}.snapshot_us, {e}.conference_n, {e}.origin"
    )
}
const EVENT_COLUMNS: usize = 19;

fn event_from(r: &mysql::Row, at: usize) -> Option<EventRow> {
    let text = |i: usize| -> String { r.get::<Option<String>, _>(at + i).flatten().unwrap_or_default() };
    let appointment_id: u64 = r.get::<Option<u64>, _>(at).flatten()?;
    Some(EventRow {
        appointment_id,
        doctor_id: r.get::<Option<u64>, _>(at + 1).flatten().unwrap_or_default(),
        calendar_id: text(2),
        event_id: text(3),
        generation: r.get::<Option<u32>, _>(at + 4).flatten().unwrap_or_default(),
        state: EventState::parse(&text(5)).unwrap_or_default(),
        meet_url: text(6),
        event_url: text(7),
        conference_status: text(8),
        etag: text(9),
        sequence: r.get::<Option<i64>, _>(at + 10).flatten().unwrap_or_default(),
        google_updated: text(11),
        start_utc: text(12),
        end_utc: text(13),
        summary: text(14),
        updated_at: text(15),
        snapshot_us: r.get::<Option<u64>, _>(at + 16).flatten().unwrap_or_default(),
        conference_n: r.get::<Option<u32>, _>(at + 17).flatten().unwrap_or_default(),
        origin: Origin::parse(&text(18)).unwrap_or_default(),
    })
}

fn job_columns(j: &str) -> String {
    format!(
        "{j}.id, {j}.appointment_id, {j}.doctor_id, {j}.action, {j}.state, {j}.attempts, DATE_FORMAT({j}.next_run_at, {ISO}),
         {j}.last_error, DATE_FORMAT({j}.created_at, {ISO}), DATE_FORMAT({j}.updated_at, {ISO}), {j}.version"
    )
}

fn job_from(r: &mysql::Row, at: usize) -> Option<Job> {
    let text = |i: usize| -> String { r.get::<Option<String>, _>(at + i).flatten().unwrap_or_default() };
    let id: u64 = r.get::<Option<u64>, _>(at).flatten()?;
    Some(Job {
        id,
        appointment_id: r.get::<Option<u64>, _>(at + 1).flatten().unwrap_or_default(),
        doctor_id: r.get::<Option<u64>, _>(at + 2).flatten(),
        action: JobAction::parse(&text(3)).unwrap_or(JobAction::Ensure),
        state: JobState::parse(&text(4)).unwrap_or(JobState::Queued),
        attempts: r.get::<Option<u32>, _>(at + 5).flatten().unwrap_or_default(),
        next_run_at: text(6),
        last_error: r.get::<Option<String>, _>(at + 7).flatten(),
        created_at: text(8),
        updated_at: text(9),
        version: r.get::<Option<u64>, _>(at + 10).flatten().unwrap_or_default(),
    })
}

/// The texts of [`Store::load`]'s statements with their number of parameters, built once per
/// store (per process and site): one of them is the whole of a call with nothing to do.
#[derive(Debug, Default)]
pub(crate) struct LoadStatements {
    alone: std::sync::OnceLock<(String, usize)>,
    with_appointment: std::sync::OnceLock<(String, usize)>,
    /// [`Store::try_lock_loading`]'s intent.
    intent: std::sync::OnceLock<String>,
}

const JOB_COLUMNS: usize = 11;
/// The columns of [`Store::own_parts`]: the event row's, the job's, and the mapping row's four.
const OWN_COLUMNS: usize = EVENT_COLUMNS + JOB_COLUMNS + 4;

/// `sql` with every run of whitespace outside quotes made one space. The client scans a
/// statement's whole text for named parameters on every execution, so the long ones are kept
/// short. `sql` has no comments (a `--` comment ends at its line's end) and no backslash
/// escapes in its quotes.
fn compact_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut space = false;
    for ch in sql.chars() {
        match quote {
            Some(q) => {
                out.push(ch);
                if ch == q {
                    quote = None;
                }
            }
            None if ch.is_ascii_whitespace() => space = !out.is_empty(),
            None => {
                if std::mem::take(&mut space) {
                    out.push(' ');
                }
                if matches!(ch, '\'' | '"' | '`') {
                    quote = Some(ch);
                }
                out.push(ch);
            }
        }
    }
    out
}

impl Store {
    /// Schema 4: what makes an appointment's event exactly-once (the insert intent state, the
    /// snapshot time, the conference counter, the origin) and versioned jobs. Idempotent.
    pub(crate) fn migrate_events_v4(&self, c: &mut PooledConn) -> Result<()> {
        for (table, col, def) in [
            (&self.t.events, "snapshot_us", "BIGINT UNSIGNED NOT NULL DEFAULT 0"),
            (&self.t.events, "conference_n", "INT UNSIGNED NOT NULL DEFAULT 0"),
            (&self.t.events, "origin", "VARCHAR(16) NOT NULL DEFAULT 'kc_meet'"),
            (&self.t.jobs, "version", "BIGINT UNSIGNED NOT NULL DEFAULT 1"),
        ] {
            crate::store::add_column(c, table, col, def)?;
        }
        Ok(())
    }

    /// The site's random id (event ids and our private event property carry it), stored once.
    /// A site that already made events keeps the id it has been using (`legacy`), so its
    /// existing events stay recognisable; a new site gets a random one, which survives a move
    /// to another URL, database or prefix.
    pub fn site_key(&self, legacy: &str) -> Result<String> {
        let mut c = self.conn()?;
        let read = |c: &mut PooledConn| -> Result<Option<String>> {
            Ok(c.exec_first(format!("SELECT value FROM `{}` WHERE name = 'site_key'", self.t.meta), ())?)
        };
        if let Some(k) = read(&mut c)? {
            return Ok(k);
        }
        let made_events: Option<u64> = c.exec_first(format!("SELECT 1 FROM `{}` LIMIT 1", self.t.events), ())?;
        let key = if made_events.is_some() {
            legacy.to_string()
        } else {
            use rand::RngCore;
            let mut b = [0u8; 6];
            rand::rngs::OsRng.fill_bytes(&mut b);
            b.iter().map(|x| format!("{x:02x}")).collect()
        };
        // Two processes may race here: the first write wins and both read it back.
        c.exec_drop(format!("INSERT IGNORE INTO `{}` (name, value) VALUES ('site_key', ?)", self.t.meta), (&key,))?;
        read(&mut c)?.ok_or_else(|| Error::new(crate::error::Code::DbQuery, "the site key could not be stored"))
    }

    pub fn get_event<Q: Queryable>(&self, q: &mut Q, appointment_id: u64) -> Result<Option<EventRow>> {
        let row: Option<mysql::Row> =
            q.exec_first(format!("SELECT {} FROM `{}` e WHERE e.appointment_id = ?", event_columns("e"), self.t.events), (appointment_id,))?;
        Ok(row.and_then(|r| event_from(&r, 0)))
    }

    /// The event row, its job, the first mapping row (with how many there are) and the site's
    /// event template, in one statement.
    pub fn load(&self, appointment_id: u64) -> Result<Loaded> {
        Ok(self.load_joined(appointment_id, None::<fn() -> AppointmentParts>)?.0)
    }

    /// [`Store::load`] and the appointment in one statement, so both come from one snapshot.
    /// `appointment` makes the appointment's part ([`AppointmentParts`]); it is called only while
    /// this store has not built the statement yet, so it must make the same text every time (it
    /// depends on the site's configuration only). The appointment's columns come back as the
    /// statement's rows and the index where they start: `Some(None)` when KiviCare has no such
    /// appointment, `None` when the site has no KiviCare table (nothing was read).
    pub fn load_with_appointment(&self, appointment_id: u64, appointment: impl FnOnce() -> AppointmentParts) -> Result<LoadedWith> {
        self.load_joined(appointment_id, Some(appointment))
    }

    /// [`Store::load_with_appointment`] without the lock, with whether the appointment's lock
    /// was free ([`Loaded::lock_free`]) asked first, by a statement of its own in the same round
    /// trip: a statement's snapshot is taken at its first read, so a lock state read by the
    /// same statement could be newer than its rows (a holder committing and letting go while it
    /// runs). Asked first, a free lock means the rows are at least as new as the last holder's
    /// commit. Both go as one text query ([`Batch`]).
    pub fn look_with_appointment(&self, appointment_id: u64, appointment: impl FnOnce() -> AppointmentParts) -> Result<LoadedWith> {
        let mut c = self.conn()?;
        let (sql, params, joined) = self.load_statement(&mut c, Some(appointment))?;
        let mut batch = Batch::new();
        batch.push("SELECT IS_FREE_LOCK(?)", (self.lock_name(&Store::appointment_lock(appointment_id)),));
        batch.push(sql.as_ref(), vec![appointment_id; params]);
        let mut sets = c.run(&batch)?;
        let rows = sets.pop().unwrap_or_default();
        let free = sets.first().and_then(|set| set.first()).and_then(|r| r.get::<Option<i64>, _>(0)).flatten() == Some(1);
        let (mut loaded, appointment) = Self::loaded_from(rows, joined);
        loaded.lock_free = free;
        Ok((loaded, appointment))
    }

    fn load_joined(&self, appointment_id: u64, appointment: Option<impl FnOnce() -> AppointmentParts>) -> Result<LoadedWith> {
        let mut c = self.conn()?;
        let (sql, params, joined) = self.load_statement(&mut c, appointment)?;
        let rows: Vec<mysql::Row> = c.exec(sql.as_ref(), vec![appointment_id; params])?;
        Ok(Self::loaded_from(rows, joined))
    }

    /// Takes the appointment's lock (as [`Store::lock`]) and reads [`Store::load`] (with the
    /// appointment when `appointment` is given, as [`Store::load_with_appointment`]) under it.
    /// An error of the read comes with the lock held (the guard releases it when dropped); an
    /// error taking the lock, or a lock not granted in time, is the outer error. One round
    /// trip: the read goes as text with the lock, and the server runs it as soon as the lock is
    /// granted. (While the read had ten subqueries, parsing its text on every call cost more
    /// than the round trip it saves; as one SELECT of joins it does not: a cancel measured
    /// 3.81–3.86 ms median against 3.88–4.02 ms with the read prepared after the lock.)
    pub fn lock_and_load(
        &self,
        lock: &str,
        wait: std::time::Duration,
        appointment_id: u64,
        appointment: Option<impl FnOnce() -> AppointmentParts>,
    ) -> Result<(LockGuard, Result<LoadedWith>)> {
        let (guard, read) = self.lock_then_load(lock, wait, appointment_id, appointment, None)?.ok_or_else(|| {
            crate::error::Error::new(crate::error::Code::LockTimeout, format!("another process held the lock '{lock}' for longer than this call could wait"))
        })?;
        Ok((guard, read.map(|r| r.read)))
    }

    /// Takes the appointment's lock only if it is free now and reads everything again under it
    /// in the same round trip: [`Store::load_with_appointment`]'s statement, sent as text after
    /// the lock, run by the server once the lock is granted. `None` when another process holds
    /// the lock (or every lock-holder permit is taken): the caller waits for it the usual way.
    /// An error of the read comes with the lock held, as in [`Store::lock_and_load`].
    ///
    /// With `intent` (a first create's, as [`Store::record_intent`] writes it), the intent is
    /// written in the same round trip, between the lock and the read: only once the lock is
    /// granted and only when the appointment has no event row yet (it is committed on its own,
    /// durable before Google is asked). The answer says whether it was written (the statement
    /// changed a row); the read then shows it, and the caller takes it back
    /// ([`Store::drop_intent`]) when the read leads elsewhere. It is not written on a
    /// connection that logs statements for replication as they are (`binlog_format =
    /// STATEMENT`): a replica would run it without the lock and skip the row. MariaDB's default
    /// (MIXED) and ROW log the row it wrote. The caller then writes the intent the usual way.
    pub fn try_lock_loading(
        &self,
        lock: &str,
        appointment_id: u64,
        intent: Option<&EventRow>,
        appointment: impl FnOnce() -> AppointmentParts,
    ) -> Result<Option<(LockGuard, Result<LockedRead>)>> {
        self.lock_then_load(lock, std::time::Duration::ZERO, appointment_id, Some(appointment), intent)
    }

    /// The lock `lock`, waiting up to `wait`, with `intent` written after it
    /// ([`Store::try_lock_loading`]) and the load statement (with the appointment when
    /// `appointment` is given) run after that, all in one round trip; `None` when the lock was
    /// not granted.
    fn lock_then_load(
        &self,
        lock: &str,
        wait: std::time::Duration,
        appointment_id: u64,
        appointment: Option<impl FnOnce() -> AppointmentParts>,
        intent: Option<&EventRow>,
    ) -> Result<Option<(LockGuard, Result<LockedRead>)>> {
        // The statement's text borrows the store, not the connection (given back before the lock).
        let (read, params, joined) = self.load_statement(&mut self.conn()?, appointment)?;
        let mut then: Vec<(&str, mysql::Params)> = Vec::with_capacity(2);
        if let Some(e) = intent {
            let insert = self.load_statements.intent.get_or_init(|| {
                compact_sql(&format!(
                    "INSERT IGNORE INTO `{}` (appointment_id, doctor_id, calendar_id, event_id, generation, state, start_utc, end_utc,
                       snapshot_us, conference_n, origin, created_at, updated_at)
                     SELECT :a, :d, :c, :e, :g, 'creating', :s, :en, :snap, 0, 'kc_meet', UTC_TIMESTAMP(), UTC_TIMESTAMP()
                     FROM DUAL WHERE IS_USED_LOCK(:lock) = CONNECTION_ID() AND @@session.binlog_format <> 'STATEMENT'",
                    self.t.events
                ))
            });
            then.push((
                insert,
                params! { "a" => e.appointment_id, "d" => e.doctor_id, "c" => &e.calendar_id, "e" => &e.event_id, "g" => e.generation,
                          "s" => &e.start_utc, "en" => &e.end_utc, "snap" => e.snapshot_us, "lock" => self.lock_name(lock) },
            ));
        }
        then.push((read.as_ref(), vec![appointment_id; params].into()));
        let with_intent = intent.is_some();
        let got = self.try_lock_then(lock, wait, then)?;
        Ok(got.map(|(guard, answers)| {
            let read = answers.map(|t| {
                // The intent's statement comes first: it changed a row when it wrote the intent.
                let wrote_intent = with_intent && t.affected.first() == Some(&1);
                LockedRead { read: Self::loaded_from(t.last(), joined), wrote_intent }
            });
            (guard, read)
        }))
    }

    /// Takes back the intent [`Store::try_lock_loading`] wrote, under the appointment's
    /// lock, before anything was asked of Google (the appointment turned out to have rows the
    /// intent was not made for).
    pub fn drop_intent(&self, intent: &EventRow) -> Result<()> {
        self.conn()?.exec_drop(
            format!("DELETE FROM `{}` WHERE appointment_id = ? AND state = 'creating' AND event_id = ? AND generation = ?", self.t.events),
            (intent.appointment_id, &intent.event_id, intent.generation),
        )?;
        Ok(())
    }

    /// The columns ([`OWN_COLUMNS`] of them) and joins that read our own rows of the
    /// appointment `?` (three parameters, each its id): the event row `e`, its job `j` and the
    /// mapping rows `m`.
    fn own_parts(&self) -> (String, String) {
        (
            format!("{}, {}, m.id, m.event_id, m.url, COALESCE(m.event_url, '')", event_columns("e"), job_columns("j")),
            format!(
                "LEFT JOIN `{}` e ON e.appointment_id = ? LEFT JOIN `{}` j ON j.appointment_id = ? LEFT JOIN `{}` m ON m.appointment_id = ?",
                self.t.events, self.t.jobs, self.t.mapping
            ),
        )
    }

    /// Our own rows from [`Store::own_parts`]'s columns, at the start of `rows` (one row per
    /// mapping row and per row of what else the statement joined): the event row, its job, the
    /// first mapping row by id and how many there are. The template and the doctor are left out.
    fn own_from(rows: &[mysql::Row]) -> Loaded {
        let Some(r) = rows.first() else { return Loaded::default() };
        let at = EVENT_COLUMNS + JOB_COLUMNS;
        let mut mappings = std::collections::BTreeMap::<u64, (String, String, String)>::new();
        for row in rows {
            let text = |i: usize| row.get::<Option<String>, _>(i).flatten().unwrap_or_default();
            if let Some(id) = row.get::<Option<u64>, _>(at).flatten() {
                mappings.entry(id).or_insert_with(|| (text(at + 1), text(at + 2), text(at + 3)));
            }
        }
        let mapping_rows = MappingRows { first_id: mappings.keys().next().copied(), count: mappings.len() as u64 };
        let mapping_events = mappings.values().map(|(event_id, _, _)| event_id).filter(|e| !e.trim().is_empty()).cloned().collect();
        let mapping = mappings.into_values().next();
        Loaded { event: event_from(r, 0), job: job_from(r, EVENT_COLUMNS), mapping, mapping_events, mapping_rows, ..Loaded::default() }
    }

    /// The statement of [`Store::load_joined`], its number of parameters (each is the
    /// appointment's id), and whether the appointment is joined. Once the posts table and
    /// KiviCare's are known (for good), its text is built once per store.
    fn load_statement<Q: Queryable>(
        &self,
        c: &mut Q,
        appointment: Option<impl FnOnce() -> AppointmentParts>,
    ) -> Result<(std::borrow::Cow<'_, str>, usize, bool)> {
        let template = Self::table_known(c, &self.posts_known, &self.t.posts)?;
        let kivicare = Self::table_known(c, &self.appointments_known, &format!("{}kc_appointments", self.t.prefix()))?;
        let joined = appointment.is_some() && kivicare;
        let cached = match (template && kivicare, joined) {
            (true, true) => Some(&self.load_statements.with_appointment),
            (true, false) => Some(&self.load_statements.alone),
            (false, _) => None,
        };
        let build = || self.load_sql(template, kivicare, appointment.filter(|_| kivicare).map(|f| f()));
        Ok(match cached {
            Some(cell) => {
                let (sql, params) = cell.get_or_init(build);
                (std::borrow::Cow::Borrowed(sql.as_str()), *params, joined)
            }
            None => {
                let (sql, params) = build();
                (std::borrow::Cow::Owned(sql), params, joined)
            }
        })
    }

    /// The text of [`Store::load_joined`]'s statement for a site with the posts table
    /// (`template`) and KiviCare's (`kivicare`), with the appointment's part when given, and its
    /// number of parameters (each the appointment's id).
    ///
    /// One SELECT with no subquery: MariaDB keeps no plan for a prepared statement and plans
    /// every subquery anew on each execution, which made the server's part of this statement
    /// cost several times that of its joins. What may have several rows is joined too (the
    /// mapping rows, the template posts, the doctor's meta rows, the appointment's services and
    /// time-zone rows), so the statement answers their product, normally one to three rows;
    /// [`Store::loaded_from`] picks from them what the subqueries picked (the first mapping row
    /// by id and their count, the template named for the doctor's events else the first by
    /// id, the first meta row of each key).
    fn load_sql(&self, template: bool, kivicare: bool, appointment: Option<AppointmentParts>) -> (String, usize) {
        let (template_columns, template_join) = if template {
            (
                "tpl.ID, tpl.post_name = 'kivicare_doctor_gm_event_template', tpl.post_title, tpl.post_content".to_string(),
                format!("LEFT JOIN `{}` tpl ON tpl.post_type = 'kivicare_gmeet_tmp' AND tpl.post_status <> 'trash'", self.t.posts),
            )
        } else {
            ("NULL, NULL, NULL, NULL".to_string(), String::new())
        };
        // The doctor: the appointment's as KiviCare has it, else our event's (plain read).
        let mut params = 3;
        let (doctor, appointment_columns, appointment_joins) = match appointment {
            Some((columns, joins)) => {
                params += 1;
                ("COALESCE(a.doctor_id, e.doctor_id)", format!(", '' AS kcm_appointment_from, {columns}"), joins)
            }
            None if kivicare => {
                params += 1;
                (
                    "COALESCE(ka.doctor_id, e.doctor_id)",
                    String::new(),
                    format!("LEFT JOIN `{}kc_appointments` ka ON ka.id = ?", self.t.prefix()),
                )
            }
            None => ("e.doctor_id", String::new(), String::new()),
        };
        let (doctor_columns, doctor_joins) = self.doctor_state_sql(&format!("({doctor})"));
        let (own_columns, own_joins) = self.own_parts();
        let sql = compact_sql(&format!(
            "SELECT {own_columns}, {template_columns}, {doctor}, {doctor_columns}{appointment_columns}
             FROM (SELECT 1) x
             {own_joins}
             {appointment_joins}
             {template_join}
             {doctor_joins}"
        ));
        debug_assert_eq!(sql.matches('?').count(), params);
        (sql, params)
    }

    /// What [`Store::load_statement`]'s statement read (`joined`: with the appointment's rows).
    fn loaded_from(rows: Vec<mysql::Row>, joined: bool) -> LoadedWith {
        let Some(r) = rows.first() else { return (Loaded::default(), joined.then_some(None)) };
        let appointment = joined.then(|| {
            let from = r.columns_ref().iter().position(|c| c.name_ref() == b"kcm_appointment_from").map(|i| i + 1)?;
            // The appointment's own `id` is NULL when the LEFT JOIN found no row.
            let id = r.columns_ref().iter().skip(from).position(|c| c.name_ref() == b"id")?;
            r.as_ref(from + id).filter(|v| **v != mysql::Value::NULL)?;
            Some(from)
        });
        // Our own rows (the mapping rows by id: the first is the one core reads), then the
        // template posts (the one named for the doctor's events first, then by id): each is in
        // one or more rows.
        let own = Self::own_from(&rows);
        let at = OWN_COLUMNS;
        let mut template: Option<((bool, u64), &mysql::Row)> = None;
        for row in &rows {
            if let Some(id) = row.get::<Option<u64>, _>(at).flatten() {
                let rank = (!row.get::<Option<bool>, _>(at + 1).flatten().unwrap_or(false), id);
                if template.is_none_or(|(best, _)| rank < best) {
                    template = Some((rank, row));
                }
            }
        }
        let template = template.map(|(_, row)| {
            let text = |i: usize| row.get::<Option<String>, _>(i).flatten().unwrap_or_default();
            (text(at + 2), text(at + 3))
        });
        let doctor = r
            .get::<Option<u64>, _>(at + 4)
            .flatten()
            .filter(|d| *d > 0)
            .map(|d| (d, Store::doctor_state_from(&rows, at + 5)));
        let loaded = Loaded { template, doctor, ..own };
        (loaded, appointment.map(|from| from.map(|from| (rows, from))))
    }

    /// Whether the site has the table `name` (WordPress's posts table, where the event template
    /// lives; KiviCare's appointments), learnt once it does: tests of the bare extension have
    /// neither.
    fn table_known<Q: Queryable>(q: &mut Q, known: &std::sync::OnceLock<()>, name: &str) -> Result<bool> {
        if known.get().is_some() {
            return Ok(true);
        }
        let found: Option<String> =
            q.exec_first("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?", (name,))?;
        if found.is_some() {
            let _ = known.set(());
        }
        Ok(found.is_some())
    }

    fn audit_in(&self, tx: &mut Batch<'_>, appointment_id: u64, note: &AuditNote<'_>) {
        tx.push(
            format!("{} (UTC_TIMESTAMP(3), ?, ?, ?, ?, ?)", self.audit_insert()),
            (note.doctor_id, appointment_id, note.action, note.outcome, crate::base::redact::text(&note.detail)),
        );
    }

    /// Records the intent to insert `e.event_id` before the insert is sent, so an event Google
    /// made while every answer was lost is still known (and deleted by a cancel).
    pub fn record_intent(&self, e: &EventRow) -> Result<()> {
        let mut c = self.conn()?;
        c.exec_drop(
            format!(
                "INSERT INTO `{}` (appointment_id, doctor_id, calendar_id, event_id, generation, state, start_utc, end_utc,
                   snapshot_us, conference_n, origin, created_at, updated_at)
                 VALUES (:a, :d, :c, :e, :g, 'creating', :s, :en, :snap, 0, 'kc_meet', UTC_TIMESTAMP(), UTC_TIMESTAMP())
                 ON DUPLICATE KEY UPDATE doctor_id = :d, calendar_id = :c, event_id = :e, generation = :g, state = 'creating',
                   meet_url = '', etag = '', start_utc = :s, end_utc = :en, snapshot_us = GREATEST(snapshot_us, :snap),
                   conference_n = 0, origin = 'kc_meet', updated_at = UTC_TIMESTAMP()",
                self.t.events
            ),
            params! { "a" => e.appointment_id, "d" => e.doctor_id, "c" => &e.calendar_id, "e" => &e.event_id, "g" => e.generation,
                      "s" => &e.start_utc, "en" => &e.end_utc, "snap" => e.snapshot_us },
        )?;
        Ok(())
    }

    /// Records that conference request `n` is about to replace the event's Meet link (the
    /// link shown stays until the new one is known).
    /// Marks the appointment's event as being deleted with an unknown outcome
    /// ([`EventState::Deleting`]).
    pub fn mark_deleting(&self, appointment_id: u64, event_id: &str) -> Result<()> {
        let mut c = self.conn()?;
        c.exec_drop(
            format!("UPDATE `{}` SET state = 'deleting', updated_at = UTC_TIMESTAMP() WHERE appointment_id = ? AND event_id = ?", self.t.events),
            (appointment_id, event_id),
        )?;
        Ok(())
    }

    pub fn set_conference_n(&self, appointment_id: u64, n: u32) -> Result<()> {
        let mut c = self.conn()?;
        c.exec_drop(format!("UPDATE `{}` SET conference_n = ?, conference_status = 'requested', updated_at = UTC_TIMESTAMP() WHERE appointment_id = ?", self.t.events), (n, appointment_id))?;
        Ok(())
    }

    /// Records the event and makes the mapping table hold exactly one row for the appointment
    /// (`rows`: what the caller loaded under the appointment's lock), ends the job the caller
    /// loaded (`job_version`), if any, and writes the audit entry: one transaction, one commit.
    /// The transaction is one round trip, which also releases `unlock` once committed
    /// ([`Batch::unlock`]).
    ///
    /// The event row and the mapping row are written by a statement each, also when both are
    /// there: a two-table UPDATE would be one statement less but cost the server more than both
    /// (it stages the second table's changes in a temporary table), about 0.3 ms hot and 0.45 ms
    /// after idle on the bench machine.
    pub fn save_event(
        &self,
        e: &EventRow,
        local_now: &str,
        job_version: Option<u64>,
        rows: MappingRows,
        note: &AuditNote<'_>,
        unlock: Option<&LockGuard>,
    ) -> Result<()> {
        let mut c = self.conn()?;
        let mut tx = Batch::transaction();
        tx.unlock(unlock);
        let event = params! {
            "a" => e.appointment_id, "d" => e.doctor_id, "c" => &e.calendar_id, "e" => &e.event_id, "g" => e.generation,
            "m" => &e.meet_url, "u" => &e.event_url, "cs" => &e.conference_status, "et" => &e.etag, "sq" => e.sequence,
            "gu" => &e.google_updated, "s" => &e.start_utc, "en" => &e.end_utc, "su" => &e.summary,
            "snap" => e.snapshot_us, "cn" => e.conference_n, "o" => e.origin.as_str(),
        };
        // Known before the transaction: the first write of a site asks the schema.
        let has_created_at = rows.first_id.is_none() && self.mapping_has_created_at(&mut c)?;
        tx.push(
            format!(
                "INSERT INTO `{}` (appointment_id, doctor_id, calendar_id, event_id, generation, state, meet_url, event_url,
                   conference_status, etag, sequence, google_updated, start_utc, end_utc, summary, snapshot_us, conference_n, origin,
                   created_at, updated_at)
                 VALUES (:a, :d, :c, :e, :g, 'active', :m, :u, :cs, :et, :sq, :gu, :s, :en, :su, :snap, :cn, :o,
                   UTC_TIMESTAMP(), UTC_TIMESTAMP())
                 ON DUPLICATE KEY UPDATE doctor_id = :d, calendar_id = :c, event_id = :e, generation = :g, state = 'active',
                   meet_url = :m, event_url = :u, conference_status = :cs, etag = :et, sequence = :sq, google_updated = :gu,
                   start_utc = :s, end_utc = :en, summary = :su, snapshot_us = GREATEST(snapshot_us, :snap), conference_n = :cn,
                   origin = :o, flag = '', updated_at = UTC_TIMESTAMP()",
                self.t.events
            ),
            event,
        );
        match rows.first_id {
            Some(first) => {
                tx.push(
                    format!("UPDATE `{}` SET event_id = ?, url = ?, event_url = ?, password = '' WHERE id = ?", self.t.mapping),
                    (&e.event_id, &e.meet_url, &e.event_url, first),
                );
                if rows.count > 1 {
                    tx.push(format!("DELETE FROM `{}` WHERE appointment_id = ? AND id <> ?", self.t.mapping), (e.appointment_id, first));
                }
            }
            None if has_created_at => {
                tx.push(
                    format!("INSERT INTO `{}` (appointment_id, event_id, url, password, event_url, created_at) VALUES (?, ?, ?, '', ?, ?)", self.t.mapping),
                    (e.appointment_id, &e.event_id, &e.meet_url, &e.event_url, local_now),
                );
            }
            None => {
                tx.push(
                    format!("INSERT INTO `{}` (appointment_id, event_id, url, password, event_url) VALUES (?, ?, ?, '', ?)", self.t.mapping),
                    (e.appointment_id, &e.event_id, &e.meet_url, &e.event_url),
                );
            }
        }
        self.end_job_and_audit(&mut tx, e.appointment_id, job_version, note);
        c.run(&tx)?;
        Ok(())
    }

    /// The appointment's event, deleted in Google and flagged for review, is back (the doctor
    /// undid the deletion or restored it from the bin): our row is active again with its Meet
    /// link, the flag goes, and the mapping row core reads is written again from the row. The
    /// row's times and etag stay as they were, so what else changed in Google is then applied
    /// as any change is. Under the appointment's lock; `false` when the row was not the
    /// flagged deletion of `event_id` (nothing written).
    pub fn restore_event(&self, appointment_id: u64, event_id: &str, meet_url: &str, flag: &str, local_now: &str, note: &AuditNote<'_>) -> Result<bool> {
        let mut c = self.conn()?;
        let has_created_at = self.mapping_has_created_at(&mut c)?;
        let mut tx = c.start_transaction(TxOpts::default())?;
        tx.exec_drop(
            format!(
                "UPDATE `{}` SET state = 'active', flag = '', meet_url = ?, updated_at = UTC_TIMESTAMP()
                 WHERE appointment_id = ? AND event_id = ? AND state = 'deleted' AND flag = ?",
                self.t.events
            ),
            (meet_url, appointment_id, event_id, flag),
        )?;
        if tx.affected_rows() != 1 {
            return Ok(false);
        }
        tx.exec_drop(format!("DELETE FROM `{}` WHERE appointment_id = ?", self.t.mapping), (appointment_id,))?;
        let (columns, value, created) = if has_created_at { (", created_at", ", ?", Some(local_now)) } else { ("", "", None) };
        let params: Vec<mysql::Value> = created.into_iter().map(Into::into).chain([appointment_id.into()]).collect();
        tx.exec_drop(
            format!(
                "INSERT INTO `{}` (appointment_id, event_id, url, password, event_url{columns})
                 SELECT appointment_id, event_id, meet_url, '', event_url{value} FROM `{}` WHERE appointment_id = ?",
                self.t.mapping, self.t.events
            ),
            params,
        )?;
        tx.exec_drop(
            format!("{} (UTC_TIMESTAMP(3), ?, ?, ?, ?, ?)", self.audit_insert()),
            (note.doctor_id, appointment_id, note.action, note.outcome, crate::base::redact::text(&note.detail)),
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// The end of a saved event's transaction: the event matches the appointment now, so the
    /// job the caller loaded is resolved; and the audit entry.
    fn end_job_and_audit(&self, tx: &mut Batch<'_>, appointment_id: u64, job_version: Option<u64>, note: &AuditNote<'_>) {
        if let Some(v) = job_version {
            tx.push(format!("DELETE FROM `{}` WHERE appointment_id = ? AND version = ?", self.t.jobs), (appointment_id, v));
        }
        self.audit_in(tx, appointment_id, note);
    }

    /// The appointment has no event at Google (any more): our row says `deleted` (its
    /// generation kept, because Google reserves a deleted event's id, and the time of the PHP
    /// snapshot that asked for it, so an older snapshot cannot bring the event back), its
    /// mapping rows go, and the job the caller loaded ends.
    /// `note`, when given, is written in the same transaction (one commit). The transaction is
    /// one round trip, which also releases `unlock` once committed ([`Batch::unlock`]).
    pub fn forget(&self, appointment_id: u64, snapshot_us: u64, job_version: Option<u64>, note: Option<&AuditNote<'_>>, unlock: Option<&LockGuard>) -> Result<()> {
        let mut c = self.conn()?;
        let mut tx = Batch::transaction();
        tx.unlock(unlock);
        if snapshot_us > 0 {
            tx.push(
                format!(
                    "INSERT INTO `{}` (appointment_id, doctor_id, calendar_id, event_id, generation, state, start_utc, end_utc,
                       snapshot_us, created_at, updated_at)
                     VALUES (:a, 0, '', '', 0, 'deleted', '1970-01-01 00:00:01', '1970-01-01 00:00:01', :snap, UTC_TIMESTAMP(), UTC_TIMESTAMP())
                     ON DUPLICATE KEY UPDATE state = 'deleted', meet_url = '', snapshot_us = GREATEST(snapshot_us, :snap),
                       updated_at = UTC_TIMESTAMP()",
                    self.t.events
                ),
                params! { "a" => appointment_id, "snap" => snapshot_us },
            );
        } else {
            tx.push(
                format!("UPDATE `{}` SET state = 'deleted', meet_url = '', updated_at = UTC_TIMESTAMP() WHERE appointment_id = ?", self.t.events),
                (appointment_id,),
            );
        }
        tx.push(format!("DELETE FROM `{}` WHERE appointment_id = ?", self.t.mapping), (appointment_id,));
        if let Some(v) = job_version {
            tx.push(format!("DELETE FROM `{}` WHERE appointment_id = ? AND version = ?", self.t.jobs), (appointment_id, v));
        }
        if let Some(note) = note {
            self.audit_in(&mut tx, appointment_id, note);
        }
        c.run(&tx)?;
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
        // (appointment, event id, Meet link, event link, created)
        type Row = (u64, Option<String>, Option<String>, Option<String>, Option<String>);
        let row: Option<Row> = c.exec_first(
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

    /// Appointments with an event at Google, or possibly there (an insert whose answer was
    /// lost), for reconciliation.
    pub fn active_events(&self, doctor_id: Option<u64>) -> Result<Vec<EventRow>> {
        let mut c = self.conn()?;
        let rows: Vec<mysql::Row> = c.exec(
            format!(
                "SELECT {} FROM `{}` e WHERE e.state IN ('active', 'creating', 'deleting') AND (? = 0 OR e.doctor_id = ?) ORDER BY e.appointment_id",
                event_columns("e"),
                self.t.events
            ),
            (doctor_id.unwrap_or(0), doctor_id.unwrap_or(0)),
        )?;
        Ok(rows.iter().filter_map(|r| event_from(r, 0)).collect())
    }

    // ----- jobs ---------------------------------------------------------------------------

    /// Queues (or re-aims) the appointment's job: one per appointment, so a later intent
    /// replaces an earlier one (create then cancel collapses into one removal). Every call
    /// bumps its version.
    pub fn queue_job(&self, appointment_id: u64, doctor_id: Option<u64>, action: JobAction, delay_s: i64, error: Option<&str>) -> Result<()> {
        let mut c = self.conn()?;
        c.exec_drop(
            format!(
                "INSERT INTO `{}` (appointment_id, doctor_id, action, state, attempts, next_run_at, last_error, created_at, updated_at, version)
                 VALUES (:a, :d, :act, 'queued', 0, UTC_TIMESTAMP() + INTERVAL :delay SECOND, :err, UTC_TIMESTAMP(), UTC_TIMESTAMP(), 1)
                 ON DUPLICATE KEY UPDATE doctor_id = COALESCE(:d, doctor_id), attempts = IF(action = :act AND state = 'queued', attempts, 0),
                   action = :act, state = 'queued', next_run_at = UTC_TIMESTAMP() + INTERVAL :delay SECOND,
                   last_error = COALESCE(:err, last_error), version = version + 1, updated_at = UTC_TIMESTAMP()",
                self.t.jobs
            ),
            params! { "a" => appointment_id, "d" => doctor_id, "act" => action.as_str(), "delay" => delay_s, "err" => error.map(crate::base::redact::text) },
        )?;
        Ok(())
    }

    /// After a failed run of job `version`: try again later, or give up (`failed`) on a
    /// permanent error; the failure counts among the job's attempts when `uses_attempt` (not
    /// for Google's usage limits). A job re-aimed since (another version) is left as it is.
    pub fn job_failed(&self, appointment_id: u64, version: u64, permanent: bool, uses_attempt: bool, delay_s: i64, error: &str) -> Result<()> {
        let mut c = self.conn()?;
        c.exec_drop(
            format!(
                "UPDATE `{}` SET attempts = attempts + IF(:u, 1, 0), state = IF(:p, 'failed', 'queued'),
                 next_run_at = UTC_TIMESTAMP() + INTERVAL :delay SECOND, last_error = :err, updated_at = UTC_TIMESTAMP()
                 WHERE appointment_id = :a AND version = :v",
                self.t.jobs
            ),
            params! {
                "a" => appointment_id, "v" => version, "p" => permanent, "u" => uses_attempt, "delay" => delay_s,
                "err" => crate::base::redact::text(error),
            },
        )?;
        Ok(())
    }

    /// Records a permanent failure for the admin, creating the job row if there was none.
    pub fn record_failed_job(&self, appointment_id: u64, doctor_id: Option<u64>, action: JobAction, error: &str) -> Result<()> {
        let mut c = self.conn()?;
        c.exec_drop(
            format!(
                "INSERT INTO `{}` (appointment_id, doctor_id, action, state, attempts, next_run_at, last_error, created_at, updated_at, version)
                 VALUES (:a, :d, :act, 'failed', 1, UTC_TIMESTAMP(), :err, UTC_TIMESTAMP(), UTC_TIMESTAMP(), 1)
                 ON DUPLICATE KEY UPDATE doctor_id = COALESCE(:d, doctor_id), action = :act, state = 'failed', attempts = attempts + 1,
                   next_run_at = UTC_TIMESTAMP(), last_error = :err, version = version + 1, updated_at = UTC_TIMESTAMP()",
                self.t.jobs
            ),
            params! { "a" => appointment_id, "d" => doctor_id, "act" => action.as_str(), "err" => crate::base::redact::text(error) },
        )?;
        Ok(())
    }

    /// Ends job `version` (done); a job re-aimed since stays.
    pub fn delete_job(&self, appointment_id: u64, version: u64) -> Result<()> {
        let mut c = self.conn()?;
        c.exec_drop(format!("DELETE FROM `{}` WHERE appointment_id = ? AND version = ?", self.t.jobs), (appointment_id, version))?;
        Ok(())
    }

    fn job_select(&self) -> String {
        format!("SELECT {} FROM `{}` j", job_columns("j"), self.t.jobs)
    }

    fn job_from(r: mysql::Row) -> Job {
        job_from(&r, 0).unwrap_or_else(|| Job {
            id: 0,
            appointment_id: 0,
            doctor_id: None,
            action: JobAction::Ensure,
            state: JobState::Queued,
            attempts: 0,
            next_run_at: String::new(),
            last_error: None,
            created_at: String::new(),
            updated_at: String::new(),
            version: 0,
        })
    }

    pub fn jobs(&self, state: Option<&str>, limit: u32) -> Result<Vec<Job>> {
        let mut c = self.conn()?;
        let rows: Vec<mysql::Row> = c.exec(
            format!("{} WHERE (? = '' OR j.state = ?) ORDER BY j.next_run_at, j.id LIMIT ?", self.job_select()),
            (state.unwrap_or(""), state.unwrap_or(""), limit),
        )?;
        Ok(rows.into_iter().map(Self::job_from).collect())
    }

    pub fn job_by_appointment(&self, appointment_id: u64) -> Result<Option<Job>> {
        let mut c = self.conn()?;
        let row: Option<mysql::Row> = c.exec_first(format!("{} WHERE j.appointment_id = ?", self.job_select()), (appointment_id,))?;
        Ok(row.map(Self::job_from))
    }

    pub fn job_by_id(&self, id: u64) -> Result<Option<Job>> {
        let mut c = self.conn()?;
        let row: Option<mysql::Row> = c.exec_first(format!("{} WHERE j.id = ?", self.job_select()), (id,))?;
        Ok(row.map(Self::job_from))
    }

    /// Due jobs, oldest first.
    pub fn due_jobs(&self, limit: u32) -> Result<Vec<Job>> {
        let mut c = self.conn()?;
        let rows: Vec<mysql::Row> = c.exec(
            format!("{} WHERE j.state = 'queued' AND j.next_run_at <= UTC_TIMESTAMP() ORDER BY j.next_run_at, j.id LIMIT ?", self.job_select()),
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

#[cfg(test)]
mod tests {
    use super::compact_sql;

    #[test]
    fn compacting_a_statement_keeps_what_is_quoted() {
        let sql = "SELECT a ,\n   'x  y',\t`t  u`, \"q  r\", 'it''s  ok'\n  FROM t\n  WHERE b = :id  ";
        assert_eq!(compact_sql(sql), "SELECT a , 'x  y', `t  u`, \"q  r\", 'it''s  ok' FROM t WHERE b = :id");
    }
}
