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
}
