<?php
namespace KcMeetTest;

/**
 * The plugin's hooks are data (KC_Meet_Hooks::HOOKS) so that a request loads a component only
 * when one of its hooks fires: every entry names a real method, its hook names agree with the
 * components' constants, and a request that fires none of them loads none of the components.
 */
final class HooksTableTest extends WpTestCase {
	public function test_every_hooked_method_exists_on_its_component(): void {
		$missing = $this->wpOk('
			$missing = [];
			foreach (KC_Meet_Hooks::HOOKS as $group => $hooks) {
				foreach ($hooks as [$hook, $callback, $priority, $args]) {
					if (is_array($callback)) {
						$m = new ReflectionMethod($callback[0], $callback[1]);
						$ok = $m->isPublic() && $m->isStatic();
					} else {
						$class = KC_Meet_Hooks::COMPONENTS[$group] ?? null;
						$ok = $class !== null && method_exists($class, $callback) && (new ReflectionMethod($class, $callback))->isPublic();
					}
					if (!$ok) { $missing[] = "$group: $hook"; }
				}
			}
			return $missing;');
		$this->assertSame([], $missing);
	}

	public function test_hook_names_agree_with_the_components_constants(): void {
		$r = $this->wpOk('
			$hooked = [];
			foreach (KC_Meet_Hooks::HOOKS as $group => $hooks) {
				foreach ($hooks as [$hook, $callback]) {
					$hooked[$group][] = $hook . " " . (is_array($callback) ? implode("::", $callback) : $callback);
				}
			}
			$expected = [
				"admin_doctors" => ["admin_post_" . KC_Meet_Admin_Doctors::CHECK_ACTION . " handle_check", "admin_post_" . KC_Meet_Admin_Doctors::SYNC_ACTION . " handle_sync",
					"admin_post_" . KC_Meet_Admin_Doctors::DISCONNECT_ACTION . " handle_disconnect"],
				"admin_appointments" => ["admin_post_" . KC_Meet_Admin_Appointments::RETRY_ACTION . " handle_retry", "admin_post_" . KC_Meet_Admin_Appointments::RECREATE_ACTION . " handle_recreate",
					"admin_post_" . KC_Meet_Admin_Appointments::ACCEPT_ACTION . " handle_accept", "admin_post_" . KC_Meet_Admin_Appointments::ACCEPT_MOVE . " handle_accept_move",
					"admin_post_" . KC_Meet_Admin_Appointments::REVERT_MOVE . " handle_revert_move"],
				"admin" => ["admin_post_" . KC_Meet_Admin_Page::RETRY_ACTION . " handle_retry", "admin_post_" . KC_Meet_Admin_Page::CLEAR_ERRORS_ACTION . " handle_clear_errors", "admin_post_" . KC_Meet_Admin_Page::DISMISS_FLAG_ACTION . " handle_dismiss_flag"],
				"profile" => ["admin_post_" . KC_Meet_Profile::CONNECT_ACTION . " handle_connect_start", "admin_post_" . KC_Meet_Profile::DISCONNECT_ACTION . " handle_disconnect"],
				"woocommerce" => [KC_Meet_WooCommerce::TIMEOUT_HOOK . " on_unpaid_timeout"],
				"appointments" => [KC_Meet_Appointment_Hooks::BACKFILL_HOOK . " backfill_doctor"],
				"background" => array_map(static fn($h) => $h . " KC_Meet_Background::" . substr($h, strlen("kc_meet_")), KC_Meet_Lifecycle::CRON_HOOKS),
			];
			$missing = [];
			foreach (["SETTINGS_SLUG" => KC_Meet_Admin_Page::SLUG, "MENU_SLUG" => KC_Meet_Admin_Screens::MENU_SLUG, "APPOINTMENTS_SLUG" => KC_Meet_Admin_Appointments::SLUG, "CAP" => KC_Meet_Access::ADMIN_CAP] as $name => $slug) {
				if (constant("KC_Meet_Admin_Menu::$name") !== $slug) { $missing[] = "KC_Meet_Admin_Menu::$name"; }
			}
			$own = ["SCHEMA_CHECKED_OPTION" => KC_Meet_Lifecycle::SCHEMA_CHECKED_OPTION, "NOTICES_WAITING" => KC_Meet_Notices::NOTICES_WAITING,
				"REVIEW_WAITING" => KC_Meet_Notices::REVIEW_WAITING, "WAITING_OPTION" => KC_Meet_Waiting::OPTION,
				"ATTENTION_WAITING" => KC_Meet_Doctor_Notices::ATTENTION_WAITING, "DOCTOR_ROLE" => KC_Meet_Access::DOCTOR_ROLE, "SETTINGS_SLUG" => KC_Meet_Admin_Page::SLUG];
			foreach ($own as $name => $value) {
				if (constant("KC_Meet_Hooks::$name") !== $value) { $missing[] = "KC_Meet_Hooks::$name"; }
			}
			foreach ($expected as $group => $entries) {
				foreach ($entries as $entry) {
					if (!in_array($entry, $hooked[$group], true)) { $missing[] = "$group: $entry"; }
				}
			}
			return $missing;');
		$this->assertSame([], $r);
	}

	public function test_a_page_view_that_fires_none_of_their_hooks_loads_no_component(): void {
		$hooked = $this->wpOk('
			global $wp_filter;
			return isset($wp_filter["kc_telemed_providers"]) && $wp_filter["kc_telemed_providers"]->has_filter("kc_telemed_providers", ["KC_Meet_Hooks", "kivicare4__add_provider"]) !== false;');
		$this->assertTrue($hooked, 'the features are hooked');
		$components = $this->wpOk('return array_values(KC_Meet_Hooks::COMPONENTS);');
		foreach (['/' => $this->http(), '/wp-admin/' => $this->loggedIn('site_admin')] as $url => $client) {
			$r = $client->get($url, ['X-KC-Test-Classes' => '1']);
			$this->assertSame(200, $r->status, $url);
			$this->assertSame(1, preg_match('/<!-- kc-test-classes: ([^>]*) -->/', $r->body, $m), "the test bed lists the classes of $url");
			$loaded = array_values(array_intersect($components, explode(' ', trim($m[1]))));
			// wp-admin too: whether the privacy-policy text is needed is decided without the
			// privacy component (nobody reviewed the policy texts here).
			$this->assertSame([], $loaded, "components loaded by $url");
		}
		$providers = $this->wpOk(['kc_core' => '4', 'code' => 'return array_keys((array) apply_filters("kc_telemed_providers", []));']);
		$this->assertContains('googlemeet', $providers, 'a hook that fires loads its component and runs it');
	}
}
