<?php
namespace KcMeetTest;

/**
 * `wp kc-meet …` behaves like a WP-CLI command under WP-CLI 2.12's rules (the stand-in enforces
 * synopses as WP-CLI does): help that parses, flags that are declared, confirmation before
 * destructive steps, exit statuses and output fit for scripts and cron.
 */
final class WpCliContractTest extends WpTestCase {
	use KiviCareFixtures;

	private function cli(array $argv, string $stdin = ''): array {
		$r = $this->wpCli($argv, $stdin === '' ? [] : ['stdin' => $stdin]);
		$this->assertNotNull($r->report, $r->describe());
		$this->assertNull($r->report['fatal'], $r->describe());
		$this->assertNull($r->exception(), $r->describe());
		$this->assertNotNull($r->cli(), $r->describe());
		return $r->cli();
	}

	public function test_every_subcommand_declares_its_options_and_has_a_one_line_description(): void {
		$docs = $this->wpOk(['cli' => true, 'code' => '
			$out = [];
			foreach (WP_CLI::$commands as $name => $class) {
				if (strpos($name, "kc-meet") !== 0 || !is_string($class) || !class_exists($class)) { continue; }
				$out[$name] = ["doc" => (string) (new ReflectionClass($class))->getDocComment(), "subs" => []];
				foreach (WP_CLI::class_subcommands($class) as $sub => $method) {
					$out[$name]["subs"][$sub] = (string) (new ReflectionMethod($class, $method))->getDocComment();
				}
			}
			return $out;']);
		$this->assertEqualsCanonicalizing(['kc-meet', 'kc-meet event', 'kc-meet jobs', 'kc-meet channels'], array_intersect(array_keys($docs), ['kc-meet', 'kc-meet event', 'kc-meet jobs', 'kc-meet channels']));
		$checked = 0;
		foreach ($docs as $name => $cmd) {
			foreach (['' => $cmd['doc']] + $cmd['subs'] as $sub => $doc) {
				$where = trim("$name $sub");
				$body = preg_replace('|^[\t ]*\* ?|m', '', preg_replace(['|^/\*\*[\r\n]+|', '|\n[\t ]*\*/$|'], '', $doc));
				$lines = explode("\n", $body);
				$this->assertMatchesRegularExpression('/\.$/', $lines[0], "$where: the short description is one sentence on one line");
				$this->assertSame('', trim($lines[1] ?? ''), "$where: `wp help` shows only the first line as the short description: " . $lines[0] . ' / ' . ($lines[1] ?? ''));
				$this->assertStringNotContainsString('{@see', $body, "$where: raw {@see} tags show in `wp help`");
				if ($sub !== '') {
					$synopsis = $this->wpOk(['cli' => true, 'args' => ['doc' => $doc], 'code' => 'return WP_CLI::synopsis($args["doc"]);']);
					$this->assertNotSame('', $synopsis, "$where declares no ## OPTIONS: WP-CLI would accept any flag");
					$checked++;
				}
			}
		}
		$this->assertGreaterThanOrEqual(17, $checked);
	}

	public function test_migrate_dry_run_changes_nothing_and_unknown_flags_are_rejected(): void {
		$ours = Db::tables($this->db, 'wp\_kc\_meet\_jobs');
		Db::query($this->db, 'DROP TABLE `' . $ours[0] . '`');
		Db::query($this->db, "UPDATE wp_kc_meet_meta SET value = '1' WHERE name = 'schema_version'");
		$dry = $this->cli(['kc-meet', 'migrate', '--dry-run']);
		$this->assertSame(0, $dry['exit_code'], json_encode($dry));
		$this->assertStringContainsString('Would migrate the schema from version 1', $dry['stdout']);
		$this->assertSame([], Db::tables($this->db, 'wp\_kc\_meet\_jobs'), 'a dry run created no table');

		$bad = $this->cli(['kc-meet', 'migrate', '--dryrun']);
		$this->assertSame(1, $bad['exit_code'], json_encode($bad));
		$this->assertStringContainsString('unknown --dryrun parameter', $bad['stderr']);
		$this->assertSame([], Db::tables($this->db, 'wp\_kc\_meet\_jobs'));

		$renew = $this->cli(['kc-meet', 'channels', 'renew', '--all']);
		$this->assertSame(1, $renew['exit_code'], json_encode($renew));
		$this->assertStringContainsString('unknown --all parameter', $renew['stderr']);
	}

	public function test_option_lists_and_required_arguments_are_enforced(): void {
		$fmt = $this->cli(['kc-meet', 'status', '--format=xml']);
		$this->assertSame(1, $fmt['exit_code'], json_encode($fmt));
		$this->assertStringContainsString("Invalid value specified for 'format'", $fmt['stderr']);
		$missing = $this->cli(['kc-meet', 'event', 'show']);
		$this->assertSame(1, $missing['exit_code'], json_encode($missing));
		$this->assertStringContainsString('usage: wp kc-meet event show <appointment>', $missing['stdout']);
	}

	public function test_only_kivicare_doctors_are_accepted_as_doctors(): void {
		$this->configureOAuth();
		foreach ([['connect-url', 'patient', []], ['status', 'admin', []], ['disconnect', 'patient', ['--yes']]] as [$sub, $who, $more]) {
			$cli = $this->cli(array_merge(['kc-meet', $sub, (string) $this->id($who)], $more));
			$this->assertSame(1, $cli['exit_code'], "$sub $who: " . json_encode($cli));
			$this->assertStringContainsString('is not a KiviCare doctor', $cli['stderr'], "$sub $who");
			$this->assertSame('', $cli['stdout'], "$sub $who: no consent URL for a patient");
		}
		$this->assertSame(0, (int) Db::value($this->db, 'SELECT COUNT(*) FROM `' . $this->stateTable() . '`'), 'no OAuth state was issued');
	}

	public function test_destructive_commands_ask_first_and_accept_yes(): void {
		$this->readyToBook();
		$id = $this->kcAppointment(self::day(4));
		$this->cli(['kc-meet', 'event', 'create', (string) $id]);
		$doctor = (string) $this->id('doctor');

		$no = $this->cli(['kc-meet', 'disconnect', $doctor], "n\n");
		$this->assertSame(0, $no['exit_code'], json_encode($no));
		$this->assertStringContainsString('[y/n]', $no['stdout']);
		$this->assertNotNull($this->metaValue($this->id('doctor'), 'google_meet_access_token'), 'answering n changed nothing');

		$del = $this->cli(['kc-meet', 'event', 'delete', (string) $id], "\n");
		$this->assertSame(0, $del['exit_code']);
		$this->assertCount(1, $this->liveEvents(), 'no answer: the event stays');
		$rec = $this->cli(['kc-meet', 'reconcile']);
		$this->assertStringContainsString('[y/n]', $rec['stdout']);
		$stop = $this->cli(['kc-meet', 'channels', 'stop', $doctor]);
		$this->assertStringContainsString('[y/n]', $stop['stdout']);
		$this->assertSame([], $this->emu()->requestsTo('/revoke'));

		$yes = $this->cli(['kc-meet', 'event', 'delete', (string) $id], "y\n");
		$this->assertSame(0, $yes['exit_code'], json_encode($yes));
		$this->assertSame([], $this->liveEvents());
		$flag = $this->cli(['kc-meet', 'disconnect', $doctor, '--yes']);
		$this->assertSame(0, $flag['exit_code'], json_encode($flag));
		$this->assertStringNotContainsString('[y/n]', $flag['stdout']);
		$this->assertCount(1, $this->emu()->requestsTo('/revoke'));
	}

	public function test_event_show_and_delete_of_an_unknown_appointment_fail(): void {
		$this->readyToBook();
		foreach (['show' => [], 'delete' => ['--yes']] as $sub => $more) {
			$cli = $this->cli(array_merge(['kc-meet', 'event', $sub, '99999'], $more));
			$this->assertSame(1, $cli['exit_code'], "$sub: " . json_encode($cli));
			$this->assertStringContainsString('There is no appointment 99999. (code 5001)', $cli['stderr'], $sub);
		}
	}

	public function test_event_delete_of_a_disconnected_doctor_says_the_event_stays_in_google(): void {
		$this->readyToBook();
		$id = $this->kcAppointment(self::day(4));
		$this->cli(['kc-meet', 'event', 'create', (string) $id]);
		Db::query($this->db, "UPDATE wp_usermeta SET meta_value = 'off' WHERE user_id = ? AND meta_key = 'kiviCare_google_meet_connect'", [$this->id('doctor')]);
		$cli = $this->cli(['kc-meet', 'event', 'delete', (string) $id, '--yes']);
		$this->assertSame(1, $cli['exit_code'], json_encode($cli));
		$this->assertStringNotContainsString('Success', $cli['stdout']);
		$this->assertStringContainsString('stays in their calendar', $cli['stderr']);
		$this->assertCount(1, $this->liveEvents(), 'Google still has it');
	}

	public function test_event_commands_accept_csv(): void {
		$this->readyToBook();
		$id = $this->kcAppointment(self::day(4));
		$cli = $this->cli(['kc-meet', 'event', 'create', (string) $id, '--format=csv']);
		$this->assertSame(0, $cli['exit_code'], json_encode($cli));
		$lines = array_map('str_getcsv', array_filter(explode("\n", $cli['stdout'])));
		$this->assertSame('appointment_id', $lines[0][0]);
		$this->assertSame((string) $id, $lines[1][0]);
		$this->assertSame('created', $lines[1][1]);
		$show = $this->cli(['kc-meet', 'event', 'show', (string) $id, '--format=csv']);
		$this->assertSame(0, $show['exit_code'], json_encode($show));
		$this->assertStringStartsWith("field,value\n", $show['stdout']);
	}

	public function test_jobs_run_exits_1_when_a_job_failed_even_with_quiet(): void {
		$this->readyToBook();
		$id = $this->kcAppointment(self::day(4));
		$this->emu()->fault(['method' => 'POST', 'path' => '/calendar/v3/calendars/primary/events', 'times' => 0, 'action' => 'status', 'status' => 400]);
		$this->cli(['kc-meet', 'event', 'create', (string) $id]);
		$job = (int) Db::value($this->db, 'SELECT id FROM wp_kc_meet_jobs WHERE appointment_id = ?', [$id]);
		$this->cli(['kc-meet', 'jobs', 'retry', (string) $job]);

		$run = $this->cli(['kc-meet', 'jobs', 'run', '--format=json', '--quiet']);
		$this->assertSame(1, $run['exit_code'], json_encode($run));
		$this->assertSame(1, json_decode($run['stdout'], true)['failed'], 'stdout is the JSON summary and nothing else: ' . $run['stdout']);
		$this->assertStringContainsString('1 failed', $run['stderr']);
	}

	public function test_sync_syncs_doctors_concurrently_and_exits_1_when_a_doctor_failed(): void {
		$this->readyToBook();
		$this->connectDoctor('doctor2');
		// Google answers every list after 1.5 s: one after the other would take 3 s or more.
		$this->emu()->fault(['method' => 'GET', 'path' => '/calendar/v3/calendars/primary/events', 'times' => 0, 'action' => 'delay', 'delay_s' => 1.5]);
		$started = microtime(true);
		$ok = $this->cli(['kc-meet', 'sync', '--format=json']);
		$elapsed = microtime(true) - $started;
		$this->assertSame(0, $ok['exit_code'], json_encode($ok));
		$rows = json_decode($ok['stdout'], true);
		$this->assertIsArray($rows, 'stdout is JSON and nothing else: ' . $ok['stdout']);
		$this->assertEqualsCanonicalizing([$this->id('doctor'), $this->id('doctor2')], array_column($rows, 'doctor_id'));
		$this->assertLessThan(2.9, $elapsed, 'both doctors were synced at once by the extension');

		$this->emu()->call('DELETE', '/__emu/faults');
		$this->emu()->fault(['method' => 'GET', 'path' => '/calendar/v3/calendars/primary/events', 'times' => 0, 'action' => 'status', 'status' => 500]);
		$bad = $this->cli(['kc-meet', 'sync', '--quiet', '--budget=2']);
		$this->assertSame(1, $bad['exit_code'], json_encode($bad));
		$this->assertStringContainsString('Error: No doctors synced (2 failed).', $bad['stderr']);
	}

	public function test_reconcile_with_a_date_range_leaves_orphans_outside_it(): void {
		$this->readyToBook();
		$inside = $this->kcAppointment(self::day(3));
		$outside = $this->kcAppointment(self::day(30));
		foreach ([$inside, $outside] as $id) {
			$this->cli(['kc-meet', 'event', 'create', (string) $id]);
		}
		Db::query($this->db, 'DELETE FROM wp_kc_appointments WHERE id IN (?, ?)', [$inside, $outside]);
		$cli = $this->cli(['kc-meet', 'reconcile', '--from=' . self::day(1), '--to=' . self::day(10), '--yes', '--format=json']);
		$this->assertSame(0, $cli['exit_code'], json_encode($cli));
		$this->assertSame([$inside], array_column(json_decode($cli['stdout'], true), 'appointment_id'), $cli['stdout']);
		$this->assertSame([], $this->mappingRows($inside));
		$this->assertCount(1, $this->mappingRows($outside), 'the orphan outside --from/--to was left alone');
		$this->assertCount(1, $this->liveEvents());
	}

	public function test_without_the_extension_health_says_what_is_missing_and_how_to_install_it(): void {
		$r = $this->wp(['wpcli' => ['kc-meet', 'health']], [], ['extension' => false]);
		$this->assertNull($r->report['fatal'] ?? null, $r->describe());
		$cli = $r->cli();
		$this->assertNotNull($cli, $r->describe());
		$this->assertSame(1, $cli['exit_code'], json_encode($cli));
		$this->assertStringContainsString('The kc_meet PHP extension is not loaded', $cli['stderr']);
		$this->assertStringContainsString('extension=kc_meet', $cli['stderr']);
		$this->assertStringNotContainsString('not a registered wp command', $cli['stderr']);
	}
}
