<?php
/**
 * KiviCare 4.x booking, the way core 4.3 does it (KIVICARE.md "Core 4.x: a provider object"):
 * on WordPress's connection, START TRANSACTION; insert the appointment row and its service rows;
 * pick the doctor's provider through core's factory (get_doctor_access_token must be non-empty);
 * create_meeting([...]); fire kc_after_create_appointment; read the link back through the add-on's
 * model class (as KCAppointment::getGoogleMeet() does) inside the same transaction; then COMMIT — or
 * ROLLBACK when $args['finish'] === 'rollback' (a booking core aborts after the provider call).
 *
 * Needs the job option kc_core = '4'. Args:
 *   doctor, patient, clinic (ids), services (service ids), topic (service names joined by ", "),
 *   day ('Y-m-d'), start / end ('H:i:s'), status (default 1), utc (bool, default true: fill core
 *   4.2+'s UTC columns and appointment_timezone from the site's zone; false leaves them NULL / 'UTC'
 *   like a row written before 4.2), finish ('commit' | 'rollback'), description,
 *   request_budget_s (optional: the site lowers the extension's retry budget through the documented
 *   filter kc_meet_site_config, e.g. to keep a test with Google down short).
 * Returns: id, meeting (array, or ['wp_error' => code, 'message' => …, 'data' => …]), provider
 * (provider id core picked, or null), model_in_tx (url/eventId/appointmentId read inside the
 * transaction), model_after (same, after COMMIT/ROLLBACK).
 */
global $wpdb;
$p      = $wpdb->prefix;
$day    = (string) $args['day'];
$start  = (string) ($args['start'] ?? '10:00:00');
$end    = (string) ($args['end'] ?? '10:30:00');
$status = (int) ($args['status'] ?? 1);
$topic  = (string) ($args['topic'] ?? 'Video Consultation');

$kcm_model = static function ($id) {
	$m = \KCGMApp\models\KCGMAppointmentGoogleMeetMapping::query()->where('appointmentId', $id)->first();
	return $m ? ['url' => $m->url, 'eventId' => $m->eventId, 'eventUrl' => $m->eventUrl, 'appointmentId' => (int) $m->appointmentId] : null;
};

$row = [
	'appointment_start_date' => $day,
	'appointment_start_time' => $start,
	'appointment_end_date'   => $day,
	'appointment_end_time'   => $end,
	'visit_type'             => 'consultation',
	'clinic_id'              => (int) $args['clinic'],
	'doctor_id'              => (int) $args['doctor'],
	'patient_id'             => (int) $args['patient'],
	'status'                 => $status,
	'description'            => (string) ($args['description'] ?? 'booked through the widget'),
	'created_at'             => current_time('mysql'),
];
if ($args['utc'] ?? true) {
	$zone = wp_timezone();
	$utc  = new DateTimeZone('UTC');
	$row['appointment_start_utc'] = (new DateTimeImmutable("$day $start", $zone))->setTimezone($utc)->format('Y-m-d H:i:s');
	$row['appointment_end_utc']   = (new DateTimeImmutable("$day $end", $zone))->setTimezone($utc)->format('Y-m-d H:i:s');
	$row['created_at_utc']        = gmdate('Y-m-d H:i:s');
	$row['appointment_timezone']  = wp_timezone_string();
}

if (isset($args['request_budget_s'])) {
	add_filter('kc_meet_site_config', static function ($config) use ($args) {
		$config['request_budget_s'] = (float) $args['request_budget_s'];
		return $config;
	});
	if (!KC_Meet_Plugin::instance()->configure()) {
		throw new RuntimeException('kc_meet_configure() refused request_budget_s: ' . json_encode(KC_Meet_Plugin::instance()->config_error()));
	}
}

$wpdb->query('START TRANSACTION');
if ($wpdb->insert("{$p}kc_appointments", $row) === false) {
	$wpdb->query('ROLLBACK');
	throw new RuntimeException('insert appointment: ' . $wpdb->last_error);
}
$id = (int) $wpdb->insert_id;
foreach ((array) ($args['services'] ?? []) as $service) {
	$wpdb->insert("{$p}kc_appointment_service_mapping", ['appointment_id' => $id, 'service_id' => (int) $service, 'status' => 1, 'created_at' => current_time('mysql')]);
}

$provider = \KcMeetTestBed\KCTelemedFactoryStandIn::provider_for_doctor((int) $args['doctor']);
$meeting  = null;
if ($provider) {
	$duration = (int) round((strtotime("$day $end") - strtotime("$day $start")) / 60);
	$meeting  = $provider->create_meeting([
		'topic'          => $topic,
		'start_time'     => "$day $start",
		'duration'       => $duration,
		'timezone'       => wp_timezone_string(),
		'patient_id'     => (int) $args['patient'],
		'doctor_id'      => (int) $args['doctor'],
		'appointment_id' => $id,
		// Zoom-style keys core passes to every provider.
		'type'           => 2,
		'password'       => '',
		'waiting_room'   => false,
		'agenda'         => $topic,
	]);
}
do_action('kc_after_create_appointment', $id, $row, null);
$inTx = $kcm_model($id);
$wpdb->query(($args['finish'] ?? 'commit') === 'rollback' ? 'ROLLBACK' : 'COMMIT');

return [
	'id'          => $id,
	'provider'    => $provider ? $provider->get_provider_id() : null,
	'meeting'     => is_wp_error($meeting)
		? ['wp_error' => $meeting->get_error_code(), 'message' => $meeting->get_error_message(), 'data' => $meeting->get_error_data()]
		: $meeting,
	'model_in_tx' => $inTx,
	'model_after' => $kcm_model($id),
];
