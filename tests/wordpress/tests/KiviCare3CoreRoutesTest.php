<?php
namespace KcMeetTest;

/**
 * 14. KiviCare 3.x driven through core's own controllers (stand-ins/kivicare3-core.php, step for
 *     step as KIVICARE.md and core 3.6 do it): the settings round trip, the event template, a
 *     delete, an edit to status 0 with two telemed services, bookings while the doctor is not
 *     connected or Google is down, and the Meet link sent through core's own templates.
 */
final class KiviCare3CoreRoutesTest extends WpTestCase {
	use KiviCareFixtures;

	/** Runs $code with KiviCare 3.x's stand-in loaded; $core is KcMeetTestBed\KiviCare3\Core. */
	private function kc3(string $code, array $args = [], ?int $user = null) {
		$job = ['kc_core' => '3', 'args' => $args, 'code' => '$core = \KcMeetTestBed\KiviCare3\Core::class; ' . $code];
		if ($user !== null) {
			$job['user'] = $user;
		}
		return $this->wpOk($job);
	}

	/** A booking through core 3.x's save route: [answer of core, appointment id]. */
	private function book3(array $services, int $day = 5, array $extra = []): array {
		$r = $this->kc3('
			$mails = [];
			add_filter("pre_wp_mail", function ($null, $atts) use (&$mails) { $mails[] = $atts; return true; }, 10, 2);
			$answer = $core::save_appointment($args["req"]);
			return ["answer" => $answer, "mails" => $mails];', ['req' => $extra + [
			'doctor' => $this->id('doctor'), 'patient' => $this->id('patient'), 'clinic' => $this->kc['clinic'],
			'services' => $services, 'day' => self::day($day), 'start' => '09:00:00', 'end' => '09:30:00', 'status' => 1,
		]], $this->id('admin'));
		return [$r['answer'], (int) $r['answer']['id'], $r['mails']];
	}

	private function twoVideoServices(): array {
		return array_values($this->kc['services']);
	}

	// ------------------------------------------------------------------ 1. settings

	public function test_settings_saved_through_core_3_save_route_round_trip_and_the_doctor_can_connect(): void {
		$admin = $this->id('admin');
		$saved = $this->kc3('return $core::save_google_meet_config($args["request"]);', ['request' => [
			'client_id' => self::CLIENT_ID, 'client_secret' => self::CLIENT_SECRET, 'app_name' => 'Clinic', 'enableCal' => 'Yes',
		]], $admin);
		$this->assertTrue($saved['status'] ?? null, json_encode($saved));
		$option = $this->wpOk('return get_option("kiviCare_google_meet_setting");');
		$this->assertSame(self::CLIENT_ID, $option['client_id']);
		$this->assertSame(self::CLIENT_SECRET, $option['client_secret']);
		$this->assertSame('Clinic', $option['app_name']);
		$this->assertSame('Yes', $option['enableCal']);

		// Core's edit screen reads the settings back (never the secret) and saves them again as shown.
		$shown = $this->kc3('return $core::get_google_meet_config();', [], $admin);
		$config = $shown['config']['data'];
		$this->assertSame(self::CLIENT_ID, $config['client_id']);
		$this->assertSame('', $config['client_secret']);
		$this->assertStringNotContainsString(self::CLIENT_SECRET, json_encode($shown));
		$again = $this->kc3('return $core::save_google_meet_config($args["request"]);', ['request' => [
			'client_id' => $config['client_id'], 'client_secret' => $config['client_secret'], 'app_name' => 'Clinic West', 'enableCal' => $config['enableCal'],
		]], $admin);
		$this->assertTrue($again['status'] ?? null, json_encode($again));
		$option = $this->wpOk('return get_option("kiviCare_google_meet_setting");');
		$this->assertSame(self::CLIENT_SECRET, $option['client_secret'], 'an empty secret keeps the stored one');
		$this->assertSame('Clinic West', $option['app_name']);

		// With those settings the doctor's 3.x popup connect works.
		$this->emu()->registerClient(self::CLIENT_ID, self::CLIENT_SECRET, [$this->redirectUris()['plugin']]);
		$code = $this->emu()->mintCode(self::CLIENT_ID, self::GOOGLE_EMAIL, [self::CALENDAR_SCOPE], 'postmessage');
		$connected = $this->wpOk('wp_set_current_user((int) $args["d"]); return apply_filters("kcgm_connect_doctor", ["id" => (string) $args["d"], "code" => $args["code"]]);',
			['d' => $this->id('doctor'), 'code' => $code]);
		$this->assertTrue($connected['status'], json_encode($connected));
	}

	public function test_settings_save_route_refuses_a_non_administrator_and_changes_nothing(): void {
		$this->configureOAuth();
		$r = $this->wpOk(['user' => $this->id('doctor'), 'code' => 'return apply_filters("kcgm_saved_googlemeet_config", ["data" => ["client_id" => "evil", "client_secret" => "x", "enableCal" => "Yes"]]);']);
		$this->assertFalse($r['status'], json_encode($r));
		$this->assertSame(self::CLIENT_ID, $this->wpOk('return get_option("kiviCare_google_meet_setting")["client_id"];'));
	}

	public function test_event_template_saved_through_core_3_route_is_used_for_the_next_event(): void {
		$this->readyToBook(['Video A' => 'yes']);
		$admin = $this->id('admin');
		$saved = $this->kc3('return $core::save_google_meet_event_template(["data" => [["post_title" => "Video call: {{service_name}}", "post_content" => "Patient {{patient_name}}"]]]);', [], $admin);
		$this->assertTrue($saved['status'] ?? null, json_encode($saved));
		$shown = $this->kc3('return $core::get_google_meet_config();', [], $admin);
		$this->assertTrue($shown['status']);
		$this->assertSame('Video call: {{service_name}}', $shown['data'][0]['post_title']);
		// Saving the post core listed (with its ID) updates it: still one template.
		$again = $this->kc3('return $core::save_google_meet_event_template(["data" => [["ID" => $args["id"], "post_title" => "Consultation {{service_name}}", "post_content" => "Patient {{patient_name}}"]]]);',
			['id' => $shown['data'][0]['ID']], $admin);
		$this->assertTrue($again['status'] ?? null, json_encode($again));
		$this->assertSame(1, (int) Db::value($this->db, "SELECT COUNT(*) FROM wp_posts WHERE post_type = 'kivicare_gmeet_tmp'"));
		[$answer] = $this->book3([$this->kc['services']['Video A']]);
		$this->assertTrue($answer['status'], json_encode($answer));
		$this->assertSame('Consultation Video A', $this->liveEvents()[0]['summary']);
	}

	// ------------------------------------------------------------------ 2. delete

	public function test_delete_through_core_3_removes_the_event_at_once_and_tells_the_patient(): void {
		$this->readyToBook(['Video A' => 'yes', 'Video B' => 'yes']);
		[$answer, $id] = $this->book3($this->twoVideoServices());
		$this->assertTrue($answer['status'], json_encode($answer));
		$eventId = $this->mappingRows($id)[0]['event_id'];
		$this->kc3('$core::delete_appointments([$args["id"]]);', ['id' => $id], $this->id('admin'));
		$this->assertNull($this->appointmentRow($id));
		$this->assertSame('cancelled', $this->googleEvent($eventId)['status'], 'the event is gone at Google without waiting for a reconcile');
		$this->assertSame([], $this->mappingRows($id));
		$cancellations = array_values(array_filter($this->notifications(), static fn($n) => $n['kind'] === 'cancellation'));
		$this->assertCount(1, $cancellations);
		$this->assertContains('patient@clinic.test', $cancellations[0]['recipients']);
	}

	// ------------------------------------------------------------------ 3. edit to status 0

	public function test_edit_to_status_0_with_two_telemed_services_answers_success_and_leaves_no_event(): void {
		$this->readyToBook(['Video A' => 'yes', 'Video B' => 'yes']);
		[$answer, $id] = $this->book3($this->twoVideoServices());
		$this->assertTrue($answer['status'], json_encode($answer));
		$edit = $this->kc3('return $core::save_appointment($args["req"]);', ['req' => [
			'id' => $id, 'doctor' => $this->id('doctor'), 'patient' => $this->id('patient'), 'clinic' => $this->kc['clinic'],
			'services' => $this->twoVideoServices(), 'day' => self::day(5), 'start' => '09:00:00', 'end' => '09:30:00', 'status' => 0,
		]], $this->id('admin'));
		$this->assertTrue($edit['status'], 'core relays no error to the admin: ' . json_encode($edit));
		$this->assertCount(3, $edit['answers'], 'two save calls and the remove call');
		foreach ($edit['answers'] as $a) {
			$this->assertTrue($a['status'], json_encode($a));
			$this->assertSame('', $a['join_url'] ?? '', 'no link for a cancelled appointment');
		}
		$this->assertSame([], $this->liveEvents());
		$this->assertSame([], $this->mappingRows($id));
	}

	public function test_status_0_then_1_through_core_3_status_route_ends_with_one_live_event(): void {
		$this->readyToBook(['Video A' => 'yes']);
		[, $id] = $this->book3([$this->kc['services']['Video A']]);
		$off = $this->kc3('return $core::update_status($args["id"], 0);', ['id' => $id], $this->id('admin'));
		$this->assertTrue($off['answer']['status'], json_encode($off));
		$this->assertSame([], $this->liveEvents());
		$on = $this->kc3('return $core::update_status($args["id"], 1);', ['id' => $id], $this->id('admin'));
		$this->assertTrue($on['answer']['status'], json_encode($on));
		$this->assertCount(1, $this->liveEvents());
		$this->assertCount(1, $this->mappingRows($id));
	}

	// ------------------------------------------------------------------ 4. the booking never fails because of Google

	public function test_booking_for_a_doctor_who_is_not_connected_stands_both_are_told_once_and_connecting_creates_the_events(): void {
		$this->configureOAuth();
		$this->kc = $this->kcClinic(['Video A' => 'yes', 'Video B' => 'yes']);
		[$first, $a] = $this->book3($this->twoVideoServices(), 5);
		[$second, $b] = $this->book3($this->twoVideoServices(), 6);
		foreach ([$first, $second] as $answer) {
			$this->assertTrue($answer['status'], 'core keeps the booking: ' . json_encode($answer));
			foreach ($answer['answers'] as $call) {
				$this->assertTrue($call['status'], json_encode($call));
				$this->assertSame('', $call['join_url']);
			}
		}
		$this->assertNotNull($this->appointmentRow($a));
		$this->assertNotNull($this->appointmentRow($b));
		$this->assertSame([], $this->googleEvents());

		// One grouped notice each, not one per booking.
		$doctorView = $this->wpOk(['admin' => true, 'user' => $this->id('doctor'), 'code' => 'ob_start(); do_action("admin_notices"); return ob_get_clean();']);
		$notice = (new Html('<html><body>' . $doctorView . '</body></html>'))->byId('kc-meet-doctor-waiting-notice');
		$this->assertNotNull($notice, $doctorView);
		$this->assertSame('2', $notice->getAttribute('data-count'));
		$this->assertSame(1, substr_count($doctorView, 'kc-meet-doctor-waiting-notice'));
		$adminView = $this->wpOk(['admin' => true, 'user' => $this->id('admin'), 'code' => 'ob_start(); do_action("admin_notices"); return ob_get_clean();']);
		$adminNotice = (new Html('<html><body>' . $adminView . '</body></html>'))->byId('kc-meet-waiting-notice');
		$this->assertNotNull($adminNotice, $adminView);
		$this->assertSame('2', $adminNotice->getAttribute('data-count'));
		$this->assertStringContainsString($this->wpOk('return get_userdata((int) $args["d"])->display_name;', ['d' => $this->id('doctor')]), Html::text($adminNotice));

		// The doctor connects: the backfill is scheduled at once and creates both events.
		$this->connectDoctor('doctor');
		$scheduled = $this->wpOk('$e = wp_get_scheduled_event("kc_meet_backfill_doctor", [(int) $args["d"]]); return $e ? $e->timestamp <= time() + 1 : null;', ['d' => $this->id('doctor')]);
		$this->assertTrue($scheduled, 'connecting schedules the backfill of the doctor\'s appointments');
		$this->wpOk('do_action("kc_meet_backfill_doctor", (int) $args["d"]);', ['d' => $this->id('doctor')]);
		$this->assertCount(2, $this->liveEvents());
		$this->assertStringStartsWith('https://meet.google.com/', $this->mappingRows($a)[0]['url']);
		$this->assertStringStartsWith('https://meet.google.com/', $this->mappingRows($b)[0]['url']);
		$after = $this->wpOk(['admin' => true, 'user' => $this->id('doctor'), 'code' => 'ob_start(); do_action("admin_notices"); return ob_get_clean();']);
		$this->assertStringNotContainsString('kc-meet-doctor-waiting-notice', $after);
		$this->assertSame('googlemeet', $this->metaValue($this->id('doctor'), 'telemed_type'));
	}

	public function test_booking_for_a_doctor_who_must_reconnect_stands_and_the_doctor_is_told(): void {
		$this->readyToBook(['Video A' => 'yes']);
		// The doctor removed the app's access in their Google account; the access token expired.
		$this->emu()->revokeGrant(self::GOOGLE_EMAIL);
		$this->emu()->expireAccessTokens(self::GOOGLE_EMAIL);
		[$answer, $id] = $this->book3([$this->kc['services']['Video A']]);
		$this->assertTrue($answer['status'], 'core keeps the booking: ' . json_encode($answer));
		$this->assertTrue($answer['answers'][0]['status'], json_encode($answer['answers'][0]));
		$this->assertSame('', $answer['answers'][0]['join_url']);
		$this->assertNotNull($this->appointmentRow($id));
		$this->assertSame('needs_reconnect', $this->wpOk('return kc_meet_status((int) $args["d"])["status"];', ['d' => $this->id('doctor')]));
		$doctorView = $this->wpOk(['admin' => true, 'user' => $this->id('doctor'), 'code' => 'ob_start(); do_action("admin_notices"); return ob_get_clean();']);
		$notice = (new Html('<html><body>' . $doctorView . '</body></html>'))->byId('kc-meet-doctor-waiting-notice');
		$this->assertNotNull($notice, $doctorView);
		$this->assertSame('1', $notice->getAttribute('data-count'));
	}

	public function test_booking_while_google_is_down_stands_and_the_job_creates_the_event(): void {
		$this->readyToBook(['Video A' => 'yes']);
		$this->emu()->fault(['method' => null, 'path' => '/calendar/v3', 'times' => 0, 'action' => 'status', 'status' => 503]);
		$r = $this->kc3('
			add_filter("kc_meet_site_config", static function ($c) { $c["request_budget_s"] = 1.0; return $c; });
			KC_Meet_Plugin::instance()->configure();
			return $core::save_appointment($args["req"]);', ['req' => [
			'doctor' => $this->id('doctor'), 'patient' => $this->id('patient'), 'clinic' => $this->kc['clinic'],
			'services' => [$this->kc['services']['Video A']], 'day' => self::day(5), 'status' => 1,
		]], $this->id('admin'));
		$this->assertTrue($r['status'], 'core keeps the booking: ' . json_encode($r));
		$this->assertTrue($r['answers'][0]['status'], json_encode($r['answers'][0]));
		$this->assertSame('queued', $r['answers'][0]['data']['state'] ?? null);
		$id = (int) $r['id'];
		$this->assertNotNull($this->appointmentRow($id));
		$adminView = $this->wpOk(['admin' => true, 'user' => $this->id('admin'), 'code' => 'ob_start(); do_action("admin_notices"); return ob_get_clean();']);
		$this->assertStringContainsString('kc-meet-waiting-notice', $adminView);

		$this->emu()->call('DELETE', '/__emu/faults');
		Db::query($this->db, 'UPDATE wp_kc_meet_jobs SET next_run_at = UTC_TIMESTAMP() - INTERVAL 1 SECOND');
		$this->wpOk('do_action("kc_meet_run_jobs");');
		$this->assertCount(1, $this->liveEvents());
		$this->assertCount(1, $this->mappingRows($id));
		$adminAfter = $this->wpOk(['admin' => true, 'user' => $this->id('admin'), 'code' => 'ob_start(); do_action("admin_notices"); return ob_get_clean();']);
		$this->assertStringNotContainsString('kc-meet-waiting-notice', $adminAfter, 'the notice goes once the link exists');
	}

	public function test_booking_when_google_refuses_the_event_stands_and_is_listed_for_retry(): void {
		$this->readyToBook(['Video A' => 'yes']);
		$this->emu()->fault(['method' => 'POST', 'path' => '/calendar/v3/calendars/primary/events', 'times' => 0, 'action' => 'status', 'status' => 400]);
		[$answer, $id] = $this->book3([$this->kc['services']['Video A']]);
		$this->assertTrue($answer['status'], 'core keeps the booking: ' . json_encode($answer));
		$this->assertNotNull($this->appointmentRow($id));
		$this->assertSame('failed', $this->jobRows($id)[0]['state'] ?? null);
	}

	// ------------------------------------------------------------------ 9. messages

	public function test_link_after_booking_and_resend_go_through_core_templates_and_sms(): void {
		$this->readyToBook(['Video A' => 'yes']);
		[$answer, $id, $mails] = $this->book3([$this->kc['services']['Video A']]);
		$url = $this->mappingRows($id)[0]['url'];
		$this->assertTrue($answer['link_send']['status'] ?? null, json_encode($answer['link_send']));
		$this->assertCount(2, $mails, json_encode($mails));
		$this->assertSame('patient@clinic.test', $mails[0]['to']);
		$this->assertStringContainsString("Google Meet Link : $url [meet_patient]", $mails[0]['message']);
		$this->assertStringContainsString('[meet_doctor]', $mails[1]['message']);
		$this->assertSame([$id], $this->wpOk('return get_option("kcm_standin_sms");'));

		$resent = $this->kc3('
			$mails = [];
			add_filter("pre_wp_mail", function ($null, $atts) use (&$mails) { $mails[] = $atts; return true; }, 10, 2);
			return ["answer" => $core::resend_link($args["id"]), "mails" => $mails];', ['id' => $id], $this->id('admin'));
		$this->assertTrue($resent['answer']['status'], json_encode($resent));
		$this->assertCount(2, $resent['mails']);
		$this->assertStringContainsString($url, $resent['mails'][0]['message']);
		$this->assertSame([$id, $id], $this->wpOk('return get_option("kcm_standin_sms");'));
	}

	public function test_resend_without_a_link_answers_false_and_sends_nothing(): void {
		$this->configureOAuth();
		$this->kc = $this->kcClinic(['Video A' => 'yes']);
		$id = $this->kcAppointment(self::day(5));
		$this->wpOk('update_user_meta((int) $args["d"], "telemed_type", "googlemeet");', ['d' => $this->id('doctor')]);
		$r = $this->kc3('
			$mails = [];
			add_filter("pre_wp_mail", function ($null, $atts) use (&$mails) { $mails[] = $atts; return true; }, 10, 2);
			return ["answer" => $core::resend_link($args["id"]), "mails" => $mails];', ['id' => $id], $this->id('admin'));
		$this->assertFalse($r['answer']['status'], json_encode($r));
		$this->assertSame([], $r['mails']);
	}
}
