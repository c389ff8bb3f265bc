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
 *   counted in an admin notice; an administrator dismisses each entry), and takes the entry out
 *   again on `restored` (the doctor undid the deletion in Google, or restored the event from the
 *   bin: the extension made it the appointment's event again);
 * - records a `moved` or `reverted` change (a move made in Google, applied to the appointment
 *   or put back at Google by the site's policy) in the list of moves to review (option
 *   `kc_meet_moved_appointments`: the time before and the time the doctor chose, UTC) and flags
 *   the event (`kc_meet_review_move( $id, 'flag' )`: state `flagged` on the screens); an
 *   administrator then accepts the doctor's time or reverts to the earlier one
 *   ({@see self::review_move()}, the Appointments screen's buttons);
 * - fires `kc_meet_appointment_changed_in_google` ($change, $context) with the change
 *   `appointment_id` (int), `doctor_id` (int), `kind` ('moved'|'reverted'|'deleted_flagged'|
 *   'cancelled'|'recreated'|'meet_link_changed'|'restored'), `event_id`, `from_start_utc`, `to_start_utc`,
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
	 * Option holding the moves made in Google waiting for review (not autoloaded).
	 *
	 * @var string
	 */
	const MOVED_OPTION = 'kc_meet_moved_appointments';

	/**
	 * The flag the extension leaves on the event of a move waiting for review.
	 *
	 * @var string
	 */
	const MOVE_FLAG = 'moved_in_google';

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
			} elseif ( 'restored' === $change['kind'] ) {
				try {
					self::unflag( $appointment_id );
				} catch ( \Throwable $e ) {
					KC_Meet_Events::record_failure( $appointment_id, 'dispatch', $e, (string) $context );
				}
			} elseif ( in_array( $change['kind'], array( 'moved', 'reverted' ), true ) ) {
				try {
					self::flag_move( $change );
				} catch ( \Throwable $e ) {
					KC_Meet_Events::record_failure( $appointment_id, 'dispatch', $e, (string) $context );
				}
			}

			$slot                       = KC_Meet_Events::slot( $appointment_id );
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
		return isset( self::$dispatching[ KC_Meet_Events::slot( (int) $appointment_id ) ] );
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
	 * The moves made in Google waiting for review, by appointment id: `appointment_id`,
	 * `doctor_id`, `event_id`, `kind` ('moved': the appointment took the doctor's time;
	 * 'reverted': the event was put back), `old_start_utc`, `old_end_utc` (the appointment's time
	 * before), `new_start_utc`, `new_end_utc` (the time the doctor chose in Google), `flagged_at`.
	 * One option read, whatever the number of rows shown.
	 *
	 * @return array<int, array>
	 */
	public static function moves() {
		$moves = array();
		foreach ( self::clean_moves( get_option( self::MOVED_OPTION, array() ) ) as $entry ) {
			$moves[ $entry['appointment_id'] ] = $entry;
		}
		return $moves;
	}

	/**
	 * An administrator's decision on a move made in Google: 'accept' (the appointment and its
	 * event take the time the doctor chose) or 'revert' (both take the appointment's earlier
	 * time). KiviCare's row is written as KiviCare stores it (local columns, and the UTC ones
	 * on 4.2+), the event is patched when it differs, the flag and the review entry go, and
	 * the decision is audited. Idempotent: a decision on an appointment with nothing to review
	 * answers null and changes nothing.
	 *
	 * @param int    $appointment_id Appointment.
	 * @param string $decision       'accept' or 'revert'.
	 * @return array|null kc_meet_review_move()'s result, or null when nothing waits for review.
	 * @throws \InvalidArgumentException On another decision.
	 * @throws \Throwable The extension's exception (the entry is kept).
	 */
	public static function review_move( $appointment_id, $decision ) {
		$appointment_id = (int) $appointment_id;
		if ( ! in_array( $decision, array( 'accept', 'revert' ), true ) ) {
			throw new \InvalidArgumentException( 'decision must be accept or revert' );
		}
		$moves = self::moves();
		if ( ! isset( $moves[ $appointment_id ] ) ) {
			return null;
		}
		$entry  = $moves[ $appointment_id ];
		$side   = 'accept' === $decision ? 'new' : 'old';
		$result = self::native_review(
			$appointment_id,
			$decision,
			array(
				'start_utc' => $entry[ $side . '_start_utc' ],
				'end_utc'   => $entry[ $side . '_end_utc' ],
			)
		);
		KC_Meet_Events::reset();
		self::dismiss_move( $appointment_id );
		/**
		 * Fires after an administrator accepted or reverted a move made in Google Calendar.
		 *
		 * @param int    $appointment_id Appointment.
		 * @param string $decision       'accept' or 'revert'.
		 * @param array  $entry          The reviewed move (see KC_Meet_Sync_Changes::moves()).
		 * @param array  $result         kc_meet_review_move()'s result.
		 */
		do_action( 'kc_meet_google_move_reviewed', $appointment_id, $decision, $entry, $result );
		return $result;
	}

	/**
	 * Removes an appointment from the moves waiting for review.
	 *
	 * @param int $appointment_id Appointment.
	 * @return bool Whether it was listed.
	 */
	public static function dismiss_move( $appointment_id ) {
		$appointment_id = (int) $appointment_id;
		$found          = false;
		self::update_option_locked(
			self::MOVED_OPTION,
			static function ( array $entries ) use ( $appointment_id, &$found ) {
				$found = isset( $entries[ $appointment_id ] );
				unset( $entries[ $appointment_id ] );
				return $entries;
			}
		);
		return $found;
	}

	/**
	 * Lists a move made in Google for review and flags its event (see the class description).
	 * 'moved' carries the appointment's earlier start and the doctor's start and end; 'reverted'
	 * the doctor's start and the appointment's start and end. The side whose end Google's
	 * change does not carry keeps the other side's length.
	 *
	 * @param array $change Normalized change.
	 * @return void
	 */
	private static function flag_move( array $change ) {
		$ts = static function ( $utc ) {
			return null === $utc ? false : strtotime( $utc . ' UTC' );
		};
		$from = $ts( $change['from_start_utc'] );
		$to   = $ts( $change['to_start_utc'] );
		$end  = $ts( $change['to_end_utc'] );
		if ( false === $from || false === $to || false === $end || $end <= $to ) {
			return;
		}
		$utc = static function ( $t ) {
			return gmdate( 'Y-m-d H:i:s', $t );
		};
		if ( 'moved' === $change['kind'] ) {
			$times = array( $from, $from + ( $end - $to ), $to, $end );
		} else {
			$times = array( $to, $end, $from, $from + ( $end - $to ) );
		}
		$entry = array(
			'appointment_id' => $change['appointment_id'],
			'doctor_id'      => $change['doctor_id'],
			'event_id'       => $change['event_id'],
			'kind'           => $change['kind'],
			'old_start_utc'  => $utc( $times[0] ),
			'old_end_utc'    => $utc( $times[1] ),
			'new_start_utc'  => $utc( $times[2] ),
			'new_end_utc'    => $utc( $times[3] ),
			'flagged_at'     => time(),
		);
		self::native_review( $entry['appointment_id'], 'flag', array() );
		self::update_option_locked(
			self::MOVED_OPTION,
			static function ( array $entries ) use ( $entry ) {
				unset( $entries[ $entry['appointment_id'] ] );
				$entries[ $entry['appointment_id'] ] = $entry;
				return array_slice( $entries, -self::MAX_FLAGGED, null, true );
			}
		);
	}

	/**
	 * kc_meet_review_move() once the extension is configured.
	 *
	 * @param int    $appointment_id Appointment.
	 * @param string $action         'flag', 'accept' or 'revert'.
	 * @param array  $times          `start_utc`, `end_utc` for a decision.
	 * @return array
	 */
	private static function native_review( $appointment_id, $action, array $times ) {
		KC_Meet_Native::ensure_ready();
		return kc_meet_review_move( (int) $appointment_id, (string) $action, $times );
	}

	/**
	 * Valid entries of the stored moves list.
	 *
	 * @param mixed $stored Option value.
	 * @return array[]
	 */
	private static function clean_moves( $stored ) {
		$clean = array();
		$time  = static function ( $value ) {
			return is_string( $value ) && preg_match( '/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/', $value ) ? $value : null;
		};
		foreach ( is_array( $stored ) ? $stored : array() as $entry ) {
			if ( ! is_array( $entry ) || (int) ( $entry['appointment_id'] ?? 0 ) <= 0 ) {
				continue;
			}
			$entry = array(
				'appointment_id' => (int) $entry['appointment_id'],
				'doctor_id'      => (int) ( $entry['doctor_id'] ?? 0 ),
				'event_id'       => (string) ( $entry['event_id'] ?? '' ),
				'kind'           => 'reverted' === ( $entry['kind'] ?? '' ) ? 'reverted' : 'moved',
				'old_start_utc'  => $time( $entry['old_start_utc'] ?? null ),
				'old_end_utc'    => $time( $entry['old_end_utc'] ?? null ),
				'new_start_utc'  => $time( $entry['new_start_utc'] ?? null ),
				'new_end_utc'    => $time( $entry['new_end_utc'] ?? null ),
				'flagged_at'     => (int) ( $entry['flagged_at'] ?? 0 ),
			);
			if ( ! in_array( null, $entry, true ) ) {
				$clean[] = $entry;
			}
		}
		return $clean;
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
	 * Takes the appointment out of the review list: its event deleted in Google is back.
	 *
	 * @param int $appointment_id Appointment id.
	 * @return void
	 */
	private static function unflag( $appointment_id ) {
		self::update_flagged(
			static function ( array $entries ) use ( $appointment_id ) {
				unset( $entries[ $appointment_id ] );
				return $entries;
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
		self::update_option_locked( self::FLAGGED_OPTION, $change );
	}

	/**
	 * Read-modify-write of one of the review lists under a MySQL named lock, reading the option
	 * fresh from the database. The review notice follows the deletions' list.
	 *
	 * @param string   $option The option.
	 * @param callable $change Receives the entries by appointment id, returns the new ones.
	 * @return void
	 */
	private static function update_option_locked( $option, callable $change ) {
		global $wpdb;
		$lock = 'kcm_flags_' . md5( $wpdb->dbname . '|' . $wpdb->prefix );
		// phpcs:ignore WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching -- a named lock, not data.
		$locked = '1' === (string) $wpdb->get_var( $wpdb->prepare( 'SELECT GET_LOCK(%s, %d)', $lock, 5 ) );
		try {
			wp_cache_delete( $option, 'options' );
			$notoptions = wp_cache_get( 'notoptions', 'options' );
			if ( is_array( $notoptions ) && isset( $notoptions[ $option ] ) ) {
				unset( $notoptions[ $option ] );
				wp_cache_set( 'notoptions', $notoptions, 'options' );
			}
			$entries = array();
			$stored  = get_option( $option, array() );
			$clean   = self::FLAGGED_OPTION === $option ? self::clean_flagged( $stored ) : self::clean_moves( $stored );
			foreach ( $clean as $entry ) {
				$entries[ $entry['appointment_id'] ] = $entry;
			}
			$entries = $change( $entries );
			if ( empty( $entries ) ) {
				delete_option( $option );
			} else {
				update_option( $option, $entries, false );
			}
			if ( self::FLAGGED_OPTION === $option ) {
				KC_Meet_Notices::mark( KC_Meet_Notices::REVIEW_WAITING, ! empty( $entries ) );
			}
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

}
