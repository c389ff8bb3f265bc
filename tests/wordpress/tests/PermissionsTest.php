<?php
namespace KcMeetTest;

/** 5. Who may start connect / disconnect for a doctor (admin-post actions behind nonce + permission). */
final class PermissionsTest extends WpTestCase {
	private function adminPostUrl(string $action, int $doctorId, ?string $nonce): string {
		$q = ['action' => $action, 'doctor_id' => $doctorId];
		if ($nonce !== null) {
			$q['_wpnonce'] = $nonce;
		}
		return '/wp-admin/admin-post.php?' . http_build_query($q);
	}

	public function test_doctor_cannot_start_connect_for_another_doctor(): void {
		$this->configureOAuth();
		$h = $this->loggedIn('doctor2');
		$target = $this->id('doctor');
		// A correctly signed request for doctor2's own session: only the permission check can stop it.
		$nonce = $this->nonceFor($h, 'doctor2', 'kc_meet_connect_start_' . $target);
		$r = $h->get($this->adminPostUrl('kc_meet_connect_start', $target, $nonce));
		$this->assertSame(403, $r->status, $r->describe());
		$this->assertNull($r->location());
		$this->assertSame(0, (int) Db::value($this->db, 'SELECT COUNT(*) FROM `' . $this->stateTable() . '`'), 'no OAuth state was issued');
	}

	public function test_doctor_cannot_disconnect_another_doctor(): void {
		$this->configureOAuth();
		$cb = $this->connectDoctor('doctor');
		$this->assertSame('connected', self::query((string) $cb->location())['kc_meet_result'] ?? null, $cb->describe());
		$h = $this->loggedIn('doctor2');
		$target = $this->id('doctor');
		$nonce = $this->nonceFor($h, 'doctor2', 'kc_meet_disconnect_' . $target);
		$r = $h->get($this->adminPostUrl('kc_meet_disconnect', $target, $nonce));
		$this->assertSame(403, $r->status, $r->describe());
		$this->assertSame('on', $this->metaValue($target, 'kiviCare_google_meet_connect'));
		$this->assertNotNull($this->metaValue($target, 'google_meet_access_token'));
		$this->assertSame([], $this->emu()->requestsTo('/revoke'), 'nothing was revoked');
	}

	public function test_patient_cannot_start_connect_for_a_doctor(): void {
		$this->configureOAuth();
		$h = $this->loggedIn('patient');
		$target = $this->id('doctor');
		$nonce = $this->nonceFor($h, 'patient', 'kc_meet_connect_start_' . $target);
		$r = $h->get($this->adminPostUrl('kc_meet_connect_start', $target, $nonce));
		$this->assertSame(403, $r->status, $r->describe());
	}

	public function test_admin_can_start_connect_for_a_doctor_from_the_doctors_profile(): void {
		$this->configureOAuth();
		$h = $this->loggedIn('admin');
		$target = $this->id('doctor');
		$page = $h->get('/wp-admin/user-edit.php?user_id=' . $target);
		$this->assertSame(200, $page->status, $page->describe());
		$link = (new Html($page->body))->byId('kc-meet-connect');
		$this->assertNotNull($link, 'the doctor\'s profile shows the admin a connect link');
		$r = $h->get(html_entity_decode($link->getAttribute('href')));
		$this->assertSame(302, $r->status, $r->describe());
		$this->assertStringStartsWith($this->emu()->base() . '/o/oauth2/v2/auth?', (string) $r->location());
		$this->assertSame($target, (int) strtok(self::query($r->location())['state'], '.'), 'state names the doctor, not the admin');
	}

	public function test_admin_started_connect_binds_the_doctor_and_returns_the_admin_to_the_doctors_profile(): void {
		$this->configureOAuth();
		$h = $this->loggedIn('admin');
		$target = $this->id('doctor');
		$link = (new Html($h->get('/wp-admin/user-edit.php?user_id=' . $target)->body))->byId('kc-meet-connect');
		$start = $h->get(html_entity_decode($link->getAttribute('href')));
		$consent = $this->emu()->authorize((string) $start->location(), 'allow', self::GOOGLE_EMAIL);
		$cb = $h->get($consent['redirect']);
		$this->assertSame(302, $cb->status, $cb->describe());
		$this->assertStringStartsWith(Env::wpUrl() . '/wp-admin/user-edit.php', (string) $cb->location());
		$this->assertSame((string) $target, self::query($cb->location())['user_id'] ?? null);
		$this->assertSame('on', $this->metaValue($target, 'kiviCare_google_meet_connect'));
		$this->assertNull($this->metaValue($this->id('admin'), 'google_meet_access_token'), 'the admin himself was not connected');
	}

	public function test_admin_can_disconnect_a_doctor(): void {
		$this->configureOAuth();
		$this->connectDoctor('doctor');
		$h = $this->loggedIn('admin');
		$target = $this->id('doctor');
		$link = (new Html($h->get('/wp-admin/user-edit.php?user_id=' . $target)->body))->byId('kc-meet-disconnect');
		$this->assertNotNull($link);
		$r = $h->get(html_entity_decode($link->getAttribute('href')));
		$this->assertSame(302, $r->status, $r->describe());
		$this->assertSame('disconnected', self::query((string) $r->location())['kc_meet_result'] ?? null);
		$this->assertSame('off', $this->metaValue($target, 'kiviCare_google_meet_connect'));
	}

	public function test_connect_start_without_nonce_is_rejected(): void {
		$this->configureOAuth();
		$h = $this->loggedIn('doctor');
		$r = $h->get($this->adminPostUrl('kc_meet_connect_start', $this->id('doctor'), null));
		$this->assertSame(403, $r->status, $r->describe());
		$this->assertSame(0, (int) Db::value($this->db, 'SELECT COUNT(*) FROM `' . $this->stateTable() . '`'), 'no OAuth state was issued');
	}

	public function test_disconnect_without_nonce_is_rejected(): void {
		$this->configureOAuth();
		$this->connectDoctor('doctor');
		$h = $this->loggedIn('doctor');
		$r = $h->get($this->adminPostUrl('kc_meet_disconnect', $this->id('doctor'), null));
		$this->assertSame(403, $r->status, $r->describe());
		$this->assertSame('on', $this->metaValue($this->id('doctor'), 'kiviCare_google_meet_connect'));
	}

	public function test_connect_start_with_a_nonce_of_another_doctor_is_rejected(): void {
		$this->configureOAuth();
		// doctor's own connect nonce, replayed in doctor2's session for doctor.
		$h2 = $this->loggedIn('doctor2');
		$own = $this->loggedIn('doctor');
		$nonce = $this->nonceFor($own, 'doctor', 'kc_meet_connect_start_' . $this->id('doctor'));
		$r = $h2->get($this->adminPostUrl('kc_meet_connect_start', $this->id('doctor'), $nonce));
		$this->assertSame(403, $r->status, $r->describe());
	}

	public function test_logged_out_visitor_cannot_start_connect(): void {
		$this->configureOAuth();
		$r = $this->http()->get($this->adminPostUrl('kc_meet_connect_start', $this->id('doctor'), 'abcdef0123'));
		$toGoogle = $r->location() !== null && strpos($r->location(), $this->emu()->base()) === 0;
		$this->assertFalse($toGoogle, 'a logged-out visitor was sent to Google: ' . $r->describe());
		$this->assertSame(0, (int) Db::value($this->db, 'SELECT COUNT(*) FROM `' . $this->stateTable() . '`'), 'no OAuth state was issued');
	}

	/**
	 * Starts the connect flow for $target in $h's session with a correctly signed nonce: only the
	 * permission check can stop it. Asserts it was refused and no OAuth state was issued.
	 */
	private function assertConnectStartRefused(Http $h, string $who, int $target): void {
		$nonce = $this->nonceFor($h, $who, 'kc_meet_connect_start_' . $target);
		$r = $h->get($this->adminPostUrl('kc_meet_connect_start', $target, $nonce));
		$this->assertSame(403, $r->status, $r->describe());
		$this->assertSame(0, (int) Db::value($this->db, 'SELECT COUNT(*) FROM `' . $this->stateTable() . '`'), 'no OAuth state was issued');
	}

	/** A user with manage_options but not edit_users: what a site administrator of a multisite network is to users. */
	private function siteManager(): Http {
		$this->wpOk('add_role("kcm_site_manager", "Site manager", ["read" => true, "manage_options" => true]);
			$id = wp_insert_user(["user_login" => "sitemanager", "user_email" => "manager@clinic.test", "user_pass" => "Test-pass-123!", "role" => "kcm_site_manager"]);
			if (is_wp_error($id)) { throw new RuntimeException($id->get_error_message()); }
			return $id;');
		$this->users['site_manager'] = ['id' => (int) Db::value($this->db, "SELECT ID FROM wp_users WHERE user_login = 'sitemanager'"), 'login' => 'sitemanager',
			'email' => 'manager@clinic.test', 'password' => 'Test-pass-123!', 'role' => 'kcm_site_manager'];
		$this->assertTrue($this->wpOk('return user_can((int) $args["u"], "manage_options") && !user_can((int) $args["u"], "edit_user", (int) $args["d"]);',
			['u' => $this->users['site_manager']['id'], 'd' => $this->id('doctor')]));
		return $this->loggedIn('site_manager');
	}

	public function test_manage_options_without_edit_user_on_the_doctor_cannot_connect_or_disconnect_them(): void {
		$this->configureOAuth();
		$this->connectDoctor('doctor');
		$h = $this->siteManager();
		$this->assertConnectStartRefused($h, 'site_manager', $this->id('doctor'));
		$nonce = $this->nonceFor($h, 'site_manager', 'kc_meet_disconnect_' . $this->id('doctor'));
		$r = $h->get($this->adminPostUrl('kc_meet_disconnect', $this->id('doctor'), $nonce));
		$this->assertSame(403, $r->status, $r->describe());
		$this->assertNotNull($this->metaValue($this->id('doctor'), 'google_meet_access_token'), 'the doctor is still connected');
		$this->assertSame([], $this->emu()->requestsTo('/revoke'), 'nothing was revoked');
	}

	public function test_admin_cannot_connect_a_user_who_is_not_a_doctor(): void {
		$this->configureOAuth();
		$this->assertConnectStartRefused($this->loggedIn('admin'), 'admin', $this->id('patient'));
	}

	public function test_admin_cannot_connect_or_disconnect_a_doctor_who_is_not_a_member_of_this_site(): void {
		$this->configureOAuth();
		$this->connectDoctor('doctor');
		// The doctor belongs to another site of the network: no capabilities row on this one
		// (their tokens, network-wide user meta, are still visible from here). This test bed is a
		// single site, where such a user shows as one without any role here.
		Db::query($this->db, "DELETE FROM wp_usermeta WHERE user_id = " . $this->id('doctor') . " AND meta_key IN ('wp_capabilities', 'wp_user_level')");
		$this->assertSame([], $this->wpOk('return array_values(get_userdata((int) $args["d"])->roles);', ['d' => $this->id('doctor')]));
		$h = $this->loggedIn('admin');
		$this->assertConnectStartRefused($h, 'admin', $this->id('doctor'));
		$nonce = $this->nonceFor($h, 'admin', 'kc_meet_disconnect_' . $this->id('doctor'));
		$r = $h->get($this->adminPostUrl('kc_meet_disconnect', $this->id('doctor'), $nonce));
		$this->assertSame(403, $r->status, $r->describe());
		$this->assertNotNull($this->metaValue($this->id('doctor'), 'google_meet_access_token'));
		$this->assertSame([], $this->emu()->requestsTo('/revoke'));
	}

	public function test_patient_profile_has_no_google_calendar_section(): void {
		$page = $this->loggedIn('patient')->get('/wp-admin/profile.php');
		$this->assertSame(200, $page->status, $page->describe());
		$html = new Html($page->body);
		$this->assertNotNull($html->byId('your-profile'), 'the profile form rendered');
		$this->assertNull($html->byId('kc-meet-connect'));
		$this->assertNull($html->byId('kc-meet-profile'));
	}

	public function test_doctor_does_not_see_the_section_on_another_doctors_profile(): void {
		$page = $this->loggedIn('doctor2')->get('/wp-admin/user-edit.php?user_id=' . $this->id('doctor'));
		$this->assertNull((new Html($page->body))->byId('kc-meet-connect'), $page->describe());
	}
}
