<?php
namespace KcMeetTest;

/**
 * 10. KiviCare 4.x appointment events through WordPress: core's booking transaction
 *     (scenarios/kc4-book.php), the payment-success and "Regenerate link" calls, a rolled-back
 *     booking, reschedule through the model class, cancel and delete — checked in MySQL, in what
 *     Google (the emulator) holds and in what core's PHP receives.
 */
final class KiviCare4AppointmentEventsTest extends WpTestCase {
	use KiviCareFixtures;

	/** A booked 4.x appointment: [id, meeting, google event]. */
	private function booked(): array {
		$this->readyToBook();
		$b = $this->kc4Book(self::day(7));
		$this->assertIsArray($b['meeting'], 'create_meeting answered: ' . json_encode($b));
		$this->assertArrayNotHasKey('wp_error', $b['meeting'], json_encode($b));
		$this->assertStringStartsWith('https://meet.google.com/', (string) $b['meeting']['join_url'], json_encode($b));
		$events = $this->liveEvents();
		$this->assertCount(1, $events);
		return [$b['id'], $b['meeting'], $events[0]];
	}

	private function inserts(): array {
		return array_values(array_filter($this->emu()->requests(), static fn($r) => $r['operation'] === 'calendar.events.insert'));
	}

	/** create_meeting() as core calls it outside the booking (payment-success URL, Regenerate link). */
	private function createMeetingAgain(int $id, string $topic) {
		return $this->kc4('return $p->create_meeting(["topic" => $args["topic"], "start_time" => current_time("mysql"), "duration" => 30,
			"timezone" => wp_timezone_string(), "patient_id" => $args["patient"], "doctor_id" => $args["doctor"], "appointment_id" => $args["id"],
			"type" => 2, "password" => "", "waiting_room" => false]);',
			['id' => $id, 'topic' => $topic, 'patient' => $this->id('patient'), 'doctor' => $this->id('doctor')]);
	}

	public function test_core4_booking_reads_the_meet_link_through_the_model_class_inside_its_open_transaction(): void {
		$this->readyToBook();
		$b = $this->kc4Book(self::day(7));
		$this->assertSame('googlemeet', $b['provider'], 'core picked our provider for the connected doctor');
		$this->assertStringStartsWith('https://meet.google.com/', (string) ($b['meeting']['join_url'] ?? ''), json_encode($b));
		$this->assertNotNull($b['model_in_tx'], 'KCGMAppointmentGoogleMeetMapping::query()->where("appointmentId", $id)->first() found nothing inside the transaction');
		$this->assertSame($b['meeting']['join_url'], $b['model_in_tx']['url']);
		$this->assertSame($b['meeting']['id'], $b['model_in_tx']['eventId']);
		$this->assertSame($b['id'], $b['model_in_tx']['appointmentId']);
		$this->assertSame($b['meeting']['event_url'], $b['model_in_tx']['eventUrl']);
	}

	public function test_core4_booking_commits_one_mapping_row_and_one_google_event_with_that_link(): void {
		[$id, $meeting, $event] = $this->booked();
		$rows = $this->mappingRows($id);
		$this->assertCount(1, $rows);
		$this->assertSame($meeting['join_url'], $rows[0]['url']);
		$this->assertSame($meeting['id'], $rows[0]['event_id']);
		$this->assertSame($meeting['id'], $event['id']);
		$this->assertSame($meeting['join_url'], $this->meetLink($event));
		$this->assertSame((string) $id, $event['extendedProperties']['private']['kc_meet_appointment'] ?? null);
		$this->assertContains('patient@clinic.test', array_column($event['attendees'] ?? [], 'email'), 'the patient is invited');
		$expected = (new \DateTimeImmutable(self::day(7) . ' 10:00:00', new \DateTimeZone('Europe/Berlin')))->getTimestamp();
		$this->assertSame($expected, self::instant($event['start']), 'event starts at 10:00 site time');
		$this->assertSame($expected + 1800, self::instant($event['end']));
		$this->assertCount(1, $this->inserts(), 'one events.insert for the booking (provider call + kc_after_create_appointment)');
	}

	public function test_payment_success_hits_with_topic_comma_and_start_time_now_keep_one_event_and_the_same_link(): void {
		[$id, $meeting, $event] = $this->booked();
		foreach ([1, 2] as $hit) {
			$again = $this->createMeetingAgain($id, ', ');
			$this->assertIsArray($again, "hit $hit: " . json_encode($again));
			$this->assertSame($meeting['join_url'], $again['join_url'] ?? null, "hit $hit returns the same link");
		}
		$this->assertCount(1, $this->liveEvents());
		$this->assertCount(1, $this->googleEvents(), 'no second event, not even a deleted one');
		$this->assertCount(1, $this->inserts());
		$now = $this->liveEvents()[0];
		$this->assertSame($event['start'], $now['start'], 'the event did not move to "now"');
		$this->assertSame($event['end'], $now['end']);
		$this->assertSame($event['summary'], $now['summary'], 'topic ", " is not a service name');
		$this->assertSame($meeting['join_url'], $this->meetLink($now));
		$this->assertCount(1, $this->mappingRows($id));
		$this->assertSame($meeting['join_url'], $this->mappingRows($id)[0]['url']);
	}

	public function test_regenerate_link_gives_the_same_event_a_new_link_and_tells_the_patient(): void {
		[$id, $meeting, $event] = $this->booked();
		$r = $this->kc4('
			$mails = [];
			add_filter("pre_wp_mail", function ($null, $atts) use (&$mails) { $mails[] = $atts; return true; }, 10, 2);
			$m = $p->create_meeting(["topic" => "Regenerated Telemed Service", "start_time" => current_time("mysql"), "duration" => 30,
				"timezone" => wp_timezone_string(), "patient_id" => $args["patient"], "doctor_id" => $args["doctor"], "appointment_id" => $args["id"]]);
			return ["meeting" => is_wp_error($m) ? $m->get_error_message() : $m, "mails" => $mails];',
			['id' => $id, 'patient' => $this->id('patient'), 'doctor' => $this->id('doctor')]);
		$again = $r['meeting'];
		$this->assertIsArray($again, json_encode($r));
		$this->assertStringStartsWith('https://meet.google.com/', (string) $again['join_url']);
		$this->assertNotSame($meeting['join_url'], $again['join_url'], 'core promises a new link');
		$this->assertSame($meeting['id'], $again['id'], 'the same event');
		$this->assertCount(1, $this->googleEvents(), 'no second event');
		$this->assertCount(1, $this->inserts());
		$now = $this->liveEvents()[0];
		$this->assertSame($again['join_url'], $this->meetLink($now));
		$this->assertSame($event['start'], $now['start'], 'start_time = now did not move the event');
		$rows = $this->mappingRows($id);
		$this->assertCount(1, $rows);
		$this->assertSame($again['join_url'], $rows[0]['url']);
		$this->assertCount(1, $r['mails'], 'the patient is told');
		$this->assertSame('patient@clinic.test', $r['mails'][0]['to']);
		$this->assertStringContainsString($again['join_url'], $r['mails'][0]['message']);
	}

	public function test_booking_rolled_back_by_core_is_removed_at_google_by_wp_kc_meet_reconcile(): void {
		$this->readyToBook();
		$b = $this->kc4Book(self::day(7), ['finish' => 'rollback']);
		$id = $b['id'];
		$this->assertNull($this->appointmentRow($id), 'core rolled the appointment back');
		$this->assertCount(1, $this->liveEvents(), 'the event was created before the rollback');
		$cli = $this->wpCli(['kc-meet', 'reconcile', '--format=json', '--yes'])->cli();
		$this->assertSame(0, $cli['exit_code'], json_encode($cli));
		$rows = json_decode($cli['stdout'], true);
		$this->assertSame([['kind' => 'orphan', 'appointment_id' => $id, 'event_id' => $b['meeting']['id'], 'doctor_id' => '', 'start_utc' => '', 'reason' => 'appointment_deleted']], $rows, $cli['stdout']);
		$this->assertSame('', $cli['stderr'], 'fixed without a warning or error (JSON output carries no Success line)');
		$this->assertSame([], $this->liveEvents(), 'the orphan event is deleted at Google');
		$this->assertSame('cancelled', $this->googleEvent($b['meeting']['id'])['status']);
		$this->assertSame([], $this->mappingRows($id));
	}

	public function test_booking_rolled_back_by_core_is_removed_at_google_by_the_daily_reconcile_hook(): void {
		$this->readyToBook();
		$b = $this->kc4Book(self::day(7), ['finish' => 'rollback']);
		$r = $this->wpOk('return KC_Meet_Background::reconcile();');
		$this->assertSame(1, $r['fixed'] ?? null, json_encode($r));
		$this->assertSame('appointment_deleted', $r['orphans'][0]['reason'] ?? null, json_encode($r));
		$this->assertSame([], $this->liveEvents());
		$this->assertSame([], $this->mappingRows($b['id']));
	}

	public function test_kc_meet_reconcile_called_without_options_removes_the_orphan_of_a_rolled_back_booking(): void {
		// Contract (api3.md): kc_meet_reconcile(array $opts = []) — the options are optional.
		$this->readyToBook();
		$b = $this->kc4Book(self::day(7), ['finish' => 'rollback']);
		$r = $this->wp('return kc_meet_reconcile();');
		$this->assertTrue($r->ok(), 'kc_meet_reconcile() without arguments: ' . $r->describe());
		$this->assertSame(1, $r->result()['fixed'] ?? null, json_encode($r->result()));
		$this->assertSame([], $this->liveEvents());
		$this->assertSame([], $this->mappingRows($b['id']));
	}

	public function test_pending_payment_booking_gets_no_event_until_kc_appointment_payment_completed_fires(): void {
		// Core 4.0.3 calls create_meeting for pending (status 2) bookings too; the event must wait for the payment.
		$this->readyToBook();
		$b = $this->kc4Book(self::day(7), ['status' => 2]);
		$this->assertSame('kc_meet_skipped', $b['meeting']['wp_error'] ?? null, json_encode($b['meeting']));
		$this->assertSame('pending_status', $b['meeting']['data']['reason'] ?? null);
		$this->assertSame([], $this->googleEvents());
		$this->assertSame([], $this->mappingRows($b['id']));
		// Payment completed: core fires the action (the row may still say 2 at that moment).
		$this->wpOk(['kc_core' => '4', 'args' => ['id' => $b['id']], 'code' => 'do_action("kc_appointment_payment_completed", $args["id"], ["payment_status" => "completed"]);']);
		$events = $this->liveEvents();
		$this->assertCount(1, $events);
		$rows = $this->mappingRows($b['id']);
		$this->assertCount(1, $rows);
		$this->assertSame($this->meetLink($events[0]), $rows[0]['url']);
		$this->assertSame('2', (string) $this->appointmentRow($b['id'])['status'], 'the plugin does not change core\'s status');
	}

	public function test_core4_reschedule_through_the_model_event_id_moves_the_event_and_keeps_the_link(): void {
		[$id, $meeting, $event] = $this->booked();
		$day = self::day(7);
		$r = $this->kc4('global $wpdb;
			$wpdb->query("START TRANSACTION");
			$wpdb->update($wpdb->prefix . "kc_appointments", ["appointment_start_time" => "14:00:00", "appointment_end_time" => "14:45:00",
				"appointment_start_utc" => $args["start_utc"], "appointment_end_utc" => $args["end_utc"]], ["id" => $args["id"]]);
			// Core 4.x: the event id through the add-on\'s model class, with its camelCase column name.
			$eventId = \KCGMApp\models\KCGMAppointmentGoogleMeetMapping::query()->select(["eventId"])->where("appointmentId", $args["id"])->first()->eventId;
			$m = $p->update_meeting($eventId, ["appointment_id" => $args["id"], "topic" => "Video Consultation", "summary" => "Video Consultation",
				"attendees" => ["patient@clinic.test", "doctor@clinic.test"], "doctor_id" => $args["doctor"],
				"start_time" => $args["start"], "end_time" => $args["end"], "timezone" => wp_timezone_string()]);
			do_action("kc_appointment_updated", $args["id"], [], [], null);
			$wpdb->query("COMMIT");
			return ["event_id" => $eventId, "meeting" => is_wp_error($m) ? $m->get_error_message() : $m];',
			['id' => $id, 'doctor' => $this->id('doctor')] + self::berlin($day, '14:00:00', '14:45:00'));
		$this->assertSame($meeting['id'], $r['event_id'], 'select(["eventId"]) returned the event id');
		$this->assertIsArray($r['meeting'], json_encode($r));
		$this->assertSame($meeting['join_url'], $r['meeting']['join_url']);
		$events = $this->liveEvents();
		$this->assertCount(1, $events);
		$this->assertSame($meeting['id'], $events[0]['id'], 'same event');
		$this->assertSame($meeting['join_url'], $this->meetLink($events[0]), 'same Meet link');
		$this->assertSame(strtotime("$day 14:00:00 Europe/Berlin"), self::instant($events[0]['start']), 'new start at Google');
		$this->assertSame(strtotime("$day 14:45:00 Europe/Berlin"), self::instant($events[0]['end']));
		$this->assertCount(1, $this->inserts());
		$this->assertSame($meeting['join_url'], $this->mappingRows($id)[0]['url']);
		$updates = array_filter($this->notifications(), static fn($n) => $n['kind'] === 'update');
		$this->assertNotEmpty($updates, 'attendees were told about the new time');
	}

	public function test_core4_cancel_action_deletes_the_event_tells_the_patient_and_removes_the_mapping(): void {
		[$id, $meeting] = $this->booked();
		$this->wpOk(['kc_core' => '4', 'args' => ['id' => $id], 'code' => 'global $wpdb;
			$wpdb->update($wpdb->prefix . "kc_appointments", ["status" => 0], ["id" => $args["id"]]);
			$row = $wpdb->get_row($wpdb->prepare("SELECT * FROM {$wpdb->prefix}kc_appointments WHERE id = %d", $args["id"]), ARRAY_A);
			do_action("kc_appointment_status_update", $args["id"], 0, $row);
			do_action("kc_appointment_cancelled", $args["id"]);']);
		$this->assertSame('cancelled', $this->googleEvent($meeting['id'])['status']);
		$this->assertSame([], $this->liveEvents());
		$cancellations = array_values(array_filter($this->notifications(), static fn($n) => $n['kind'] === 'cancellation'));
		$this->assertCount(1, $cancellations, json_encode($this->notifications()));
		$this->assertContains('patient@clinic.test', $cancellations[0]['recipients']);
		$this->assertSame([], $this->mappingRows($id));
		$this->assertNull($this->wpOk('return kc_meet_mapping((int) $args["id"]);', ['id' => $id]));
		$this->assertNull($this->kc4('return $p->get_meeting_by_appointment($args["id"]);', ['id' => $id]));
	}

	public function test_core4_appointment_deleted_action_deletes_the_event(): void {
		[$id, $meeting] = $this->booked();
		$this->wpOk(['kc_core' => '4', 'args' => ['id' => $id], 'code' => 'global $wpdb;
			$row = $wpdb->get_row($wpdb->prepare("SELECT * FROM {$wpdb->prefix}kc_appointments WHERE id = %d", $args["id"]), ARRAY_A);
			$wpdb->delete($wpdb->prefix . "kc_appointment_service_mapping", ["appointment_id" => $args["id"]]);
			$wpdb->delete($wpdb->prefix . "kc_appointments", ["id" => $args["id"]]);
			do_action("kc_appointment_deleted", $args["id"], $row);']);
		$this->assertSame('cancelled', $this->googleEvent($meeting['id'])['status']);
		$this->assertSame([], $this->mappingRows($id));
		$this->assertContains('cancellation', array_column($this->notifications(), 'kind'));
	}

	public function test_cancel_meeting_by_appointment_deletes_the_event_once_and_returns_true(): void {
		[$id, $meeting] = $this->booked();
		$r = $this->kc4('return [$p->cancel_meeting_by_appointment($args["id"]), $p->cancel_meeting_by_appointment((string) $args["id"])];', ['id' => $id]);
		$this->assertSame([true, true], $r, 'deleted, then nothing left to delete');
		$this->assertSame('cancelled', $this->googleEvent($meeting['id'])['status']);
		$this->assertSame([], $this->mappingRows($id));
		$this->assertCount(1, array_filter($this->notifications(), static fn($n) => $n['kind'] === 'cancellation'), 'the patient is told once');
		$deletes = array_filter($this->emu()->requests(), static fn($q) => $q['operation'] === 'calendar.events.delete');
		$this->assertCount(1, $deletes);
	}
}
