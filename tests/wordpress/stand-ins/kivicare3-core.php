<?php
/**
 * TEST STAND-IN — NOT KiviCare.
 *
 * KiviCare core cannot be installed here (it is in no package registry). This stand-in does what
 * KiviCare 3.6's controllers do when they call the Google Meet add-on, step for step as
 * ../../../../shared/KIVICARE.md describes them (observed with real core 3.6.13) and as core's
 * public code reads:
 * - KCGooglemeetController::saveGoogleMeetConfig: apply_filters('kcgm_saved_googlemeet_config',
 *   ['data' => $request_data]); getGoogleMeetEventTemplateAndConfigData: the template posts plus
 *   apply_filters('kcgm_edit_googlemeet', []) as `config`; saveGoogleMeetEventTemplate:
 *   apply_filters('kcgm_save_googlemeet_event_template', ['data' => $request_data['data']]);
 * - KCAppointmentController::save: a new booking calls kcgm_save_appointment_event once per
 *   telemed service, before the service rows are written, and deletes the booking (service rows,
 *   row, action kc_appointment_cancel) when a call answers an empty status; then
 *   kc_appointment_book and kcgm_save_appointment_event_link_send. An edit calls the save filter
 *   again (per telemed service), then kcgm_remove_appointment_event when the status is 0, and
 *   relays a failed status to the admin;
 * - status changes: 0 → kcgm_remove_appointment_event, kc_appointment_cancel,
 *   kc_appointment_status_update; 1 → the save filter with type status_update when the
 *   appointment has no mapping row;
 * - KCAppointment::delete (loopAndDelete): do_action('kc_appointment_delete', $id) for each row
 *   before deleting it, no add-on call;
 * - resendZoomLink: apply_filters('kcgm_save_appointment_event_link_resend', $request_data) for a
 *   googlemeet doctor;
 * - KCAppointmentController::getAppointmentQueue (the appointment list): the page's rows (10 per
 *   page, by date), apply_filters('kct_get_meeting_list', ['appointment_ids' => '1,2,3']) once
 *   for the page (an answer still carrying `appointment_ids` means no Zoom add-on), the Meet
 *   link per row from the mapping table, then apply_filters('kivicare_appointment_queue_lists',
 *   $appointment) per row; KCAppointmentController::index (the calendar): rows between the
 *   request's start_date and end_date, apply_filters('kivicare_appointment_list_data', $item,
 *   $appointment) per row;
 * - kcCommonEmailFunction($id, 'Telemed', 'meet_patient'|'meet_doctor') (the admin-editable
 *   templates, {{meet_link}} = the first mapping row's url) and kcSendAppointmentMeetSms($id)
 *   (records the SMS in the option kcm_standin_sms).
 * Loaded by site/mu-plugins/kc-meet-test-bed.php when a test asks for KiviCare 3.x (kc_core '3').
 */

namespace KcMeetTestBed\KiviCare3 {
	final class Core {
		/** Telemed services of an appointment request: service ids → names (only 'yes' ones). */
		private static function telemed_names(array $service_ids, int $doctor_id, int $clinic_id): array {
			global $wpdb;
			$names = [];
			foreach ($service_ids as $sid) {
				$row = $wpdb->get_row($wpdb->prepare(
					"SELECT s.name, m.telemed_service FROM {$wpdb->prefix}kc_services s JOIN {$wpdb->prefix}kc_service_doctor_mapping m ON m.service_id = s.id AND m.doctor_id = %d AND m.clinic_id = %d WHERE s.id = %d",
					$doctor_id, $clinic_id, (int) $sid), ARRAY_A);
				if ($row && $row['telemed_service'] === 'yes') {
					$names[] = $row['name'];
				}
			}
			return $names;
		}

		private static function all_names(array $service_ids): string {
			global $wpdb;
			$names = [];
			foreach ($service_ids as $sid) {
				$names[] = (string) $wpdb->get_var($wpdb->prepare("SELECT name FROM {$wpdb->prefix}kc_services WHERE id = %d", (int) $sid));
			}
			return implode(',', $names);
		}

		/** KCGooglemeetController::saveGoogleMeetConfig (administrators only). */
		public static function save_google_meet_config(array $request_data) {
			if (!current_user_can('administrator')) {
				return ['status' => false, 'status_code' => 403];
			}
			return apply_filters('kcgm_saved_googlemeet_config', ['data' => $request_data]);
		}

		/** KCGooglemeetController::getGoogleMeetEventTemplateAndConfigData. */
		public static function get_google_meet_config(): array {
			$posts = get_posts(['post_type' => 'kivicare_gmeet_tmp']);
			$config = apply_filters('kcgm_edit_googlemeet', []);
			return ['status' => !empty($posts), 'data' => array_map(static fn($p) => $p->to_array(), $posts), 'config' => $config];
		}

		/** KCGooglemeetController::saveGoogleMeetEventTemplate. */
		public static function save_google_meet_event_template(array $request_data) {
			return apply_filters('kcgm_save_googlemeet_event_template', ['data' => $request_data['data']]);
		}

		/**
		 * KCAppointmentController::save. $req: id (edit) or none (new), doctor, patient, clinic,
		 * services (ids), day, start, end, status, payment_mode (default paymentOffline).
		 */
		public static function save_appointment(array $req): array {
			global $wpdb;
			$p = $wpdb->prefix;
			$row = [
				'appointment_start_date' => $req['day'],
				'appointment_start_time' => $req['start'] ?? '10:00:00',
				'appointment_end_date'   => $req['day'],
				'appointment_end_time'   => $req['end'] ?? '10:30:00',
				'visit_type'             => 'consultation',
				'clinic_id'              => (int) $req['clinic'],
				'doctor_id'              => (int) $req['doctor'],
				'patient_id'             => (int) $req['patient'],
				'status'                 => (int) ($req['status'] ?? 1),
				'description'            => 'booked by reception',
			];
			$services = array_map('intval', (array) ($req['services'] ?? []));
			$telemed = self::telemed_names($services, (int) $req['doctor'], (int) $req['clinic']);
			// Core calls the Meet add-on only for a doctor whose telemed_type is googlemeet
			// (kcCheckDoctorTelemedType; else Zoom's filter) and not for a booking paid through
			// WooCommerce (payment_mode paymentWoocommerce: the order decides).
			if (($req['payment_mode'] ?? 'paymentOffline') === 'paymentWoocommerce'
				|| get_user_meta((int) $req['doctor'], 'telemed_type', true) !== 'googlemeet') {
				$telemed = [];
			}
			$argument = ['service' => self::all_names($services)];
			$answers = [];

			if (empty($req['id'])) {
				$row['created_at'] = current_time('mysql');
				$wpdb->insert("{$p}kc_appointments", $row);
				$id = (int) $wpdb->insert_id;
				foreach ($telemed as $unused) {
					$res = apply_filters('kcgm_save_appointment_event', ['appoinment_id' => (string) $id] + $argument);
					$answers[] = $res;
					if (empty($res['status'])) {
						// Core: the booking is deleted when the video meeting could not be generated.
						$wpdb->delete("{$p}kc_appointment_service_mapping", ['appointment_id' => $id]);
						$wpdb->delete("{$p}kc_appointments", ['id' => $id]);
						do_action('kc_appointment_cancel', $id);
						return ['status' => false, 'message' => 'Failed to generate Video Meeting', 'id' => $id, 'answers' => $answers];
					}
				}
				foreach ($services as $sid) {
					$wpdb->insert("{$p}kc_appointment_service_mapping", ['appointment_id' => $id, 'service_id' => $sid, 'status' => 1, 'created_at' => current_time('mysql')]);
				}
				do_action('kc_appointment_book', $id);
				$sent = $telemed ? apply_filters('kcgm_save_appointment_event_link_send', ['appoinment_id' => $id]) : null;
				return ['status' => true, 'message' => 'Appointment is Successfully booked', 'id' => $id, 'answers' => $answers, 'link_send' => $sent];
			}

			$id = (int) $req['id'];
			$wpdb->update("{$p}kc_appointments", $row, ['id' => $id]);
			$failed = null;
			foreach ($telemed as $unused) {
				$res = apply_filters('kcgm_save_appointment_event', ['appoinment_id' => (string) $id] + $argument);
				$answers[] = $res;
				if (empty($res['status']) && $failed === null) {
					$failed = $res;
				}
			}
			if ((int) $row['status'] === 0) {
				$answers[] = apply_filters('kcgm_remove_appointment_event', ['appoinment_id' => (string) $id]);
			}
			if ($failed !== null) {
				return ['status' => false, 'message' => (string) ($failed['message'] ?? 'Failed to generate Video Meeting'), 'id' => $id, 'answers' => $answers];
			}
			return ['status' => true, 'message' => 'Appointment is Successfully updated', 'id' => $id, 'answers' => $answers];
		}

		/**
		 * KCAppointmentController::updateStatus, in core's order: for status 0 the add-on's remove
		 * filter and `kc_appointment_cancel` run while the row still has its old status, then the
		 * row is updated; for status 1 the row is updated first, then the save filter
		 * (through kivicareWoocommercePaymentComplete(…, 'status_update')) when no mapping row exists.
		 */
		public static function update_status(int $id, int $status): array {
			global $wpdb;
			$p = $wpdb->prefix;
			$answer = null;
			if ($status === 0) {
				$answer = apply_filters('kcgm_remove_appointment_event', ['appoinment_id' => (string) $id]);
				do_action('kc_appointment_cancel', $id);
			}
			$wpdb->update("{$p}kc_appointments", ['status' => $status], ['id' => $id]);
			if ($status === 1) {
				$mapped = (int) $wpdb->get_var($wpdb->prepare("SELECT COUNT(*) FROM {$p}kc_appointment_google_meet_mappings WHERE appointment_id = %d", $id));
				if ($mapped === 0) {
					$answer = apply_filters('kcgm_save_appointment_event', ['appoinment_id' => (string) $id, 'type' => 'status_update']);
				}
			}
			do_action('kc_appointment_status_update', $id, $status);
			return ['status' => true, 'answer' => $answer];
		}

		/** KCAppointment::delete → loopAndDelete: the action per row, before the row goes. */
		public static function delete_appointments(array $ids): void {
			global $wpdb;
			$p = $wpdb->prefix;
			foreach ($ids as $id) {
				do_action('kc_appointment_delete', (string) $id);
				$wpdb->delete("{$p}kc_appointment_service_mapping", ['appointment_id' => (int) $id]);
				$wpdb->delete("{$p}kc_appointments", ['id' => (int) $id]);
			}
		}

		/** KCAppointmentController::getAppointmentQueue: one page of the appointment list. */
		public static function appointment_queue(int $page = 1): array {
			global $wpdb;
			$p = $wpdb->prefix;
			$rows = $wpdb->get_results($wpdb->prepare("SELECT DISTINCT {$p}kc_appointments.* FROM {$p}kc_appointments WHERE 0 = 0 ORDER BY appointment_start_date ASC, appointment_start_time ASC LIMIT 10 OFFSET %d", ($page - 1) * 10));
			if (!$rows) {
				return [];
			}
			$zoom = apply_filters('kct_get_meeting_list', ['appointment_ids' => implode(',', array_map(static fn($r) => $r->id, $rows))]);
			$zoom = isset($zoom['appointment_ids']) ? [] : (array) $zoom;
			$out = [];
			foreach ($rows as $appointment) {
				$url = $wpdb->get_var("SELECT url FROM {$p}kc_appointment_google_meet_mappings WHERE appointment_id=" . (int) $appointment->id);
				$appointment->zoom_data = $url ? (object) ['join_url' => $url, 'start_url' => $url] : null;
				$appointment->video_consultation = !empty($appointment->zoom_data);
				$out[] = apply_filters('kivicare_appointment_queue_lists', $appointment);
			}
			return $out;
		}

		/** KCAppointmentController::index: the calendar's rows between start_date and end_date (request inputs). */
		public static function appointment_calendar(): array {
			global $wpdb;
			$p = $wpdb->prefix;
			$rows = $wpdb->get_results($wpdb->prepare("SELECT {$p}kc_appointments.* FROM {$p}kc_appointments WHERE appointment_start_date >= %s AND appointment_start_date <= %s", $_REQUEST['start_date'] ?? '', $_REQUEST['end_date'] ?? ''));
			$out = [];
			foreach ($rows as $appointment) {
				$item = ['id' => (int) $appointment->id, 'status' => $appointment->status, 'start' => $appointment->appointment_start_date . ' ' . $appointment->appointment_start_time];
				$out[] = apply_filters('kivicare_appointment_list_data', $item, $appointment);
			}
			return $out;
		}

		/** KCAppointmentController::resendZoomLink. */
		public static function resend_link(int $id): array {
			global $wpdb;
			$doctor = (int) $wpdb->get_var($wpdb->prepare("SELECT doctor_id FROM {$wpdb->prefix}kc_appointments WHERE id = %d", $id));
			if (get_user_meta($doctor, 'telemed_type', true) !== 'googlemeet') {
				return ['status' => false, 'message' => 'not a Google Meet doctor'];
			}
			$res = apply_filters('kcgm_save_appointment_event_link_resend', ['id' => (string) $id]);
			return $res ? ['status' => true, 'data' => $res] : ['status' => false, 'data' => $res];
		}
	}
}

namespace {
	if (!function_exists('kcCommonEmailFunction')) {
		/** Core 3.x's mailer of its admin-editable templates (stand-in: meet_patient / meet_doctor). */
		function kcCommonEmailFunction($appointment_id, $type, $template) {
			global $wpdb;
			$p = $wpdb->prefix;
			$row = $wpdb->get_row($wpdb->prepare("SELECT * FROM {$p}kc_appointments WHERE id = %d", (int) $appointment_id), ARRAY_A);
			$url = (string) $wpdb->get_var($wpdb->prepare("SELECT url FROM {$p}kc_appointment_google_meet_mappings WHERE appointment_id = %d ORDER BY id LIMIT 1", (int) $appointment_id));
			if (!$row || $type !== 'Telemed' || !in_array($template, ['meet_patient', 'meet_doctor'], true)) {
				return false;
			}
			$user = get_userdata((int) ($template === 'meet_patient' ? $row['patient_id'] : $row['doctor_id']));
			$body = str_replace('{{meet_link}}', $url, 'Your video consultation. Google Meet Link : {{meet_link}} [' . $template . ']');
			return $user ? wp_mail($user->user_email, 'Google Meet Video Conference appointment', $body) : false;
		}
	}
	if (!function_exists('kcSendAppointmentMeetSms')) {
		/** Core 3.x's SMS/WhatsApp sender of the Meet link (stand-in: records the call). */
		function kcSendAppointmentMeetSms($appointment_id) {
			$sent = get_option('kcm_standin_sms', []);
			$sent[] = (int) $appointment_id;
			update_option('kcm_standin_sms', $sent);
			return true;
		}
	}
}
