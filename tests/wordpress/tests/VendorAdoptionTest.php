<?php
namespace KcMeetTest;

/**
 * 16. A site that swaps the vendor add-on keeps its live events: mapping rows the vendor wrote
 *     (4.x shape on 4.x, 1.x shape on 3.x) are the appointments' events — reconcile and backfill
 *     never make a second one, a reschedule patches the vendor's event, a cancel deletes it
 *     (attendees told) — for vendor events with and without a Meet link.
 */
final class VendorAdoptionTest extends WpTestCase {
	use KiviCareFixtures;

	/** Replaces the mapping table with the vendor 1.x add-on's shape (what a 3.x site has). */
	private function oneXTable(): void {
		Db::query($this->db, 'DROP TABLE wp_kc_appointment_google_meet_mappings');
		Db::query($this->db, 'CREATE TABLE wp_kc_appointment_google_meet_mappings (id int(11) NOT NULL AUTO_INCREMENT, event_id varchar(255) NOT NULL,
			appointment_id int(11) NOT NULL, url varchar(255) NOT NULL, password varchar(255) NULL, event_url varchar(255) NULL, PRIMARY KEY (id))');
	}

	/**
	 * An appointment whose event the vendor made (in the doctor's primary calendar, its own event
	 * id, requestId "ADGGSH…" like the vendor's) and the vendor's mapping row: [appointment id,
	 * vendor event].
	 */
	private function vendorBooked(bool $withMeet = true, string $shape = '4.x'): array {
		$this->readyToBook();
		if ($shape === '1.x') {
			$this->oneXTable();
		}
		$day = self::day(7);
		$id = $this->kcAppointment($day, '10:00:00', '10:30:00');
		$event = [
			'summary'   => 'Video Consultation',
			'start'     => ['dateTime' => $day . 'T10:00:00', 'timeZone' => 'Europe/Berlin'],
			'end'       => ['dateTime' => $day . 'T10:30:00', 'timeZone' => 'Europe/Berlin'],
			'attendees' => [['email' => 'patient@clinic.test']],
		];
		if ($withMeet) {
			$event['conferenceData'] = ['createRequest' => ['requestId' => 'ADGGSH' . time(), 'conferenceSolutionKey' => ['type' => 'hangoutsMeet']]];
		}
		$made = $this->emu()->call('POST', '/__emu/ui/create', ['email' => self::GOOGLE_EMAIL, 'event' => $event]);
		$this->assertSame(200, $made['_status'], json_encode($made));
		$row = ['appointment_id' => $id, 'event_id' => $made['id'], 'url' => $withMeet ? (string) $this->meetLink($made) : '', 'password' => '', 'event_url' => $made['htmlLink'] ?? ''];
		if ($shape === '4.x') {
			$row['created_at'] = gmdate('Y-m-d H:i:s');
		}
		Db::query($this->db, 'INSERT INTO wp_kc_appointment_google_meet_mappings (' . implode(', ', array_keys($row)) . ') VALUES (' . implode(', ', array_fill(0, count($row), '?')) . ')', array_values($row));
		$this->emu()->clearRequests();
		return [$id, $made];
	}

	private function inserts(): array {
		return array_values(array_filter($this->emu()->requests(), static fn($r) => $r['operation'] === 'calendar.events.insert'));
	}

	public function test_reconcile_and_backfill_take_the_vendor_event_as_the_appointments_event(): void {
		[$id, $vendor] = $this->vendorBooked();
		$dry = $this->wpCli(['kc-meet', 'backfill', '--dry-run', '--format=json'])->cli();
		$this->assertSame(0, $dry['exit_code'], json_encode($dry));
		$this->assertNotContains($id, array_column((array) json_decode(strtok($dry['stdout'], "\n"), true), 'appointment_id'), 'backfill lists the vendor-mapped appointment as missing');
		$this->wpOk('return KC_Meet_Background::reconcile();');
		$this->assertSame([], $this->inserts(), 'no second event');
		$this->assertCount(1, $this->googleEvents());
		$this->assertSame('confirmed', $this->googleEvent($vendor['id'])['status']);
		$rows = $this->mappingRows($id);
		$this->assertCount(1, $rows);
		$this->assertSame($vendor['id'], $rows[0]['event_id']);
		$this->assertSame($this->meetLink($vendor), $rows[0]['url'], 'the patient\'s link is kept');
		$this->assertSame([], array_values(array_filter($this->notifications(), static fn($n) => $n['kind'] === 'invitation')), 'no second invitation');
	}

	public function test_core4_reschedule_patches_the_vendor_event_and_keeps_its_link(): void {
		[$id, $vendor] = $this->vendorBooked();
		$day = self::day(7);
		$r = $this->kc4('global $wpdb;
			$wpdb->update($wpdb->prefix . "kc_appointments", ["appointment_start_time" => "14:00:00", "appointment_end_time" => "14:30:00"], ["id" => $args["id"]]);
			$eventId = \KCGMApp\models\KCGMAppointmentGoogleMeetMapping::query()->select(["eventId"])->where("appointmentId", $args["id"])->first()->eventId;
			$m = $p->update_meeting($eventId, ["appointment_id" => $args["id"], "topic" => "Video Consultation", "doctor_id" => $args["doctor"],
				"start_time" => $args["start"], "end_time" => $args["end"], "timezone" => wp_timezone_string()]);
			return is_wp_error($m) ? $m->get_error_message() : $m;', ['id' => $id, 'doctor' => $this->id('doctor')] + self::berlin($day, '14:00:00', '14:30:00'));
		$this->assertIsArray($r, json_encode($r));
		$this->assertSame($this->meetLink($vendor), $r['join_url']);
		$this->assertSame([], $this->inserts());
		$live = $this->liveEvents();
		$this->assertCount(1, $live);
		$this->assertSame($vendor['id'], $live[0]['id']);
		$this->assertSame(strtotime("$day 14:00:00 Europe/Berlin"), self::instant($live[0]['start']));
		$this->assertSame($this->meetLink($vendor), $this->meetLink($live[0]));
	}

	public function test_core4_cancel_deletes_the_vendor_event_and_tells_the_patient(): void {
		[$id, $vendor] = $this->vendorBooked();
		$this->wpOk(['kc_core' => '4', 'args' => ['id' => $id], 'code' => 'global $wpdb;
			$wpdb->update($wpdb->prefix . "kc_appointments", ["status" => 0], ["id" => $args["id"]]);
			do_action("kc_appointment_cancelled", $args["id"]);']);
		$this->assertSame('cancelled', $this->googleEvent($vendor['id'])['status']);
		$this->assertSame([], $this->mappingRows($id));
		$cancellations = array_values(array_filter($this->notifications(), static fn($n) => $n['kind'] === 'cancellation'));
		$this->assertCount(1, $cancellations);
		$this->assertContains('patient@clinic.test', $cancellations[0]['recipients']);
	}

	public function test_core3_with_the_1x_table_reschedule_patches_and_remove_deletes_the_vendor_event(): void {
		[$id, $vendor] = $this->vendorBooked(true, '1.x');
		Db::query($this->db, 'UPDATE wp_kc_appointments SET appointment_start_time = ?, appointment_end_time = ? WHERE id = ?', ['15:00:00', '15:30:00', $id]);
		$saved = $this->wpOk('return apply_filters("kcgm_save_appointment_event", ["appoinment_id" => (string) $args["id"], "service" => "Video Consultation"]);', ['id' => $id]);
		$this->assertTrue($saved['status'], json_encode($saved));
		$this->assertSame($this->meetLink($vendor), $saved['join_url']);
		$this->assertSame([], $this->inserts());
		$this->assertSame(strtotime(self::day(7) . ' 15:00:00 Europe/Berlin'), self::instant($this->googleEvent($vendor['id'])['start']));
		$this->assertCount(1, $this->mappingRows($id));

		Db::query($this->db, 'UPDATE wp_kc_appointments SET status = 0 WHERE id = ?', [$id]);
		$removed = $this->wpOk('return apply_filters("kcgm_remove_appointment_event", ["appoinment_id" => (string) $args["id"]]);', ['id' => $id]);
		$this->assertTrue($removed['status'], json_encode($removed));
		$this->assertSame('cancelled', $this->googleEvent($vendor['id'])['status']);
		$this->assertSame([], $this->mappingRows($id));
	}

	public function test_a_vendor_event_without_a_meet_link_is_adopted_not_duplicated(): void {
		[$id, $vendor] = $this->vendorBooked(false);
		$this->wpOk('return KC_Meet_Background::reconcile();');
		$saved = $this->wpOk('return apply_filters("kcgm_save_appointment_event", ["appoinment_id" => (string) $args["id"], "service" => "Video Consultation"]);', ['id' => $id]);
		$this->assertTrue($saved['status'], json_encode($saved));
		$this->assertSame([], $this->inserts(), 'no second event');
		$this->assertCount(1, $this->googleEvents());
		$rows = $this->mappingRows($id);
		$this->assertCount(1, $rows);
		$this->assertSame($vendor['id'], $rows[0]['event_id']);
	}
}
