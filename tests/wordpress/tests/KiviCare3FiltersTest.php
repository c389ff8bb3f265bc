<?php
namespace KcMeetTest;

/**
 * 7. KiviCare 3.x calls the add-on through filters. Its connect flow is Google Identity's popup: core
 *    receives an authorization code minted for redirect URI "postmessage" and passes it to
 *    kcgm_connect_doctor with the doctor id as a string.
 */
final class KiviCare3FiltersTest extends WpTestCase {
	private function connectThroughFilter(string $code) {
		return $this->wpOk('wp_set_current_user((int) $args["d"]);
			return apply_filters("kcgm_connect_doctor", ["id" => (string) $args["d"], "code" => $args["code"]]);',
			['d' => $this->id('doctor'), 'code' => $code]);
	}

	/** Core's connect filter for the doctor, as $user (0: logged out). */
	private function connectAs(int $user, string $code) {
		return $this->wpOk('wp_set_current_user((int) $args["u"]);
			return apply_filters("kcgm_connect_doctor", ["id" => (string) $args["d"], "code" => $args["code"]]);',
			['u' => $user, 'd' => $this->id('doctor'), 'code' => $code]);
	}

	/** Core's disconnect filter for the doctor, as $user (0: logged out). */
	private function disconnectAs(int $user) {
		return $this->wpOk('wp_set_current_user((int) $args["u"]);
			return apply_filters("kcgm_disconnect_doctor", ["id" => (string) $args["d"]]);',
			['u' => $user, 'd' => $this->id('doctor')]);
	}

	public function test_kcgm_connect_doctor_with_a_popup_code_connects_the_doctor(): void {
		$this->configureOAuth();
		$code = $this->emu()->mintCode(self::CLIENT_ID, self::GOOGLE_EMAIL, [self::CALENDAR_SCOPE], 'postmessage');
		$res = $this->connectThroughFilter($code);
		$this->assertIsArray($res);
		$this->assertTrue($res['status'], json_encode($res));
		$d = $this->id('doctor');
		$this->assertSame('on', $this->metaValue($d, 'kiviCare_google_meet_connect'));
		$this->assertSame('googlemeet', $this->metaValue($d, 'telemed_type'));
		$this->assertSame('primary', $this->metaValue($d, 'kiviCare_doctor_meet_id'));
		$this->assertNotNull($this->metaValue($d, 'google_meet_access_token'));
		$status = $this->wpOk('return kc_meet_status((int) $args["d"]);', ['d' => $d]);
		$this->assertSame('connected', $status['status']);
		$this->assertSame(self::GOOGLE_EMAIL, $status['email']);
	}

	public function test_kcgm_connect_doctor_exchanges_the_code_with_the_postmessage_redirect_uri(): void {
		$this->configureOAuth();
		$code = $this->emu()->mintCode(self::CLIENT_ID, self::GOOGLE_EMAIL, [self::CALENDAR_SCOPE], 'postmessage');
		$this->connectThroughFilter($code);
		$tokens = $this->emu()->requestsTo('/token');
		$this->assertCount(1, $tokens);
		$this->assertSame('authorization_code', $tokens[0]['grant_type']);
		$this->assertNotContains('code_verifier', $tokens[0]['form_keys'], 'the popup flow has no PKCE verifier');
	}

	public function test_kcgm_connect_doctor_stores_no_google_token_in_clear(): void {
		$this->configureOAuth();
		$code = $this->emu()->mintCode(self::CLIENT_ID, self::GOOGLE_EMAIL, [self::CALENDAR_SCOPE], 'postmessage');
		$this->assertTrue($this->connectThroughFilter($code)['status']);
		$this->assertNoGoogleSecretsInDatabase();
	}

	public function test_kcgm_connect_doctor_with_a_rejected_code_fails_and_stores_nothing(): void {
		$this->configureOAuth();
		$code = $this->emu()->mintCode(self::CLIENT_ID, self::GOOGLE_EMAIL, [self::CALENDAR_SCOPE], 'postmessage');
		$this->assertTrue($this->connectThroughFilter($code)['status']);
		$this->wpOk('return kc_meet_disconnect((int) $args["d"]);', ['d' => $this->id('doctor')]);
		$again = $this->connectThroughFilter($code);          // a used code: Google answers invalid_grant
		$this->assertFalse($again['status'], json_encode($again));
		$this->assertSame(4004, $again['code'] ?? null, json_encode($again));
		$this->assertStringNotContainsString($code, json_encode($again), 'the code is echoed back');
		$d = $this->id('doctor');
		$this->assertNotSame('on', $this->metaValue($d, 'kiviCare_google_meet_connect'));
		$this->assertNull($this->metaValue($d, 'google_meet_access_token'));
	}

	public function test_kcgm_connect_doctor_without_calendar_scope_fails_and_stores_nothing(): void {
		$this->configureOAuth();
		$code = $this->emu()->mintCode(self::CLIENT_ID, self::GOOGLE_EMAIL, ['email'], 'postmessage');
		$res = $this->connectThroughFilter($code);
		$this->assertFalse($res['status'], json_encode($res));
		$this->assertSame(4003, $res['code'] ?? null);
		$this->assertNull($this->metaValue($this->id('doctor'), 'google_meet_access_token'));
	}

	public function test_kcgm_disconnect_doctor_revokes_and_resets_the_meta(): void {
		$this->configureOAuth();
		$code = $this->emu()->mintCode(self::CLIENT_ID, self::GOOGLE_EMAIL, [self::CALENDAR_SCOPE], 'postmessage');
		$this->assertTrue($this->connectThroughFilter($code)['status']);
		$res = $this->wpOk('wp_set_current_user((int) $args["d"]); return apply_filters("kcgm_disconnect_doctor", ["id" => (string) $args["d"]]);',
			['d' => $this->id('doctor')]);
		$this->assertTrue($res['status'], json_encode($res));
		$d = $this->id('doctor');
		$this->assertSame('off', $this->metaValue($d, 'kiviCare_google_meet_connect'));
		$this->assertNull($this->metaValue($d, 'telemed_type'));
		$this->assertNull($this->metaValue($d, 'google_meet_access_token'));
		$this->assertCount(1, $this->emu()->requestsTo('/revoke'));
		$this->assertTrue($this->emu()->grants()[0]['revoked']);
	}

	public function test_kcgm_disconnect_doctor_of_a_never_connected_doctor_succeeds_without_google(): void {
		$this->configureOAuth();
		$res = $this->wpOk('wp_set_current_user((int) $args["d"]); return apply_filters("kcgm_disconnect_doctor", ["id" => (string) $args["d"]]);', ['d' => $this->id('doctor2')]);
		$this->assertTrue($res['status'], json_encode($res));
		$this->assertSame([], $this->emu()->requests());
		$this->assertNull($this->metaValue($this->id('doctor2'), 'telemed_type'));
	}

	public function test_kcgm_disconnect_doctor_keeps_a_zoom_doctors_telemed_type(): void {
		$this->configureOAuth();
		$d = $this->id('doctor2');
		$this->wpOk('update_user_meta((int) $args["d"], "telemed_type", "zoom");', ['d' => $d]);
		$res = $this->wpOk('wp_set_current_user((int) $args["d"]); return apply_filters("kcgm_disconnect_doctor", ["id" => (string) $args["d"]]);', ['d' => $d]);
		$this->assertTrue($res['status'], json_encode($res));
		$this->assertSame('zoom', $this->metaValue($d, 'telemed_type'));
	}

	// Core 3.x passes the request's doctor id to both filters without checking who asks: the
	// add-on must (KIVICARE.md: nobody may bind their Google account to another user's doctor).

	public function test_kcgm_connect_doctor_refuses_a_patient_another_doctor_and_a_visitor_and_changes_nothing(): void {
		$this->configureOAuth();
		$d = $this->id('doctor');
		$code = $this->emu()->mintCode(self::CLIENT_ID, 'intruder@example.com', [self::CALENDAR_SCOPE], 'postmessage');
		foreach (['patient' => $this->id('patient'), 'doctor2' => $this->id('doctor2'), 'visitor' => 0] as $who => $user) {
			$res = $this->connectAs($user, $code);
			$this->assertFalse($res['status'] ?? null, "$who: " . json_encode($res));
			$this->assertSame(4403, $res['code'] ?? null, "$who: " . json_encode($res));
			$this->assertStringContainsString('not allowed', (string) ($res['message'] ?? ''), $who);
			$this->assertStringNotContainsString($code, json_encode($res), 'the code is echoed back');
		}
		$this->assertSame([], $this->emu()->requestsTo('/token'), 'the code was never exchanged');
		$this->assertNotSame('on', $this->metaValue($d, 'kiviCare_google_meet_connect'));
		$this->assertNull($this->metaValue($d, 'telemed_type'));
		$this->assertNull($this->metaValue($d, 'google_meet_access_token'));
		$this->assertSame('not_connected', $this->wpOk('return kc_meet_status((int) $args["d"]);', ['d' => $d])['status']);
	}

	public function test_kcgm_connect_doctor_by_an_administrator_connects_the_doctor(): void {
		$this->configureOAuth();
		$d = $this->id('doctor');
		$code = $this->emu()->mintCode(self::CLIENT_ID, self::GOOGLE_EMAIL, [self::CALENDAR_SCOPE], 'postmessage');
		$res = $this->connectAs($this->id('admin'), $code);
		$this->assertTrue($res['status'] ?? null, json_encode($res));
		$this->assertSame('on', $this->metaValue($d, 'kiviCare_google_meet_connect'));
		$this->assertSame(self::GOOGLE_EMAIL, $this->wpOk('return kc_meet_status((int) $args["d"]);', ['d' => $d])['email']);
	}

	public function test_kcgm_disconnect_doctor_refuses_a_patient_another_doctor_and_a_visitor_and_changes_nothing(): void {
		$this->configureOAuth();
		$d = $this->id('doctor');
		$code = $this->emu()->mintCode(self::CLIENT_ID, self::GOOGLE_EMAIL, [self::CALENDAR_SCOPE], 'postmessage');
		$this->assertTrue($this->connectThroughFilter($code)['status']);
		$token = $this->metaValue($d, 'google_meet_access_token');
		$this->assertNotNull($token);
		foreach (['patient' => $this->id('patient'), 'doctor2' => $this->id('doctor2'), 'visitor' => 0] as $who => $user) {
			$res = $this->disconnectAs($user);
			$this->assertFalse($res['status'] ?? null, "$who: " . json_encode($res));
			$this->assertSame(4403, $res['code'] ?? null, "$who: " . json_encode($res));
		}
		$this->assertSame([], $this->emu()->requestsTo('/revoke'), 'nothing was revoked at Google');
		$this->assertFalse($this->emu()->grants()[0]['revoked']);
		$this->assertSame('on', $this->metaValue($d, 'kiviCare_google_meet_connect'));
		$this->assertSame('googlemeet', $this->metaValue($d, 'telemed_type'));
		$this->assertSame($token, $this->metaValue($d, 'google_meet_access_token'));
		$this->assertSame('connected', $this->wpOk('return kc_meet_status((int) $args["d"]);', ['d' => $d])['status']);
	}

	public function test_kcgm_disconnect_doctor_by_an_administrator_disconnects_the_doctor(): void {
		$this->configureOAuth();
		$d = $this->id('doctor');
		$code = $this->emu()->mintCode(self::CLIENT_ID, self::GOOGLE_EMAIL, [self::CALENDAR_SCOPE], 'postmessage');
		$this->assertTrue($this->connectThroughFilter($code)['status']);
		$res = $this->disconnectAs($this->id('admin'));
		$this->assertTrue($res['status'] ?? null, json_encode($res));
		$this->assertSame('off', $this->metaValue($d, 'kiviCare_google_meet_connect'));
		$this->assertNull($this->metaValue($d, 'google_meet_access_token'));
		$this->assertCount(1, $this->emu()->requestsTo('/revoke'));
	}
}
