<?php
/**
 * Changes made in Google Calendar, after the extension applied them.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * The single place where the changes returned by two-way sync (`kc_meet_sync()`,
 * `kc_meet_handle_notification()`) reach WordPress. The extension has already applied each
 * change to the database (moved: the appointment's date/time columns; cancelled: status 0;
 * deleted_flagged: the event is gone, the appointment kept and marked for review);
 * {@see self::dispatch()} then, for each change:
 * - records a `deleted_flagged` change in the site's review list (option
 *   `kc_meet_flagged_appointments`, shown in the box `#kc-meet-review` of the settings page and
 *   counted in an admin notice; an administrator dismisses each entry);
 * - fires `kc_meet_appointment_changed_in_google` ($change, $context) with the change
 *   `appointment_id` (int), `doctor_id` (int), `kind` ('moved'|'reverted'|'deleted_flagged'|
 *   'cancelled'|'recreated'|'meet_link_changed'), `event_id`, `from_start_utc`, `to_start_utc`,
 *   `to_end_utc` ('Y-m-d H:i:s' UTC or null), and the context ('push', 'cron' or 'cli');
 * - for `cancelled`, fires KiviCare's own cancellation hooks as core does: 4.x
 *   `kc_appointment_status_update` ($id, 0, $appointment row read through $wpdb) and
 *   `kc_appointment_cancelled` ($id); 3.x `kc_appointment_cancel` ($id). The KiviCare generation
 *   comes from core's `KIVI_CARE_VERSION` (else: 4.x when core's telemed provider class exists),
 *   filter `kc_meet_kivicare_generation` (3, 4, or 0 = unknown: both families fire). While these
 *   fire, the plugin's own listeners ({@see KC_Meet_Appointment_Hooks}) leave the appointment
 *   alone ({@see self::is_dispatching()}): its event is already gone.
 * A listener that throws is recorded ({@see KC_Meet_Events::record_failure()}, action
 * `dispatch`) and does not stop the other changes.
 */
final class KC_Meet_Sync_Changes {

	/**
	 * Option holding the appointments flagged for review (not autoloaded).
	 *
	 * @var string
	 */
	const FLAGGED_OPTION = 'kc_meet_flagged_appointments';

	/**
	 * How many flagged appointments the option keeps (the newest).
	 *
	 * @var int
	 */
	const MAX_FLAGGED = 200;

	/**
	 * Appointments whose change is being dispatched, by "blog:appointment".
	 *
	 * @var array<string, true>
	 */
	private static $dispatching = array();

	/**
	 * Runs kc_meet_sync() and dispatches the changes of every doctor.
	 *
	 * @param array  $opts    Options of kc_meet_sync(): `doctor_id`, `full`, `budget_s`.
	 * @param string $context Who asks: 'cron', 'cli'.
	 * @return array kc_meet_sync()'s result.
	 * @throws \Throwable The extension's exception.
	 */
	public static function sync( array $opts, $context ) {
		try {
			$result = KC_Meet_Native::sync( $opts );
		} finally {
			KC_Meet_Events::reset(); // The sync changed events and mappings behind this request's back.
		}
		$result = is_array( $result ) ? $result : array();
		foreach ( (array) ( $result['doctors'] ?? array() ) as $doctor ) {
			if ( is_array( $doctor ) && ! empty( $doctor['changes'] ) && is_array( $doctor['changes'] ) ) {
				self::dispatch( $doctor['changes'], $context );
			}
		}
		return $result;
	}

	/**
	 * Tells WordPress about changes the extension applied (see the class description).
	 *
	 * @param array  $changes Changes as returned by the extension.
	 * @param string $context Who asks: 'push', 'cron', 'cli'.
	 * @return int Number of changes dispatched.
	 */
	public static function dispatch( array $changes, $context = '' ) {
		KC_Meet_Events::reset();
		$count = 0;
		foreach ( $changes as $raw ) {
			$change = self::normalize( $raw );
			if ( null === $change ) {
				continue;
			}
			++$count;
			$appointment_id = $change['appointment_id'];

			if ( 'deleted_flagged' === $change['kind'] ) {
				try {
					self::flag( $change );
				} catch ( \Throwable $e ) {
					KC_Meet_Events::record_failure( $appointment_id, 'dispatch', $e, (string) $context );
				}
			}

			$slot                       = self::slot( $appointment_id );
			self::$dispatching[ $slot ] = true;
			try {
				/**
				 * Fires for each change made in Google Calendar to an appointment's event, after
				 * the extension applied it to the database.
				 *
				 * @param array  $change  appointment_id, doctor_id, kind, event_id, from_start_utc,
				 *                        to_start_utc, to_end_utc.
				 * @param string $context 'push', 'cron' or 'cli'.
				 */
				do_action( 'kc_meet_appointment_changed_in_google', $change, (string) $context );
				if ( 'cancelled' === $change['kind'] ) {
					self::fire_cancellation( $appointment_id );
				}
			} catch ( \Throwable $e ) {
				KC_Meet_Events::record_failure( $appointment_id, 'dispatch', $e, (string) $context );
			} finally {
				unset( self::$dispatching[ $slot ] );
			}
		}
		if ( $count > 0 ) {
			KC_Meet_Events::reset();
		}
		return $count;
	}

	/**
	 * Whether a Google-made change of the appointment is being dispatched right now (the plugin's
	 * own appointment listeners then do nothing).
	 *
	 * @param int $appointment_id Appointment.
	 * @return bool
	 */
	public static function is_dispatching( $appointment_id ) {
		return isset( self::$dispatching[ self::slot( (int) $appointment_id ) ] );
	}

	/**
	 * KiviCare core's generation: 3, 4, or 0 when unknown.
	 *
	 * @return int
	 */
	public static function kivicare_generation() {
		$generation = 0;
		if ( defined( 'KIVI_CARE_VERSION' ) && is_scalar( KIVI_CARE_VERSION ) ) {
			$generation = version_compare( (string) KIVI_CARE_VERSION, '4.0.0', '>=' ) ? 4 : 3;
		} elseif ( class_exists( KC_Meet_KiviCare4::PARENT_CLASS ) ) {
			$generation = 4;
		}
		/**
		 * Filters which KiviCare generation's cancellation hooks fire for an appointment cancelled
		 * in Google Calendar: 3, 4, or 0 (unknown: both).
		 *
		 * @param int $generation Detected generation.
		 */
		$generation = (int) apply_filters( 'kc_meet_kivicare_generation', $generation );
		return in_array( $generation, array( 3, 4 ), true ) ? $generation : 0;
	}

	/**
	 * The appointments flagged for review, newest first: `appointment_id`, `doctor_id`,
	 * `event_id`, `flagged_at` (unix time).
	 *
	 * @return array[]
	 */
	public static function flagged() {
		$entries = self::clean_flagged( get_option( self::FLAGGED_OPTION, array() ) );
		usort(
			$entries,
			static function ( $a, $b ) {
				return $b['flagged_at'] <=> $a['flagged_at'] ?: $b['appointment_id'] <=> $a['appointment_id'];
			}
		);
		return $entries;
	}

	/**
	 * Removes an appointment from the review list.
	 *
	 * @param int $appointment_id Appointment.
	 * @return bool Whether it was listed.
	 */
	public static function dismiss( $appointment_id ) {
		$appointment_id = (int) $appointment_id;
		$found          = false;
		self::update_flagged(
			static function ( array $entries ) use ( $appointment_id, &$found ) {
				$found = isset( $entries[ $appointment_id ] );
				unset( $entries[ $appointment_id ] );
				return $entries;
			}
		);
		return $found;
	}

	/**
	 * Adds a flagged change to the review list (replacing an older entry of the appointment).
	 *
	 * @param array $change Normalized change.
	 * @return void
	 */
	private static function flag( array $change ) {
		$entry = array(
			'appointment_id' => $change['appointment_id'],
			'doctor_id'      => $change['doctor_id'],
			'event_id'       => $change['event_id'],
			'flagged_at'     => time(),
		);
		self::update_flagged(
			static function ( array $entries ) use ( $entry ) {
				unset( $entries[ $entry['appointment_id'] ] );
				$entries[ $entry['appointment_id'] ] = $entry;
				return array_slice( $entries, -self::MAX_FLAGGED, null, true );
			}
		);
	}

	/**
	 * Read-modify-write of the review list under a MySQL named lock (notifications for several
	 * doctors may arrive at once), reading the option fresh from the database.
	 *
	 * @param callable $change Receives the entries by appointment id, returns the new ones.
	 * @return void
	 */
	private static function update_flagged( callable $change ) {
		global $wpdb;
		$lock = 'kcm_flags_' . md5( $wpdb->dbname . '|' . $wpdb->prefix );
		// phpcs:ignore WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching -- a named lock, not data.
		$locked = '1' === (string) $wpdb->get_var( $wpdb->prepare( 'SELECT GET_LOCK(%s, %d)', $lock, 5 ) );
		try {
			wp_cache_delete( self::FLAGGED_OPTION, 'options' );
			$notoptions = wp_cache_get( 'notoptions', 'options' );
			if ( is_array( $notoptions ) && isset( $notoptions[ self::FLAGGED_OPTION ] ) ) {
				unset( $notoptions[ self::FLAGGED_OPTION ] );
				wp_cache_set( 'notoptions', $notoptions, 'options' );
			}
			$entries = array();
			foreach ( self::clean_flagged( get_option( self::FLAGGED_OPTION, array() ) ) as $entry ) {
				$entries[ $entry['appointment_id'] ] = $entry;
			}
			$entries = $change( $entries );
			if ( empty( $entries ) ) {
				delete_option( self::FLAGGED_OPTION );
			} else {
				update_option( self::FLAGGED_OPTION, $entries, false );
			}
			KC_Meet_Notices::mark( KC_Meet_Notices::REVIEW_WAITING, ! empty( $entries ) );
		} finally {
			if ( $locked ) {
				// phpcs:ignore WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching -- a named lock, not data.
				$wpdb->query( $wpdb->prepare( 'SELECT RELEASE_LOCK(%s)', $lock ) );
			}
		}
	}

	/**
	 * Valid entries of a stored review list.
	 *
	 * @param mixed $stored Option value.
	 * @return array[]
	 */
	private static function clean_flagged( $stored ) {
		$clean = array();
		foreach ( is_array( $stored ) ? $stored : array() as $entry ) {
			if ( is_array( $entry ) && (int) ( $entry['appointment_id'] ?? 0 ) > 0 ) {
				$clean[] = array(
					'appointment_id' => (int) $entry['appointment_id'],
					'doctor_id'      => (int) ( $entry['doctor_id'] ?? 0 ),
					'event_id'       => (string) ( $entry['event_id'] ?? '' ),
					'flagged_at'     => (int) ( $entry['flagged_at'] ?? 0 ),
				);
			}
		}
		return $clean;
	}

	/**
	 * KiviCare's cancellation hooks for an appointment cancelled in Google Calendar.
	 *
	 * @param int $appointment_id Appointment (status 0 already).
	 * @return void
	 */
	private static function fire_cancellation( $appointment_id ) {
		$generation = self::kivicare_generation();
		if ( 3 !== $generation ) {
			/** This action is documented by KiviCare core 4.x. */
			do_action( 'kc_appointment_status_update', $appointment_id, 0, KC_Meet_Appointment_Data::row( $appointment_id ) );
			/** This action is documented by KiviCare core 4.x. */
			do_action( 'kc_appointment_cancelled', $appointment_id );
		}
		if ( 4 !== $generation ) {
			/** This action is documented by KiviCare core 3.x. */
			do_action( 'kc_appointment_cancel', $appointment_id );
		}
	}

	/**
	 * A change with the contract's keys and types, or null when it names no appointment.
	 *
	 * @param mixed $raw Change from the extension.
	 * @return array|null
	 */
	private static function normalize( $raw ) {
		if ( ! is_array( $raw ) || (int) ( $raw['appointment_id'] ?? 0 ) <= 0 ) {
			return null;
		}
		$text = static function ( $value ) {
			return is_scalar( $value ) && '' !== (string) $value ? (string) $value : null;
		};
		return array(
			'appointment_id' => (int) $raw['appointment_id'],
			'doctor_id'      => (int) ( $raw['doctor_id'] ?? 0 ),
			'kind'           => (string) ( $raw['kind'] ?? '' ),
			'event_id'       => (string) ( $raw['event_id'] ?? '' ),
			'from_start_utc' => $text( $raw['from_start_utc'] ?? null ),
			'to_start_utc'   => $text( $raw['to_start_utc'] ?? null ),
			'to_end_utc'     => $text( $raw['to_end_utc'] ?? null ),
		);
	}

	/**
	 * Slot of an appointment: ids are per site on a multisite network.
	 *
	 * @param int $appointment_id Appointment.
	 * @return string
	 */
	private static function slot( $appointment_id ) {
		return get_current_blog_id() . ':' . (int) $appointment_id;
	}
}
