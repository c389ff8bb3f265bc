<?php
/**
 * WP-CLI command `wp kc-meet event`.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Creates, updates, deletes and shows the Google Meet event of one KiviCare appointment.
 *
 * create/update/delete do exactly what KiviCare's own calls do (idempotent; the appointment's
 * data is read from KiviCare's tables). A skipped result (no telemedicine service, doctor not
 * connected, cancelled, pending, …) is a warning; a failure ends with an error.
 *
 * ## EXAMPLES
 *
 *     $ wp kc-meet event create 42
 *     $ wp kc-meet event show 42 --format=json
 *     $ wp kc-meet event delete 42
 */
class KC_Meet_CLI_Event_Command extends KC_Meet_CLI_Base {

	/**
	 * Creates the appointment's event (or brings the existing one up to date).
	 *
	 * ## OPTIONS
	 *
	 * <appointment>
	 * : Appointment id.
	 *
	 * [--format=<format>]
	 * : Output format of the result (table prints one line).
	 * ---
	 * default: table
	 * options:
	 *   - table
	 *   - json
	 *   - csv
	 *   - yaml
	 * ---
	 *
	 * ## EXAMPLES
	 *
	 *     $ wp kc-meet event create 42
	 *     $ wp kc-meet event create 42 --format=json
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Named arguments.
	 * @return void
	 */
	public function create( $args, $assoc_args ) {
		$this->run( 'create', $args, $assoc_args );
	}

	/**
	 * Updates the appointment's event (same event, same Meet link); creates it when missing.
	 *
	 * ## OPTIONS
	 *
	 * <appointment>
	 * : Appointment id.
	 *
	 * [--format=<format>]
	 * : Output format of the result (table prints one line).
	 * ---
	 * default: table
	 * options:
	 *   - table
	 *   - json
	 *   - csv
	 *   - yaml
	 * ---
	 *
	 * ## EXAMPLES
	 *
	 *     $ wp kc-meet event update 42
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Named arguments.
	 * @return void
	 */
	public function update( $args, $assoc_args ) {
		$this->run( 'update', $args, $assoc_args );
	}

	/**
	 * Deletes the appointment's event (attendees are told).
	 *
	 * Ends with an error when there is no such appointment, and when the event stays in Google
	 * Calendar because the doctor is not connected (only the site's record is removed then).
	 *
	 * ## OPTIONS
	 *
	 * <appointment>
	 * : Appointment id.
	 *
	 * [--yes]
	 * : Do not ask for confirmation.
	 *
	 * [--format=<format>]
	 * : Output format of the result (table prints one line).
	 * ---
	 * default: table
	 * options:
	 *   - table
	 *   - json
	 *   - csv
	 *   - yaml
	 * ---
	 *
	 * ## EXAMPLES
	 *
	 *     $ wp kc-meet event delete 42
	 *     $ wp kc-meet event delete 42 --yes
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Named arguments.
	 * @return void
	 */
	public function delete( $args, $assoc_args ) {
		$appointment_id = $this->appointment_id( $args[0] ?? '' );
		$this->known_state( $appointment_id );
		$this->confirm( sprintf( 'Delete the Google Calendar event of appointment %d (its attendees are told)?', $appointment_id ), $assoc_args );
		$this->run( 'delete', $args, $assoc_args );
	}

	/**
	 * Shows the appointment's mapping, Google event, background job and audit trail.
	 *
	 * Ends with an error when kc-meet knows nothing of the appointment and KiviCare has no such
	 * appointment.
	 *
	 * ## OPTIONS
	 *
	 * <appointment>
	 * : Appointment id.
	 *
	 * [--format=<format>]
	 * : Output format.
	 * ---
	 * default: table
	 * options:
	 *   - table
	 *   - json
	 *   - csv
	 *   - yaml
	 * ---
	 *
	 * ## EXAMPLES
	 *
	 *     $ wp kc-meet event show 42
	 *     $ wp kc-meet event show 42 --format=json
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Named arguments.
	 * @return void
	 */
	public function show( $args, $assoc_args ) {
		$appointment_id = $this->appointment_id( $args[0] ?? '' );
		$state          = $this->known_state( $appointment_id );
		$format = $this->format( $assoc_args );
		if ( 'json' === $format ) {
			$this->print_json( $state );
			return;
		}

		$rows = array(
			array(
				'field' => 'appointment_id',
				'value' => (string) $appointment_id,
			),
		);
		foreach ( array( 'mapping', 'event', 'job' ) as $section ) {
			$values = isset( $state[ $section ] ) && is_array( $state[ $section ] ) ? $state[ $section ] : null;
			if ( null === $values ) {
				$rows[] = array(
					'field' => $section,
					'value' => '(none)',
				);
				continue;
			}
			foreach ( $values as $key => $value ) {
				$rows[] = array(
					'field' => $section . '.' . $key,
					'value' => is_scalar( $value ) || null === $value ? (string) $value : (string) wp_json_encode( $value ),
				);
			}
		}
		WP_CLI\Utils\format_items( $format, $rows, array( 'field', 'value' ) );

		$audit = array();
		foreach ( (array) ( $state['audit'] ?? array() ) as $entry ) {
			$audit[] = array(
				'time'    => (string) ( $entry['time'] ?? '' ),
				'action'  => (string) ( $entry['action'] ?? '' ),
				'outcome' => (string) ( $entry['outcome'] ?? '' ),
				'detail'  => is_scalar( $entry['detail'] ?? '' ) ? (string) ( $entry['detail'] ?? '' ) : (string) wp_json_encode( $entry['detail'] ),
			);
		}
		if ( ! empty( $audit ) ) {
			if ( 'table' === $format ) {
				WP_CLI::log( 'Audit:' );
			}
			WP_CLI\Utils\format_items( $format, $audit, array( 'time', 'action', 'outcome', 'detail' ) );
		}
	}

	/**
	 * The extension's state of an appointment; WP_CLI::error() (code 5001, like create/update)
	 * when neither kc-meet nor KiviCare knows the appointment.
	 *
	 * @param int $appointment_id Appointment.
	 * @return array
	 */
	private function known_state( $appointment_id ) {
		try {
			$state = KC_Meet_Native::appointment_state( $appointment_id );
		} catch ( \Throwable $e ) {
			$this->fail( $e );
			return array();
		}
		if ( empty( $state['mapping'] ) && empty( $state['event'] ) && empty( $state['job'] ) && null === KC_Meet_Appointment_Data::row( $appointment_id ) ) {
			WP_CLI::error( sprintf( 'There is no appointment %d. (code 5001)', $appointment_id ) );
		}
		return $state;
	}

	/**
	 * Runs create/update/delete and prints the result.
	 *
	 * @param string $action     create|update|delete.
	 * @param array  $args       Positional arguments.
	 * @param array  $assoc_args Named arguments.
	 * @return void
	 */
	private function run( $action, $args, $assoc_args ) {
		$appointment_id = $this->appointment_id( $args[0] ?? '' );
		try {
			$result = 'delete' === $action
				? KC_Meet_Events::delete( $appointment_id, 'cli' )
				: KC_Meet_Events::ensure( $action, $appointment_id, array(), 'cli' );
		} catch ( \Throwable $e ) {
			$this->fail( $e );
			return;
		}
		$result += array( 'appointment_id' => $appointment_id );
		$format  = $this->format( $assoc_args );
		// A delete the extension could only do locally (doctor not connected): the event stays in
		// Google, so the command did not do what it was asked.
		$local_only = 'delete' === $action && 'deleted' === ( $result['state'] ?? '' ) && ! empty( $result['warnings'] );
		if ( 'table' !== $format ) {
			$fields = array( 'appointment_id', 'state', 'reason', 'event_id', 'meet_url', 'event_url', 'doctor_id', 'warnings' );
			if ( 'json' === $format ) {
				$this->print_json( $result );
			} else {
				WP_CLI\Utils\format_items( $format, array( $result ), $fields );
			}
			if ( $local_only ) {
				WP_CLI::error( sprintf( 'Appointment %d: %s.', $appointment_id, implode( '; ', array_map( 'strval', (array) $result['warnings'] ) ) ) );
			}
			return;
		}
		if ( $local_only ) {
			WP_CLI::error( sprintf( 'Appointment %d: removed from the site only; %s.', $appointment_id, implode( '; ', array_map( 'strval', (array) $result['warnings'] ) ) ) );
		}
		foreach ( (array) ( $result['warnings'] ?? array() ) as $warning ) {
			WP_CLI::warning( (string) $warning );
		}
		$line = $this->describe_result( $result );
		if ( KC_Meet_Event_Result::is_success( $result ) || 'no_event' === ( $result['reason'] ?? '' ) ) {
			WP_CLI::success( $line );
		} else {
			WP_CLI::warning( $line . ' ' . KC_Meet_Event_Result::message( $result ) );
		}
	}
}
