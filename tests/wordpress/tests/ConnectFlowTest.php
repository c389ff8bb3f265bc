<?php
namespace KcMeetTest;

/**
 * 1. The whole connect flow through WordPress over HTTP: settings page → emulator client → profile →
 *    admin-post connect → Google consent (emulator) → our REST callback → back on the profile.
 */
final class ConnectFlowTest extends WpTestCase {
	public function test_settings_page_reports_the_rest_callback_as_redirect_uri(): void {
		[, $html] = $this->settingsPage($this->loggedIn('admin'));
		$shown = $html->byId('kc-meet-redirect-uri')->getAttribute('value');
		$this->assertSame($this->wpOk("return rest_url('kc-meet/v1/oauth/callback');"), $shown);
		$this->assertSame(Env::wpUrl() . '/wp-json/kc-meet/v1/oauth/callback', $shown);
	}

	public function test_admin_saves_client_credentials_through_the_settings_form(): void {
		$r = $this->saveCredentialsThroughForm($this->loggedIn('admin'), self::CLIENT_ID, self::CLIENT_SECRET);
		$this->assertSame(302, $r->status, $r->describe());
		$saved = $this->wpOk('return get_option("kiviCare_google_meet_setting");');
		$this->assertSame(self::CLIENT_ID, $saved['client_id']);
		$this->assertSame(self::CLIENT_SECRET, $saved['client_secret']);
	}

	public function test_connect_start_sends_the_doctor_to_google_with_our_redirect_uri_and_a_doctor_bound_state(): void {
		$flow = $this->connectThroughProfile();
		$q = self::query($flow['auth_url']);
		$this->assertSame(self::CLIENT_ID, $q['client_id']);
		$this->assertSame($flow['redirect_uri'], $q['redirect_uri']);
		$this->assertSame('code', $q['response_type']);
		$this->assertStringContainsString(self::CALENDAR_SCOPE, $q['scope']);
		$this->assertSame($this->id('doctor'), (int) strtok($q['state'], '.'), 'state starts with the doctor id');
		$this->assertGreaterThanOrEqual(16, strlen(substr($q['state'], strpos($q['state'], '.') + 1)), 'state carries a random part');
	}

	public function test_callback_redirects_back_to_the_profile_with_the_connected_result(): void {
		$flow = $this->connectThroughProfile();
		$cb = $flow['callback'];
		$this->assertSame(302, $cb->status, $cb->describe());
		$loc = $cb->location();
		$this->assertStringStartsWith(Env::wpUrl() . '/wp-admin/profile.php', $loc);
		$this->assertSame('connected', self::query($loc)['kc_meet_result'] ?? null);
	}

	public function test_profile_shows_connected_as_the_google_account_after_the_flow(): void {
		$flow = $this->connectThroughProfile();
		$page = $flow['doctor']->get($flow['callback']->location());
		$this->assertSame(200, $page->status, $page->describe());
		$html = new Html($page->body);
		$status = $html->byId('kc-meet-status');
		$this->assertNotNull($status);
		$this->assertSame('connected', $status->getAttribute('data-status'));
		$this->assertStringContainsString('Connected as ' . self::GOOGLE_EMAIL, Html::text($status));
		$this->assertNotNull($html->byId('kc-meet-disconnect'), 'a connected profile offers Disconnect');
	}

	public function test_connect_flow_writes_the_kivicare_doctor_meta(): void {
		$this->connectThroughProfile();
		$d = $this->id('doctor');
		$this->assertSame('on', $this->metaValue($d, 'kiviCare_google_meet_connect'));
		$this->assertSame('googlemeet', $this->metaValue($d, 'telemed_type'));
		$this->assertSame('primary', $this->metaValue($d, 'kiviCare_doctor_meet_id'));
		$token = $this->metaValue($d, 'google_meet_access_token');
		$this->assertNotNull($token, 'google_meet_access_token meta exists');
		$this->assertNotSame('', $token);
	}

	public function test_connect_flow_exchanges_the_code_once_with_pkce_and_the_client_secret(): void {
		$this->connectThroughProfile();
		$tokens = $this->emu()->requestsTo('/token');
		$this->assertCount(1, $tokens, 'one token request: ' . json_encode($tokens));
		$this->assertSame('authorization_code', $tokens[0]['grant_type']);
		$this->assertContains('code_verifier', $tokens[0]['form_keys'], 'PKCE verifier sent');
		$this->assertNotNull($tokens[0]['client_auth'], 'client authenticated');
	}

	public function test_connect_flow_stores_no_google_token_in_clear_anywhere_in_the_database(): void {
		$this->connectThroughProfile();
		$d = $this->id('doctor');
		$token = (string) $this->metaValue($d, 'google_meet_access_token');
		$this->assertStringNotContainsString('ya29.', $token);
		$this->assertStringNotContainsString('1//', $token);
		$this->assertNoGoogleSecretsInDatabase();
	}

	public function test_connect_flow_stores_no_client_secret_or_token_in_the_php_logs(): void {
		$this->connectThroughProfile();
		foreach (['wp-debug.log', 'php-server.log'] as $f) {
			$log = (string) @file_get_contents(Env::get('KC_MEET_WP_LOG_DIR') . '/' . $f);
			$this->assertStringNotContainsString('ya29.', $log, "$f holds an access token");
			$this->assertStringNotContainsString('1//', $log, "$f holds a refresh token");
			$this->assertStringNotContainsString(self::CLIENT_SECRET, $log, "$f holds the client secret");
		}
	}
}
