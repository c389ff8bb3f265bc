<?php
namespace KcMeetTest;

/**
 * 12. The filters core's appointment lists and details call to show the join button and the link
 *     (KiviCare 4.x reads `join_url`, `start_url` and `zoom_data.startUrl`, as the vendor's add-on
 *     and Zoom's set them), and what a list page costs.
 */
final class AppointmentDisplayFiltersTest extends WpTestCase {
	use KiviCareFixtures;

	public function test_kc_is_video_consultation_is_true_only_for_appointments_with_a_link(): void {
		$this->readyToBook(['Video Consultation' => 'yes', 'Checkup' => 'no']);
		$b = $this->kc4Book(self::day(7), ['services' => [$this->kc['services']['Video Consultation']], 'topic' => 'Video Consultation']);
		$inPerson = $this->kcAppointment(self::day(8), '10:00:00', '10:30:00', [], [$this->kc['services']['Checkup']]);
		// A telemed appointment whose event does not exist (yet): no link, no join button.
		$noLink = $this->kcAppointment(self::day(9), '10:00:00', '10:30:00', [], [$this->kc['services']['Video Consultation']]);
		$r = $this->wpOk('return [
			"linked"    => apply_filters("kc_is_video_consultation", false, $args["id"]),
			"as_string" => apply_filters("kc_is_video_consultation", false, (string) $args["id"]),
			"as_array"  => apply_filters("kc_is_video_consultation", false, ["id" => $args["id"]]),
			"in_person" => apply_filters("kc_is_video_consultation", false, $args["in_person"]),
			"no_link"   => apply_filters("kc_is_video_consultation", false, $args["no_link"]),
			"unknown"   => apply_filters("kc_is_video_consultation", false, 99999),
			"core_true" => apply_filters("kc_is_video_consultation", true, $args["in_person"]),
		];', ['id' => $b['id'], 'in_person' => $inPerson, 'no_link' => $noLink]);
		$this->assertSame(['linked' => true, 'as_string' => true, 'as_array' => true, 'in_person' => false, 'no_link' => false, 'unknown' => false, 'core_true' => true], $r);
	}

	public function test_list_item_and_detail_filters_add_the_keys_core_reads_and_keep_core_keys(): void {
		$this->readyToBook();
		$b = $this->kc4Book(self::day(7));
		$url = $b['meeting']['join_url'];
		$r = $this->wpOk('return [
			"list"    => apply_filters("kc_appointment_list_item", ["id" => $args["id"], "status" => "1"], null),
			"data"    => (array) apply_filters("kc_appointment_data", (object) ["id" => (string) $args["id"]], null),
			"details" => apply_filters("kc_appointment_details_data", ["appointment_id" => $args["id"], "join_url" => "https://zoom.example/j/1", "zoom_data" => ["startUrl" => "https://zoom.example/s/1"]], null),
			"other"   => apply_filters("kc_appointment_list_item", ["id" => 99999, "status" => "1"], null),
		];', ['id' => $b['id']]);
		$keys = ['google_meet_url' => $url, 'join_url' => $url, 'start_url' => $url, 'zoom_data' => ['startUrl' => $url], 'video_consultation' => true,
			'kc_meet_state' => 'linked', 'kc_meet_state_label' => 'Meet link ready']; // the state badge (KC_Meet_Badge)
		$this->assertSame(['id' => $b['id'], 'status' => '1'] + $keys, $r['list']);
		$this->assertSame(['id' => (string) $b['id']] + $keys, $r['data']);
		$this->assertSame('https://zoom.example/j/1', $r['details']['join_url'], "core's own join_url is kept");
		$this->assertSame('https://zoom.example/s/1', $r['details']['zoom_data']['startUrl'], "another provider's start URL is kept");
		$this->assertSame($url, $r['details']['google_meet_url']);
		$this->assertSame($url, $r['details']['start_url']);
		$this->assertSame(['id' => 99999, 'status' => '1'], $r['other'], 'an appointment without link is left alone');
	}

	public function test_a_list_page_of_core_4_costs_one_query_and_shows_the_join_button_of_linked_rows_only(): void {
		$this->readyToBook(['Video Consultation' => 'yes', 'Checkup' => 'no']);
		$linked = [];
		foreach ([7, 8, 9] as $d) {
			$linked[] = $this->kc4Book(self::day($d), ['services' => [$this->kc['services']['Video Consultation']], 'topic' => 'Video Consultation'])['id'];
		}
		$plain = [];
		for ($i = 0; $i < 7; $i++) {
			$plain[] = $this->kcAppointment(self::day(10 + $i), '10:00:00', '10:30:00', [], [$this->kc['services'][$i % 2 ? 'Checkup' : 'Video Consultation']]);
		}
		$r = $this->wpOk(['kc_core' => '4', 'code' => '
			global $wpdb;
			$before = $wpdb->num_queries;
			$list = \KcMeetTestBed\KCAppointmentListStandIn::list(["perPage" => 10, "page" => 1]);
			return ["queries" => $wpdb->num_queries - $before, "items" => $list["appointments"]];']);
		$this->assertSame(1, $r['queries'], 'the page costs core\'s own query and nothing more');
		$this->assertCount(10, $r['items']);
		$byId = array_column($r['items'], null, 'id');
		foreach ($linked as $id) {
			$url = $this->mappingRows($id)[0]['url'];
			$this->assertTrue($byId[$id]['video_consultation'], "appointment $id has a link");
			$this->assertSame($url, $byId[$id]['join_url']);
			$this->assertSame($url, $byId[$id]['zoom_data']['startUrl']);
		}
		foreach ($plain as $id) {
			$this->assertFalse($byId[$id]['video_consultation'], "appointment $id has no link");
			$this->assertArrayNotHasKey('join_url', $byId[$id]);
		}
	}
}
