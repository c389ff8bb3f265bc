<?php
namespace KcMeetTest;

/**
 * 11. Deleting the plugin in wp-admin runs uninstall.php (through WordPress's uninstall_plugin(), in a
 *     request where the deactivated plugin is not loaded).
 */
final class UninstallTest extends WpTestCase {
	private function deactivateAndUninstall(): void {
		$this->wpOk(['admin' => true, 'user' => 1, 'code' => 'deactivate_plugins($args["p"]); return is_plugin_active($args["p"]);', 'args' => ['p' => self::PLUGIN]]);
		$r = $this->wpOk(['admin' => true, 'user' => 1, 'code' => '
			if (class_exists("KC_Meet_Plugin", false)) { throw new RuntimeException("the deactivated plugin was loaded"); }
			uninstall_plugin($args["p"]);
			return true;', 'args' => ['p' => self::PLUGIN]]);
		$this->assertTrue($r);
	}

	public function test_uninstall_drops_our_tables(): void {
		$this->assertNotEmpty(Db::tables($this->db, 'wp\_kc\_meet\_%'), 'our tables exist before');
		$this->deactivateAndUninstall();
		$this->assertSame([], Db::tables($this->db, '%kc\_meet%'));
	}

	public function test_uninstall_keeps_kivicare_tables_and_the_mapping_table(): void {
		$before = Db::tables($this->db, 'wp\_kc\_%');
		$kivicare = array_values(array_filter($before, static fn($t) => strpos($t, 'wp_kc_meet_') !== 0));
		$this->assertContains('wp_kc_appointment_google_meet_mappings', $kivicare);
		Db::query($this->db, "INSERT INTO wp_kc_appointment_google_meet_mappings (appointment_id, event_id, url, password, event_url, created_at) VALUES (7, 'evt7', 'https://meet.google.com/abc-defg-hij', '', 'https://calendar.google.com/x', NOW())");
		$this->deactivateAndUninstall();
		$after = Db::tables($this->db, 'wp\_kc\_%');
		$this->assertEqualsCanonicalizing($kivicare, $after);
		$this->assertSame('evt7', Db::value($this->db, 'SELECT event_id FROM wp_kc_appointment_google_meet_mappings WHERE appointment_id = 7'));
	}

	public function test_uninstall_removes_our_options_and_keeps_the_shared_settings_option(): void {
		$this->configureOAuth();
		$this->wpOk('KC_Meet_Notices::add_persistent("test notice"); return get_transient("kc_meet_admin_notices");');
		$this->assertNotEmpty(Db::query($this->db, "SELECT option_name FROM wp_options WHERE option_name LIKE '%kc\\_meet%'"), 'an option of ours exists before');
		$this->deactivateAndUninstall();
		$this->assertSame([], Db::query($this->db, "SELECT option_name FROM wp_options WHERE option_name LIKE '%kc\\_meet%'"));
		$this->assertNotNull(Db::option($this->db, 'kiviCare_google_meet_setting'), 'KiviCare reads kiviCare_google_meet_setting: kept');
	}

	public function test_uninstall_revokes_every_connected_doctors_grant(): void {
		$this->configureOAuth();
		$this->connectDoctor('doctor');
		$this->connectDoctor('doctor2', 'doctor2@example.com');
		$this->assertCount(2, $this->emu()->grants());
		$this->deactivateAndUninstall();
		$this->assertCount(2, $this->emu()->requestsTo('/revoke'));
		foreach ($this->emu()->grants() as $g) {
			$this->assertTrue($g['revoked'], 'grant of ' . $g['email'] . ' revoked');
		}
		foreach (['doctor', 'doctor2'] as $who) {
			$this->assertNull($this->metaValue($this->id($who), 'google_meet_access_token'), "$who token meta removed");
			$this->assertNotSame('on', $this->metaValue($this->id($who), 'kiviCare_google_meet_connect'));
		}
	}

	public function test_uninstall_removes_our_user_meta(): void {
		// A doctor mailed about a broken connection carries kc_meet_reconnect_mailed until reconnected.
		foreach (['doctor', 'doctor2'] as $who) {
			$this->wpOk('return update_user_meta((int) $args["d"], "kc_meet_reconnect_mailed", gmdate("c"));', ['d' => $this->id($who)]);
		}
		$this->assertSame(2, (int) Db::value($this->db, "SELECT COUNT(*) FROM wp_usermeta WHERE meta_key = 'kc_meet_reconnect_mailed'"));
		$this->deactivateAndUninstall();
		$this->assertSame([], Db::query($this->db, "SELECT user_id, meta_key FROM wp_usermeta WHERE meta_key LIKE 'kc\\_meet\\_%'"), 'no user meta of ours is left');
	}
}
