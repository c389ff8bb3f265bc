//! The Rust test bed: a fresh MariaDB database and a fresh Google emulator per test.
//!
//! MariaDB is the real server (account from `KC_MEET_TEST_DB_*`, set up by `./build.sh`); the
//! database gets WordPress's `users`/`usermeta` tables (the two the connection code touches) and
//! our migration. The emulator is `tests/emulator/google_emulator.py`, one process per test.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use kc_meet::base::config::Config;
use kc_meet::runtime::Context;
use mysql::prelude::Queryable;
use serde_json::{Value, json};

pub const CLIENT_ID: &str = "kc-test-client.apps.googleusercontent.com";
pub const CLIENT_SECRET: &str = "kc-test-client-secret";
pub const REDIRECT: &str = "https://clinic.example/wp-json/kc-meet/v1/oauth/callback";
pub const KEY: &str = "test encryption key material";

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

pub fn db_host() -> String {
    format!("{}:{}", env("KC_MEET_TEST_DB_HOST", "127.0.0.1"), env("KC_MEET_TEST_DB_PORT", "3306"))
}

fn admin_pool(db: Option<&str>) -> mysql::Pool {
    pool_as(env("KC_MEET_TEST_DB_USER", "kcmeet_test"), env("KC_MEET_TEST_DB_PASSWORD", "kcmeet_test_pw"), db)
        .expect("test MariaDB account (run ./build.sh deps)")
}

/// A pool of the test server's for `user`.
fn pool_as(user: String, password: String, db: Option<&str>) -> mysql::Result<mysql::Pool> {
    let opts = mysql::OptsBuilder::new()
        .ip_or_hostname(Some(env("KC_MEET_TEST_DB_HOST", "127.0.0.1")))
        .tcp_port(env("KC_MEET_TEST_DB_PORT", "3306").parse().unwrap())
        .user(Some(user))
        .pass(Some(password))
        .db_name(db)
        .prefer_socket(false)
        // No idle connections opened up front (the default opens 10 per pool): many tests share
        // one server's connection limit.
        .pool_opts(mysql::PoolOpts::default().with_constraints(mysql::PoolConstraints::new(0, 8).unwrap()));
    mysql::Pool::new(opts)
}

/// A connection as the server's administrator (`KC_MEET_TEST_DB_ROOT_USER`, default root with
/// `KC_MEET_TEST_DB_ROOT_PASSWORD`, default empty, over TCP): what global settings such as the
/// general log need.
pub fn root_conn() -> mysql::PooledConn {
    pool_as(env("KC_MEET_TEST_DB_ROOT_USER", "root"), env("KC_MEET_TEST_DB_ROOT_PASSWORD", ""), None)
        .and_then(|p| p.get_conn())
        .expect("MariaDB's administrator account (KC_MEET_TEST_DB_ROOT_USER/PASSWORD)")
}

/// A running emulator.
pub struct Emulator {
    child: Child,
    pub base: String,
    http: reqwest::blocking::Client,
}

impl Emulator {
    pub fn start(tls: Option<(&str, &str)>) -> Emulator {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/emulator/google_emulator.py");
        let mut cmd = Command::new("python3");
        cmd.arg(script).args(["--port", "0"]).stdout(Stdio::piped()).stderr(Stdio::null());
        if let Some((cert, key)) = tls {
            cmd.args(["--tls-cert", cert, "--tls-key", key]);
        }
        let mut child = cmd.spawn().expect("python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let base = line.trim().strip_prefix("READY ").expect("emulator READY line").to_string();
        let http = reqwest::blocking::Client::builder().danger_accept_invalid_certs(true).build().unwrap();
        let emu = Emulator { child, base, http };
        emu.post("/__emu/clients", json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [REDIRECT]}));
        emu
    }

    pub fn post(&self, path: &str, body: Value) -> Value {
        let r = self.http.post(format!("{}{path}", self.base)).json(&body).send().unwrap();
        let status = r.status();
        let v: Value = r.json().unwrap_or(Value::Null);
        assert!(status.is_success(), "emulator {path} answered {status}: {v}");
        v
    }

    pub fn get(&self, path: &str) -> Value {
        self.http.get(format!("{}{path}", self.base)).send().unwrap().json().unwrap()
    }

    pub fn delete(&self, path: &str) {
        self.http.delete(format!("{}{path}", self.base)).send().unwrap();
    }

    /// The requests Google saw (control calls excluded).
    pub fn requests(&self) -> Vec<Value> {
        self.get("/__emu/requests")["requests"].as_array().cloned().unwrap_or_default()
    }

    pub fn count(&self, method: &str, path: &str) -> usize {
        self.requests().iter().filter(|r| r["method"] == method && r["path"].as_str().unwrap_or("").starts_with(path)).count()
    }

    pub fn refreshes(&self) -> usize {
        self.requests().iter().filter(|r| r["path"] == "/token" && r["grant_type"] == "refresh_token").count()
    }

    pub fn grants(&self) -> Vec<Value> {
        self.get("/__emu/grants")["grants"].as_array().cloned().unwrap_or_default()
    }

    pub fn config(&self, cfg: Value) {
        self.post("/__emu/config", cfg);
    }

    pub fn fault(&self, fault: Value) {
        self.post("/__emu/faults", fault);
    }

    /// The doctor's decision on Google's consent screen: the redirect back to us.
    pub fn consent(&self, auth_url: &str, email: &str, decision: &str, granted: Option<&[&str]>) -> Redirect {
        let mut body = json!({"auth_url": auth_url, "email": email, "decision": decision});
        if let Some(g) = granted {
            body["granted_scopes"] = json!(g);
        }
        let v = self.post("/__emu/authorize", body);
        Redirect::parse(v["redirect"].as_str().unwrap())
    }

    pub fn endpoints(&self) -> Value {
        json!({"auth": format!("{}/o/oauth2/v2/auth", self.base), "token": format!("{}/token", self.base),
               "revoke": format!("{}/revoke", self.base), "calendar": format!("{}/calendar/v3", self.base)})
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Google's redirect back to our callback.
#[derive(Debug, Clone)]
pub struct Redirect {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub scope: Option<String>,
}

impl Redirect {
    pub fn parse(location: &str) -> Redirect {
        let url = url::Url::parse(location).unwrap();
        let get = |k: &str| url.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.to_string());
        Redirect { code: get("code"), state: get("state"), error: get("error"), scope: get("scope") }
    }
}

/// A fresh database + emulator + configured context.
pub struct Bed {
    pub db: String,
    pub emu: Emulator,
    pub ctx: Arc<Context>,
    pub raw: Value,
    admin: mysql::Pool,
}

impl Bed {
    pub fn new() -> Bed {
        Bed::with(|_| {}, None)
    }

    /// `tweak` edits the configuration array before it is applied.
    pub fn with(tweak: impl FnOnce(&mut Value), tls: Option<(&str, &str)>) -> Bed {
        let db = format!("kcm_t_{}", kc_meet::base::crypto::random_token(6).to_lowercase().replace(['-', '_'], "x"));
        let admin = admin_pool(None);
        admin.get_conn().unwrap().query_drop(format!("CREATE DATABASE `{db}`")).unwrap();
        let mut c = admin_pool(Some(&db)).get_conn().unwrap();
        // WordPress's own users/usermeta tables (wp-admin/includes/schema.php), reduced to
        // the columns the extension touches plus their keys.
        c.query_drop(
            "CREATE TABLE wp_users (ID bigint(20) unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
               user_login varchar(60) NOT NULL DEFAULT '', user_email varchar(100) NOT NULL DEFAULT '',
               display_name varchar(250) NOT NULL DEFAULT '') DEFAULT CHARSET=utf8mb4",
        )
        .unwrap();
        c.query_drop(
            "CREATE TABLE wp_usermeta (umeta_id bigint(20) unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
               user_id bigint(20) unsigned NOT NULL DEFAULT 0, meta_key varchar(255) DEFAULT NULL,
               meta_value longtext, KEY user_id (user_id), KEY meta_key (meta_key(191))) DEFAULT CHARSET=utf8mb4",
        )
        .unwrap();
        c.query_drop("INSERT INTO wp_users (ID, user_login, user_email) VALUES (1,'admin','a@x'),(2,'doc2','d2@x'),(3,'doc3','d3@x')").unwrap();

        let emu = Emulator::start(tls);
        let mut raw = json!({
            "db_host": db_host(), "db_user": env("KC_MEET_TEST_DB_USER", "kcmeet_test"),
            "db_password": env("KC_MEET_TEST_DB_PASSWORD", "kcmeet_test_pw"), "db_name": db, "db_charset": "utf8mb4",
            "table_prefix": "wp_", "base_prefix": "wp_", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "redirect_uri": REDIRECT, "encryption_key": KEY, "timezone": "Europe/Paris",
            "endpoints": emu.endpoints(), "allow_insecure_loopback": true,
        });
        tweak(&mut raw);
        let ctx = Arc::new(Context::connect(Config::from_value(&raw).expect("test config")).expect("context"));
        ctx.store.migrate().expect("migrate");
        Bed { db, emu, ctx, raw, admin }
    }

    /// A second, independent context on the same site: another PHP process.
    pub fn other_process(&self) -> Arc<Context> {
        Arc::new(Context::connect(Config::from_value(&self.raw).unwrap()).unwrap())
    }

    pub fn sql(&self) -> mysql::PooledConn {
        admin_pool(Some(&self.db)).get_conn().unwrap()
    }

    pub fn meta(&self, user: u64, key: &str) -> Option<String> {
        self.sql()
            .exec_first("SELECT meta_value FROM wp_usermeta WHERE user_id = ? AND meta_key = ? ORDER BY umeta_id LIMIT 1", (user, key))
            .unwrap()
    }

    /// Every value in every table of the test database, as text (a poor man's dump).
    pub fn dump(&self) -> String {
        let mut c = self.sql();
        let tables: Vec<String> = c.query("SHOW TABLES").unwrap();
        let mut out = String::new();
        for t in tables {
            let rows: Vec<mysql::Row> = c.query(format!("SELECT * FROM `{t}`")).unwrap();
            for row in rows {
                for v in row.unwrap() {
                    out.push_str(&v.as_sql(true));
                    out.push('\n');
                }
            }
        }
        out
    }

    /// Runs the whole redirect flow for `doctor` and returns what `connect` returned.
    pub fn connect(&self, doctor: i64, email: &str) -> kc_meet::connection::Connected {
        let url = kc_meet::connection::auth_url(&self.ctx, doctor, doctor).unwrap();
        let back = self.emu.consent(&url, email, "allow", None);
        kc_meet::connection::connect(&self.ctx, doctor, back.code.as_deref().unwrap(), back.state.as_deref().unwrap(), Some(doctor)).unwrap()
    }
}

/// A booking to insert into KiviCare's tables.
pub struct Booking<'a> {
    pub doctor: u64,
    pub patient: u64,
    pub start: &'a str,
    pub end: &'a str,
    pub status: i64,
    pub telemed: bool,
    /// Fills the 4.2+ UTC columns too.
    pub utc: Option<(&'a str, &'a str)>,
}

impl Default for Booking<'_> {
    fn default() -> Self {
        Booking { doctor: 2, patient: 4, start: "2031-05-06 10:00:00", end: "2031-05-06 10:30:00", status: 1, telemed: true, utc: None }
    }
}

impl Bed {
    /// Adds KiviCare's tables (tests/wordpress/kivicare-schema.sql), a clinic, a telemed and an
    /// in-person service for doctors 2 and 3, a patient, and WordPress's posts table.
    pub fn kivicare(&self) {
        let mut c = self.sql();
        for stmt in include_str!("../wordpress/kivicare-schema.sql").replace("{prefix}", "wp_").split(";\n") {
            let sql: String = stmt.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n");
            if !sql.trim().is_empty() {
                c.query_drop(sql).unwrap();
            }
        }
        c.query_drop(
            "CREATE TABLE wp_posts (ID bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, post_title text NOT NULL,
               post_content longtext NOT NULL, post_status varchar(20) NOT NULL DEFAULT 'publish', post_name varchar(200) NOT NULL DEFAULT '',
               post_type varchar(20) NOT NULL DEFAULT 'post') DEFAULT CHARSET=utf8mb4",
        )
        .unwrap();
        c.query_drop("INSERT INTO wp_users (ID, user_login, user_email, display_name) VALUES (4, 'pat', 'patient@example.org', 'Pat Patient')").unwrap();
        c.query_drop("UPDATE wp_users SET display_name = 'Dr. Two', user_email = 'two@clinic.example' WHERE ID = 2").unwrap();
        c.query_drop("INSERT INTO wp_kc_clinics (id, name, address, city, postal_code, country, created_at) VALUES (1, 'Main Clinic', '1 Main St', 'Springfield', '12345', 'US', NOW())").unwrap();
        c.query_drop("INSERT INTO wp_kc_services (id, type, name, created_at) VALUES (1, 'consult', 'Video Consult', NOW()), (2, 'consult', 'Check-up', NOW())").unwrap();
        c.query_drop(
            "INSERT INTO wp_kc_service_doctor_mapping (service_id, clinic_id, doctor_id, telemed_service, created_at) VALUES
             (1, 1, 2, 'yes', NOW()), (2, 1, 2, 'no', NOW()), (1, 1, 3, 'yes', NOW())",
        )
        .unwrap();
    }

    /// Inserts an appointment (with its service rows) and returns its id.
    pub fn book(&self, b: Booking) -> u64 {
        let mut c = self.sql();
        let (sd, st) = b.start.split_once(' ').unwrap();
        let (ed, et) = b.end.split_once(' ').unwrap();
        c.exec_drop(
            "INSERT INTO wp_kc_appointments (appointment_start_date, appointment_start_time, appointment_end_date, appointment_end_time,
               clinic_id, doctor_id, patient_id, description, status, created_at, appointment_start_utc, appointment_end_utc)
             VALUES (?, ?, ?, ?, 1, ?, ?, 'private clinical note', ?, NOW(), ?, ?)",
            (sd, st, ed, et, b.doctor, b.patient, b.status, b.utc.map(|u| u.0), b.utc.map(|u| u.1)),
        )
        .unwrap();
        let id = c.last_insert_id();
        c.exec_drop(
            "INSERT INTO wp_kc_appointment_service_mapping (appointment_id, service_id, created_at) VALUES (?, ?, NOW())",
            (id, if b.telemed { 1 } else { 2 }),
        )
        .unwrap();
        id
    }

    /// The events Google holds in that account's calendar (deleted ones included).
    pub fn google_events(&self, email: &str) -> Vec<Value> {
        let v = self.emu.get(&format!("/__emu/events?email={email}"));
        v["events"].as_array().or(v.as_array()).cloned().unwrap_or_default()
    }

    pub fn live_events(&self, email: &str) -> Vec<Value> {
        self.google_events(email).into_iter().filter(|e| e["status"] != "cancelled").collect()
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        if let Ok(mut c) = self.admin.get_conn() {
            let _ = c.query_drop(format!("DROP DATABASE IF EXISTS `{}`", self.db));
        }
    }
}

/// Creates users `first..first+n` and connects each to its own Google account
/// (`doc<id>@gmail.example`) through KiviCare 3.x's popup flow, 8 at a time.
pub fn connect_many(bed: &Bed, first: u64, n: u64) {
    let mut c = bed.sql();
    let values: Vec<String> = (first..first + n).map(|id| format!("({id}, 'doc{id}', 'doc{id}@clinic.example')")).collect();
    for chunk in values.chunks(500) {
        c.query_drop(format!("INSERT INTO wp_users (ID, user_login, user_email) VALUES {}", chunk.join(","))).unwrap();
    }
    let ids: Vec<u64> = (first..first + n).collect();
    std::thread::scope(|s| {
        for part in ids.chunks(ids.len().div_ceil(8).max(1)) {
            s.spawn(move || {
                for id in part {
                    let code = bed.emu.post(
                        "/__emu/mint_code",
                        json!({"client_id": CLIENT_ID, "email": format!("doc{id}@gmail.example"),
                               "scopes": ["https://www.googleapis.com/auth/calendar"], "redirect_uri": "postmessage", "access_type": "offline"}),
                    )["code"]
                        .as_str()
                        .unwrap()
                        .to_string();
                    kc_meet::connection::connect_postmessage(&bed.ctx, *id as i64, &code).unwrap();
                }
            });
        }
    });
}

/// The promise the fault and database suites check: every booked (status 1/3/4) telemedicine
/// appointment of `doctor` has exactly one live event at its time in `email`'s calendar, or a
/// visible queued/failed job; no live event of ours without such an appointment; no
/// appointment with two live events. With `settled` (jobs have drained), a job still excuses a
/// missing or misplaced event only when `allow_jobs` says a lasting job is the expected visible
/// state (Google refused for good, or failed to create the Meet conference).
/// Returns what is wrong, one line per problem (empty = kept).
pub fn calendar_problems(bed: &Bed, doctor: u64, email: &str, settled: bool, allow_jobs: bool) -> Vec<String> {
    use std::collections::HashMap;
    let mut c = bed.sql();
    // (id, status, start_utc, end_utc, telemed)
    type Appt = (u64, i64, Option<String>, Option<String>, i64);
    let appts: Vec<Appt> = c
        .exec(
            "SELECT a.id, a.status, DATE_FORMAT(a.appointment_start_utc, '%Y-%m-%dT%H:%i:%s'), DATE_FORMAT(a.appointment_end_utc, '%Y-%m-%dT%H:%i:%s'),
                    EXISTS (SELECT 1 FROM wp_kc_appointment_service_mapping asm JOIN wp_kc_service_doctor_mapping sdm
                              ON sdm.service_id = asm.service_id AND sdm.doctor_id = a.doctor_id AND sdm.clinic_id = a.clinic_id
                             AND sdm.telemed_service = 'yes' WHERE asm.appointment_id = a.id)
             FROM wp_kc_appointments a WHERE a.doctor_id = ?",
            (doctor,),
        )
        .unwrap();
    let jobs: HashMap<u64, String> = c.query("SELECT appointment_id, state FROM wp_kc_meet_jobs").unwrap().into_iter().collect();
    let mappings: HashMap<u64, (String, String)> = c
        .query_map("SELECT appointment_id, event_id, url FROM wp_kc_appointment_google_meet_mappings", |(a, e, u)| (a, (e, u)))
        .unwrap()
        .into_iter()
        .collect();
    let mut live: HashMap<u64, Vec<Value>> = HashMap::new();
    let mut problems = vec![];
    for ev in bed.live_events(email) {
        match ev["extendedProperties"]["private"]["kc_meet_appointment"].as_str().and_then(|s| s.parse::<u64>().ok()) {
            Some(a) => live.entry(a).or_default().push(ev),
            None => problems.push(format!("live event {} carries no appointment id", ev["id"])),
        }
    }
    let utc = |v: &Value| {
        v["dateTime"].as_str().and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok()).map(|t| t.with_timezone(&chrono::Utc).format("%Y-%m-%dT%H:%M:%S").to_string())
    };
    let job_excuses = |id: u64| jobs.contains_key(&id) && (!settled || allow_jobs);
    let mut booked = std::collections::HashSet::new();
    for (id, status, start, end, telemed) in &appts {
        if !matches!(status, 1 | 3 | 4) || *telemed == 0 {
            continue;
        }
        booked.insert(*id);
        let evs = live.get(id).cloned().unwrap_or_default();
        if evs.len() > 1 {
            problems.push(format!("appointment {id}: {} live events (duplicate): {:?}", evs.len(), evs.iter().map(|e| e["id"].clone()).collect::<Vec<_>>()));
            continue;
        }
        let Some(ev) = evs.first() else {
            if !job_excuses(*id) {
                problems.push(format!("appointment {id}: no event and no visible job (job: {:?})", jobs.get(id)));
            }
            continue;
        };
        let at = (utc(&ev["start"]), utc(&ev["end"]));
        if (at.0.as_ref(), at.1.as_ref()) != (start.as_ref(), end.as_ref()) && !job_excuses(*id) {
            problems.push(format!("appointment {id}: event {} at {:?}, appointment at {:?} (job: {:?})", ev["id"], at, (start, end), jobs.get(id)));
        }
        if settled {
            match mappings.get(id) {
                Some((eid, url)) => {
                    if ev["id"].as_str() != Some(eid.as_str()) {
                        problems.push(format!("appointment {id}: mapping names {eid}, Google holds {}", ev["id"]));
                    }
                    if url.is_empty() && !job_excuses(*id) {
                        problems.push(format!("appointment {id}: no Meet link in the mapping and no visible job"));
                    }
                }
                None if !job_excuses(*id) => problems.push(format!("appointment {id}: live event {} but no mapping row", ev["id"])),
                None => {}
            }
        }
    }
    for (id, evs) in &live {
        if !booked.contains(id) && !job_excuses(*id) {
            problems.push(format!("orphan: appointment {id} is not a booked telemedicine appointment, yet Google holds {:?}", evs.iter().map(|e| e["id"].clone()).collect::<Vec<_>>()));
        }
    }
    problems
}

impl Bed {
    /// Runs the queued jobs until none is due any more (each round makes every queued job due
    /// now, as later cron ticks would), at most `rounds` times.
    pub fn drain_jobs(&self, rounds: usize) {
        let mut c = self.sql();
        for _ in 0..rounds {
            let queued: usize = c.query_first("SELECT COUNT(*) FROM wp_kc_meet_jobs WHERE state = 'queued'").unwrap().unwrap_or(0);
            if queued == 0 {
                return;
            }
            c.query_drop("UPDATE wp_kc_meet_jobs SET next_run_at = UTC_TIMESTAMP() WHERE state = 'queued'").unwrap();
            let _ = kc_meet::jobs::run(&self.ctx, 200, 30.0);
        }
    }
}
