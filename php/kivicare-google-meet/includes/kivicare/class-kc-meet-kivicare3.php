<?php
/**
 * KiviCare 3.x filters.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * The filters KiviCare 3.x calls for the doctor connection and the settings (ids may arrive as
 * strings). Every callback returns a status array (`['status' => bool, 'message' => string]`,
 * plus `data` where useful) and never throws.
 *
 * - `kcgm_connect_doctor` (`['id' => '2', 'code' => …]`): kc_meet_connect_postmessage().
 * - `kcgm_disconnect_doctor` (`['id' => '2']`): kc_meet_disconnect().
 *   Both only for a user who may manage that doctor's connection
 *   ({@see KC_Meet_Access::can_manage_doctor()}: the doctor themself, or an administrator of
 *   the doctor's site); anyone else gets `status` false with code
 *   {@see KC_Meet_Messages::FORBIDDEN} and nothing changes.
 *   Core 3.x passes the doctor id of the request without checking who asks in several
 *   versions: a patient must not bind their Google account to a doctor, nor disconnect one.
 * - `kcgm_saved_googlemeet_config` (core 3.x's `KCGooglemeetController::saveGoogleMeetConfig`
 *   passes `['data' => <the settings request>]`: `client_id`, `client_secret`, `app_name`,
 *   `enableCal`, and our `kc_meet_on_google_move` / `kc_meet_on_google_delete`; flat or under
 *   `google_meet_config` accepted too): {@see KC_Meet_Settings::save()}, the validator every
 *   settings writer shares (empty secret keeps the stored one; an invalid field saves nothing
 *   and answers `status` false with every problem and `code` 5001); needs `manage_options`.
 * - `kcgm_edit_googlemeet`: `['status' => true, 'data' => settings without the secret]`.
 * - `kcgm_change_woocommerce_module_status`, `kcgm_get_woocommerce_module_status`,
 *   `kcgm_woocommerce_add_to_cart`: answered by {@see KC_Meet_WooCommerce}.
 *
 *
 * Appointment events (argument `['appoinment_id' => id, …]` — core's spelling):
 * - `kcgm_save_appointment_event` (`service` => 'Svc A,Svc B', sometimes `type` =>
 *   'status_update'|'woocommerce'): kc_meet_create_event() with the data read through $wpdb plus
 *   the service names and `telemed` => true (core calls the filter only for telemed services,
 *   once per service, before their rows exist). Answers `['status' => true, 'message',
 *   'join_url']` — join_url '' while the link follows (pending/queued, or the doctor is not
 *   connected) — and `status` false only for a request without an appointment id.
 * - `kcgm_remove_appointment_event`: kc_meet_delete_event().
 * - `kcgm_save_appointment_event_link_send` (`['appoinment_id' => id]`) and
 *   `kcgm_save_appointment_event_link_resend` (`['id' => id]`, answers a bool): tell the patient
 *   and the doctor the Meet link, only when the mapping has one — through core's own templates
 *   and SMS sender when core has them, else our e-mail ({@see self::tell_link()}; filter
 *   `kc_meet_link_email`: `['to', 'subject', 'message', 'headers']`, appointment id, mapping).
 * - `kcgm_save_googlemeet_event_template` (`['data' => [post, …]]`): saves the event template.
 *
 * The save and remove filters answer `status` true whenever the booking may stand (see
 * {@see KC_Meet_Event_Result::core3_status()}): core 3.x deletes a new booking on a false one.
 */
class KC_Meet_KiviCare3 {

	/**
	 * `kcgm_save_googlemeet_event_template` (core 3.x: `['data' => [post, …]]`; the vendor's 4.x
	 * REST controller: `['data' => [post]]`): saves the event template's title and body.
	 *
	 * @param mixed $request Filter argument.
	 * @return array Status array.
	 */
	public function save_event_template( $request = array() ) {
		if ( ! current_user_can( KC_Meet_Access::ADMIN_CAP ) ) {
			return self::failure( __( 'Sorry, you are not allowed to manage these settings.', 'kc-googlemeet' ) );
		}
		$items = is_array( $request ) && array_key_exists( 'data', $request ) ? $request['data'] : $request;
		try {
			$saved = KC_Meet_Settings::save_event_template( $items );
		} catch ( \Throwable $e ) {
			return self::failure( self::message( $e ), $e );
		}
		if ( $saved <= 0 ) {
			return self::failure( __( 'No Google event template was sent.', 'kc-googlemeet' ) );
		}
		return array(
			'status'  => true,
			'message' => __( 'Google Meet event template saved.', 'kc-googlemeet' ),
		);
	}

	/**
	 * `kcgm_save_appointment_event`.
	 *
	 * @param mixed $data `['appoinment_id' => id, 'service' => 'A,B', 'type' => …]`.
	 * @return array Status array.
	 */
	public function save_appointment_event( $data = array() ) {
		$data           = is_array( $data ) ? $data : array();
		$appointment_id = self::appointment_id( $data );
		if ( $appointment_id <= 0 ) {
			return self::failure( KC_Meet_Messages::for_code( 5001 ) );
		}
		try {
			$result = KC_Meet_Events::ensure( 'create', $appointment_id, KC_Meet_Appointment_Data::from_core3( $data ), 'kivicare3' );
		} catch ( \Throwable $e ) {
			// Recorded by KC_Meet_Events; core 3.x deletes a new booking on a false status, and
			// the booking must never fail because of Google: the event follows (job, reconcile).
			KC_Meet_Waiting::note_exception( $appointment_id, $e );
			return KC_Meet_Event_Result::core3_exception_status( $e );
		}
		KC_Meet_Waiting::note_result( $appointment_id, $result );
		return KC_Meet_Event_Result::core3_status( $result );
	}

	/**
	 * `kcgm_remove_appointment_event`.
	 *
	 * @param mixed $data `['appoinment_id' => id]`.
	 * @return array Status array (true also when there was no event).
	 */
	public function remove_appointment_event( $data = array() ) {
		$appointment_id = self::appointment_id( is_array( $data ) ? $data : array() );
		if ( $appointment_id <= 0 ) {
			return self::failure( KC_Meet_Messages::for_code( 5001 ) );
		}
		try {
			$result = KC_Meet_Events::delete( $appointment_id, 'kivicare3' );
		} catch ( \Throwable $e ) {
			return KC_Meet_Event_Result::exception_status_array( $e );
		}
		KC_Meet_Waiting::note_result( $appointment_id, $result );
		return KC_Meet_Event_Result::core3_status( $result );
	}

	/**
	 * `kcgm_save_appointment_event_link_send` (core 3.x, after a booking): tells the patient and
	 * the doctor the Meet link ({@see self::tell_link()}).
	 *
	 * @param mixed $data `['appoinment_id' => id]`.
	 * @return array Status array.
	 */
	public function send_link( $data = array() ) {
		$appointment_id = self::appointment_id( is_array( $data ) ? $data : array() );
		if ( $appointment_id <= 0 ) {
			return self::failure( KC_Meet_Messages::for_code( 5001 ) );
		}
		return self::tell_link( $appointment_id );
	}

	/**
	 * `kcgm_save_appointment_event_link_resend` (core 3.x's "resend video link",
	 * `KCAppointmentController::resendZoomLink`: the request with `id`; core answers success on a
	 * truthy result).
	 *
	 * @param mixed $data Request data (`id` = appointment).
	 * @return bool Whether the link was sent.
	 */
	public function resend_link( $data = array() ) {
		$appointment_id = self::appointment_id( is_array( $data ) ? $data : array() );
		return $appointment_id > 0 && true === ( self::tell_link( $appointment_id )['status'] ?? false );
	}

	/**
	 * Tells the patient (and the doctor) the appointment's Meet link: through KiviCare's own
	 * admin-editable templates `meet_patient` and `meet_doctor` (core 3.x's
	 * `kcCommonEmailFunction()`, which fills `{{meet_link}}` from the mapping table) and its
	 * SMS/WhatsApp sender `kcSendAppointmentMeetSms()` when core has them, as the vendor did;
	 * otherwise our e-mail to the patient (filter `kc_meet_link_email`).
	 *
	 * @param int $appointment_id Appointment.
	 * @return array Status array.
	 */
	public static function tell_link( $appointment_id ) {
		$appointment_id = (int) $appointment_id;
		try {
			if ( '' === KC_Meet_Events::meet_url( $appointment_id ) ) {
				return self::failure( __( 'There is no Google Meet link for this appointment yet.', 'kc-googlemeet' ) );
			}
			if ( function_exists( 'kcCommonEmailFunction' ) ) {
				$patient = (bool) kcCommonEmailFunction( $appointment_id, 'Telemed', 'meet_patient' );
				$doctor  = (bool) kcCommonEmailFunction( $appointment_id, 'Telemed', 'meet_doctor' );
				if ( function_exists( 'kcSendAppointmentMeetSms' ) ) {
					kcSendAppointmentMeetSms( $appointment_id );
				}
				return $patient && $doctor
					? array(
						'status'  => true,
						'message' => __( 'The Google Meet link was sent to the patient and the doctor.', 'kc-googlemeet' ),
					)
					: self::failure( __( 'The Google Meet link e-mail could not be sent.', 'kc-googlemeet' ) );
			}
			return self::mail_link( $appointment_id );
		} catch ( \Throwable $e ) {
			return KC_Meet_Event_Result::exception_status_array( $e );
		}
	}

	/**
	 * Our e-mail of the Meet link to the patient (sites whose core has no Meet templates).
	 *
	 * @param int $appointment_id Appointment.
	 * @return array Status array.
	 */
	private static function mail_link( $appointment_id ) {
		$mapping     = KC_Meet_Events::mapping( $appointment_id ); // kc_meet_mapping(), cached.
		$url         = KC_Meet_Events::meet_url( $appointment_id );
		$appointment = KC_Meet_Appointment_Data::build( $appointment_id );
		$to          = (string) ( $appointment['patient_email'] ?? '' );
		if ( ! is_email( $to ) ) {
			return self::failure( __( 'The patient has no e-mail address.', 'kc-googlemeet' ) );
		}
		$mail = self::link_email( $to, $url, $appointment );
		/**
		 * Filters the e-mail that sends the Meet link to the patient.
		 *
		 * @param array $mail           `to`, `subject`, `message` (HTML), `headers`.
		 * @param int   $appointment_id Appointment.
		 * @param array $mapping        Mapping (`url`, `event_url`, …).
		 */
		$mail = apply_filters( 'kc_meet_link_email', $mail, $appointment_id, $mapping );
		if ( ! is_array( $mail ) || empty( $mail['to'] ) ) {
			return self::failure( __( 'The Google Meet link e-mail was not sent.', 'kc-googlemeet' ) );
		}
		$sent = wp_mail( $mail['to'], (string) ( $mail['subject'] ?? '' ), (string) ( $mail['message'] ?? '' ), $mail['headers'] ?? array() );
		if ( ! $sent ) {
			return self::failure( __( 'The Google Meet link e-mail could not be sent.', 'kc-googlemeet' ) );
		}
		return array(
			'status'  => true,
			'message' => __( 'The Google Meet link was sent to the patient.', 'kc-googlemeet' ),
		);
	}

	/**
	 * The link e-mail (HTML, every value escaped).
	 *
	 * @param string $to          Patient e-mail.
	 * @param string $url         Meet link.
	 * @param array  $appointment Appointment data (KC_Meet_Appointment_Data::build()).
	 * @return array{to:string, subject:string, message:string, headers:string[]}
	 */
	public static function link_email( $to, $url, array $appointment ) {
		$site    = wp_specialchars_decode( (string) get_bloginfo( 'name' ), ENT_QUOTES );
		$when    = trim( (string) ( $appointment['appointment_date'] ?? '' ) . ' ' . (string) ( $appointment['appointment_time'] ?? '' ) );
		$doctor  = (string) ( $appointment['doctor_name'] ?? '' );
		$message = '<p>' . esc_html(
			sprintf(
				/* translators: %s: patient name */
				__( 'Hello %s,', 'kc-googlemeet' ),
				(string) ( $appointment['patient_name'] ?? '' )
			)
		) . '</p>';
		$message .= '<p>' . esc_html(
			'' !== $when && '' !== $doctor
				? sprintf(
					/* translators: 1: doctor name, 2: appointment date and time */
					__( 'Your video consultation with %1$s is on %2$s.', 'kc-googlemeet' ),
					$doctor,
					$when
				)
				: __( 'Your video consultation is booked.', 'kc-googlemeet' )
		) . '</p>';
		$message .= '<p>' . esc_html__( 'Join it with Google Meet:', 'kc-googlemeet' )
			. ' <a href="' . esc_url( $url ) . '">' . esc_html( $url ) . '</a></p>';
		return array(
			'to'      => (string) $to,
			'subject' => sprintf(
				/* translators: %s: site name */
				__( '[%s] Your video consultation link', 'kc-googlemeet' ),
				$site
			),
			'message' => $message,
			'headers' => array( 'Content-Type: text/html; charset=UTF-8' ),
		);
	}

	/**
	 * The appointment id of a 3.x filter argument (`appoinment_id`, core's spelling, or
	 * `appointment_id` / `id`; ids may be strings).
	 *
	 * @param array $data Filter argument.
	 * @return int
	 */
	private static function appointment_id( array $data ) {
		foreach ( array( 'appoinment_id', 'appointment_id', 'id' ) as $key ) {
			if ( isset( $data[ $key ] ) ) {
				return KC_Meet_Appointment_Data::id_of( is_string( $data[ $key ] ) ? trim( $data[ $key ] ) : $data[ $key ] );
			}
		}
		return 0;
	}

	/**
	 * `kcgm_connect_doctor`.
	 *
	 * @param mixed $data `['id' => doctor id, 'code' => authorization code]`.
	 * @return array
	 */
	public function connect_doctor( $data = array() ) {
		$data      = is_array( $data ) ? $data : array();
		$doctor_id = isset( $data['id'] ) && is_numeric( $data['id'] ) ? (int) $data['id'] : 0;
		$code      = isset( $data['code'] ) && is_string( $data['code'] ) ? trim( $data['code'] ) : '';
		if ( $doctor_id <= 0 || '' === $code ) {
			return self::failure( KC_Meet_Messages::for_code( 5001 ) );
		}
		if ( ! KC_Meet_Access::can_manage_doctor( $doctor_id ) ) {
			return self::forbidden();
		}
		try {
			$result = KC_Meet_Native::connect_postmessage( $doctor_id, $code );
		} catch ( \Throwable $e ) {
			return self::failure( self::message( $e ), $e );
		}
		return array(
			'status'  => true,
			'message' => sprintf(
				/* translators: %s: Google account e-mail */
				__( 'Google Calendar connected as %s.', 'kc-googlemeet' ),
				(string) ( $result['email'] ?? '' )
			),
			'data'    => $result,
		);
	}

	/**
	 * `kcgm_disconnect_doctor`.
	 *
	 * @param mixed $data `['id' => doctor id]`.
	 * @return array
	 */
	public function disconnect_doctor( $data = array() ) {
		$data      = is_array( $data ) ? $data : array();
		$doctor_id = isset( $data['id'] ) && is_numeric( $data['id'] ) ? (int) $data['id'] : 0;
		if ( $doctor_id <= 0 ) {
			return self::failure( KC_Meet_Messages::for_code( 5001 ) );
		}
		if ( ! KC_Meet_Access::can_manage_doctor( $doctor_id ) ) {
			return self::forbidden();
		}
		try {
			$result = KC_Meet_Native::disconnect( $doctor_id );
		} catch ( \Throwable $e ) {
			return self::failure( self::message( $e ), $e );
		}
		return array(
			'status'  => true,
			'message' => __( 'Google Calendar is disconnected.', 'kc-googlemeet' ),
			'data'    => $result,
		);
	}

	/**
	 * `kcgm_saved_googlemeet_config`.
	 *
	 * @param mixed $request Settings request.
	 * @return array
	 */
	public function save_config( $request = array() ) {
		try {
			if ( ! current_user_can( KC_Meet_Access::ADMIN_CAP ) ) {
				return self::failure( __( 'Sorry, you are not allowed to manage these settings.', 'kc-googlemeet' ) );
			}
			// The one validator: nothing is saved when any field is invalid.
			$view = KC_Meet_Settings::save( KC_Meet_Settings::unwrap_request( $request ) );
			if ( is_wp_error( $view ) ) {
				$failure         = self::failure( $view->get_error_message() );
				$failure['code'] = 5001;
				return $failure;
			}
		} catch ( \Throwable $e ) {
			return self::failure( self::message( $e ), $e );
		}
		return array(
			'status'  => true,
			'message' => __( 'Google Meet settings saved.', 'kc-googlemeet' ),
			'data'    => $view,
		);
	}

	/**
	 * `kcgm_edit_googlemeet`.
	 *
	 * @param mixed $unused Unused (core passes []).
	 * @return array
	 */
	public function edit_config( $unused = array() ) {
		unset( $unused );
		try {
			return array(
				'status' => true,
				'data'   => KC_Meet_Settings::public_view(),
			);
		} catch ( \Throwable $e ) {
			return self::failure( self::message( $e ), $e );
		}
	}

	/**
	 * A failure status array.
	 *
	 * @param string          $message Message.
	 * @param \Throwable|null $e       Exception, for its code.
	 * @return array
	 */
	private static function failure( $message, $e = null ) {
		$result = array(
			'status'  => false,
			'message' => (string) $message,
		);
		if ( $e instanceof \Throwable ) {
			$result['code'] = (int) $e->getCode();
		}
		return $result;
	}

	/**
	 * The status array refusing a user who may not manage the doctor's Google connection.
	 *
	 * @return array
	 */
	private static function forbidden() {
		$result         = self::failure( KC_Meet_Messages::for_code( KC_Meet_Messages::FORBIDDEN ) );
		$result['code'] = KC_Meet_Messages::FORBIDDEN;
		return $result;
	}

	/**
	 * User-facing message of an exception: the fixed message of its code (plus the extension's
	 * secret-free detail for Google errors).
	 *
	 * @param \Throwable $e Exception.
	 * @return string
	 */
	private static function message( \Throwable $e ) {
		return KC_Meet_Messages::for_exception( $e );
	}
}
