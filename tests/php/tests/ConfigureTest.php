<?php
/** kc_meet_configure(): bad input gets a clear exception and never echoes a secret. */
final class ConfigureTest extends PHPUnit\Framework\TestCase {
	private function site(array $change = []): array {
		return array_merge([
			'db_host' => '127.0.0.1:3306', 'db_user' => 'wp', 'db_password' => 'pw-s3cr3t', 'db_name' => 'wp',
			'table_prefix' => 'wp_', 'client_id' => 'id', 'client_secret' => 'GOCSPX-fake', 'redirect_uri' => 'https://clinic.example/cb',
			'encryption_key' => 'k', 'timezone' => 'Europe/Paris',
		], $change);
	}

	public static function bad_sites(): array {
		return [
			'unknown key' => [['colour' => 'blue'], "'colour'"],
			'db_host not a host' => [['db_host' => 'db:notaport'], 'db_host'],
			'array as user' => [['db_user' => ['x']], "'db_user'"],
			'table prefix injection' => [['table_prefix' => 'wp_`; DROP'], 'table_prefix'],
			'non-https endpoint' => [['endpoints' => ['token' => 'http://evil.example/token']], 'HTTPS'],
			'loopback http without opt-in' => [['endpoints' => ['token' => 'http://127.0.0.1:9/token']], 'allow_insecure_loopback'],
			'unknown endpoint' => [['endpoints' => ['tokens' => 'https://x']], "'tokens'"],
			'bad time zone' => [['timezone' => 'Mars/Olympus'], 'timezone'],
			'missing ca file' => [['ca_file' => '/nonexistent/ca.pem'], 'ca_file'],
			'redirect not a URL' => [['redirect_uri' => 'not a url'], 'redirect_uri'],
			'missing db_name' => [['db_name' => null], "'db_name'"],
			'bool not a bool' => [['allow_insecure_loopback' => 'maybe'], 'allow_insecure_loopback'],
		];
	}

	/** @dataProvider bad_sites */
	public function test_bad_values_throw_configuration_exception(array $change, string $mentions): void {
		try {
			kc_meet_configure($this->site($change));
			$this->fail('accepted');
		} catch (KcMeet\ConfigurationException $e) {
			$this->assertSame(1001, $e->getCode());
			$this->assertStringContainsString($mentions, $e->getMessage());
			$this->assertStringNotContainsString('pw-s3cr3t', $e->getMessage());
			$this->assertStringNotContainsString('GOCSPX', $e->getMessage());
		}
	}

	public function test_wordpress_db_host_forms_are_accepted(): void {
		foreach (['localhost', 'db.internal', 'db:3307', 'localhost:/run/mysqld/mysqld.sock', '[::1]:3306'] as $host) {
			kc_meet_configure($this->site(['db_host' => $host]));
		}
		$this->addToAssertionCount(1);
	}

	public function test_health_after_a_rejected_configuration_does_not_report_the_site_before(): void {
		// A worker serves several sites: the one it configured before must not answer for this one.
		kc_meet_configure($this->site(['db_host' => '127.0.0.1:1', 'endpoints' => ['calendar' => 'https://calendar.site-a.example/']]));
		$this->assertSame('https://calendar.site-a.example/', kc_meet_health()['endpoints']['calendar']);
		try {
			kc_meet_configure($this->site(['timezone' => 'Mars/Olympus']));
			$this->fail('accepted');
		} catch (KcMeet\ConfigurationException $e) {
			$this->assertSame(1001, $e->getCode());
		}
		$h = kc_meet_health();
		$this->assertFalse($h['configured']);
		$this->assertNull($h['endpoints'], 'no endpoints of the site configured before');
		$this->assertSame(['not_configured'], array_column($h['problems'], 'code'));
	}

	public function test_missing_client_is_reported_by_health_not_thrown(): void {
		kc_meet_configure($this->site(['client_id' => '', 'client_secret' => '', 'encryption_key' => '', 'redirect_uri' => 'http://clinic.example/cb', 'db_host' => '127.0.0.1:1']));
		$h = kc_meet_health();
		$codes = array_column($h['problems'], 'code');
		$this->assertContains('missing_client', $codes);
		$this->assertContains('redirect_uri_not_https', $codes);
		$this->assertContains('missing_encryption_key', $codes);
		$this->assertContains('db_unreachable', $codes);
		$this->assertFalse($h['configured']);
		$this->assertFalse($h['db']['reachable']);
		$this->assertSame(kc_meet_version(), $h['version']);
	}

	public function test_auth_url_without_client_throws_not_configured(): void {
		kc_meet_configure($this->site(['client_id' => '']));
		$this->expectException(KcMeet\ConfigurationException::class);
		$this->expectExceptionCode(1002);
		kc_meet_auth_url(2, 2);
	}

	public function test_database_down_is_a_database_exception(): void {
		kc_meet_configure($this->site(['db_host' => '127.0.0.1:1']));
		try {
			kc_meet_status(2);
			$this->fail('no exception');
		} catch (KcMeet\DatabaseException $e) {
			$this->assertSame(2001, $e->getCode());
			$this->assertStringNotContainsString('pw-s3cr3t', $e->getMessage());
		}
	}

	public function test_wrong_database_password_is_a_database_exception_without_the_password(): void {
		kc_meet_configure($this->site(['db_user' => getenv('KC_MEET_TEST_DB_USER') ?: 'kcmeet_test', 'db_name' => 'kcm_none', 'db_host' => (getenv('KC_MEET_TEST_DB_HOST') ?: '127.0.0.1') . ':' . (getenv('KC_MEET_TEST_DB_PORT') ?: '3306')]));
		try {
			kc_meet_migrate();
			$this->fail('no exception');
		} catch (KcMeet\DatabaseException $e) {
			$this->assertSame(2001, $e->getCode());
			$this->assertStringNotContainsString('pw-s3cr3t', $e->getMessage());
		}
	}
}
