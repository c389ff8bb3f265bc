<?php
namespace KcMeetTest;

/** A new site of the network gets kc-meet's tables at once when kc-meet is network-active, and only then. */
final class NewSiteTest extends MultisiteTestCase {
	public function test_a_new_site_gets_our_tables_without_an_admin_visit(): void {
		$this->assertSame([], Db::tables($this->db, 'wp\_3\_%'));
		$id = $this->createSite('/site3/');
		$this->assertSame(3, $id);
		$tables = Db::tables($this->db, 'wp\_3\_kc\_meet\_%');
		$this->assertEqualsCanonicalizing(
			array_map(static fn($t) => 'wp_3_' . substr($t, 3), Db::tables($this->db, 'wp\_kc\_meet\_%')),
			$tables,
			'the new site has every table of ours the main site has'
		);
		$this->assertContains('wp_3_kc_appointment_google_meet_mappings', Db::tables($this->db, 'wp\_3\_kc\_appointment\_google\_meet\_mappings'));
		$this->assertNotEmpty(Db::tables($this->db, 'wp\_2\_kc\_meet\_%'), 'site 2 keeps its tables');
		$this->assertNull(Db::value($this->db, "SELECT option_value FROM wp_3_options WHERE option_name = '_transient_kc_meet_admin_notices'"), 'no migration failure was stored for the new site');
		// The site works at once: no admin page was ever opened on it, its schema is current.
		$health = $this->wpOnOk('/site3/', 'global $wpdb; return ["prefix" => $wpdb->prefix, "health" => kc_meet_health()];');
		$this->assertSame('wp_3_', $health['prefix']);
		$this->assertNotNull($health['health']['schema_version']);
		$this->assertSame($health['health']['schema_expected'], $health['health']['schema_version']);
		$this->assertNotNull(Db::value($this->db, "SELECT option_value FROM wp_3_options WHERE option_name = 'kc_meet_schema_checked'"), 'the build that migrated is remembered on the new site');
		// The main site's tables were not touched by the new site's migration (no stray prefix).
		$this->assertSame([], Db::tables($this->db, 'wp\_3\_3\_%'));
	}

	public function test_creating_a_site_logs_no_database_error(): void {
		// The CLI configures the extension at start-up, so kc-meet is configured when WordPress
		// switches to the new site, before that site's tables exist.
		$created = $this->createSiteLogged('/site6/');
		$this->assertGreaterThan(2, $created['id']);
		$this->assertSame([], array_values(preg_grep('/WordPress database error/', $created['log'])), 'no database error while the site was made');
		$this->assertNotEmpty(Db::tables($this->db, 'wp\\_' . $created['id'] . '\\_kc\\_meet\\_%'), 'the new site still gets our tables');
	}

	public function test_a_site_made_from_another_site_of_the_network_gets_the_new_sites_tables_not_its_own(): void {
		$id = $this->createSite('/site4/', self::SITE2);
		$this->assertNotEmpty(Db::tables($this->db, 'wp\_' . $id . '\_kc\_meet\_%'), 'the new site has our tables');
		$r = $this->wpOnOk(self::SITE2, 'global $wpdb; return ["prefix" => $wpdb->prefix, "blog" => get_current_blog_id()];');
		$this->assertSame(['prefix' => 'wp_2_', 'blog' => 2], $r);
	}

	public function test_when_kc_meet_is_active_on_one_site_only_a_new_site_gets_nothing_of_ours(): void {
		$this->wpOk(['admin' => true, 'user' => 1, 'code' => 'deactivate_plugins($args["p"], false, true); return is_plugin_active_for_network($args["p"]);', 'args' => ['p' => self::PLUGIN]]);
		$r = $this->wpOnOk(self::SITE2, ['admin' => true, 'user' => 1, 'code' => '$r = activate_plugin($args["p"]); if (is_wp_error($r)) { throw new RuntimeException($r->get_error_message()); } return [is_plugin_active($args["p"]), is_plugin_active_for_network($args["p"])];', 'args' => ['p' => self::PLUGIN]]);
		$this->assertSame([true, false], $r, 'active on site 2 only');
		// Created from the site where kc-meet is active (its hooks are loaded there).
		$id = $this->createSite('/site5/', self::SITE2);
		$this->assertSame([], Db::tables($this->db, 'wp\_' . $id . '\_kc\_%'), 'nothing of ours on a site kc-meet is not active on');
		$this->assertNull(Db::value($this->db, "SELECT option_value FROM wp_{$id}_options WHERE option_name LIKE 'kc\\_meet\\_%' LIMIT 1"));
	}
}
