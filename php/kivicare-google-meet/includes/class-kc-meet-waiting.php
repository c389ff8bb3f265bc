<?php
/**
 * Appointments whose Google Meet event follows later.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Keeps the appointments that KiviCare booked but whose Google Meet event could not be made at
 * booking time, so that the people who can fix it are told — once, grouped, not one notice per
 * booking:
 * - `doctor_not_connected` / `doctor_needs_reconnect`: the doctor must connect Google Calendar
 *   (again); the doctor sees one notice with the count and a link to their profile, the
 *   administrators one line per doctor. Connecting again schedules a backfill of that doctor's
 *   upcoming telemedicine appointments ({@see KC_Meet_Appointment_Hooks::on_doctor_connected()}).
 * - `google_unavailable`: Google did not answer, a background job creates the event.
 * - `error`: the extension failed (recorded in the settings page's "Sync problems" box).
 *
 * Stored in the option `kc_meet_waiting` (not autoloaded; at most {@see self::MAX} entries,
 * `appointment_id => [doctor_id, reason, time]`), written once per request on `shutdown`
 * (after KiviCare core's transaction ended). Entries disappear as soon as the appointment has
 * its Meet link, is cancelled or deleted, or another result for it says nothing waits: the
 * notices check the mapping table with one query before they are shown.
 */
final class KC_Meet_Waiting {

	/**
	 * Option name.
	 *
	 * @var string
	 */
	const OPTION = 'kc_meet_waiting';

	/**
	 * Most entries kept (the newest).
	 *
	 * @var int
	 */
	const MAX = 500;

	/**
	 * Reasons that wait for the doctor.
	 *
	 * @var string[]
	 */
	const DOCTOR_REASONS = array( 'doctor_not_connected', 'doctor_needs_reconnect' );

	/**
	 * Changes of this request: appointment id => entry, or null to drop it.
	 *
	 * @var array<int, array|null>
	 */
	private static $changes = array();

	/**
	 * Doctors whose doctor-reason entries are dropped in this request (they connected).
	 *
	 * @var int[]
	 */
	private static $connected = array();

	/**
	 * Notes what an event result means for the appointment: a link that follows later
	 * (queued, or a doctor without a working connection) is kept; anything else drops the entry.
	 *
	 * @param int   $appointment_id Appointment.
	 * @param array $result         Event result (kc_meet_create_event() & co.).
	 * @return void
	 */
	public static function note_result( $appointment_id, array $result ) {
		$state  = (string) ( $result['state'] ?? '' );
		$reason = (string) ( $result['reason'] ?? '' );
		if ( 'queued' === $state ) {
			self::note( $appointment_id, 'google_unavailable', (int) ( $result['doctor_id'] ?? 0 ) );
		} elseif ( 'skipped' === $state && in_array( $reason, self::DOCTOR_REASONS, true ) ) {
			self::note( $appointment_id, $reason, (int) ( $result['doctor_id'] ?? 0 ) );
		} else {
			self::drop( $appointment_id );
		}
	}

	/**
	 * Notes an appointment whose event could not be made because the extension threw: a broken
	 * or missing connection waits for the doctor (4001, 4005), an unreachable Google for the
	 * job queue (3002); anything else is a failure for the administrators.
	 *
	 * @param int        $appointment_id Appointment.
	 * @param \Throwable $e              Exception.
	 * @return void
	 */
	public static function note_exception( $appointment_id, \Throwable $e ) {
		$reasons = array(
			4001 => 'doctor_needs_reconnect',
			4005 => 'doctor_not_connected',
			3002 => 'google_unavailable',
		);
		self::note( $appointment_id, $reasons[ (int) $e->getCode() ] ?? 'error' );
	}

	/**
	 * Notes an appointment whose event waits.
	 *
	 * @param int    $appointment_id Appointment.
	 * @param string $reason         doctor_not_connected|doctor_needs_reconnect|google_unavailable|error.
	 * @param int    $doctor_id      Doctor (0: read from the appointment).
	 * @return void
	 */
	public static function note( $appointment_id, $reason, $doctor_id = 0 ) {
		$appointment_id = (int) $appointment_id;
		if ( $appointment_id <= 0 ) {
			return;
		}
		if ( (int) $doctor_id <= 0 ) {
			$row       = KC_Meet_Appointment_Data::row( $appointment_id );
			$doctor_id = null !== $row ? (int) ( $row['doctor_id'] ?? 0 ) : 0;
		}
		self::$changes[ $appointment_id ] = array(
			'doctor_id' => (int) $doctor_id,
			'reason'    => (string) $reason,
			'time'      => gmdate( 'Y-m-d H:i:s' ),
		);
		self::schedule_flush();
	}

	/**
	 * Drops an appointment's entry.
	 *
	 * @param int $appointment_id Appointment.
	 * @return void
	 */
	public static function drop( $appointment_id ) {
		$appointment_id = (int) $appointment_id;
		if ( $appointment_id <= 0 ) {
			return;
		}
		if ( ! array_key_exists( $appointment_id, self::$changes ) && ! isset( self::stored()[ $appointment_id ] ) ) {
			return; // Nothing stored, nothing to write.
		}
		self::$changes[ $appointment_id ] = null;
		self::schedule_flush();
	}

	/**
	 * A doctor connected: their doctor-reason entries go (the backfill creates the events).
	 *
	 * @param int $doctor_id Doctor.
	 * @return void
	 */
	public static function doctor_connected( $doctor_id ) {
		self::$connected[] = (int) $doctor_id;
		self::schedule_flush();
	}

	/**
	 * Entries, with this request's changes applied: appointment id => `doctor_id`, `reason`,
	 * `time`.
	 *
	 * @return array<int, array>
	 */
	public static function entries() {
		$entries = self::stored();
		foreach ( self::$changes as $id => $entry ) {
			if ( null === $entry ) {
				unset( $entries[ $id ] );
			} else {
				$entries[ $id ] = $entry;
			}
		}
		foreach ( $entries as $id => $entry ) {
			if ( in_array( (int) $entry['doctor_id'], self::$connected, true ) && in_array( $entry['reason'], self::DOCTOR_REASONS, true ) ) {
				unset( $entries[ $id ] );
			}
		}
		return $entries;
	}

	/**
	 * `shutdown`: writes this request's changes (one option write).
	 *
	 * @return void
	 */
	public static function flush() {
		if ( empty( self::$changes ) && empty( self::$connected ) ) {
			return;
		}
		$entries         = self::entries();
		self::$changes   = array();
		self::$connected = array();
		self::store( $entries );
	}

	/**
	 * The entries that still wait: drops those whose appointment has a Meet link by now, is
	 * cancelled or gone (one query) and stores the result when it changed.
	 *
	 * @return array<int, array>
	 */
	public static function pending() {
		global $wpdb;
		$entries = self::entries();
		if ( empty( $entries ) ) {
			return array();
		}
		$ids          = array_map( 'intval', array_keys( $entries ) );
		$appointments = $wpdb->prefix . 'kc_appointments';
		$mappings     = $wpdb->prefix . 'kc_appointment_google_meet_mappings';
		$in           = implode( ',', $ids );
		$suppress     = $wpdb->suppress_errors( true );
		// phpcs:ignore WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching,WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- ids are integers; KiviCare's tables.
		$rows = $wpdb->get_results( "SELECT a.id, a.status, MAX(m.url) AS url FROM `{$appointments}` a LEFT JOIN `{$mappings}` m ON m.appointment_id = a.id WHERE a.id IN ({$in}) GROUP BY a.id, a.status", ARRAY_A );
		$wpdb->suppress_errors( $suppress );
		if ( ! is_array( $rows ) ) {
			return $entries; // Unreadable now: show what is known.
		}
		$still = array();
		foreach ( $rows as $row ) {
			$id = (int) $row['id'];
			if ( '0' !== (string) $row['status'] && '' === trim( (string) $row['url'] ) && isset( $entries[ $id ] ) ) {
				$still[ $id ] = $entries[ $id ];
			}
		}
		if ( count( $still ) !== count( $entries ) ) {
			self::store( $still );
		}
		return $still;
	}

	/**
	 * `admin_notices`: one notice for administrators (per reason; doctors named) and one for a
	 * doctor whose own appointments wait for them to connect.
	 *
	 * @return void
	 */
	public static function render_notices() {
		$is_admin = current_user_can( KC_Meet_Access::ADMIN_CAP );
		$user_id  = get_current_user_id();
		if ( $user_id <= 0 ) {
			return;
		}
		$entries = self::entries();
		$mine    = array_filter(
			$entries,
			static function ( $entry ) use ( $user_id ) {
				return (int) $entry['doctor_id'] === $user_id;
			}
		);
		if ( empty( $entries ) || ( ! $is_admin && empty( $mine ) ) ) {
			return; // No query on ordinary pages.
		}
		$entries = self::pending();
		if ( $is_admin ) {
			$lines = self::admin_lines( $entries );
			if ( ! empty( $lines ) ) {
				printf(
					'<div class="notice notice-warning" id="kc-meet-waiting-notice" data-count="%1$d"><p>%2$s</p><ul>%3$s</ul></div>',
					count( $entries ),
					esc_html(
						sprintf(
							/* translators: %d: number of appointments */
							_n(
								'KiviCare Google Meet: %d video consultation is booked without its Google Meet link yet:',
								'KiviCare Google Meet: %d video consultations are booked without their Google Meet link yet:',
								count( $entries ),
								'kc-googlemeet'
							),
							count( $entries )
						)
					),
					implode( '', array_map( static fn( $line ) => '<li>' . esc_html( $line ) . '</li>', $lines ) )
				);
			}
		}
		$mine = array_filter(
			$entries,
			static function ( $entry ) use ( $user_id ) {
				return (int) $entry['doctor_id'] === $user_id && in_array( $entry['reason'], self::DOCTOR_REASONS, true );
			}
		);
		if ( ! empty( $mine ) ) {
			printf(
				'<div class="notice notice-warning" id="kc-meet-doctor-waiting-notice" data-count="%1$d"><p>%2$s <a href="%3$s">%4$s</a></p></div>',
				count( $mine ),
				esc_html(
					sprintf(
						/* translators: %d: number of appointments */
						_n(
							'%d of your video consultations has no Google Meet link because your Google Calendar is not connected. Once you connect it, the link is created and sent to the patient.',
							'%d of your video consultations have no Google Meet link because your Google Calendar is not connected. Once you connect it, the links are created and sent to the patients.',
							count( $mine ),
							'kc-googlemeet'
						),
						count( $mine )
					)
				),
				esc_url( admin_url( 'profile.php#kc-meet-profile' ) ),
				esc_html__( 'Connect Google Calendar', 'kc-googlemeet' )
			);
		}
	}

	/**
	 * Administrator notice lines: one per doctor who must connect, one for Google, one for
	 * failures.
	 *
	 * @param array<int, array> $entries Pending entries.
	 * @return string[]
	 */
	private static function admin_lines( array $entries ) {
		$by_doctor = array();
		$google    = 0;
		$errors    = 0;
		foreach ( $entries as $entry ) {
			if ( in_array( $entry['reason'], self::DOCTOR_REASONS, true ) ) {
				$by_doctor[ (int) $entry['doctor_id'] ] = ( $by_doctor[ (int) $entry['doctor_id'] ] ?? 0 ) + 1;
			} elseif ( 'google_unavailable' === $entry['reason'] ) {
				++$google;
			} else {
				++$errors;
			}
		}
		$lines = array();
		foreach ( $by_doctor as $doctor_id => $count ) {
			$user    = get_userdata( $doctor_id );
			$lines[] = sprintf(
				/* translators: 1: doctor name, 2: number of appointments */
				_n( '%1$s must connect Google Calendar (again): %2$d appointment waits.', '%1$s must connect Google Calendar (again): %2$d appointments wait.', $count, 'kc-googlemeet' ),
				$user ? $user->display_name : '#' . $doctor_id,
				$count
			);
		}
		if ( $google > 0 ) {
			$lines[] = sprintf(
				/* translators: %d: number of appointments */
				_n( 'Google did not answer for %d appointment: its event is created in the background.', 'Google did not answer for %d appointments: their events are created in the background.', $google, 'kc-googlemeet' ),
				$google
			);
		}
		if ( $errors > 0 ) {
			$lines[] = sprintf(
				/* translators: %d: number of appointments */
				_n( '%d appointment failed: see Settings → KiviCare Google Meet.', '%d appointments failed: see Settings → KiviCare Google Meet.', $errors, 'kc-googlemeet' ),
				$errors
			);
		}
		return $lines;
	}

	/**
	 * The stored entries.
	 *
	 * @return array<int, array>
	 */
	private static function stored() {
		$stored  = get_option( self::OPTION, array() );
		$entries = array();
		foreach ( is_array( $stored ) ? $stored : array() as $id => $entry ) {
			if ( (int) $id > 0 && is_array( $entry ) && isset( $entry['reason'] ) ) {
				$entries[ (int) $id ] = array(
					'doctor_id' => (int) ( $entry['doctor_id'] ?? 0 ),
					'reason'    => (string) $entry['reason'],
					'time'      => (string) ( $entry['time'] ?? '' ),
				);
			}
		}
		return $entries;
	}

	/**
	 * Stores entries (the newest {@see self::MAX}).
	 *
	 * @param array<int, array> $entries Entries.
	 * @return void
	 */
	private static function store( array $entries ) {
		if ( empty( $entries ) ) {
			delete_option( self::OPTION );
			return;
		}
		update_option( self::OPTION, array_slice( $entries, -self::MAX, null, true ), false );
	}

	/**
	 * Writes on `shutdown` (once).
	 *
	 * @return void
	 */
	private static function schedule_flush() {
		if ( did_action( 'shutdown' ) ) {
			self::flush();
		} elseif ( false === has_action( 'shutdown', array( __CLASS__, 'flush' ) ) ) {
			add_action( 'shutdown', array( __CLASS__, 'flush' ) );
		}
	}
}
