<?php
/**
 * Appointment ⇄ Google event operations.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * The single path from the plugin's hooks (KiviCare 3.x filters, the 4.x provider, core's
 * actions, the model class, WP-CLI) to the extension's event functions.
 *
 * - {@see self::ensure()} builds the appointment data ({@see KC_Meet_Appointment_Data::build()})
 *   and calls `kc_meet_create_event()` / `kc_meet_update_event()`; {@see self::delete()} calls
 *   `kc_meet_delete_event()`. Both return the extension's result and let its exceptions through,
 *   after recording them ({@see self::record_failure()}): callers turn them into what their
 *   caller expects, and must never let them escape into KiviCare core.
 * - Every call goes to the extension, which is idempotent (a repeated call answers `unchanged`,
 *   a delete with nothing left `skipped`/`no_event`, data read before its stored state
 *   `skipped`/`stale_snapshot`; the data carries `read_at`): core 3.x's save filter once per
 *   telemed service and core 4.x's provider call followed by its actions each cost one native
 *   call and no Google request. Only what this request did is remembered, for reporting: when
 *   core's actions (fired by WooCommerce's order handling, say) already made the change, a
 *   caller that asks again right after gets that result (`created`, `deleted` …) instead of the
 *   extension's "nothing to do" ({@see self::reported()}).
 * - {@see self::mapping()} reads the mapping on the extension's connection (falling back to
 *   `$wpdb` when the extension is unusable), cached for the request and dropped on every write.
 *
 * Failures are kept for administrators: the last {@see self::MAX_ERRORS} in the option
 * `kc_meet_event_errors` (shown in the "Sync problems" box of the settings page) and as an admin
 * notice; both are written on `shutdown`, after KiviCare core's transaction ended. Every result
 * fires the action `kc_meet_event_result` ($result, $action, $appointment_id, $context).
 */
final class KC_Meet_Events {

	/**
	 * Option holding recent failures.
	 *
	 * @var string
	 */
	const ERRORS_OPTION = 'kc_meet_event_errors';

	/**
	 * How many failures the option keeps.
	 *
	 * @var int
	 */
	const MAX_ERRORS = 20;

	/**
	 * The last result of this request that changed something, by "blog:appointment":
	 * `['op' => 'ensure'|'delete', 'result' => array]`.
	 *
	 * @var array<string, array>
	 */
	private static $changed = array();

	/**
	 * Mappings read in this request, by "blog:appointment" (false: none).
	 *
	 * @var array<string, array|false>
	 */
	private static $mappings = array();

	/**
	 * Failures waiting for `shutdown`.
	 *
	 * @var array[]
	 */
	private static $pending_failures = array();

	/**
	 * Creates or updates an appointment's event.
	 *
	 * @param string $action         'create' (kc_meet_create_event), 'update' (kc_meet_update_event)
	 *                               or 'regenerate' (kc_meet_regenerate_event: the same event, a
	 *                               new Meet link).
	 * @param int    $appointment_id Appointment.
	 * @param array  $handed         What the caller knows (see KC_Meet_Appointment_Data::build()).
	 * @param string $context        Who asks (for the record): e.g. 'kivicare3', 'provider', 'action', 'cli'.
	 * @return array The extension's result.
	 * @throws \Throwable The extension's exception (recorded first).
	 */
	public static function ensure( $action, $appointment_id, array $handed = array(), $context = '' ) {
		$appointment_id = (int) $appointment_id;
		$action         = in_array( $action, array( 'update', 'regenerate' ), true ) ? $action : 'create';
		$payload        = KC_Meet_Appointment_Data::build( $appointment_id, $handed );
		self::forget( $appointment_id );
		try {
			if ( 'regenerate' === $action ) {
				$result = KC_Meet_Native::regenerate_event( $appointment_id, $payload );
			} elseif ( 'update' === $action ) {
				$result = KC_Meet_Native::update_event( $appointment_id, $payload );
			} else {
				$result = KC_Meet_Native::create_event( $appointment_id, $payload );
			}
		} catch ( \Throwable $e ) {
			self::record_failure( $appointment_id, $action, $e, $context );
			throw $e;
		}
		$result = self::reported( $appointment_id, 'ensure', is_array( $result ) ? $result : array() );
		/**
		 * Fires after each event operation of the extension.
		 *
		 * @param array  $result         Event result.
		 * @param string $action         create|update|regenerate|delete.
		 * @param int    $appointment_id Appointment.
		 * @param string $context        Caller.
		 */
		do_action( 'kc_meet_event_result', $result, $action, $appointment_id, (string) $context );
		return $result;
	}

	/**
	 * Deletes an appointment's event (idempotent).
	 *
	 * @param int    $appointment_id Appointment.
	 * @param string $context        Who asks.
	 * @return array The extension's result.
	 * @throws \Throwable The extension's exception (recorded first).
	 */
	public static function delete( $appointment_id, $context = '' ) {
		$appointment_id = (int) $appointment_id;
		self::forget( $appointment_id );
		try {
			$result = KC_Meet_Native::delete_event( $appointment_id );
		} catch ( \Throwable $e ) {
			self::record_failure( $appointment_id, 'delete', $e, $context );
			throw $e;
		}
		$result = self::reported( $appointment_id, 'delete', is_array( $result ) ? $result : array() );
		/** This action is documented in includes/class-kc-meet-events.php */
		do_action( 'kc_meet_event_result', $result, 'delete', $appointment_id, (string) $context );
		return $result;
	}

	/**
	 * The appointment's mapping (`appointment_id, event_id, url, event_url, password,
	 * created_at`), or null. Read through kc_meet_mapping() — which sees what the extension
	 * committed even inside core's transaction — else from the table through $wpdb.
	 *
	 * @param int $appointment_id Appointment.
	 * @return array|null
	 */
	public static function mapping( $appointment_id ) {
		$appointment_id = (int) $appointment_id;
		if ( $appointment_id <= 0 ) {
			return null;
		}
		$slot = self::slot( $appointment_id );
		if ( ! array_key_exists( $slot, self::$mappings ) ) {
			try {
				$mapping = KC_Meet_Native::mapping( $appointment_id );
			} catch ( \Throwable $e ) {
				$model   = \KCGMApp\models\KCGMAppointmentGoogleMeetMapping::query()
					->fromTable()
					->where( 'appointment_id', $appointment_id )
					->first();
				$mapping = null !== $model ? $model->toArray() : null;
			}
			self::$mappings[ $slot ] = is_array( $mapping ) ? $mapping : false;
		}
		return false === self::$mappings[ $slot ] ? null : self::$mappings[ $slot ];
	}

	/**
	 * The appointment's Meet link ('' when none).
	 *
	 * @param int $appointment_id Appointment.
	 * @return string
	 */
	public static function meet_url( $appointment_id ) {
		$mapping = self::mapping( $appointment_id );
		return null !== $mapping && is_string( $mapping['url'] ?? null ) ? trim( $mapping['url'] ) : '';
	}

	/**
	 * Whether a doctor's appointments are ours: core picks the telemed provider from the
	 * doctor's `telemed_type` meta ('googlemeet' while connected; empty for doctors who never
	 * chose). Used by the action listeners only: the provider and the 3.x filters are called by
	 * core for our doctors already.
	 *
	 * @param int $doctor_id Doctor.
	 * @return bool
	 */
	public static function doctor_uses_meet( $doctor_id ) {
		if ( (int) $doctor_id <= 0 ) {
			return true; // Unknown yet: let the extension decide.
		}
		$type = (string) get_user_meta( (int) $doctor_id, 'telemed_type', true );
		return '' === $type || KC_Meet_KiviCare4::PROVIDER_ID === $type;
	}

	/**
	 * Keeps a failure for administrators (written on `shutdown`).
	 *
	 * @param int        $appointment_id Appointment (0 for background work).
	 * @param string     $action         create|update|delete|run_jobs|reconcile.
	 * @param \Throwable $e              Exception (its message is secret-free).
	 * @param string     $context        Caller.
	 * @return void
	 */
	public static function record_failure( $appointment_id, $action, \Throwable $e, $context = '' ) {
		self::$pending_failures[] = array(
			'blog_id'        => get_current_blog_id(),
			'time'           => gmdate( 'Y-m-d H:i:s' ),
			'appointment_id' => (int) $appointment_id,
			'action'         => (string) $action,
			'context'        => (string) $context,
			'code'           => (int) $e->getCode(),
			'message'        => $e instanceof \KcMeet\Exception ? $e->getMessage() : KC_Meet_Messages::for_code( (int) $e->getCode() ),
		);
		if ( defined( 'WP_DEBUG' ) && WP_DEBUG && defined( 'WP_DEBUG_LOG' ) && WP_DEBUG_LOG ) {
			// Code and message only: the extension never puts secrets in messages.
			error_log( sprintf( 'kc-meet: %s of appointment %d failed (code %d): %s', $action, (int) $appointment_id, (int) $e->getCode(), $e->getMessage() ) ); // phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_error_log
		}
		if ( 1 === count( self::$pending_failures ) ) {
			if ( did_action( 'shutdown' ) ) {
				self::flush_failures();
			} else {
				add_action( 'shutdown', array( __CLASS__, 'flush_failures' ) );
			}
		}
	}

	/**
	 * `shutdown`: stores the failures of this request (option and admin notice).
	 *
	 * @return void
	 */
	public static function flush_failures() {
		$failures               = self::$pending_failures;
		self::$pending_failures = array();
		$by_blog                = array();
		foreach ( $failures as $failure ) {
			$by_blog[ (int) $failure['blog_id'] ][] = $failure;
		}
		foreach ( $by_blog as $blog_id => $blog_failures ) {
			$switch = is_multisite() && get_current_blog_id() !== $blog_id;
			if ( $switch ) {
				switch_to_blog( $blog_id );
			}
			try {
				self::store_failures( $blog_failures );
			} catch ( \Throwable $e ) {
				unset( $e ); // Nothing more to do at shutdown.
			} finally {
				if ( $switch ) {
					restore_current_blog();
				}
			}
		}
	}

	/**
	 * Stores failures in the current site's option and as admin notices.
	 *
	 * @param array[] $failures Failures.
	 * @return void
	 */
	private static function store_failures( array $failures ) {
		$stored = self::recent_errors();
		foreach ( $failures as $failure ) {
			unset( $failure['blog_id'] );
			$last = end( $stored );
			if ( is_array( $last ) && $last['appointment_id'] === $failure['appointment_id'] && $last['action'] === $failure['action']
				&& $last['code'] === $failure['code'] && $last['message'] === $failure['message'] ) {
				$stored[ key( $stored ) ]['time']  = $failure['time'];
				$stored[ key( $stored ) ]['count'] = (int) ( $last['count'] ?? 1 ) + 1;
				continue;
			}
			$failure['count'] = 1;
			$stored[]         = $failure;
			if ( 0 === (int) $failure['appointment_id'] ) {
				// An appointment's failure is counted in the one grouped notice (KC_Meet_Doctor_Notices).
				KC_Meet_Notices::add_persistent( self::failure_text( $failure ), 'warning' );
			}
		}
		update_option( self::ERRORS_OPTION, array_slice( array_values( $stored ), -self::MAX_ERRORS ), false );
	}

	/**
	 * Recent failures, oldest first: `time` (UTC), `appointment_id`, `action`, `context`, `code`,
	 * `message`, `count`.
	 *
	 * @return array[]
	 */
	public static function recent_errors() {
		$stored = get_option( self::ERRORS_OPTION, array() );
		$clean  = array();
		foreach ( is_array( $stored ) ? $stored : array() as $entry ) {
			if ( is_array( $entry ) && isset( $entry['action'], $entry['message'] ) ) {
				$clean[] = array(
					'time'           => (string) ( $entry['time'] ?? '' ),
					'appointment_id' => (int) ( $entry['appointment_id'] ?? 0 ),
					'action'         => (string) $entry['action'],
					'context'        => (string) ( $entry['context'] ?? '' ),
					'code'           => (int) ( $entry['code'] ?? 0 ),
					'message'        => (string) $entry['message'],
					'count'          => max( 1, (int) ( $entry['count'] ?? 1 ) ),
				);
			}
		}
		return $clean;
	}

	/**
	 * Forgets the recorded failures.
	 *
	 * @return void
	 */
	public static function clear_errors() {
		delete_option( self::ERRORS_OPTION );
	}

	/**
	 * Forgets the mappings read in this request, e.g. between CLI items or tests.
	 *
	 * @return void
	 */
	public static function reset() {
		self::$mappings = array();
		self::$changed  = array();
	}

	/**
	 * The result to report for an operation: the extension's, unless it found nothing to do
	 * (`unchanged`; a delete `skipped` for `no_event`) right after the same operation changed
	 * the appointment in this request — then that change.
	 *
	 * @param int    $appointment_id Appointment.
	 * @param string $op             ensure|delete.
	 * @param array  $result         The extension's result.
	 * @return array
	 */
	private static function reported( $appointment_id, $op, array $result ) {
		$slot  = self::slot( $appointment_id );
		$state = (string) ( $result['state'] ?? '' );
		$noop  = 'ensure' === $op ? 'unchanged' === $state : ( 'skipped' === $state && 'no_event' === ( $result['reason'] ?? '' ) );
		if ( $noop && isset( self::$changed[ $slot ] ) && $op === self::$changed[ $slot ]['op'] ) {
			return self::$changed[ $slot ]['result'];
		}
		if ( $noop || 'skipped' === $state || 'failed' === $state ) {
			unset( self::$changed[ $slot ] );
		} else {
			self::$changed[ $slot ] = array(
				'op'     => $op,
				'result' => $result,
			);
		}
		return $result;
	}

	/**
	 * Admin notice text of a failure.
	 *
	 * @param array $failure Failure.
	 * @return string
	 */
	private static function failure_text( array $failure ) {
		if ( $failure['appointment_id'] > 0 ) {
			return sprintf(
				/* translators: 1: appointment id, 2: message, 3: code */
				__( 'KiviCare Google Meet: the Google Meet event of appointment #%1$d could not be synchronized: %2$s (code %3$d). See Settings → KiviCare Google Meet.', 'kc-googlemeet' ),
				$failure['appointment_id'],
				$failure['message'],
				$failure['code']
			);
		}
		return sprintf(
			/* translators: 1: task, 2: message, 3: code */
			__( 'KiviCare Google Meet: background task %1$s failed: %2$s (code %3$d).', 'kc-googlemeet' ),
			$failure['action'],
			$failure['message'],
			$failure['code']
		);
	}

	/**
	 * Forgets the appointment's mapping read in this request (an event operation may change it).
	 *
	 * @param int $appointment_id Appointment.
	 * @return void
	 */
	private static function forget( $appointment_id ) {
		unset( self::$mappings[ self::slot( $appointment_id ) ] );
	}

	/**
	 * The key of an appointment in a per-request cache: ids are per site on a multisite network,
	 * so the key carries the site. Every per-request cache of the plugin uses it.
	 *
	 * @param int $appointment_id Appointment.
	 * @return string
	 */
	public static function slot( $appointment_id ) {
		return get_current_blog_id() . ':' . (int) $appointment_id;
	}
}
