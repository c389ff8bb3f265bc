<?php
namespace KcMeetTest;

/**
 * A move made in Google Calendar, reviewed in headless Chromium: the doctor drags the event in
 * Google (the emulator), a sync runs, the admin sees the appointment flagged on Google Meet →
 * Appointments with the earlier and the new time, accepts the new time, and the row is back to
 * "Meet link ready" — the state KiviCare's own list carries too (core 4.x's list, as its
 * stand-in builds it, before and after). Screenshots go to target/wp-test/screenshots/.
 */
final class BrowserGoogleMoveReviewTest extends WpTestCase {
	use KiviCareFixtures;
	use BrowserSession;

	/** The state core 4.x's appointment list carries for an appointment (KC_Meet_Badge). */
	private function kiviCareListState(int $id): ?string {
		$items = $this->wpOk(['kc_core' => '4', 'code' => 'return \KcMeetTestBed\KCAppointmentListStandIn::list(["perPage" => 10, "page" => 1])["appointments"];']);
		return array_column($items, null, 'id')[$id]['kc_meet_state'] ?? null;
	}

	public function test_admin_sees_a_move_made_in_google_and_accepts_the_new_time(): void {
		$this->readyToBook();
		$day = self::day(7);
		$b = $this->kc4Book($day);
		$id = $b['id'];
		$this->wpOk('do_action("kc_meet_sync");');
		$at = static fn(string $hm) => (new \DateTimeImmutable("$day $hm:00", new \DateTimeZone('Europe/Berlin')))->format(DATE_RFC3339);
		$this->emu()->call('POST', '/__emu/ui/move', ['email' => self::GOOGLE_EMAIL, 'event_id' => $b['meeting']['id'],
			'start' => ['dateTime' => $at('13:00')], 'end' => ['dateTime' => $at('13:30')]]);
		$this->wpOk('do_action("kc_meet_sync");');
		$this->assertSame('flagged', $this->kiviCareListState($id), 'KiviCare\'s list carries the flag');

		$wd = $this->wd;
		$this->login('admin');
		$wd->go(Env::wpUrl() . '/wp-admin/admin.php?page=kc-meet-appointments');
		$wd->waitFor(static fn($w) => $w->find('.kc-meet-appointments-table') !== '');
		$row = "tr.kc-meet-appointment[data-appointment-id='$id']";
		$this->assertSame('flagged', $wd->attribute($wd->find($row), 'data-state'));
		$this->assertStringContainsString('Moved in Google Calendar:', $wd->text($wd->find("$row .kc-meet-move")));
		$this->screenshot('20-appointments-moved-in-google');

		$wd->exec('window.confirm = function () { return true; };');
		$wd->click($wd->find("$row button.kc-meet-accept-move"));
		$wd->waitFor(static fn($w) => strpos($w->url(), 'kc_meet_done=move_accepted') !== false);
		$wd->waitFor(static fn($w) => $w->find('.kc-meet-appointments-table') !== '');
		$this->assertSame('linked', $wd->attribute($wd->find($row), 'data-state'));
		$this->screenshot('21-appointments-move-accepted');

		$this->assertSame('13:00:00', $this->appointmentRow($id)['appointment_start_time'], 'the appointment has the doctor\'s time');
		$this->assertSame('linked', $this->kiviCareListState($id), 'and KiviCare\'s list says Meet link ready');
	}
}
