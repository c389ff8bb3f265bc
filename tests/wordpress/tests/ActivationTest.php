<?php
namespace KcMeetTest;

/** Activation runs kc_meet_migrate(): our tables and KiviCare's mapping table (4.x shape) exist afterwards. */
final class ActivationTest extends WpTestCase {
	private function reactivate(): array {
		$this->wpOk(['admin' => true, 'user' => 1, 'code' => 'deactivate_plugins($args["p"]);', 'args' => ['p' => self::PLUGIN]]);
		foreach (array_merge(Db::tables($this->db, 'wp\_kc\_meet\_%'), ['wp_kc_appointment_google_meet_mappings']) as $t) {
			Db::query($this->db, "DROP TABLE IF EXISTS `$t`");
		}
		return $this->wpOk(['admin' => true, 'user' => 1, 'code' => '
			$r = activate_plugin($args["p"]);
			return ["error" => is_wp_error($r) ? $r->get_error_message() : null, "active" => is_plugin_active($args["p"]),
				"notices" => get_transient("kc_meet_admin_notices")];', 'args' => ['p' => self::PLUGIN]]);
	}

	public function test_activation_creates_our_tables(): void {
		$r = $this->reactivate();
		$this->assertNull($r['error']);
		$this->assertTrue($r['active']);
		$this->assertEmpty($r['notices'], 'activation stored a failure notice: ' . json_encode($r['notices']));
		$this->assertNotEmpty(Db::tables($this->db, 'wp\_kc\_meet\_%'));
		$this->assertSame(1, count(array_filter(Db::tables($this->db, 'wp\_kc\_meet\_%'), static fn($t) => strpos($t, 'state') !== false)));
	}

	public function test_activation_creates_the_mapping_table_in_kivicare_4_shape(): void {
		$this->reactivate();
		$cols = [];
		foreach (Db::query($this->db, 'SHOW COLUMNS FROM wp_kc_appointment_google_meet_mappings') as $c) {
			$cols[$c['Field']] = strtolower($c['Type']);
		}
		foreach (['id', 'appointment_id', 'event_id', 'url', 'password', 'event_url', 'created_at', 'extra'] as $c) {
			$this->assertArrayHasKey($c, $cols);
		}
		$this->assertStringStartsWith('bigint', $cols['appointment_id']);
		$this->assertSame('longtext', $cols['url']);
		$unique = array_filter(Db::query($this->db, 'SHOW INDEX FROM wp_kc_appointment_google_meet_mappings'), static fn($i) => (int) $i['Non_unique'] === 0 && $i['Key_name'] !== 'PRIMARY');
		$this->assertSame([], array_values($unique), 'core expects no UNIQUE key besides the primary key');
	}

	public function test_activation_keeps_an_existing_1x_mapping_table_and_its_rows(): void {
		$this->wpOk(['admin' => true, 'user' => 1, 'code' => 'deactivate_plugins($args["p"]);', 'args' => ['p' => self::PLUGIN]]);
		Db::query($this->db, 'DROP TABLE wp_kc_appointment_google_meet_mappings');
		Db::query($this->db, 'CREATE TABLE wp_kc_appointment_google_meet_mappings (id int NOT NULL AUTO_INCREMENT PRIMARY KEY, event_id varchar(255), appointment_id int, url varchar(255), password varchar(255) NULL, event_url varchar(255) NULL)');
		Db::query($this->db, "INSERT INTO wp_kc_appointment_google_meet_mappings (event_id, appointment_id, url, password, event_url) VALUES ('old1', 3, 'https://meet.google.com/old-link-one', '', NULL)");
		$this->wpOk(['admin' => true, 'user' => 1, 'code' => 'activate_plugin($args["p"]); return is_plugin_active($args["p"]);', 'args' => ['p' => self::PLUGIN]]);
		$this->assertSame('old1', Db::value($this->db, 'SELECT event_id FROM wp_kc_appointment_google_meet_mappings WHERE appointment_id = 3'));
	}
}
