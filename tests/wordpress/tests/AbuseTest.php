<?php
namespace KcMeetTest;

/**
 * Abuse over HTTP, against the real WordPress with the plugin: admin actions without nonce or
 * capability, KiviCare's REST routes called by the wrong user, a patient trying to connect a
 * doctor, forged, replayed, oversized and malformed OAuth callbacks and push messages. Each gets
 * a clear refusal (403 / 400 / 404, or the callback's error redirect), nothing changes in the
 * database, Google hears nothing, and the site keeps serving.
 */
final class AbuseTest extends WpTestCase {
	private const SQL = "1' OR '1'='1'; DROP TABLE wp_users; -- ";

	/**
	 * Every table's checksum, except what WordPress itself writes on any request (cron and
	 * transients in wp_options, login sessions in wp_usermeta) and our audit trail (it may note a
	 * refusal).
	 */
	private function snapshot(): array {
		$out = [];
		foreach (Db::tables($this->db) as $t) {
			if (preg_match('/_(audit|usermeta|options)$/', $t) === 1) {
				continue;
			}
			$out[$t] = Db::query($this->db, "CHECKSUM TABLE `$t`")[0]['Checksum'];
		}
		$out['options'] = Db::value($this->db, "SELECT MD5(GROUP_CONCAT(option_name, '=', option_value ORDER BY option_name)) FROM wp_options
			WHERE option_name NOT LIKE '%transient%' AND option_name NOT IN ('cron', 'doing_cron')");
		$out['doctor meta'] = json_encode(array_diff_key($this->meta($this->id('doctor')), ['session_tokens' => 1]));
		return $out;
	}

	private function adminPost(string $action, array $fields): string {
		return '/wp-admin/admin-post.php?' . http_build_query(['action' => $action] + $fields);
	}

	private function assertSiteStillServes(): void {
		$r = $this->http()->get('/wp-login.php');
		$this->assertSame(200, $r->status, 'WordPress keeps serving: ' . $r->describe());
	}

	public function test_admin_actions_without_a_nonce_or_the_capability_are_refused_and_change_nothing(): void {
		$this->configureOAuth();
		$before = $this->snapshot();
		$setting = Db::option($this->db, 'kiviCare_google_meet_setting');
		$admin = $this->loggedIn('admin');
		$doctor = $this->loggedIn('doctor');
		$patient = $this->loggedIn('patient');
		// The settings form posts to WordPress's options.php: SettingsTest covers it.
		$cases = [
			'clear errors, doctor, signed nonce' => [$doctor, 'kc_meet_clear_errors', [], ['doctor', 'kc_meet_clear_errors']],
			'retry job, patient, signed nonce' => [$patient, 'kc_meet_retry_job', ['job_id' => 1], ['patient', 'kc_meet_retry_job_1']],
			'dismiss flag, doctor, signed nonce' => [$doctor, 'kc_meet_dismiss_flag', ['appointment_id' => 1], ['doctor', 'kc_meet_dismiss_flag_1']],
			'retry job, admin, no nonce' => [$admin, 'kc_meet_retry_job', ['job_id' => 1], null],
		];
		foreach ($cases as $label => [$h, $action, $fields, $sign]) {
			if ($sign !== null) {
				// Correctly signed for that user's session: only the capability check can stop it.
				$fields['_wpnonce'] = $this->nonceFor($h, $sign[0], $sign[1]);
			}
			$r = $h->post($this->adminPost($action, []), $fields);
			$this->assertContains($r->status, [400, 403], "$label: " . $r->describe());
			$this->assertNull($r->location(), "$label: no redirect to a success page");
		}
		$this->assertSame($setting, Db::option($this->db, 'kiviCare_google_meet_setting'), 'the OAuth client is unchanged');
		$this->assertSame($before, $this->snapshot());
		$this->assertSiteStillServes();
	}

	public function test_kivicare_rest_routes_refuse_patients_and_other_doctors(): void {
		$this->configureOAuth();
		$cb = $this->connectDoctor('doctor');
		$this->assertSame('connected', self::query((string) $cb->location())['kc_meet_result'] ?? null, $cb->describe());
		$this->emu()->clearRequests();
		$before = $this->snapshot();
		$doctor = $this->id('doctor');
		foreach (['patient', 'doctor2'] as $who) {
			$h = $this->loggedIn($who);
			$nonce = ['X-WP-Nonce' => $this->restNonce($h), 'Content-Type' => 'application/json'];
			$calls = [
				'PUT settings' => ['PUT', '/wp-json/kivicare/v1/settings/googlemeet', json_encode(['google_meet_config' => ['client_id' => 'attacker', 'client_secret' => 'attacker']])],
				'authorize another doctor' => ['POST', '/wp-json/kivicare/v1/settings/googlemeet/authorize', json_encode(['doctor_id' => $doctor, 'code' => 'attacker-code'])],
				'disconnect another doctor' => ['POST', '/wp-json/kivicare/v1/settings/googlemeet/disconnect', json_encode(['doctor_id' => $doctor])],
				'read another doctor' => ['GET', '/wp-json/kivicare/v1/settings/googlemeet/doctor-config?doctor_id=' . $doctor, null],
			];
			foreach ($calls as $label => [$method, $url, $body]) {
				$r = $h->request($method, $url, $body, $nonce);
				$this->assertContains($r->status, [401, 403], "$who, $label: " . $r->describe());
				$this->assertStringNotContainsString(self::CLIENT_SECRET, $r->body, "$who, $label: the client secret is not shown");
			}
		}
		$this->assertSame($before, $this->snapshot());
		$this->assertSame([], $this->emu()->requests(), 'nothing reached Google');
		$this->assertSame('on', $this->metaValue($doctor, 'kiviCare_google_meet_connect'), 'the doctor stays connected');
		$this->assertSiteStillServes();
	}

	public function test_a_patient_cannot_complete_a_doctors_connect_with_their_own_google_account(): void {
		// The doctor starts connecting; the redirect back (code + state) lands in the patient's
		// browser (a shared link, a phishing page): the state is bound to the doctor who started it.
		$this->configureOAuth();
		$doctor = $this->loggedIn('doctor');
		$link = (new Html($doctor->get('/wp-admin/profile.php')->body))->byId('kc-meet-connect');
		$start = $doctor->get(html_entity_decode($link->getAttribute('href')));
		$this->assertSame(302, $start->status, $start->describe());
		$consent = $this->emu()->authorize($start->location(), 'allow', 'patient.own.account@example.com');
		$this->assertSame(200, $consent['_status'], json_encode($consent));
		$r = $this->loggedIn('patient')->get($consent['redirect']);
		$this->assertSame(302, $r->status, $r->describe());
		$this->assertSame('error', self::query((string) $r->location())['kc_meet_result'] ?? null, 'refused: ' . $r->location());
		$this->assertNull($this->metaValue($this->id('doctor'), 'google_meet_access_token'), "the patient's Google account is not the doctor's");
		$this->assertNotSame('on', $this->metaValue($this->id('doctor'), 'kiviCare_google_meet_connect'));
		$this->assertSame([], $this->emu()->requestsTo('/token'), 'the code was never exchanged');
	}

	public function test_oversized_malformed_and_forged_oauth_callbacks_are_refused_and_store_nothing(): void {
		$this->configureOAuth();
		$doctor = $this->id('doctor');
		$this->emu()->clearRequests();
		$before = $this->snapshot();
		// As long as the test bed's php -S takes (a real server answers 414 beyond its limit).
		$big = str_repeat('A', 3 * 1024);
		$callbacks = [
			'3 KB code and state' => ['code' => $big, 'state' => "$doctor.$big"],
			'invalid UTF-8' => ['code' => "\xff\xfe", 'state' => "$doctor.\xff\xfe\xfd"],
			'SQL state' => ['code' => self::SQL, 'state' => $doctor . '.' . self::SQL],
			'SQL doctor id' => ['code' => 'x', 'state' => self::SQL],
			'array parameters' => ['code' => ['a', 'b'], 'state' => ['x' => 'y']],
			'negative doctor' => ['code' => 'x', 'state' => '-5.abcdef'],
			'huge doctor' => ['code' => 'x', 'state' => '99999999999999999999999.abcdef'],
			'error with a 3 KB description' => ['error' => 'access_denied', 'error_description' => $big, 'state' => "$doctor.x"],
		];
		foreach ($callbacks as $label => $q) {
			$r = $this->http()->get('/wp-json/kc-meet/v1/oauth/callback?' . http_build_query($q));
			$this->assertContains($r->status, [302, 400, 414], "$label: " . $r->describe());
			if ($r->status === 302) {
				$result = self::query((string) $r->location())['kc_meet_result'] ?? null;
				$this->assertContains($result, ['error', 'denied'], "$label: " . $r->location());
				$this->assertLessThan(2048, strlen((string) $r->location()), "$label: the redirect does not carry the input along");
			}
			$this->assertStringNotContainsString('Fatal error', $r->body, $label);
		}
		$this->assertSame([], $this->emu()->requestsTo('/token'), 'no forged code reached the token endpoint');
		$this->assertSame($before, $this->snapshot());
		$this->assertSiteStillServes();
	}

	public function test_oversized_malformed_and_forged_push_messages_are_refused_and_change_nothing(): void {
		$this->configureOAuth();
		$cb = $this->connectDoctor('doctor');
		$this->assertSame('connected', self::query((string) $cb->location())['kc_meet_result'] ?? null, $cb->describe());
		$this->emu()->clearRequests();
		$before = $this->snapshot();
		$big = str_repeat('B', 2 * 1024);
		$messages = [
			'2 KB headers' => [['X-Goog-Channel-ID' => $big, 'X-Goog-Channel-Token' => $big, 'X-Goog-Resource-ID' => $big, 'X-Goog-Resource-State' => 'exists', 'X-Goog-Message-Number' => '2'], ''],
			'SQL headers' => [['X-Goog-Channel-ID' => self::SQL, 'X-Goog-Channel-Token' => self::SQL, 'X-Goog-Resource-ID' => self::SQL, 'X-Goog-Resource-State' => self::SQL, 'X-Goog-Message-Number' => self::SQL], ''],
			'invalid UTF-8 headers' => [['X-Goog-Channel-ID' => "\xff\xfe", 'X-Goog-Channel-Token' => "\xc3\x28", 'X-Goog-Resource-State' => 'exists'], ''],
			'a 1 MB body' => [['X-Goog-Channel-ID' => 'kcm-no-such-channel', 'X-Goog-Resource-State' => 'exists', 'Content-Type' => 'application/json'], json_encode(['x' => str_repeat('C', 1 << 20)])],
			'a huge message number' => [['X-Goog-Channel-ID' => 'kcm-no-such-channel', 'X-Goog-Resource-State' => 'exists', 'X-Goog-Message-Number' => '99999999999999999999999999'], ''],
		];
		foreach ($messages as $label => [$headers, $body]) {
			$r = $this->http()->post('/wp-json/kc-meet/v1/notify', $body, $headers);
			$this->assertGreaterThanOrEqual(400, $r->status, "$label: " . $r->describe());
			$this->assertLessThan(500, $r->status, "$label: refused, not a server error: " . $r->describe());
		}
		$r = $this->http()->get('/wp-json/kc-meet/v1/notify');
		$this->assertContains($r->status, [404, 405], 'GET is not a push: ' . $r->describe());
		$this->assertSame([], $this->emu()->requests(), 'a forged push makes no Google call');
		$this->assertSame($before, $this->snapshot());
		$this->assertSiteStillServes();
	}
}
