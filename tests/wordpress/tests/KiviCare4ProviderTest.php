<?php
namespace KcMeetTest;

/**
 * 8. KiviCare 4.x: the provider object on kc_telemed_providers (with the stand-in of core's abstract
 *    class loaded first, as core is) and the kivicare/v1 settings routes core 4.3's screens call.
 */
final class KiviCare4ProviderTest extends WpTestCase {
	private function provider(string $code, array $args = []) {
		return $this->wpOk([
			'kc_core' => '4',
			'code'    => '$p = \KcMeetTestBed\KCTelemedFactoryStandIn::create("googlemeet");
				if (!$p) { throw new RuntimeException("googlemeet provider not registered"); }
				' . $code,
			'args'    => $args,
		]);
	}

	private function rest(Http $h): Http {
		$h->extraHeaders['X-KC-Core'] = '4';
		$h->extraHeaders['X-WP-Nonce'] = $this->restNonce($h);
		return $h;
	}

	public function test_provider_is_registered_on_kc_telemed_providers_like_core_expects(): void {
		$r = $this->wpOk(['kc_core' => '4', 'code' => '
			$all = apply_filters("kc_telemed_providers", []);
			$g = $all["googlemeet"] ?? null;
			$obj = $g ? new $g["class"]($g["settings_key"]) : null;
			return ["entry" => $g, "is_provider" => $obj instanceof \App\abstracts\KCAbstractTelemedProvider,
				"id" => $obj ? $obj->get_provider_id() : null, "addon" => defined("KIVICARE_GOOGLE_MEET_ADDON_VERSION") ? KIVICARE_GOOGLE_MEET_ADDON_VERSION : null];']);
		$this->assertNotNull($r['entry'], 'googlemeet registered');
		$this->assertSame('kiviCare_google_meet_setting', $r['entry']['settings_key']);
		$this->assertNotEmpty($r['entry']['name']);
		$this->assertTrue($r['is_provider'], 'the class extends App\abstracts\KCAbstractTelemedProvider');
		$this->assertSame('googlemeet', $r['id']);
		$this->assertTrue(version_compare((string) $r['addon'], '4.0.0', '>='), 'KIVICARE_GOOGLE_MEET_ADDON_VERSION >= 4.0.0');
	}

	public function test_provider_declares_exactly_the_methods_its_compatibility_check_assumes(): void {
		// KC_Meet_KiviCare4::PROVIDER_METHODS describes the provider's methods for the check run
		// against core's abstract class before the provider file is loaded: it must match the file.
		$r = $this->provider('$declared = [];
			foreach ((new ReflectionClass(\KC_Meet_KiviCare4::PROVIDER_CLASS))->getMethods() as $m) {
				if ($m->getDeclaringClass()->getName() !== \KC_Meet_KiviCare4::PROVIDER_CLASS || $m->isPrivate() || $m->isStatic()) {
					continue;
				}
				$declared[$m->getName()] = [$m->hasReturnType() ? (string) $m->getReturnType() : "", $m->getNumberOfParameters(), $m->getNumberOfRequiredParameters(), $m->isPublic()];
			}
			$listed = [];
			foreach (\KC_Meet_KiviCare4::PROVIDER_METHODS as $name => $spec) {
				$listed[$name] = array_merge($spec, [true]);
			}
			ksort($declared);
			ksort($listed);
			return ["declared" => $declared, "listed" => $listed];');
		$this->assertSame($r['listed'], $r['declared'], 'PROVIDER_METHODS = the public methods KC_Meet_Telemed_Provider declares [return type, parameters, required, public]');
	}

	public function test_provider_is_not_registered_without_kivicare4_core(): void {
		$r = $this->wpOk('return array_keys(apply_filters("kc_telemed_providers", []));');
		$this->assertSame([], $r);
	}

	public function test_get_doctor_access_token_is_empty_for_a_doctor_who_never_connected(): void {
		$this->configureOAuth();
		$this->assertSame('', $this->provider('return $p->get_doctor_access_token((int) $args["d"]);', ['d' => $this->id('doctor')]));
	}

	public function test_get_doctor_access_token_is_a_non_secret_marker_when_connected(): void {
		$this->configureOAuth();
		$this->connectDoctor('doctor');
		$token = $this->provider('return $p->get_doctor_access_token((int) $args["d"]);', ['d' => $this->id('doctor')]);
		$this->assertIsString($token);
		$this->assertNotSame('', $token);
		$this->assertStringNotContainsString('ya29.', $token, 'the real access token was returned');
		$this->assertStringNotContainsString('1//', $token, 'the refresh token was returned');
	}

	public function test_core_picks_our_provider_for_a_connected_doctor_and_none_for_another(): void {
		$this->configureOAuth();
		$this->connectDoctor('doctor');
		$r = $this->wpOk(['kc_core' => '4', 'code' => '
			$a = \KcMeetTestBed\KCTelemedFactoryStandIn::provider_for_doctor((int) $args["d"]);
			$b = \KcMeetTestBed\KCTelemedFactoryStandIn::provider_for_doctor((int) $args["d2"]);
			return [$a ? $a->get_provider_id() : null, $b ? $b->get_provider_id() : null];',
			'args' => ['d' => $this->id('doctor'), 'd2' => $this->id('doctor2')]]);
		$this->assertSame(['googlemeet', null], $r);
	}

	public function test_get_doctor_access_token_makes_no_google_request(): void {
		$this->configureOAuth();
		$this->connectDoctor('doctor');
		$before = count($this->emu()->requests());
		$this->provider('return $p->get_doctor_access_token((int) $args["d"]);', ['d' => $this->id('doctor')]);
		$this->assertSame([], $this->requestsSince($before));
	}

	public function test_rest_get_settings_never_returns_the_client_secret(): void {
		$this->configureOAuth();
		$h = $this->rest($this->loggedIn('admin'));
		$r = $h->get('/wp-json/kivicare/v1/settings/googlemeet');
		$this->assertSame(200, $r->status, $r->describe());
		$this->assertStringNotContainsString(self::CLIENT_SECRET, $r->body);
		$cfg = $r->json()['data']['config']['data'];
		$this->assertSame(self::CLIENT_ID, $cfg['client_id']);
		$this->assertSame($this->redirectUris()['plugin'], $cfg['redirect_uri']);
		$this->assertSame($this->redirectUris()['plugin'], $r->json()['data']['redirection_url']);
	}

	public function test_rest_put_settings_saves_the_credentials(): void {
		$h = $this->rest($this->loggedIn('admin'));
		$r = $h->json('PUT', '/wp-json/kivicare/v1/settings/googlemeet', ['google_meet_config' => [
			'client_id' => 'new-client.apps.googleusercontent.com', 'client_secret' => 'new-client-secret-4712', 'app_name' => 'Clinic', 'enableCal' => 'Yes']]);
		$this->assertSame(200, $r->status, $r->describe());
		$this->assertStringNotContainsString('new-client-secret-4712', $r->body, 'the PUT answer echoes the secret');
		$saved = $this->wpOk('return get_option("kiviCare_google_meet_setting");');
		$this->assertSame('new-client.apps.googleusercontent.com', $saved['client_id']);
		$this->assertSame('new-client-secret-4712', $saved['client_secret']);
		$this->assertSame('Yes', $saved['enableCal']);
	}

	public function test_rest_settings_are_refused_to_a_doctor(): void {
		$h = $this->rest($this->loggedIn('doctor'));
		$this->assertSame(403, $h->get('/wp-json/kivicare/v1/settings/googlemeet')->status);
		$r = $h->json('PUT', '/wp-json/kivicare/v1/settings/googlemeet', ['google_meet_config' => ['client_id' => 'evil']]);
		$this->assertSame(403, $r->status, $r->describe());
		$this->assertNotSame('evil', $this->wpOk('return get_option("kiviCare_google_meet_setting")["client_id"] ?? null;'));
	}

	public function test_rest_authorize_returns_a_redirect_url_to_google(): void {
		$uri = $this->configureOAuth();
		$h = $this->rest($this->loggedIn('doctor'));
		$r = $h->json('POST', '/wp-json/kivicare/v1/settings/googlemeet/authorize', new \stdClass());
		$this->assertSame(200, $r->status, $r->describe());
		$url = $r->json()['data']['redirect_url'];
		$this->assertStringStartsWith($this->emu()->base() . '/o/oauth2/v2/auth?', $url);
		$this->assertSame($uri, self::query($url)['redirect_uri']);
		$this->assertSame($this->id('doctor'), (int) strtok(self::query($url)['state'], '.'));
	}

	public function test_rest_authorize_url_completes_the_connection(): void {
		$this->configureOAuth();
		$h = $this->rest($this->loggedIn('doctor'));
		$url = $h->json('POST', '/wp-json/kivicare/v1/settings/googlemeet/authorize', new \stdClass())->json()['data']['redirect_url'];
		$consent = $this->emu()->authorize($url, 'allow', self::GOOGLE_EMAIL);
		$cb = $h->get($consent['redirect']);
		$this->assertSame('connected', self::query((string) $cb->location())['kc_meet_result'] ?? null, $cb->describe());
		$this->assertSame('on', $this->metaValue($this->id('doctor'), 'kiviCare_google_meet_connect'));
	}

	public function test_rest_authorize_for_another_doctor_is_refused(): void {
		$this->configureOAuth();
		$h = $this->rest($this->loggedIn('doctor2'));
		$r = $h->json('POST', '/wp-json/kivicare/v1/settings/googlemeet/authorize', ['doctor_id' => $this->id('doctor')]);
		$this->assertSame(403, $r->status, $r->describe());
	}

	public function test_rest_disconnect_disconnects_the_doctor(): void {
		$this->configureOAuth();
		$this->connectDoctor('doctor');
		$h = $this->rest($this->loggedIn('doctor'));
		$r = $h->json('POST', '/wp-json/kivicare/v1/settings/googlemeet/disconnect', new \stdClass());
		$this->assertSame(200, $r->status, $r->describe());
		$this->assertTrue($r->json()['status']);
		$d = $this->id('doctor');
		$this->assertSame('off', $this->metaValue($d, 'kiviCare_google_meet_connect'));
		$this->assertNull($this->metaValue($d, 'google_meet_access_token'));
		$this->assertCount(1, $this->emu()->requestsTo('/revoke'));
	}

	public function test_rest_routes_refuse_anonymous_requests(): void {
		$this->configureOAuth();
		$h = $this->http();
		$this->assertSame(401, $h->get('/wp-json/kivicare/v1/settings/googlemeet')->status);
		$this->assertSame(401, $h->json('POST', '/wp-json/kivicare/v1/settings/googlemeet/authorize', ['doctor_id' => $this->id('doctor')])->status);
	}
}
