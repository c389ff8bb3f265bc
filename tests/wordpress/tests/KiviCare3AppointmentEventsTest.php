<?php
namespace KcMeetTest;

/**
 * 11. KiviCare 3.x appointment events through its filters and actions, in the order core 3.6 calls
 *     them (KIVICARE.md): kcgm_save_appointment_event once per telemed service before the service
 *     rows exist, kc_appointment_book; kcgm_remove_appointment_event on status 0; the save filter
 *     with type status_update when the appointment is booked again.
 */
final class KiviCare3AppointmentEventsTest extends WpTestCase {
	use KiviCareFixtures;

	/** Core 3.x booking: row committed, save filter per telemed service, service rows, kc_appointment_book. */
	private function book3(): array {
		$this->readyToBook(['Video A' => 'yes', 'Video B' => 'yes']);
		$id = $this->kcAppointment(self::day(5), '09:00:00', '09:30:00', [], []);
		$answers = $this->wpOk('
			$data = ["appoinment_id" => (string) $args["id"], "service" => "Video A,Video B"];
			return [apply_filters("kcgm_save_appointment_event", $data), apply_filters("kcgm_save_appointment_event", $data)];', ['id' => $id]);
		$this->kcServiceRows($id, array_values($this->kc['services']));
		$this->wpOk('do_action("kc_appointment_book", (string) $args["id"]);', ['id' => $id]);
		return [$id, $answers];
	}

	private function cancel3(int $id): array {
		Db::query($this->db, 'UPDATE wp_kc_appointments SET status = 0 WHERE id = ?', [$id]);
		return $this->wpOk('
			$r = apply_filters("kcgm_remove_appointment_event", ["appoinment_id" => (string) $args["id"]]);
			do_action("kc_appointment_cancel", (string) $args["id"]);
			do_action("kc_appointment_status_update", (string) $args["id"], "0");
			return $r;', ['id' => $id]);
	}

	private function inserts(): array {
		return array_values(array_filter($this->emu()->requests(), static fn($r) => $r['operation'] === 'calendar.events.insert'));
	}

	public function test_save_filter_called_per_service_before_the_service_rows_exist_makes_one_event_and_answers_its_link(): void {
		[$id, [$first, $second]] = $this->book3();
		$this->assertTrue($first['status'] ?? null, json_encode($first));
		$this->assertStringStartsWith('https://meet.google.com/', (string) ($first['join_url'] ?? ''), json_encode($first));
		$this->assertTrue($second['status'] ?? null, json_encode($second));
		$this->assertSame($first['join_url'], $second['join_url'] ?? null, 'the second call (second service) answers the same link');
		$events = $this->liveEvents();
		$this->assertCount(1, $events, 'one event for two services and kc_appointment_book');
		$this->assertCount(1, $this->googleEvents());
		$this->assertCount(1, $this->inserts());
		$this->assertSame($first['join_url'], $this->meetLink($events[0]));
		$this->assertStringContainsString('Video A, Video B', $events[0]['summary']);
		$this->assertSame(strtotime(self::day(5) . ' 09:00:00 Europe/Berlin'), self::instant($events[0]['start']));
		$rows = $this->mappingRows($id);
		$this->assertCount(1, $rows);
		$this->assertSame($first['join_url'], $rows[0]['url']);
	}

	public function test_remove_filter_on_status_0_deletes_the_event_tells_the_patient_and_removes_the_mapping(): void {
		[$id, [$saved]] = $this->book3();
		$removed = $this->cancel3($id);
		$this->assertTrue($removed['status'] ?? null, json_encode($removed));
		$this->assertSame([], $this->liveEvents());
		$this->assertSame('cancelled', $this->googleEvents()[0]['status']);
		$this->assertSame([], $this->mappingRows($id));
		$cancellations = array_values(array_filter($this->notifications(), static fn($n) => $n['kind'] === 'cancellation'));
		$this->assertCount(1, $cancellations, 'told once although the filter and two actions fired');
		$this->assertContains('patient@clinic.test', $cancellations[0]['recipients']);
		$this->assertNotSame('', $saved['join_url']);
	}

	public function test_booked_again_with_type_status_update_gets_a_live_event_with_a_link(): void {
		[$id] = $this->book3();
		$this->cancel3($id);
		Db::query($this->db, 'UPDATE wp_kc_appointments SET status = 1 WHERE id = ?', [$id]);
		$r = $this->wpOk('
			$r = apply_filters("kcgm_save_appointment_event", ["appoinment_id" => (string) $args["id"], "service" => "Video A,Video B", "type" => "status_update"]);
			do_action("kc_appointment_status_update", (string) $args["id"], "1");
			return $r;', ['id' => $id]);
		$this->assertTrue($r['status'] ?? null, json_encode($r));
		$this->assertStringStartsWith('https://meet.google.com/', (string) ($r['join_url'] ?? ''), json_encode($r));
		$live = $this->liveEvents();
		$this->assertCount(1, $live);
		$this->assertSame($r['join_url'], $this->meetLink($live[0]));
		$rows = $this->mappingRows($id);
		$this->assertCount(1, $rows);
		$this->assertSame($r['join_url'], $rows[0]['url']);
		$this->assertSame($live[0]['id'], $rows[0]['event_id']);
	}

	public function test_save_filter_with_type_woocommerce_for_a_paid_order_creates_the_event_although_core_leaves_status_0(): void {
		// KIVICARE.md: core 3.x stores a WooCommerce booking with status 0 until paid; its order handler
		// then calls the save filter with type "woocommerce" and leaves the status at 0. The meeting must
		// exist once the order is paid.
		$this->readyToBook(['Video A' => 'yes']);
		$id = $this->kcAppointment(self::day(5), '09:00:00', '09:30:00', ['status' => 0]);
		$r = $this->wpOk('return apply_filters("kcgm_save_appointment_event", ["appoinment_id" => (string) $args["id"], "service" => "Video A", "type" => "woocommerce"]);', ['id' => $id]);
		$this->assertTrue($r['status'] ?? null, json_encode($r));
		$this->assertStringStartsWith('https://meet.google.com/', (string) ($r['join_url'] ?? ''), json_encode($r));
		$this->assertCount(1, $this->liveEvents());
		$this->assertCount(1, $this->mappingRows($id));
	}

	public function test_saving_the_edit_form_with_status_0_leaves_no_event(): void {
		// Core 3.x: the edit form with status 0 calls the save filter first and the remove filter after.
		[$id] = $this->book3();
		Db::query($this->db, 'UPDATE wp_kc_appointments SET status = 0 WHERE id = ?', [$id]);
		$r = $this->wpOk('
			$save = apply_filters("kcgm_save_appointment_event", ["appoinment_id" => (string) $args["id"], "service" => "Video A,Video B"]);
			$remove = apply_filters("kcgm_remove_appointment_event", ["appoinment_id" => (string) $args["id"]]);
			return [$save, $remove];', ['id' => $id]);
		$this->assertSame('', $r[0]['join_url'] ?? '', 'no link is handed out for a cancelled appointment: ' . json_encode($r[0]));
		$this->assertTrue($r[1]['status'] ?? null, json_encode($r[1]));
		$this->assertSame([], $this->liveEvents());
		$this->assertCount(1, $this->inserts(), 'no event was created for the cancelled appointment');
		$this->assertSame([], $this->mappingRows($id));
	}
}
