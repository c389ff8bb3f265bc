<?php
namespace KcMeetTest;

/** 6. Disconnect from the profile: revoked at Google, KiviCare meta reset, no Google traffic afterwards. */
final class DisconnectTest extends WpTestCase {
	/** Connects the doctor through the profile, then clicks Disconnect; returns [client, response]. */
	private function connectThenDisconnect(): array {
		$flow = $this->connectThroughProfile();
		$doctor = $flow['doctor'];
		$page = $doctor->get('/wp-admin/profile.php');
		$link = (new Html($page->body))->byId('kc-meet-disconnect');
		$this->assertNotNull($link, 'connected profile shows #kc-meet-disconnect');
		$r = $doctor->get(html_entity_decode($link->getAttribute('href')));
		return [$doctor, $r];
	}

	public function test_disconnect_button_redirects_back_with_the_disconnected_result(): void {
		[$doctor, $r] = $this->connectThenDisconnect();
		$this->assertSame(302, $r->status, $r->describe());
		$this->assertStringStartsWith(Env::wpUrl() . '/wp-admin/profile.php', (string) $r->location());
		$this->assertSame('disconnected', self::query($r->location())['kc_meet_result'] ?? null);
		$html = new Html($doctor->get($r->location())->body);
		$this->assertSame('not_connected', $html->byId('kc-meet-status')->getAttribute('data-status'));
		$this->assertNull($html->byId('kc-meet-disconnect'), 'no Disconnect button once disconnected');
	}

	public function test_disconnect_revokes_the_grant_at_google(): void {
		$this->connectThenDisconnect();
		$this->assertCount(1, $this->emu()->requestsTo('/revoke'), 'one revoke request');
		$grants = $this->emu()->grants();
		$this->assertCount(1, $grants);
		$this->assertTrue($grants[0]['revoked'], 'the grant is revoked at Google');
	}

	public function test_disconnect_resets_the_kivicare_meta(): void {
		$this->connectThenDisconnect();
		$d = $this->id('doctor');
		$this->assertSame('off', $this->metaValue($d, 'kiviCare_google_meet_connect'));
		$this->assertNull($this->metaValue($d, 'telemed_type'), 'telemed_type removed');
		$this->assertNull($this->metaValue($d, 'google_meet_access_token'), 'token meta removed');
	}

	public function test_after_disconnect_status_is_not_connected_without_any_google_request(): void {
		$this->connectThenDisconnect();
		$before = count($this->emu()->requests());
		$status = $this->wpOk('return kc_meet_status((int) $args["d"]);', ['d' => $this->id('doctor')]);
		$this->assertSame('not_connected', $status['status']);
		$this->assertSame([], $this->requestsSince($before), 'kc_meet_status() reached Google');
	}

	public function test_after_disconnect_the_kivicare4_provider_has_no_token_and_asks_google_nothing(): void {
		$this->connectThenDisconnect();
		$before = count($this->emu()->requests());
		$token = $this->wpOk([
			'kc_core' => '4',
			'code'    => '$p = \KcMeetTestBed\KCTelemedFactoryStandIn::create("googlemeet");
				if (!$p) { throw new RuntimeException("googlemeet provider not registered"); }
				return $p->get_doctor_access_token((int) $args["d"]);',
			'args'    => ['d' => $this->id('doctor')],
		]);
		$this->assertEmpty($token, 'get_doctor_access_token() of a disconnected doctor');
		$this->assertSame([], $this->requestsSince($before), 'the provider reached Google for a disconnected doctor');
	}

	public function test_disconnecting_twice_is_harmless(): void {
		[$doctor] = $this->connectThenDisconnect();
		$d = $this->id('doctor');
		$nonce = $this->nonceFor($doctor, 'doctor', 'kc_meet_disconnect_' . $d);
		$r = $doctor->get('/wp-admin/admin-post.php?' . http_build_query(['action' => 'kc_meet_disconnect', 'doctor_id' => $d, '_wpnonce' => $nonce]));
		$this->assertSame(302, $r->status, $r->describe());
		$this->assertSame('disconnected', self::query((string) $r->location())['kc_meet_result'] ?? null);
		$this->assertSame('off', $this->metaValue($d, 'kiviCare_google_meet_connect'));
	}
}
