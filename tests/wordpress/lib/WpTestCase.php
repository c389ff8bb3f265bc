<?php
namespace KcMeetTest;

use PHPUnit\Framework\TestCase;

/**
 * Base class of the kc-meet WordPress tests.
 *
 * Each test gets its own database (a clone of the run's template: WordPress installed, KiviCare's tables,
 * the plugin activated), the standard users (admin, two doctors, a patient, created with wp_insert_user()
 * through the runner) and a reset Google emulator. The database is dropped in tearDown.
 */
abstract class WpTestCase extends TestCase {
	public const PLUGIN = 'kivicare-google-meet/kivicare-googlemeet.php';
	public const CALENDAR_SCOPE = 'https://www.googleapis.com/auth/calendar';
	public const CLIENT_ID = 'kc-meet-test-client.apps.googleusercontent.com';
	public const CLIENT_SECRET = 'kc-meet-test-secret-4711';

	protected string $db;
	/** @var array<string, array{id:int, login:string, email:string, password:string, role:string}> */
	protected array $users = [];
	private ?Emulator $emulator = null;
	/** @var Http[] */
	private array $clients = [];

	protected function setUp(): void {
		parent::setUp();
		$this->db = Db::cloneTemplate();
		if (Env::emuUrl()) {
			$this->emu()->reset();
		}
		$this->users = $this->wpOk(['scenario' => 'create-users']);
		$this->users['site_admin'] = ['id' => 1, 'login' => 'admin', 'email' => 'admin@clinic.test', 'password' => Env::adminPassword(), 'role' => 'administrator'];
	}

	protected function tearDown(): void {
		$this->clients = [];
		if (!Env::keep() && isset($this->db)) {
			Db::drop($this->db);
		}
		parent::tearDown();
	}

	// ------------------------------------------------------------------ services

	protected function emu(): Emulator {
		return $this->emulator ??= new Emulator();
	}

	/** A new browser-like HTTP client (own cookie jar) for this test's database. */
	protected function http(): Http {
		return $this->clients[] = new Http($this->db);
	}

	/** An HTTP client logged in as one of the standard users. */
	protected function loggedIn(string $who): Http {
		$h = $this->http();
		$h->login($this->users[$who]['login'], $this->users[$who]['password']);
		return $h;
	}

	protected function id(string $who): int {
		return (int) $this->users[$who]['id'];
	}

	/**
	 * Runs a job in a fresh WordPress process for this test's database (see bin/wp-run.php).
	 * @param array|string $job  job array, or PHP code (function body; sees $args)
	 * @param array        $args given to the code as $args
	 * @param array        $opts Runner options ('extension' => false: run without the extension)
	 */
	protected function wp($job, array $args = [], array $opts = []): RunResult {
		if (is_string($job)) {
			$job = ['code' => $job];
		}
		if ($args) {
			$job['args'] = $args;
		}
		return Runner::run($this->db, $job, $opts);
	}

	/** Like wp() but fails the test unless the code completed without exception/fatal; returns its result. */
	protected function wpOk($job, array $args = [], array $opts = []) {
		$r = $this->wp($job, $args, $opts);
		if (!$r->ok()) {
			$this->fail("WordPress runner failed:\n" . $r->describe());
		}
		return $r->result();
	}

	/** Runs `wp <argv...>` through the WP-CLI stand-in. */
	protected function wpCli(array $argv, array $job = []): RunResult {
		return $this->wp($job + ['wpcli' => $argv]);
	}

	// ------------------------------------------------------------------ database

	protected function meta(int $userId): array {
		return Db::userMeta($this->db, $userId);
	}

	protected function metaValue(int $userId, string $key): ?string {
		$m = $this->meta($userId);
		return isset($m[$key]) ? $m[$key][0] : null;
	}

	/** Our OAuth state table (found by name, as the brief says: SHOW TABLES LIKE '%kc_meet%'). */
	protected function stateTable(): string {
		$tables = Db::tables($this->db, '%kc\_meet%');
		$states = array_values(array_filter($tables, static fn($t) => stripos($t, 'state') !== false));
		$this->assertCount(1, $states, 'exactly one kc_meet table holds OAuth states; kc_meet tables: ' . implode(', ', $tables));
		return $states[0];
	}

	/** Asserts that no Google secret the emulator issued is stored anywhere in the test database. */
	protected function assertNoGoogleSecretsInDatabase(): void {
		$dump = Db::dump($this->db);
		$this->assertStringNotContainsString('ya29.', $dump, 'an access token is stored in clear in the database');
		$this->assertStringNotContainsString('1//', $dump, 'a refresh token is stored in clear in the database');
		$this->assertStringNotContainsString('4/0', $dump, 'an authorization code is stored in the database');
	}

	// ------------------------------------------------------------------ plugin set-up helpers

	/** The redirect URI the plugin reports (KC_Meet_Config::redirect_uri()) and rest_url() of the callback route. */
	protected function redirectUris(): array {
		return $this->wpOk("return ['plugin' => KC_Meet_Config::redirect_uri(), 'rest_url' => rest_url('kc-meet/v1/oauth/callback')];");
	}

	/**
	 * Registers the OAuth client in the emulator (redirect URI as the plugin reports it) and stores client
	 * id/secret in the add-on's settings option through WordPress (update_option), enabled.
	 */
	protected function configureOAuth(): string {
		$uri = $this->redirectUris()['plugin'];
		$this->emu()->registerClient(self::CLIENT_ID, self::CLIENT_SECRET, [$uri]);
		$this->wpOk('
			$s = get_option("kiviCare_google_meet_setting", []);
			$s = is_array($s) ? $s : [];
			$s["client_id"] = $args["id"];
			$s["client_secret"] = $args["secret"];
			$s["enabled"] = true;
			$s["enableCal"] = "Yes";
			$s["auth_type"] = "oauth";
			update_option("kiviCare_google_meet_setting", $s);
			return get_option("kiviCare_google_meet_setting");', ['id' => self::CLIENT_ID, 'secret' => self::CLIENT_SECRET]);
		return $uri;
	}

	/**
	 * Connects a doctor end to end without a browser: kc_meet_auth_url() in WordPress, consent in the
	 * emulator, then the plugin's callback over HTTP. Returns the final response of the callback.
	 */
	protected function connectDoctor(string $who, ?string $email = null): Response {
		$doctor = $this->id($who);
		$authUrl = $this->wpOk('return kc_meet_auth_url((int) $args["d"], (int) $args["d"]);', ['d' => $doctor]);
		$consent = $this->emu()->authorize($authUrl, 'allow', $email ?? ($who === 'doctor' ? self::GOOGLE_EMAIL : $this->users[$who]['login'] . '@example.com'));
		$this->assertSame(200, $consent['_status'], 'emulator consent: ' . json_encode($consent));
		// The callback must come back in the browser of the user who started the connection.
		return $this->loggedIn($who)->get($consent['redirect']);
	}

	// ------------------------------------------------------------------ HTTP flows

	public const GOOGLE_EMAIL = 'doctor@example.com';

	/** Opens the settings page as an admin client and returns [response, Html]. */
	protected function settingsPage(Http $admin): array {
		$r = $admin->get('/wp-admin/options-general.php?page=kc-meet');
		$this->assertSame(200, $r->status, $r->describe());
		return [$r, new Html($r->body)];
	}

	/** Saves client id/secret through the settings form (#kc-meet-settings-form) like a browser. */
	protected function saveCredentialsThroughForm(Http $admin, string $clientId, string $secret): Response {
		[$page, $html] = $this->settingsPage($admin);
		$form = $html->byId('kc-meet-settings-form');
		$this->assertNotNull($form, 'settings form #kc-meet-settings-form');
		$f = $html->form($form, $page->url);
		$idName = $html->byId('kc-meet-client-id')->getAttribute('name');
		$secretName = $html->byId('kc-meet-client-secret')->getAttribute('name');
		$f['fields'][$idName] = $clientId;
		$f['fields'][$secretName] = $secret;
		return $admin->request($f['method'], $f['action'], Html::encode($f['fields']));
	}

	/**
	 * The whole connect flow over HTTP: the admin reads the redirect URI on the settings page, the OAuth
	 * client is registered in the emulator with it, the admin saves client id/secret through the form;
	 * the doctor logs in, opens the profile, follows "Connect Google Calendar" (admin-post + nonce) to the
	 * emulator, consents (decision), and the browser follows the redirect to our callback.
	 *
	 * @return array{doctor: Http, start: Response, auth_url: string, consent: array, callback: ?Response, redirect_uri: string}
	 */
	protected function connectThroughProfile(string $who = 'doctor', string $decision = 'allow', ?string $googleEmail = null): array {
		$admin = $this->loggedIn('admin');
		[, $html] = $this->settingsPage($admin);
		$redirectUri = $html->byId('kc-meet-redirect-uri')->getAttribute('value');
		$this->emu()->registerClient(self::CLIENT_ID, self::CLIENT_SECRET, [$redirectUri]);
		$saved = $this->saveCredentialsThroughForm($admin, self::CLIENT_ID, self::CLIENT_SECRET);
		$this->assertSame(302, $saved->status, 'saving the settings: ' . $saved->describe());

		$doctor = $this->loggedIn($who);
		$profile = $doctor->get('/wp-admin/profile.php');
		$this->assertSame(200, $profile->status, $profile->describe());
		$link = (new Html($profile->body))->byId('kc-meet-connect');
		$this->assertNotNull($link, 'profile shows #kc-meet-connect');
		$start = $doctor->get(html_entity_decode($link->getAttribute('href')));
		$this->assertSame(302, $start->status, 'connect start: ' . $start->describe());
		$authUrl = $start->location();
		$this->assertStringStartsWith($this->emu()->base() . '/o/oauth2/v2/auth?', $authUrl, 'connect start redirects to the Google authorization endpoint');
		$consent = $this->emu()->authorize($authUrl, $decision, $googleEmail ?? self::GOOGLE_EMAIL);
		$this->assertSame(200, $consent['_status'], 'emulator consent: ' . json_encode($consent));
		$callback = $doctor->get($consent['redirect']);
		return ['doctor' => $doctor, 'start' => $start, 'auth_url' => $authUrl, 'consent' => $consent, 'callback' => $callback, 'redirect_uri' => $redirectUri];
	}

	/** Query parameters of a URL. */
	protected static function query(string $url): array {
		parse_str((string) parse_url($url, PHP_URL_QUERY), $q);
		return $q;
	}

	/** Replaces (or adds) query parameters of a URL. */
	protected static function withQuery(string $url, array $params): string {
		$q = array_merge(self::query($url), $params);
		$base = strtok($url, '?');
		return $base . '?' . http_build_query($q, '', '&', PHP_QUERY_RFC3986);
	}

	/** A REST nonce (wp_rest) for a logged-in client, from admin-ajax.php?action=rest-nonce like wp-admin does. */
	protected function restNonce(Http $h): string {
		$r = $h->get('/wp-admin/admin-ajax.php?action=rest-nonce');
		$this->assertSame(200, $r->status, $r->describe());
		$this->assertMatchesRegularExpression('/^[0-9a-f]{10}$/', trim($r->body));
		return trim($r->body);
	}

	/**
	 * A nonce of $action as WordPress would make it for the user logged in on $h (same session token):
	 * lets a test send a correctly-signed request the UI would never offer that user.
	 */
	protected function nonceFor(Http $h, string $who, string $action): string {
		$cookies = $h->cookies();
		$loggedIn = null;
		foreach ($cookies as $name => $value) {
			if (strpos($name, 'wordpress_logged_in_') === 0) {
				$loggedIn = [$name, urldecode($value)];
			}
		}
		$this->assertNotNull($loggedIn, 'client is logged in');
		return $this->wpOk('$_COOKIE[$args["name"]] = $args["value"]; wp_set_current_user((int) $args["user"]); return wp_create_nonce($args["action"]);',
			['name' => $loggedIn[0], 'value' => $loggedIn[1], 'user' => $this->id($who), 'action' => $action]);
	}

	/** Emulator requests that reached Google endpoints since $before (count of the log then). */
	protected function requestsSince(int $before): array {
		return array_slice($this->emu()->requests(), $before);
	}
}
