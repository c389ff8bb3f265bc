<?php
/**
 * TEST STAND-IN — NOT KiviCare.
 *
 * KiviCare core cannot be installed here (it is in no package registry). KiviCare 4.x core defines the
 * abstract class App\abstracts\KCAbstractTelemedProvider once core is loaded; telemed add-ons extend it
 * and register their class on the filter `kc_telemed_providers`. This stand-in declares that base class
 * with the constructor and the abstract method signatures of core 4.x (so a provider that misses one
 * fails here as it would under real core), plus the few concrete helpers core's factory calls.
 * It also carries a stand-in of core's factory lookup (KCTelemedFactoryStandIn) doing what core does:
 * apply_filters('kc_telemed_providers', []), `new $class($settings_key)`, and for a doctor pick the
 * provider from `telemed_type` only when get_doctor_access_token() is non-empty.
 */

namespace App\abstracts {
	if (!class_exists(KCAbstractTelemedProvider::class, false)) {
		abstract class KCAbstractTelemedProvider {
			protected $settings_key;
			protected $config;
			protected $provider_id;
			protected $provider_name;

			public function __construct($settings_key) {
				$this->settings_key = $settings_key;
				$this->config = $this->get_config();
				$this->init();
			}

			protected function init() {
			}

			public function init_hook() {
			}

			public function get_config() {
				$saved = get_option($this->settings_key, []);
				return wp_parse_args(is_array($saved) ? $saved : [], $this->get_default_config());
			}

			public function is_enabled() {
				return !empty($this->config['enabled']) && $this->is_configured();
			}

			public function disconnect_doctor(int $doctor_id): bool {
				return false;
			}

			public function supports_recording() {
				return false;
			}

			public function supports_waiting_room() {
				return false;
			}

			public function supports_password() {
				return false;
			}

			abstract protected function get_default_config();
			abstract public function get_provider_id();
			abstract public function get_provider_name();
			abstract public function is_configured();
			abstract public function create_meeting($meeting_data = array());
			abstract public function update_meeting($meeting_id, $meeting_data = array());
			abstract public function delete_meeting($meeting_id);
			abstract public function get_meeting($meeting_id);
			abstract public function test_connection($data = [], $doctor_id = 0);
			abstract public function update_doctor_config(int $doctor_id, array $config): bool;
			abstract public function get_authorization_url($doctor_id): string;
			abstract protected function save_zoom_meeting_record($meeting_data);
			abstract protected function delete_meeting_record($meeting_id);
			abstract public function get_meeting_by_appointment($appointment_id);
			abstract public function cancel_meeting_by_appointment($appointment_id);
			abstract public function get_doctor_access_token($doctor_id);
			abstract public function is_doctor_telemed_connected(): bool;
		}
	}
}

namespace KcMeetTestBed {
	/** Stand-in of KiviCare 4.x core's KCTelemedFactory lookups. */
	final class KCTelemedFactoryStandIn {
		public static function providers(): array {
			return apply_filters('kc_telemed_providers', []);
		}

		public static function create(string $provider_id) {
			$providers = self::providers();
			if (!isset($providers[$provider_id])) {
				return null;
			}
			$class = $providers[$provider_id]['class'];
			return class_exists($class) ? new $class($providers[$provider_id]['settings_key']) : null;
		}

		/** Core: provider named by the doctor's telemed_type, used only if it has an access token. */
		public static function provider_for_doctor(int $doctor_id) {
			$name = get_user_meta($doctor_id, 'telemed_type', true) ?: null;
			$ids = array_keys(self::providers());
			if ($name !== null && in_array($name, $ids, true)) {
				$ids = array_merge([$name], array_diff($ids, [$name]));
			}
			foreach ($ids as $id) {
				$p = self::create($id);
				if ($p && !empty($p->get_doctor_access_token($doctor_id))) {
					return $p;
				}
			}
			return null;
		}
	}
}
