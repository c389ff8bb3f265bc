//! Statements sent as one round trip ([`kc_meet::store::Batch`]) against the real server:
//! values arrive as they were bound under either escaping mode, a failure inside a transaction
//! commits nothing and leaves the connection reusable, errors are mapped as for any statement,
//! and a lock released by a batch is released only once everything before it succeeded.

mod common;

use std::time::Duration;

use common::Bed;
use kc_meet::error::Code;
use kc_meet::runtime::Context;
use kc_meet::store::{Batch, schema_error_epoch};
use mysql::prelude::Queryable;
use mysql::{Value, params};

/// Values that break naive quoting: quotes of both kinds, backslashes before a quote and at the
/// end, NUL, a `?` and a `:name` that must stay text, multibyte characters and an emoji.
const AWKWARD: [&str; 9] = [
    "O'Neil \"Doc\"",
    "back\\slash",
    "\\'; DROP TABLE t; -- ",
    "trailing\\",
    "nul\0byte",
    "what? :no_param",
    "Zoë, Łódź, 東京",
    "🩺 emoji 👩🏽‍⚕️",
    "",
];

fn table(bed: &Bed) {
    bed.sql()
        .query_drop("CREATE TABLE kcm_batch (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, n BIGINT NULL, t TEXT NULL) DEFAULT CHARSET=utf8mb4")
        .unwrap();
}

/// Everything in the table, read on another connection (so, committed).
fn rows(bed: &Bed) -> Vec<(u64, Option<i64>, Option<String>)> {
    bed.sql().query("SELECT id, n, t FROM kcm_batch ORDER BY id").unwrap()
}

fn values_arrive_as_bound(ctx: &Context, bed: &Bed) {
    let mut batch = Batch::transaction();
    for (i, t) in AWKWARD.iter().enumerate() {
        batch.push("INSERT INTO kcm_batch (id, n, t) VALUES (?, ?, ?)", (i as u64 + 1, -(i as i64), *t));
    }
    // Named values (one used twice), NULLs, and the extremes of both integer types.
    batch.push(
        "INSERT INTO kcm_batch (id, n, t) VALUES (:big, :small, NULL), (:id, NULL, CONCAT(:t, '|', :t))",
        params! { "big" => u64::MAX, "small" => i64::MIN, "id" => 100u64, "t" => "a'b\\c" },
    );
    batch.push("SELECT t, ? AS quoted, ':kept', '?' FROM kcm_batch WHERE id = ?", ("it's", 1u64));
    let sets = ctx.store.conn().unwrap().run(&batch).unwrap();
    assert_eq!(sets.len(), AWKWARD.len() + 2, "one result per statement, not counting the transaction's own");
    let select = &sets[AWKWARD.len() + 1];
    let got: (String, String, String, String) = mysql::from_row(select[0].clone());
    assert_eq!(got, (AWKWARD[0].to_string(), "it's".to_string(), ":kept".to_string(), "?".to_string()));

    let stored = rows(bed);
    assert_eq!(stored.len(), AWKWARD.len() + 2);
    for (i, t) in AWKWARD.iter().enumerate() {
        assert_eq!(stored[i], (i as u64 + 1, Some(-(i as i64)), Some(t.to_string())), "value {i} arrives unchanged");
    }
    assert_eq!(stored[AWKWARD.len()], (100, None, Some("a'b\\c|a'b\\c".to_string())));
    let big: (u64, i64) = bed.sql().query_first("SELECT id, n FROM kcm_batch WHERE id = 18446744073709551615").unwrap().unwrap();
    assert_eq!(big, (u64::MAX, i64::MIN));
}

#[test]
fn values_arrive_unchanged_with_backslash_escapes() {
    let bed = Bed::new();
    table(&bed);
    let ctx = bed.other_process();
    assert!(!ctx.store.conn().unwrap().no_backslash_escape());
    values_arrive_as_bound(&ctx, &bed);
}

#[test]
fn values_arrive_unchanged_under_no_backslash_escapes() {
    let bed = Bed::new();
    table(&bed);
    let ctx = bed.other_process();
    {
        let mut c = ctx.store.conn().unwrap();
        c.query_drop("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')").unwrap();
        assert!(c.no_backslash_escape(), "the server reports the mode with its answers");
    }
    values_arrive_as_bound(&ctx, &bed);
}

#[test]
fn a_failure_inside_a_transaction_commits_nothing_and_leaves_the_connection_usable() {
    let bed = Bed::new();
    table(&bed);
    bed.sql().query_drop("INSERT INTO kcm_batch (id, t) VALUES (7, 'there before')").unwrap();
    let ctx = bed.other_process();
    let mut c = ctx.store.conn().unwrap();
    let mut batch = Batch::transaction();
    batch
        .push("INSERT INTO kcm_batch (id, t) VALUES (?, ?)", (1u64, "first"))
        .push("UPDATE kcm_batch SET t = ? WHERE id = ?", ("changed", 7u64))
        .push("INSERT INTO kcm_batch (id, t) VALUES (?, ?)", (7u64, "duplicate key"))
        .push("INSERT INTO kcm_batch (id, t) VALUES (?, ?)", (3u64, "after the failure"));
    let err = c.run(&batch).unwrap_err();
    assert_eq!(err.code, Code::DbQuery, "{err:?}");
    assert!(err.message.contains("Duplicate entry"), "{}", err.message);
    assert_eq!(rows(&bed), vec![(7, None, Some("there before".into()))], "nothing of the batch was committed");
    let open: u64 = c.query_first("SELECT @@in_transaction").unwrap().unwrap();
    assert_eq!(open, 0, "no transaction left open on the connection");
    // The same connection goes on: a plain write commits on its own.
    c.query_drop("INSERT INTO kcm_batch (id, t) VALUES (4, 'later')").unwrap();
    drop(c);
    assert_eq!(rows(&bed).len(), 2, "the later write is committed");
}

#[test]
fn a_missing_table_is_a_schema_error_as_for_any_statement() {
    let bed = Bed::new();
    let ctx = bed.other_process();
    let epoch = schema_error_epoch();
    let mut batch = Batch::new();
    batch.push("SELECT ?", (1u64,)).push("SELECT * FROM kcm_no_such_table WHERE id = ?", (1u64,));
    let err = ctx.store.conn().unwrap().run(&batch).unwrap_err();
    assert_eq!(err.code, Code::SchemaMissing);
    assert!(schema_error_epoch() > epoch, "the schema is checked again after it");
}

#[test]
fn values_that_do_not_match_the_placeholders_are_refused_before_anything_is_sent() {
    let bed = Bed::new();
    table(&bed);
    let ctx = bed.other_process();
    for (sql, params) in [
        ("INSERT INTO kcm_batch (id, t) VALUES (?, ?)", mysql::Params::Positional(vec![Value::from(1u64)])),
        ("INSERT INTO kcm_batch (id, t) VALUES (:id, :t)", params! { "id" => 1u64 }),
        ("INSERT INTO kcm_batch (id, t) VALUES (:id, ?)", params! { "id" => 1u64 }),
    ] {
        let mut batch = Batch::transaction();
        batch.push("INSERT INTO kcm_batch (id, t) VALUES (?, ?)", (2u64, "valid")).push(sql, params);
        let err = ctx.store.conn().unwrap().run(&batch).unwrap_err();
        assert_eq!(err.code, Code::DbQuery, "{sql}");
    }
    assert!(rows(&bed).is_empty());
}

#[test]
fn a_committed_batch_releases_the_lock_in_its_round_trip_and_a_failed_one_keeps_it_until_dropped() {
    let bed = Bed::new();
    table(&bed);
    let ctx = bed.other_process();
    let other = bed.other_process();
    let free = |name: &str| other.store.try_lock(name, Duration::ZERO).unwrap().is_some();

    let lock = ctx.store.lock("batch-a", Duration::from_secs(1)).unwrap();
    assert!(!free("batch-a"));
    let mut failing = Batch::transaction();
    failing.push("INSERT INTO kcm_batch (id) VALUES (1), (1)", ()).unlock(&lock);
    assert!(ctx.store.conn().unwrap().run(&failing).is_err());
    assert!(!free("batch-a"), "a failed write does not release the lock");
    let mut ok = Batch::transaction();
    ok.push("INSERT INTO kcm_batch (id) VALUES (?)", (1u64,)).unlock(&lock);
    let questions = |ctx: &Context| -> u64 {
        ctx.store.conn().unwrap().query_first::<(String, u64), _>("SHOW SESSION STATUS LIKE 'Questions'").unwrap().unwrap().1
    };
    ctx.store.conn().unwrap().run(&ok).unwrap();
    assert!(free("batch-a"), "released by the write's round trip, before the guard is dropped");
    let q0 = questions(&ctx);
    drop(lock);
    assert_eq!(questions(&ctx) - q0, 1, "the guard sends nothing more (only the reading itself counts)");
    assert_eq!(rows(&bed).len(), 1);

    // Dropped after a failed write: released then, and the connection back in the pool.
    let lock = ctx.store.lock("batch-b", Duration::from_secs(1)).unwrap();
    let mut failing = Batch::transaction();
    failing.push("INSERT INTO kcm_batch (id) VALUES (?)", (1u64,)).unlock(&lock);
    assert!(ctx.store.conn().unwrap().run(&failing).is_err());
    drop(lock);
    assert!(free("batch-b"));
}

/// On a connection whose character set lets an escaping backslash end a multibyte character
/// (gbk here), a batch is never written into query text: "東" is E6 9D B1 in UTF-8, and gbk
/// reads B1 5C as one character, so an escaped quote after it would end the string and the
/// rest of the value would run as SQL. The statements go one by one, prepared, with the
/// same results, transaction and rollback.
#[test]
fn a_character_set_that_can_swallow_an_escape_gets_no_values_written_into_text() {
    let bed = Bed::with(|v| v["db_charset"] = serde_json::json!("gbk"), None);
    bed.sql().query_drop("CREATE TABLE kcm_batch_bin (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, b VARBINARY(255) NULL)").unwrap();
    assert!(!kc_meet::store::text_is_safe("GBK") && kc_meet::store::text_is_safe("utf8mb4"));
    let ctx = bed.other_process();
    let hostile = "東'), (2, 0x696e6a) -- ";
    let mut batch = Batch::transaction();
    batch.push("INSERT INTO kcm_batch_bin (id, b) VALUES (?, ?)", (1u64, hostile)).push("SELECT b FROM kcm_batch_bin WHERE id = ?", (1u64,));
    let sets = ctx.store.conn().unwrap().run(&batch).unwrap();
    assert_eq!(sets.len(), 2, "one result per statement");
    let stored: Vec<(u64, Vec<u8>)> = bed.sql().query("SELECT id, b FROM kcm_batch_bin ORDER BY id").unwrap();
    assert_eq!(stored, vec![(1, hostile.as_bytes().to_vec())], "the value arrives whole and nothing else runs");

    // A failure still rolls the transaction back.
    let mut failing = Batch::transaction();
    failing.push("INSERT INTO kcm_batch_bin (id, b) VALUES (?, ?)", (3u64, "x")).push("INSERT INTO kcm_batch_bin (id, b) VALUES (?, ?)", (1u64, "dup"));
    let mut c = ctx.store.conn().unwrap();
    assert!(c.run(&failing).is_err());
    let ids: Vec<u64> = bed.sql().query("SELECT id FROM kcm_batch_bin ORDER BY id").unwrap();
    assert_eq!(ids, vec![1], "nothing of the failed batch is committed");
    let in_tx: Option<i64> = c.query_first("SELECT @@in_transaction").unwrap();
    assert_eq!(in_tx, Some(0), "no transaction is left open");
}
