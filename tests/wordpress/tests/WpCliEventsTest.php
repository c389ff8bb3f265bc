<?php
namespace KcMeetTest;

/** 14. `wp kc-meet event|backfill|jobs|reconcile` through the WP-CLI stand-in, in a real WordPress process. */
final class WpCliEventsTest extends WpTestCase {
	use KiviCareFixtures;

	private function cli(array $argv): array {
		$r = $this->wpCli($argv);
		$this->assertNotNull($r->report, $r->describe());
		$this->assertNull($r->report['fatal'], $r->describe());
		$this->assertNull($r->exception(), $r->describe());
		$this->assertNotNull($r->cli(), $r->describe());
		return $r->cli();
	}

	/** STDOUT of a --format=json command is JSON and nothing else (scripts parse all of it). */
	private function json(string $stdout) {
		$j = json_decode($stdout, true);
		$this->assertIsArray($j, "stdout is JSON and nothing else: $stdout");
		return $j;
	}

	public function test_event_create_makes_the_event_and_event_show_reports_mapping_event_and_audit(): void {
		$this->readyToBook();
		$id = $this->kcAppointment(self::day(4));
		$cli = $this->cli(['kc-meet', 'event', 'create', (string) $id]);
		$this->assertSame(0, $cli['exit_code'], json_encode($cli));
		$events = $this->liveEvents();
		$this->assertCount(1, $events);
		$link = $this->meetLink($events[0]);
		$this->assertSame("Success: Appointment $id: created event {$events[0]['id']} $link.\n", $cli['stdout']);

		$show = $this->cli(['kc-meet', 'event', 'show', (string) $id, '--format=json']);
		$this->assertSame(0, $show['exit_code'], json_encode($show));
		$state = json_decode($show['stdout'], true);
		$this->assertSame($id, $state['appointment_id']);
		$this->assertSame($link, $state['mapping']['url']);
		$this->assertSame($events[0]['id'], $state['event']['event_id']);
		$this->assertSame('active', $state['event']['state']);
		$this->assertSame(gmdate('Y-m-d H:i:s', self::instant($events[0]['start'])), $state['event']['start_utc']);
		$this->assertNull($state['job']);
		$this->assertSame(['create', 'ok'], [$state['audit'][0]['action'] ?? null, $state['audit'][0]['outcome'] ?? null], json_encode($state['audit']));

		$table = $this->cli(['kc-meet', 'event', 'show', (string) $id]);
		$this->assertMatchesRegularExpression('/\|\s*mapping\.url\s*\|\s*' . preg_quote($link, '/') . '\s*\|/', $table['stdout']);
		$this->assertStringContainsString('Audit:', $table['stdout']);
	}

	public function test_event_create_of_an_appointment_without_telemed_service_warns_and_creates_nothing(): void {
		$this->readyToBook(['Checkup' => 'no']);
		$id = $this->kcAppointment(self::day(4));
		$cli = $this->cli(['kc-meet', 'event', 'create', (string) $id]);
		$this->assertSame(0, $cli['exit_code'], json_encode($cli));
		$this->assertStringContainsString("Warning: Appointment $id: skipped (not_telemed)", $cli['stderr']);
		$this->assertSame([], $this->googleEvents());
	}

	public function test_event_update_moves_the_event_and_keeps_the_link(): void {
		$this->readyToBook();
		$day = self::day(4);
		$id = $this->kcAppointment($day);
		$this->cli(['kc-meet', 'event', 'create', (string) $id]);
		$before = $this->liveEvents()[0];
		Db::query($this->db, "UPDATE wp_kc_appointments SET appointment_start_time = '15:00:00', appointment_end_time = '15:30:00' WHERE id = ?", [$id]);
		$cli = $this->cli(['kc-meet', 'event', 'update', (string) $id, '--format=json']);
		$this->assertSame(0, $cli['exit_code'], json_encode($cli));
		$result = json_decode($cli['stdout'], true);
		$this->assertSame('updated', $result['state'], $cli['stdout']);
		$this->assertSame($this->meetLink($before), $result['meet_url']);
		$after = $this->liveEvents();
		$this->assertCount(1, $after);
		$this->assertSame($before['id'], $after[0]['id']);
		$this->assertSame($this->meetLink($before), $this->meetLink($after[0]));
		$this->assertSame(strtotime("$day 15:00:00 Europe/Berlin"), self::instant($after[0]['start']));
	}

	public function test_event_delete_removes_the_event_and_the_mapping(): void {
		$this->readyToBook();
		$id = $this->kcAppointment(self::day(4));
		$this->cli(['kc-meet', 'event', 'create', (string) $id]);
		$eventId = $this->liveEvents()[0]['id'];
		$cli = $this->cli(['kc-meet', 'event', 'delete', (string) $id, '--yes']);
		$this->assertSame(0, $cli['exit_code'], json_encode($cli));
		$this->assertSame("Success: Appointment $id: deleted event $eventId.\n", $cli['stdout']);
		$this->assertSame('cancelled', $this->googleEvent($eventId)['status']);
		$this->assertSame([], $this->mappingRows($id));
		$again = $this->cli(['kc-meet', 'event', 'delete', (string) $id, '--yes']);
		$this->assertSame(0, $again['exit_code'], 'deleting again is fine: ' . json_encode($again));
		$this->assertStringContainsString('no_event', $again['stdout']);
	}

	public function test_backfill_dry_run_lists_telemed_appointments_without_an_event_and_changes_nothing(): void {
		$this->readyToBook(['Video Consultation' => 'yes', 'Checkup' => 'no']);
		$a = $this->kcAppointment(self::day(3), '09:00:00', '09:30:00', [], [$this->kc['services']['Video Consultation']]);
		$b = $this->kcAppointment(self::day(4), '09:00:00', '09:30:00', [], [$this->kc['services']['Video Consultation']]);
		$this->kcAppointment(self::day(5), '09:00:00', '09:30:00', [], [$this->kc['services']['Checkup']]);
		$before = count($this->emu()->requests());
		$cli = $this->cli(['kc-meet', 'backfill', '--dry-run', '--format=json']);
		$this->assertSame(0, $cli['exit_code'], json_encode($cli));
		$rows = $this->json($cli['stdout']);
		$this->assertEqualsCanonicalizing([$a, $b], array_column($rows, 'appointment_id'), $cli['stdout']);
		$this->assertSame([$this->id('doctor'), $this->id('doctor')], array_column($rows, 'doctor_id'));
		$this->assertStringNotContainsString('Success:', $cli['stdout'], 'no Success line after machine-readable output');
		$table = $this->cli(['kc-meet', 'backfill', '--dry-run']);
		$this->assertStringContainsString('Success: 2 appointment(s) would get an event (dry run: nothing changed).', $table['stdout']);
		$this->assertSame([], array_filter($this->requestsSince($before), static fn($r) => strpos($r['path'], '/calendar/v3/') === 0 && $r['method'] !== 'GET'));
		$this->assertSame([], $this->googleEvents());
	}

	public function test_backfill_creates_the_missing_events_through_the_reconcile_pass(): void {
		$this->readyToBook();
		$a = $this->kcAppointment(self::day(3));
		$b = $this->kcAppointment(self::day(4));
		$cli = $this->cli(['kc-meet', 'backfill', '--format=json']);
		$this->assertSame(0, $cli['exit_code'], json_encode($cli));
		$rows = $this->json($cli['stdout']);
		$this->assertEqualsCanonicalizing([$a, $b], array_column($rows, 'appointment_id'), $cli['stdout']);
		$this->assertSame(['', ''], array_column($rows, 'error'));
		$this->assertCount(2, $this->liveEvents());
		foreach ([$a, $b] as $id) {
			$this->assertCount(1, $this->mappingRows($id), "appointment $id");
		}
		$again = $this->cli(['kc-meet', 'backfill', '--dry-run', '--format=json']);
		$this->assertSame([], $this->json($again['stdout']), 'nothing left to backfill');
		$table = $this->cli(['kc-meet', 'backfill']);
		$this->assertSame(0, $table['exit_code'], json_encode($table));
		$this->assertStringContainsString('Success: Event already created.', $table['stdout']);
	}

	public function test_backfill_exits_1_when_an_event_could_not_be_created(): void {
		$this->readyToBook();
		$this->kcAppointment(self::day(3));
		$this->emu()->fault(['method' => 'POST', 'path' => '/calendar/v3/calendars/primary/events', 'times' => 0, 'action' => 'status', 'status' => 400]);
		$cli = $this->cli(['kc-meet', 'backfill', '--format=json', '--quiet']);
		$this->assertSame(1, $cli['exit_code'], json_encode($cli));
		$this->assertNotSame('', $this->json($cli['stdout'])[0]['error']);
		$this->assertStringContainsString('Error: No events created (1 failed).', $cli['stderr']);
	}

	public function test_jobs_list_retry_and_run_bring_a_failed_event_through(): void {
		$this->readyToBook();
		$id = $this->kcAppointment(self::day(4));
		$this->emu()->fault(['method' => 'POST', 'path' => '/calendar/v3/calendars/primary/events', 'times' => 0, 'action' => 'status', 'status' => 400]);
		$create = $this->cli(['kc-meet', 'event', 'create', (string) $id]);
		$this->assertSame(1, $create['exit_code'], json_encode($create));
		$this->assertStringContainsString('(code 3001)', $create['stderr']);

		$list = $this->cli(['kc-meet', 'jobs', 'list', '--state=failed', '--format=json']);
		$jobs = $this->json($list['stdout']);
		$this->assertCount(1, $jobs, $list['stdout']);
		$this->assertSame($id, $jobs[0]['appointment_id']);
		$this->assertSame('ensure', $jobs[0]['action']);
		$this->assertSame('failed', $jobs[0]['state']);
		$this->assertStringContainsString('400', $jobs[0]['last_error']);
		$this->assertSame([], $this->json($this->cli(['kc-meet', 'jobs', 'list', '--state=queued', '--format=json'])['stdout']));

		$this->emu()->call('DELETE', '/__emu/faults');
		$retry = $this->cli(['kc-meet', 'jobs', 'retry', (string) $jobs[0]['id']]);
		$this->assertSame(0, $retry['exit_code'], json_encode($retry));
		$this->assertSame("Success: Job {$jobs[0]['id']} (ensure of appointment $id) is queued and due now.\n", $retry['stdout']);
		$queued = $this->json($this->cli(['kc-meet', 'jobs', 'list', '--state=queued', '--format=json'])['stdout']);
		$this->assertSame([$jobs[0]['id']], array_column($queued, 'id'));

		$run = $this->cli(['kc-meet', 'jobs', 'run', '--format=json']);
		$this->assertSame(0, $run['exit_code'], json_encode($run));
		$summary = json_decode($run['stdout'], true);
		$this->assertSame(1, $summary['ran'], $run['stdout']);
		$this->assertSame(1, $summary['done'], $run['stdout']);
		$this->assertSame(0, $summary['failed']);
		$this->assertCount(1, $this->liveEvents());
		$this->assertCount(1, $this->mappingRows($id));
		$this->assertSame([], $this->json($this->cli(['kc-meet', 'jobs', 'list', '--format=json'])['stdout']));
	}

	public function test_jobs_list_declares_exactly_the_options_it_reads(): void {
		$synopsis = $this->wpOk(['cli' => true, 'code' => 'return WP_CLI::synopsis((string) (new ReflectionMethod("KC_Meet_CLI_Jobs_Command", "list_"))->getDocComment());']);
		$this->assertSame('[--state=<state>] [--limit=<n>] [--fields=<fields>] [--format=<format>]', $synopsis);
		$this->readyToBook();
		$typo = $this->cli(['kc-meet', 'jobs', 'list', '--stat=failed']);
		$this->assertSame(1, $typo['exit_code'], json_encode($typo));
		$this->assertStringContainsString('unknown --stat parameter', $typo['stderr']);
		$this->assertSame('', $typo['stdout'], 'nothing is listed');
	}

	public function test_jobs_list_turns_a_refused_option_into_an_error_with_exit_1(): void {
		$this->readyToBook();
		$cli = $this->cli(['kc-meet', 'jobs', 'list', '--limit=5000', '--format=json']);
		$this->assertSame(1, $cli['exit_code'], json_encode($cli));
		$this->assertSame('', $cli['stdout'], 'nothing is listed');
		$this->assertStringContainsString('Error: kc_meet_jobs(): limit must be an integer from 1 to 1000, got 5000 (code 5001)', $cli['stderr']);
		$ok = $this->cli(['kc-meet', 'jobs', 'list', '--limit=1000', '--format=json']);
		$this->assertSame(0, $ok['exit_code'], json_encode($ok));
		$this->assertSame([], $this->json($ok['stdout']));
	}

	public function test_jobs_retry_of_an_unknown_job_fails_with_exit_1(): void {
		$this->readyToBook();
		$cli = $this->cli(['kc-meet', 'jobs', 'retry', '4242']);
		$this->assertSame(1, $cli['exit_code'], json_encode($cli));
		$this->assertStringContainsString('(code 5001)', $cli['stderr']);
	}

	public function test_reconcile_reports_the_start_of_a_missing_event_in_utc(): void {
		// Contract (api3.md): missing entries carry `start_utc`. The site runs on Europe/Berlin, so a
		// 09:00 appointment in winter starts at 08:00 UTC.
		$this->readyToBook();
		$day = self::day(4);
		$id = $this->kcAppointment($day, '09:00:00', '09:30:00');
		$cli = $this->cli(['kc-meet', 'reconcile', '--dry-run', '--format=json']);
		$rows = $this->json($cli['stdout']);
		$this->assertSame($id, $rows[0]['appointment_id'] ?? null, $cli['stdout']);
		$expected = (new \DateTimeImmutable("$day 09:00:00", new \DateTimeZone('Europe/Berlin')))->setTimezone(new \DateTimeZone('UTC'))->format('Y-m-d H:i:s');
		$this->assertSame($expected, $rows[0]['start_utc'], 'start_utc of a missing event is in UTC (the site runs on Europe/Berlin)');
	}

	public function test_reconcile_dry_run_lists_orphans_and_missing_events_and_changes_nothing(): void {
		$this->readyToBook();
		$gone = $this->kcAppointment(self::day(3));
		$this->cli(['kc-meet', 'event', 'create', (string) $gone]);
		$eventId = $this->liveEvents()[0]['id'];
		// Core 3.x deletes appointments without telling the add-on.
		Db::query($this->db, 'DELETE FROM wp_kc_appointments WHERE id = ?', [$gone]);
		$missing = $this->kcAppointment(self::day(4));
		$before = count($this->emu()->requests());

		$cli = $this->cli(['kc-meet', 'reconcile', '--dry-run', '--format=json']);
		$this->assertSame(0, $cli['exit_code'], json_encode($cli));
		$rows = $this->json($cli['stdout']);
		$this->assertCount(2, $rows, $cli['stdout']);
		$this->assertSame(['kind' => 'orphan', 'appointment_id' => $gone, 'event_id' => $eventId, 'doctor_id' => '', 'start_utc' => '', 'reason' => 'appointment_deleted'], $rows[0]);
		$this->assertSame('missing', $rows[1]['kind']);
		$this->assertSame($missing, $rows[1]['appointment_id']);
		$this->assertSame($this->id('doctor'), $rows[1]['doctor_id']);
		$this->assertStringNotContainsString('Success:', $cli['stdout'], 'no Success line after machine-readable output');

		$this->assertSame([], array_filter($this->requestsSince($before), static fn($r) => strpos($r['path'], '/calendar/v3/') === 0 && $r['method'] !== 'GET'), 'no Google write');
		$this->assertCount(1, $this->liveEvents(), 'the orphan is still there');
		$this->assertCount(1, $this->mappingRows($gone));
		$this->assertSame([], $this->mappingRows($missing));
	}
}
