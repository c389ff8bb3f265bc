//! A server whose binary log records statements as they are (`binlog_format = STATEMENT`, for
//! statement-based replication): a fresh booking's intent is not written with the lock there. That
//! statement is conditional on the lock its connection holds, which a replica running it again
//! would not hold: it would skip the row the primary wrote. The intent is then written the usual
//! way, in a statement of its own, and the booking still gets its one event.
//!
//! The test changes the server's global `binlog_format` for the connections it makes (and puts
//! it back), so it is the only test of its binary: other binaries do not run at the same time.

mod common;

use common::{Bed, Booking};
use kc_meet::events;
use kc_meet::runtime::Context;
use mysql::prelude::Queryable;
use serde_json::{Value, json};

const DOC: &str = "dr.two@gmail.example";

/// The server's global `binlog_format` for connections made while it is alive, put back when
/// dropped.
struct BinlogFormat {
    root: mysql::PooledConn,
    was: String,
}

impl BinlogFormat {
    fn set(format: &str) -> BinlogFormat {
        let mut root = common::root_conn();
        let was: String = root.query_first("SELECT @@GLOBAL.binlog_format").unwrap().unwrap();
        root.exec_drop("SET GLOBAL binlog_format = ?", (format,)).unwrap();
        BinlogFormat { root, was }
    }
}

impl Drop for BinlogFormat {
    fn drop(&mut self) {
        let _ = self.root.exec_drop("SET GLOBAL binlog_format = ?", (self.was.as_str(),));
    }
}

/// Plain INSERTs (`INSERT … VALUES`, the usual intent's) the worker's connection has sent.
fn plain_inserts(ctx: &Context) -> u64 {
    let row: (String, u64) = ctx.store.conn().unwrap().query_first("SHOW SESSION STATUS LIKE 'Com_insert'").unwrap().unwrap();
    row.1
}

/// A fresh booking's create on a warm worker of `bed` whose connections were made now: its
/// outcome and the plain INSERTs it sent (the outcome's are three: the event row, the mapping
/// row, the audit entry).
fn fresh_create(bed: &Bed, start: &str, end: &str) -> (events::Outcome, u64) {
    let ctx = bed.other_process();
    let warm = bed.book(Booking { start: "2031-05-09 10:00:00", end: "2031-05-09 10:30:00", ..Booking::default() });
    assert_eq!(events::create(&ctx, warm as i64, &Value::Null).unwrap().state.as_str(), "created");
    let id = bed.book(Booking { start, end, ..Booking::default() });
    let before = plain_inserts(&ctx);
    let o = events::create(&ctx, id as i64, &Value::Null).unwrap();
    (o, plain_inserts(&ctx) - before)
}

#[test]
fn on_a_statement_logged_connection_the_intent_is_written_on_its_own() {
    let bed = Bed::with(|v| v["request_budget_s"] = json!(5.0), None);
    bed.kivicare();
    bed.connect(2, DOC);

    // The default (MIXED here): the intent went with the lock.
    let (o, inserts) = fresh_create(&bed, "2031-05-06 10:00:00", "2031-05-06 10:30:00");
    assert_eq!(o.state.as_str(), "created");
    assert_eq!(inserts, 3, "the outcome's three; the intent went with the lock");

    let format = BinlogFormat::set("STATEMENT");
    let (o, inserts) = fresh_create(&bed, "2031-05-07 10:00:00", "2031-05-07 10:30:00");
    drop(format);
    assert_eq!(o.state.as_str(), "created");
    assert_eq!(inserts, 4, "the intent in a statement of its own, then the outcome's three");
    assert_eq!(bed.live_events(DOC).len(), 4, "one event per booking");
}
