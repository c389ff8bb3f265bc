//! How many statements the event core sends per operation, as the server counts them
//! (`Questions` of the worker's connection), in how many round trips (the server's general log:
//! one entry per command, a multi-statement query being one), and that a call's statements all
//! run on that one connection. Upper bounds on counts, not times: a regression shows here, on
//! any machine.

mod common;

use std::sync::Arc;

use common::{Bed, Booking};
use kc_meet::runtime::Context;
use kc_meet::store::Batch;
use kc_meet::{events, grant};
use mysql::prelude::Queryable;
use serde_json::{Value, json};

const DOC: &str = "dr.two@gmail.example";

/// The server's statement count on the worker's idle connection, and the connection's id.
fn questions(ctx: &Context) -> (u64, u64) {
    let mut c = ctx.store.conn().unwrap();
    let id: u64 = c.query_first("SELECT CONNECTION_ID()").unwrap().unwrap();
    let row: (String, u64) = c.query_first("SHOW SESSION STATUS LIKE 'Questions'").unwrap().unwrap();
    (row.1, id)
}

/// Write statements (INSERT, UPDATE, DELETE, REPLACE) and explicit COMMITs the worker's idle
/// connection has sent so far.
fn writes(ctx: &Context) -> (u64, u64) {
    let mut c = ctx.store.conn().unwrap();
    let rows: Vec<(String, u64)> = c
        .query(
            "SHOW SESSION STATUS WHERE Variable_name IN ('Com_insert', 'Com_update', 'Com_delete', 'Com_replace', \
             'Com_insert_select', 'Com_update_multi', 'Com_delete_multi', 'Com_commit')",
        )
        .unwrap();
    let w = rows.iter().filter(|(k, _)| k != "Com_commit").map(|(_, v)| v).sum();
    let commits = rows.iter().filter(|(k, _)| k == "Com_commit").map(|(_, v)| *v).sum();
    (w, commits)
}

/// The server's general log, written to its table while the test runs: one entry per command
/// a connection sends, read from the administrator's connection. Every command but a prepared
/// statement's close (which has no answer) and the goodbye is a round trip, and a
/// multi-statement query is one command. Put back as it was when dropped.
struct GeneralLog {
    root: mysql::PooledConn,
    was: (u8, String),
}

impl GeneralLog {
    fn on() -> GeneralLog {
        let mut root = common::root_conn();
        let was: (u8, String) = root.query_first("SELECT @@GLOBAL.general_log, @@GLOBAL.log_output").unwrap().unwrap();
        // Into the table as well as wherever it went before (NONE would silence every output).
        let output = match was.1.as_str() {
            "NONE" => "TABLE".to_string(),
            o if o.contains("TABLE") => o.to_string(),
            o => format!("{o},TABLE"),
        };
        root.exec_drop("SET GLOBAL log_output = ?", (output,)).unwrap();
        root.query_drop("SET GLOBAL general_log = 1").unwrap();
        GeneralLog { root, was }
    }

    /// The round trips connection `thread` has made so far.
    fn round_trips(&mut self, thread: u64) -> u64 {
        self.root
            .exec_first("SELECT COUNT(*) FROM mysql.general_log WHERE thread_id = ? AND command_type NOT IN ('Close stmt', 'Quit')", (thread,))
            .unwrap()
            .unwrap()
    }
}

impl Drop for GeneralLog {
    fn drop(&mut self) {
        let _ = self.root.exec_drop("SET GLOBAL general_log = ?", (self.was.0,));
        let _ = self.root.exec_drop("SET GLOBAL log_output = ?", (self.was.1.as_str(),));
    }
}

/// What `f` sent: statements, writes, explicit commits, round trips. Fails when it used another
/// connection than the worker's one.
fn counted<T>(ctx: &Arc<Context>, log: &mut GeneralLog, what: &str, f: impl FnOnce() -> T) -> ((u64, u64, u64, u64), T) {
    let (w0, c0) = writes(ctx);
    let (q0, id0) = questions(ctx);
    let r0 = log.round_trips(id0);
    let out = f();
    let r1 = log.round_trips(id0);
    let (q1, id1) = questions(ctx);
    let (w1, c1) = writes(ctx);
    assert_eq!(id0, id1, "{what}: the call ran on the worker's one connection");
    // Each reading is two statements (the id and the SHOW, which counts itself).
    ((q1 - q0 - 2, w1 - w0, c1 - c0, r1 - r0), out)
}

fn none() -> Value {
    Value::Null
}

#[test]
fn each_operation_stays_within_its_statement_budget_on_one_connection() {
    let bed = Bed::with(|v| v["request_budget_s"] = json!(5.0), None);
    bed.kivicare();
    bed.connect(2, DOC);
    // A worker that has served a call already (schema checked, site id read, pool warm).
    let ctx = bed.other_process();
    let warm = bed.book(Booking::default());
    assert_eq!(events::create(&ctx, warm as i64, &none()).unwrap().state.as_str(), "created");
    // Its status asked once too (the statement prepared on the connection, as in a worker that
    // has served a page with it).
    grant::status(&ctx, 2).unwrap();
    let mut log = GeneralLog::on();
    // What the log counts: a batch of three statements is three statements in one round trip.
    let mut batch = Batch::new();
    batch.push("SELECT ?", (1u64,)).push("SELECT ?", ("two",)).push("DO ?", (3u64,));
    let (three, _) = counted(&ctx, &mut log, "batch", || ctx.store.conn().unwrap().run(&batch).unwrap());
    assert_eq!((three.0, three.3), (3, 1), "a batch: statements, round trips");

    let id = bed.book(Booking { start: "2031-05-08 10:00:00", end: "2031-05-08 10:30:00", ..Booking::default() });
    let (create, o) = counted(&ctx, &mut log, "create", || events::create(&ctx, id as i64, &none()).unwrap());
    assert_eq!(o.state.as_str(), "created");
    // Nothing to do takes no lock: one round trip, which first asks whether a process holds the
    // appointment's (one that does may be about to write what it read before the appointment's
    // last change: then the call waits for it, `events_exactly_once.rs`).
    let (unchanged, o) = counted(&ctx, &mut log, "unchanged", || events::create(&ctx, id as i64, &none()).unwrap());
    assert_eq!(o.state.as_str(), "unchanged", "answered without the appointment's lock");
    bed.sql()
        .exec_drop("UPDATE wp_kc_appointments SET appointment_start_time = '11:00:00', appointment_end_time = '11:30:00' WHERE id = ?", (id,))
        .unwrap();
    let (reschedule, o) = counted(&ctx, &mut log, "reschedule", || events::update(&ctx, id as i64, &none()).unwrap());
    assert_eq!(o.state.as_str(), "updated");
    // An edit that changes nothing of the event: the update took the lock with its read.
    let (edit, o) = counted(&ctx, &mut log, "edit", || events::update(&ctx, id as i64, &none()).unwrap());
    assert_eq!(o.state.as_str(), "unchanged");
    // What that one statement wrote (read on another connection, so the worker keeps one): our
    // row has the new times (11:00 in the site's zone, Europe/Paris in May), the mapping row its
    // event and link.
    let row: (String, String, String, String, String, String, String) = bed
        .sql()
        .exec_first(
            "SELECT DATE_FORMAT(e.start_utc, '%H:%i'), e.event_id, e.meet_url, COALESCE(e.event_url, ''), m.event_id, m.url, COALESCE(m.event_url, '')
             FROM wp_kc_meet_events e JOIN wp_kc_appointment_google_meet_mappings m ON m.appointment_id = e.appointment_id WHERE e.appointment_id = ?",
            (id,),
        )
        .unwrap()
        .unwrap();
    assert_eq!(row.0, "09:00");
    assert!(!row.2.is_empty());
    assert_eq!((&row.1, &row.2, &row.3), (&row.4, &row.5, &row.6), "the mapping row shows our event");
    let (status, s) = counted(&ctx, &mut log, "status", || grant::status(&ctx, 2).unwrap());
    assert_eq!(s.status.as_str(), "connected");
    let (cancel, o) = counted(&ctx, &mut log, "cancel", || events::delete(&ctx, id as i64).unwrap());
    assert_eq!(o.state.as_str(), "deleted");
    drop(log);
    eprintln!("statements, writes, commits, round trips: create {create:?}, reschedule {reschedule:?}, edit {edit:?}, cancel {cancel:?}, unchanged {unchanged:?}, status {status:?}");

    // Create: the lock-free look (whether the lock is free, then the load with the appointment,
    // our row, job, mapping, template, doctor and token, KiviCare's row: two statements; nothing
    // to answer from them), lock, the intent (committed before the insert), the load again under
    // the lock, one transaction for the outcome (start, event row, mapping row, audit, commit),
    // unlock.
    // Round trips: the look; the lock, free, with the intent written after it (durable before
    // Google is asked) and the load after that (what the call decides from: see
    // `Store::try_lock_loading`); the outcome's transaction with the unlock after its commit.
    assert!(create.0 <= 11, "create: {} statements", create.0);
    assert_eq!((create.1, create.2), (4, 1), "create: the intent, then event + mapping + audit committed once");
    assert!(create.3 <= 3, "create: {} round trips", create.3);
    // Reschedule (`kc_meet_update_event`, what KiviCare calls after an edit): no lock-free look;
    // the lock with the load after it, one transaction for the outcome (start, event row, mapping
    // row, audit, commit), unlock: in two round trips. The event and mapping rows are a
    // statement each: one two-table UPDATE would be a statement less but costs the server more
    // than the two (see `Store::save_event`).
    assert!(reschedule.0 <= 8, "reschedule: {} statements", reschedule.0);
    assert_eq!((reschedule.1, reschedule.2), (3, 1), "reschedule: event row + mapping row + audit committed once");
    assert!(reschedule.3 <= 2, "reschedule: {} round trips", reschedule.3);
    // An edit with nothing to write: the lock with the load, then the unlock.
    assert!(edit.0 <= 3 && edit.3 <= 2, "edit: {} statements, {} round trips", edit.0, edit.3);
    assert_eq!((edit.1, edit.2), (0, 0), "edit writes nothing");
    // Cancel: lock, load, one transaction (start, event row, mapping rows, audit, commit), unlock;
    // in two round trips (the lock with the load after it; the transaction and the unlock).
    assert!(cancel.0 <= 8, "cancel: {} statements", cancel.0);
    assert_eq!((cancel.1, cancel.2), (3, 1), "cancel: event + mapping + audit committed once");
    assert!(cancel.3 <= 2, "cancel: {} round trips", cancel.3);
    // Nothing to do: whether the lock is free, then the load with the appointment (one
    // snapshot), in one round trip; no lock, no write.
    assert_eq!((unchanged.0, unchanged.3), (2, 1), "unchanged: {} statements, {} round trips", unchanged.0, unchanged.3);
    assert_eq!((unchanged.1, unchanged.2), (0, 0), "unchanged writes nothing");
    assert!(status.0 <= 1 && status.3 <= 1, "status: {} statements, {} round trips", status.0, status.3);
}
