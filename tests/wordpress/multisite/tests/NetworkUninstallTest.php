<?php
namespace KcMeetTest;

/**
 * Deleting kc-meet from a network (Network Admin → Plugins: network-deactivate, then delete, i.e.
 * uninstall_plugin()) keeps the promise per site: on every site where kc-meet ran the push channels
 * are stopped while the grants still work, every grant is revoked, the tokens are erased even when
 * Google refuses or hangs, kc-meet's tables and options go, KiviCare's mapping table stays; a site
 * where kc-meet never ran is left as it is; nothing is asked of Google afterwards.
 */
final class NetworkUninstallTest extends MultisiteTestCase {
	/** Two connected doctors (one per site), channels on both sites, a mapping row on both, and site 3 where kc-meet never ran. */
	private function network(): int {
		$this->configureOAuthOnBothSites();
		$this->connectDoctor('doctor');
		$this->connectOnSite2('site2doctor', 'cuddy@example.com');
		$this->addToSite('doctor', 2, 'kiviCare_doctor');
		$this->channelRow('wp_', 'kcm-chan-1-doctor', 'doctor');
		$this->channelRow('wp_2_', 'kcm-chan-2-doctor', 'doctor');
		$this->channelRow('wp_2_', 'kcm-chan-2-cuddy', 'site2doctor');
		foreach (['wp_', 'wp_2_'] as $i => $p) {
			Db::query($this->db, "INSERT INTO {$p}kc_appointment_google_meet_mappings (appointment_id, event_id, url, password, event_url, created_at) VALUES (7, ?, 'https://meet.google.com/abc-defg-hij', '', 'https://calendar.google.com/x', NOW())", ["evt-site$i"]);
		}
		// Site 3 is made while kc-meet is not active anywhere: kc-meet never runs there.
		$this->networkDeactivate();
		$site3 = $this->createSite('/site3/');
		$this->assertSame([], Db::tables($this->db, "wp\\_{$site3}\\_kc\\_%"));
		return $site3;
	}

	private function networkDeactivate(): void {
		$this->wpOk(['admin' => true, 'user' => 1, 'code' => 'deactivate_plugins($args["p"], false, true); return is_plugin_active_for_network($args["p"]);', 'args' => ['p' => self::PLUGIN]]);
	}

	/** Deletes the (network-deactivated) plugin as the super admin; returns the runner's report. */
	private function uninstall(): RunResult {
		$this->networkDeactivate();
		$r = $this->wp(['admin' => true, 'user' => 1, 'code' => '
			if (class_exists("KC_Meet_Plugin", false)) { throw new RuntimeException("the deactivated plugin was loaded"); }
			uninstall_plugin($args["p"]);
			return true;', 'args' => ['p' => self::PLUGIN]]);
		$this->assertTrue($r->ok(), $r->describe());
		return $r;
	}

	private function siteState(int $site): array {
		$p = $site === 1 ? 'wp_' : "wp_{$site}_";
		return [
			'tables'  => Db::tables($this->db, str_replace('_', '\_', $p) . '%'),
			'options' => Db::query($this->db, "SELECT option_name, option_value FROM {$p}options WHERE option_name NOT LIKE '\\_transient%' ORDER BY option_name"),
		];
	}

	private function assertNothingOfOursLeft(): void {
		$this->assertSame([], Db::query($this->db, "SELECT user_id FROM wp_usermeta WHERE meta_key = 'google_meet_access_token'"), 'no token left behind');
		foreach (['doctor', 'site2doctor'] as $who) {
			$this->assertNotSame('on', $this->metaValue($this->id($who), 'kiviCare_google_meet_connect'), $who);
			$this->assertNull($this->metaValue($this->id($who), 'kiviCare_doctor_meet_id'), $who);
		}
		$this->assertSame([], Db::tables($this->db, '%kc\_meet\_%'), 'no kc-meet table on any site');
		foreach (['wp_', 'wp_2_'] as $i => $p) {
			$this->assertSame([], Db::query($this->db, "SELECT option_name FROM {$p}options WHERE option_name LIKE '%kc\\_meet%'"), "no kc-meet option on $p");
			$this->assertStringNotContainsString('kc_meet', (string) Db::value($this->db, "SELECT option_value FROM {$p}options WHERE option_name = 'cron'"), "no kc-meet cron event on $p");
			$this->assertNotNull(Db::value($this->db, "SELECT option_value FROM {$p}options WHERE option_name = 'kiviCare_google_meet_setting'"), "KiviCare's setting stays on $p");
			$this->assertSame("evt-site$i", Db::value($this->db, "SELECT event_id FROM {$p}kc_appointment_google_meet_mappings WHERE appointment_id = 7"), "KiviCare's mapping table and rows stay on $p");
		}
		$this->assertNoGoogleSecretsInDatabase();
	}

	/** Runs every site's due WP-Cron events (what wp-cron.php would) and checks Google hears nothing. */
	private function assertNoGoogleRequestAfterwards(int $site3): void {
		$before = count($this->emu()->requests());
		foreach (['/', self::SITE2, '/site3/'] as $path) {
			$this->wpOnOk($path, '
				foreach ((array) _get_cron_array() as $hooks) {
					foreach ((array) $hooks as $hook => $events) {
						foreach ((array) $events as $e) { do_action_ref_array($hook, (array) ($e["args"] ?? [])); }
					}
				}
				return true;');
		}
		$this->assertSame([], $this->requestsSince($before), 'no request to Google after the uninstall');
	}

	public function test_uninstall_runs_per_site_stops_every_sites_channels_revokes_every_grant_and_keeps_kivicares_data(): void {
		$site3 = $this->network();
		$untouched = $this->siteState($site3);
		$before = count($this->emu()->requests());
		$r = $this->uninstall();

		$paths = array_column($this->requestsSince($before), 'path');
		$stops = array_keys($paths, '/calendar/v3/channels/stop', true);
		$revokes = array_keys($paths, '/revoke', true);
		$this->assertCount(3, $stops, 'every site\'s channels stopped (site 1: 1, site 2: 2): ' . json_encode($paths));
		$this->assertCount(2, $revokes, 'every grant revoked: ' . json_encode($paths));
		$this->assertLessThan(min($revokes), max($stops), 'channels stopped while the grants still worked');
		$this->assertCount(2, $this->emu()->grants());
		foreach ($this->emu()->grants() as $g) {
			$this->assertTrue($g['revoked'], 'grant of ' . $g['email'] . ' revoked');
		}
		$this->assertNothingOfOursLeft();
		$this->assertEquals($untouched, $this->siteState($site3), 'the site where kc-meet never ran is left as it is');
		$this->assertSame([], array_values(array_filter($r->report['php_errors'], static fn($e) => $e['type'] !== E_DEPRECATED)), 'no PHP error while uninstalling');
		$this->assertNoGoogleRequestAfterwards($site3);
	}

	public function test_uninstall_when_google_refuses_everything_still_erases_the_tokens_and_drops_our_tables(): void {
		$site3 = $this->network();
		$this->emu()->fault(['method' => null, 'path' => '/revoke', 'times' => 0, 'action' => 'status', 'status' => 503]);
		$this->emu()->fault(['method' => null, 'path' => '/calendar/v3/channels/stop', 'times' => 0, 'action' => 'status', 'status' => 500]);
		$this->emu()->fault(['method' => null, 'path' => '/token', 'times' => 0, 'action' => 'status', 'status' => 503]);
		$this->uninstall();
		$this->assertNothingOfOursLeft();
		$this->assertNoGoogleRequestAfterwards($site3);
	}

	public function test_uninstall_when_revoke_hangs_tries_it_once_and_still_erases_every_token(): void {
		$site3 = $this->network();
		$this->emu()->fault(['method' => null, 'path' => '/revoke', 'times' => 0, 'action' => 'delay', 'delay_s' => 60]);
		$before = count($this->emu()->requests());
		$this->uninstall();
		$this->assertCount(3, $this->requestsToSince($before, '/calendar/v3/channels/stop'), 'channels still stopped on every site');
		$this->assertCount(1, $this->requestsToSince($before, '/revoke'), 'after one hanging revoke the other doctor\'s is not tried (one request timeout, not one per doctor)');
		$this->assertNothingOfOursLeft();
		$this->assertNoGoogleRequestAfterwards($site3);
	}

	public function test_uninstall_when_channels_stop_hangs_tries_it_once_and_still_revokes_every_grant(): void {
		$site3 = $this->network();
		$this->emu()->fault(['method' => null, 'path' => '/calendar/v3/channels/stop', 'times' => 0, 'action' => 'delay', 'delay_s' => 60]);
		$before = count($this->emu()->requests());
		$this->uninstall();
		$this->assertCount(1, $this->requestsToSince($before, '/calendar/v3/channels/stop'), 'after one hanging channels.stop no other is tried');
		$this->assertCount(2, $this->requestsToSince($before, '/revoke'), 'the revoke endpoint still answers: every grant revoked');
		foreach ($this->emu()->grants() as $g) {
			$this->assertTrue($g['revoked'], 'grant of ' . $g['email'] . ' revoked');
		}
		$this->assertNothingOfOursLeft();
		$this->assertNoGoogleRequestAfterwards($site3);
	}
}
