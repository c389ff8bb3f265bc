<?php
namespace KcMeetTest;

/**
 * No secret leaks. Runs last (phpunit.xml puts it in its own suite after the others): the
 * emulator lists every secret it issued or was given during the whole WordPress run
 * (GET /__emu/secrets: client secrets, authorization codes, PKCE verifiers, access and refresh
 * tokens, channel tokens), and none of them may appear in any log (PHP error log and php -S log,
 * WordPress debug log, chromedriver log; the emulator's own log is Google's side), in the pages,
 * admin notices, REST answers and exception messages this test provokes, in an e-mail, or in
 * any column of the database in clear. The one exception is the client secret in KiviCare's
 * own settings option (`kiviCare_google_meet_setting`), where core reads it.
 *
 * The test first walks every path that handles a secret itself (settings form, connect,
 * booking, refresh, a revoked grant, failed calls, WP-CLI, disconnect), so its database holds
 * what such a site holds; earlier tests' databases are dropped, their logs remain.
 */
final class SecretsTest extends WpTestCase {
	use KiviCareFixtures;

	/** @var string[] everything PHP, WordPress or the plugin showed or returned in this test */
	private array $seen = [];

	private function keep(string $what, string $text): void {
		$this->seen[] = "== $what\n$text";
	}

	/** What the site answered (not what the browser asked: Google's redirect carries the code). */
	private function keepResponse(string $what, Response $r): void {
		$this->keep($what, $r->status . ' ' . $r->location() . "\n" . $r->body);
	}

	private function keepRun(string $what, RunResult $r): void {
		$this->keep($what, $r->describe());
	}

	public function test_no_secret_appears_in_logs_pages_exceptions_mails_or_plaintext_columns(): void {
		$this->walkEverySecretPath();

		$issued = [];
		foreach ($this->emu()->call('GET', '/__emu/secrets')['secrets'] ?? [] as $s) {
			$issued[$s['value']] = $s['kind'];
		}
		$kinds = array_count_values($issued);
		foreach (['client_secret', 'code', 'code_verifier', 'access_token', 'refresh_token'] as $kind) {
			$this->assertGreaterThan(0, $kinds[$kind] ?? 0, "the run issued no $kind: the search would prove nothing");
		}

		$haystacks = [];
		foreach (glob(Env::get('KC_MEET_WP_LOG_DIR', Env::root() . '/target/wp-test/logs') . '/*') as $file) {
			if (basename($file) !== 'emulator.log' && is_file($file)) {
				$haystacks['log ' . basename($file)] = (string) file_get_contents($file);
			}
		}
		foreach (glob(Env::tmp() . '/*.{err,log,json}', GLOB_BRACE) as $file) {
			$haystacks['test-bed file ' . basename($file)] = (string) file_get_contents($file);
		}
		$this->assertArrayHasKey('log wp-debug.log', $haystacks, 'the WordPress debug log is searched');
		$this->assertArrayHasKey('log php-server.log', $haystacks, 'the php -S log (PHP errors) is searched');
		$haystacks['pages, REST answers, CLI output, exceptions and mails of this test'] = implode("\n", $this->seen);
		// A dump with one row per INSERT line: KiviCare's settings row is the only one left out.
		$rows = array_filter(explode("\n", Db::dump($this->db)), static fn($line) => !str_contains($line, "'kiviCare_google_meet_setting'"));
		$haystacks['database (every table, KiviCare\'s settings option aside)'] = implode("\n", $rows);

		$leaks = [];
		foreach ($issued as $secret => $kind) {
			$forms = array_unique([$secret, rawurlencode($secret), urlencode($secret), substr(json_encode($secret), 1, -1), htmlspecialchars($secret)]);
			foreach ($haystacks as $where => $text) {
				foreach ($forms as $form) {
					if (strlen($form) >= 8 && str_contains($text, $form)) {
						$at = strpos($text, $form);
						$leaks[] = "$kind in $where: …" . substr(str_replace($form, "[$kind]", substr($text, max(0, $at - 120), 240 + strlen($form))), 0, 300) . '…';
						break 2;
					}
				}
			}
		}
		$this->assertSame([], $leaks, count($leaks) . ' secret(s) leaked (of ' . count($issued) . ' issued, searched in ' . count($haystacks) . ' places)');
	}

	/** Every path that handles a token, code, verifier or the client secret, with its outputs kept. */
	private function walkEverySecretPath(): void {
		// Mails the plugin or core send while this test runs are captured in an option.
		$capture = '
			add_filter("pre_wp_mail", static function ($r, $atts) {
				$m = get_option("kc_test_mails", []);
				$m[] = $atts;
				update_option("kc_test_mails", $m);
				return true;
			}, 10, 2);';
		$flow = $this->connectThroughProfile();
		$this->assertSame('connected', self::query((string) $flow['callback']->location())['kc_meet_result'] ?? null, $flow['callback']->describe());
		$this->keepResponse('connect start', $flow['start']);
		$this->keepResponse('callback', $flow['callback']);
		$this->kc = $this->kcClinic();
		$this->keep('booking', json_encode($this->kc4Book(self::day(5))));
		// An expired access token: the next booking refreshes it.
		$this->emu()->expireAccessTokens();
		$this->keep('booking after a refresh', json_encode($this->kc4Book(self::day(6))));
		$this->assertGreaterThan(0, count(array_filter($this->emu()->requests(), static fn($r) => ($r['grant_type'] ?? '') === 'refresh_token')), 'a refresh happened');

		$admin = $this->loggedIn('admin');
		$doctor = $flow['doctor'];
		foreach (['/wp-admin/options-general.php?page=kc-meet', '/wp-admin/', '/wp-admin/users.php'] as $page) {
			$this->keep("admin $page", $admin->get($page)->body);
		}
		$this->keep('doctor profile', $doctor->get('/wp-admin/profile.php')->body);
		$h = $this->loggedIn('admin');
		$this->keep('REST settings', $h->get('/wp-json/kivicare/v1/settings/googlemeet', ['X-WP-Nonce' => $this->restNonce($h)])->body);
		$this->keepRun('wp kc-meet status', $this->wpCli(['kc-meet', 'status', '--format=json']));
		$this->keepRun('wp kc-meet health', $this->wpCli(['kc-meet', 'health', '--format=json']));
		$this->keepRun('wp kc-meet jobs list', $this->wpCli(['kc-meet', 'jobs', 'list', '--format=json']));
		$this->keepRun('status and health', $this->wp('return [kc_meet_status((int) $args["d"]), kc_meet_health()];', ['d' => $this->id('doctor')]));

		// Google takes the grant away: refresh fails with invalid_grant; bookings, checks, notices
		// and the jobs list all talk about it.
		$this->emu()->revokeGrant(self::GOOGLE_EMAIL);
		$this->emu()->expireAccessTokens();
		$this->keepRun('check after revocation', $this->wp($capture . 'return kc_meet_check_connection((int) $args["d"]);', ['d' => $this->id('doctor')]));
		$this->keep('booking after revocation', json_encode($this->kc4Book(self::day(7))));
		$this->keep('admin after revocation', $admin->get('/wp-admin/')->body . $admin->get('/wp-admin/options-general.php?page=kc-meet')->body);
		$this->keep('profile after revocation', $doctor->get('/wp-admin/profile.php')->body);
		$this->keepRun('wp kc-meet status after revocation', $this->wpCli(['kc-meet', 'status', '--format=json']));
		// Codes that are refused, replayed or sent to the wrong place.
		$this->keepResponse('replayed callback', $this->http()->get($flow['consent']['redirect']));
		$code = $this->emu()->mintCode(self::CLIENT_ID, 'other@example.com', [self::CALENDAR_SCOPE]);
		$this->keepRun('popup code for the wrong redirect', $this->wp($capture . 'return kc_meet_connect((int) $args["d"], $args["c"], "1.forged");', ['d' => $this->id('doctor'), 'c' => $code]));
		$this->keepRun('popup connect of another doctor', $this->wp($capture . 'return kc_meet_connect_postmessage((int) $args["d"], $args["c"]);', ['d' => $this->id('doctor2'), 'c' => $code]));

		// Reconnect and disconnect (revocation at Google).
		$again = $this->connectThroughProfile();
		$this->keepResponse('reconnect', $again['callback']);
		$link = (new Html($again['doctor']->get('/wp-admin/profile.php')->body))->byId('kc-meet-disconnect');
		$this->assertNotNull($link, 'the profile offers a disconnect');
		$this->keepResponse('disconnect', $again['doctor']->get(html_entity_decode($link->getAttribute('href'))));
		$this->keep('mails', (string) Db::option($this->db, 'kc_test_mails'));
	}
}
