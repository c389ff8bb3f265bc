<?php
namespace KcMeetTest;

/** Client of the Google emulator's control API (/__emu/, see tests/emulator/README.md). */
final class Emulator {
	private string $base;

	public function __construct(?string $base = null) {
		$this->base = rtrim($base ?? (string) Env::emuUrl(), '/');
		if ($this->base === '') {
			throw new \RuntimeException('no Google emulator in this run (KC_MEET_EMU_URL unset)');
		}
	}

	public function base(): string {
		return $this->base;
	}

	public function call(string $method, string $path, $data = null): array {
		$ch = curl_init($this->base . $path);
		curl_setopt_array($ch, [
			CURLOPT_CUSTOMREQUEST  => $method,
			CURLOPT_RETURNTRANSFER => true,
			CURLOPT_TIMEOUT        => 30,
			CURLOPT_HTTPHEADER     => ['Content-Type: application/json'],
		]);
		if ($data !== null) {
			curl_setopt($ch, CURLOPT_POSTFIELDS, json_encode($data));
		}
		$out = curl_exec($ch);
		if ($out === false) {
			throw new \RuntimeException("emulator $method $path: " . curl_error($ch));
		}
		$status = curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
		$j = json_decode($out, true);
		if (!is_array($j)) {
			throw new \RuntimeException("emulator $method $path → $status: $out");
		}
		$j['_status'] = $status;
		return $j;
	}

	private function ok(string $method, string $path, $data = null): array {
		$j = $this->call($method, $path, $data);
		if ($j['_status'] !== 200) {
			throw new \RuntimeException("emulator $method $path → {$j['_status']}: " . json_encode($j));
		}
		return $j;
	}

	public function reset(): void {
		$this->ok('POST', '/__emu/reset', new \stdClass());
	}

	public function registerClient(string $clientId, string $secret, array $redirectUris): array {
		return $this->ok('POST', '/__emu/clients', ['client_id' => $clientId, 'client_secret' => $secret, 'redirect_uris' => $redirectUris]);
	}

	/**
	 * The consent shortcut: the user answers Google's consent page for $authUrl.
	 * @return array ['_status' => 200, 'redirect' => Location] or an error body (status 400)
	 */
	public function authorize(string $authUrl, string $decision = 'allow', ?string $email = null, ?array $grantedScopes = null): array {
		$d = ['auth_url' => $authUrl, 'decision' => $decision];
		if ($email !== null) {
			$d['email'] = $email;
		}
		if ($grantedScopes !== null) {
			$d['granted_scopes'] = $grantedScopes;
		}
		return $this->call('POST', '/__emu/authorize', $d);
	}

	public function mintCode(string $clientId, string $email, array $scopes, string $redirectUri = 'postmessage'): string {
		return $this->ok('POST', '/__emu/mint_code', ['client_id' => $clientId, 'email' => $email, 'scopes' => $scopes, 'redirect_uri' => $redirectUri])['code'];
	}

	/** @return array[] request log entries (method, path, query, form_keys, grant_type, has_bearer, bearer_email, ...) */
	public function requests(): array {
		return $this->ok('GET', '/__emu/requests')['requests'];
	}

	public function clearRequests(): void {
		$this->ok('DELETE', '/__emu/requests');
	}

	/** @return array[] grants (id, client_id, email, scopes, has_refresh_token, revoked, ...) */
	public function grants(): array {
		return $this->ok('GET', '/__emu/grants')['grants'];
	}

	public function revokeGrant(string $email, ?string $clientId = null): int {
		return $this->ok('POST', '/__emu/revoke_grant', ['email' => $email, 'client_id' => $clientId])['revoked'];
	}

	public function expireAccessTokens(?string $email = null): int {
		return $this->ok('POST', '/__emu/expire_access_tokens', ['email' => $email])['expired'];
	}

	public function fault(array $fault): int {
		return $this->ok('POST', '/__emu/faults', $fault)['id'];
	}

	public function config(array $config): array {
		return $this->ok('POST', '/__emu/config', $config);
	}

	/** Requests whose path is $path (e.g. '/revoke', '/token'). */
	public function requestsTo(string $path): array {
		return array_values(array_filter($this->requests(), static fn($r) => $r['path'] === $path));
	}
}
