//! The lock-free look of a create or update call ("nothing to do" without a lock or a write):
//! whatever the event shows that changed since it was written is seen by the next call, so
//! the look never answers "unchanged" for an event that no longer matches.

mod common;

use common::{Bed, Booking};
use kc_meet::events;
use mysql::prelude::Queryable;
use serde_json::{Value, json};

const DOC: &str = "dr.two@gmail.example";

fn bed() -> Bed {
    let bed = Bed::with(|v| v["request_budget_s"] = json!(3.0), None);
    bed.kivicare();
    bed.connect(2, DOC);
    bed
}

fn create(bed: &Bed, id: u64) -> (String, Option<String>) {
    let o = events::create(&bed.ctx, id as i64, &Value::Null).unwrap();
    (o.state.as_str().to_string(), o.reason.map(|r| r.as_str().to_string()))
}

/// Adds the site's event template post (KiviCare's slug and post type) with this title.
fn add_template(bed: &Bed, title: &str) {
    bed.sql()
        .exec_drop(
            "INSERT INTO wp_posts (post_title, post_content, post_name, post_type) VALUES (?, 'Body', 'kivicare_doctor_gm_event_template', 'kivicare_gmeet_tmp')",
            (title,),
        )
        .unwrap();
}

fn summary(bed: &Bed) -> String {
    let live = bed.live_events(DOC);
    assert_eq!(live.len(), 1, "one event: {live:?}");
    live[0]["summary"].as_str().unwrap_or_default().to_string()
}

#[test]
fn the_event_template_added_or_edited_in_wp_admin_is_seen_by_the_next_call() {
    let bed = bed();
    let id = bed.book(Booking::default());
    assert_eq!(create(&bed, id).0, "created");
    assert_eq!(create(&bed, id).0, "unchanged", "the worker knows the site's tables and statement now");
    assert_eq!(summary(&bed), "Video Consult with Dr. Two");

    add_template(&bed, "{{service_name}} for {{patient_name}}");
    assert_eq!(create(&bed, id).0, "updated", "a template added since is used at once");
    assert_eq!(summary(&bed), "Video Consult for Pat Patient");
    assert_eq!(create(&bed, id).0, "unchanged");

    bed.sql().query_drop("UPDATE wp_posts SET post_title = 'Call: {{patient_name}}' WHERE post_type = 'kivicare_gmeet_tmp'").unwrap();
    assert_eq!(create(&bed, id).0, "updated", "an edited title is seen by the next call");
    assert_eq!(summary(&bed), "Call: Pat Patient");

    bed.sql().query_drop("UPDATE wp_posts SET post_status = 'trash' WHERE post_type = 'kivicare_gmeet_tmp'").unwrap();
    assert_eq!(create(&bed, id).0, "updated", "a trashed template is no longer used");
    assert_eq!(summary(&bed), "Video Consult with Dr. Two");
    assert_eq!(create(&bed, id).0, "unchanged");
}

#[test]
fn a_doctor_turned_off_in_kivicare_is_seen_by_the_next_call() {
    let bed = bed();
    let id = bed.book(Booking::default());
    assert_eq!(create(&bed, id).0, "created");
    assert_eq!(create(&bed, id).0, "unchanged");
    bed.sql()
        .query_drop("UPDATE wp_usermeta SET meta_value = 'off' WHERE user_id = 2 AND meta_key = 'kiviCare_google_meet_connect'")
        .unwrap();
    assert_eq!(create(&bed, id), ("skipped".into(), Some("doctor_not_connected".into())));
    bed.sql()
        .query_drop("UPDATE wp_usermeta SET meta_value = 'on' WHERE user_id = 2 AND meta_key = 'kiviCare_google_meet_connect'")
        .unwrap();
    assert_eq!(create(&bed, id).0, "unchanged");
    bed.sql().query_drop("UPDATE wp_kc_meet_doctors SET status = 'needs_reconnect' WHERE doctor_id = 2").unwrap();
    assert_eq!(create(&bed, id), ("skipped".into(), Some("doctor_needs_reconnect".into())));
}

#[test]
fn what_the_summary_and_times_come_from_is_read_again_on_every_call() {
    let bed = bed();
    let id = bed.book(Booking::default());
    assert_eq!(create(&bed, id).0, "created");
    assert_eq!(create(&bed, id).0, "unchanged");
    // The doctor's name (the default summary) and time zone (the local columns' meaning).
    bed.sql().query_drop("UPDATE wp_users SET display_name = 'Dr. Renamed' WHERE ID = 2").unwrap();
    assert_eq!(create(&bed, id).0, "updated");
    assert_eq!(summary(&bed), "Video Consult with Dr. Renamed");
    bed.sql().query_drop("INSERT INTO wp_usermeta (user_id, meta_key, meta_value) VALUES (2, 'timezone', 'America/New_York')").unwrap();
    assert_eq!(create(&bed, id).0, "updated");
    let start = bed.live_events(DOC)[0]["start"]["dateTime"].as_str().unwrap().to_string();
    assert_eq!(start, "2031-05-06T10:00:00-04:00", "10:00 in the doctor's zone now");
    // A service's alias for this doctor.
    bed.sql().query_drop("UPDATE wp_kc_service_doctor_mapping SET service_name_alias = 'Tele visit' WHERE doctor_id = 2 AND service_id = 1").unwrap();
    assert_eq!(create(&bed, id).0, "updated");
    assert_eq!(summary(&bed), "Tele visit with Dr. Renamed");
    assert_eq!(create(&bed, id).0, "unchanged");
}

#[test]
fn a_posts_table_made_after_the_first_calls_is_read_from_then_on() {
    let bed = bed();
    let ddl: (String, String) = bed.sql().query_first("SHOW CREATE TABLE wp_posts").unwrap().unwrap();
    bed.sql().query_drop("DROP TABLE wp_posts").unwrap();
    let id = bed.book(Booking::default());
    assert_eq!(create(&bed, id).0, "created");
    assert_eq!(create(&bed, id).0, "unchanged");
    bed.sql().query_drop(ddl.1).unwrap();
    add_template(&bed, "Consultation: {{patient_name}}");
    assert_eq!(create(&bed, id).0, "updated", "the template is read once the table exists");
    assert_eq!(summary(&bed), "Consultation: Pat Patient");
    assert_eq!(create(&bed, id).0, "unchanged");
}

/// The look reads rows that may come more than once (template posts, the doctor's meta rows,
/// the appointment's services and mapping rows) in one statement that joins them all: what
/// it takes from them is what WordPress and KiviCare core take (the first meta row of a key,
/// the template named for the doctor's events, the first mapping row), however many there are.
#[test]
fn rows_that_come_more_than_once_are_read_as_wordpress_and_core_read_them() {
    let bed = bed();
    let id = bed.book(Booking::default());
    assert_eq!(create(&bed, id).0, "created");
    let mut c = bed.sql();

    // A second, in-person service on the appointment: the summary still names the telemed one.
    c.query_drop(format!("INSERT INTO wp_kc_appointment_service_mapping (appointment_id, service_id, created_at) VALUES ({id}, 2, NOW())")).unwrap();
    assert_eq!(create(&bed, id).0, "unchanged");

    // Template posts: the first by id, until one has the slug of the doctor's event template.
    c.query_drop("INSERT INTO wp_posts (post_title, post_content, post_name, post_type) VALUES ('Generic: {{patient_name}}', 'Body', 'other', 'kivicare_gmeet_tmp')").unwrap();
    c.query_drop("INSERT INTO wp_posts (post_title, post_content, post_name, post_type) VALUES ('Later: {{patient_name}}', 'Body', 'later', 'kivicare_gmeet_tmp')").unwrap();
    assert_eq!(create(&bed, id).0, "updated");
    assert_eq!(summary(&bed), "Generic: Pat Patient");
    add_template(&bed, "Named: {{patient_name}}");
    assert_eq!(create(&bed, id).0, "updated");
    assert_eq!(summary(&bed), "Named: Pat Patient");
    assert_eq!(create(&bed, id).0, "unchanged");

    // The doctor's meta rows: a key's first row counts, later copies do not.
    c.query_drop("INSERT INTO wp_usermeta (user_id, meta_key, meta_value) VALUES (2, 'timezone', 'America/New_York')").unwrap();
    assert_eq!(create(&bed, id).0, "updated");
    c.query_drop(
        "INSERT INTO wp_usermeta (user_id, meta_key, meta_value) VALUES (2, 'timezone', 'Asia/Tokyo'),
           (2, 'kiviCare_google_meet_connect', 'off'), (2, 'google_meet_access_token', 'not a token')",
    )
    .unwrap();
    assert_eq!(create(&bed, id).0, "unchanged", "later copies of the zone, the connect flag and the token are not read");
    let start = bed.live_events(DOC)[0]["start"]["dateTime"].as_str().unwrap().to_string();
    assert_eq!(start, "2031-05-06T10:00:00-04:00");

    // A second mapping row (as the vendor add-on left them) is not a state the look leaves: the
    // locked path writes the appointment's rows down to the one core reads.
    let event_id: String = c.exec_first("SELECT event_id FROM wp_kc_appointment_google_meet_mappings WHERE appointment_id = ?", (id,)).unwrap().unwrap();
    c.exec_drop(
        "INSERT INTO wp_kc_appointment_google_meet_mappings (appointment_id, event_id, url, event_url, created_at) VALUES (?, 'stray', 'https://meet.google.com/aaa-bbbb-ccc', '', NOW())",
        (id,),
    )
    .unwrap();
    create(&bed, id);
    let mapping = |c: &mut mysql::PooledConn| -> Vec<(String, String)> {
        c.exec("SELECT event_id, url FROM wp_kc_appointment_google_meet_mappings WHERE appointment_id = ? ORDER BY id", (id,)).unwrap()
    };
    let rows = mapping(&mut c);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].0, event_id);
    let link = rows[0].1.clone();
    assert!(link.starts_with("https://meet.google.com/"), "{link}");
    assert_eq!(create(&bed, id).0, "unchanged");

    // The row edited or removed by hand is written again (Google is not asked: nothing changed there).
    let etag = bed.live_events(DOC)[0]["etag"].clone();
    c.exec_drop("UPDATE wp_kc_appointment_google_meet_mappings SET url = '' WHERE appointment_id = ?", (id,)).unwrap();
    create(&bed, id);
    assert_eq!(mapping(&mut c), vec![(event_id.clone(), link.clone())]);
    c.exec_drop("DELETE FROM wp_kc_appointment_google_meet_mappings WHERE appointment_id = ?", (id,)).unwrap();
    create(&bed, id);
    assert_eq!(mapping(&mut c), vec![(event_id, link)]);
    assert_eq!(create(&bed, id).0, "unchanged");
    let live = bed.live_events(DOC);
    assert_eq!(live.len(), 1);
    assert_eq!(live[0]["etag"], etag, "the event at Google was not written");
}
