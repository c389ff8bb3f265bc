<?php
namespace KcMeetTest;

/** The network test bed itself: a real subdirectory network, kc-meet network-active, KiviCare on both sites. */
final class NetworkBedTest extends MultisiteTestCase {
	public function test_the_template_is_a_subdirectory_network_with_two_sites_and_the_plugin_network_active(): void {
		$r = $this->wpOk('require_once ABSPATH . "wp-admin/includes/plugin.php";
			return ["multisite" => is_multisite(), "subdomain" => is_subdomain_install(), "paths" => array_map(static fn($s) => $s->path, get_sites()),
				"network_active" => is_plugin_active_for_network($args["p"]), "super" => get_super_admins(), "loaded" => class_exists("KC_Meet_Plugin", false)];', ['p' => self::PLUGIN]);
		$this->assertTrue($r['multisite']);
		$this->assertFalse($r['subdomain']);
		$this->assertSame(['/', '/site2/'], $r['paths']);
		$this->assertTrue($r['network_active']);
		$this->assertTrue($r['loaded']);
		$this->assertSame(['admin'], $r['super']);
		foreach (['wp_', 'wp_2_'] as $p) {
			$this->assertContains($p . 'kc_appointments', Db::tables($this->db, $p . 'kc\_appointments'), "KiviCare's tables on $p");
			$this->assertNotEmpty(Db::tables($this->db, str_replace('_', '\_', $p) . 'kc\_meet\_%'), "kc-meet's tables on $p (network activation)");
			$this->assertContains($p . 'kc_appointment_google_meet_mappings', Db::tables($this->db, $p . 'kc\_appointment\_google\_meet\_mappings'));
		}
		$this->assertSame([], Db::tables($this->db, 'wp\_3\_%'));
	}

	public function test_each_process_boots_on_the_site_it_names_and_the_extension_follows_switch_to_blog(): void {
		$this->assertSame(2, $this->wpOnOk(self::SITE2, 'return get_current_blog_id();'));
		$r = $this->wpOk('$a = kc_meet_health()["schema_version"] ?? null; switch_to_blog(2); $b = kc_meet_health()["schema_version"] ?? null; global $wpdb; $p = $wpdb->prefix; restore_current_blog(); return [$a, $b, $p];');
		$this->assertNotNull($r[0]);
		$this->assertSame($r[0], $r[1]);
		$this->assertSame('wp_2_', $r[2]);
	}

	public function test_site_two_serves_its_admin_over_http_to_its_administrator(): void {
		$h = $this->loggedIn('site2admin');
		$r = $h->get('/site2/wp-admin/index.php');
		$this->assertSame(200, $r->status, $r->describe());
		$this->assertStringContainsString('Clinic two', $r->body);
		$r = $h->get('/site2/wp-json/');
		$this->assertSame(200, $r->status, $r->describe());
	}
}
