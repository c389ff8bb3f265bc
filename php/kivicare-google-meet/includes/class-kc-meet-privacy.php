<?php
/**
 * Personal data: exporter, eraser and the suggested privacy-policy text.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Hooks kc-meet into WordPress's privacy tools (Tools → Export / Erase Personal Data and
 * Settings → Privacy):
 * - exporter "Google Meet (KiviCare)": the user's Google connection, the audit trail about them and
 *   the Google Calendar events of the appointments they are doctor or patient of
 *   (`kc_meet_privacy_export()`);
 * - eraser: disconnects their Google account (channels stopped, on every site of a network;
 *   grant revoked, tokens erased) and removes this site's audit rows about them
 *   (`kc_meet_privacy_erase()`); the appointments' events and Meet links are the clinic's
 *   appointment records and are reported as retained;
 * - `wp_add_privacy_policy_content`: which data goes to Google and why, registered only on the
 *   admin requests that read it ({@see KC_Meet_Hooks::policy_content()} decides without loading
 *   this class): building the text costs more than the rest of the plugin on an ordinary admin
 *   page.
 */
final class KC_Meet_Privacy {

	/**
	 * Exporter / eraser id.
	 *
	 * @var string
	 */
	const ID = 'kc-meet';

	/**
	 * Registers the exporter.
	 *
	 * @param array $exporters Exporters.
	 * @return array
	 */
	public function add_exporter( $exporters ) {
		$exporters[ self::ID ] = array(
			'exporter_friendly_name' => __( 'Google Meet (KiviCare)', 'kc-googlemeet' ),
			'callback'               => array( __CLASS__, 'export' ),
		);
		return $exporters;
	}

	/**
	 * Registers the eraser.
	 *
	 * @param array $erasers Erasers.
	 * @return array
	 */
	public function add_eraser( $erasers ) {
		$erasers[ self::ID ] = array(
			'eraser_friendly_name' => __( 'Google Meet (KiviCare)', 'kc-googlemeet' ),
			'callback'             => array( __CLASS__, 'erase' ),
		);
		return $erasers;
	}

	/**
	 * Exporter callback (one page: kc-meet keeps little per user). When the extension fails
	 * (database unreachable, configuration rejected), the failure is kept for administrators
	 * (admin notice) and the answer is an empty, finished page: WordPress stops the whole export
	 * request at an exporter's error, with every other plugin's data.
	 *
	 * @param string $email User's e-mail.
	 * @param int    $page  Page (1-based).
	 * @return array{data: array, done: bool}
	 */
	public static function export( $email, $page = 1 ) {
		unset( $page );
		$none = array(
			'data' => array(),
			'done' => true,
		);
		$user = get_user_by( 'email', (string) $email );
		if ( ! $user ) {
			return $none;
		}
		try {
			$data = KC_Meet_Native::privacy_export( $user->ID );
		} catch ( \Throwable $e ) {
			KC_Meet_Events::record_failure( 0, 'privacy_export', $e, 'privacy' );
			return $none;
		}
		$out = array();
		$conn = (array) ( $data['connection'] ?? array() );
		if ( 'not_connected' !== ( $conn['status'] ?? 'not_connected' ) ) {
			$out[] = array(
				'group_id'    => 'kc-meet-connection',
				'group_label' => __( 'Google Calendar connection', 'kc-googlemeet' ),
				'item_id'     => 'kc-meet-connection-' . $user->ID,
				'data'        => array(
					array(
						'name'  => __( 'Status', 'kc-googlemeet' ),
						'value' => KC_Meet_Profile::status_text( $conn ),
					),
					array(
						'name'  => __( 'Google account', 'kc-googlemeet' ),
						'value' => (string) ( $conn['email'] ?? '' ),
					),
					array(
						'name'  => __( 'Calendar', 'kc-googlemeet' ),
						'value' => (string) ( $conn['calendar_id'] ?? '' ),
					),
					array(
						'name'  => __( 'Connected at', 'kc-googlemeet' ),
						'value' => KC_Meet_Admin_Screens::site_time( $conn['connected_at'] ?? '' ),
					),
				),
			);
		}
		foreach ( (array) ( $data['appointments'] ?? array() ) as $event ) {
			$out[] = array(
				'group_id'    => 'kc-meet-events',
				'group_label' => __( 'Google Meet events of appointments', 'kc-googlemeet' ),
				'item_id'     => 'kc-meet-event-' . (int) $event['appointment_id'],
				'data'        => array(
					array(
						'name'  => __( 'Appointment', 'kc-googlemeet' ),
						'value' => '#' . (int) $event['appointment_id'],
					),
					array(
						'name'  => __( 'Role', 'kc-googlemeet' ),
						'value' => 'doctor' === $event['role'] ? __( 'Doctor', 'kc-googlemeet' ) : __( 'Patient', 'kc-googlemeet' ),
					),
					array(
						'name'  => __( 'Starts', 'kc-googlemeet' ),
						'value' => KC_Meet_Admin_Screens::site_time( $event['start_utc'] . ' UTC' ),
					),
					array(
						'name'  => __( 'Google Meet link', 'kc-googlemeet' ),
						'value' => (string) $event['meet_url'],
					),
					array(
						'name'  => __( 'Google Calendar event', 'kc-googlemeet' ),
						'value' => (string) $event['event_id'],
					),
				),
			);
		}
		foreach ( (array) ( $data['audit'] ?? array() ) as $i => $row ) {
			$out[] = array(
				'group_id'    => 'kc-meet-audit',
				'group_label' => __( 'Google Calendar activity', 'kc-googlemeet' ),
				'item_id'     => 'kc-meet-audit-' . $user->ID . '-' . $i,
				'data'        => array(
					array(
						'name'  => __( 'Time', 'kc-googlemeet' ),
						'value' => KC_Meet_Admin_Screens::site_time( $row['time'] ),
					),
					array(
						'name'  => __( 'Action', 'kc-googlemeet' ),
						'value' => (string) $row['action'] . ' (' . (string) $row['outcome'] . ')',
					),
					array(
						'name'  => __( 'Appointment', 'kc-googlemeet' ),
						'value' => null === $row['appointment_id'] ? '' : '#' . (int) $row['appointment_id'],
					),
				),
			);
		}
		return array(
			'data' => $out,
			'done' => true,
		);
	}

	/**
	 * Eraser callback.
	 *
	 * @param string $email User's e-mail.
	 * @param int    $page  Page (1-based).
	 * @return array{items_removed: bool, items_retained: bool, messages: string[], done: bool}
	 */
	public static function erase( $email, $page = 1 ) {
		unset( $page );
		$result = array(
			'items_removed'  => false,
			'items_retained' => false,
			'messages'       => array(),
			'done'           => true,
		);
		$user   = get_user_by( 'email', (string) $email );
		if ( ! $user ) {
			return $result;
		}
		if ( is_multisite() && KC_Meet_Users::has_token( $user->ID ) ) {
			// The grant is network-wide: the other sites' channels go while it still works.
			KC_Meet_Users::stop_channels_on_every_site( $user->ID, true );
		}
		try {
			$erased = KC_Meet_Native::privacy_erase( $user->ID );
		} catch ( \Throwable $e ) {
			$result['items_retained'] = true;
			$result['messages'][]     = KC_Meet_Messages::for_code( (int) $e->getCode() );
			return $result;
		}
		if ( is_multisite() ) {
			// What the other sites keep of the user (their row of the doctor, with the Google
			// account's e-mail, and their audit rows): the token is gone already, so nothing is
			// revoked twice.
			KC_Meet_Lifecycle::on_other_sites(
				static function () use ( $user, &$erased, &$result ) {
					try {
						$there                           = KC_Meet_Native::privacy_erase( $user->ID );
						$erased['audit_rows_removed']    = (int) $erased['audit_rows_removed'] + (int) $there['audit_rows_removed'];
						$erased['appointments_retained'] = (int) $erased['appointments_retained'] + (int) $there['appointments_retained'];
					} catch ( \Throwable $e ) {
						// No tables (2003): kc-meet has never run on that site, so it keeps nothing there.
						if ( 2003 !== (int) $e->getCode() ) {
							$result['items_retained'] = true;
							$result['messages'][]     = KC_Meet_Messages::for_code( (int) $e->getCode() );
						}
					}
				}
			);
		}
		KC_Meet_Native::clear_user_cache( $user->ID );
		$result['items_removed'] = ! empty( $erased['disconnected'] ) || (int) $erased['audit_rows_removed'] > 0;
		if ( ! empty( $erased['disconnected'] ) && empty( $erased['revoked'] ) ) {
			$result['messages'][] = __( 'The Google Calendar connection was erased, but Google could not confirm the revocation: the user can remove the app\'s access at myaccount.google.com/permissions.', 'kc-googlemeet' );
		}
		if ( (int) $erased['appointments_retained'] > 0 ) {
			$result['items_retained'] = true;
			$result['messages'][]     = sprintf(
				/* translators: %d: number of appointments */
				_n(
					'The Google Meet event of %d appointment was kept: it belongs to the clinic\'s appointment records (delete the appointment in KiviCare to remove it).',
					'The Google Meet events of %d appointments were kept: they belong to the clinic\'s appointment records (delete the appointments in KiviCare to remove them).',
					(int) $erased['appointments_retained'],
					'kc-googlemeet'
				),
				(int) $erased['appointments_retained']
			);
		}
		return $result;
	}

	/**
	 * Suggested privacy-policy text (Settings → Privacy → Policy guide).
	 *
	 * @return void
	 */
	public function add_policy_content() {
		if ( ! function_exists( 'wp_add_privacy_policy_content' ) ) {
			return;
		}
		$text  = '<p class="privacy-policy-tutorial">' . esc_html__( 'This site uses Google Calendar and Google Meet for video consultations (kc-meet for KiviCare).', 'kc-googlemeet' ) . '</p>';
		$text .= '<p><strong class="privacy-policy-tutorial">' . esc_html__( 'Suggested text:', 'kc-googlemeet' ) . ' </strong>';
		$text .= esc_html__( 'When you book a video consultation, we create an event in your doctor\'s Google Calendar with a Google Meet link, so that you and your doctor can meet online. The event carries the appointment\'s date and time, the service, the clinic and your name and e-mail address as an attendee; Google sends you the invitation and tells you when the appointment moves or is cancelled. Google processes these data under its own privacy policy (https://policies.google.com/privacy).', 'kc-googlemeet' ) . '</p>';
		$text .= '<p>' . esc_html__( 'Doctors who connect their Google Calendar allow this site to manage events in their calendar; the site stores the access granted by Google encrypted and a log of its Google Calendar actions, and revokes the access when the doctor disconnects, is deleted or the plugin is removed. The site reads changes the doctor makes to these events in Google Calendar to keep appointments in step. No other Google data is read.', 'kc-googlemeet' ) . '</p>';
		wp_add_privacy_policy_content( __( 'Google Meet for KiviCare', 'kc-googlemeet' ), wp_kses_post( $text ) );
	}
}
