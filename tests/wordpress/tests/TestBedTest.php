<?php
namespace KcMeetTest;

/** The test bed itself: per-test database, runner, HTTP site, KiviCare tables. */
final class TestBedTest extends WpTestCase {
	public function test_each_test_runs_in_its_own_cloned_database(): void {
		$this->assertMatchesRegularExpression('/^kcm_t_[a-z0-9_]+$/', $this->db);
		$this->assertNotSame(Env::templateDb(), $this->db);
		$this->assertSame(Env::wpUrl(), Db::option($this->db, 'home'));
		$this->assertSame($this->db, $this->wpOk('return DB_NAME;'));
	}

	public function test_kivicare_core_tables_exist_in_the_test_database(): void {
		$tables = Db::tables($this->db, 'wp\_kc\_%');
		foreach (['wp_kc_appointments', 'wp_kc_clinics', 'wp_kc_services', 'wp_kc_service_doctor_mapping',
			'wp_kc_appointment_service_mapping', 'wp_kc_payments_appointment_mappings'] as $t) {
			$this->assertContains($t, $tables);
		}
		$cols = array_column(Db::query($this->db, 'SHOW COLUMNS FROM wp_kc_appointments'), 'Field');
		foreach (['appointment_start_utc', 'appointment_end_utc', 'created_at_utc', 'appointment_timezone'] as $c) {
			$this->assertContains($c, $cols);
		}
	}

	public function test_standard_users_have_their_roles(): void {
		$roles = $this->wpOk('return array_map(fn($id) => get_userdata($id)->roles, $args);', [
			'doctor' => $this->id('doctor'), 'doctor2' => $this->id('doctor2'), 'patient' => $this->id('patient'), 'admin' => $this->id('admin')]);
		$this->assertSame(['kiviCare_doctor'], $roles['doctor']);
		$this->assertSame(['kiviCare_doctor'], $roles['doctor2']);
		$this->assertSame(['kiviCare_patient'], $roles['patient']);
		$this->assertSame(['administrator'], $roles['admin']);
	}

	public function test_http_site_serves_this_test_database_and_logs_in(): void {
		$h = $this->loggedIn('doctor');
		$r = $h->get('/wp-admin/profile.php');
		$this->assertSame(200, $r->status, $r->describe());
		$this->assertStringContainsString('drhouse', $r->body);
	}

	public function test_http_request_naming_no_test_database_is_refused(): void {
		$ch = curl_init(Env::wpUrl() . '/wp-login.php');
		curl_setopt($ch, CURLOPT_RETURNTRANSFER, true);
		curl_exec($ch);
		$this->assertSame(400, curl_getinfo($ch, CURLINFO_RESPONSE_CODE));
	}

	public function test_pretty_permalinks_route_rest_requests(): void {
		$r = $this->http()->get('/wp-json/');
		$this->assertSame(200, $r->status, $r->describe());
		$this->assertSame('kc-meet test site', $r->json()['name']);
	}

	public function test_plugin_is_active_in_the_template(): void {
		$this->assertContains(self::PLUGIN, $this->wpOk('return get_option("active_plugins");'));
	}
}
