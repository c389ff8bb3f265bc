<?php
namespace KcMeetTest;

/**
 * Users and personal data: a deleted doctor's grant is revoked, WordPress's privacy exporter and
 * eraser cover what kc-meet keeps, and the privacy-policy guide says what goes to Google.
 */
final class UsersPrivacyTest extends WpTestCase {
	use KiviCareFixtures;

	public function test_deleting_a_connected_doctor_stops_channels_revokes_and_erases(): void {
		$this->readyToBook();
		$doctor = $this->id('doctor');
		Db::query($this->db, "INSERT INTO wp_kc_meet_channels (channel_id, doctor_id, resource_id, token_hash, expires_at, state, created_at)
			VALUES ('kcm-chan-del', ?, 'res-1', REPEAT('0', 64), ?, 'active', UTC_TIMESTAMP())", [$doctor, (time() + 86400) * 1000]);
		$before = count($this->emu()->requests());
		$this->wpOk(['admin' => true, 'user' => 1, 'code' => 'require_once ABSPATH . "wp-admin/includes/user.php"; return wp_delete_user((int) $args["d"]);', 'args' => ['d' => $doctor]]);
		$paths = array_column(array_slice($this->emu()->requests(), $before), 'path');
		$this->assertContains('/calendar/v3/channels/stop', $paths, json_encode($paths));
		$this->assertContains('/revoke', $paths, json_encode($paths));
		$this->assertTrue($this->emu()->grants()[0]['revoked'], 'the grant is revoked at Google');
		$this->assertSame([], Db::query($this->db, 'SELECT * FROM wp_usermeta WHERE user_id = ?', [$doctor]));
		$this->assertSame([], Db::query($this->db, 'SELECT * FROM wp_kc_meet_doctors WHERE doctor_id = ?', [$doctor]));
	}

	public function test_deleting_a_patient_makes_no_google_request(): void {
		$this->readyToBook();
		$before = count($this->emu()->requests());
		$this->wpOk(['admin' => true, 'user' => 1, 'code' => 'require_once ABSPATH . "wp-admin/includes/user.php"; return wp_delete_user((int) $args["p"]);', 'args' => ['p' => $this->id('patient')]]);
		$this->assertSame([], array_slice($this->emu()->requests(), $before));
	}

	public function test_exporter_lists_the_connection_the_events_and_the_audit_trail(): void {
		$this->readyToBook();
		$id = $this->kcAppointment(self::day(4));
		$this->wpOk('return KC_Meet_Events::ensure("create", (int) $args["id"], [], "test");', ['id' => $id]);
		$link = $this->mappingRows($id)[0]['url'];
		$export = $this->wpOk(['admin' => true, 'user' => 1, 'code' => '
			$exporters = apply_filters("wp_privacy_personal_data_exporters", []);
			return [call_user_func($exporters["kc-meet"]["callback"], $args["doctor"], 1), call_user_func($exporters["kc-meet"]["callback"], $args["patient"], 1)];',
			'args' => ['doctor' => $this->users['doctor']['email'], 'patient' => $this->users['patient']['email']]]);
		[$doctor, $patient] = $export;
		$this->assertTrue($doctor['done']);
		$groups = array_count_values(array_column($doctor['data'], 'group_id'));
		$this->assertSame(1, $groups['kc-meet-connection'] ?? 0, json_encode($doctor));
		$this->assertSame(1, $groups['kc-meet-events'] ?? 0);
		$this->assertGreaterThan(0, $groups['kc-meet-audit'] ?? 0, 'the audit trail about the doctor');
		$values = array_merge(...array_map(static fn($i) => array_column($i['data'], 'value', 'name'), array_filter($doctor['data'], static fn($i) => $i['group_id'] === 'kc-meet-connection')));
		$this->assertSame(self::GOOGLE_EMAIL, $values['Google account']);
		$this->assertSame(['kc-meet-events'], array_values(array_unique(array_column($patient['data'], 'group_id'))), 'the patient: only their appointment\'s event');
		$this->assertContains($link, array_column($patient['data'][0]['data'], 'value'));
		$this->assertStringNotContainsString('ya29.', json_encode($export), 'no token in an export');
	}

	public function test_exporter_failing_in_the_extension_answers_and_records_the_failure(): void {
		$this->readyToBook();
		// The extension throws (its table is unreachable); WordPress's own exporters run in the same request.
		$r = $this->wp(['admin' => true, 'user' => 1, 'code' => '
			global $wpdb;
			$wpdb->query("RENAME TABLE {$wpdb->prefix}kc_meet_doctors TO {$wpdb->prefix}kc_meet_doctors_away");
			$exporters = apply_filters("wp_privacy_personal_data_exporters", []);
			$ours = call_user_func($exporters["kc-meet"]["callback"], $args["doctor"], 1);
			$core = call_user_func($exporters["wordpress-user"]["callback"], $args["doctor"], 1);
			$wpdb->query("RENAME TABLE {$wpdb->prefix}kc_meet_doctors_away TO {$wpdb->prefix}kc_meet_doctors");
			return ["ours" => $ours, "core_items" => count($core["data"])];',
			'args' => ['doctor' => $this->users['doctor']['email']]]);
		$this->assertTrue($r->ok(), 'the export request must not fail: ' . $r->describe());
		$this->assertSame(['data' => [], 'done' => true], $r->result()['ours'], 'a valid exporter answer');
		$this->assertGreaterThan(0, $r->result()['core_items'], 'the other exporters still export');
		$errors = Db::option($this->db, 'kc_meet_event_errors');
		$this->assertStringContainsString('privacy_export', (string) $errors, 'the failure is kept for the administrators');
	}

	public function test_eraser_disconnects_removes_the_audit_and_keeps_the_appointment_events(): void {
		$this->readyToBook();
		$id = $this->kcAppointment(self::day(4));
		$this->wpOk('return KC_Meet_Events::ensure("create", (int) $args["id"], [], "test");', ['id' => $id]);
		$doctor = $this->id('doctor');
		$this->assertGreaterThan(0, (int) Db::value($this->db, 'SELECT COUNT(*) FROM wp_kc_meet_audit WHERE doctor_id = ?', [$doctor]));
		$r = $this->wpOk(['admin' => true, 'user' => 1, 'code' => '
			$erasers = apply_filters("wp_privacy_personal_data_erasers", []);
			return call_user_func($erasers["kc-meet"]["callback"], $args["email"], 1);', 'args' => ['email' => $this->users['doctor']['email']]]);
		$this->assertTrue($r['items_removed'], json_encode($r));
		$this->assertTrue($r['items_retained'], 'the appointment\'s event belongs to the clinic\'s records');
		$this->assertStringContainsString('1 appointment', implode(' ', $r['messages']));
		$this->assertNull($this->metaValue($doctor, 'google_meet_access_token'));
		$this->assertCount(1, $this->emu()->requestsTo('/revoke'));
		$this->assertSame(0, (int) Db::value($this->db, 'SELECT COUNT(*) FROM wp_kc_meet_audit WHERE doctor_id = ?', [$doctor]));
		$this->assertCount(1, $this->mappingRows($id), 'KiviCare\'s mapping row stays');
	}

	public function test_privacy_policy_guide_says_what_goes_to_google(): void {
		$r = $this->loggedIn('site_admin')->get('/wp-admin/options-privacy.php?tab=policyguide');
		$this->assertSame(200, $r->status, $r->describe());
		$this->assertStringContainsString('Google Meet for KiviCare', $r->body, 'kc-meet adds its text to the policy guide');
		$this->assertStringContainsString('Google Meet link', $r->body);
		$this->assertStringContainsString('e-mail address as an attendee', $r->body);
		$this->assertStringContainsString('revokes the access', $r->body);
	}

	public function test_an_admin_page_builds_the_policy_text_only_once_wordpress_compares_it(): void {
		$registered = '
			require_once ABSPATH . "wp-admin/includes/class-wp-privacy-policy-content.php";
			do_action("admin_init");
			$p = new ReflectionProperty("WP_Privacy_Policy_Content", "policy_content");
			$p->setAccessible(true);
			return array_column($p->getValue(), "plugin_name");';
		$names = $this->wpOk(['admin' => true, 'user' => 1, 'code' => $registered]);
		$this->assertContains('WordPress', $names, 'WordPress registered its own text');
		$this->assertNotContains('Google Meet for KiviCare', $names, 'nobody reviewed the texts yet: WordPress compares nothing, kc-meet builds nothing');
		$this->assertSame(200, $this->loggedIn('site_admin')->get('/wp-admin/options-privacy.php?tab=policyguide')->status);
		$names = $this->wpOk(['admin' => true, 'user' => 1, 'code' => $registered]);
		$this->assertContains('Google Meet for KiviCare', $names, 'once reviewed, every admin page compares the texts');
		$names = $this->wpOk(['admin' => true, 'user' => $this->id('doctor'), 'code' => $registered]);
		$this->assertNotContains('Google Meet for KiviCare', $names, 'not for a user who cannot edit the policy page');
	}

	public function test_once_the_guide_was_reviewed_other_admin_pages_keep_the_policy_text_unchanged(): void {
		$admin = $this->loggedIn('site_admin');
		$page = (int) Db::option($this->db, 'wp_page_for_privacy_policy');
		$this->assertGreaterThan(0, $page, 'the site has a privacy policy page');
		// Opening the guide stores the texts it showed as reviewed on the policy page.
		$this->assertSame(200, $admin->get('/wp-admin/options-privacy.php?tab=policyguide')->status);
		$this->assertSame(1, (int) Db::value($this->db, "SELECT COUNT(*) FROM wp_postmeta WHERE post_id = ? AND meta_key = '_wp_suggested_privacy_policy_content' AND meta_value LIKE '%Google Meet for KiviCare%'", [$page]));
		// Every admin page compares the plugins' texts with the reviewed ones (text_change_check).
		// WordPress shows its "policy text changed" notice on the Privacy screen (privacy.php).
		foreach (['/wp-admin/', '/wp-admin/users.php', '/wp-admin/privacy.php'] as $url) {
			$r = $admin->get($url);
			$this->assertSame(200, $r->status, $url);
			$this->assertSame('not-changed', Db::option($this->db, '_wp_suggested_policy_text_has_changed'), "after $url");
			$this->assertStringNotContainsString('policy-text-updated', $r->body, "no \"policy text changed\" notice on $url");
		}
	}

	public function test_a_changed_policy_text_is_reported_on_the_privacy_screen(): void {
		$admin = $this->loggedIn('site_admin');
		$page = (int) Db::option($this->db, 'wp_page_for_privacy_policy');
		$this->assertSame(200, $admin->get('/wp-admin/options-privacy.php?tab=policyguide')->status);
		// The text reviewed was an older version of kc-meet's.
		$this->wpOk('
			foreach (get_post_meta($args["page"], "_wp_suggested_privacy_policy_content") as $old) {
				if (($old["plugin_name"] ?? "") === "Google Meet for KiviCare") {
					update_post_meta($args["page"], "_wp_suggested_privacy_policy_content", array_merge($old, ["policy_text" => "<p>An older text.</p>"]), $old);
				}
			}
			return true;', ['page' => $page]);
		$this->assertSame(200, $admin->get('/wp-admin/')->status);
		$this->assertSame('changed', Db::option($this->db, '_wp_suggested_policy_text_has_changed'));
		$r = $admin->get('/wp-admin/privacy.php');
		$this->assertStringContainsString('policy-text-updated', $r->body, 'WordPress tells the administrator to review the guide');
	}
}
