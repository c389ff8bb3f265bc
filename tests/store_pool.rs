//! The extension's MySQL connections as the server sees them: a checkout sends nothing, one
//! connection serves a call's statements, the schema is checked once, and a connection the
//! server closed is replaced without losing the call.

mod common;

use common::Bed;
use kc_meet::grant;
use kc_meet::error::Code;
use kc_meet::runtime::Context;
use mysql::prelude::Queryable;

/// A schema error anywhere in the process makes every store check its schema again (the epoch is
/// process-wide), so the test that causes one and the test that counts schema checks take turns.
static SCHEMA_EPOCH: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Statements the server has counted on the store's (single idle) connection, and its id.
fn questions(ctx: &Context) -> (u64, u64) {
    let mut c = ctx.store.conn().unwrap();
    let id: u64 = c.query_first("SELECT CONNECTION_ID()").unwrap().unwrap();
    let row: (String, u64) = c.query_first("SHOW SESSION STATUS LIKE 'Questions'").unwrap().unwrap();
    (row.1, id)
}

#[test]
fn checking_a_connection_out_and_back_in_sends_nothing_and_keeps_the_session() {
    let bed = Bed::new();
    // A worker's first call: a pool with nothing in it yet.
    let ctx = bed.other_process();
    let id = {
        let mut c = ctx.store.conn().unwrap();
        c.query_drop("SET @kcm_probe = 42").unwrap();
        c.query_first::<u64, _>("SELECT CONNECTION_ID()").unwrap().unwrap()
    };
    let (q0, id0) = questions(&ctx);
    for _ in 0..5 {
        drop(ctx.store.conn().unwrap());
    }
    let (q1, id1) = questions(&ctx);
    assert_eq!((id0, id1), (id, id), "one connection, reused");
    // Two statements per questions() reading; nothing for the five checkouts (no reset, no
    // `SET NAMES` again; pings are not statements, so the session variable below shows them gone:
    // a reset would have cleared it).
    assert_eq!(q1 - q0, 2);
    let probe: Option<u64> = ctx.store.conn().unwrap().query_first("SELECT @kcm_probe").unwrap().unwrap();
    assert_eq!(probe, Some(42), "the session was not reset between checkouts");
}

#[test]
fn the_schema_is_checked_once_per_store() {
    let _epoch = SCHEMA_EPOCH.lock().unwrap_or_else(|e| e.into_inner());
    let bed = Bed::new();
    let fresh = bed.other_process();
    fresh.store.require_schema().unwrap();
    let mut c = fresh.store.conn().unwrap();
    let q = |c: &mut mysql::PooledConn| -> u64 {
        c.query_first::<(String, u64), _>("SHOW SESSION STATUS LIKE 'Questions'").unwrap().unwrap().1
    };
    let q0 = q(&mut c);
    drop(c);
    for _ in 0..10 {
        fresh.store.require_schema().unwrap();
    }
    let mut c = fresh.store.conn().unwrap();
    assert_eq!(q(&mut c) - q0, 1, "only the SHOW itself: no schema query per call");
}

#[test]
fn a_schema_error_makes_the_next_call_check_the_schema_again() {
    let _epoch = SCHEMA_EPOCH.lock().unwrap_or_else(|e| e.into_inner());
    let bed = Bed::new();
    bed.ctx.store.require_schema().unwrap();
    bed.sql().query_drop("DROP TABLE wp_kc_meet_meta").unwrap();
    bed.sql().query_drop("DROP TABLE wp_kc_meet_doctors").unwrap();
    // The cached check lets the call through; its first statement meets the missing table ...
    assert_eq!(grant::status(&bed.ctx, 2).unwrap_err().code, Code::SchemaMissing);
    // ... after which the store asks again instead of trusting what it knew.
    assert_eq!(bed.ctx.store.require_schema().unwrap_err().code, Code::SchemaMissing);
    bed.ctx.store.migrate().unwrap();
    assert_eq!(grant::status(&bed.ctx, 2).unwrap().status.as_str(), "not_connected");
}

#[test]
fn a_connection_the_server_closed_is_replaced_and_the_call_succeeds() {
    let bed = Bed::new();
    bed.connect(2, "doc@gmail.example");
    let ctx = bed.other_process();
    assert_eq!(grant::status(&ctx, 2).unwrap().status.as_str(), "connected");
    let (_, before) = questions(&ctx);
    // What a MariaDB restart does to the worker's idle connection.
    bed.sql().query_drop(format!("KILL {before}")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(grant::status(&ctx, 2).unwrap().status.as_str(), "connected");
    let (_, after) = questions(&ctx);
    assert_ne!(before, after, "a new connection replaced the dead one");
    // Writes go through as well.
    bed.sql().query_drop(format!("KILL {after}")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    ctx.store.audit(Some(2), None, "probe", "ok", "after a reconnect").unwrap();
    let n: Option<u64> = bed.sql().query_first("SELECT COUNT(*) FROM wp_kc_meet_audit WHERE action = 'probe'").unwrap();
    assert_eq!(n, Some(1));
}

/// Connections to the test's database the server lists, the counting one left out.
fn connections(bed: &Bed) -> usize {
    let mut c = bed.sql();
    let n: Option<u64> = c
        .exec_first("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()", (bed.db.as_str(),))
        .unwrap();
    n.unwrap_or(0) as usize
}

#[test]
fn a_lock_set_holds_many_locks_on_one_connection_that_exclude_other_processes() {
    let bed = Bed::new();
    let ctx = bed.other_process();
    let other = bed.other_process();
    other.store.ping().unwrap();
    let before = connections(&bed);
    let mut set = ctx.store.lock_set();
    let names: Vec<String> = (1..=50).map(|d| format!("sync:{d}")).collect();
    assert_eq!(set.exchange(&[], &names).unwrap(), vec![true; 50]);
    assert_eq!((set.held(), connections(&bed)), (50, before + 1), "fifty locks, one connection");
    // Another process can take none of them, and the set none of another's.
    assert!(other.store.try_lock("sync:7", std::time::Duration::ZERO).unwrap().is_none());
    let theirs = other.store.try_lock("sync:51", std::time::Duration::ZERO).unwrap().unwrap();
    // Releasing some and taking more is one statement; what another holds is refused.
    let got = set.exchange(&["sync:7".to_string()], &["sync:51".to_string(), "sync:52".to_string()]).unwrap();
    assert_eq!((got, set.held()), (vec![false, true], 50));
    assert!(other.store.try_lock("sync:7", std::time::Duration::ZERO).unwrap().is_some(), "released");
    drop(theirs);
    // Dropping the set releases the rest.
    drop(set);
    assert!(other.store.try_lock("sync:1", std::time::Duration::ZERO).unwrap().is_some());
    assert!(other.store.try_lock("sync:52", std::time::Duration::ZERO).unwrap().is_some());
}

#[test]
fn threads_holding_locks_are_bounded_and_never_starve_their_own_statements() {
    // More threads than the pool has connections, each holding a lock while it runs a nested
    // statement (its call connection lent out) and waits: they take turns for the permits,
    // and none waits for a connection the others hold.
    use std::sync::atomic::{AtomicUsize, Ordering};
    let bed = Bed::new();
    let ctx = bed.other_process();
    let (now, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let threads = 3 * kc_meet::store::POOL_MAX;
    let results: Vec<kc_meet::error::Result<()>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (ctx, now, most) = (&ctx, &now, &most);
                s.spawn(move || {
                    let _lock = ctx.store.lock(&format!("probe:{i}"), std::time::Duration::from_secs(30))?;
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(n, Ordering::SeqCst);
                    let mut lent = ctx.store.conn()?;
                    lent.query_drop("DO 1")?;
                    ctx.store.audit(None, None, "probe", "ok", &format!("thread {i}"))?;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                    now.fetch_sub(1, Ordering::SeqCst);
                    Ok(())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(results.iter().all(|r| r.is_ok()), "{:?}", results.iter().filter_map(|r| r.as_ref().err()).collect::<Vec<_>>());
    let held = most.load(Ordering::SeqCst);
    assert!((1..=kc_meet::store::LOCK_HOLDERS).contains(&held), "{held} threads held a lock at once");
    let n: Option<u64> = bed.sql().query_first("SELECT COUNT(*) FROM wp_kc_meet_audit WHERE action = 'probe'").unwrap();
    assert_eq!(n, Some(threads as u64));
    assert!(connections(&bed) <= kc_meet::store::POOL_MAX + 1, "the pool's connections and the test's own");
}

#[test]
fn a_lock_set_takes_a_paired_lock_only_with_its_first() {
    let bed = Bed::new();
    let ctx = bed.other_process();
    let other = bed.other_process();
    let firsts = other.store.lock("sync:2", std::time::Duration::ZERO).unwrap();
    let seconds = other.store.lock("doctor:3", std::time::Duration::ZERO).unwrap();
    let mut set = ctx.store.lock_set();
    let pair = |d: u64| (format!("sync:{d}"), Some(format!("doctor:{d}")));
    let take = vec![pair(1), pair(2), pair(3), ("sync:4".to_string(), None)];
    // Both; neither (the first is another's, so the second is not even tried); the first only.
    let got = set.exchange_paired(&[], &take).unwrap();
    assert_eq!(got, vec![(true, true), (false, false), (true, false), (true, false)]);
    assert_eq!(set.held(), 4);
    assert!(set.holds("doctor:1") && !set.holds("doctor:2") && !set.holds("doctor:3") && set.holds("sync:3"));
    drop((firsts, seconds));
    assert!(other.store.try_lock("doctor:2", std::time::Duration::ZERO).unwrap().is_some(), "never taken by the set");
    assert!(other.store.try_lock("doctor:1", std::time::Duration::ZERO).unwrap().is_none(), "held by the set");
    // Released by name like any other of its locks.
    set.exchange(&["doctor:1".to_string()], &[]).unwrap();
    assert!(!set.holds("doctor:1") && set.holds("sync:1"));
    assert!(other.store.try_lock("doctor:1", std::time::Duration::ZERO).unwrap().is_some());
    // Releasing what it no longer holds sends nothing and keeps the rest.
    assert_eq!(set.exchange(&["doctor:1".to_string()], &[]).unwrap(), Vec::<bool>::new());
    assert_eq!(set.held(), 3);
    assert!(other.store.try_lock("sync:1", std::time::Duration::ZERO).unwrap().is_none(), "still held by the set");
}
