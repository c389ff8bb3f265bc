<?php
namespace KcMeetTest;

/**
 * Google Meet → Doctors and Appointments: what a clinic admin sees (every doctor, every
 * telemedicine appointment with its state) and the actions behind nonces and capabilities.
 */
final class AdminScreensTest extends WpTestCase {
	use KiviCareFixtures;

	private const DOCTORS = '/wp-admin/admin.php?page=kc-meet-doctors';
	private const APPOINTMENTS = '/wp-admin/admin.php?page=kc-meet-appointments';

	private function page(Http $h, string $url): Html {
		$r = $h->get($url);
		$this->assertSame(200, $r->status, $r->describe());
		return new Html($r->body);
	}

	/** Submits the row form whose button has class $button; returns the final page. */
	private function rowAction(Http $h, Html $page, string $rowXpath, string $button): Html {
		$btn = $page->first($rowXpath . "//button[contains(@class, '$button')]");
		$this->assertNotNull($btn, "no $button button in $rowXpath");
		$form = $page->form($btn->parentNode, Env::wpUrl() . self::DOCTORS);
		$r = $h->post($form['action'], Html::encode($form['fields']), ['Content-Type' => 'application/x-www-form-urlencoded', 'Referer' => Env::wpUrl() . self::DOCTORS]);
		$this->assertSame(302, $r->status, $r->describe());
		return $this->page($h, (string) $r->location());
	}

	private function apptRow(int $id): string {
		return "//tr[@data-appointment-id='$id']";
	}

	public function test_doctors_screen_lists_every_doctor_with_state_and_only_doctors(): void {
		$this->readyToBook();
		$page = $this->page($this->loggedIn('admin'), self::DOCTORS);
		$rows = $page->all("//tr[contains(@class, 'kc-meet-doctor')]");
		$ids = array_map(static fn($r) => (int) $r->getAttribute('data-doctor-id'), $rows);
		sort($ids);
		$expected = [$this->id('doctor'), $this->id('doctor2')];
		sort($expected);
		$this->assertSame($expected, $ids, 'both doctors, connected or not; no admin or patient');
		$connected = $page->first("//tr[@data-doctor-id='{$this->id('doctor')}']");
		$this->assertSame('connected', $connected->getAttribute('data-status'));
		$this->assertStringContainsString('Connected as ' . self::GOOGLE_EMAIL, Html::text($connected));
		$this->assertStringContainsString('Polling every 5 minutes', Html::text($connected), 'no HTTPS push URL in the test bed');
		$other = $page->first("//tr[@data-doctor-id='{$this->id('doctor2')}']");
		$this->assertSame('not_connected', $other->getAttribute('data-status'));
		$this->assertNotNull($page->first(".//a[contains(@class, 'kc-meet-connect')]", $other), 'a connect link for the unconnected doctor');
	}

	public function test_the_google_meet_menu_holds_doctors_appointments_and_a_link_to_the_settings_page(): void {
		$admin = $this->loggedIn('admin');
		$dashboard = $this->page($admin, '/wp-admin/');
		$items = $dashboard->all("//li[@id='toplevel_page_kc-meet-doctors']//ul[contains(@class, 'wp-submenu')]/li/a");
		$this->assertSame(['Doctors', 'Appointments', 'Settings'], array_map(static fn($a) => trim(Html::text($a)), $items));
		$hrefs = array_map(static fn($a) => $a->getAttribute('href'), $items);
		$this->assertStringEndsWith('admin.php?page=kc-meet-doctors', $hrefs[0]);
		$this->assertStringEndsWith('admin.php?page=kc-meet-appointments', $hrefs[1]);
		$this->assertStringEndsWith('options-general.php?page=kc-meet', $hrefs[2], 'one settings page, linked from the plugin\'s menu');
		$this->assertNotNull($dashboard->first("//li[@id='menu-settings']//a[contains(@href, 'options-general.php?page=kc-meet') and normalize-space(.)='KiviCare Google Meet']"), 'the settings page under Settings');
		$doctors = $this->page($admin, self::DOCTORS);
		$this->assertStringContainsString('Google Meet doctors', Html::text($doctors->first('//title')));
		$this->assertNotNull($doctors->first("//li[@id='toplevel_page_kc-meet-doctors']//li[contains(@class, 'current')]/a[normalize-space(.)='Doctors']"), 'the Doctors item is the current one');
		$settings = $this->page($admin, '/wp-admin/options-general.php?page=kc-meet');
		$this->assertStringContainsString('KiviCare Google Meet', Html::text($settings->first('//title')));
		$doctorView = $this->page($this->loggedIn('doctor'), '/wp-admin/profile.php');
		$this->assertNull($doctorView->first("//li[@id='toplevel_page_kc-meet-doctors']"), 'no menu for a doctor');
		$this->assertNull($doctorView->first("//a[contains(@href, 'page=kc-meet')]"), 'no settings entry for a doctor');
	}

	public function test_screens_are_closed_to_doctors_and_patients(): void {
		$this->readyToBook();
		foreach (['doctor', 'patient'] as $who) {
			foreach ([self::DOCTORS, self::APPOINTMENTS] as $url) {
				$r = $this->loggedIn($who)->get($url);
				$this->assertSame(403, $r->status, "$who on $url: " . $r->describe());
			}
		}
	}

	public function test_disconnect_from_the_doctors_screen_revokes_and_erases(): void {
		$this->readyToBook();
		$h = $this->loggedIn('admin');
		$doctor = $this->id('doctor');
		$after = $this->rowAction($h, $this->page($h, self::DOCTORS), "//tr[@data-doctor-id='$doctor']", 'kc-meet-disconnect');
		$this->assertSame('disconnected', $after->first("//div[contains(@class, 'kc-meet-result')]")?->getAttribute('data-result'));
		$this->assertSame('not_connected', $after->first("//tr[@data-doctor-id='$doctor']")->getAttribute('data-status'));
		$this->assertNull($this->metaValue($doctor, 'google_meet_access_token'));
		$this->assertCount(1, $this->emu()->requestsTo('/revoke'));
	}

	public function test_disconnect_needs_the_rows_nonce(): void {
		$this->readyToBook();
		$h = $this->loggedIn('admin');
		$doctor = $this->id('doctor');
		$r = $h->post('/wp-admin/admin-post.php', http_build_query(['action' => 'kc_meet_doctor_disconnect', 'doctor_id' => $doctor, '_wpnonce' => 'forged']), ['Content-Type' => 'application/x-www-form-urlencoded']);
		$this->assertSame(403, $r->status, $r->describe());
		$this->assertNotNull($this->metaValue($doctor, 'google_meet_access_token'));
		$this->assertSame([], $this->emu()->requestsTo('/revoke'));
	}

	/** Logs in a user with manage_options but not edit_users (what a network's site administrator is to users). */
	private function siteManager(): Http {
		$id = $this->wpOk('add_role("kcm_site_manager", "Site manager", ["read" => true, "manage_options" => true]);
			$id = wp_insert_user(["user_login" => "sitemanager", "user_email" => "manager@clinic.test", "user_pass" => "Test-pass-123!", "role" => "kcm_site_manager"]);
			if (is_wp_error($id)) { throw new RuntimeException($id->get_error_message()); }
			return $id;');
		$this->users['site_manager'] = ['id' => (int) $id, 'login' => 'sitemanager', 'email' => 'manager@clinic.test', 'password' => 'Test-pass-123!', 'role' => 'kcm_site_manager'];
		return $this->loggedIn('site_manager');
	}

	public function test_doctors_screen_actions_refuse_a_user_who_may_not_manage_the_doctor(): void {
		$this->readyToBook();
		$h = $this->siteManager();
		$doctor = $this->id('doctor');
		$before = count($this->emu()->requests());
		foreach (['kc_meet_doctor_disconnect', 'kc_meet_doctor_check', 'kc_meet_doctor_sync'] as $action) {
			$nonce = $this->nonceFor($h, 'site_manager', $action . '_' . $doctor);
			$r = $h->post('/wp-admin/admin-post.php', http_build_query(['action' => $action, 'doctor_id' => $doctor, '_wpnonce' => $nonce]),
				['Content-Type' => 'application/x-www-form-urlencoded', 'Referer' => Env::wpUrl() . self::DOCTORS]);
			$this->assertSame(403, $r->status, "$action: " . $r->describe());
		}
		$this->assertSame([], $this->requestsSince($before), 'nothing was asked of Google');
		$this->assertNotNull($this->metaValue($doctor, 'google_meet_access_token'), 'the doctor is still connected');
		$page = $this->page($h, self::DOCTORS);
		$this->assertNotNull($page->first("//tr[@data-doctor-id='$doctor']"), 'the screen lists the doctor');
		$this->assertNull($page->first("//tr[@data-doctor-id='$doctor']//button"), 'no action offered that would be refused');
		$this->assertNull($page->first("//tr[@data-doctor-id='$doctor']//a[contains(@class, 'kc-meet-connect')]"));
	}

	public function test_doctors_name_links_to_a_profile_page_the_viewer_may_open(): void {
		$this->readyToBook();
		$doctor = $this->id('doctor');
		$xpath = "//tr[@data-doctor-id='$doctor']/td[1]//a";
		$admin = $this->page($this->loggedIn('admin'), self::DOCTORS)->first($xpath);
		$this->assertStringContainsString('user-edit.php?user_id=' . $doctor, $admin->getAttribute('href'), 'an administrator opens the doctor\'s profile');
		$h = $this->siteManager();
		$href = html_entity_decode($this->page($h, self::DOCTORS)->first($xpath)->getAttribute('href'));
		$this->assertStringNotContainsString('user-edit.php', $href, 'a user who may not edit the doctor gets no link to a page WordPress refuses them');
		$this->assertSame(200, $h->get($href)->status, $href);
	}

	public function test_test_connection_asks_google(): void {
		$this->readyToBook();
		$h = $this->loggedIn('admin');
		$after = $this->rowAction($h, $this->page($h, self::DOCTORS), "//tr[@data-doctor-id='{$this->id('doctor')}']", 'kc-meet-check');
		$this->assertSame('checked', $after->first("//div[contains(@class, 'kc-meet-result')]")?->getAttribute('data-result'));
		$this->assertNotSame([], array_filter($this->emu()->requests(), static fn($r) => str_starts_with((string) $r['operation'], 'calendar.')), 'Google was asked');
	}

	public function test_appointments_screen_shows_link_and_queued_state_and_retry_now_fixes_it(): void {
		$this->readyToBook();
		$linked = $this->kcAppointment(self::day(3));
		$this->wpOk('return KC_Meet_Events::ensure("create", (int) $args["id"], [], "test");', ['id' => $linked]);
		$this->emu()->fault(['method' => null, 'path' => '/calendar/v3', 'times' => 0, 'action' => 'status', 'status' => 503]);
		$queued = $this->kcAppointment(self::day(4));
		$this->wpOk('update_option("timezone_string", "Europe/Berlin"); try { KC_Meet_Events::ensure("create", (int) $args["id"], [], "test"); } catch (\Throwable $e) {} return null;', ['id' => $queued]);
		$job = $this->jobRows($queued);
		$this->assertSame('queued', $job[0]['state'] ?? null, 'Google down: the event waits in a job');

		$h = $this->loggedIn('admin');
		$page = $this->page($h, self::APPOINTMENTS);
		$row = $page->first($this->apptRow($linked));
		$this->assertSame('linked', $row->getAttribute('data-state'));
		$this->assertSame($this->mappingRows($linked)[0]['url'], $page->first($this->apptRow($linked) . "//a[contains(@class, 'kc-meet-link')]")->getAttribute('href'));
		$q = $page->first($this->apptRow($queued));
		$this->assertSame('queued', $q->getAttribute('data-state'));
		// The next try in the site's zone (Berlin) and format, not UTC.
		$next = (new \DateTimeImmutable($job[0]['next_run_at'], new \DateTimeZone('UTC')))->setTimezone(new \DateTimeZone('Europe/Berlin'));
		$this->assertStringContainsString('next try ' . $next->format('F j, Y g:i a'), Html::text($q));

		// Filters: state and doctor.
		$failedOnly = $this->page($h, self::APPOINTMENTS . '&state=queued');
		$this->assertSame([(string) $queued], array_map(static fn($r) => $r->getAttribute('data-appointment-id'), $failedOnly->all("//tr[contains(@class, 'kc-meet-appointment')]")));
		$this->assertSame([], $this->page($h, self::APPOINTMENTS . '&doctor_id=' . $this->id('doctor2'))->all("//tr[contains(@class, 'kc-meet-appointment')]"));

		$this->emu()->call('DELETE', '/__emu/faults');
		$after = $this->rowAction($h, $page, $this->apptRow($queued), 'kc-meet-retry');
		$this->assertSame('linked', $after->first("//div[contains(@class, 'kc-meet-result')]")?->getAttribute('data-result'), $after->bodyText());
		$this->assertSame('linked', $after->first($this->apptRow($queued))->getAttribute('data-state'));
		$this->assertStringStartsWith('https://meet.google.com/', $this->mappingRows($queued)[0]['url']);
		$this->assertSame([], Db::query($this->db, "SELECT * FROM wp_kc_meet_jobs WHERE state IN ('queued', 'failed')"));
	}
}
