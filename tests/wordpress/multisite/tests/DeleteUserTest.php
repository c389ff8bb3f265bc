<?php
namespace KcMeetTest;

/**
 * Deleting a connected doctor from the network (wpmu_delete_user(), what Network Admin → Users →
 * Delete runs) stops their push channels on every site, revokes the grant at Google and erases the
 * tokens; removing them from one site (wp_delete_user() on a network) stops that site's channels only.
 */
final class DeleteUserTest extends MultisiteTestCase {
	private function connectedDoctorOnBothSites(): void {
		$this->configureOAuthOnBothSites();
		$this->connectDoctor('doctor');
		$this->addToSite('doctor', 2, 'kiviCare_doctor');
		$this->channelRow('wp_', 'kcm-chan-site1', 'doctor');
		$this->channelRow('wp_2_', 'kcm-chan-site2', 'doctor');
		$this->assertNotNull($this->metaValue($this->id('doctor'), 'google_meet_access_token'));
	}

	public function test_wpmu_delete_user_of_a_connected_doctor_stops_every_sites_channels_revokes_and_erases(): void {
		$this->connectedDoctorOnBothSites();
		$before = count($this->emu()->requests());
		$r = $this->wpOk(['admin' => true, 'user' => 1, 'code' => 'require_once ABSPATH . "wp-admin/includes/ms.php"; return wpmu_delete_user((int) $args["u"]);', 'args' => ['u' => $this->id('doctor')]]);
		$this->assertTrue($r);
		$stops = $this->requestsToSince($before, '/calendar/v3/channels/stop');
		$this->assertCount(2, $stops, 'one channels.stop per site: ' . json_encode(array_column($this->requestsSince($before), 'path')));
		$revokes = $this->requestsToSince($before, '/revoke');
		$this->assertCount(1, $revokes);
		foreach ($this->emu()->grants() as $g) {
			$this->assertTrue($g['revoked'], 'grant of ' . $g['email'] . ' revoked');
		}
		$paths = array_column($this->requestsSince($before), 'path');
		$this->assertLessThan(array_search('/revoke', $paths, true), array_search('/calendar/v3/channels/stop', $paths, true), 'channels stopped while the grant worked');
		$this->assertSame([], Db::query($this->db, 'SELECT meta_key FROM wp_usermeta WHERE user_id = ?', [$this->id('doctor')]));
		foreach (['wp_', 'wp_2_'] as $p) {
			$this->assertSame([], Db::query($this->db, "SELECT channel_id FROM {$p}kc_meet_channels WHERE doctor_id = ? AND state = 'active'", [$this->id('doctor')]), "no active channel left on $p");
		}
		foreach (['wp_', 'wp_2_'] as $p) {
			$this->assertNotSame('connected', Db::value($this->db, "SELECT status FROM {$p}kc_meet_doctors WHERE doctor_id = ?", [$this->id('doctor')]), "$p doctors row");
		}
		$this->assertNoGoogleSecretsInDatabase();
		// Nothing is asked of Google for them afterwards (a sync round of every site).
		$after = count($this->emu()->requests());
		$this->wpOk('kc_meet_sync([]); return true;');
		$this->wpOnOk(self::SITE2, 'kc_meet_sync([]); return true;');
		$this->assertSame([], $this->requestsSince($after));
	}

	public function test_wpmu_delete_user_when_google_refuses_the_revoke_still_deletes_and_leaves_no_token(): void {
		$this->connectedDoctorOnBothSites();
		$this->emu()->fault(['method' => null, 'path' => '/revoke', 'times' => 0, 'action' => 'status', 'status' => 503]);
		$r = $this->wpOk(['admin' => true, 'user' => 1, 'code' => 'require_once ABSPATH . "wp-admin/includes/ms.php"; return wpmu_delete_user((int) $args["u"]);', 'args' => ['u' => $this->id('doctor')]]);
		$this->assertTrue($r);
		$this->assertSame([], Db::query($this->db, "SELECT user_id FROM wp_usermeta WHERE meta_key = 'google_meet_access_token'"));
		$this->assertNull(Db::value($this->db, 'SELECT ID FROM wp_users WHERE ID = ?', [$this->id('doctor')]));
		$this->assertNoGoogleSecretsInDatabase();
	}

	public function test_removing_a_doctor_from_one_site_stops_that_sites_channels_and_keeps_the_connection(): void {
		$this->connectedDoctorOnBothSites();
		$before = count($this->emu()->requests());
		$this->wpOnOk(self::SITE2, ['admin' => true, 'user' => 1, 'code' => 'return wp_delete_user((int) $args["u"]);', 'args' => ['u' => $this->id('doctor')]]);
		$this->assertCount(1, $this->requestsToSince($before, '/calendar/v3/channels/stop'), 'only site 2\'s channel is stopped');
		$this->assertSame([], $this->requestsToSince($before, '/revoke'), 'the grant stays: the doctor still works on site 1');
		$this->assertNotNull($this->metaValue($this->id('doctor'), 'google_meet_access_token'));
		$this->assertSame('kcm-chan-site1', Db::value($this->db, "SELECT channel_id FROM wp_kc_meet_channels WHERE doctor_id = ? AND state = 'active'", [$this->id('doctor')]));
		$this->assertSame('connected', $this->wpOk('return kc_meet_status((int) $args["d"])["status"];', ['d' => $this->id('doctor')]));
	}

	public function test_the_personal_data_eraser_on_one_site_stops_the_doctors_channels_on_every_site_before_revoking(): void {
		$this->connectedDoctorOnBothSites();
		$before = count($this->emu()->requests());
		$r = $this->wpOnOk(self::SITE2, ['admin' => true, 'user' => 1, 'code' => '
			$erasers = apply_filters("wp_privacy_personal_data_erasers", []);
			return call_user_func($erasers["kc-meet"]["callback"], $args["email"], 1);', 'args' => ['email' => $this->users['doctor']['email']]]);
		$this->assertTrue($r['items_removed'], json_encode($r));
		$paths = array_column($this->requestsSince($before), 'path');
		$this->assertCount(2, array_keys($paths, '/calendar/v3/channels/stop', true), 'the channels of both sites: ' . json_encode($paths));
		$this->assertCount(1, array_keys($paths, '/revoke', true));
		$this->assertLessThan(array_search('/revoke', $paths, true), max(array_keys($paths, '/calendar/v3/channels/stop', true)), 'stopped while the grant worked');
		$this->assertNull($this->metaValue($this->id('doctor'), 'google_meet_access_token'));
		foreach (['wp_', 'wp_2_'] as $p) {
			$this->assertSame([], Db::query($this->db, "SELECT channel_id FROM {$p}kc_meet_channels WHERE doctor_id = ? AND state = 'active'", [$this->id('doctor')]), "no active channel left on $p");
		}
	}

	public function test_the_personal_data_eraser_on_one_site_erases_what_every_site_keeps_of_the_user(): void {
		$this->connectedDoctorOnBothSites(); // connected on site 1: its row of the doctor and audit rows there
		$doctor = $this->id('doctor');
		$this->assertNotSame('0', (string) Db::value($this->db, 'SELECT COUNT(*) FROM wp_kc_meet_audit WHERE doctor_id = ?', [$doctor]));
		$this->assertNotNull(Db::value($this->db, 'SELECT email FROM wp_kc_meet_doctors WHERE doctor_id = ?', [$doctor]));
		$r = $this->wpOnOk(self::SITE2, ['admin' => true, 'user' => 1, 'code' => '
			$erasers = apply_filters("wp_privacy_personal_data_erasers", []);
			return call_user_func($erasers["kc-meet"]["callback"], $args["email"], 1);', 'args' => ['email' => $this->users['doctor']['email']]]);
		$this->assertTrue($r['items_removed'], json_encode($r));
		foreach (['wp_', 'wp_2_'] as $p) {
			$this->assertSame('0', (string) Db::value($this->db, "SELECT COUNT(*) FROM {$p}kc_meet_doctors WHERE doctor_id = ?", [$doctor]), "no row of the doctor (Google account e-mail) left on $p");
			$this->assertSame('0', (string) Db::value($this->db, "SELECT COUNT(*) FROM {$p}kc_meet_audit WHERE doctor_id = ?", [$doctor]), "no audit row about the doctor left on $p");
		}
	}
}
