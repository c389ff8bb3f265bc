<?php
namespace KcMeetTest;

/**
 * 15. Appointment times through WordPress's time zone settings: rows without core 4.2's UTC columns
 *     hold local wall times in the site's zone (`timezone_string`, or `gmt_offset` when that is empty).
 */
final class EventTimeZoneTest extends WpTestCase {
	use KiviCareFixtures;

	/** The first day after the next DST change of $zone (Y-m-d in that zone) and whether clocks went forward. */
	private function dayAfterNextDstChange(string $zone): array {
		$tz = new \DateTimeZone($zone);
		$transitions = $tz->getTransitions(time() + 2 * 86400, time() + 400 * 86400);
		array_shift($transitions); // the first entry is the state at the start of the range
		$this->assertNotEmpty($transitions, "$zone has a DST change within the next 400 days");
		$t = $transitions[0];
		$day = (new \DateTimeImmutable('@' . $t['ts']))->setTimezone($tz)->modify('+1 day')->format('Y-m-d');
		return [$day, (bool) $t['isdst']];
	}

	public function test_new_york_site_booking_the_day_after_the_dst_change_starts_at_the_right_instant(): void {
		$this->readyToBook();
		$this->wpOk('update_option("timezone_string", "America/New_York");');
		[$day, $forward] = $this->dayAfterNextDstChange('America/New_York');
		$b = $this->kc4Book($day, ['start' => '10:00:00', 'end' => '10:30:00', 'utc' => false]);
		$this->assertStringStartsWith('https://meet.google.com/', (string) ($b['meeting']['join_url'] ?? ''), json_encode($b));
		$event = $this->liveEvents()[0];
		$local = new \DateTimeImmutable("$day 10:00:00", new \DateTimeZone('America/New_York'));
		$this->assertSame($forward ? '-04:00' : '-05:00', $local->format('P'), 'sanity: offset after the change');
		$this->assertSame($local->getTimestamp(), self::instant($event['start']),
			"10:00 in New York on $day is " . gmdate('H:i', $local->getTimestamp()) . ' UTC; Google got ' . json_encode($event['start']));
		$this->assertSame($local->getTimestamp() + 1800, self::instant($event['end']));
		$this->assertStringStartsWith("{$day}T10:00:00", $event['start']['dateTime'], 'the wall time shown in Google Calendar');
		$state = $this->wpOk('return kc_meet_appointment_state((int) $args["id"])["event"];', ['id' => $b['id']]);
		$this->assertSame(gmdate('Y-m-d H:i:s', $local->getTimestamp()), $state['start_utc']);
	}

	public function test_offset_only_site_sends_the_time_with_plus_05_30(): void {
		$this->readyToBook();
		$this->wpOk('update_option("timezone_string", ""); update_option("gmt_offset", 5.5);');
		$this->assertSame('+05:30', $this->wpOk('return wp_timezone_string();'), 'sanity: WordPress sees an offset-only site');
		$day = self::day(6);
		$b = $this->kc4Book($day, ['start' => '10:00:00', 'end' => '10:30:00', 'utc' => false]);
		$this->assertStringStartsWith('https://meet.google.com/', (string) ($b['meeting']['join_url'] ?? ''), json_encode($b));
		$event = $this->liveEvents()[0];
		$this->assertSame("{$day}T10:00:00+05:30", $event['start']['dateTime'], json_encode($event['start']));
		$this->assertSame("{$day}T10:30:00+05:30", $event['end']['dateTime']);
		$this->assertSame(strtotime("$day 04:30:00 UTC"), self::instant($event['start']));
		$this->assertArrayNotHasKey('timeZone', $event['start'], '"+05:30" is not an IANA zone name Google would accept');
	}

	public function test_inside_core_4s_transaction_a_row_without_utc_times_is_in_the_doctors_zone_not_the_utc_column_default(): void {
		// The extension cannot see the row (core's open transaction): the plugin hands it over raw,
		// with appointment_timezone at its column default 'UTC' and no UTC times.
		$this->readyToBook();
		$this->wpOk('update_option("timezone_string", "America/New_York"); update_user_meta((int) $args["d"], "timezone", "Europe/Berlin");', ['d' => $this->id('doctor')]);
		$day = self::day(9);
		$b = $this->kc4Book($day, ['start' => '10:00:00', 'end' => '10:45:00', 'utc' => false]);
		$this->assertStringStartsWith('https://meet.google.com/', (string) ($b['meeting']['join_url'] ?? ''), json_encode($b));
		$berlin = self::berlin($day, '10:00:00', '10:45:00');
		$event = $this->liveEvents()[0];
		$this->assertSame(strtotime($berlin['start_utc'] . ' UTC'), self::instant($event['start']), json_encode($event['start']));
		$this->assertSame(strtotime($berlin['end_utc'] . ' UTC'), self::instant($event['end']));
		$this->assertSame($berlin['start'], $event['start']['dateTime'], 'the wall time in Berlin, with its offset of that day');
		$this->assertSame('Europe/Berlin', $event['start']['timeZone'] ?? null);
	}

	public function test_core_4_2_utc_times_win_over_the_local_columns_and_the_doctors_zone(): void {
		$this->readyToBook();
		$this->wpOk('update_option("timezone_string", "Europe/Berlin"); update_user_meta((int) $args["d"], "timezone", "America/New_York");', ['d' => $this->id('doctor')]);
		$day = self::day(10);
		$b = $this->kc4Book($day, ['start' => '09:15:00', 'end' => '09:45:00']);
		$this->assertStringStartsWith('https://meet.google.com/', (string) ($b['meeting']['join_url'] ?? ''), json_encode($b));
		$berlin = self::berlin($day, '09:15:00', '09:45:00');
		$event = $this->liveEvents()[0];
		$this->assertSame($berlin['start'], $event['start']['dateTime']);
		$this->assertSame($berlin['end'], $event['end']['dateTime']);
		$this->assertSame('Europe/Berlin', $event['start']['timeZone'] ?? null, "the row's appointment_timezone, not the doctor's meta");
	}

	public function test_the_doctors_service_alias_names_the_event_inside_core_4s_transaction(): void {
		$this->readyToBook();
		Db::query($this->db, 'UPDATE wp_kc_service_doctor_mapping SET service_name_alias = ? WHERE service_id = ?', ['Online follow-up', $this->kc['services']['Video Consultation']]);
		$b = $this->kc4Book(self::day(11));
		$this->assertStringStartsWith('https://meet.google.com/', (string) ($b['meeting']['join_url'] ?? ''), json_encode($b));
		$summary = $this->liveEvents()[0]['summary'];
		$this->assertStringStartsWith('Online follow-up', $summary);
		$this->assertStringNotContainsString('Video Consultation', $summary, "core's topic (the service's own name) does not win over the alias");
	}
}
