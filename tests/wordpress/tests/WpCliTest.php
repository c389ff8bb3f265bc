<?php
namespace KcMeetTest;

/** 9. `wp kc-meet …` through the WP-CLI stand-in, in a real WordPress process. */
final class WpCliTest extends WpTestCase {
	private function cli(array $argv): array {
		$r = $this->wpCli($argv);
		$this->assertNotNull($r->report, $r->describe());
		$this->assertNull($r->report['fatal'], $r->describe());
		$this->assertNull($r->exception(), $r->describe());
		$cli = $r->cli();
		$this->assertNotNull($cli, $r->describe());
		return $cli;
	}

	public function test_command_is_registered_as_kc_meet(): void {
		$r = $this->wpOk(['cli' => true, 'code' => 'return array_keys(WP_CLI::$commands);']);
		$this->assertContains('kc-meet', $r);
	}

	public function test_status_of_a_connected_doctor_shows_the_google_account(): void {
		$this->configureOAuth();
		$this->connectDoctor('doctor');
		$cli = $this->cli(['kc-meet', 'status', (string) $this->id('doctor'), '--format=json']);
		$this->assertSame(0, $cli['exit_code'], json_encode($cli));
		$rows = json_decode($cli['stdout'], true);
		$this->assertCount(1, $rows, $cli['stdout']);
		$this->assertSame($this->id('doctor'), (int) $rows[0]['doctor_id']);
		$this->assertSame('connected', $rows[0]['status']);
		$this->assertSame(self::GOOGLE_EMAIL, $rows[0]['email']);
		$this->assertSame('primary', $rows[0]['calendar_id']);
		$this->assertStringNotContainsString('ya29.', $cli['stdout']);
	}

	public function test_status_by_login_of_a_never_connected_doctor_is_not_connected(): void {
		$cli = $this->cli(['kc-meet', 'status', $this->users['doctor2']['login'], '--format=json']);
		$this->assertSame(0, $cli['exit_code'], json_encode($cli));
		$this->assertSame('not_connected', json_decode($cli['stdout'], true)[0]['status']);
	}

	public function test_status_without_a_doctor_lists_only_connected_doctors(): void {
		$this->configureOAuth();
		$this->connectDoctor('doctor');
		$cli = $this->cli(['kc-meet', 'status', '--format=json']);
		$this->assertSame(0, $cli['exit_code'], json_encode($cli));
		$this->assertSame([$this->id('doctor')], array_map('intval', array_column(json_decode($cli['stdout'], true), 'doctor_id')));
	}

	public function test_connect_url_prints_a_google_consent_url_for_the_doctor(): void {
		$uri = $this->configureOAuth();
		$cli = $this->cli(['kc-meet', 'connect-url', $this->users['doctor']['email'], '--user=' . $this->users['admin']['login']]);
		$this->assertSame(0, $cli['exit_code'], json_encode($cli));
		$url = trim($cli['stdout']);
		$this->assertStringStartsWith($this->emu()->base() . '/o/oauth2/v2/auth?', $url);
		$q = self::query($url);
		$this->assertSame($uri, $q['redirect_uri']);
		$this->assertSame($this->id('doctor'), (int) strtok($q['state'], '.'));
	}

	public function test_connect_url_printed_by_the_cli_completes_the_connection(): void {
		$this->configureOAuth();
		$cli = $this->cli(['kc-meet', 'connect-url', (string) $this->id('doctor'), '--user=' . $this->users['admin']['login']]);
		$consent = $this->emu()->authorize(trim($cli['stdout']), 'allow', self::GOOGLE_EMAIL);
		$cb = $this->loggedIn('admin')->get($consent['redirect']);
		$this->assertSame('connected', self::query((string) $cb->location())['kc_meet_result'] ?? null, $cb->describe());
		$this->assertSame('on', $this->metaValue($this->id('doctor'), 'kiviCare_google_meet_connect'));
	}

	public function test_connect_url_without_user_prints_a_url_bound_to_no_user_as_documented(): void {
		// The command's doc: "The URL is bound to the doctor and to the user running the command (--user=…), or to no user."
		$this->configureOAuth();
		$cli = $this->cli(['kc-meet', 'connect-url', (string) $this->id('doctor')]);
		$this->assertSame(0, $cli['exit_code'], json_encode($cli));
		$this->assertStringStartsWith($this->emu()->base() . '/o/oauth2/v2/auth?', trim($cli['stdout']));
	}

	public function test_connect_url_without_client_credentials_fails_with_exit_1(): void {
		$cli = $this->cli(['kc-meet', 'connect-url', (string) $this->id('doctor'), '--user=' . $this->users['admin']['login']]);
		$this->assertSame(1, $cli['exit_code'], json_encode($cli));
		$this->assertStringContainsString('(code 1002)', $cli['stderr']);
	}

	public function test_disconnect_revokes_and_reports_success(): void {
		$this->configureOAuth();
		$this->connectDoctor('doctor');
		$cli = $this->cli(['kc-meet', 'disconnect', $this->users['doctor']['login'], '--yes']);
		$this->assertSame(0, $cli['exit_code'], json_encode($cli));
		$this->assertStringStartsWith('Success: ', $cli['stdout']);
		$this->assertSame('off', $this->metaValue($this->id('doctor'), 'kiviCare_google_meet_connect'));
		$this->assertNull($this->metaValue($this->id('doctor'), 'google_meet_access_token'));
		$this->assertCount(1, $this->emu()->requestsTo('/revoke'));
	}

	public function test_disconnect_of_a_never_connected_doctor_succeeds_without_google(): void {
		$this->configureOAuth();
		$cli = $this->cli(['kc-meet', 'disconnect', (string) $this->id('doctor2'), '--yes']);
		$this->assertSame(0, $cli['exit_code'], json_encode($cli));
		$this->assertStringContainsString('was not connected', $cli['stdout']);
		$this->assertSame([], $this->emu()->requests());
	}

	public function test_health_prints_the_extension_version_and_reports_no_problem_when_configured(): void {
		$this->configureOAuth();
		$version = $this->wpOk('return kc_meet_version();');
		$cli = $this->cli(['kc-meet', 'health']);
		$this->assertSame(0, $cli['exit_code'], json_encode($cli));
		$this->assertStringContainsString('Extension version: ' . $version, $cli['stdout']);
		$this->assertStringContainsString('Success: No problems found.', $cli['stdout']);
	}

	public function test_health_strict_fails_when_the_client_is_missing(): void {
		$cli = $this->cli(['kc-meet', 'health', '--strict', '--format=json']);
		$this->assertSame(1, $cli['exit_code'], json_encode($cli));
		$codes = array_column(json_decode($cli['stdout'], true), 'code');
		$this->assertContains('missing_client', $codes);
	}

	public function test_migrate_reports_the_schema_and_is_idempotent(): void {
		$expected = $this->wpOk('return kc_meet_health()["schema_expected"];');
		$cli = $this->cli(['kc-meet', 'migrate']);
		$this->assertSame(0, $cli['exit_code'], json_encode($cli));
		$this->assertStringContainsString("Success: Schema version $expected (was $expected)", $cli['stdout']);
		$this->assertStringContainsString('mapping table exists', $cli['stdout']);
	}

	public function test_migrate_recreates_dropped_tables(): void {
		$ours = Db::tables($this->db, 'wp\_kc\_meet\_%');
		$this->assertNotEmpty($ours);
		foreach ($ours as $t) {
			Db::query($this->db, "DROP TABLE `$t`");
		}
		$cli = $this->cli(['kc-meet', 'migrate']);
		$this->assertSame(0, $cli['exit_code'], json_encode($cli));
		$this->assertStringContainsString('(was 0)', $cli['stdout']);
		$this->assertEqualsCanonicalizing($ours, Db::tables($this->db, 'wp\_kc\_meet\_%'));
	}

	public function test_unknown_doctor_is_an_error_with_exit_1(): void {
		foreach ([['status', '99999'], ['connect-url', 'nobody@nowhere.test'], ['disconnect', 'no-such-login']] as [$sub, $who]) {
			$cli = $this->cli(['kc-meet', $sub, $who]);
			$this->assertSame(1, $cli['exit_code'], "$sub $who: " . json_encode($cli));
			$this->assertStringContainsString('Error: Unknown doctor', $cli['stderr'], "$sub $who");
		}
		$this->assertSame([], $this->emu()->requests());
	}
}
