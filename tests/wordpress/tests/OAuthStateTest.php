<?php
namespace KcMeetTest;

/**
 * 4. The public callback trusts nothing but a valid state, brought back by the user who started the
 *    connection: forged, expired, reused (replayed callback), rewritten to another doctor, or opened in
 *    another user's browser or a logged-out one → rejected, nothing stored.
 */
final class OAuthStateTest extends WpTestCase {
	/** The browser of the user who started the last consentedCallbackUrl(). */
	private ?Http $initiator = null;

	/** Starts the connect flow for $who and consents; returns the callback URL Google would redirect to (not followed). */
	private function consentedCallbackUrl(string $who = 'doctor'): string {
		$admin = $this->loggedIn('admin');
		[, $html] = $this->settingsPage($admin);
		$uri = $html->byId('kc-meet-redirect-uri')->getAttribute('value');
		$this->emu()->registerClient(self::CLIENT_ID, self::CLIENT_SECRET, [$uri]);
		$this->assertSame(302, $this->saveCredentialsThroughForm($admin, self::CLIENT_ID, self::CLIENT_SECRET)->status);
		$doc = $this->initiator = $this->loggedIn($who);
		$link = (new Html($doc->get('/wp-admin/profile.php')->body))->byId('kc-meet-connect');
		$start = $doc->get(html_entity_decode($link->getAttribute('href')));
		$this->assertSame(302, $start->status, $start->describe());
		$consent = $this->emu()->authorize($start->location(), 'allow', self::GOOGLE_EMAIL);
		$this->assertSame(200, $consent['_status'], json_encode($consent));
		return $consent['redirect'];
	}

	private function assertRejectedAsBadState(Response $r): void {
		$this->assertSame(302, $r->status, $r->describe());
		$q = self::query((string) $r->location());
		$this->assertSame('error', $q['kc_meet_result'] ?? null, 'callback result: ' . $r->location());
		$this->assertSame('4002', $q['kc_meet_code'] ?? null, 'error code 4002 (invalid state): ' . $r->location());
	}

	private function assertDoctorNotConnected(string $who): void {
		$d = $this->id($who);
		$this->assertNull($this->metaValue($d, 'google_meet_access_token'), "$who has no token meta");
		$this->assertNotSame('on', $this->metaValue($d, 'kiviCare_google_meet_connect'));
		$this->assertNull($this->metaValue($d, 'telemed_type'));
		$this->assertSame('not_connected', $this->wpOk('return kc_meet_status((int) $args["d"])["status"];', ['d' => $d]));
	}

	public function test_forged_state_is_rejected_and_nothing_is_stored(): void {
		$url = $this->consentedCallbackUrl();
		$forged = self::withQuery($url, ['state' => $this->id('doctor') . '.' . str_repeat('A', 43)]);
		$this->assertRejectedAsBadState($this->initiator->get($forged));
		$this->assertDoctorNotConnected('doctor');
	}

	public function test_forged_state_never_reaches_the_token_endpoint(): void {
		$url = $this->consentedCallbackUrl();
		$this->initiator->get(self::withQuery($url, ['state' => $this->id('doctor') . '.forged-state-value-0123456789']));
		$this->assertSame([], $this->emu()->requestsTo('/token'), 'the code was exchanged although the state is forged');
	}

	public function test_expired_state_is_rejected_and_nothing_is_stored(): void {
		$url = $this->consentedCallbackUrl();
		$table = $this->stateTable();
		$cols = array_column(Db::query($this->db, "SHOW COLUMNS FROM `$table`"), 'Field');
		$expiry = array_values(array_filter($cols, static fn($c) => stripos($c, 'expire') !== false));
		$this->assertCount(1, $expiry, "one expiry column in $table: " . implode(', ', $cols));
		$n = Db::query($this->db, "UPDATE `$table` SET `{$expiry[0]}` = UTC_TIMESTAMP() - INTERVAL 1 MINUTE");
		$this->assertSame(1, $n, 'one pending state to expire');
		$this->assertRejectedAsBadState($this->initiator->get($url));
		$this->assertDoctorNotConnected('doctor');
		$this->assertSame([], $this->emu()->requestsTo('/token'));
	}

	public function test_replayed_callback_is_rejected_after_the_state_was_used(): void {
		$url = $this->consentedCallbackUrl();
		$first = $this->initiator->get($url);
		$this->assertSame('connected', self::query((string) $first->location())['kc_meet_result'] ?? null, $first->describe());
		// The doctor disconnects; an attacker replays the captured callback URL.
		$this->wpOk('return kc_meet_disconnect((int) $args["d"]);', ['d' => $this->id('doctor')]);
		$tokensBefore = count($this->emu()->requestsTo('/token'));
		$this->assertRejectedAsBadState($this->initiator->get($url));
		$this->assertDoctorNotConnected('doctor');
		$this->assertCount($tokensBefore, $this->emu()->requestsTo('/token'), 'the replay reached the token endpoint');
	}

	public function test_state_rewritten_to_another_doctor_is_rejected_and_nothing_is_stored(): void {
		// doctor2 starts a connect; the attacker keeps the random part and puts doctor's id in front.
		$url = $this->consentedCallbackUrl('doctor2');
		$state = self::query($url)['state'];
		$this->assertSame($this->id('doctor2'), (int) strtok($state, '.'));
		$rewritten = $this->id('doctor') . substr($state, strpos($state, '.'));
		$this->assertRejectedAsBadState($this->initiator->get(self::withQuery($url, ['state' => $rewritten])));
		$this->assertDoctorNotConnected('doctor');
		$this->assertDoctorNotConnected('doctor2');
	}

	public function test_callback_without_state_is_rejected_and_nothing_is_stored(): void {
		$url = $this->consentedCallbackUrl();
		$q = self::query($url);
		unset($q['state']);
		$r = $this->initiator->get(strtok($url, '?') . '?' . http_build_query($q));
		$this->assertRejectedAsBadState($r);
		$this->assertDoctorNotConnected('doctor');
	}

	public function test_callback_opened_in_another_users_browser_connects_nobody(): void {
		// doctor starts the connection; the consented link is opened by doctor2 (sent to them, or a login CSRF).
		$url = $this->consentedCallbackUrl('doctor');
		$this->assertRejectedAsBadState($this->loggedIn('doctor2')->get($url));
		$this->assertDoctorNotConnected('doctor');
		$this->assertDoctorNotConnected('doctor2');
		$this->assertSame([], $this->emu()->requestsTo('/token'), 'the code never reached Google');
	}

	public function test_callback_without_a_login_connects_nobody(): void {
		$url = $this->consentedCallbackUrl('doctor');
		$this->assertRejectedAsBadState($this->http()->get($url));
		$this->assertDoctorNotConnected('doctor');
		$this->assertSame([], $this->emu()->requestsTo('/token'), 'the code never reached Google');
	}

	public function test_callback_in_the_initiators_browser_connects(): void {
		$url = $this->consentedCallbackUrl('doctor');
		$r = $this->initiator->get($url);
		$this->assertSame('connected', self::query((string) $r->location())['kc_meet_result'] ?? null, $r->describe());
		$this->assertSame('on', $this->metaValue($this->id('doctor'), 'kiviCare_google_meet_connect'));
	}
}
