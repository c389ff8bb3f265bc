<?php
/**
 * PHP boundary test bed: the built extension, a fresh MariaDB database per test (through
 * mysqli with the test account from ./build.sh) and a Google emulator per test.
 */

if (!extension_loaded('kc_meet')) {
	fwrite(STDERR, "kc_meet is not loaded: run with php -d extension=target/release/libkc_meet.so\n");
	exit(1);
}

require_once __DIR__ . '/lib/Emulator.php';

/** A fresh database with WordPress's users/usermeta tables, configured into the extension. */
abstract class KcMeetTestCase extends PHPUnit\Framework\TestCase {
	protected string $db;
	protected Emulator $emu;
	protected array $site;

	protected static function admin(?string $db = null): mysqli {
		mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
		return new mysqli(getenv('KC_MEET_TEST_DB_HOST') ?: '127.0.0.1', getenv('KC_MEET_TEST_DB_USER') ?: 'kcmeet_test',
			getenv('KC_MEET_TEST_DB_PASSWORD') ?: 'kcmeet_test_pw', $db, (int) (getenv('KC_MEET_TEST_DB_PORT') ?: 3306));
	}

	protected function setUp(): void {
		$this->db = 'kcm_t_' . bin2hex(random_bytes(5));
		self::admin()->query("CREATE DATABASE `$this->db`");
		$m = self::admin($this->db);
		$m->query("CREATE TABLE wp_users (ID bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, user_login varchar(60) NOT NULL DEFAULT '') DEFAULT CHARSET=utf8mb4");
		$m->query("CREATE TABLE wp_usermeta (umeta_id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, user_id bigint unsigned NOT NULL DEFAULT 0, meta_key varchar(255) DEFAULT NULL, meta_value longtext, KEY user_id (user_id)) DEFAULT CHARSET=utf8mb4");
		$m->query("INSERT INTO wp_users (ID, user_login) VALUES (1, 'admin'), (2, 'doctor')");
		$this->emu = new Emulator();
		$this->site = [
			'db_host' => (getenv('KC_MEET_TEST_DB_HOST') ?: '127.0.0.1') . ':' . (getenv('KC_MEET_TEST_DB_PORT') ?: '3306'),
			'db_user' => getenv('KC_MEET_TEST_DB_USER') ?: 'kcmeet_test',
			'db_password' => getenv('KC_MEET_TEST_DB_PASSWORD') ?: 'kcmeet_test_pw',
			'db_name' => $this->db, 'db_charset' => 'utf8mb4', 'table_prefix' => 'wp_', 'base_prefix' => 'wp_',
			'client_id' => KC_TEST_CLIENT_ID, 'client_secret' => KC_TEST_CLIENT_SECRET, 'redirect_uri' => KC_TEST_REDIRECT,
			'encryption_key' => 'php boundary test key', 'timezone' => 'UTC',
			'endpoints' => $this->emu->endpoints(), 'allow_insecure_loopback' => true,
		];
		kc_meet_configure($this->site);
		kc_meet_migrate();
	}

	protected function tearDown(): void {
		self::admin()->query("DROP DATABASE IF EXISTS `$this->db`");
	}

	protected function meta(int $user, string $key): ?string {
		$r = self::admin($this->db)->query("SELECT meta_value FROM wp_usermeta WHERE user_id = $user AND meta_key = '" . addslashes($key) . "' ORDER BY umeta_id LIMIT 1")->fetch_row();
		return $r[0] ?? null;
	}

	protected function connectDoctor(int $doctor, string $email): array {
		$q = $this->emu->consent(kc_meet_auth_url($doctor, $doctor), $email);
		return kc_meet_connect($doctor, $q['code'], $q['state']);
	}

	/** Starts PHP code in another process with the extension and this test's site configured. */
	protected function startPhp(string $code) {
		$prelude = 'kc_meet_configure(' . var_export($this->site, true) . ');';
		$cmd = [PHP_BINARY, '-n', '-d', 'extension=' . (getenv('KC_MEET_EXT') ?: dirname(__DIR__, 2) . '/target/release/libkc_meet.so'), '-r', $prelude . $code];
		$proc = proc_open($cmd, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
		return [$proc, $pipes];
	}

	/** Waits for a process from startPhp(); returns its stdout. */
	protected function waitPhp(array $p): string {
		[$proc, $pipes] = $p;
		$out = stream_get_contents($pipes[1]);
		$err = stream_get_contents($pipes[2]);
		$code = proc_close($proc);
		$this->assertSame(0, $code, "child PHP failed: $out $err");
		return $out;
	}
}
