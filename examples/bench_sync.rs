//! `./build.sh bench`: one idle sync round over many connected doctors with emulated Google
//! latency (real MariaDB, the Google emulator). Prints the wall time, the number of Google
//! calls, what the same round would take one doctor at a time, the CPU time and the MySQL
//! connections the server saw from the round (sampled from `information_schema.PROCESSLIST`);
//! writes `target/bench/bench_sync.json` (or `$KC_MEET_BENCH_OUT/bench_sync.json`).
//!
//! Usage: cargo run --release --example bench_sync -- [doctors=1000] [latency_ms=50]
//!
//! `… -- calendar [events=10000] [moves=100] [runs=5]`: one doctor's large calendar instead
//! (`events` of ours, each with its KiviCare appointment, plus as many foreign ones), listed in
//! full once; then `runs` times `moves` of ours are moved in Google and an incremental sync
//! applies them. Prints each incremental sync's wall and CPU time and the MySQL statements it
//! ran: the server's count (`Questions`) of the one connection a one-doctor sync uses, checked
//! to be the only one the run's own database account has open.
//!
//! `KC_MEET_BENCH_TOKEN_TTL=<seconds>` issues access tokens that short-lived: below the refresh
//! margin (300 s), every doctor's token is refreshed in the measured round as well.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use serde_json::json;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("calendar") {
        let arg = |i: usize, d: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(d);
        return calendar(arg(2, 10_000), arg(3, 100), arg(4, 5));
    }
    let n: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let latency_ms: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(50);
    let bed = common::Bed::new();
    if let Some(ttl) = std::env::var("KC_MEET_BENCH_TOKEN_TTL").ok().and_then(|v| v.parse::<u64>().ok()) {
        bed.emu.config(json!({"access_token_ttl": ttl}));
    }
    let t = Instant::now();
    common::connect_many(&bed, 100, n);
    println!("setup: {n} doctors connected in {:.1} s", t.elapsed().as_secs_f64());
    let first = kc_meet::sync::sync(&bed.ctx, &json!({"budget_s": 600})).unwrap();
    println!("first (full) round: {:.2} s, {} Google calls", first.elapsed_s, first.google_calls);

    bed.emu.config(json!({"latency_s": latency_ms as f64 / 1000.0}));
    bed.emu.delete("/__emu/requests");
    let rss_before = rss_kb();
    let watching = AtomicBool::new(true);
    let (r, wall, cpu, (most, distinct)) = std::thread::scope(|s| {
        let watch = s.spawn(|| watch_connections(&bed, &watching));
        let t = Instant::now();
        let cpu0 = cpu_s();
        let r = kc_meet::sync::sync(&bed.ctx, &json!({"budget_s": 600})).unwrap();
        let (wall, cpu) = (t.elapsed().as_secs_f64(), cpu_s() - cpu0);
        watching.store(false, Ordering::Release);
        (r, wall, cpu, watch.join().unwrap())
    });
    let lists = bed.emu.requests().iter().filter(|q| q["method"] == "GET" && q["path"].as_str().unwrap_or("").ends_with("/events")).count();
    let refreshes = bed.emu.refreshes();
    let errors = r.doctors.iter().filter(|d| d.error.is_some() || d.skipped).count();
    println!("idle round, {n} doctors, {latency_ms} ms Google latency, {} concurrent requests:", kc_meet::sync::CONCURRENCY);
    println!("  wall time            {wall:.2} s");
    println!("  one by one would be  {:.2} s (latency alone)", n as f64 * latency_ms as f64 / 1000.0);
    println!("  Google calls         {} (events.list: {lists}, {:.2} per doctor)", r.google_calls, lists as f64 / n as f64);
    println!("  token refreshes      {refreshes}");
    println!("  doctors with errors  {errors}");
    println!("  CPU (this process)   {:.3} s, {:.2} ms per doctor", cpu, cpu * 1000.0 / n as f64);
    println!("  throughput           {:.0} doctors/s", n as f64 / wall);
    println!("  MySQL connections    {most} at most at once, {distinct} in all (pool limit {})", kc_meet::store::POOL_MAX);
    let one_by_one = n as f64 * latency_ms as f64 / 1000.0;
    println!("  RSS                  {} kB -> {} kB", rss_before, rss_kb());
    println!("  against one by one   1/{:.1}", one_by_one / wall);
    let json = serde_json::json!({
        "doctors": n, "latency_ms": latency_ms, "concurrency": kc_meet::sync::CONCURRENCY,
        "wall_s": wall, "one_by_one_s": one_by_one, "fraction_of_one_by_one": wall / one_by_one,
        "cpu_ms_per_doctor": cpu * 1000.0 / n as f64, "google_calls": r.google_calls, "token_refreshes": refreshes, "errors": errors,
        "mysql_connections_max": most, "mysql_connections_distinct": distinct, "pool_max": kc_meet::store::POOL_MAX,
    });
    // KC_MEET_BENCH_OUT: the smoke run of `./build.sh test` writes elsewhere than the bench.
    let dir = std::env::var("KC_MEET_BENCH_OUT").unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/target/bench").to_string());
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(format!("{dir}/bench_sync.json"), serde_json::to_string_pretty(&json).unwrap_or_default());
}

/// The process's CPU time (user + system), to the microsecond.
fn cpu_s() -> f64 {
    let mut u = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF is always valid.
    let u = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, u.as_mut_ptr());
        u.assume_init()
    };
    let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    s(u.ru_utime) + s(u.ru_stime)
}

/// The connections to the bench's database the server lists (its own excluded), every 10 ms
/// while `watching`: the most at once and how many different ones.
fn watch_connections(bed: &common::Bed, watching: &AtomicBool) -> (usize, usize) {
    let mut c = bed.sql();
    let (mut most, mut seen) = (0, BTreeSet::new());
    while watching.load(Ordering::Acquire) {
        let ids: Vec<u64> = c
            .exec("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()", (bed.db.as_str(),))
            .unwrap_or_default();
        most = most.max(ids.len());
        seen.extend(ids);
        std::thread::sleep(Duration::from_millis(10));
    }
    (most, seen.len())
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// The `calendar` bench (see the module's doc).
fn calendar(events: usize, moves: usize, runs: usize) {
    const EMAIL: &str = "bench-doctor@gmail.example";
    let user = format!("kcmeet_sync_bench_{}", std::process::id());
    let bed = common::Bed::new();
    // An account of its own, made by the server's root (as tests/bench/run.php does).
    let root_opts = mysql::OptsBuilder::new()
        .ip_or_hostname(Some(std::env::var("KC_MEET_TEST_DB_HOST").unwrap_or_else(|_| "127.0.0.1".into())))
        .user(Some("root"))
        .db_name(Some(bed.db.as_str()))
        .prefer_socket(false);
    let mut root = mysql::Conn::new(root_opts).expect("MariaDB's root on TCP");
    for host in ["localhost", "127.0.0.1"] {
        root.query_drop(format!("CREATE USER '{user}'@'{host}' IDENTIFIED BY 'bench_pw'")).unwrap();
        root.query_drop(format!("GRANT ALL ON `{}`.* TO '{user}'@'{host}'", bed.db)).unwrap();
    }
    bed.kivicare();
    bed.connect(2, EMAIL);
    let site = kc_meet::events::site_key(&bed.ctx);
    let t = Instant::now();
    let mut ours: Vec<String> = vec![];
    for k in (0..events).step_by(2000) {
        let batch: Vec<(u64, i64)> = (k..events.min(k + 2000)).map(|i| (1_000_000 + i as u64, chrono::Utc::now().timestamp() + 86400 * (2 + i as i64 % 300) + 600 * (i as i64 / 300))).collect();
        let when = |t: i64| chrono::DateTime::from_timestamp(t, 0).unwrap();
        let body: Vec<serde_json::Value> = batch
            .iter()
            .map(|&(appt, start)| {
                json!({"id": format!("kcm{site}g{appt:x}g0"), "summary": "Video consultation",
                    "start": {"dateTime": when(start).format("%Y-%m-%dT%H:%M:%SZ").to_string()},
                    "end": {"dateTime": when(start + 600).format("%Y-%m-%dT%H:%M:%SZ").to_string()},
                    "extendedProperties": {"private": {"kc_meet_site": site, "kc_meet_appointment": appt.to_string()}}})
            })
            .collect();
        let made = bed.emu.post("/__emu/ui/create_many", json!({"email": EMAIL, "events": body}))["events"].as_array().cloned().unwrap();
        let (mut appts, mut maps, mut rows) = (vec![], vec![], vec![]);
        for (&(appt, start), m) in batch.iter().zip(&made) {
            let (s, e) = (when(start), when(start + 600));
            let id = m["id"].as_str().unwrap();
            let etag = m["etag"].as_str().unwrap().replace('\'', "''");
            ours.push(id.to_string());
            appts.push(format!(
                "({appt}, '{}', '{}', '{}', '{}', 1, 2, 4, 1, 'bench', NOW(), '{}', '{}')",
                s.format("%Y-%m-%d"), s.format("%H:%M:%S"), e.format("%Y-%m-%d"), e.format("%H:%M:%S"), s.format("%Y-%m-%d %H:%M:%S"), e.format("%Y-%m-%d %H:%M:%S")
            ));
            maps.push(format!("({appt}, '{id}', 'https://meet.google.com/aaa-bbbb-ccc', '', NOW(), '{etag}')"));
            rows.push(format!(
                "({appt}, 2, 'primary', '{id}', 0, 'active', 'https://meet.google.com/aaa-bbbb-ccc', '', 'success', '{etag}', 0, '', '{}', '{}', 'Video consultation', UTC_TIMESTAMP(), UTC_TIMESTAMP())",
                s.format("%Y-%m-%d %H:%M:%S"), e.format("%Y-%m-%d %H:%M:%S")
            ));
        }
        root.query_drop(format!("INSERT INTO wp_kc_appointments (id, appointment_start_date, appointment_start_time, appointment_end_date, appointment_end_time, clinic_id, doctor_id, patient_id, status, description, created_at, appointment_start_utc, appointment_end_utc) VALUES {}", appts.join(","))).unwrap();
        root.query_drop(format!("INSERT INTO wp_kc_appointment_google_meet_mappings (appointment_id, event_id, url, event_url, created_at, extra) VALUES {}", maps.join(","))).unwrap();
        root.query_drop(format!("INSERT INTO wp_kc_meet_events (appointment_id, doctor_id, calendar_id, event_id, generation, state, meet_url, event_url, conference_status, etag, sequence, google_updated, start_utc, end_utc, summary, created_at, updated_at) VALUES {}", rows.join(","))).unwrap();
        let foreign: Vec<serde_json::Value> = body.iter().map(|e| json!({"summary": "Lunch", "start": e["start"], "end": e["end"]})).collect();
        bed.emu.post("/__emu/ui/create_many", json!({"email": EMAIL, "events": foreign}));
    }
    println!("setup: {events} of ours + {events} foreign events in {:.1} s", t.elapsed().as_secs_f64());
    // The measured syncs run as a process of their own would: their own context and account.
    let mut raw = bed.raw.clone();
    raw["db_user"] = json!(user);
    raw["db_password"] = json!("bench_pw");
    let ctx = kc_meet::runtime::Context::connect(kc_meet::base::config::Config::from_value(&raw).unwrap()).unwrap();
    let full = kc_meet::sync::sync(&ctx, &json!({"doctor_id": 2, "full": true, "budget_s": 600})).unwrap();
    println!("full listing: {} events seen in {:.0} ms", full.doctors[0].events_seen, full.elapsed_s * 1000.0);
    // The sync's statements: its connection's count, read on that connection (the count
    // includes the reading statement itself).
    let statements = || -> u64 {
        let mut c = ctx.store.conn().unwrap();
        let row: (String, u64) = c.query_first("SHOW SESSION STATUS LIKE 'Questions'").unwrap().unwrap();
        row.1
    };
    let connections = |root: &mut mysql::Conn| -> u64 {
        root.query_first(format!("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '{user}'")).unwrap().unwrap_or(0)
    };
    let mut samples = vec![];
    for run in 0..runs {
        for (i, id) in ours.iter().skip(run * moves).take(moves).enumerate() {
            let t = chrono::Utc::now().timestamp() + 86400 * 380 + 3600 * i as i64;
            let at = |t: i64| chrono::DateTime::from_timestamp(t, 0).unwrap().format("%Y-%m-%dT%H:%M:%SZ").to_string();
            bed.emu.post("/__emu/ui/move", json!({"email": EMAIL, "event_id": id, "start": {"dateTime": at(t)}, "end": {"dateTime": at(t + 600)}}));
        }
        let before = statements();
        let (t, cpu0) = (Instant::now(), cpu_s());
        let r = kc_meet::sync::sync(&ctx, &json!({"doctor_id": 2})).unwrap();
        let (wall, cpu) = (t.elapsed().as_secs_f64() * 1000.0, (cpu_s() - cpu0) * 1000.0);
        let n = statements() - before - 1;
        assert_eq!(connections(&mut root), 1, "the sync ran on one connection, whose count this is");
        let d = &r.doctors[0];
        assert_eq!((d.changes_applied as usize, d.error.as_deref()), (moves, None), "every move applied");
        println!("incremental sync {run}: {} events seen, {} changes, {wall:.1} ms wall, {cpu:.1} ms CPU, {n} statements", d.events_seen, d.changes_applied);
        samples.push((wall, cpu, n));
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let (wall, cpu) = (median(samples.iter().map(|s| s.0).collect()), median(samples.iter().map(|s| s.1).collect()));
    println!("median of {runs}: {wall:.1} ms wall, {cpu:.1} ms CPU, {} statements", samples[samples.len() / 2].2);
    drop(ctx);
    for host in ["localhost", "127.0.0.1"] {
        let _ = root.query_drop(format!("DROP USER '{user}'@'{host}'"));
    }
}
