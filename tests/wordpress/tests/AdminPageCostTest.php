<?php
namespace KcMeetTest;

/**
 * What an admin page view pays for kc-meet: the lazy schema check on `admin_init` costs nothing
 * once the loaded extension build has found the site's schema current (kc_meet_health() reads
 * every doctor; only a new build, a failed migration or the plugin's own settings screen asks
 * again), and the admin notices make no query when there is nothing to show.
 */
final class AdminPageCostTest extends WpTestCase {
	private const NOTICES = '
		set_current_screen("dashboard");
		global $wpdb;
		$q = $wpdb->num_queries;
		ob_start();
		do_action("admin_notices");
		$html = ob_get_clean();
		return ["queries" => $wpdb->num_queries - $q, "html" => $html];';

	private function schemaVersion(): string {
		return (string) Db::value($this->db, "SELECT value FROM wp_kc_meet_meta WHERE name = 'schema_version'");
	}

	private function makeSchemaLookOutdated(): string {
		$current = $this->schemaVersion();
		Db::query($this->db, "UPDATE wp_kc_meet_meta SET value = '1' WHERE name = 'schema_version'");
		return $current;
	}

	public function test_activation_remembers_the_build_that_found_the_schema_current(): void {
		$this->assertNotSame('', (string) Db::option($this->db, 'kc_meet_schema_checked'));
	}

	public function test_an_admin_page_view_asks_nothing_once_the_schema_was_found_current(): void {
		$current = $this->makeSchemaLookOutdated();
		$admin = $this->loggedIn('site_admin');
		$this->assertSame(200, $admin->get('/wp-admin/index.php')->status);
		$this->assertSame('1', $this->schemaVersion(), 'a dashboard view ran the health check');
		// The plugin's own screen looks again, finds the schema behind and migrates.
		$this->assertSame(200, $admin->get('/wp-admin/options-general.php?page=kc-meet')->status);
		$this->assertSame($current, $this->schemaVersion());
	}

	public function test_a_new_extension_build_checks_the_schema_on_the_next_admin_page_view(): void {
		$current = $this->makeSchemaLookOutdated();
		Db::query($this->db, "UPDATE wp_options SET option_value = 'an-older-build' WHERE option_name = 'kc_meet_schema_checked'");
		$admin = $this->loggedIn('site_admin');
		$this->assertSame(200, $admin->get('/wp-admin/index.php')->status);
		$this->assertSame($current, $this->schemaVersion(), 'the lazy migration ran');
		$this->assertNotSame('an-older-build', Db::option($this->db, 'kc_meet_schema_checked'));
	}

	public function test_admin_notices_with_nothing_to_show_make_no_query(): void {
		$r = $this->wpOk(['admin' => true, 'user' => 1, 'code' => self::NOTICES]);
		$this->assertSame(0, $r['queries'], $r['html']);
		$this->assertStringNotContainsString('notice', $r['html']);
	}

	public function test_an_admin_page_with_nothing_to_check_or_show_loads_none_of_the_classes_that_would(): void {
		$admin = $this->loggedIn('site_admin');
		// The first view of a new site schedules WordPress's own events (reading every schedule,
		// the plugin's too): measured is the next one.
		$this->assertSame(200, $admin->get('/wp-admin/')->status);
		$r = $admin->get('/wp-admin/', ['X-KC-Test-Classes' => '1']);
		$this->assertSame(200, $r->status);
		$this->assertSame(1, preg_match('/<!-- kc-test-classes: ([^>]*) -->/', $r->body, $m), 'the test bed lists the classes');
		$loaded = explode(' ', trim($m[1]));
		$this->assertContains('KC_Meet_Hooks', $loaded);
		foreach (['KC_Meet_Notices', 'KC_Meet_Waiting', 'KC_Meet_Doctor_Notices', 'KC_Meet_Lifecycle', 'KC_Meet_Background', 'KC_Meet_Native', 'KC_Meet_Access'] as $class) {
			$this->assertNotContains($class, $loaded, "the dashboard loaded $class");
		}
		// Something to show: the pre-check lets it through.
		$this->wpOk('KC_Meet_Notices::add_persistent("Check test"); return true;');
		$this->assertStringContainsString('Check test', $this->loggedIn('site_admin')->get('/wp-admin/')->body);
	}

	public function test_a_stored_notice_is_shown_on_the_next_admin_page_once(): void {
		$this->wpOk('KC_Meet_Notices::add_persistent("Migration failed: test"); return true;');
		$first = $this->wpOk(['admin' => true, 'user' => 1, 'code' => self::NOTICES]);
		$this->assertStringContainsString('Migration failed: test', $first['html']);
		$again = $this->wpOk(['admin' => true, 'user' => 1, 'code' => self::NOTICES]);
		$this->assertStringNotContainsString('Migration failed: test', $again['html']);
		$this->assertSame(0, $again['queries']);
	}

	public function test_appointments_waiting_for_review_are_counted_on_admin_pages(): void {
		// What the sync hands over when a doctor deleted an appointment's event in Google.
		$this->wpOk('return KC_Meet_Sync_Changes::dispatch([["appointment_id" => 41, "doctor_id" => 2, "kind" => "deleted_flagged", "event_id" => "e41"]], "cron");');
		$r = $this->wpOk(['admin' => true, 'user' => 1, 'code' => self::NOTICES]);
		$this->assertStringContainsString('id="kc-meet-review-notice" data-count="1"', $r['html']);
	}
}
