<?php
/**
 * Appointment data handed to the extension's event functions.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Builds the `$appointment` array of `kc_meet_create_event()` / `kc_meet_update_event()` from
 * KiviCare's tables, read through `$wpdb`.
 *
 * `$wpdb` is the connection KiviCare core writes with: inside core 4.x's open transaction it sees
 * the new (uncommitted) appointment row and its service rows, which the extension's own
 * connection cannot see. Plain, non-locking SELECTs only. The plugin converts, the extension
 * decides: what is read here is handed over raw, and every rule about it lives in
 * `src/appointments.rs`.
 *
 * What is read and handed over:
 * - `{prefix}kc_appointments`: doctor, patient, clinic, status, description, and the time columns
 *   unconverted as `row` (local date/time columns, `appointment_start_utc`/`_end_utc`,
 *   `appointment_timezone`). Which of them applies, the 'UTC' column default of a row without
 *   UTC times, the doctor's and the site's zone, DST gaps and overlaps: decided by the extension
 *   (`decide_times()`);
 * - the doctor's `timezone` user meta, raw, as `doctor_timezone`;
 * - `{prefix}kc_clinics`: name; address = address, city, postal code, country joined by ", ";
 * - the patient and doctor users: display name and e-mail;
 * - the appointment's service rows (`kc_appointment_service_mapping` ⨝ `kc_services` ⨝ the
 *   doctor's `kc_service_doctor_mapping` for the clinic) as `service_rows`: `name`,
 *   `service_name_alias`, `telemed_service`. Which are video consultations and the name each goes
 *   by (the alias first): decided by the extension (`service_label()`);
 * - the site's `date_format` / `time_format`; `appointment_date` / `appointment_time` are the
 *   row's local date and time columns in those formats (what KiviCare shows; no conversion);
 * - `read_at`: when the reading started, so the extension never lets older data win.
 *
 * Merge rules of what core handed over (normalized by {@see self::from_core3()} /
 * {@see self::from_core4()}), and where each lives:
 * - ids: the row's, else core's (here);
 * - `status`: the caller's, else the row's; without a row, `_status_fallback` (from_core4(): 1)
 *   (here);
 * - times: when the row is readable only the row is handed over, so its times always win over
 *   core's (`start_time` is "now" when core 4.x regenerates a link, the booking moment in 4.0.3)
 *   (here); without a row core's `start`/`end`/`duration`/`timezone` are handed over and the
 *   extension reads them (local or ISO 8601 with offset, end from the duration);
 * - services: the telemed rows' names win over core's list (`services`), which wins over what the
 *   extension reads itself (extension); `telemed` is true when the caller says so or a telemed
 *   row is found (extension);
 * - people, clinic, description: the tables', else core's (here).
 *
 * The result only ever holds the keys of the native contract ({@see self::KEYS}), never null or
 * empty values, and passes through the filter `kc_meet_appointment_data`.
 */
final class KC_Meet_Appointment_Data {

	/**
	 * The keys `kc_meet_create_event()` accepts in `$appointment` (any other key is rejected by the
	 * extension).
	 *
	 * @var string[]
	 */
	const KEYS = array(
		'doctor_id',
		'patient_id',
		'clinic_id',
		'status',
		'start_utc',
		'end_utc',
		'start',
		'end',
		'duration',
		'timezone',
		'row',
		'doctor_timezone',
		'telemed',
		'services',
		'service_rows',
		'patient_name',
		'patient_email',
		'doctor_name',
		'doctor_email',
		'clinic_name',
		'clinic_address',
		'description',
		'appointment_date',
		'appointment_time',
		'date_format',
		'time_format',
		'read_at',
	);

	/**
	 * The time columns of `kc_appointments` handed over raw (older sites lack the last three).
	 *
	 * @var string[]
	 */
	const TIME_COLUMNS = array(
		'appointment_start_date',
		'appointment_start_time',
		'appointment_end_date',
		'appointment_end_time',
		'appointment_start_utc',
		'appointment_end_utc',
		'appointment_timezone',
	);

	/**
	 * Topic core 4.x sends when an admin regenerates a link (not a service name).
	 *
	 * @var string
	 */
	const REGENERATED_TOPIC = 'Regenerated Telemed Service';

	/**
	 * Builds the `$appointment` array for an appointment.
	 *
	 * @param int   $appointment_id Appointment.
	 * @param array $handed         What the caller knows (contract keys, e.g. from
	 *                              from_core3()/from_core4()); fills the gaps of the tables.
	 * @return array Contract keys only.
	 */
	public static function build( $appointment_id, array $handed = array() ) {
		$appointment_id = (int) $appointment_id;
		$data           = array( 'read_at' => microtime( true ) );
		$row            = self::row( $appointment_id );

		foreach ( array( 'doctor_id', 'patient_id', 'clinic_id' ) as $key ) {
			$value        = null !== $row && isset( $row[ $key ] ) ? (int) $row[ $key ] : (int) ( $handed[ $key ] ?? 0 );
			$data[ $key ] = $value > 0 ? $value : null;
		}

		if ( isset( $handed['status'] ) && is_numeric( $handed['status'] ) ) {
			$data['status'] = (int) $handed['status'];
		} elseif ( null !== $row && isset( $row['status'] ) && is_numeric( $row['status'] ) ) {
			$data['status'] = (int) $row['status'];
		} elseif ( null === $row && isset( $handed['_status_fallback'] ) && is_numeric( $handed['_status_fallback'] ) ) {
			$data['status'] = (int) $handed['_status_fallback'];
		}

		// Times: the row's columns when readable, else what the caller handed over.
		if ( null !== $row ) {
			$data['row'] = array_intersect_key( $row, array_flip( self::TIME_COLUMNS ) );
		} else {
			$data = array_merge( $data, self::handed_times( $handed ) );
		}
		if ( $data['doctor_id'] ) {
			$data['doctor_timezone'] = get_user_meta( (int) $data['doctor_id'], 'timezone', true );
		}

		// Services.
		$data['telemed']      = ! empty( $handed['telemed'] ) ? true : null;
		$data['services']     = self::clean_list( $handed['services'] ?? array() );
		$data['service_rows'] = null !== $row ? self::services( $appointment_id, (int) $data['doctor_id'], (int) $data['clinic_id'] ) : null;

		// People.
		foreach ( array( 'patient', 'doctor' ) as $who ) {
			$user                    = $data[ $who . '_id' ] ? get_userdata( (int) $data[ $who . '_id' ] ) : false;
			$data[ $who . '_name' ]  = $user ? (string) $user->display_name : ( $handed[ $who . '_name' ] ?? null );
			$data[ $who . '_email' ] = $user && is_email( $user->user_email ) ? (string) $user->user_email : ( $handed[ $who . '_email' ] ?? null );
		}

		// Clinic.
		$clinic                 = null !== $row ? self::clinic( (int) $data['clinic_id'] ) : null;
		$data['clinic_name']    = null !== $clinic ? (string) ( $clinic['name'] ?? '' ) : ( $handed['clinic_name'] ?? null );
		$data['clinic_address'] = null !== $clinic ? self::clinic_address( $clinic ) : ( $handed['clinic_address'] ?? null );

		$data['description'] = null !== $row && isset( $row['description'] ) ? (string) $row['description'] : ( $handed['description'] ?? null );

		// Date and time as the event text shows them (site formats).
		$data['date_format']      = (string) get_option( 'date_format', 'F j, Y' );
		$data['time_format']      = (string) get_option( 'time_format', 'g:i a' );
		$shown                    = null !== $row ? self::shown( $row, $data['date_format'], $data['time_format'] ) : array();
		$data['appointment_date'] = $handed['appointment_date'] ?? ( $shown['date'] ?? null );
		$data['appointment_time'] = $handed['appointment_time'] ?? ( $shown['time'] ?? null );

		/**
		 * Filters the appointment data handed to kc_meet_create_event()/kc_meet_update_event().
		 * Keys outside the native contract are dropped afterwards.
		 *
		 * @param array $data           Appointment data.
		 * @param int   $appointment_id Appointment.
		 * @param array $handed         What the caller (KiviCare core) handed over.
		 */
		$filtered = apply_filters( 'kc_meet_appointment_data', $data, $appointment_id, $handed );
		return self::sanitize( is_array( $filtered ) ? $filtered : $data );
	}

	/**
	 * The appointment row, or null (no such row, or the table is missing).
	 *
	 * @param int $appointment_id Appointment.
	 * @return array|null
	 */
	public static function row( $appointment_id ) {
		global $wpdb;
		$appointment_id = (int) $appointment_id;
		if ( $appointment_id <= 0 ) {
			return null;
		}
		$table = $wpdb->prefix . 'kc_appointments';
		$row   = self::quietly(
			static function () use ( $wpdb, $table, $appointment_id ) {
				// phpcs:ignore WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching,WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- KiviCare's table; fresh read needed.
				return $wpdb->get_row( $wpdb->prepare( "SELECT * FROM `{$table}` WHERE id = %d", $appointment_id ), ARRAY_A );
			}
		);
		return is_array( $row ) ? $row : null;
	}

	/**
	 * The appointment's service rows its doctor offers as a video consultation (empty when none or
	 * unreadable): `service_id`, `name`, `service_name_alias`, `telemed_service`.
	 *
	 * @param int $appointment_id Appointment.
	 * @return array[]
	 */
	public static function telemed_services( $appointment_id ) {
		$row = self::row( $appointment_id );
		if ( null === $row ) {
			return array();
		}
		$rows = self::services( (int) $appointment_id, (int) ( $row['doctor_id'] ?? 0 ), (int) ( $row['clinic_id'] ?? 0 ) );
		return array_values(
			array_filter(
				(array) $rows,
				static function ( $service ) {
					return 'yes' === strtolower( trim( (string) $service['telemed_service'] ) );
				}
			)
		);
	}

	/**
	 * Normalizes what KiviCare 3.x's `kcgm_save_appointment_event` filter hands over:
	 * `service` ('Svc A,Svc B') → `services`; core calls the filter only for telemed services
	 * (before their rows exist), so `telemed` is true.
	 *
	 * @param array $data Filter argument.
	 * @return array Contract keys.
	 */
	public static function from_core3( array $data ) {
		$services = isset( $data['service'] ) && is_string( $data['service'] ) ? explode( ',', $data['service'] ) : array();
		$handed   = array(
			'telemed'  => true,
			'services' => self::clean_list( $services ),
		);
		// Core 3.x calls with type 'woocommerce' when the order is paid but leaves the appointment
		// at status 0: the meeting must exist once it is paid.
		if ( isset( $data['type'] ) && 'woocommerce' === $data['type'] ) {
			$handed['status'] = 1;
		}
		return $handed;
	}

	/**
	 * Normalizes the meeting data of KiviCare 4.x's `create_meeting()` / `update_meeting()`:
	 * `doctor_id`, `patient_id`, `topic` (service names joined by ", "; not the regenerate topic),
	 * `start_time` (local 'Y-m-d H:i:s', or ISO 8601 with offset), `end_time`, `duration`
	 * (minutes), `timezone`, `attendees` ([patient e-mail, doctor e-mail]). Times are only used
	 * when the appointment row cannot be read; so is status 1 (booked), the status assumed then.
	 *
	 * @param array $data Meeting data.
	 * @return array Contract keys.
	 */
	public static function from_core4( array $data ) {
		// Core calls create/update_meeting for a booked appointment: without a readable row the
		// extension must not take it for a cancelled one.
		$handed = array( '_status_fallback' => 1 );
		foreach ( array( 'doctor_id', 'patient_id' ) as $key ) {
			if ( isset( $data[ $key ] ) && is_numeric( $data[ $key ] ) && (int) $data[ $key ] > 0 ) {
				$handed[ $key ] = (int) $data[ $key ];
			}
		}
		$topic = isset( $data['topic'] ) && is_string( $data['topic'] ) ? trim( $data['topic'] ) : '';
		if ( '' !== $topic && self::REGENERATED_TOPIC !== $topic ) {
			$handed['services'] = self::clean_list( explode( ',', $topic ) );
		}
		if ( isset( $data['attendees'] ) && is_array( $data['attendees'] ) ) {
			$emails = array();
			foreach ( $data['attendees'] as $attendee ) {
				$email = is_array( $attendee ) ? ( $attendee['email'] ?? '' ) : $attendee;
				if ( is_string( $email ) && is_email( $email ) ) {
					$emails[] = $email;
				}
			}
			if ( isset( $emails[0] ) ) {
				$handed['patient_email'] = $emails[0];
			}
			if ( isset( $emails[1] ) ) {
				$handed['doctor_email'] = $emails[1];
			}
		}
		foreach ( array( 'start_time', 'end_time', 'duration', 'timezone' ) as $key ) {
			if ( isset( $data[ $key ] ) && is_scalar( $data[ $key ] ) ) {
				$handed[ '_' . $key ] = (string) $data[ $key ];
			}
		}
		return $handed;
	}

	/**
	 * The appointment id in whatever core passes: an id, a numeric string, an array or an object
	 * with `id` / `appointment_id` / `appointmentId` / `appoinment_id`.
	 *
	 * @param mixed $value Value.
	 * @return int 0 when none.
	 */
	public static function id_of( $value ) {
		if ( is_int( $value ) || ( is_string( $value ) && ctype_digit( trim( $value ) ) ) ) {
			return max( 0, (int) $value );
		}
		$keys = array( 'id', 'appointment_id', 'appointmentId', 'appoinment_id' );
		if ( is_array( $value ) ) {
			foreach ( $keys as $key ) {
				if ( isset( $value[ $key ] ) && is_numeric( $value[ $key ] ) ) {
					return max( 0, (int) $value[ $key ] );
				}
			}
			return 0;
		}
		if ( is_object( $value ) ) {
			foreach ( $keys as $key ) {
				try {
					$found = isset( $value->$key ) ? $value->$key : ( method_exists( $value, '__get' ) ? $value->__get( $key ) : null );
				} catch ( \Throwable $e ) {
					$found = null;
				}
				if ( is_numeric( $found ) ) {
					return max( 0, (int) $found );
				}
			}
		}
		return 0;
	}

	/**
	 * What core handed over about the time, for an appointment whose row cannot be read:
	 * from_core4()'s `_start_time`, `_end_time`, `_duration`, `_timezone` (or contract keys a
	 * caller set directly), passed on unconverted. Values of a shape the extension would refuse
	 * are left out (the extension then reads its own row): core's data never fails a booking.
	 *
	 * @param array $handed Handed data.
	 * @return array Contract keys.
	 */
	private static function handed_times( array $handed ) {
		$keys = array();
		$pick = static function ( array $names ) use ( $handed ) {
			foreach ( $names as $name ) {
				if ( isset( $handed[ $name ] ) && is_scalar( $handed[ $name ] ) && '' !== trim( (string) $handed[ $name ] ) ) {
					return trim( (string) $handed[ $name ] );
				}
			}
			return null;
		};
		foreach ( array(
			'start_utc' => array( 'start_utc' ),
			'end_utc'   => array( 'end_utc' ),
			'start'     => array( 'start', '_start_time' ),
			'end'       => array( 'end', '_end_time' ),
		) as $key => $names ) {
			$value = $pick( $names );
			if ( null !== $value && preg_match( '/^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i', $value ) ) {
				$keys[ $key ] = $value;
			}
		}
		$duration = $pick( array( 'duration', '_duration' ) );
		if ( null !== $duration && ctype_digit( $duration ) && (int) $duration > 0 && (int) $duration <= 7 * 24 * 60 ) {
			$keys['duration'] = (int) $duration;
		}
		$timezone = $pick( array( 'timezone', '_timezone' ) );
		if ( null !== $timezone && self::is_zone_name( $timezone ) ) {
			$keys['timezone'] = $timezone;
		}
		return $keys;
	}

	/**
	 * Whether a zone name has a shape the extension reads (an IANA name or an offset); which
	 * zone applies is the extension's decision.
	 *
	 * @param string $name Zone.
	 * @return bool
	 */
	private static function is_zone_name( $name ) {
		if ( preg_match( '/^(?:UTC|GMT)?\s*[+-]\d{1,2}(?::\d{2}|\.\d+)?$/i', $name ) ) {
			return true;
		}
		return in_array( $name, timezone_identifiers_list( DateTimeZone::ALL_WITH_BC ), true ) || 'UTC' === strtoupper( $name );
	}

	/**
	 * The row's local date and time as KiviCare shows them, in the site's formats (wall time:
	 * no zone is involved).
	 *
	 * @param array  $row         Appointment row.
	 * @param string $date_format PHP date format.
	 * @param string $time_format PHP time format.
	 * @return array{date?: string, time?: string}
	 */
	private static function shown( array $row, $date_format, $time_format ) {
		$local = trim( (string) ( $row['appointment_start_date'] ?? '' ) . ' ' . (string) ( $row['appointment_start_time'] ?? '' ) );
		if ( ! preg_match( '/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?$/', $local ) || 0 === strpos( $local, '0000' ) ) {
			return array();
		}
		$utc  = new DateTimeZone( 'UTC' );
		$wall = date_create_immutable( $local, $utc );
		if ( false === $wall ) {
			return array();
		}
		return array(
			'date' => wp_date( $date_format, $wall->getTimestamp(), $utc ),
			'time' => wp_date( $time_format, $wall->getTimestamp(), $utc ),
		);
	}

	/**
	 * The appointment's service rows, raw: `service_id`, `name` (`kc_services`),
	 * `service_name_alias` and `telemed_service` of the doctor's `kc_service_doctor_mapping` row
	 * for the clinic (NULL without one). What they mean is the extension's decision.
	 *
	 * @param int $appointment_id Appointment.
	 * @param int $doctor_id      Doctor.
	 * @param int $clinic_id      Clinic (0: any of the doctor's clinics).
	 * @return array[]|null Null when unreadable.
	 */
	private static function services( $appointment_id, $doctor_id, $clinic_id ) {
		global $wpdb;
		$p    = $wpdb->prefix;
		$rows = self::quietly(
			static function () use ( $wpdb, $p, $appointment_id, $doctor_id, $clinic_id ) {
				// phpcs:disable WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching,WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- KiviCare's tables; fresh read needed.
				return $wpdb->get_results(
					$wpdb->prepare(
						"SELECT asm.service_id AS service_id, s.name AS name, sdm.service_name_alias AS service_name_alias,
							sdm.telemed_service AS telemed_service
						FROM `{$p}kc_appointment_service_mapping` asm
						LEFT JOIN `{$p}kc_services` s ON s.id = asm.service_id
						LEFT JOIN `{$p}kc_service_doctor_mapping` sdm
							ON sdm.service_id = asm.service_id AND sdm.doctor_id = %d AND (sdm.clinic_id = %d OR %d = 0)
						WHERE asm.appointment_id = %d
						ORDER BY asm.id",
						$doctor_id,
						$clinic_id,
						$clinic_id,
						$appointment_id
					),
					ARRAY_A
				);
				// phpcs:enable
			}
		);
		if ( ! is_array( $rows ) ) {
			return null;
		}
		// The service_name_alias column is missing on old sites: the query then fails as a whole.
		return array_map(
			static function ( $row ) {
				return array(
					'service_id'         => (int) $row['service_id'],
					'name'               => $row['name'],
					'service_name_alias' => $row['service_name_alias'],
					'telemed_service'    => $row['telemed_service'],
				);
			},
			$rows
		);
	}

	/**
	 * A clinic row (name and address parts), or null.
	 *
	 * @param int $clinic_id Clinic.
	 * @return array|null
	 */
	private static function clinic( $clinic_id ) {
		global $wpdb;
		if ( (int) $clinic_id <= 0 ) {
			return null;
		}
		$table = $wpdb->prefix . 'kc_clinics';
		$row   = self::quietly(
			static function () use ( $wpdb, $table, $clinic_id ) {
				// phpcs:ignore WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching,WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- KiviCare's table.
				return $wpdb->get_row( $wpdb->prepare( "SELECT name, address, city, postal_code, country FROM `{$table}` WHERE id = %d", (int) $clinic_id ), ARRAY_A );
			}
		);
		return is_array( $row ) ? $row : null;
	}

	/**
	 * "address, city, postal code, country" without the empty parts.
	 *
	 * @param array $clinic Clinic row.
	 * @return string
	 */
	private static function clinic_address( array $clinic ) {
		$parts = array();
		foreach ( array( 'address', 'city', 'postal_code', 'country' ) as $key ) {
			$part = trim( (string) ( $clinic[ $key ] ?? '' ) );
			if ( '' !== $part ) {
				$parts[] = $part;
			}
		}
		return implode( ', ', $parts );
	}

	/**
	 * Trimmed, non-empty, unique strings.
	 *
	 * @param mixed $values Values.
	 * @return string[]
	 */
	private static function clean_list( $values ) {
		$clean = array();
		foreach ( (array) $values as $value ) {
			if ( is_scalar( $value ) ) {
				$value = trim( (string) $value );
				if ( '' !== $value ) {
					$clean[] = $value;
				}
			}
		}
		return array_values( array_unique( $clean ) );
	}

	/**
	 * Contract keys only, with their types; null, '' and [] dropped.
	 *
	 * @param array $data Data.
	 * @return array
	 */
	private static function sanitize( array $data ) {
		$clean = array();
		foreach ( self::KEYS as $key ) {
			if ( ! array_key_exists( $key, $data ) || null === $data[ $key ] ) {
				continue;
			}
			$value = $data[ $key ];
			switch ( $key ) {
				case 'doctor_id':
				case 'patient_id':
				case 'clinic_id':
					$value = is_numeric( $value ) && (int) $value > 0 ? (int) $value : null;
					break;
				case 'status':
					$value = is_numeric( $value ) && (int) $value >= 0 && (int) $value <= 4 ? (int) $value : null;
					break;
				case 'telemed':
					$value = (bool) $value;
					break;
				case 'services':
					$value = self::clean_list( $value );
					break;
				case 'duration':
					$value = is_numeric( $value ) && (int) $value > 0 ? (int) $value : null;
					break;
				case 'read_at':
					$value = is_numeric( $value ) && (float) $value > 0 ? (float) $value : null;
					break;
				case 'row':
					$value = is_array( $value ) ? self::scalars( $value ) : null;
					break;
				case 'service_rows':
					$value = is_array( $value ) ? array_values( array_map( array( __CLASS__, 'scalars' ), array_filter( $value, 'is_array' ) ) ) : null;
					break;
				default:
					$value = is_scalar( $value ) ? trim( (string) $value ) : null;
			}
			if ( null === $value || '' === $value || array() === $value ) {
				continue;
			}
			$clean[ $key ] = $value;
		}
		return $clean;
	}

	/**
	 * A row's scalar and null values by column name (what the extension reads raw).
	 *
	 * @param array $row Row.
	 * @return array
	 */
	private static function scalars( array $row ) {
		$clean = array();
		foreach ( $row as $key => $value ) {
			if ( is_string( $key ) && ( null === $value || is_scalar( $value ) ) ) {
				$clean[ $key ] = is_bool( $value ) ? (int) $value : $value;
			}
		}
		return $clean;
	}

	/**
	 * Runs a $wpdb read with errors suppressed (a missing KiviCare table is not our error).
	 *
	 * @param callable $read Read.
	 * @return mixed The read's result; null when the query failed.
	 */
	private static function quietly( callable $read ) {
		global $wpdb;
		$previous = $wpdb->suppress_errors( true );
		try {
			$result = $read();
			$failed = '' !== (string) $wpdb->last_error;
		} finally {
			$wpdb->suppress_errors( $previous );
		}
		return $failed ? null : $result;
	}
}
