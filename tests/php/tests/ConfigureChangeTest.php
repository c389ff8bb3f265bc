<?php
/**
 * kc_meet_configure() in one long-lived process (a web worker): an array equal to one configured
 * before is taken without parsing, with that site's store and keys, and any difference — another
 * site, a rotated key, a changed secret, a value deep in the array, a key or a type — is a new
 * configuration that holds from the next call on.
 */
final class ConfigureChangeTest extends KcMeetTestCase {
	/** Databases made by a test besides its own. */
	private array $extraDbs = [];

	protected function tearDown(): void {
		foreach ($this->extraDbs as $db) {
			self::admin()->query("DROP DATABASE IF EXISTS `$db`");
		}
		parent::tearDown();
	}

	/** Another site in this test's database: its own tables, users and usermeta under $prefix. */
	private function siteInSameDatabase(string $prefix): array {
		$m = self::admin($this->db);
		$m->query("CREATE TABLE {$prefix}users LIKE wp_users");
		$m->query("CREATE TABLE {$prefix}usermeta LIKE wp_usermeta");
		$m->query("INSERT INTO {$prefix}users (ID, user_login) VALUES (1, 'admin'), (2, 'doctor')");
		return ['table_prefix' => $prefix, 'base_prefix' => $prefix] + $this->site;
	}

	/** Another site in a database of its own. */
	private function siteInOtherDatabase(): array {
		$db = 'kcm_t_' . bin2hex(random_bytes(5));
		$this->extraDbs[] = $db;
		self::admin()->query("CREATE DATABASE `$db`");
		$m = self::admin($db);
		$m->query("CREATE TABLE wp_users (ID bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, user_login varchar(60) NOT NULL DEFAULT '') DEFAULT CHARSET=utf8mb4");
		$m->query("CREATE TABLE wp_usermeta (umeta_id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, user_id bigint unsigned NOT NULL DEFAULT 0, meta_key varchar(255) DEFAULT NULL, meta_value longtext, KEY user_id (user_id)) DEFAULT CHARSET=utf8mb4");
		$m->query("INSERT INTO wp_users (ID, user_login) VALUES (1, 'admin'), (2, 'doctor')");
		return ['db_name' => $db] + $this->site;
	}

	private function connections(): int {
		return (int) self::admin()->query("SHOW GLOBAL STATUS LIKE 'Connections'")->fetch_row()[1];
	}

	public function test_sites_taking_turns_in_one_process_each_see_their_own_tables(): void {
		$this->connectDoctor(2, 'doc@example.com');
		$b = $this->siteInSameDatabase('wpb_');
		kc_meet_configure($b);
		kc_meet_migrate();
		$c = $this->siteInOtherDatabase();
		kc_meet_configure($c);
		kc_meet_migrate();

		for ($i = 0; $i < 5; $i++) {
			kc_meet_configure($this->site);
			$this->assertSame('connected', kc_meet_status(2)['status'], "site A, turn $i");
			kc_meet_configure($b);
			$this->assertSame('not_connected', kc_meet_status(2)['status'], "site B, turn $i");
			kc_meet_configure($c);
			$this->assertSame('not_connected', kc_meet_status(2)['status'], "site C, turn $i");
		}
		kc_meet_configure($b);
		$this->connectDoctor(2, 'other@example.com');
		kc_meet_configure($this->site);
		$this->assertSame('doc@example.com', kc_meet_status(2)['email'], 'site A kept its own connection');
		kc_meet_configure($b);
		$this->assertSame('other@example.com', kc_meet_status(2)['email']);
	}

	public function test_sites_of_one_database_taking_turns_open_no_connection(): void {
		$b = $this->siteInSameDatabase('wpb_');
		kc_meet_configure($b);
		kc_meet_migrate();
		kc_meet_configure($this->site);
		kc_meet_status(2);
		$before = $this->connections();
		for ($i = 0; $i < 50; $i++) {
			kc_meet_configure($b);
			kc_meet_status(2);
			kc_meet_configure($this->site);
			kc_meet_status(2);
		}
		$this->assertLessThanOrEqual(3, $this->connections() - $before, 'one pool serves both sites');
	}

	public function test_a_rotated_key_holds_at_once_and_a_site_configured_before_keeps_its_own(): void {
		$this->connectDoctor(2, 'doc@example.com');
		$rotated = ['encryption_key' => 'a rotated key'] + $this->site;
		kc_meet_configure($rotated);
		try {
			kc_meet_check_connection(2);
			$this->fail('the token sealed under the old key was opened without it');
		} catch (KcMeet\ConfigurationException $e) {
			$this->assertSame(1003, $e->getCode());
		}
		kc_meet_configure(['encryption_key_previous' => [$this->site['encryption_key']]] + $rotated);
		$this->assertSame('connected', kc_meet_check_connection(2)['status'], 'the old key, listed as previous, opens it (and the token is sealed again under the new one)');
		kc_meet_configure($rotated);
		$this->assertSame('connected', kc_meet_check_connection(2)['status'], 'the new key alone opens it now');
		kc_meet_configure($this->site);
		try {
			kc_meet_check_connection(2);
			$this->fail('the first configuration, named again, used another key than its own');
		} catch (KcMeet\ConfigurationException $e) {
			$this->assertSame(1003, $e->getCode());
		}
	}

	public function test_a_changed_client_secret_is_what_the_next_refresh_sends(): void {
		$this->emu->post('/__emu/config', ['access_token_ttl' => 60]);
		$this->connectDoctor(2, 'doc@example.com');
		$this->emu->post('/__emu/config', ['access_token_ttl' => 3599]);
		kc_meet_configure(['client_secret' => 'not-the-secret'] + $this->site);
		$failed = null;
		try {
			kc_meet_check_connection(2);
		} catch (KcMeet\Exception $e) {
			$failed = $e;
		}
		$this->assertNotNull($failed, 'Google refused the refresh with the wrong secret');
		$this->assertStringContainsString('client', $failed->getMessage());
		$refused = $this->emu->refreshes();
		$this->assertGreaterThanOrEqual(1, $refused, 'the refresh was asked for');
		kc_meet_configure($this->site);
		$this->assertSame('connected', kc_meet_check_connection(2)['status'], 'the right secret refreshes');
		$this->assertSame($refused + 1, $this->emu->refreshes());
	}

	public function test_a_value_deep_in_the_array_or_a_client_id_is_seen(): void {
		$moved = $this->site;
		$moved['endpoints']['token'] = 'http://127.0.0.1:9/token';
		kc_meet_configure($moved);
		$this->assertSame('http://127.0.0.1:9/token', kc_meet_health()['endpoints']['token']);
		kc_meet_configure($this->site);
		$this->assertSame($this->site['endpoints']['token'], kc_meet_health()['endpoints']['token']);

		kc_meet_configure(['client_id' => 'another.apps.googleusercontent.com'] + $this->site);
		$this->assertStringContainsString('client_id=another.apps.googleusercontent.com', kc_meet_auth_url(2, 2));
		kc_meet_configure($this->site);
		$this->assertStringContainsString('client_id=' . rawurlencode($this->site['client_id']), kc_meet_auth_url(2, 2));
	}

	public function test_an_array_like_an_accepted_one_but_for_its_keys_or_types_is_checked_again(): void {
		$listed = ['encryption_key_previous' => ['an old key']] + $this->site;
		kc_meet_configure($listed);
		$cases = [
			'a map instead of a list' => ['encryption_key_previous' => [1 => 'an old key']] + $this->site,
			'a list in another order' => ['encryption_key_previous' => [1 => 'an old key', 0 => 'a second key']] + $this->site,
			'a number for a flag' => ['allow_insecure_loopback' => 2] + $this->site,
			'an object for a string' => ['encryption_key_previous' => [new ArrayObject(['an old key'])]] + $this->site,
			'a string that is not UTF-8' => ['client_id' => "id\xff"] + $this->site,
		];
		foreach ($cases as $name => $site) {
			try {
				kc_meet_configure($site);
				$this->fail("$name: accepted");
			} catch (KcMeet\ConfigurationException $e) {
				$this->assertSame(1001, $e->getCode(), $name);
			}
			kc_meet_configure($listed);
		}
		// The same keys and values in another order are the same configuration.
		kc_meet_configure(array_reverse($listed, true));
		$this->assertSame('not_connected', kc_meet_status(2)['status']);
	}

	public function test_a_refused_configuration_leaves_the_request_unconfigured_not_on_the_site_before(): void {
		$this->connectDoctor(2, 'doc@example.com');
		$this->assertSame('connected', kc_meet_status(2)['status']);
		try {
			kc_meet_configure(['no_such_setting' => 1] + $this->site);
			$this->fail('an unknown setting is refused');
		} catch (\KcMeet\ConfigurationException $e) {
			$this->assertSame(1001, $e->getCode());
		}
		try {
			kc_meet_status(2);
			$this->fail('a call after a refused configuration must not act on the site configured before');
		} catch (\KcMeet\ConfigurationException $e) {
			$this->assertSame(1002, $e->getCode(), $e->getMessage());
		}
		kc_meet_configure($this->site);
		$this->assertSame('connected', kc_meet_status(2)['status'], 'configuring again works');
	}
}
