<?php
namespace KcMeetTest;

/**
 * The background work's schedules are checked where it matters, not on every page view:
 * activation schedules them; a WP-Cron run (which WordPress makes at least hourly: core keeps an
 * hourly event of its own) and the plugin's own screens put back one that went missing; the
 * front end and the other wp-admin pages do not check.
 */
final class BackgroundScheduleTest extends WpTestCase {
	/** Which of the plugin's recurring hooks are scheduled, in whichever scheduler it uses. */
	private function scheduled(): array {
		// Also while the plugin is inactive (its classes are not loaded then).
		return $this->wpOk('
			$as = class_exists("KC_Meet_Background") ? KC_Meet_Background::use_action_scheduler() : function_exists("as_next_scheduled_action");
			$out = [];
			foreach (["kc_meet_run_jobs", "kc_meet_reconcile", "kc_meet_sync", "kc_meet_renew_channels"] as $hook) {
				$out[$hook] = false !== ($as ? as_next_scheduled_action($hook, [], "kc-meet") : wp_next_scheduled($hook));
			}
			return $out;');
	}

	private function assertAll(bool $expected, array $scheduled, string $message): void {
		$this->assertCount(4, $scheduled);
		$this->assertSame(array_fill_keys(array_keys($scheduled), $expected), $scheduled, $message);
	}

	/** Removes the schedules, and keeps page views from spawning WP-Cron (its lock is taken). */
	private function unscheduleAndLockCron(): void {
		$this->wpOk('KC_Meet_Lifecycle::clear_cron(); set_transient("doing_cron", sprintf("%.22F", microtime(true) + 600)); return true;');
		$this->assertAll(false, $this->scheduled(), 'unscheduled');
	}

	public function test_activation_schedules_the_background_work(): void {
		$this->wpOk(['admin' => true, 'user' => 1, 'code' => 'deactivate_plugins($args["p"]); return true;', 'args' => ['p' => self::PLUGIN]]);
		$this->assertAll(false, $this->scheduled(), 'deactivation removes the schedules');
		$this->wpOk(['admin' => true, 'user' => 1, 'code' => 'activate_plugin($args["p"]); return is_plugin_active($args["p"]);', 'args' => ['p' => self::PLUGIN]]);
		$this->assertAll(true, $this->scheduled(), 'activation schedules every recurring hook in its own request');
	}

	public function test_page_views_do_not_check_the_schedules_but_the_next_wp_cron_run_restores_them(): void {
		$this->unscheduleAndLockCron();
		$admin = $this->loggedIn('site_admin');
		$this->assertSame(200, $this->http()->get('/')->status);
		$this->assertSame(200, $admin->get('/wp-admin/')->status);
		$this->assertSame(200, $admin->get('/wp-admin/users.php')->status);
		$this->assertAll(false, $this->scheduled(), 'the front end and the dashboard do not check');
		// What WordPress requests when an event is due (or a system cron calls): the check runs on
		// its init, before wp-cron.php looks at its lock.
		$this->http()->get('/wp-cron.php?doing_wp_cron=' . sprintf('%.22F', microtime(true)));
		$this->assertAll(true, $this->scheduled(), 'a WP-Cron run puts the schedules back');
	}

	public function test_the_plugins_own_screens_restore_a_missing_schedule(): void {
		foreach (['/wp-admin/admin.php?page=kc-meet-doctors', '/wp-admin/admin.php?page=kc-meet-appointments', '/wp-admin/options-general.php?page=kc-meet'] as $screen) {
			$this->unscheduleAndLockCron();
			$this->assertSame(200, $this->loggedIn('site_admin')->get($screen)->status, $screen);
			$this->assertAll(true, $this->scheduled(), "$screen puts the schedules back");
		}
	}
}
