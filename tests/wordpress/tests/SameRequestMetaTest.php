<?php
namespace KcMeetTest;

/**
 * 2. The extension writes user meta on its own MySQL connection: WordPress's object cache of the same
 *    request must not keep the old values (the plugin clears it).
 */
final class SameRequestMetaTest extends WpTestCase {
	public function test_get_user_meta_in_the_same_request_sees_the_connection_made_through_the_callback(): void {
		$this->configureOAuth();
		$r = $this->wpOk('
			$d = (int) $args["d"];
			$before = get_user_meta($d, "kiviCare_google_meet_connect", true);   // primes the user meta cache
			$auth = kc_meet_auth_url($d, $d);
			$ch = curl_init($args["emu"] . "/__emu/authorize");
			curl_setopt_array($ch, [CURLOPT_POST => true, CURLOPT_RETURNTRANSFER => true,
				CURLOPT_HTTPHEADER => ["Content-Type: application/json"],
				CURLOPT_POSTFIELDS => json_encode(["auth_url" => $auth, "decision" => "allow", "email" => $args["email"]])]);
			$redirect = json_decode(curl_exec($ch), true)["redirect"];
			parse_str(parse_url($redirect, PHP_URL_QUERY), $q);
			// The redirect comes back in the browser of the doctor who started the connection.
			$_COOKIE[LOGGED_IN_COOKIE] = wp_generate_auth_cookie($d, time() + 3600, "logged_in");
			$req = new WP_REST_Request("GET", "/kc-meet/v1/oauth/callback");
			$req->set_query_params($q);
			$resp = rest_do_request($req);
			return [
				"before"    => $before,
				"http"      => $resp->get_status(),
				"location"  => $resp->get_headers()["Location"] ?? null,
				"connect"   => get_user_meta($d, "kiviCare_google_meet_connect", true),
				"telemed"   => get_user_meta($d, "telemed_type", true),
				"meet_id"   => get_user_meta($d, "kiviCare_doctor_meet_id", true),
				"has_token" => get_user_meta($d, "google_meet_access_token", true) !== "",
			];', ['d' => $this->id('doctor'), 'emu' => $this->emu()->base(), 'email' => self::GOOGLE_EMAIL]);
		$this->assertNotSame('on', $r['before']);
		$this->assertSame(302, $r['http'], json_encode($r));
		$this->assertSame('connected', self::query((string) $r['location'])['kc_meet_result'] ?? null, json_encode($r));
		$this->assertSame('on', $r['connect']);
		$this->assertSame('googlemeet', $r['telemed']);
		$this->assertSame('primary', $r['meet_id']);
		$this->assertTrue($r['has_token']);
	}

	public function test_get_user_meta_in_the_same_request_sees_the_connection_made_through_the_kivicare3_filter(): void {
		$this->configureOAuth();
		$code = $this->emu()->mintCode(self::CLIENT_ID, self::GOOGLE_EMAIL, [self::CALENDAR_SCOPE]);
		$r = $this->wpOk('
			$d = (int) $args["d"];
			wp_set_current_user($d); // core calls the filter for the logged-in doctor
			$before = get_user_meta($d, "kiviCare_google_meet_connect", true);
			$res = apply_filters("kcgm_connect_doctor", ["id" => (string) $d, "code" => $args["code"]]);
			return ["before" => $before, "res" => $res, "connect" => get_user_meta($d, "kiviCare_google_meet_connect", true),
				"telemed" => get_user_meta($d, "telemed_type", true)];',
			['d' => $this->id('doctor'), 'code' => $code], );
		$this->assertNotSame('on', $r['before']);
		$this->assertTrue($r['res']['status'] ?? null, json_encode($r['res']));
		$this->assertSame('on', $r['connect']);
		$this->assertSame('googlemeet', $r['telemed']);
	}

	public function test_get_user_meta_in_the_same_request_sees_the_disconnect(): void {
		$this->configureOAuth();
		$this->connectDoctor('doctor');
		$r = $this->wpOk('
			$d = (int) $args["d"];
			wp_set_current_user($d); // core calls the filter for the logged-in doctor
			$before = get_user_meta($d, "kiviCare_google_meet_connect", true);
			$res = apply_filters("kcgm_disconnect_doctor", ["id" => (string) $d]);
			return ["before" => $before, "res" => $res, "connect" => get_user_meta($d, "kiviCare_google_meet_connect", true),
				"telemed" => get_user_meta($d, "telemed_type", true), "token" => get_user_meta($d, "google_meet_access_token", true)];',
			['d' => $this->id('doctor')]);
		$this->assertSame('on', $r['before']);
		$this->assertSame('off', $r['connect']);
		$this->assertSame('', $r['telemed']);
		$this->assertSame('', $r['token']);
	}
}
