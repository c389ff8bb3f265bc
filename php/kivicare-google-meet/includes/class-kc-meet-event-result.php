<?php
/**
 * What an event result means for KiviCare core.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * The one place that turns the extension's event results (`kc_meet_create_event()` & co.) and
 * exceptions into what KiviCare core expects:
 * - {@see self::to_status_array()} / {@see self::exception_status_array()}: KiviCare 3.x's
 *   `['status' => bool, 'message' => string, 'join_url' => string]`;
 * - {@see self::to_meeting()} / {@see self::meeting()}: KiviCare 4.x's meeting array
 *   `['id', 'join_url', 'start_url', 'password', 'event_url', 'appointment_id', 'created_at']`,
 *   or a `WP_Error`.
 *
 * Success states: created, updated, regenerated, deleted, unchanged, and — the booking must go on, the link
 * follows from a background job — pending and queued. `skipped` is not a success (its reason
 * says why: not_telemed, doctor_not_connected, doctor_needs_reconnect, cancelled,
 * pending_status, no_event, appointment_not_found).
 */
final class KC_Meet_Event_Result {

	/**
	 * States that mean "done, or will be done in the background".
	 *
	 * @var string[]
	 */
	const SUCCESS_STATES = array( 'created', 'updated', 'regenerated', 'deleted', 'unchanged', 'pending', 'queued' );

	/**
	 * States whose Meet link follows later.
	 *
	 * @var string[]
	 */
	const LATER_STATES = array( 'pending', 'queued' );

	/**
	 * WP_Error code of a skipped result.
	 *
	 * @var string
	 */
	const SKIPPED_CODE = 'kc_meet_skipped';

	/**
	 * Whether a result is a success (including pending/queued).
	 *
	 * @param array $result Event result.
	 * @return bool
	 */
	public static function is_success( array $result ) {
		return in_array( (string) ( $result['state'] ?? '' ), self::SUCCESS_STATES, true );
	}

	/**
	 * The Meet link of a result ('' when none yet).
	 *
	 * @param array $result Event result.
	 * @return string
	 */
	public static function meet_url( array $result ) {
		return is_string( $result['meet_url'] ?? null ) ? $result['meet_url'] : '';
	}

	/**
	 * A translated message describing a result.
	 *
	 * @param array $result Event result.
	 * @return string
	 */
	public static function message( array $result ) {
		switch ( (string) ( $result['state'] ?? '' ) ) {
			case 'created':
				return __( 'The Google Meet event was created.', 'kc-googlemeet' );
			case 'updated':
				return __( 'The Google Meet event was updated.', 'kc-googlemeet' );
			case 'regenerated':
				return __( 'The Google Meet event has a new Meet link.', 'kc-googlemeet' );
			case 'unchanged':
				return __( 'The Google Meet event is up to date.', 'kc-googlemeet' );
			case 'deleted':
				return __( 'The Google Meet event was removed.', 'kc-googlemeet' );
			case 'pending':
				return __( 'The Google Meet event was created; its Meet link follows in a moment.', 'kc-googlemeet' );
			case 'queued':
				return __( 'Google is not answering right now: the Google Meet event will be created in the background and its link follows.', 'kc-googlemeet' );
			case 'skipped':
				return self::skip_message( (string) ( $result['reason'] ?? '' ) );
			default:
				return __( 'Unexpected answer from the kc_meet extension.', 'kc-googlemeet' );
		}
	}

	/**
	 * A translated message for a skip reason.
	 *
	 * @param string $reason Reason.
	 * @return string
	 */
	public static function skip_message( $reason ) {
		switch ( (string) $reason ) {
			case 'not_telemed':
				return __( 'No Google Meet event: this appointment has no telemedicine service.', 'kc-googlemeet' );
			case 'doctor_not_connected':
				return __( 'No Google Meet event: the doctor has not connected Google Calendar.', 'kc-googlemeet' );
			case 'doctor_needs_reconnect':
				return __( 'No Google Meet event: the doctor must reconnect Google Calendar.', 'kc-googlemeet' );
			case 'cancelled':
				return __( 'No Google Meet event: the appointment is cancelled.', 'kc-googlemeet' );
			case 'pending_status':
				return __( 'No Google Meet event yet: the appointment is pending; the event is created once it is booked.', 'kc-googlemeet' );
			case 'no_event':
				return __( 'There was no Google Meet event to remove.', 'kc-googlemeet' );
			case 'appointment_not_found':
				return __( 'No Google Meet event: the appointment was not found.', 'kc-googlemeet' );
			default:
				/* translators: %s: reason code */
				return sprintf( __( 'No Google Meet event (%s).', 'kc-googlemeet' ), (string) $reason );
		}
	}

	/**
	 * KiviCare 3.x status array of a result: `status` true with `join_url` (empty while the link
	 * follows) on success, `status` false otherwise; `data` carries the result (no secrets in it).
	 *
	 * @param array $result Event result.
	 * @return array
	 */
	public static function to_status_array( array $result ) {
		$status = array(
			'status'  => self::is_success( $result ),
			'message' => self::message( $result ),
		);
		if ( $status['status'] ) {
			$status['join_url'] = self::meet_url( $result );
		}
		$status['data'] = $result;
		return $status;
	}

	/**
	 * KiviCare 3.x status array of a save or remove filter call. Core 3.x deletes a new booking
	 * whose save filter answers an empty `status` (`KCAppointmentController`) and shows the admin
	 * an error for an edit, so every call whose end state is right answers true: created,
	 * updated, unchanged, deleted, nothing to do (cancelled, no event, not telemedicine, pending),
	 * and also queued (Google unreachable: a job follows) and a doctor who is not connected or
	 * must reconnect (the event follows when they connect): the booking stands either way.
	 *
	 * @param array $result Event result.
	 * @return array `status`, `message`, `join_url` (the Meet link, '' while there is none), `data`.
	 */
	public static function core3_status( array $result ) {
		$message = self::message( $result );
		if ( 'skipped' === ( $result['state'] ?? '' ) && in_array( (string) ( $result['reason'] ?? '' ), array( 'doctor_not_connected', 'doctor_needs_reconnect' ), true ) ) {
			$message .= ' ' . __( 'The appointment is saved; its Google Meet event is created once the doctor connects Google Calendar.', 'kc-googlemeet' );
		}
		return array(
			'status'   => true,
			'message'  => $message,
			'join_url' => self::meet_url( $result ),
			'data'     => $result,
		);
	}

	/**
	 * KiviCare 3.x status array of the save filter when the extension threw: still a success for
	 * core (the booking stands; the failure is recorded for administrators and retried), with the
	 * reason in the message and the exception code.
	 *
	 * @param \Throwable $e Exception.
	 * @return array
	 */
	public static function core3_exception_status( \Throwable $e ) {
		return array(
			'status'   => true,
			'message'  => sprintf(
				/* translators: %s: reason */
				__( 'The appointment is saved, but its Google Meet event could not be created yet: %s See Settings → KiviCare Google Meet.', 'kc-googlemeet' ),
				KC_Meet_Messages::for_exception( $e )
			),
			'join_url' => '',
			'code'     => (int) $e->getCode(),
		);
	}

	/**
	 * KiviCare 3.x status array of an exception.
	 *
	 * @param \Throwable $e Exception.
	 * @return array
	 */
	public static function exception_status_array( \Throwable $e ) {
		return array(
			'status'  => false,
			'message' => KC_Meet_Messages::for_exception( $e ),
			'code'    => (int) $e->getCode(),
		);
	}

	/**
	 * KiviCare 4.x meeting array of a result; a WP_Error (`kc_meet_skipped`, data `reason`) when
	 * skipped. Pending/queued are successes with an empty join_url.
	 *
	 * @param array $result         Event result.
	 * @param int   $appointment_id Appointment (when the result lacks it).
	 * @return array|WP_Error
	 */
	public static function to_meeting( array $result, $appointment_id = 0 ) {
		if ( ! self::is_success( $result ) ) {
			return new WP_Error(
				self::SKIPPED_CODE,
				self::message( $result ),
				array(
					'status' => 409,
					'reason' => (string) ( $result['reason'] ?? '' ),
					'state'  => (string) ( $result['state'] ?? '' ),
				)
			);
		}
		return self::meeting(
			(int) ( $result['appointment_id'] ?? $appointment_id ),
			(string) ( $result['event_id'] ?? '' ),
			self::meet_url( $result ),
			(string) ( $result['event_url'] ?? '' )
		);
	}

	/**
	 * KiviCare 4.x meeting array of a mapping row (see kc_meet_mapping()).
	 *
	 * @param array $mapping Mapping.
	 * @return array
	 */
	public static function mapping_to_meeting( array $mapping ) {
		return self::meeting(
			(int) ( $mapping['appointment_id'] ?? 0 ),
			(string) ( $mapping['event_id'] ?? '' ),
			(string) ( $mapping['url'] ?? '' ),
			(string) ( $mapping['event_url'] ?? '' ),
			(string) ( $mapping['created_at'] ?? '' )
		);
	}

	/**
	 * The meeting array core 4.x expects (what Zoom's provider returns).
	 *
	 * @param int    $appointment_id Appointment.
	 * @param string $event_id       Google event id ('' while queued).
	 * @param string $meet_url       Meet link ('' while pending/queued).
	 * @param string $event_url      Calendar link.
	 * @param string $created_at     Creation time ('' → now, site time).
	 * @return array
	 */
	public static function meeting( $appointment_id, $event_id, $meet_url, $event_url, $created_at = '' ) {
		return array(
			'id'             => (string) $event_id,
			'join_url'       => (string) $meet_url,
			'start_url'      => (string) $meet_url,
			'password'       => '',
			'event_url'      => (string) $event_url,
			'appointment_id' => (int) $appointment_id,
			'created_at'     => '' !== (string) $created_at ? (string) $created_at : current_time( 'mysql' ),
		);
	}
}
