<?php
namespace KcMeetTest;

/**
 * What a clinic does, in headless Chromium over W3C WebDriver: the admin opens Google Meet →
 * Doctors, connects a doctor through Google's (the emulator's) consent page, a telemedicine
 * appointment is booked the way KiviCare 4.x does it, the Appointments screen shows its Meet link
 * and state, a failed job is retried, the doctor sees the reconnect notice after their grant
 * broke, and the admin disconnects them. A screenshot of each screen goes to
 * target/wp-test/screenshots/. Chromium is a build dependency: missing, the test fails.
 */
final class BrowserClinicFlowTest extends WpTestCase {
	use KiviCareFixtures;
	use BrowserSession;

	private function logout(): void {
		$this->wd->exec('document.cookie.split(";").forEach(function (c) { var n = c.split("=")[0].trim(); if (n.indexOf("wordpress_") === 0) { document.cookie = n + "=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/"; document.cookie = n + "=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/wp-admin"; } });');
		$this->wd->go(Env::wpUrl() . '/wp-login.php?action=logout');
		$this->wd->exec('var a = document.querySelector("a[href*=\'action=logout\']"); if (a) { a.click(); }');
		$this->wd->waitFor(static fn($w) => strpos($w->url(), 'loggedout') !== false || $w->find('#user_login') !== '');
	}

	private function open(string $page, string $query, string $ready): void {
		$this->wd->go(Env::wpUrl() . '/wp-admin/admin.php?page=' . $page . $query);
		$this->wd->waitFor(static fn($w) => $w->find($ready) !== '');
	}

	private function rowState(string $css): string {
		return (string) $this->wd->attribute($this->wd->find($css), 'data-state');
	}

	public function test_admin_connects_a_doctor_sees_the_meet_link_retries_and_disconnects(): void {
		$this->configureOAuth();
		$doctor = $this->id('doctor');
		$wd = $this->wd;

		// Doctors screen: nobody connected yet.
		$this->login('admin');
		$this->open('kc-meet-doctors', '', '.kc-meet-doctors-table');
		$row = "tr.kc-meet-doctor[data-doctor-id='$doctor']";
		$this->assertSame('not_connected', $wd->attribute($wd->find($row), 'data-status'));
		$this->screenshot('01-doctors-not-connected');

		// Connect through the consent page (the emulator's stand-in for accounts.google.com).
		$wd->click($wd->find("$row a.kc-meet-connect"));
		$wd->waitFor(static fn($w) => $w->find('#consent-form') !== '');
		$wd->clear($wd->find('#email'));
		$wd->type($wd->find('#email'), self::GOOGLE_EMAIL);
		$this->screenshot('02-google-consent');
		$wd->click($wd->find('#allow'));
		$wd->waitFor(static fn($w) => strpos($w->url(), 'kc_meet_result=connected') !== false);
		$this->open('kc-meet-doctors', '', '.kc-meet-doctors-table');
		$this->assertSame('connected', $wd->attribute($wd->find($row), 'data-status'));
		$this->assertStringContainsString('Connected as ' . self::GOOGLE_EMAIL, $wd->text($wd->find("$row .kc-meet-state")));
		$this->screenshot('03-doctors-connected');

		// A telemedicine booking through KiviCare 4.x's flow: the Appointments screen shows its link.
		$this->kc = $this->kcClinic();
		$booked = $this->kc4Book(self::day(5));
		$link = $this->mappingRows($booked['id'])[0]['url'];
		$this->open('kc-meet-appointments', '', '.kc-meet-appointments-table');
		$appt = "tr.kc-meet-appointment[data-appointment-id='{$booked['id']}']";
		$this->assertSame('linked', $this->rowState($appt));
		$this->assertSame($link, $wd->attribute($wd->find("$appt a.kc-meet-link"), 'href'));
		$this->screenshot('04-appointments-linked');

		// Google refuses an insert: the job fails; after the cause is gone, Retry now fixes it.
		$this->emu()->fault(['method' => 'POST', 'path' => '/calendar/v3/calendars/primary/events', 'times' => 0, 'action' => 'status', 'status' => 400]);
		$failed = $this->kc4Book(self::day(6));
		$this->emu()->call('DELETE', '/__emu/faults');
		$this->open('kc-meet-appointments', '&state=failed', '.kc-meet-appointments-table');
		$frow = "tr.kc-meet-appointment[data-appointment-id='{$failed['id']}']";
		$this->assertSame('failed', $this->rowState($frow));
		$this->screenshot('05-appointments-failed');
		$wd->click($wd->find("$frow button.kc-meet-retry"));
		$wd->waitFor(static fn($w) => strpos($w->url(), 'kc_meet_done=') !== false);
		$this->open('kc-meet-appointments', '', '.kc-meet-appointments-table');
		$this->assertSame('linked', $this->rowState($frow));
		$this->screenshot('06-appointments-retried');

		// The doctor removes the site's access in their Google account; the doctor sees it.
		$this->emu()->call('POST', '/__emu/revoke_grant', ['email' => self::GOOGLE_EMAIL]);
		$this->emu()->call('POST', '/__emu/expire_access_tokens', ['email' => self::GOOGLE_EMAIL]);
		$this->wp('return kc_meet_check_connection((int) $args["d"]);', ['d' => $doctor]);
		$this->logout();
		$this->login('doctor');
		$wd->go(Env::wpUrl() . '/wp-admin/profile.php');
		$wd->waitFor(static fn($w) => $w->find('#kc-meet-doctor-reconnect') !== '');
		$this->assertStringContainsString('stopped working', $wd->text($wd->find('#kc-meet-doctor-reconnect')));
		$this->screenshot('07-doctor-reconnect-notice');

		// The admin sees one grouped notice and disconnects the doctor.
		$this->logout();
		$this->login('admin');
		$this->open('kc-meet-doctors', '', '.kc-meet-doctors-table');
		$this->assertStringContainsString('1 doctor must reconnect', $wd->text($wd->find('#kc-meet-attention')));
		$this->assertSame('needs_reconnect', $wd->attribute($wd->find($row), 'data-status'));
		$this->screenshot('08-doctors-needs-reconnect');
		$wd->exec('window.confirm = function () { return true; };');
		$wd->click($wd->find("$row button.kc-meet-disconnect"));
		$wd->waitFor(static fn($w) => strpos($w->url(), 'kc_meet_done=disconnected') !== false);
		$wd->waitFor(static fn($w) => $w->find('.kc-meet-doctors-table') !== '');
		$this->assertSame('not_connected', $wd->attribute($wd->find($row), 'data-status'));
		$this->assertNull($this->metaValue($doctor, 'google_meet_access_token'));
		$this->screenshot('09-doctors-disconnected');
	}
}
