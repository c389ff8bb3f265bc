<?php
namespace KcMeetTest;

/**
 * A move made in Google Calendar, reviewed by an administrator on Google Meet → Appointments:
 * the screen shows the earlier and the doctor's time in the site's zone and format; "Accept the
 * new time" gives the appointment (KiviCare's local columns, and the 4.2+ UTC ones when the
 * table has them) and its event the doctor's time; "Revert" puts both back. Idempotent, nonce
 * and capability checked, audited, the flag cleared. Changes arrive by polling (do_action
 * 'kc_meet_sync', the cron hook): the test bed has no HTTPS push URL.
 */
final class GoogleChangeReviewTest extends WpTestCase {
	use KiviCareFixtures;

	private const APPOINTMENTS = '/wp-admin/admin.php?page=kc-meet-appointments';

	private function page(Http $h, string $url): Html {
		$r = $h->get($url);
		$this->assertSame(200, $r->status, $r->describe());
		return new Html($r->body);
	}

	private static function row(int $id): string {
		return "//tr[@data-appointment-id='$id']";
	}

	/** Submits the row's form whose button has class $button; returns the page it lands on. */
	private function rowAction(Http $h, int $id, string $button): Html {
		$page = $this->page($h, self::APPOINTMENTS);
		$btn = $page->first(self::row($id) . "//button[contains(@class, '$button')]");
		$this->assertNotNull($btn, "no $button button for #$id: " . Html::text($page->first(self::row($id))));
		$form = $page->form($btn->parentNode, Env::wpUrl() . self::APPOINTMENTS);
		$r = $h->post($form['action'], Html::encode($form['fields']), ['Content-Type' => 'application/x-www-form-urlencoded', 'Referer' => Env::wpUrl() . self::APPOINTMENTS]);
		$this->assertSame(302, $r->status, $r->describe());
		return $this->page($h, (string) $r->location());
	}

	private static function berlinAt(string $day, string $hm): string {
		return (new \DateTimeImmutable("$day $hm:00", new \DateTimeZone('Europe/Berlin')))->format(DATE_RFC3339);
	}

	private static function utcOf(string $day, string $hm): string {
		return gmdate('Y-m-d H:i:s', strtotime(self::berlinAt($day, $hm)));
	}

	private function setSyncChoice(string $key, string $value): void {
		$this->wpOk('$s = get_option("kiviCare_google_meet_setting", []); $s[$args["k"]] = $args["v"]; update_option("kiviCare_google_meet_setting", $s);',
			['k' => $key, 'v' => $value]);
	}

	/** The doctor drags the event in Google Calendar to $from–$to (Berlin) on $day; a sync follows. */
	private function moveInGoogle(string $eventId, string $day, string $from, string $to): array {
		$this->emu()->call('POST', '/__emu/ui/move', ['email' => self::GOOGLE_EMAIL, 'event_id' => $eventId,
			'start' => ['dateTime' => self::berlinAt($day, $from)], 'end' => ['dateTime' => self::berlinAt($day, $to)]]);
		return $this->wpOk('
			$seen = [];
			add_action("kc_meet_appointment_changed_in_google", function ($c) use (&$seen) { $seen[] = $c["kind"]; });
			do_action("kc_meet_sync");
			return $seen;');
	}

	/** A 4.x booking on day 7 at 10:00–10:30 (Berlin), synced once, then moved in Google to 12:00–12:30. */
	private function movedBooking(): array {
		$this->readyToBook();
		$day = self::day(7);
		$b = $this->kc4Book($day);
		$this->wpOk('do_action("kc_meet_sync");'); // the first listing: nothing changed in Google yet
		$kinds = $this->moveInGoogle($b['meeting']['id'], $day, '12:00', '12:30');
		return [$b, $day, $kinds];
	}

	private function eventRow(int $id): array {
		return Db::query($this->db, 'SELECT * FROM wp_kc_meet_events WHERE appointment_id = ?', [$id])[0];
	}

	private function googleWritesSince(int $before): array {
		return array_values(array_filter($this->requestsSince($before), static fn($r) => strpos($r['path'], '/calendar/v3/') === 0 && $r['method'] !== 'GET'));
	}

	// ------------------------------------------------------------------ listed for review

	public function test_a_move_made_in_google_is_listed_with_both_times_and_shown_flagged_in_the_sites_format(): void {
		[$b, $day, $kinds] = $this->movedBooking();
		$id = $b['id'];
		$this->assertSame(['moved'], $kinds);
		$moves = $this->wpOk('return KC_Meet_Sync_Changes::moves();');
		$this->assertSame([$id], array_keys($moves));
		$this->assertSame(
			['moved', self::utcOf($day, '10:00'), self::utcOf($day, '10:30'), self::utcOf($day, '12:00'), self::utcOf($day, '12:30')],
			[$moves[$id]['kind'], $moves[$id]['old_start_utc'], $moves[$id]['old_end_utc'], $moves[$id]['new_start_utc'], $moves[$id]['new_end_utc']]
		);
		$this->assertSame('moved_in_google', $this->eventRow($id)['flag']);
		$this->assertSame([], $this->wpOk('return KC_Meet_Sync_Changes::flagged();'), 'the deletions\' review list is not touched');

		$page = $this->page($this->loggedIn('admin'), self::APPOINTMENTS);
		$row = $page->first(self::row($id));
		$this->assertSame('flagged', $row->getAttribute('data-state'));
		$format = $this->wpOk('return get_option("date_format") . " " . get_option("time_format");');
		$berlin = new \DateTimeZone('Europe/Berlin');
		$old = (new \DateTimeImmutable(self::berlinAt($day, '10:00')))->setTimezone($berlin);
		$new = (new \DateTimeImmutable(self::berlinAt($day, '12:00')))->setTimezone($berlin);
		$text = Html::text($page->first(self::row($id) . "//span[contains(@class, 'kc-meet-move')]"));
		$this->assertStringContainsString($old->format($format) . ' → ' . $new->format($format), $text);
		$this->assertNotNull($page->first(self::row($id) . "//button[contains(@class, 'kc-meet-accept-move')]"));
		$this->assertNotNull($page->first(self::row($id) . "//button[contains(@class, 'kc-meet-revert-move')]"));
	}

	// ------------------------------------------------------------------ accept

	public function test_accept_keeps_the_doctors_time_clears_the_flag_and_a_second_accept_does_nothing(): void {
		[$b, $day] = $this->movedBooking();
		$id = $b['id'];
		$h = $this->loggedIn('admin');
		$before = count($this->emu()->requests());
		$after = $this->rowAction($h, $id, 'kc-meet-accept-move');
		$this->assertSame('move_accepted', $after->first("//div[contains(@class, 'kc-meet-result')]")?->getAttribute('data-result'));
		$this->assertSame('linked', $after->first(self::row($id))->getAttribute('data-state'));
		$row = $this->appointmentRow($id);
		$this->assertSame([$day, '12:00:00', '12:30:00', self::utcOf($day, '12:00'), self::utcOf($day, '12:30')],
			[$row['appointment_start_date'], $row['appointment_start_time'], $row['appointment_end_time'], $row['appointment_start_utc'], $row['appointment_end_utc']]);
		$this->assertSame([], $this->googleWritesSince($before), 'the event is at the doctor\'s time already');
		$this->assertSame('', $this->eventRow($id)['flag']);
		$this->assertSame([], $this->wpOk('return KC_Meet_Sync_Changes::moves();'));
		$this->assertContains('move_accepted', array_column($this->auditRows($id), 'outcome'));

		// The same decision again (a second click, a replayed form): nothing to review, nothing written.
		$again = $this->wpOk('return KC_Meet_Sync_Changes::review_move($args["id"], "accept");', ['id' => $id]);
		$this->assertNull($again);
		$direct = $this->wpOk('KC_Meet_Native::ensure_ready(); return kc_meet_review_move($args["id"], "revert", ["start_utc" => $args["s"], "end_utc" => $args["e"]]);',
			['id' => $id, 's' => self::utcOf($day, '10:00'), 'e' => self::utcOf($day, '10:30')]);
		$this->assertFalse($direct['reviewed'], 'no flag: the decision is not taken again');
		$this->assertSame('12:00:00', $this->appointmentRow($id)['appointment_start_time']);
		$this->assertSame([], $this->googleWritesSince($before));
	}

	public function test_with_the_revert_policy_accept_gives_the_appointment_and_the_event_the_doctors_time(): void {
		$this->readyToBook();
		$this->setSyncChoice('kc_meet_on_google_move', 'revert');
		$day = self::day(7);
		$b = $this->kc4Book($day);
		$id = $b['id'];
		$this->wpOk('do_action("kc_meet_sync");');
		// A drag keeps the length. (The sync's `reverted` change carries the doctor's start only:
		// the doctor's time is reviewed with the appointment's length.)
		$this->assertSame(['reverted'], $this->moveInGoogle($b['meeting']['id'], $day, '15:00', '15:30'));
		$this->assertSame(strtotime(self::berlinAt($day, '10:00')), self::instant($this->liveEvents()[0]['start']), 'the policy put the event back');
		$move = $this->wpOk('return KC_Meet_Sync_Changes::moves();')[$id];
		$this->assertSame(['reverted', self::utcOf($day, '10:00'), self::utcOf($day, '15:00'), self::utcOf($day, '15:30')],
			[$move['kind'], $move['old_start_utc'], $move['new_start_utc'], $move['new_end_utc']]);
		$after = $this->rowAction($this->loggedIn('admin'), $id, 'kc-meet-accept-move');
		$this->assertSame('move_accepted', $after->first("//div[contains(@class, 'kc-meet-result')]")?->getAttribute('data-result'));
		$row = $this->appointmentRow($id);
		$this->assertSame(['15:00:00', '15:30:00', self::utcOf($day, '15:00')], [$row['appointment_start_time'], $row['appointment_end_time'], $row['appointment_start_utc']]);
		$event = $this->liveEvents()[0];
		$this->assertSame([strtotime(self::berlinAt($day, '15:00')), strtotime(self::berlinAt($day, '15:30'))], [self::instant($event['start']), self::instant($event['end'])]);
		$this->assertSame($b['meeting']['join_url'], $this->meetLink($event), 'same Meet link');
		$this->assertSame($b['meeting']['join_url'], $this->mappingRows($id)[0]['url']);
	}

	public function test_accept_on_a_kivicare_3_table_writes_the_local_columns_in_the_sites_zone(): void {
		$this->readyToBook();
		Db::query($this->db, 'ALTER TABLE wp_kc_appointments DROP COLUMN appointment_start_utc, DROP COLUMN appointment_end_utc, DROP COLUMN created_at_utc, DROP COLUMN appointment_timezone');
		$day = self::day(7);
		$id = $this->kcAppointment($day, '10:00:00', '10:30:00');
		$created = $this->wpOk('KC_Meet_Native::ensure_ready(); return kc_meet_create_event($args["id"]);', ['id' => $id]);
		$this->assertSame('created', $created['state'], json_encode($created));
		$this->wpOk('do_action("kc_meet_sync");');
		$this->assertSame(['moved'], $this->moveInGoogle($created['event_id'], $day, '11:00', '11:30'));
		$this->rowAction($this->loggedIn('admin'), $id, 'kc-meet-accept-move');
		$row = $this->appointmentRow($id);
		$this->assertSame([$day, '11:00:00', $day, '11:30:00'], [$row['appointment_start_date'], $row['appointment_start_time'], $row['appointment_end_date'], $row['appointment_end_time']], 'Berlin wall-clock time, as 3.x stores it');
		$this->assertArrayNotHasKey('appointment_start_utc', $row);
	}

	// ------------------------------------------------------------------ revert

	public function test_revert_puts_the_appointment_and_the_event_back_with_the_same_link(): void {
		[$b, $day] = $this->movedBooking();
		$id = $b['id'];
		$before = count($this->emu()->requests());
		$after = $this->rowAction($this->loggedIn('admin'), $id, 'kc-meet-revert-move');
		$this->assertSame('move_reverted', $after->first("//div[contains(@class, 'kc-meet-result')]")?->getAttribute('data-result'));
		$row = $this->appointmentRow($id);
		$this->assertSame(['10:00:00', '10:30:00', self::utcOf($day, '10:00'), self::utcOf($day, '10:30')],
			[$row['appointment_start_time'], $row['appointment_end_time'], $row['appointment_start_utc'], $row['appointment_end_utc']]);
		$writes = $this->googleWritesSince($before);
		$this->assertCount(1, $writes, 'one PATCH: ' . json_encode($writes));
		$this->assertSame('PATCH', $writes[0]['method']);
		$event = $this->liveEvents()[0];
		$this->assertSame(strtotime(self::berlinAt($day, '10:00')), self::instant($event['start']));
		$this->assertSame($b['meeting']['join_url'], $this->meetLink($event));
		$this->assertSame('', $this->eventRow($id)['flag']);
		$this->assertContains('move_reverted', array_column($this->auditRows($id), 'outcome'));
		$this->assertSame([], $this->wpOk('do_action("kc_meet_sync"); return KC_Meet_Sync_Changes::moves();'), 'our own patch does not come back as a move');
	}

	public function test_review_needs_the_rows_nonce_and_an_administrator(): void {
		[$b] = $this->movedBooking();
		$id = $b['id'];
		$before = count($this->emu()->requests());
		$forged = $this->loggedIn('admin')->post('/wp-admin/admin-post.php', http_build_query(['action' => 'kc_meet_appointment_revert_move', 'appointment_id' => $id, '_wpnonce' => 'forged']), ['Content-Type' => 'application/x-www-form-urlencoded']);
		$this->assertSame(403, $forged->status, $forged->describe());
		$doctor = $this->loggedIn('doctor');
		$nonce = $this->wpOk('wp_set_current_user($args["u"]); return wp_create_nonce("kc_meet_appointment_revert_move_" . $args["id"]);', ['u' => $this->id('doctor'), 'id' => $id]);
		$r = $doctor->post('/wp-admin/admin-post.php', http_build_query(['action' => 'kc_meet_appointment_revert_move', 'appointment_id' => $id, '_wpnonce' => $nonce]), ['Content-Type' => 'application/x-www-form-urlencoded']);
		$this->assertSame(403, $r->status, $r->describe());
		$this->assertSame('12:00:00', $this->appointmentRow($id)['appointment_start_time']);
		$this->assertSame('moved_in_google', $this->eventRow($id)['flag']);
		$this->assertSame([$id], array_keys($this->wpOk('return KC_Meet_Sync_Changes::moves();')));
		$this->assertSame([], $this->googleWritesSince($before));
	}

	public function test_a_bad_review_request_to_the_extension_is_refused_with_invalid_argument(): void {
		$this->readyToBook();
		$r = $this->wpOk('KC_Meet_Native::ensure_ready(); $out = [];
			foreach ([[0, "accept", []], [1, "approve", []], [1, "accept", ["start_utc" => "soon", "end_utc" => "later"]], [1, "revert", ["start_utc" => "2030-01-01 10:00:00", "end_utc" => "2030-01-01 09:00:00"]]] as [$id, $action, $times]) {
				try { kc_meet_review_move($id, $action, $times); $out[] = "accepted"; }
				catch (\KcMeet\InvalidArgumentException $e) { $out[] = $e->getCode(); }
			}
			return $out;');
		$this->assertSame([5001, 5001, 5001, 5001], $r);
	}
}
