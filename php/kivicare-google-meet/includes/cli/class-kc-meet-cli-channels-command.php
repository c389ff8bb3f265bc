<?php
/**
 * WP-CLI command `wp kc-meet channels`.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Lists, renews and stops the Google Calendar push channels of connected doctors.
 *
 * A push channel (one per connected doctor) makes Google notify the site of changes within
 * seconds.
 *
 * Channels exist only when the site's notification URL (`/wp-json/kc-meet/v1/notify`) is HTTPS;
 * otherwise changes arrive by polling every 5 minutes (`wp kc-meet sync`). They are renewed
 * twice daily in the background, a day before they expire.
 *
 * ## EXAMPLES
 *
 *     $ wp kc-meet channels list
 *     $ wp kc-meet channels renew
 *     $ wp kc-meet channels stop drsmith
 */
class KC_Meet_CLI_Channels_Command extends KC_Meet_CLI_Base {

	/**
	 * Fields of `list`.
	 *
	 * @var string[]
	 */
	const FIELDS = array( 'channel_id', 'doctor_id', 'doctor', 'resource_id', 'expires', 'state', 'last_message' );

	/**
	 * Lists the active push channels.
	 *
	 * ## OPTIONS
	 *
	 * [--doctor=<doctor>]
	 * : Only this doctor's channels (user id, login or e-mail).
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
	 *     $ wp kc-meet channels list
	 *     $ wp kc-meet channels list --doctor=12 --format=json
	 *
	 * @subcommand list
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Named arguments.
	 * @return void
	 */
	public function list_( $args, $assoc_args ) {
		unset( $args );
		$doctor_id = isset( $assoc_args['doctor'] ) ? (int) $this->resolve_doctor( (string) $assoc_args['doctor'] )->ID : 0;
		try {
			$channels = KC_Meet_Native::channels( $doctor_id );
		} catch ( \Throwable $e ) {
			$this->fail( $e );
			return;
		}
		$items = array();
		foreach ( (array) ( $channels['channels'] ?? array() ) as $channel ) {
			$expires = (int) floor( (int) ( $channel['expires_at'] ?? 0 ) / 1000 );
			$items[] = array(
				'channel_id'   => (string) ( $channel['channel_id'] ?? '' ),
				'doctor_id'    => (int) ( $channel['doctor_id'] ?? 0 ),
				'doctor'       => KC_Meet_Users::display_name( (int) ( $channel['doctor_id'] ?? 0 ) ),
				'resource_id'  => (string) ( $channel['resource_id'] ?? '' ),
				'expires'      => $expires > 0 ? gmdate( 'Y-m-d H:i:s', $expires ) . ' UTC' : '',
				'state'        => (string) ( $channel['state'] ?? '' ),
				'last_message' => (int) ( $channel['last_message'] ?? 0 ),
			);
		}
		$fields = ! empty( $assoc_args['fields'] ) ? array_map( 'trim', explode( ',', (string) $assoc_args['fields'] ) ) : self::FIELDS;
		WP_CLI\Utils\format_items( $this->format( $assoc_args ), $items, $fields );
	}

	/**
	 * Renews the channels that expire within a day and opens the missing ones.
	 *
	 * When the site cannot receive notifications (its notification URL is not HTTPS), every
	 * channel is stopped instead and changes arrive by polling. Ends with an error when a doctor's
	 * channel could not be opened.
	 *
	 * ## OPTIONS
	 *
	 * [--format=<format>]
	 * : Output format of the counts (created, renewed, stopped, failed).
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
	 *     $ wp kc-meet channels renew
	 *     $ wp kc-meet channels renew --format=json
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Named arguments.
	 * @return void
	 */
	public function renew( $args, $assoc_args ) {
		unset( $args );
		$format = $this->format( $assoc_args );
		try {
			$report = KC_Meet_Native::renew_channels();
		} catch ( \Throwable $e ) {
			$this->fail( $e );
			return;
		}
		if ( empty( $report['push_enabled'] ) ) {
			WP_CLI::warning(
				sprintf(
					'Push notifications are off: %s is not reachable over HTTPS, so changes arrive by polling every 5 minutes.',
					KC_Meet_Config::notify_url()
				)
			);
		}
		$failures = (array) ( $report['failures'] ?? array() );
		foreach ( $failures as $failure ) {
			WP_CLI::warning( sprintf( 'Doctor %d: %s', (int) ( $failure['doctor_id'] ?? 0 ), (string) ( $failure['error'] ?? '' ) ) );
		}
		$message = sprintf(
			'Created %d, renewed %d and stopped %d channel(s).',
			(int) ( $report['created'] ?? 0 ),
			(int) ( $report['renewed'] ?? 0 ),
			(int) ( $report['stopped'] ?? 0 )
		);
		if ( $this->is_machine( $format ) ) {
			WP_CLI\Utils\format_items(
				$format,
				array(
					array(
						'created' => (int) ( $report['created'] ?? 0 ),
						'renewed' => (int) ( $report['renewed'] ?? 0 ),
						'stopped' => (int) ( $report['stopped'] ?? 0 ),
						'failed'  => count( $failures ),
					),
				),
				array( 'created', 'renewed', 'stopped', 'failed' )
			);
		}
		if ( ! empty( $failures ) ) {
			WP_CLI::error( sprintf( '%s %d doctor(s) failed.', $message, count( $failures ) ) );
		}
		if ( ! $this->is_machine( $format ) ) {
			WP_CLI::success( $message );
		}
	}

	/**
	 * Stops a doctor's push channels.
	 *
	 * The doctor's changes then arrive by polling, until the next renewal (twice daily, or
	 * `wp kc-meet channels renew`) opens a new channel.
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
	 *     $ wp kc-meet channels stop 12
	 *     $ wp kc-meet channels stop drsmith --yes
	 *
	 * @param array $args       Positional arguments.
	 * @param array $assoc_args Named arguments.
	 * @return void
	 */
	public function stop( $args, $assoc_args ) {
		$user = $this->resolve_doctor( $args[0] ?? '' );
		$this->confirm( sprintf( 'Stop the push channels of doctor %d? Their changes then arrive by polling until the next renewal.', $user->ID ), $assoc_args );
		try {
			$result = KC_Meet_Native::stop_channels( $user->ID );
		} catch ( \Throwable $e ) {
			$this->fail( $e );
			return;
		}
		WP_CLI::success( sprintf( 'Stopped %d channel(s) of doctor %d.', (int) ( $result['stopped'] ?? 0 ), $user->ID ) );
	}
}
