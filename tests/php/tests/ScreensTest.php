<?php
/**
 * kc_meet_appointments() and kc_meet_doctors(): the admin screens' listings, read from
 * KiviCare's tables and ours in one query per page.
 */
final class ScreensTest extends KcMeetTestCase {
	protected function setUp(): void {
		parent::setUp();
		$m = self::admin($this->db);
		$schema = file_get_contents(dirname(__DIR__, 2) . '/wordpress/kivicare-schema.sql');
		foreach (array_filter(array_map('trim', explode(';', str_replace('{prefix}', 'wp_', $schema)))) as $sql) {
			if (str_starts_with($sql, 'CREATE TABLE')) {
				$m->query($sql);
			}
		}
		$m->query("ALTER TABLE wp_users ADD COLUMN display_name varchar(250) NOT NULL DEFAULT '', ADD COLUMN user_email varchar(100) NOT NULL DEFAULT ''");
		$m->query("INSERT INTO wp_users (ID, user_login, display_name, user_email) VALUES (3, 'doctor2', 'Dr. Zed', 'zed@example.com'), (4, 'patient', 'Pat Ient', 'pat@example.com'), (5, 'subscriber', 'Sub Scriber', 'sub@example.com')");
		$m->query("UPDATE wp_users SET display_name = 'Dr. Ada', user_email = 'ada@example.com' WHERE ID = 2");
		$m->query("UPDATE wp_users SET display_name = 'Admin' WHERE ID = 1");
		foreach ([1 => 'administrator', 2 => 'kiviCare_doctor', 3 => 'kiviCare_doctor', 4 => 'kiviCare_patient', 5 => 'subscriber'] as $id => $role) {
			$m->query("INSERT INTO wp_usermeta (user_id, meta_key, meta_value) VALUES ($id, 'wp_capabilities', '" . serialize([$role => true]) . "')");
		}
		// Clinic 1: service 1 is telemed for both doctors, service 2 is not.
		$m->query("INSERT INTO wp_kc_service_doctor_mapping (service_id, clinic_id, doctor_id, telemed_service, created_at) VALUES (1, 1, 2, 'yes', NOW()), (1, 1, 3, 'yes', NOW()), (2, 1, 2, 'no', NOW())");
	}

	/** Books an appointment with one service; returns its id. */
	private function book(int $doctor, string $date, string $time, int $service = 1, int $status = 1): int {
		$m = self::admin($this->db);
		$m->query("INSERT INTO wp_kc_appointments (appointment_start_date, appointment_start_time, appointment_end_date, appointment_end_time, clinic_id, doctor_id, patient_id, status, created_at)
			VALUES ('$date', '$time', '$date', ADDTIME('$time', '00:30:00'), 1, $doctor, 4, $status, NOW())");
		$id = (int) $m->insert_id;
		$m->query("INSERT INTO wp_kc_appointment_service_mapping (appointment_id, service_id, created_at) VALUES ($id, $service, NOW())");
		return $id;
	}

	private function event(int $appt, int $doctor, string $state = 'active', string $conference = 'success', string $flag = ''): void {
		self::admin($this->db)->query("INSERT INTO wp_kc_meet_events (appointment_id, doctor_id, calendar_id, event_id, state, meet_url, event_url, conference_status, start_utc, end_utc, created_at, updated_at, flag)
			VALUES ($appt, $doctor, 'primary', 'kcm$appt', '$state', 'https://meet.google.com/abc-defg-$appt', 'https://calendar.google.com/event?eid=$appt', '$conference', NOW(), NOW(), NOW(), '2026-03-01 10:00:00', '$flag')");
	}

	private function job(int $appt, int $doctor, string $state, int $attempts, string $error): void {
		self::admin($this->db)->query("INSERT INTO wp_kc_meet_jobs (appointment_id, doctor_id, action, state, attempts, next_run_at, last_error, created_at, updated_at)
			VALUES ($appt, $doctor, 'ensure', '$state', $attempts, '2026-03-01 12:30:00', '$error', NOW(), NOW())");
	}

	public function test_each_appointment_state_comes_from_our_tables(): void {
		$linked = $this->book(2, '2026-03-02', '09:00:00');
		$this->event($linked, 2);
		$pending = $this->book(2, '2026-03-03', '09:00:00');
		$this->event($pending, 2, 'active', 'pending');
		$queued = $this->book(2, '2026-03-04', '09:00:00');
		$this->job($queued, 2, 'queued', 3, 'Google answered 503');
		$failed = $this->book(3, '2026-03-05', '09:00:00');
		$this->job($failed, 3, 'failed', 1, 'doctor 3 must reconnect Google Calendar');
		$flagged = $this->book(3, '2026-03-06', '09:00:00');
		$this->event($flagged, 3, 'active', 'success', 'deleted_in_google');
		$removed = $this->book(2, '2026-03-07', '09:00:00', 1, 0);
		$this->event($removed, 2, 'deleted');
		$missing = $this->book(3, '2026-03-08', '09:00:00');
		$this->book(2, '2026-03-09', '09:00:00', 2); // not telemedicine: never listed

		$page = kc_meet_appointments(['order' => 'asc', 'per_page' => 50]);
		$this->assertSame(7, $page['total']);
		$this->assertSame(
			[$linked => 'linked', $pending => 'pending', $queued => 'queued', $failed => 'failed', $flagged => 'flagged', $removed => 'removed', $missing => 'missing'],
			array_column($page['rows'], 'state', 'appointment_id')
		);
		$row = $page['rows'][0];
		$this->assertSame('Dr. Ada', $row['doctor_name']);
		$this->assertSame('Pat Ient', $row['patient_name']);
		$this->assertSame('2026-03-02', $row['start_date']);
		$this->assertSame('09:00:00', $row['start_time']);
		$this->assertSame("https://meet.google.com/abc-defg-$linked", $row['meet_url']);
		$this->assertSame('2026-03-01T10:00:00Z', $row['event_updated_at']);
		$q = $page['rows'][2];
		$this->assertSame(['ensure', 'queued', 3, '2026-03-01T12:30:00Z', 'Google answered 503'], [$q['job_action'], $q['job_state'], $q['attempts'], $q['next_run_at'], $q['last_error']]);
		$this->assertIsInt($q['job_id']);
		$this->assertSame('deleted_in_google', $page['rows'][4]['flag']);
	}

	public function test_filters_by_doctor_state_and_date_and_pages(): void {
		$ids = [];
		for ($d = 1; $d <= 9; $d++) {
			$ids[] = $this->book(2 + $d % 2, "2026-04-0$d", '10:00:00');
		}
		$this->job($ids[0], 3, 'failed', 1, 'x');
		$this->assertSame(5, kc_meet_appointments(['doctor_id' => 3])['total']);
		$this->assertSame([$ids[0]], array_column(kc_meet_appointments(['state' => 'failed'])['rows'], 'appointment_id'));
		$this->assertSame([$ids[3], $ids[2], $ids[1]], array_column(kc_meet_appointments(['from' => '2026-04-02', 'to' => '2026-04-04'])['rows'], 'appointment_id'));

		$p2 = kc_meet_appointments(['per_page' => 4, 'page' => 2]);
		$this->assertSame(['total' => 9, 'page' => 2, 'per_page' => 4], array_diff_key($p2, ['rows' => 1]));
		$this->assertSame([$ids[4], $ids[3], $ids[2], $ids[1]], array_column($p2['rows'], 'appointment_id'));
		$past = kc_meet_appointments(['per_page' => 4, 'page' => 7]);
		$this->assertSame([], $past['rows']);
		$this->assertSame(9, $past['total']);
	}

	public function test_malformed_filters_are_invalid_argument_exceptions(): void {
		foreach ([['state' => 'done'], ['from' => '2026-13-01'], ['doctor_id' => 'x'], ['order' => 'sideways'], ['page' => -2]] as $opts) {
			try {
				kc_meet_appointments($opts);
				$this->fail('accepted ' . json_encode($opts));
			} catch (KcMeet\InvalidArgumentException $e) {
				$this->assertSame(5001, $e->getCode(), json_encode($opts));
			}
		}
	}

	public function test_doctors_lists_every_doctor_of_the_site_with_connection_state(): void {
		$this->connectDoctor(2, 'ada@gmail.example');
		$page = kc_meet_doctors([]);
		$this->assertSame(2, $page['total']);
		$this->assertSame([2, 3], array_column($page['rows'], 'doctor_id'), 'doctors only: no admin, patient or subscriber');
		[$ada, $zed] = $page['rows'];
		$this->assertSame(['Dr. Ada', 'ada@example.com', 'connected', 'ada@gmail.example', 'primary'], [$ada['name'], $ada['user_email'], $ada['status'], $ada['google_email'], $ada['calendar_id']]);
		$this->assertSame(['not_connected', null, null], [$zed['status'], $zed['google_email'], $zed['calendar_id']]);

		self::admin($this->db)->query("UPDATE wp_kc_meet_doctors SET status = 'needs_reconnect', last_error = 'Google no longer accepts the stored authorization' WHERE doctor_id = 2");
		$this->job($this->book(2, '2026-05-01', '10:00:00'), 2, 'failed', 1, 'x');
		$broken = kc_meet_doctors(['status' => 'needs_reconnect']);
		$this->assertSame(1, $broken['total']);
		$this->assertSame(['needs_reconnect', 'Google no longer accepts the stored authorization', 1], [$broken['rows'][0]['status'], $broken['rows'][0]['last_error'], $broken['rows'][0]['jobs_failed']]);
		$this->assertSame([3], array_column(kc_meet_doctors(['search' => 'zed'])['rows'], 'doctor_id'));
		$this->assertSame([3], array_column(kc_meet_doctors(['status' => 'not_connected'])['rows'], 'doctor_id'));
	}

	public function test_doctors_of_another_site_are_not_listed(): void {
		self::admin($this->db)->query("UPDATE wp_usermeta SET meta_key = 'wp_2_capabilities' WHERE user_id = 3 AND meta_key = 'wp_capabilities'");
		$this->assertSame([2], array_column(kc_meet_doctors([])['rows'], 'doctor_id'));
	}

	public function test_a_page_of_50000_appointments_is_one_fast_query(): void {
		$m = self::admin($this->db);
		$m->query("INSERT INTO wp_kc_appointments (appointment_start_date, appointment_start_time, clinic_id, doctor_id, patient_id, status, created_at)
			SELECT DATE_ADD('2024-01-01', INTERVAL seq % 900 DAY), SEC_TO_TIME(8 * 3600 + (seq % 20) * 1800), 1, 2 + seq % 2, 4, 1, NOW() FROM seq_1_to_50000");
		$m->query("INSERT INTO wp_kc_appointment_service_mapping (appointment_id, service_id, created_at) SELECT id, 1, NOW() FROM wp_kc_appointments");
		$m->query("INSERT INTO wp_kc_meet_events (appointment_id, doctor_id, calendar_id, event_id, state, meet_url, conference_status, start_utc, end_utc, created_at, updated_at)
			SELECT id, doctor_id, 'primary', CONCAT('kcm', id), 'active', CONCAT('https://meet.google.com/x-', id), 'success', NOW(), NOW(), NOW(), NOW() FROM wp_kc_appointments WHERE id % 3 = 0");
		$m->query("INSERT INTO wp_kc_meet_jobs (appointment_id, doctor_id, action, state, attempts, next_run_at, created_at, updated_at)
			SELECT id, doctor_id, 'ensure', 'queued', 1, NOW(), NOW(), NOW() FROM wp_kc_appointments WHERE id % 7 = 0");
		kc_meet_appointments(['per_page' => 1]); // warm the connection

		$t = microtime(true);
		$page = kc_meet_appointments(['per_page' => 50, 'page' => 3]);
		$first = microtime(true) - $t;
		$t = microtime(true);
		$filtered = kc_meet_appointments(['per_page' => 50, 'doctor_id' => 3, 'state' => 'linked', 'from' => '2025-01-01', 'to' => '2025-06-30']);
		$second = microtime(true) - $t;
		fwrite(STDERR, sprintf("\n50,000 appointments: page 3 in %.0f ms, filtered page in %.0f ms\n", $first * 1000, $second * 1000));

		$this->assertSame(50000, $page['total']);
		$this->assertCount(50, $page['rows']);
		$this->assertGreaterThan(0, $filtered['total']);
		$this->assertSame(['linked'], array_values(array_unique(array_column($filtered['rows'], 'state'))));
		$this->assertLessThan(2.0, $first, 'a page must not take seconds');
		$this->assertLessThan(2.0, $second);
	}
}
