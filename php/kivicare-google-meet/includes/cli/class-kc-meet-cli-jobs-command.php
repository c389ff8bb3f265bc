<?php
/**
 * WP-CLI command `wp kc-meet jobs`.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Lists, runs and retries kc-meet's background jobs.
 *
 * A job is a Google write that could not be done at once: queued after Google failed, a Meet
 * link still pending, or failed permanently.
 *
 * `wp kc-meet jobs run` can be driven by a system cron instead of WP-Cron:
 *
 *     * * * * * wp --path=/var/www/html kc-meet jobs run --quiet
 *
 * ## EXAMPLES
 *
 *     $ wp kc-meet jobs list --state=failed
 *     $ wp kc-meet jobs run --limit=100 --budget=50
 *     $ wp kc-meet jobs retry 7
 */
class KC_Meet_CLI_Jobs_Command extends KC_Meet_CLI_Base {

	/**
	 * Fields of `list`.
	 *
	 * @var string[]
	 */
	const FIELDS = array( 'id', 'appointment_id', 'doctor_id', 'action', 'state', 'attempts', 'next_run_at', 'last_error', 'created_at', 'updated_at' );

	/**
	 * Lists jobs.
	 *
	 * ## OPTIONS
	 *
	 * [--state=<state>]
	 * : Only jobs in this state.
	 * ---
	 * options:
	 *   - queued
	 *   - failed
	 * ---
	 *
	 * [--limit=<n>]
	 * : Most jobs to list (1 to 1000).
	 * ---
	 * default: 100
	 * ---
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
	 *     $ wp kc-meet jobs list
	 *     $ wp kc-meet jobs list --state=failed --format=json
	 *
	 * @subcommand list
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Named arguments.
	 * @return void
	 */
	public function list_( $args, $assoc_args ) {
		unset( $args );
		$opts = array( 'limit' => $this->int_option( $assoc_args, 'limit', 100 ) );
		if ( isset( $assoc_args['state'] ) ) {
			$state = (string) $assoc_args['state'];
			if ( ! in_array( $state, array( 'queued', 'failed' ), true ) ) {
				WP_CLI::error( '--state must be queued or failed.' );
			}
			$opts['state'] = $state;
		}
		try {
			$jobs = KC_Meet_Native::jobs( $opts );
		} catch ( \Throwable $e ) {
			$this->fail( $e );
			return;
		}
		$fields = ! empty( $assoc_args['fields'] ) ? array_map( 'trim', explode( ',', (string) $assoc_args['fields'] ) ) : self::FIELDS;
		WP_CLI\Utils\format_items( $this->format( $assoc_args ), (array) ( $jobs['jobs'] ?? array() ), $fields );
	}

	/**
	 * Runs the due jobs now.
	 *
	 * Runs under a lock: a run already in progress elsewhere makes this one return at once.
	 * Exits 1 when a job failed permanently, so a system cron with --quiet still reports it.
	 *
	 * ## OPTIONS
	 *
	 * [--limit=<n>]
	 * : Most jobs to run.
	 * ---
	 * default: 50
	 * ---
	 *
	 * [--budget=<seconds>]
	 * : Stop starting jobs after this many seconds.
	 * ---
	 * default: 20
	 * ---
	 *
	 * [--format=<format>]
	 * : Output format of the jobs that ran.
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
	 *     $ wp kc-meet jobs run
	 *     $ wp kc-meet jobs run --limit=200 --budget=55
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Named arguments.
	 * @return void
	 */
	public function run( $args, $assoc_args ) {
		unset( $args );
		$limit  = $this->int_option( $assoc_args, 'limit', KC_Meet_Background::JOBS_LIMIT );
		$budget = $this->seconds_option( $assoc_args, 'budget', KC_Meet_Background::JOBS_BUDGET );
		try {
			$summary = KC_Meet_Native::run_jobs( $limit, $budget );
		} catch ( \Throwable $e ) {
			$this->fail( $e );
			return;
		} finally {
			KC_Meet_Events::reset();
		}
		$format = $this->format( $assoc_args );
		$failed = (int) ( $summary['failed'] ?? 0 );
		$line   = sprintf(
			'Ran %d job(s): %d done, %d to retry, %d failed; %d still due%s.',
			(int) ( $summary['ran'] ?? 0 ),
			(int) ( $summary['done'] ?? 0 ),
			(int) ( $summary['retried'] ?? 0 ),
			$failed,
			(int) ( $summary['remaining_due'] ?? 0 ),
			! empty( $summary['skipped_locked'] ) ? '; another run holds the lock' : ''
		);
		if ( 'json' === $format ) {
			$this->print_json( $summary );
		} else {
			$jobs = (array) ( $summary['jobs'] ?? array() );
			if ( ! empty( $jobs ) || $this->is_machine( $format ) ) {
				WP_CLI\Utils\format_items( $format, $jobs, array( 'id', 'appointment_id', 'action', 'outcome', 'error' ) );
			}
		}
		if ( $failed > 0 ) {
			WP_CLI::error( $line );
		}
		if ( ! $this->is_machine( $format ) ) {
			WP_CLI::success( $line );
		}
	}

	/**
	 * Queues a job again, due now (a failed job gets a new chance).
	 *
	 * ## OPTIONS
	 *
	 * <id>
	 * : Job id (see `wp kc-meet jobs list`).
	 *
	 * ## EXAMPLES
	 *
	 *     $ wp kc-meet jobs retry 7
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Named arguments.
	 * @return void
	 */
	public function retry( $args, $assoc_args ) {
		unset( $assoc_args );
		$id = trim( (string) ( $args[0] ?? '' ) );
		if ( ! ctype_digit( $id ) || (int) $id <= 0 ) {
			WP_CLI::error( sprintf( 'Invalid job id "%s".', $id ) );
		}
		try {
			$job = KC_Meet_Native::retry_job( (int) $id );
		} catch ( \Throwable $e ) {
			$this->fail( $e );
			return;
		}
		WP_CLI::success(
			sprintf(
				'Job %d (%s of appointment %d) is queued and due now.',
				(int) ( $job['id'] ?? $id ),
				(string) ( $job['action'] ?? '' ),
				(int) ( $job['appointment_id'] ?? 0 )
			)
		);
	}
}
