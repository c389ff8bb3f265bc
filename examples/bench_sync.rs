//! `./build.sh bench`: one idle sync round over many connected doctors with emulated Google
//! latency (real MariaDB, the Google emulator). Prints the wall time, the number of Google
//! calls, what the same round would take one doctor at a time, the CPU time and the MySQL
//! connections the server saw from the round (sampled from `information_schema.PROCESSLIST`);
//! writes `target/bench/bench_sync.json` (or `$KC_MEET_BENCH_OUT/bench_sync.json`).
//!
//! Usage: cargo run --release --example bench_sync -- [doctors=1000] [latency_ms=50]
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
