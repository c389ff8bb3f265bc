<?php
/**
 * `./build.sh demo`: a doctor's whole journey on a real WordPress (Debian's package, installed by its
 * own installer) with the plugin and the extension, against the bundled Google emulator:
 * connect → book → Meet link → reschedule → cancel → disconnect. Every step is driven the way the
 * real actors drive it (the admin's settings form and the doctor's profile page over HTTP, KiviCare
 * 4.x core's provider call inside its own database transaction) and checked, not just printed.
 *
 * Started by tests/wordpress/run.sh with KC_MEET_WP_DEMO=1 (it prepares the site and servers).
 */

namespace KcMeetTest;

foreach (['Env', 'Db', 'Response', 'Http', 'Html', 'Emulator', 'Runner'] as $lib) {
	require __DIR__ . "/lib/{$lib}.php";
}

const DEMO_CLIENT_ID = 'demo-clinic.apps.googleusercontent.com';
const DEMO_CLIENT_SECRET = 'demo-client-secret';
const DEMO_GOOGLE_ACCOUNT = 'dr.house@gmail.example';

$step = 0;
function step(string $what): void {
	global $step;
	$step++;
	echo "\n{$step}. {$what}\n";
}
function ok(string $what): void {
	echo "   ✓ {$what}\n";
}
function fact(string $what): void {
	echo "     {$what}\n";
}
function must(bool $cond, string $what): void {
	if (!$cond) {
		fwrite(STDERR, "\n   ✗ {$what}\n");
		exit(1);
	}
}
function wp(string $db, string $code, array $args = [], array $job = []) {
	$r = Runner::run($db, $job + ['code' => $code, 'args' => $args]);
	must($r->ok(), "WordPress run failed:\n" . $r->describe());
	return $r->result();
}

$db = Db::cloneTemplate();
$emu = new Emulator();
$emu->reset();
$cast = Runner::run($db, ['scenario' => 'create-users'])->result();
$patient = $cast['patient'];
$doctor = $cast['doctor'];
echo "kc-meet demo\n";
echo "  WordPress:        " . Env::wpUrl() . " (database {$db})\n";
echo "  Google emulator:  " . $emu->base() . "\n";
echo "  kc_meet:          " . wp($db, 'return kc_meet_version();') . "\n";

step('The clinic admin enters the Google OAuth client (Settings → KiviCare Google Meet)');
$admin = new Http($db);
$admin->login('admin', Env::adminPassword());
$page = $admin->get('/wp-admin/options-general.php?page=kc-meet');
$html = new Html($page->body);
$redirect = $html->byId('kc-meet-redirect-uri')->getAttribute('value');
fact("redirect URI to register in Google Cloud: {$redirect}");
$emu->registerClient(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, [$redirect]);
$form = $html->form($html->byId('kc-meet-settings-form'), $page->url);
$form['fields'][$html->byId('kc-meet-client-id')->getAttribute('name')] = DEMO_CLIENT_ID;
$form['fields'][$html->byId('kc-meet-client-secret')->getAttribute('name')] = DEMO_CLIENT_SECRET;
$saved = $admin->request($form['method'], $form['action'], Html::encode($form['fields']));
must($saved->status === 302, 'settings saved: ' . $saved->describe());
$health = wp($db, 'return kc_meet_health();');
ok('saved; health: extension ' . $health['version'] . ', database reachable, schema ' . $health['schema_version'] . ', sync mode ' . ($health['sync_mode'] ?? '?'));
foreach ($health['problems'] as $p) {
	fact("note: {$p['message']}");
}

step("Dr House connects Google Calendar from the profile page");
$browser = new Http($db);
$browser->login($doctor['login'], $doctor['password']);
$profile = $browser->get('/wp-admin/profile.php');
$connect = (new Html($profile->body))->byId('kc-meet-connect');
must($connect !== null, 'the profile offers "Connect Google Calendar"');
$start = $browser->get(html_entity_decode($connect->getAttribute('href')));
must($start->status === 302, 'connect redirects to Google');
parse_str((string) parse_url($start->location(), PHP_URL_QUERY), $asked);
fact("Google's consent screen asks for: {$asked['scope']} (access_type={$asked['access_type']}, PKCE {$asked['code_challenge_method']})");
$consent = $emu->authorize($start->location(), 'allow', DEMO_GOOGLE_ACCOUNT);
$back = $browser->get($consent['redirect']);
$profile = $browser->get($back->location());
$status = (new Html($profile->body))->byId('kc-meet-status');
must($status && $status->getAttribute('data-status') === 'connected', 'the profile shows the connection');
ok('profile: "' . trim(preg_replace('/\s+/', ' ', Html::text($status))) . '"');
$token = Db::value($db, "SELECT meta_value FROM wp_usermeta WHERE user_id = ? AND meta_key = 'google_meet_access_token'", [$doctor['id']]);
$dump = Db::dump($db);
must(strpos($dump, 'ya29.') === false && strpos($dump, '1//') === false, 'no Google token in clear in the database');
ok('tokens stored encrypted (' . substr((string) $token, 0, 14) . '…); a dump of the database holds no token in clear');

step('A patient books a video consultation; KiviCare 4.x calls create_meeting inside its transaction');
$when = date('Y-m-d', strtotime('+7 days'));
$booking = wp($db, '
	global $wpdb;
	$p = $wpdb->prefix;
	$wpdb->insert("{$p}kc_clinics", ["name" => "Princeton Plainsboro", "email" => "clinic@example.org", "address" => "1 Hospital Rd", "city" => "Princeton", "postal_code" => "08540", "country" => "US", "created_at" => current_time("mysql")]);
	$clinic = $wpdb->insert_id;
	$wpdb->insert("{$p}kc_services", ["type" => "consult", "name" => "Video Consultation", "price" => "50", "created_at" => current_time("mysql")]);
	$service = $wpdb->insert_id;
	$wpdb->insert("{$p}kc_service_doctor_mapping", ["service_id" => $service, "clinic_id" => $clinic, "doctor_id" => $args["doctor"], "telemed_service" => "yes", "charges" => "50", "created_at" => current_time("mysql")]);
	$wpdb->query("START TRANSACTION");
	$wpdb->insert("{$p}kc_appointments", ["appointment_start_date" => $args["day"], "appointment_start_time" => "10:00:00", "appointment_end_date" => $args["day"], "appointment_end_time" => "10:30:00", "clinic_id" => $clinic, "doctor_id" => $args["doctor"], "patient_id" => $args["patient"], "status" => 1, "description" => "private clinical note", "created_at" => current_time("mysql")]);
	$id = $wpdb->insert_id;
	$wpdb->insert("{$p}kc_appointment_service_mapping", ["appointment_id" => $id, "service_id" => $service, "status" => 1, "created_at" => current_time("mysql")]);
	$providers = apply_filters("kc_telemed_providers", []);
	$provider = new $providers["googlemeet"]["class"]($providers["googlemeet"]["settings_key"]);
	$meeting = $provider->create_meeting(["topic" => "Video Consultation", "start_time" => $args["day"] . " 10:00:00", "duration" => 30, "timezone" => wp_timezone_string(), "doctor_id" => $args["doctor"], "patient_id" => $args["patient"], "appointment_id" => $id]);
	do_action("kc_after_create_appointment", $id, [], null);
	$model = \KCGMApp\models\KCGMAppointmentGoogleMeetMapping::query()->where("appointmentId", $id)->first();
	$wpdb->query("COMMIT");
	return ["id" => $id, "meeting" => is_wp_error($meeting) ? $meeting->get_error_message() : $meeting, "model_url" => $model ? $model->url : null];
', ['doctor' => $doctor['id'], 'patient' => $patient['id'], 'day' => $when], ['kc_core' => '4']);
$id = $booking['id'];
must(is_array($booking['meeting']) && strpos((string) $booking['meeting']['join_url'], 'https://meet.google.com/') === 0, 'create_meeting returned a Meet link: ' . json_encode($booking['meeting']));
$meet = $booking['meeting']['join_url'];
ok("appointment #{$id} on {$when} 10:00 → Meet link {$meet}");
must($booking['model_url'] === $meet, "core's read through the add-on's model class sees the link inside its transaction");
ok("core's model class (inside the open transaction) sees the same link");
$events = $emu->call('GET', '/__emu/events?email=' . rawurlencode(DEMO_GOOGLE_ACCOUNT))['events'];
$event = $events[0];
fact('Google Calendar: "' . $event['summary'] . '", ' . $event['start']['dateTime'] . ' (' . ($event['start']['timeZone'] ?? 'offset') . '), attendees: ' . implode(', ', array_column($event['attendees'] ?? [], 'email')) . ', visibility ' . $event['visibility']);
must(count($events) === 1, 'exactly one event at Google');

step('The appointment is moved to 11:30 (KiviCare edit)');
$moved = wp($db, '
	global $wpdb;
	$wpdb->update($wpdb->prefix . "kc_appointments", ["appointment_start_time" => "11:30:00", "appointment_end_time" => "12:00:00"], ["id" => $args["id"]]);
	do_action("kc_appointment_updated", $args["id"], [], [], null);
	return kc_meet_mapping($args["id"]);
', ['id' => $id]);
$event = $emu->call('GET', '/__emu/events?email=' . rawurlencode(DEMO_GOOGLE_ACCOUNT))['events'][0];
must($moved['url'] === $meet, 'the Meet link stays the same');
must(strpos($event['start']['dateTime'], 'T11:30:00') !== false, 'Google has the new time');
ok('same Meet link; Google event now starts ' . $event['start']['dateTime'] . ' (sequence ' . $event['sequence'] . ')');

step('The appointment is cancelled (status → 0; KiviCare 4.x fires kc_appointment_cancelled)');
wp($db, '
	global $wpdb;
	$wpdb->update($wpdb->prefix . "kc_appointments", ["status" => 0], ["id" => $args["id"]]);
	do_action("kc_appointment_status_update", $args["id"], 0, []);
	do_action("kc_appointment_cancelled", $args["id"]);
', ['id' => $id]);
$event = $emu->call('GET', '/__emu/events?email=' . rawurlencode(DEMO_GOOGLE_ACCOUNT))['events'][0];
must($event['status'] === 'cancelled', 'the event is deleted at Google');
$notes = $emu->call('GET', '/__emu/notifications')['notifications'];
$told = array_values(array_filter($notes, fn($n) => $n['kind'] === 'cancellation'));
must($told !== [], 'attendees were told');
ok('event deleted in Google Calendar; cancellation sent to ' . implode(', ', $told[0]['recipients']));
must(wp($db, 'return kc_meet_mapping($args["id"]);', ['id' => $id]) === null, 'the mapping row is gone');
ok('mapping row removed');

step('The clinic admin looks at Google Meet → Doctors and Appointments');
$screen = new Html($admin->get('/wp-admin/admin.php?page=kc-meet-doctors')->body);
$row = $screen->first("//tr[@data-doctor-id='{$doctor['id']}']");
must($row !== null && $row->getAttribute('data-status') === 'connected', 'the Doctors screen lists Dr House as connected');
ok('Doctors: ' . preg_replace('/\s+/', ' ', Html::text($screen->first("//tr[@data-doctor-id='{$doctor['id']}']//td[contains(@class, 'kc-meet-state')]"))));
$screen = new Html($admin->get('/wp-admin/admin.php?page=kc-meet-appointments')->body);
$row = $screen->first("//tr[@data-appointment-id='{$id}']");
must($row !== null && $row->getAttribute('data-state') === 'removed', 'the Appointments screen shows the cancelled appointment\'s event as removed');
ok("Appointments: #{$id} " . $row->getAttribute('data-state') . ' (cancelled, its event deleted in Google)');

step('Dr House disconnects Google Calendar from the profile page');
$profile = $browser->get('/wp-admin/profile.php');
$disconnect = (new Html($profile->body))->byId('kc-meet-disconnect');
must($disconnect !== null, 'the profile offers Disconnect');
$r = $browser->get(html_entity_decode($disconnect->getAttribute('href')));
$grants = $emu->call('GET', '/__emu/grants')['grants'];
must(array_filter($grants, fn($g) => !$g['revoked']) === [], 'the grant is revoked at Google');
$state = wp($db, 'return kc_meet_status($args["d"]);', ['d' => $doctor['id']]);
must($state['status'] === 'not_connected', 'status not_connected');
$emu->call('DELETE', '/__emu/requests');
wp($db, 'kc_meet_status($args["d"]); kc_meet_create_event($args["id"]); return null;', ['d' => $doctor['id'], 'id' => $id]);
must($emu->requests() === [], 'no request reaches Google for a disconnected doctor');
ok('grant revoked at Google; status not_connected; tokens erased; no further Google request');

echo "\nDone: connect → book → Meet link → reschedule → cancel → disconnect, all checked.\n";
if (getenv('KC_MEET_DEMO_SERVE') === '1') {
	// The site stays up (run.sh waits); its cleanup drops this database on Ctrl-C.
	$open = Env::wpUrl() . '/wp-login.php?kc_test_db=' . rawurlencode($db);
	echo "\nLook around (the link names the demo's database once, in a cookie):\n";
	echo "  open:             {$open}\n";
	echo "  admin:            admin / " . Env::adminPassword() . "\n";
	echo "  doctor:           {$doctor['login']} / {$doctor['password']}\n";
	echo "  Doctors screen:   " . Env::wpUrl() . "/wp-admin/admin.php?page=kc-meet-doctors\n";
	echo "  Appointments:     " . Env::wpUrl() . "/wp-admin/admin.php?page=kc-meet-appointments\n";
	echo "  Settings:         " . Env::wpUrl() . "/wp-admin/options-general.php?page=kc-meet\n";
	echo "  Google emulator:  " . $emu->base() . "/__emu/events?email=" . rawurlencode(DEMO_GOOGLE_ACCOUNT) . "\n";
	echo "Ctrl-C stops the servers and removes the demo's databases.\n";
} elseif (!Env::keep()) {
	Db::drop($db);
}
