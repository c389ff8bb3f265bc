<?php
/**
 * WP-CLI command `wp kc-meet`.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Manages the Google Calendar connections of KiviCare doctors and the kc_meet tables.
 *
 * Failures end with WP_CLI::error() and the extension's message (never a token or secret).
 *
 * ## EXAMPLES
 *
 *     # Show every doctor with a Google connection.
 *     $ wp kc-meet status
 *
 *     # Print the consent URL for doctor "drsmith".
 *     $ wp kc-meet connect-url drsmith
 *
 *     # Fail when the site has problems (for monitoring).
 *     $ wp kc-meet health --strict
 */
class KC_Meet_CLI_Command {

	/**
	 * Fields of `status`.
	 *
	 * @var string[]
	 */
	const STATUS_FIELDS = array( 'doctor_id', 'doctor', 'status', 'email', 'calendar_id', 'connected_at', 'token_expires_at', 'last_error', 'last_error_at' );

	/**
	 * Shows the Google connection of one doctor, or of every doctor that has one.
	 *
	 * ## OPTIONS
	 *
	 * [<doctor>]
	 * : Doctor's user id, login or e-mail. Without it: every doctor whose status is not
	 * "not_connected".
	 *
	 * [--fields=<fields>]
	 * : Comma-separated fields to show.
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
	 *     $ wp kc-meet status
	 *     $ wp kc-meet status 12 --format=json
	 *     $ wp kc-meet status doctor@example.com
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Named arguments.
	 * @return void
	 */
	public function status( $args, $assoc_args ) {
		try {
			if ( ! empty( $args[0] ) ) {
				$user     = $this->resolve_doctor( $args[0] );
				$statuses = array( KC_Meet_Native::status( $user->ID ) );
			} else {
				$health   = KC_Meet_Native::health();
				$statuses = array_filter(
					isset( $health['doctors'] ) && is_array( $health['doctors'] ) ? $health['doctors'] : array(),
					static function ( $status ) {
						return is_array( $status ) && 'not_connected' !== ( $status['status'] ?? 'not_connected' );
					}
				);
			}
		} catch ( \KcMeet\Exception $e ) {
			$this->fail( $e );
			return;
		}

		$items = array();
		foreach ( $statuses as $status ) {
			$doctor_id = (int) ( $status['doctor_id'] ?? 0 );
			$user      = get_userdata( $doctor_id );
			$items[]   = array(
				'doctor_id'        => $doctor_id,
				'doctor'           => $user ? $user->display_name : '',
				'status'           => (string) ( $status['status'] ?? '' ),
				'email'            => (string) ( $status['email'] ?? '' ),
				'calendar_id'      => (string) ( $status['calendar_id'] ?? '' ),
				'connected_at'     => (string) ( $status['connected_at'] ?? '' ),
				'token_expires_at' => ! empty( $status['token_expires_at'] ) ? gmdate( 'Y-m-d H:i:s', (int) $status['token_expires_at'] ) . ' UTC' : '',
				'last_error'       => (string) ( $status['last_error'] ?? '' ),
				'last_error_at'    => (string) ( $status['last_error_at'] ?? '' ),
			);
		}
		$fields = ! empty( $assoc_args['fields'] ) ? explode( ',', (string) $assoc_args['fields'] ) : self::STATUS_FIELDS;
		WP_CLI\Utils\format_items( $this->format( $assoc_args ), $items, $fields );
	}

	/**
	 * Prints the Google consent URL that connects a doctor (valid 10 minutes, single use).
	 *
	 * The URL is bound to the doctor and to the user running the command (--user=…); without
	 * --user the doctor is recorded as the initiator (the extension needs a real user), so the
	 * doctor lands on their own profile after consenting.
	 *
	 * ## OPTIONS
	 *
	 * <doctor>
	 * : Doctor's user id, login or e-mail.
	 *
	 * ## EXAMPLES
	 *
	 *     $ wp kc-meet connect-url 12
	 *     $ wp kc-meet connect-url drsmith --user=admin
	 *
	 * @subcommand connect-url
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Named arguments.
	 * @return void
	 */
	public function connect_url( $args, $assoc_args ) {
		unset( $assoc_args );
		$user = $this->resolve_doctor( $args[0] ?? '' );
		try {
			$initiator = get_current_user_id() > 0 ? get_current_user_id() : $user->ID;
			$url       = KC_Meet_Native::auth_url( $user->ID, $initiator );
		} catch ( \KcMeet\Exception $e ) {
			$this->fail( $e );
			return;
		}
		WP_CLI::line( $url );
	}

	/**
	 * Disconnects a doctor: revokes the grant at Google (best effort) and deletes the tokens.
	 *
	 * ## OPTIONS
	 *
	 * <doctor>
	 * : Doctor's user id, login or e-mail.
	 *
	 * ## EXAMPLES
	 *
	 *     $ wp kc-meet disconnect 12
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Named arguments.
	 * @return void
	 */
	public function disconnect( $args, $assoc_args ) {
		unset( $assoc_args );
		$user = $this->resolve_doctor( $args[0] ?? '' );
		try {
			$result = KC_Meet_Native::disconnect( $user->ID );
		} catch ( \KcMeet\Exception $e ) {
			$this->fail( $e );
			return;
		}
		if ( empty( $result['was_connected'] ) ) {
			WP_CLI::success( sprintf( 'Doctor %d was not connected.', $user->ID ) );
			return;
		}
		WP_CLI::success(
			sprintf(
				'Doctor %d disconnected (%s).',
				$user->ID,
				! empty( $result['revoked'] ) ? 'access revoked at Google' : 'Google could not confirm the revocation'
			)
		);
	}

	/**
	 * Checks the configuration, the database and the doctors' connections.
	 *
	 * Lists the problems found, one per row.
	 *
	 * ## OPTIONS
	 *
	 * [--strict]
	 * : Exit with an error when there is any problem.
	 *
	 * [--format=<format>]
	 * : Output format of the problems.
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
	 *     $ wp kc-meet health
	 *     $ wp kc-meet health --strict --format=json
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Named arguments.
	 * @return void
	 */
	public function health( $args, $assoc_args ) {
		unset( $args );
		try {
			$health = KC_Meet_Native::health();
		} catch ( \KcMeet\Exception $e ) {
			$this->fail( $e );
			return;
		}
		$format   = $this->format( $assoc_args );
		$problems = array();
		foreach ( ( isset( $health['problems'] ) && is_array( $health['problems'] ) ? $health['problems'] : array() ) as $problem ) {
			$problems[] = array(
				'code'    => (string) ( $problem['code'] ?? '' ),
				'message' => (string) ( $problem['message'] ?? '' ),
			);
		}

		if ( 'table' === $format ) {
			$db = isset( $health['db'] ) && is_array( $health['db'] ) ? $health['db'] : array();
			WP_CLI::log( sprintf( 'Extension version: %s', (string) ( $health['version'] ?? '' ) ) );
			WP_CLI::log( sprintf( 'Configured: %s', ! empty( $health['configured'] ) ? 'yes' : 'no' ) );
			WP_CLI::log( sprintf( 'Database reachable: %s', ! empty( $db['reachable'] ) ? 'yes' : 'no' ) );
			WP_CLI::log(
				sprintf(
					'Schema version: %s (expected %s)',
					isset( $health['schema_version'] ) ? (string) $health['schema_version'] : 'none',
					(string) ( $health['schema_expected'] ?? '' )
				)
			);
		}
		if ( ! empty( $problems ) || 'table' !== $format ) {
			WP_CLI\Utils\format_items( $format, $problems, array( 'code', 'message' ) );
		}

		if ( ! empty( $problems ) && ! empty( $assoc_args['strict'] ) ) {
			WP_CLI::error( sprintf( '%d problem(s) found.', count( $problems ) ) );
		}
		if ( empty( $problems ) && 'table' === $format ) {
			WP_CLI::success( 'No problems found.' );
		}
	}

	/**
	 * Creates or updates the kc_meet database tables of the current site.
	 *
	 * ## EXAMPLES
	 *
	 *     $ wp kc-meet migrate
	 *     $ wp kc-meet migrate --url=clinic2.example.com
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Named arguments.
	 * @return void
	 */
	public function migrate( $args, $assoc_args ) {
		unset( $args, $assoc_args );
		try {
			$result = KC_Meet_Native::migrate();
		} catch ( \KcMeet\Exception $e ) {
			$this->fail( $e );
			return;
		}
		WP_CLI::success(
			sprintf(
				'Schema version %d (was %d); tables: %s; mapping table %s.',
				(int) ( $result['schema_version'] ?? 0 ),
				(int) ( $result['previous_version'] ?? 0 ),
				implode( ', ', array_map( 'strval', (array) ( $result['tables'] ?? array() ) ) ),
				(string) ( $result['mapping_table'] ?? '' )
			)
		);
	}

	/**
	 * Finds a user by id, login or e-mail; WP_CLI::error() when unknown.
	 *
	 * @param string $value Id, login or e-mail.
	 * @return WP_User
	 */
	protected function resolve_doctor( $value ) {
		$value = trim( (string) $value );
		$user  = false;
		if ( '' !== $value ) {
			if ( ctype_digit( $value ) ) {
				$user = get_user_by( 'id', (int) $value );
			}
			if ( ! $user && is_email( $value ) ) {
				$user = get_user_by( 'email', $value );
			}
			if ( ! $user ) {
				$user = get_user_by( 'login', $value );
			}
		}
		if ( ! $user instanceof WP_User ) {
			WP_CLI::error( sprintf( 'Unknown doctor "%s": give a user id, login or e-mail.', $value ) );
		}
		return $user;
	}

	/**
	 * The requested output format.
	 *
	 * @param array $assoc_args Named arguments.
	 * @return string
	 */
	private function format( $assoc_args ) {
		$format = isset( $assoc_args['format'] ) ? (string) $assoc_args['format'] : 'table';
		return in_array( $format, array( 'table', 'json', 'csv', 'yaml' ), true ) ? $format : 'table';
	}

	/**
	 * Ends with the exception's message and code.
	 *
	 * @param \Throwable $e Exception.
	 * @return void
	 */
	private function fail( \Throwable $e ) {
		WP_CLI::error( sprintf( '%s (code %d)', $e->getMessage(), (int) $e->getCode() ) );
	}
}
