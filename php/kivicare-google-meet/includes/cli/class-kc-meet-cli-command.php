<?php
/**
 * WP-CLI command `wp kc-meet`.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Manages KiviCare doctors' Google Calendar connections and appointments' Meet events.
 *
 * Failures end with WP_CLI::error() and the extension's message (never a token or secret),
 * exit status 1. With --format=json, csv or yaml STDOUT carries only the data. See also
 * `wp kc-meet event`, `wp kc-meet jobs` and `wp kc-meet channels`.
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
 *
 *     # Give every telemedicine appointment of June its event.
 *     $ wp kc-meet backfill --from=2024-06-01 --to=2024-06-30
 *
 *     # Show what the reconcile pass would fix.
 *     $ wp kc-meet reconcile --dry-run
 *
 *     # Pull the changes doctors made in Google Calendar now.
 *     $ wp kc-meet sync
 */
class KC_Meet_CLI_Command extends KC_Meet_CLI_Base {

	/**
	 * Fields of `status`.
	 *
	 * @var string[]
	 */
	const STATUS_FIELDS = array( 'doctor_id', 'doctor', 'status', 'email', 'calendar_id', 'connected_at', 'token_expires_at', 'last_error', 'last_error_at' );

	/**
	 * Fields of `sync`.
	 *
	 * @var string[]
	 */
	const SYNC_FIELDS = array( 'doctor_id', 'doctor', 'pages', 'events_seen', 'changes_applied', 'full', 'remaining', 'skipped', 'error' );

	/**
	 * Default seconds per doctor of `sync` (the extension's default).
	 *
	 * @var float
	 */
	const SYNC_BUDGET = 25.0;

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
			$items[]   = array(
				'doctor_id'        => $doctor_id,
				'doctor'           => KC_Meet_Users::display_name( $doctor_id ),
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
	 * Disconnects a doctor: revokes the grant at Google and deletes the tokens.
	 *
	 * The revocation is best effort: the tokens are erased even when Google cannot be reached.
	 *
	 * ## OPTIONS
	 *
	 * <doctor>
	 * : Doctor's user id, login or e-mail.
	 *
	 * [--yes]
	 * : Do not ask for confirmation.
	 *
	 * ## EXAMPLES
	 *
	 *     $ wp kc-meet disconnect 12
	 *     $ wp kc-meet disconnect drsmith --yes
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Named arguments.
	 * @return void
	 */
	public function disconnect( $args, $assoc_args ) {
		$user = $this->resolve_doctor( $args[0] ?? '' );
		$this->confirm( sprintf( 'Disconnect doctor %d (%s) from Google Calendar? New appointments get no Meet link until they connect again.', $user->ID, $user->display_name ), $assoc_args );
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
	 * ## OPTIONS
	 *
	 * [--dry-run]
	 * : Only show the schema version the tables have and would get; change nothing.
	 *
	 * ## EXAMPLES
	 *
	 *     $ wp kc-meet migrate
	 *     $ wp kc-meet migrate --dry-run
	 *     $ wp kc-meet migrate --url=clinic2.example.com
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Named arguments.
	 * @return void
	 */
	public function migrate( $args, $assoc_args ) {
		unset( $args );
		try {
			if ( ! empty( $assoc_args['dry-run'] ) ) {
				$health  = KC_Meet_Native::health();
				$current = isset( $health['schema_version'] ) ? (int) $health['schema_version'] : 0;
				$target  = (int) ( $health['schema_expected'] ?? 0 );
				WP_CLI::success(
					$current >= $target
						? sprintf( 'Schema version %d is up to date (dry run: nothing changed).', $current )
						: sprintf( 'Would migrate the schema from version %d to %d (dry run: nothing changed).', $current, $target )
				);
				return;
			}
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
	 * Creates the missing Google Meet events of telemedicine appointments.
	 *
	 * Runs the reconcile pass of the extension with only its "create missing" half: every
	 * telemedicine appointment of a connected doctor in the date window that has no event gets
	 * one. Events that exist are never touched and orphans are not removed (see
	 * `wp kc-meet reconcile`). Lists the appointments, then how many got their event; exits 1
	 * when any failed.
	 *
	 * ## OPTIONS
	 *
	 * [--from=<date>]
	 * : First appointment date (Y-m-d). Default: yesterday.
	 *
	 * [--to=<date>]
	 * : Last appointment date (Y-m-d). Default: a year ahead.
	 *
	 * [--doctor=<doctor>]
	 * : Only this doctor's appointments (user id, login or e-mail).
	 *
	 * [--dry-run]
	 * : Only list the appointments that would get an event.
	 *
	 * [--format=<format>]
	 * : Output format of the list.
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
	 *     $ wp kc-meet backfill --dry-run
	 *     $ wp kc-meet backfill --from=2024-06-01 --to=2024-06-30
	 *     $ wp kc-meet backfill --doctor=drsmith --format=json
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Named arguments.
	 * @return void
	 */
	public function backfill( $args, $assoc_args ) {
		unset( $args );
		$format  = $this->format( $assoc_args );
		$dry_run = ! empty( $assoc_args['dry-run'] );
		$opts    = $this->range_options(
			$assoc_args,
			array(
				'dry_run'        => $dry_run,
				'create_missing' => true,
				'remove_orphans' => false,
			)
		);
		try {
			$report = KC_Meet_Native::reconcile( $opts );
		} catch ( \Throwable $e ) {
			$this->fail( $e );
			return;
		} finally {
			KC_Meet_Events::reset();
		}
		$errors = array();
		foreach ( (array) ( $report['errors'] ?? array() ) as $error ) {
			$errors[ (int) ( $error['appointment_id'] ?? 0 ) ] = (string) ( $error['error'] ?? '' );
		}
		$rows = array();
		foreach ( (array) ( $report['missing'] ?? array() ) as $entry ) {
			$id     = (int) ( $entry['appointment_id'] ?? 0 );
			$rows[] = array(
				'appointment_id' => $id,
				'doctor_id'      => (int) ( $entry['doctor_id'] ?? 0 ),
				'start_utc'      => (string) ( $entry['start_utc'] ?? '' ),
				'error'          => $errors[ $id ] ?? '',
			);
		}
		$fields = $dry_run ? array( 'appointment_id', 'doctor_id', 'start_utc' ) : array( 'appointment_id', 'doctor_id', 'start_utc', 'error' );
		if ( ! empty( $rows ) || $this->is_machine( $format ) ) {
			WP_CLI\Utils\format_items( $format, $rows, $fields );
		}
		if ( $dry_run ) {
			if ( ! $this->is_machine( $format ) ) {
				WP_CLI::success( sprintf( '%d appointment(s) would get an event (dry run: nothing changed).', count( $rows ) ) );
			}
			return;
		}
		$fixed = (int) ( $report['fixed'] ?? 0 );
		$this->report_batch( $format, 'event', 'create', count( $rows ), $fixed, count( $errors ), max( 0, count( $rows ) - $fixed - count( $errors ) ) );
	}

	/**
	 * Finds and fixes differences between appointments and Google events.
	 *
	 * Orphans (events whose appointment was deleted or cancelled) are removed from Google
	 * Calendar; telemedicine appointments without an event get one. --from, --to and --doctor
	 * limit both halves. Lists both, then how many were fixed; exits 1 when any failed. The same
	 * pass runs daily in the background.
	 *
	 * ## OPTIONS
	 *
	 * [--dry-run]
	 * : Only list what would be fixed.
	 *
	 * [--from=<date>]
	 * : First appointment date (Y-m-d).
	 *
	 * [--to=<date>]
	 * : Last appointment date (Y-m-d).
	 *
	 * [--doctor=<doctor>]
	 * : Only this doctor (user id, login or e-mail).
	 *
	 * [--yes]
	 * : Do not ask for confirmation before removing events.
	 *
	 * [--format=<format>]
	 * : Output format of the list.
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
	 *     $ wp kc-meet reconcile --dry-run
	 *     $ wp kc-meet reconcile --yes
	 *     $ wp kc-meet reconcile --doctor=12 --from=2024-06-01 --to=2024-06-30 --format=json
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Named arguments.
	 * @return void
	 */
	public function reconcile( $args, $assoc_args ) {
		unset( $args );
		$format  = $this->format( $assoc_args );
		$dry_run = ! empty( $assoc_args['dry-run'] );
		$opts    = $this->range_options( $assoc_args, array( 'dry_run' => $dry_run ) );
		$ranged  = isset( $opts['from'] ) || isset( $opts['to'] );
		if ( ! $dry_run ) {
			$this->confirm( 'Remove the Google Calendar events whose appointment is gone or cancelled, and create the missing ones?', $assoc_args );
		}
		$fixed  = 0;
		$errors = array();
		try {
			if ( $ranged ) {
				// The extension's date window covers only the missing half; orphans are limited here
				// by the local date of their event, so a ranged run never touches other dates.
				$report  = KC_Meet_Native::reconcile( array_merge( $opts, array( 'dry_run' => true ) ) );
				$orphans = $this->orphans_in_range( (array) ( $report['orphans'] ?? array() ), $opts );
				if ( ! $dry_run ) {
					$report = KC_Meet_Native::reconcile( array_merge( $opts, array( 'remove_orphans' => false ) ) );
					foreach ( $orphans as $orphan ) {
						try {
							KC_Meet_Events::delete( (int) $orphan['appointment_id'], 'cli' );
							++$fixed;
						} catch ( \Throwable $e ) {
							$errors[] = array(
								'appointment_id' => (int) $orphan['appointment_id'],
								'error'          => sprintf( '%s (code %d)', $e->getMessage(), (int) $e->getCode() ),
							);
						}
					}
				}
				$report['orphans'] = $orphans;
			} else {
				$report = KC_Meet_Native::reconcile( $opts );
			}
		} catch ( \Throwable $e ) {
			$this->fail( $e );
			return;
		} finally {
			KC_Meet_Events::reset();
		}
		$fixed += (int) ( $report['fixed'] ?? 0 );
		$errors = array_merge( $errors, (array) ( $report['errors'] ?? array() ) );

		$rows = array();
		foreach ( (array) ( $report['orphans'] ?? array() ) as $orphan ) {
			$rows[] = array(
				'kind'           => 'orphan',
				'appointment_id' => (int) ( $orphan['appointment_id'] ?? 0 ),
				'event_id'       => (string) ( $orphan['event_id'] ?? '' ),
				'doctor_id'      => '',
				'start_utc'      => '',
				'reason'         => (string) ( $orphan['reason'] ?? '' ),
			);
		}
		foreach ( (array) ( $report['missing'] ?? array() ) as $missing ) {
			$rows[] = array(
				'kind'           => 'missing',
				'appointment_id' => (int) ( $missing['appointment_id'] ?? 0 ),
				'event_id'       => '',
				'doctor_id'      => (int) ( $missing['doctor_id'] ?? 0 ),
				'start_utc'      => (string) ( $missing['start_utc'] ?? '' ),
				'reason'         => 'no_event',
			);
		}
		if ( ! empty( $rows ) || $this->is_machine( $format ) ) {
			WP_CLI\Utils\format_items( $format, $rows, array( 'kind', 'appointment_id', 'event_id', 'doctor_id', 'start_utc', 'reason' ) );
		}
		foreach ( $errors as $error ) {
			WP_CLI::warning( sprintf( 'Appointment %d: %s', (int) ( $error['appointment_id'] ?? 0 ), (string) ( $error['error'] ?? '' ) ) );
		}
		if ( $dry_run ) {
			if ( ! $this->is_machine( $format ) ) {
				WP_CLI::success( sprintf( 'Found %d orphan(s) and %d missing event(s) (dry run: nothing changed).', count( (array) $report['orphans'] ), count( (array) ( $report['missing'] ?? array() ) ) ) );
			}
			return;
		}
		$this->report_batch( $format, 'difference', 'fix', count( $rows ), $fixed, count( $errors ), max( 0, count( $rows ) - $fixed - count( $errors ) ) );
	}

	/**
	 * The orphans whose event starts (in the site's time zone) within --from/--to.
	 *
	 * @param array $orphans Orphans of a dry reconcile pass.
	 * @param array $opts    Reconcile options with `from` and/or `to`.
	 * @return array
	 */
	private function orphans_in_range( array $orphans, array $opts ) {
		$kept = array();
		foreach ( $orphans as $orphan ) {
			$state = KC_Meet_Native::appointment_state( (int) ( $orphan['appointment_id'] ?? 0 ) );
			$start = (string) ( $state['event']['start_utc'] ?? '' );
			if ( '' === $start ) {
				continue;
			}
			$day = ( new DateTimeImmutable( $start, new DateTimeZone( 'UTC' ) ) )->setTimezone( wp_timezone() )->format( 'Y-m-d' );
			if ( ( isset( $opts['from'] ) && $day < $opts['from'] ) || ( isset( $opts['to'] ) && $day > $opts['to'] ) ) {
				continue;
			}
			$kept[] = $orphan;
		}
		return $kept;
	}

	/**
	 * Pulls the changes doctors made in Google Calendar into the appointments.
	 *
	 * Syncs every connected doctor at once (the extension runs their Google requests
	 * concurrently), or only --doctor. Each change is applied like the background sync does it
	 * (a move moves the appointment or is reverted, a deletion is flagged for review, cancels or
	 * recreates, per the settings) and the action `kc_meet_appointment_changed_in_google` fires
	 * for it. Prints one row per doctor; exits 1 when a doctor failed, so a cron job with
	 * --quiet still reports it. A doctor with more to sync is a warning (run it again: an
	 * unfinished listing resumes where it stopped). The same sync runs every 5 minutes in the
	 * background.
	 *
	 * ## OPTIONS
	 *
	 * [--doctor=<doctor>]
	 * : Only this doctor (user id, login or e-mail).
	 *
	 * [--full]
	 * : Ignore the stored sync token and list the doctor's events again (30 days back to a year
	 * ahead). Nothing is deleted locally.
	 *
	 * [--budget=<seconds>]
	 * : Time the sync may take.
	 * ---
	 * default: 25
	 * ---
	 *
	 * [--format=<format>]
	 * : Output format of the per-doctor results.
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
	 *     $ wp kc-meet sync
	 *     $ wp kc-meet sync --doctor=drsmith --full
	 *     $ wp kc-meet sync --budget=50 --format=json
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Named arguments.
	 * @return void
	 */
	public function sync( $args, $assoc_args ) {
		unset( $args );
		$format = $this->format( $assoc_args );
		$opts   = array(
			'full'     => ! empty( $assoc_args['full'] ),
			'budget_s' => $this->seconds_option( $assoc_args, 'budget', self::SYNC_BUDGET ),
		);
		if ( isset( $assoc_args['doctor'] ) ) {
			$opts['doctor_id'] = (int) $this->resolve_doctor( (string) $assoc_args['doctor'] )->ID;
		}
		try {
			$result = KC_Meet_Sync_Changes::sync( $opts, 'cli' );
		} catch ( \Throwable $e ) {
			$this->fail( $e );
			return;
		}
		$rows = array();
		foreach ( (array) ( $result['doctors'] ?? array() ) as $doctor ) {
			$rows[] = $this->sync_row( is_array( $doctor ) ? $doctor : array() );
		}
		if ( empty( $rows ) && isset( $opts['doctor_id'] ) ) {
			$rows[] = $this->sync_row(
				array(
					'doctor_id' => $opts['doctor_id'],
					'skipped'   => true,
				)
			);
		}
		if ( ! empty( $rows ) || $this->is_machine( $format ) ) {
			WP_CLI\Utils\format_items( $format, $rows, self::SYNC_FIELDS );
		}
		$failed     = 0;
		$skipped    = 0;
		$unfinished = 0;
		foreach ( $rows as $row ) {
			if ( '' !== $row['error'] ) {
				++$failed;
				WP_CLI::warning( sprintf( 'Doctor %d: %s', $row['doctor_id'], $row['error'] ) );
			} elseif ( 'yes' === $row['skipped'] ) {
				++$skipped;
			} elseif ( 'yes' === $row['remaining'] ) {
				++$unfinished;
			}
		}
		if ( $unfinished > 0 ) {
			WP_CLI::warning( sprintf( '%d doctor(s) not finished within the budget: run again to continue.', $unfinished ) );
		}
		if ( empty( $rows ) ) {
			if ( ! $this->is_machine( $format ) ) {
				WP_CLI::success( 'No connected doctor to sync.' );
			}
			return;
		}
		$this->report_batch( $format, 'doctor', 'sync', count( $rows ), count( $rows ) - $failed - $skipped, $failed, $skipped );
	}

	/**
	 * One row of `sync` from a doctor's result.
	 *
	 * @param array $doctor Per-doctor result of kc_meet_sync().
	 * @return array
	 */
	private function sync_row( array $doctor ) {
		$doctor_id = (int) ( $doctor['doctor_id'] ?? 0 );
		return array(
			'doctor_id'       => $doctor_id,
			'doctor'          => KC_Meet_Users::display_name( $doctor_id ),
			'pages'           => (int) ( $doctor['pages'] ?? 0 ),
			'events_seen'     => (int) ( $doctor['events_seen'] ?? 0 ),
			'changes_applied' => (int) ( $doctor['changes_applied'] ?? 0 ),
			'full'            => ! empty( $doctor['full'] ) ? 'yes' : 'no',
			'remaining'       => ! empty( $doctor['remaining'] ) ? 'yes' : 'no',
			'skipped'         => ! empty( $doctor['skipped'] ) ? 'yes' : 'no',
			'error'           => is_scalar( $doctor['error'] ?? null ) ? (string) $doctor['error'] : '',
		);
	}
}
