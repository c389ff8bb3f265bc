<?php
/**
 * kc_meet_regenerate_event() as the plugin calls it (KiviCare 4.x's "regenerate link"): the
 * same event, a new Meet link, the mapping row updated, the result shaped like create's.
 */
final class RegenerateEventTest extends KcMeetTestCase {
	private int $appointment;

	protected function setUp(): void {
		parent::setUp();
		$m = self::admin($this->db);
		$sql = str_replace('{prefix}', 'wp_', (string) file_get_contents(dirname(__DIR__, 2) . '/wordpress/kivicare-schema.sql'));
		foreach (preg_split('/;\n/', $sql) as $stmt) {
			$stmt = implode("\n", array_filter(explode("\n", $stmt), fn($l) => !str_starts_with(ltrim($l), '--')));
			if (trim($stmt) !== '') {
				$m->query($stmt);
			}
		}
		$m->query("ALTER TABLE wp_users ADD user_email varchar(100) NOT NULL DEFAULT '', ADD display_name varchar(250) NOT NULL DEFAULT ''");
		$m->query("INSERT INTO wp_users (ID, user_login, user_email, display_name) VALUES (4, 'pat', 'patient@example.org', 'Pat Patient')");
		$m->query("INSERT INTO wp_kc_clinics (id, name, created_at) VALUES (1, 'Main Clinic', NOW())");
		$m->query("INSERT INTO wp_kc_services (id, type, name, created_at) VALUES (1, 'consult', 'Video Consult', NOW())");
		$m->query("INSERT INTO wp_kc_service_doctor_mapping (service_id, clinic_id, doctor_id, telemed_service, created_at) VALUES (1, 1, 2, 'yes', NOW())");
		$m->query("INSERT INTO wp_kc_appointments (appointment_start_date, appointment_start_time, appointment_end_date, appointment_end_time, clinic_id, doctor_id, patient_id, status, created_at)
			VALUES ('2031-05-06', '10:00:00', '2031-05-06', '10:30:00', 1, 2, 4, 1, NOW())");
		$this->appointment = (int) $m->insert_id;
		$m->query("INSERT INTO wp_kc_appointment_service_mapping (appointment_id, service_id, created_at) VALUES ($this->appointment, 1, NOW())");
		$this->connectDoctor(2, 'doc@example.com');
	}

	public function test_the_same_event_gets_a_new_link_and_the_mapping_row_shows_it(): void {
		$created = kc_meet_create_event($this->appointment);
		$this->assertSame('created', $created['state']);
		$r = kc_meet_regenerate_event($this->appointment);
		$this->assertSame(array_keys($created), array_keys($r), 'the same result shape as create');
		$this->assertSame('regenerated', $r['state']);
		$this->assertSame($created['event_id'], $r['event_id']);
		$this->assertStringStartsWith('https://meet.google.com/', $r['meet_url']);
		$this->assertNotSame($created['meet_url'], $r['meet_url']);
		$this->assertSame($r['meet_url'], kc_meet_mapping($this->appointment)['url']);
		$events = $this->emu->call('GET', '/__emu/events?email=doc@example.com')['events'];
		$this->assertCount(1, $events);
		$this->assertSame($r['meet_url'], $events[0]['hangoutLink']);
	}

	public function test_core_4x_data_is_accepted_and_an_appointment_without_an_event_gets_one(): void {
		$r = kc_meet_regenerate_event($this->appointment, [
			'doctor_id' => '2', 'patient_id' => 4, 'status' => 1, 'start' => '2031-05-06 10:00:00', 'end' => '2031-05-06 10:30:00',
			'timezone' => 'UTC', 'telemed' => true, 'services' => ['Video Consult'],
		]);
		$this->assertSame('regenerated', $r['state']);
		$this->assertSame($r['meet_url'], kc_meet_mapping($this->appointment)['url']);
	}

	public function test_bad_arguments_are_invalid_argument_exceptions_and_change_nothing(): void {
		foreach ([[0, null], [-5, null], [999999, null], [$this->appointment, ['colour' => 'red']]] as [$id, $data]) {
			try {
				kc_meet_regenerate_event($id, $data);
				$this->fail("accepted $id");
			} catch (KcMeet\InvalidArgumentException $e) {
				$this->assertSame(5001, $e->getCode());
			}
		}
		$this->assertNull(kc_meet_mapping($this->appointment));
		$this->assertSame([], array_values(array_filter($this->emu->requests(), fn($r) => str_contains($r['path'], '/events'))));
	}
}
