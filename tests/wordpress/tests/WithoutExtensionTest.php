<?php
namespace KcMeetTest;

/**
 * 10. PHP without the kc_meet extension: the plugin loads, says so once, and nothing is fatal. KiviCare
 *     core sees the add-on as active all the same, so its bookings must keep working (KIVICARE.md: core
 *     3.x deletes a booking whose save filter answers no status; 4.x rejects a WooCommerce booking
 *     without the add-on's gateway) — also while the extension rejects the site's configuration. The
 *     Google event follows through the reconcile pass once the extension works again.
 */
final class WithoutExtensionTest extends WpTestCase {
	use KiviCareFixtures;

	/** Runner options: the extension loaded, but the site's configuration rejected (an http:// Google endpoint that is not loopback: code 1001). */
	private const REJECTED = ['env' => ['KC_MEET_EMU_URL' => 'http://google.example.invalid']];
	private const NO_EXTENSION = ['extension' => false];
	private const NOTICES = '
		set_current_screen($args["screen"]);
		ob_start();
		do_action("admin_notices");
		do_action("all_admin_notices");
		$html = ob_get_clean();
		$doc = new DOMDocument();
		@$doc->loadHTML("<div>" . $html . "</div>");
		$n = 0; $ids = [];
		foreach ((new DOMXPath($doc))->query("//div[contains(concat(\" \", normalize-space(@class), \" \"), \" notice \")]") as $el) { $n++; $ids[] = $el->getAttribute("id"); }
		return ["count" => $n, "ids" => $ids, "html" => $html, "ext" => extension_loaded("kc_meet")];';

	public function test_plugin_loads_without_the_extension_with_exactly_one_admin_notice(): void {
		$r = $this->wp(['admin' => true, 'user' => $this->id('admin'), 'code' => self::NOTICES, 'args' => ['screen' => 'dashboard']], [], ['extension' => false]);
		$this->assertTrue($r->ok(), $r->describe());
		$res = $r->result();
		$this->assertFalse($res['ext'], 'the runner really ran without the extension');
		$this->assertSame(1, $res['count'], 'admin notices: ' . $res['html']);
		$this->assertStringContainsString('kc_meet', $res['html']);
	}

	public function test_plugin_without_the_extension_hooks_exactly_one_admin_notice_callback(): void {
		$r = $this->wp(['admin' => true, 'user' => $this->id('admin'), 'code' => '
			global $wp_filter;
			$ours = [];
			foreach ((isset($wp_filter["admin_notices"]) ? $wp_filter["admin_notices"]->callbacks : []) as $prio => $cbs) {
				foreach ($cbs as $cb) {
					$f = $cb["function"];
					$ref = is_array($f) ? new ReflectionMethod($f[0], $f[1]) : (is_string($f) && strpos($f, "::") ? new ReflectionMethod($f) : new ReflectionFunction($f));
					if (strpos((string) $ref->getFileName(), "/plugins/kivicare-google-meet/") !== false) {
						$ours[] = (is_array($f) ? (is_object($f[0]) ? get_class($f[0]) : $f[0]) . "::" . $f[1] : (is_string($f) ? $f : "closure"));
					}
				}
			}
			return $ours;'], [], ['extension' => false]);
		$this->assertTrue($r->ok(), $r->describe());
		$this->assertCount(1, $r->result(), json_encode($r->result()));
	}

	public function test_plugin_without_the_extension_shows_no_notice_to_a_doctor(): void {
		$r = $this->wp(['admin' => true, 'user' => $this->id('doctor'), 'code' => self::NOTICES, 'args' => ['screen' => 'profile']], [], ['extension' => false]);
		$this->assertTrue($r->ok(), $r->describe());
		$this->assertSame(0, $r->result()['count'], $r->result()['html']);
	}

	public function test_plugin_without_the_extension_is_still_active_and_raises_no_php_error(): void {
		$r = $this->wp('require_once ABSPATH . "wp-admin/includes/plugin.php"; return is_plugin_active($args["p"]);', ['p' => self::PLUGIN], ['extension' => false]);
		$this->assertTrue($r->ok(), $r->describe());
		$this->assertTrue($r->result());
		$ours = array_filter($r->report['php_errors'], static fn($e) => strpos($e['file'], 'kivicare-google-meet') !== false);
		$this->assertSame([], array_values($ours), 'PHP errors from the plugin');
	}

	public function test_plugin_can_be_activated_without_the_extension(): void {
		$r = $this->wp(['admin' => true, 'user' => 1, 'code' => '
			deactivate_plugins($args["p"]);
			$was = is_plugin_active($args["p"]);
			$res = activate_plugin($args["p"]);
			return ["was" => $was, "error" => is_wp_error($res) ? $res->get_error_message() : null, "active" => is_plugin_active($args["p"])];',
			'args' => ['p' => self::PLUGIN]], [], ['extension' => false]);
		$this->assertTrue($r->ok(), $r->describe());
		$this->assertFalse($r->result()['was']);
		$this->assertNull($r->result()['error']);
		$this->assertTrue($r->result()['active']);
	}

	public function test_front_end_filters_without_the_extension_do_not_fatal(): void {
		$r = $this->wp('return [
			"connect" => apply_filters("kcgm_connect_doctor", ["id" => (string) $args["d"], "code" => "4/0abc"]),
			"providers" => apply_filters("kc_telemed_providers", []),
			"meta" => get_user_meta((int) $args["d"], "kiviCare_google_meet_connect", true)];', ['d' => $this->id('doctor')], ['extension' => false]);
		$this->assertTrue($r->ok(), $r->describe());
		$this->assertNotSame(true, $r->result()['connect']['status'] ?? null, 'connect cannot succeed without the extension');
		$this->assertNotSame('on', $r->result()['meta']);
	}

	public function test_plugin_without_the_extension_hooks_only_the_notice_and_the_degraded_mode(): void {
		$r = $this->wp(['admin' => true, 'user' => $this->id('admin'), 'code' => '
			global $wp_filter;
			$ours = [];
			foreach ($wp_filter as $hook => $wp_hook) {
				foreach ($wp_hook->callbacks as $prio => $cbs) {
					foreach ($cbs as $cb) {
						$f = $cb["function"];
						try {
							// Our static callbacks by name (their classes load on first use); the rest by file.
							$mine = is_array($f) && is_string($f[0]) && stripos($f[0], "KC_Meet_") === 0;
							$ref = $mine ? null : (is_array($f) ? new ReflectionMethod($f[0], $f[1]) : (is_string($f) && strpos($f, "::") ? new ReflectionMethod($f) : new ReflectionFunction($f)));
						} catch (ReflectionException $e) {
							continue; // WordPress hooks functions of files it has not loaded (e.g. ajax handlers)
						}
						if ($mine || strpos((string) $ref->getFileName(), "/plugins/kivicare-google-meet/") !== false) {
							$ours[] = $hook . " " . (is_array($f) ? (is_object($f[0]) ? get_class($f[0]) : $f[0]) . "::" . $f[1] : (is_string($f) ? $f : "closure"));
						}
					}
				}
			}
			sort($ours);
			return $ours;'], [], self::NO_EXTENSION);
		$this->assertTrue($r->ok(), $r->describe());
		$this->assertSame([
			'admin_notices KC_Meet_Notices::render_missing_extension',
			'deactivate_' . self::PLUGIN . ' KC_Meet_Lifecycle::deactivate',
			'kc_payment_gateways KC_Meet_Degraded::register_gateway',
			'kcgm_connect_doctor KC_Meet_Degraded::unavailable',
			'kcgm_disconnect_doctor KC_Meet_Degraded::unavailable',
			'kcgm_remove_appointment_event KC_Meet_Degraded::remove_appointment_event',
			'kcgm_save_appointment_event KC_Meet_Degraded::save_appointment_event',
		], $r->result());
	}

	public function test_kivicare3_connect_and_disconnect_without_the_extension_are_refused_with_a_message(): void {
		$r = $this->wp(['kc_core' => '3', 'user' => $this->id('doctor'), 'code' => '
			return [apply_filters("kcgm_connect_doctor", ["id" => (string) $args["d"], "code" => "4/abc"]),
				apply_filters("kcgm_disconnect_doctor", ["id" => (string) $args["d"]])];'], ['d' => $this->id('doctor')], self::NO_EXTENSION);
		$this->assertTrue($r->ok(), $r->describe());
		foreach ($r->result() as $answer) {
			$this->assertFalse($answer['status'], json_encode($answer));
			$this->assertStringContainsString('Google Meet is unavailable', $answer['message']);
		}
	}

	/**
	 * Core 3.x's booking of a telemed service, a status change to 0 and back to 1, then an edit to
	 * status 0, run with the runner options $opts; what core answered and what became of the row.
	 */
	private function kc3BookingFlow(array $opts): array {
		$r = $this->wp(['kc_core' => '3', 'user' => $this->id('admin'), 'code' => '
			global $wpdb;
			$core = \KcMeetTestBed\KiviCare3\Core::class;
			$row = static function ($id) use ($wpdb) {
				return $wpdb->get_row($wpdb->prepare("SELECT status FROM {$wpdb->prefix}kc_appointments WHERE id = %d", $id), ARRAY_A);
			};
			// The doctor connected Google Meet while the extension worked: core calls the add-on for them.
			update_user_meta((int) $args["req"]["doctor"], "telemed_type", "googlemeet");
			$booked = $core::save_appointment($args["req"]);
			$id = (int) $booked["id"];
			$after_booking = $row($id);
			$service_rows = (int) $wpdb->get_var($wpdb->prepare("SELECT COUNT(*) FROM {$wpdb->prefix}kc_appointment_service_mapping WHERE appointment_id = %d", $id));
			$cancelled = $core::update_status($id, 0);
			$booked_again = $core::update_status($id, 1);
			$edited = $core::save_appointment(["id" => $id, "status" => 0] + $args["req"]);
			$plugin = KC_Meet_Plugin::instance();
			return ["booked" => $booked, "id" => $id, "after_booking" => $after_booking, "service_rows" => $service_rows,
				"cancelled" => $cancelled, "booked_again" => $booked_again, "edited" => $edited, "after_edit" => $row($id),
				"ext" => extension_loaded("kc_meet"), "features" => $plugin->features_registered(), "config_error" => $plugin->config_error()];',
		], ['req' => [
			'doctor' => $this->id('doctor'), 'patient' => $this->id('patient'), 'clinic' => $this->kc['clinic'],
			'services' => array_values($this->kc['services']), 'day' => self::day(5), 'start' => '09:00:00', 'end' => '09:30:00', 'status' => 1,
		]], $opts);
		$this->assertTrue($r->ok(), $r->describe());
		$ours = array_filter($r->report['php_errors'], static fn($e) => strpos($e['file'], 'kivicare-google-meet') !== false);
		$this->assertSame([], array_values($ours), 'PHP errors from the plugin');
		$res = $r->result();
		$this->assertFalse($res['features'], 'the features are not hooked');

		// The booking stands: core kept the row and wrote its service rows.
		$this->assertTrue($res['booked']['status'], 'core kept the booking: ' . json_encode($res['booked']));
		$this->assertSame('Appointment is Successfully booked', $res['booked']['message']);
		$this->assertCount(1, $res['booked']['answers']);
		$answer = $res['booked']['answers'][0];
		$this->assertTrue($answer['status'], json_encode($answer));
		$this->assertSame('', $answer['join_url']);
		$this->assertNotSame('', (string) $answer['message']);
		$this->assertSame('1', (string) $res['after_booking']['status']);
		$this->assertSame(1, $res['service_rows']);
		$this->assertNotNull($this->appointmentRow($res['id']));
		// Status changes and an edit to status 0: core shows no error.
		$this->assertTrue($res['cancelled']['answer']['status'], json_encode($res['cancelled']));
		$this->assertTrue($res['booked_again']['answer']['status'], json_encode($res['booked_again']));
		$this->assertTrue($res['edited']['status'], json_encode($res['edited']));
		foreach ($res['edited']['answers'] as $a) {
			$this->assertTrue($a['status'], json_encode($a));
		}
		$this->assertSame('0', (string) $res['after_edit']['status']);
		// Nothing reached Google or our tables.
		$this->assertSame([], $this->emu()->requests());
		$this->assertSame([], $this->mappingRows($res['id']));
		$this->assertSame([], $this->jobRows());
		return $res;
	}

	public function test_kivicare3_booking_without_the_extension_stands_and_core_shows_no_error(): void {
		$this->kc = $this->kcClinic();
		$res = $this->kc3BookingFlow(self::NO_EXTENSION);
		$this->assertFalse($res['ext']);
	}

	public function test_kivicare3_booking_while_the_configuration_is_rejected_stands_and_core_shows_no_error(): void {
		$this->kc = $this->kcClinic();
		$res = $this->kc3BookingFlow(self::REJECTED);
		$this->assertTrue($res['ext']);
		$this->assertSame(1001, $res['config_error']['code'] ?? null, 'the configuration was rejected: ' . json_encode($res['config_error']));
	}

	public function test_booking_made_without_the_extension_gets_its_event_from_the_reconcile_pass(): void {
		$this->readyToBook();
		$r = $this->wp(['kc_core' => '3', 'user' => $this->id('admin'), 'code' => 'return \KcMeetTestBed\KiviCare3\Core::save_appointment($args["req"]);'], ['req' => [
			'doctor' => $this->id('doctor'), 'patient' => $this->id('patient'), 'clinic' => $this->kc['clinic'],
			'services' => array_values($this->kc['services']), 'day' => self::day(5), 'start' => '09:00:00', 'end' => '09:30:00', 'status' => 1,
		]], self::NO_EXTENSION);
		$this->assertTrue($r->ok(), $r->describe());
		$this->assertTrue($r->result()['status'], json_encode($r->result()));
		$id = (int) $r->result()['id'];
		$this->assertSame([], $this->liveEvents());
		// The extension is back: the reconcile pass (daily, or `wp kc-meet reconcile`) creates the event.
		$fixed = $this->wpOk('return KC_Meet_Background::reconcile();');
		$this->assertSame(1, $fixed['fixed'] ?? null, json_encode($fixed));
		$events = $this->liveEvents();
		$this->assertCount(1, $events);
		$this->assertSame((string) $id, $events[0]['extendedProperties']['private']['kc_meet_appointment'] ?? null);
		$this->assertCount(1, $this->mappingRows($id));
	}

	/** KiviCare 4.x with WooCommerce: core's `woocommerce` gateway as a patient's booking looks it up. */
	private function kc4Gateway(array $opts): array {
		$opts['env'] = ($opts['env'] ?? []) + ['KC_MEET_WOOCOMMERCE' => '1'];
		$r = $this->wp(['kc_core' => '4', 'code' => '
			update_option("kiviCare_woocommerce_payment", "on");
			\App\baseClasses\KCPaymentGatewayFactory::init();
			$g = \App\baseClasses\KCPaymentGatewayFactory::get_available_gateway("woocommerce");
			return ["found" => $g ? get_class($g) : "Invalid parameter(s): paymentGateway",
				"gateways" => apply_filters("kc_payment_gateways", ["paypal" => ["class" => "X", "settings_key" => "kiviCare_paypalConfig"]]),
				"features" => KC_Meet_Plugin::instance()->features_registered()];'], [], $opts);
		$this->assertTrue($r->ok(), $r->describe());
		$res = $r->result();
		$this->assertFalse($res['features']);
		$this->assertSame('App\\paymentGateways\\KCWooCommerce', $res['found']);
		$this->assertSame(['class' => 'App\\paymentGateways\\KCWooCommerce', 'settings_key' => 'kiviCare_woocommerce_payment'], $res['gateways']['woocommerce'] ?? null);
		$this->assertSame(['class' => 'X', 'settings_key' => 'kiviCare_paypalConfig'], $res['gateways']['paypal'], 'core\'s own gateways are kept');
		return $res;
	}

	public function test_kivicare4_keeps_the_woocommerce_gateway_without_the_extension(): void {
		$this->kc4Gateway(self::NO_EXTENSION);
	}

	public function test_kivicare4_keeps_the_woocommerce_gateway_while_the_configuration_is_rejected(): void {
		$this->kc4Gateway(self::REJECTED);
	}
}
