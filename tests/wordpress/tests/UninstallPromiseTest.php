<?php
namespace KcMeetTest;

/**
 * Deleting the plugin keeps the promise made to Google's reviewers: channels stopped, grants
 * revoked, tokens erased even when Google cannot be reached, and no request afterwards.
 */
final class UninstallPromiseTest extends WpTestCase {
	private function uninstall(array $opts = []): void {
		$this->wpOk(['admin' => true, 'user' => 1, 'code' => 'deactivate_plugins($args["p"]); return true;', 'args' => ['p' => self::PLUGIN]], [], $opts);
		$this->wpOk(['admin' => true, 'user' => 1, 'code' => 'uninstall_plugin($args["p"]); return true;', 'args' => ['p' => self::PLUGIN]], [], $opts);
	}

	private function assertNoTokenLeft(): void {
		$this->assertSame([], Db::query($this->db, "SELECT user_id FROM wp_usermeta WHERE meta_key = 'google_meet_access_token'"), 'no token left behind');
		foreach (['doctor', 'doctor2'] as $who) {
			$this->assertNotSame('on', $this->metaValue($this->id($who), 'kiviCare_google_meet_connect'), $who);
		}
	}

	/** A push channel of the doctor as the extension stores it (the site has no HTTPS URL here). */
	private function channelRow(string $id, string $who): void {
		Db::query($this->db, "INSERT INTO wp_kc_meet_channels (channel_id, doctor_id, resource_id, token_hash, expires_at, state, created_at)
			VALUES (?, ?, 'res-1', REPEAT('0', 64), ?, 'active', UTC_TIMESTAMP())", [$id, $this->id($who), (time() + 86400) * 1000]);
	}

	public function test_channels_are_stopped_before_the_grant_is_revoked(): void {
		$this->configureOAuth();
		$this->connectDoctor('doctor');
		$this->channelRow('kcm-chan-1', 'doctor');
		$before = count($this->emu()->requests());
		$this->uninstall();
		$paths = array_column(array_slice($this->emu()->requests(), $before), 'path');
		$stop = array_search('/calendar/v3/channels/stop', $paths, true);
		$revoke = array_search('/revoke', $paths, true);
		$this->assertNotFalse($stop, 'channels.stop was called: ' . json_encode($paths));
		$this->assertNotFalse($revoke, 'the grant was revoked: ' . json_encode($paths));
		$this->assertLessThan($revoke, $stop, 'stopped while the grant still worked');
		$this->assertNoTokenLeft();
	}

	public function test_google_unreachable_leaves_no_token_and_nothing_runs_afterwards(): void {
		$this->configureOAuth();
		$this->connectDoctor('doctor');
		$this->connectDoctor('doctor2', 'doctor2@example.com');
		$this->emu()->fault(['method' => null, 'path' => '/revoke', 'times' => 0, 'action' => 'status', 'status' => 503]);
		$this->uninstall();
		$this->assertNoTokenLeft();
		$this->assertSame([], Db::tables($this->db, 'wp\_kc\_meet\_%'));
		$crons = (string) Db::option($this->db, 'cron');
		$this->assertStringNotContainsString('kc_meet', $crons, 'no kc-meet cron event left to run');
	}

	public function test_tokens_are_erased_even_when_the_oauth_client_is_gone(): void {
		$this->configureOAuth();
		$this->connectDoctor('doctor');
		$this->wpOk('$s = get_option("kiviCare_google_meet_setting"); $s["client_id"] = ""; $s["client_secret"] = ""; update_option("kiviCare_google_meet_setting", $s); return true;');
		$this->uninstall();
		$this->assertNoTokenLeft();
	}

	public function test_without_the_extension_tokens_and_tables_still_go(): void {
		$this->configureOAuth();
		$this->connectDoctor('doctor');
		$before = count($this->emu()->requests());
		$this->uninstall(['extension' => false]);
		$this->assertNoTokenLeft();
		$this->assertSame([], Db::tables($this->db, 'wp\_kc\_meet\_%'));
		$this->assertContains('wp_kc_appointment_google_meet_mappings', Db::tables($this->db, 'wp\_kc\_appointment\_google\_meet\_mappings'), 'KiviCare\'s mapping table stays');
		$this->assertSame([], array_slice($this->emu()->requests(), $before));
	}
}
