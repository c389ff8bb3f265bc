<?php
namespace KcMeetTest;

/**
 * Base class of the kc-meet network tests. The template (run.sh, multisite/) is a subdirectory
 * network: site 1 at "/" and site 2 at "/site2/", both with KiviCare's tables and roles, kc-meet
 * network-activated. Besides the standard cast of WpTestCase (members of site 1 only; user 1 is the
 * super admin), each test gets `site2admin` (administrator of site 2 only) and `site2doctor`
 * (KiviCare doctor of site 2 only), created with wp_insert_user() on site 2.
 */
abstract class MultisiteTestCase extends WpTestCase {
	public const SITE2 = '/site2/';

	protected function setUp(): void {
		parent::setUp();
		$cast = $this->wpOk(['code' => '
			$out = [];
			foreach ($args["cast"] as $key => $u) {
				$id = wp_insert_user($u + ["user_pass" => $args["pw"]]);
				if (is_wp_error($id)) { throw new RuntimeException($id->get_error_message()); }
				$out[$key] = ["id" => $id, "login" => $u["user_login"], "email" => $u["user_email"], "password" => $args["pw"], "role" => $u["role"]];
			}
			return $out;', 'args' => ['pw' => 'Test-pass-123!', 'cast' => [
			'site2admin'  => ['user_login' => 'site2admin', 'user_email' => 'site2admin@clinic.test', 'role' => 'administrator', 'display_name' => 'Site Two Admin'],
			'site2doctor' => ['user_login' => 'drcuddy', 'user_email' => 'site2doctor@clinic.test', 'role' => 'kiviCare_doctor', 'display_name' => 'Dr Cuddy'],
		]]], [], ['env' => ['KC_MEET_MS_PATH' => self::SITE2]]);
		$this->users += $cast;
	}

	/** Runs a job in a fresh WordPress process booted on the site at $path ("/" or "/site2/"). */
	protected function wpOn(string $path, $job, array $args = [], array $opts = []): RunResult {
		$opts['env'] = ($opts['env'] ?? []) + ['KC_MEET_MS_PATH' => $path];
		return $this->wp($job, $args, $opts);
	}

	/** Like wpOn() but fails the test unless the code completed; returns its result. */
	protected function wpOnOk(string $path, $job, array $args = [], array $opts = []) {
		$r = $this->wpOn($path, $job, $args, $opts);
		if (!$r->ok()) {
			$this->fail("WordPress runner ($path) failed:\n" . $r->describe());
		}
		return $r->result();
	}

	/** Adds an existing user to a site with a role (add_user_to_blog()). */
	protected function addToSite(string $who, int $siteId, string $role): void {
		$this->wpOk('$r = add_user_to_blog((int) $args["site"], (int) $args["user"], $args["role"]); if (is_wp_error($r)) { throw new RuntimeException($r->get_error_message()); } return true;',
			['site' => $siteId, 'user' => $this->id($who), 'role' => $role]);
	}

	/**
	 * Registers the OAuth client in the emulator with the redirect URIs of site 1 and site 2 and
	 * stores it in both sites' settings (each site of a network has its own options).
	 */
	protected function configureOAuthOnBothSites(): void {
		$code = 'return KC_Meet_Config::redirect_uri();';
		$uris = [$this->wpOnOk('/', $code), $this->wpOnOk(self::SITE2, $code)];
		$this->assertNotSame($uris[0], $uris[1], 'each site has its own redirect URI');
		$this->emu()->registerClient(self::CLIENT_ID, self::CLIENT_SECRET, $uris);
		foreach (['/', self::SITE2] as $path) {
			$this->wpOnOk($path, '
				$s = get_option("kiviCare_google_meet_setting", []);
				$s = is_array($s) ? $s : [];
				$s["client_id"] = $args["id"];
				$s["client_secret"] = $args["secret"];
				$s["enabled"] = true;
				$s["enableCal"] = "Yes";
				$s["auth_type"] = "oauth";
				update_option("kiviCare_google_meet_setting", $s);
				return true;', ['id' => self::CLIENT_ID, 'secret' => self::CLIENT_SECRET]);
		}
	}

	/** Connects a doctor of site 2 through site 2 (its own redirect URI and callback). */
	protected function connectOnSite2(string $who, string $email, ?string $initiator = null): Response {
		$initiator ??= $who;
		$authUrl = $this->wpOnOk(self::SITE2, 'return kc_meet_auth_url((int) $args["d"], (int) $args["i"]);', ['d' => $this->id($who), 'i' => $this->id($initiator)]);
		$consent = $this->emu()->authorize($authUrl, 'allow', $email);
		$this->assertSame(200, $consent['_status'], json_encode($consent));
		$this->assertStringStartsWith(Env::wpUrl() . '/site2/', $consent['redirect'], 'site 2 has its own callback');
		return $this->loggedIn($initiator)->get($consent['redirect']);
	}

	/** A push channel of a doctor as the extension stores it, in the channels table of a site ("wp_" / "wp_2_"). */
	protected function channelRow(string $prefix, string $id, string $who): void {
		Db::query($this->db, "INSERT INTO {$prefix}kc_meet_channels (channel_id, doctor_id, resource_id, token_hash, expires_at, state, created_at)
			VALUES (?, ?, ?, REPEAT('0', 64), ?, 'active', UTC_TIMESTAMP())", [$id, $this->id($who), 'res-' . $id, (time() + 86400) * 1000]);
	}

	/** Google requests since $before whose path is $path. */
	protected function requestsToSince(int $before, string $path): array {
		return array_values(array_filter($this->requestsSince($before), static fn($r) => $r['path'] === $path));
	}

	/** Creates a site of the network with wp_insert_site() (no admin page involved); returns its id. */
	protected function createSite(string $path, string $from = '/'): int {
		return $this->createSiteLogged($path, $from)['id'];
	}

	/**
	 * Creates a site like {@see self::createSite()}; returns its id and the lines PHP's error log
	 * received meanwhile (WordPress logs every database error there with error_log()).
	 *
	 * @return array{id: int, log: string[]}
	 */
	protected function createSiteLogged(string $path, string $from = '/'): array {
		return $this->wpOnOk($from, '
			$log = tempnam(sys_get_temp_dir(), "kcm-log");
			$was = ini_set("error_log", $log);
			$id = wp_insert_site(["domain" => get_network()->domain, "path" => $args["path"], "title" => "New clinic", "user_id" => 1]);
			ini_set("error_log", (string) $was);
			$lines = file($log, FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES) ?: [];
			unlink($log);
			if (is_wp_error($id)) { throw new RuntimeException($id->get_error_message()); }
			return ["id" => (int) $id, "log" => $lines];', ['path' => $path]);
	}
}
