<?php
/**
 * PHP boundary test bed: the built extension, a fresh MariaDB database per test (through
 * mysqli with the test account from ./build.sh) and a Google emulator per test.
 */

if (!extension_loaded('kc_meet')) {
	fwrite(STDERR, "kc_meet is not loaded: run with php -d extension=target/release/libkc_meet.so\n");
	exit(1);
}

const KC_TEST_CLIENT_ID = 'kc-test-client.apps.googleusercontent.com';
const KC_TEST_CLIENT_SECRET = 'kc-test-client-secret';
const KC_TEST_REDIRECT = 'https://clinic.example/wp-json/kc-meet/v1/oauth/callback';
const KC_TEST_CAL = 'https://www.googleapis.com/auth/calendar';

/** The Google emulator (tests/emulator/google_emulator.py) as a child process. */
final class Emulator {
	public string $base;
	private $proc;

	public function __construct() {
		$script = dirname(__DIR__) . '/emulator/google_emulator.py';
		$this->proc = proc_open(['python3', $script, '--port', '0'], [1 => ['pipe', 'w'], 2 => ['file', '/dev/null', 'a']], $pipes);
		$line = fgets($pipes[1]);
		if (!is_string($line) || !str_starts_with($line, 'READY ')) {
			throw new RuntimeException('emulator did not start');
		}
		$this->base = trim(substr($line, 6));
		$this->post('/__emu/clients', ['client_id' => KC_TEST_CLIENT_ID, 'client_secret' => KC_TEST_CLIENT_SECRET, 'redirect_uris' => [KC_TEST_REDIRECT]]);
	}

	public function __destruct() {
		proc_terminate($this->proc);
		proc_close($this->proc);
	}

	public function call(string $method, string $path, ?array $body = null): array {
		$ch = curl_init($this->base . $path);
		curl_setopt_array($ch, [CURLOPT_CUSTOMREQUEST => $method, CURLOPT_RETURNTRANSFER => true, CURLOPT_HTTPHEADER => ['Content-Type: application/json']]);
		if ($body !== null) {
			curl_setopt($ch, CURLOPT_POSTFIELDS, json_encode($body));
		}
		$out = curl_exec($ch);
		$status = curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
		if ($status >= 300) {
			throw new RuntimeException("emulator $path answered $status: $out");
		}
		return json_decode((string) $out, true) ?? [];
	}

	public function post(string $path, array $body): array {
		return $this->call('POST', $path, $body);
	}

	public function requests(): array {
		return $this->call('GET', '/__emu/requests')['requests'];
	}

	public function refreshes(): int {
		return count(array_filter($this->requests(), fn($r) => $r['path'] === '/token' && ($r['grant_type'] ?? '') === 'refresh_token'));
	}

	/** The consent decision; returns the query of Google's redirect back to us. */
	public function consent(string $auth_url, string $email, string $decision = 'allow'): array {
		$r = $this->post('/__emu/authorize', ['auth_url' => $auth_url, 'email' => $email, 'decision' => $decision]);
		parse_str((string) parse_url($r['redirect'], PHP_URL_QUERY), $q);
		return $q;
	}

	public function endpoints(): array {
		return ['auth' => "$this->base/o/oauth2/v2/auth", 'token' => "$this->base/token", 'revoke' => "$this->base/revoke", 'calendar' => "$this->base/calendar/v3"];
	}
}

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
