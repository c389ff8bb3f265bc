<?php
namespace KcMeetTest;

/**
 * A broken Google connection reaches the doctor (notice on their pages, one e-mail) and the
 * managers (one grouped notice); nothing shows when all is well.
 */
final class DoctorNoticesTest extends WpTestCase {
	use KiviCareFixtures;

	/** The doctor removes the site's access in their Google account; the site finds out. */
	private function breakGrant(): void {
		$this->emu()->call('POST', '/__emu/revoke_grant', ['email' => self::GOOGLE_EMAIL]);
		$this->emu()->call('POST', '/__emu/expire_access_tokens', ['email' => self::GOOGLE_EMAIL]);
		$this->wp('return kc_meet_check_connection((int) $args["d"]);', ['d' => $this->id('doctor')]);
		$this->assertSame('needs_reconnect', $this->wpOk('return kc_meet_status((int) $args["d"])["status"];', ['d' => $this->id('doctor')]));
	}

	/** One every-minute job pass; returns the e-mails it sent. */
	private function jobPass(): array {
		return $this->wpOk('
			$mails = [];
			add_filter("pre_wp_mail", function ($r, $atts) use (&$mails) { $mails[] = $atts; return true; }, 10, 2);
			do_action("kc_meet_run_jobs");
			return $mails;');
	}

	private function page(string $who, string $url): Html {
		$r = $this->loggedIn($who)->get($url);
		$this->assertSame(200, $r->status, $r->describe());
		return new Html($r->body);
	}

	public function test_nothing_nags_when_all_is_well(): void {
		$this->readyToBook();
		$this->assertSame([], $this->jobPass());
		$this->assertNull($this->page('doctor', '/wp-admin/profile.php')->byId('kc-meet-doctor-reconnect'));
		$admin = $this->page('admin', '/wp-admin/index.php');
		$this->assertNull($admin->byId('kc-meet-attention'));
	}

	public function test_a_broken_connection_mails_the_doctor_once_and_shows_them_a_reconnect_notice(): void {
		$this->readyToBook();
		$this->breakGrant();
		$first = $this->jobPass();
		$this->assertCount(1, $first, 'one e-mail');
		$this->assertSame($this->users['doctor']['email'], is_array($first[0]['to']) ? $first[0]['to'][0] : $first[0]['to']);
		$this->assertStringContainsString('Reconnect your Google Calendar', $first[0]['subject']);
		$this->assertStringContainsString('/wp-admin/profile.php', $first[0]['message']);
		$this->assertStringNotContainsString('ya29.', json_encode($first));

		// More failures and more passes: no second e-mail.
		$this->kcAppointment(self::day(3));
		$this->wp('try { KC_Meet_Events::ensure("create", 1, [], "test"); } catch (\Throwable $e) {} return null;');
		$this->assertSame([], $this->jobPass());
		$this->assertSame([], $this->jobPass());

		$notice = $this->page('doctor', '/wp-admin/profile.php')->byId('kc-meet-doctor-reconnect');
		$this->assertNotNull($notice, 'the doctor sees it on their profile');
		$this->assertStringContainsString('Google Calendar connection stopped working', Html::text($notice));
		$this->assertNotNull($this->page('doctor', '/wp-admin/index.php')->byId('kc-meet-doctor-reconnect'), 'and on their dashboard');
		$this->assertNull($this->page('doctor2', '/wp-admin/profile.php')->byId('kc-meet-doctor-reconnect'), 'not another doctor');

		// Reconnected: quiet again; a new breakage mails again.
		$this->connectDoctor('doctor');
		$this->assertSame([], $this->jobPass());
		$this->assertNull($this->page('doctor', '/wp-admin/profile.php')->byId('kc-meet-doctor-reconnect'));
		$this->breakGrant();
		$this->assertCount(1, $this->jobPass());
	}

	public function test_a_site_that_has_not_found_out_yet_does_not_make_the_doctor_mailed_again(): void {
		// On a network each site keeps its own state of the doctor, while the token (and the
		// e-mail marker) are the network's: a site where the doctor still looks connected, because
		// it has not tried the refused token yet, must not make the other site mail again.
		$this->readyToBook();
		$this->breakGrant();
		$this->assertCount(1, $this->jobPass());
		$doctor = $this->id('doctor');
		Db::query($this->db, "UPDATE wp_kc_meet_doctors SET status = 'connected', reconnect_token = NULL WHERE doctor_id = ?", [$doctor]);
		$this->assertSame([], $this->jobPass(), 'the site that has not found out sends nothing');
		Db::query($this->db, "UPDATE wp_kc_meet_doctors SET status = 'needs_reconnect', reconnect_token = NULL WHERE doctor_id = ?", [$doctor]);
		$this->assertSame([], $this->jobPass(), 'the same refused token: no second e-mail');
	}

	public function test_managers_see_one_grouped_notice(): void {
		$this->readyToBook();
		$this->emu()->fault(['method' => 'POST', 'path' => '/calendar/v3/calendars/primary/events', 'times' => 0, 'action' => 'status', 'status' => 400]);
		foreach ([3, 4, 5] as $d) {
			$id = $this->kcAppointment(self::day($d));
			$this->wp('try { KC_Meet_Events::ensure("create", (int) $args["id"], [], "test"); } catch (\Throwable $e) {} return null;', ['id' => $id]);
		}
		$this->breakGrant();
		$page = $this->page('admin', '/wp-admin/index.php');
		$notices = $page->all("//div[contains(@class, 'notice')]");
		$attention = $page->byId('kc-meet-attention');
		$this->assertNotNull($attention);
		$text = Html::text($attention);
		$this->assertStringContainsString('1 doctor must reconnect Google Calendar', $text);
		$this->assertStringContainsString('3 appointments have no Google Meet link (failed)', $text);
		$this->assertSame([], array_filter($notices, static fn($n) => str_contains(Html::text($n), 'could not be synchronized')), 'no notice per appointment');
		$this->assertNull($page->byId('kc-meet-doctor-reconnect'), 'the admin is not a doctor');
		$this->assertNull($this->page('patient', '/wp-admin/profile.php')->byId('kc-meet-attention'), 'patients see nothing');
	}
}
