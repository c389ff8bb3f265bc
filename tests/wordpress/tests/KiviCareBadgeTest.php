<?php
namespace KcMeetTest;

/**
 * The Google Meet state of each appointment in KiviCare's own lists and details, through the
 * hooks core offers (the stand-ins call them as core does): core 4.x's list query and items, its
 * details filters; core 3.x's appointment list (page ids through `kct_get_meeting_list`, rows
 * through `kivicare_appointment_queue_lists`) and calendar (`kivicare_appointment_list_data`).
 * One query per page, no native call per row; the same state as the Appointments screen.
 */
final class KiviCareBadgeTest extends WpTestCase {
	use KiviCareFixtures;

	/**
	 * Appointments in four states: linked (booked), flagged (moved in Google), removed (event
	 * deleted after a cancel), and an in-person one kc-meet holds nothing for. Returns ids by state.
	 */
	private function fourStates(): array {
		$this->readyToBook(['Video Consultation' => 'yes', 'Checkup' => 'no']);
		$video = [$this->kc['services']['Video Consultation']];
		$linked = $this->kc4Book(self::day(7), ['services' => $video, 'topic' => 'Video Consultation']);
		$moved = $this->kc4Book(self::day(8), ['services' => $video, 'topic' => 'Video Consultation']);
		$cancelled = $this->kc4Book(self::day(9), ['services' => $video, 'topic' => 'Video Consultation']);
		$plain = $this->kcAppointment(self::day(10), '10:00:00', '10:30:00', [], [$this->kc['services']['Checkup']]);
		$this->wpOk('do_action("kc_meet_sync");');
		$this->emu()->call('POST', '/__emu/ui/move', ['email' => self::GOOGLE_EMAIL, 'event_id' => $moved['meeting']['id'],
			'start' => ['dateTime' => gmdate('Y-m-d\T14:00:00\Z', strtotime(self::day(8)))], 'end' => ['dateTime' => gmdate('Y-m-d\T14:30:00\Z', strtotime(self::day(8)))]]);
		$this->wpOk('do_action("kc_meet_sync");');
		Db::query($this->db, 'UPDATE wp_kc_appointments SET status = 0 WHERE id = ?', [$cancelled['id']]);
		$this->wpOk('do_action("kc_appointment_cancelled", $args["id"]);', ['id' => $cancelled['id']]);
		$states = ['linked' => $linked['id'], 'flagged' => $moved['id'], 'removed' => $cancelled['id'], '' => $plain];
		$screen = $this->wpOk('KC_Meet_Native::ensure_ready(); return array_column(kc_meet_appointments(["per_page" => 50])["rows"], "state", "appointment_id");');
		foreach (['linked', 'flagged', 'removed'] as $state) {
			$this->assertSame($state, $screen[$states[$state]] ?? null, "the Appointments screen says $state: " . json_encode($screen));
		}
		return $states;
	}

	private function assertStates(array $expected, array $items, string $where): void {
		$byId = array_column($items, null, 'id');
		$labels = $this->wpOk('return KC_Meet_Badge::labels();');
		foreach ($expected as $state => $id) {
			$this->assertArrayHasKey($id, $byId, "$where lists #$id");
			$item = (array) $byId[$id];
			if ($state === '') {
				$this->assertArrayNotHasKey('kc_meet_state', $item, "$where: #$id is left alone");
				$this->assertArrayNotHasKey('kc_meet_state_label', $item);
				continue;
			}
			$this->assertSame($state, $item['kc_meet_state'] ?? null, "$where: #$id " . json_encode($item));
			$this->assertSame($labels[$state], $item['kc_meet_state_label'] ?? null);
		}
	}

	public function test_kivicare_4_list_items_carry_the_state_and_the_page_stays_one_query(): void {
		$states = $this->fourStates();
		$r = $this->wpOk(['kc_core' => '4', 'code' => '
			global $wpdb;
			$before = $wpdb->num_queries;
			$list = \KcMeetTestBed\KCAppointmentListStandIn::list(["perPage" => 10, "page" => 1]);
			return ["queries" => $wpdb->num_queries - $before, "items" => $list["appointments"], "sql" => $list["sql"]];']);
		$this->assertSame(1, $r['queries'], 'core\'s own query carries the state: ' . $r['sql']);
		$this->assertStringContainsString('kc_meet_state', $r['sql']);
		$this->assertStates($states, $r['items'], 'core 4.x list');
		$this->assertSame('Meet link ready', $this->wpOk('return KC_Meet_Badge::labels()["linked"];'));
	}

	public function test_kivicare_4_details_carry_the_state(): void {
		$states = $this->fourStates();
		$r = $this->wpOk(['kc_core' => '4', 'args' => ['ids' => array_values($states)], 'code' => '
			$out = [];
			foreach ($args["ids"] as $id) {
				$out[] = apply_filters("kc_appointment_details_data", ["id" => (string) $id], null);
				$out[] = (array) apply_filters("kc_appointment_data", (object) ["id" => (string) $id], null);
			}
			return $out;']);
		$this->assertStates($states, array_filter($r, static fn($i, $k) => $k % 2 === 0, ARRAY_FILTER_USE_BOTH), 'kc_appointment_details_data');
		$this->assertStates($states, array_filter($r, static fn($i, $k) => $k % 2 === 1, ARRAY_FILTER_USE_BOTH), 'kc_appointment_data');
	}

	public function test_kivicare_3_appointment_list_reads_the_pages_states_in_one_query(): void {
		$states = $this->fourStates();
		$r = $this->wpOk(['kc_core' => '3', 'code' => '
			global $wpdb;
			$zoom = null;
			add_filter("kct_get_meeting_list", function ($v) use (&$zoom) { $zoom = $v; return $v; }, 99);
			$before = $wpdb->num_queries;
			$items = \KcMeetTestBed\KiviCare3\Core::appointment_queue(1);
			return ["queries" => $wpdb->num_queries - $before, "items" => array_map(static fn($a) => (array) $a, $items), "zoom" => $zoom];']);
		$rows = count($r['items']);
		$this->assertSame(4, $rows);
		$this->assertSame(1 + $rows + 1, $r['queries'], "core's page query and its link read per row, plus one for the page's states");
		$this->assertSame(['appointment_ids' => implode(',', array_column($r['items'], 'id'))], $r['zoom'], 'the Zoom filter\'s value is handed on untouched');
		$this->assertStates($states, $r['items'], 'core 3.x appointment list');
	}

	public function test_kivicare_3_calendar_reads_the_requests_range_in_one_query(): void {
		$states = $this->fourStates();
		$r = $this->wpOk(['kc_core' => '3', 'args' => ['from' => self::day(1), 'to' => self::day(30)], 'code' => '
			global $wpdb;
			$_REQUEST["start_date"] = $args["from"];
			$_REQUEST["end_date"] = $args["to"];
			$before = $wpdb->num_queries;
			$items = \KcMeetTestBed\KiviCare3\Core::appointment_calendar();
			return ["queries" => $wpdb->num_queries - $before, "items" => $items];']);
		$this->assertSame(2, $r['queries'], "core's query plus one for the range's states");
		$this->assertStates($states, $r['items'], 'core 3.x calendar');
	}

	public function test_nothing_is_joined_before_kc_meets_tables_exist(): void {
		$this->readyToBook();
		$r = $this->wpOk(['kc_core' => '4', 'code' => '
			delete_option(KC_Meet_Lifecycle::SCHEMA_CHECKED_OPTION);
			$list = \KcMeetTestBed\KCAppointmentListStandIn::list(["perPage" => 10, "page" => 1]);
			return $list["sql"];']);
		$this->assertStringNotContainsString('kc_meet_events', $r);
	}
}
