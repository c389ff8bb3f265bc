<?php
namespace KcMeetTest;

/**
 * 15. KiviCare 4.3's own screens call the routes of the vendor's 4.x REST controller
 *     (KCGMGoogleMeetController) under kivicare/v1, with its methods and its answer shape
 *     {status, message, data}; and the vendor's OAuth redirect URI keeps working under kc-meet's
 *     state and PKCE rules, so a site that swapped the add-on needs no change in Google Cloud.
 */
final class KiviCare4RestRoutesTest extends WpTestCase {
	use KiviCareFixtures;

	private function rest(Http $h): Http {
		$h->extraHeaders['X-KC-Core'] = '4';
		$h->extraHeaders['X-WP-Nonce'] = $this->restNonce($h);
		return $h;
	}

	private function vendorUri(): string {
		return $this->wpOk('return KC_Meet_Config::redirect_uris()["kivicare"];');
	}

	public function test_get_settings_answers_the_vendor_shape_with_template_config_and_redirection_url(): void {
		$this->configureOAuth();
		$this->wpOk('wp_insert_post(["post_type" => "kivicare_gmeet_tmp", "post_name" => "kivicare_doctor_gm_event_template", "post_status" => "publish", "post_title" => "{{service_name}} with {{patient_name}}", "post_content" => "Body"]);');
		$r = $this->rest($this->loggedIn('admin'))->get('/wp-json/kivicare/v1/settings/googlemeet');
		$this->assertSame(200, $r->status, $r->describe());
		$j = $r->json();
		$this->assertTrue($j['status']);
		$this->assertArrayHasKey('message', $j);
		$this->assertSame('{{service_name}} with {{patient_name}}', $j['data']['data']['post_title']);
		$this->assertSame(self::CLIENT_ID, $j['data']['config']['data']['client_id']);
		$this->assertSame('', $j['data']['config']['data']['client_secret']);
		$this->assertSame('Yes', $j['data']['config']['data']['enableCal']);
		$this->assertSame($this->redirectUris()['plugin'], $j['data']['redirection_url']);
		$this->assertStringNotContainsString(self::CLIENT_SECRET, $r->body);
	}

	public function test_put_settings_saves_config_and_event_template_and_keeps_the_secret_when_empty(): void {
		$this->configureOAuth();
		$h = $this->rest($this->loggedIn('admin'));
		$r = $h->json('PUT', '/wp-json/kivicare/v1/settings/googlemeet', [
			'google_meet_config'         => ['client_id' => 'other.apps.googleusercontent.com', 'client_secret' => '', 'app_name' => 'Clinic', 'enableCal' => 'Yes'],
			'google_meet_event_template' => ['post_title' => 'Video: {{service_name}}', 'post_content' => 'With {{doctor_name}}'],
		]);
		$this->assertSame(200, $r->status, $r->describe());
		$j = $r->json();
		$this->assertTrue($j['status'], $r->body);
		$this->assertTrue($j['data']['google_meet_config']['status']);
		$this->assertTrue($j['data']['google_meet_event_template']['status'], $r->body);
		$saved = $this->wpOk('return get_option("kiviCare_google_meet_setting");');
		$this->assertSame('other.apps.googleusercontent.com', $saved['client_id']);
		$this->assertSame(self::CLIENT_SECRET, $saved['client_secret'], 'empty secret keeps the stored one');
		$this->assertSame('Video: {{service_name}}', Db::value($this->db, "SELECT post_title FROM wp_posts WHERE post_type = 'kivicare_gmeet_tmp'"));
		$this->assertSame('Video: {{service_name}}', $h->get('/wp-json/kivicare/v1/settings/googlemeet')->json()['data']['data']['post_title']);
	}

	public function test_doctor_config_get_answers_the_vendor_keys_and_put_validates_auth_type(): void {
		$this->configureOAuth();
		$h = $this->rest($this->loggedIn('doctor'));
		$before = $h->get('/wp-json/kivicare/v1/settings/googlemeet/doctor-config');
		$this->assertSame(200, $before->status, $before->describe());
		$d = $before->json()['data'];
		$this->assertSame(['oauth', false, 'not_connected', false], [$d['auth_type'], $d['is_connected'], $d['connection_status'], $d['is_zoom_connected']]);
		$this->connectDoctor('doctor');
		$after = $h->get('/wp-json/kivicare/v1/settings/googlemeet/doctor-config')->json()['data'];
		$this->assertSame([true, 'connected'], [$after['is_connected'], $after['connection_status']]);
		$this->assertSame(200, $h->json('PUT', '/wp-json/kivicare/v1/settings/googlemeet/doctor-config', ['auth_type' => 'oauth'])->status);
		$this->assertSame(400, $h->json('PUT', '/wp-json/kivicare/v1/settings/googlemeet/doctor-config', ['auth_type' => 'password'])->status);
	}

	public function test_get_authorize_and_get_disconnect_work_like_the_vendors(): void {
		$uri = $this->configureOAuth();
		$h = $this->rest($this->loggedIn('doctor'));
		$r = $h->get('/wp-json/kivicare/v1/settings/googlemeet/authorize');
		$this->assertSame(200, $r->status, $r->describe());
		$url = $r->json()['data']['redirect_url'];
		$this->assertStringStartsWith($this->emu()->base() . '/o/oauth2/v2/auth?', $url);
		$this->assertSame($uri, self::query($url)['redirect_uri']);
		$consent = $this->emu()->authorize($url, 'allow', self::GOOGLE_EMAIL);
		$cb = $h->get($consent['redirect']);
		$this->assertSame('connected', self::query((string) $cb->location())['kc_meet_result'] ?? null, $cb->describe());

		$off = $h->get('/wp-json/kivicare/v1/settings/googlemeet/disconnect');
		$this->assertSame(200, $off->status, $off->describe());
		$this->assertTrue($off->json()['status']);
		$this->assertSame('off', $this->metaValue($this->id('doctor'), 'kiviCare_google_meet_connect'));
		$this->assertCount(1, $this->emu()->requestsTo('/revoke'));
	}

	public function test_put_test_connection_asks_google_and_answers_500_when_not_connected(): void {
		$this->configureOAuth();
		$h = $this->rest($this->loggedIn('doctor'));
		$no = $h->json('PUT', '/wp-json/kivicare/v1/settings/googlemeet/test-connection', ['auth_type' => 'oauth', 'client_id' => '', 'client_secret' => '']);
		$this->assertSame(500, $no->status, $no->describe());
		$this->assertFalse($no->json()['status']);
		$this->assertNotSame('', $no->json()['data']['error']);
		$this->connectDoctor('doctor');
		$yes = $h->json('PUT', '/wp-json/kivicare/v1/settings/googlemeet/test-connection', ['auth_type' => 'oauth', 'client_id' => '', 'client_secret' => '']);
		$this->assertSame(200, $yes->status, $yes->describe());
		$this->assertTrue($yes->json()['data']['success']);
	}

	public function test_a_client_registered_for_the_vendor_redirect_uri_connects_through_the_vendor_callback(): void {
		$vendor = $this->vendorUri();
		// A site coming from the vendor's 4.x add-on: its option names the vendor's callback, and the
		// Google client knows only that one.
		$this->emu()->registerClient(self::CLIENT_ID, self::CLIENT_SECRET, [$vendor]);
		$this->wpOk('update_option("kiviCare_google_meet_setting", ["enabled" => true, "client_id" => $args["id"], "client_secret" => $args["secret"], "auth_type" => "oauth", "redirect_uri" => $args["uri"], "default_settings" => []]);',
			['id' => self::CLIENT_ID, 'secret' => self::CLIENT_SECRET, 'uri' => $vendor]);
		$d = $this->id('doctor');
		$this->wpOk('update_user_meta($args["d"], "kiviCare_zoom_telemed_connect", "on"); update_user_meta($args["d"], "telemed_type", "zoom");
			update_user_meta($args["d"], "zoom_server_to_server_oauth_config_data", wp_json_encode(["enableServerToServerOauthconfig" => "true", "account_id" => "a"]));', ['d' => $d]);

		$h = $this->rest($this->loggedIn('doctor'));
		$url = $h->get('/wp-json/kivicare/v1/settings/googlemeet/authorize')->json()['data']['redirect_url'];
		$this->assertSame($vendor, self::query($url)['redirect_uri']);
		$this->assertStringContainsString('.', self::query($url)['state'], 'kc-meet\'s state, not a doctor id');
		$this->assertSame('S256', self::query($url)['code_challenge_method']);
		$consent = $this->emu()->authorize($url, 'allow', self::GOOGLE_EMAIL);
		$this->assertSame(200, $consent['_status'], json_encode($consent));
		$this->assertStringStartsWith($vendor . '?', $consent['redirect']);
		$cb = $h->get($consent['redirect']);
		$this->assertSame('connected', self::query((string) $cb->location())['kc_meet_result'] ?? null, $cb->describe());
		$this->assertSame('on', $this->metaValue($d, 'kiviCare_google_meet_connect'));
		$token = $this->emu()->requestsTo('/token');
		$this->assertCount(1, $token);
		// Google makes it its own Meet provider, Zoom's connection off (like the vendor's callback).
		$this->assertSame('googlemeet', $this->metaValue($d, 'telemed_type'));
		$this->assertSame('off', $this->metaValue($d, 'kiviCare_zoom_telemed_connect'));
		$this->assertSame('false', json_decode((string) $this->metaValue($d, 'zoom_server_to_server_oauth_config_data'), true)['enableServerToServerOauthconfig']);
	}

	public function test_the_vendor_callback_is_public_in_4_3_and_refuses_the_vendors_doctor_id_state(): void {
		$this->configureOAuth();
		$encryption = $this->wpOk('$routes = rest_get_server()->get_routes(); $r = $routes["/kivicare/v1/settings/googlemeet/callback"][0] ?? null; return $r ? ($r["encryption"] ?? "missing") : "no route";');
		$this->assertFalse($encryption, 'the route sets encryption => false (4.3 answers anonymous kivicare/v1 requests 401 otherwise)');
		$d = $this->id('doctor');
		$cb = $this->http()->get('/wp-json/kivicare/v1/settings/googlemeet/callback?code=4/0-forged-code&state=' . $d);
		$this->assertSame(302, $cb->status, $cb->describe());
		$q = self::query((string) $cb->location());
		$this->assertSame(['error', '4002'], [$q['kc_meet_result'] ?? null, $q['kc_meet_code'] ?? null], (string) $cb->location());
		$this->assertSame([], $this->emu()->requestsTo('/token'), 'the forged code never reached Google');
		$this->assertNull($this->metaValue($d, 'google_meet_access_token'));
	}

	public function test_settings_page_lists_the_redirect_uris_and_warns_when_the_client_was_made_for_another(): void {
		$this->configureOAuth();
		$admin = $this->loggedIn('admin');
		[, $html] = $this->settingsPage($admin);
		$items = $html->all('.//li', $html->byId('kc-meet-redirect-uris'));
		$this->assertCount(2, $items);
		$this->assertStringContainsString($this->redirectUris()['plugin'], Html::text($items[0]));
		$this->assertStringContainsString($this->vendorUri(), Html::text($items[1]));
		$this->assertNull($html->byId('kc-meet-redirect-mismatch'));

		$this->wpOk('$s = get_option("kiviCare_google_meet_setting"); $s["redirect_uri"] = "https://old-clinic.example/wp-json/kivicare/v1/settings/googlemeet/callback"; update_option("kiviCare_google_meet_setting", $s);');
		[, $warned] = $this->settingsPage($admin);
		$warning = $warned->byId('kc-meet-redirect-mismatch');
		$this->assertNotNull($warning);
		$this->assertStringContainsString('https://old-clinic.example/', Html::text($warning));
		$this->assertSame($this->redirectUris()['plugin'], $warned->byId('kc-meet-redirect-uri')->getAttribute('value'), 'an unserved URI is never sent to Google');
	}
}
