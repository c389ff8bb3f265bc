<?php
namespace KcMeetTest;

/** 3. The doctor refuses consent at Google. */
final class ConsentDeniedTest extends WpTestCase {
	public function test_denied_consent_redirects_back_to_the_profile_with_the_denied_result(): void {
		$flow = $this->connectThroughProfile('doctor', 'deny');
		$this->assertSame('access_denied', self::query($flow['consent']['redirect'])['error'] ?? null, 'emulator answered access_denied');
		$cb = $flow['callback'];
		$this->assertSame(302, $cb->status, $cb->describe());
		$this->assertStringStartsWith(Env::wpUrl() . '/wp-admin/profile.php', $cb->location());
		$this->assertSame('denied', self::query($cb->location())['kc_meet_result'] ?? null, $cb->describe() . ' consent redirect: ' . $flow['consent']['redirect']);
		$page = $flow['doctor']->get($cb->location());
		$html = new Html($page->body);
		$this->assertNotNull($html->byId('kc-meet-result'), 'the profile shows the result notice');
		$this->assertSame('not_connected', $html->byId('kc-meet-status')->getAttribute('data-status'));
	}

	public function test_denied_consent_stores_nothing(): void {
		$d = $this->id('doctor');
		$before = $this->meta($d);
		$this->connectThroughProfile('doctor', 'deny');
		$this->assertNull($this->metaValue($d, 'google_meet_access_token'));
		$this->assertNotSame('on', $this->metaValue($d, 'kiviCare_google_meet_connect'));
		$this->assertNull($this->metaValue($d, 'telemed_type'));
		$after = $this->meta($d);
		unset($before['session_tokens'], $after['session_tokens']);
		$this->assertSame($before, $after, 'no user meta of the doctor changed');
		$this->assertSame([], $this->emu()->requestsTo('/token'), 'no code was exchanged');
		$this->assertSame('not_connected', $this->wpOk('return kc_meet_status((int) $args["d"])["status"];', ['d' => $d]));
	}
}
