<?php
namespace KcMeetTest;

/**
 * The add-on's model class `KCGMApp\models\KCGMAppointmentGoogleMeetMapping`, called exactly the
 * way KiviCare core 4.x calls it (KIVICARE.md, "Core 4.x: a provider object"): the first row per
 * appointment, camelCase names, `select(['eventId'])` on reschedule; filtering and limit in SQL.
 */
final class MappingModelTest extends WpTestCase {
	use KiviCareFixtures;

	/** Two rows for one appointment (a site that had duplicates), one for another. */
	private function seedRows(): array {
		$now = gmdate('Y-m-d H:i:s');
		$rows = [[501, 'evfirst501', 'https://meet.google.com/aaa-bbbb-ccc'], [501, 'evsecond501', 'https://meet.google.com/ddd-eeee-fff'], [502, 'evonly502', 'https://meet.google.com/ggg-hhhh-iii']];
		foreach ($rows as [$appointment, $event, $url]) {
			Db::query($this->db, 'INSERT INTO wp_kc_appointment_google_meet_mappings (appointment_id, event_id, url, password, event_url, created_at) VALUES (?, ?, ?, ?, ?, ?)',
				[$appointment, $event, $url, '', 'https://calendar.google.com/event?eid=' . $event, $now]);
		}
		return $rows;
	}

	public function test_core_reads_the_first_row_of_an_appointment_by_its_camel_case_name(): void {
		$this->seedRows();
		$r = $this->wpOk('
			$m = \KCGMApp\models\KCGMAppointmentGoogleMeetMapping::query()->where("appointmentId", 501)->first();
			$none = \KCGMApp\models\KCGMAppointmentGoogleMeetMapping::query()->where("appointmentId", 999)->first();
			return ["url" => $m->url, "eventUrl" => $m->eventUrl, "eventId" => $m->eventId, "appointmentId" => $m->appointmentId, "password" => $m->password, "none" => $none];');
		$this->assertSame(['url' => 'https://meet.google.com/aaa-bbbb-ccc', 'eventUrl' => 'https://calendar.google.com/event?eid=evfirst501',
			'eventId' => 'evfirst501', 'appointmentId' => 501, 'password' => '', 'none' => null], $r);
	}

	public function test_the_reschedule_lookup_selects_event_id_by_its_camel_case_name(): void {
		$this->seedRows();
		$r = $this->wpOk('
			$m = \KCGMApp\models\KCGMAppointmentGoogleMeetMapping::query()->select(["eventId"])->where("appointmentId", "502")->first();
			return ["eventId" => $m->eventId, "url" => $m->url];');
		$this->assertSame(['eventId' => 'evonly502', 'url' => null], $r, 'only the selected column is read');
	}

	public function test_a_lookup_by_event_is_one_query_with_its_limit_in_sql(): void {
		$this->seedRows();
		$r = $this->wpOk('
			global $wpdb;
			$before = $wpdb->num_queries;
			$m = \KCGMApp\models\KCGMAppointmentGoogleMeetMapping::query()->where("event_id", "evsecond501")->first();
			return ["queries" => $wpdb->num_queries - $before, "sql" => $wpdb->last_query, "appointment" => $m->appointment_id, "url" => $m->url,
				"missing" => \KCGMApp\models\KCGMAppointmentGoogleMeetMapping::query()->where("eventId", "nope")->first()];');
		$this->assertSame(1, $r['queries']);
		$this->assertStringContainsString("`event_id` = 'evsecond501'", $r['sql']);
		$this->assertStringEndsWith('ORDER BY id ASC LIMIT 1', $r['sql']);
		$this->assertSame([501, 'https://meet.google.com/ddd-eeee-fff', null], [$r['appointment'], $r['url'], $r['missing']]);
	}

	public function test_get_from_the_table_returns_every_row_in_table_order(): void {
		$this->seedRows();
		$r = $this->wpOk('
			$rows = \KCGMApp\models\KCGMAppointmentGoogleMeetMapping::query()->fromTable()->where(["appointment_id" => 501])->get();
			$both = \KCGMApp\models\KCGMAppointmentGoogleMeetMapping::query()->where("appointmentId", 501)->where("eventId", "evsecond501")->first();
			$contradiction = \KCGMApp\models\KCGMAppointmentGoogleMeetMapping::query()->where("appointmentId", 501)->where("appointmentId", 502)->get();
			return ["events" => array_map(static fn($m) => $m->eventId, $rows), "both" => $both->eventId, "contradiction" => $contradiction];');
		$this->assertSame(['events' => ['evfirst501', 'evsecond501'], 'both' => 'evsecond501', 'contradiction' => []], $r);
	}

	public function test_a_column_or_operator_the_model_does_not_have_is_an_error_not_an_empty_answer(): void {
		$r = $this->wpOk('
			$errors = [];
			foreach ([
				static fn() => \KCGMApp\models\KCGMAppointmentGoogleMeetMapping::query()->where("colour", 1)->first(),
				static fn() => \KCGMApp\models\KCGMAppointmentGoogleMeetMapping::query()->where("appointmentId", ">", 1)->first(),
				static fn() => \KCGMApp\models\KCGMAppointmentGoogleMeetMapping::query()->select(["secret"])->first(),
				static fn() => \KCGMApp\models\KCGMAppointmentGoogleMeetMapping::query()->where("appointmentId", [1, 2])->first(),
			] as $call) {
				try { $call(); $errors[] = null; } catch (\InvalidArgumentException $e) { $errors[] = $e->getMessage(); }
			}
			return $errors;');
		$this->assertCount(4, array_filter($r), 'every misuse throws: ' . json_encode($r));
		$this->assertStringContainsString('colour', $r[0]);
	}
}
