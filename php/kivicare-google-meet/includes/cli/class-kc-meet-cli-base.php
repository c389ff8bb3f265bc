<?php
/**
 * Shared helpers of the WP-CLI commands.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Helpers shared by `wp kc-meet`, `wp kc-meet event`, `wp kc-meet jobs` and
 * `wp kc-meet channels` (protected: WP-CLI only turns public methods into subcommands).
 */
abstract class KC_Meet_CLI_Base {

	/**
	 * Output formats the commands accept.
	 *
	 * @var string[]
	 */
	const FORMATS = array( 'table', 'json', 'csv', 'yaml' );

	/**
	 * Machine-readable output formats: nothing but the data may go to STDOUT with them (no
	 * "Success:" line), so scripts can parse it.
	 *
	 * @var string[]
	 */
	const MACHINE_FORMATS = array( 'json', 'csv', 'yaml' );

	/**
	 * `before_invoke` of every `wp kc-meet` command: without the extension, or with one older
	 * than the plugin ({@see KC_Meet_Plugin::extension_available()}), says what is missing and
	 * how to install it (exit 1) instead of failing in the middle of a command.
	 *
	 * @return void
	 */
	public static function require_extension() {
		if ( KC_Meet_Plugin::extension_available() ) {
			return;
		}
		if ( extension_loaded( 'kc_meet' ) ) {
			WP_CLI::error(
				sprintf(
					'The kc_meet PHP extension loaded in the PHP that runs WP-CLI (%1$s, version %2$s) is older than the plugin: it lacks %3$s. Replace libkc_meet.so in %4$s with the one shipped with this plugin version (and in the web server\'s PHP), then check with `wp kc-meet health`.',
					PHP_BINARY,
					'' !== KC_Meet_Native::version() ? KC_Meet_Native::version() : '?',
					implode( ', ', KC_Meet_Plugin::missing_functions() ),
					(string) ini_get( 'extension_dir' )
				)
			);
		}
		$ini = php_ini_loaded_file();
		WP_CLI::error(
			sprintf(
				'The kc_meet PHP extension is not loaded in the PHP that runs WP-CLI (%1$s, PHP %2$s). Install it: copy libkc_meet.so to %3$s/kc_meet.so, add "extension=kc_meet" to %4$s (and to the web server\'s PHP), then check with `php -m | grep kc_meet` and `wp kc-meet health`.',
				PHP_BINARY,
				PHP_VERSION,
				(string) ini_get( 'extension_dir' ),
				$ini ? $ini : 'php.ini'
			)
		);
	}

	/**
	 * Asks before a destructive step (skipped with --yes).
	 *
	 * @param string $question   Question.
	 * @param array  $assoc_args Named arguments.
	 * @return void
	 */
	protected function confirm( $question, $assoc_args ) {
		WP_CLI::confirm( $question, $assoc_args );
	}

	/**
	 * Whether the format is machine-readable (json, csv, yaml).
	 *
	 * @param string $format Format.
	 * @return bool
	 */
	protected function is_machine( $format ) {
		return in_array( $format, self::MACHINE_FORMATS, true );
	}

	/**
	 * Ends a batch the way WP-CLI's own batch commands do: an error (exit 1) when anything
	 * failed, else a success line — which machine-readable output leaves out.
	 *
	 * @param string   $format    Output format.
	 * @param string   $noun      What was acted on (singular).
	 * @param string   $verb      What was done (present tense).
	 * @param int      $total     Items.
	 * @param int      $successes Items done.
	 * @param int      $failures  Items failed.
	 * @param int|null $skips     Items skipped.
	 * @return void
	 */
	protected function report_batch( $format, $noun, $verb, $total, $successes, $failures, $skips = null ) {
		if ( 0 === (int) $failures && $this->is_machine( $format ) ) {
			return;
		}
		WP_CLI\Utils\report_batch_operation_results( $noun, $verb, (int) $total, (int) $successes, (int) $failures, $skips );
	}

	/**
	 * Finds a KiviCare doctor by user id, login or e-mail; WP_CLI::error() when there is no such
	 * user or the user is not a doctor of this site (role `kiviCare_doctor`).
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
		if ( ! KC_Meet_Access::is_doctor( $user ) ) {
			WP_CLI::error( sprintf( 'User %d (%s) is not a KiviCare doctor of this site (role %s).', $user->ID, $user->user_login, KC_Meet_Access::DOCTOR_ROLE ) );
		}
		return $user;
	}

	/**
	 * An appointment id argument; WP_CLI::error() unless a positive integer.
	 *
	 * @param mixed $value Argument.
	 * @return int
	 */
	protected function appointment_id( $value ) {
		$value = trim( (string) $value );
		if ( ! ctype_digit( $value ) || (int) $value <= 0 ) {
			WP_CLI::error( sprintf( 'Invalid appointment id "%s": give a positive number.', $value ) );
		}
		return (int) $value;
	}

	/**
	 * A positive integer option, or the default; WP_CLI::error() when invalid.
	 *
	 * @param array  $assoc_args Named arguments.
	 * @param string $name       Option.
	 * @param int    $fallback   Default.
	 * @return int
	 */
	protected function int_option( $assoc_args, $name, $fallback ) {
		if ( ! isset( $assoc_args[ $name ] ) ) {
			return (int) $fallback;
		}
		$value = trim( (string) $assoc_args[ $name ] );
		if ( ! ctype_digit( $value ) || (int) $value <= 0 ) {
			WP_CLI::error( sprintf( '--%s must be a positive number.', $name ) );
		}
		return (int) $value;
	}

	/**
	 * A positive number of seconds option (e.g. --budget), or the default; WP_CLI::error() when
	 * invalid.
	 *
	 * @param array  $assoc_args Named arguments.
	 * @param string $name       Option.
	 * @param float  $fallback   Default.
	 * @return float
	 */
	protected function seconds_option( $assoc_args, $name, $fallback ) {
		if ( ! isset( $assoc_args[ $name ] ) ) {
			return (float) $fallback;
		}
		if ( ! is_numeric( $assoc_args[ $name ] ) || (float) $assoc_args[ $name ] <= 0 ) {
			WP_CLI::error( sprintf( '--%s must be a positive number of seconds.', $name ) );
		}
		return (float) $assoc_args[ $name ];
	}

	/**
	 * Adds `from`, `to` (Y-m-d) and `doctor_id` options of the reconcile pass from --from, --to
	 * and --doctor; WP_CLI::error() when invalid.
	 *
	 * @param array $assoc_args Named arguments.
	 * @param array $opts       Options so far.
	 * @return array
	 */
	protected function range_options( $assoc_args, array $opts ) {
		foreach ( array( 'from', 'to' ) as $key ) {
			if ( ! isset( $assoc_args[ $key ] ) ) {
				continue;
			}
			$date   = trim( (string) $assoc_args[ $key ] );
			$parsed = DateTimeImmutable::createFromFormat( '!Y-m-d', $date );
			if ( ! $parsed || $parsed->format( 'Y-m-d' ) !== $date ) {
				WP_CLI::error( sprintf( '--%s must be a date like 2024-05-31.', $key ) );
			}
			$opts[ $key ] = $date;
		}
		if ( isset( $opts['from'], $opts['to'] ) && $opts['from'] > $opts['to'] ) {
			WP_CLI::error( '--from must not be after --to.' );
		}
		if ( isset( $assoc_args['doctor'] ) ) {
			$opts['doctor_id'] = (int) $this->resolve_doctor( (string) $assoc_args['doctor'] )->ID;
		}
		return $opts;
	}

	/**
	 * One line describing an event result.
	 *
	 * @param array $result Event result.
	 * @return string
	 */
	protected function describe_result( array $result ) {
		$parts = array( sprintf( 'Appointment %d: %s', (int) ( $result['appointment_id'] ?? 0 ), (string) ( $result['state'] ?? '?' ) ) );
		if ( ! empty( $result['reason'] ) ) {
			$parts[] = sprintf( '(%s)', (string) $result['reason'] );
		}
		if ( ! empty( $result['event_id'] ) ) {
			$parts[] = sprintf( 'event %s', (string) $result['event_id'] );
		}
		if ( ! empty( $result['meet_url'] ) ) {
			$parts[] = (string) $result['meet_url'];
		}
		return implode( ' ', $parts ) . '.';
	}

	/**
	 * The requested output format.
	 *
	 * @param array $assoc_args Named arguments.
	 * @return string
	 */
	protected function format( $assoc_args ) {
		$format = isset( $assoc_args['format'] ) ? (string) $assoc_args['format'] : 'table';
		return in_array( $format, self::FORMATS, true ) ? $format : 'table';
	}

	/**
	 * Prints a value as pretty JSON.
	 *
	 * @param mixed $value Value.
	 * @return void
	 */
	protected function print_json( $value ) {
		WP_CLI::line( (string) wp_json_encode( $value, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE ) );
	}

	/**
	 * Ends with the exception's message and code.
	 *
	 * @param \Throwable $e Exception.
	 * @return void
	 */
	protected function fail( \Throwable $e ) {
		WP_CLI::error( sprintf( '%s (code %d)', $e->getMessage(), (int) $e->getCode() ) );
	}
}
