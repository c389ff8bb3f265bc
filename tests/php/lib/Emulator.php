<?php
/** Shared by the PHP boundary tests and the benchmark. */

const KC_TEST_CLIENT_ID = 'kc-test-client.apps.googleusercontent.com';
const KC_TEST_CLIENT_SECRET = 'kc-test-client-secret';
const KC_TEST_REDIRECT = 'https://clinic.example/wp-json/kc-meet/v1/oauth/callback';
const KC_TEST_CAL = 'https://www.googleapis.com/auth/calendar';

/** The Google emulator (tests/emulator/google_emulator.py) as a child process. */
final class Emulator {
	public string $base;
	private $proc;

	public function __construct() {
		$script = dirname(__DIR__, 2) . '/emulator/google_emulator.py';
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

