<?php
namespace KcMeetTest;

/** 12. The filters core's appointment lists and details call to show the join button and the link. */
final class AppointmentDisplayFiltersTest extends WpTestCase {
	use KiviCareFixtures;

	public function test_kc_is_video_consultation_is_true_only_for_appointments_with_a_link_or_a_telemed_service(): void {
		$this->readyToBook(['Video Consultation' => 'yes', 'Checkup' => 'no']);
		$b = $this->kc4Book(self::day(7), ['services' => [$this->kc['services']['Video Consultation']], 'topic' => 'Video Consultation']);
		$inPerson = $this->kcAppointment(self::day(8), '10:00:00', '10:30:00', [], [$this->kc['services']['Checkup']]);
		$r = $this->wpOk('return [
			"linked"    => apply_filters("kc_is_video_consultation", false, $args["id"]),
			"as_string" => apply_filters("kc_is_video_consultation", false, (string) $args["id"]),
			"as_array"  => apply_filters("kc_is_video_consultation", false, ["id" => $args["id"]]),
			"in_person" => apply_filters("kc_is_video_consultation", false, $args["in_person"]),
			"unknown"   => apply_filters("kc_is_video_consultation", false, 99999),
			"core_true" => apply_filters("kc_is_video_consultation", true, $args["in_person"]),
		];', ['id' => $b['id'], 'in_person' => $inPerson]);
		$this->assertSame(['linked' => true, 'as_string' => true, 'as_array' => true, 'in_person' => false, 'unknown' => false, 'core_true' => true], $r);
	}

	public function test_list_item_and_detail_filters_add_the_meet_link_and_keep_core_keys(): void {
		$this->readyToBook();
		$b = $this->kc4Book(self::day(7));
		$url = $b['meeting']['join_url'];
		$r = $this->wpOk('return [
			"list"    => apply_filters("kc_appointment_list_item", ["id" => $args["id"], "status" => "1"], null),
			"data"    => (array) apply_filters("kc_appointment_data", (object) ["id" => (string) $args["id"]], null),
			"details" => apply_filters("kc_appointment_details_data", ["appointment_id" => $args["id"], "join_url" => "https://zoom.example/j/1"], null),
			"other"   => apply_filters("kc_appointment_list_item", ["id" => 99999, "status" => "1"], null),
		];', ['id' => $b['id']]);
		$this->assertSame(['id' => $b['id'], 'status' => '1', 'google_meet_url' => $url, 'join_url' => $url, 'video_consultation' => true], $r['list']);
		$this->assertSame(['id' => (string) $b['id'], 'google_meet_url' => $url, 'join_url' => $url, 'video_consultation' => true], $r['data']);
		$this->assertSame('https://zoom.example/j/1', $r['details']['join_url'], "core's own join_url is kept");
		$this->assertSame($url, $r['details']['google_meet_url']);
		$this->assertSame(['id' => 99999, 'status' => '1'], $r['other'], 'an appointment without link is left alone');
	}
}
