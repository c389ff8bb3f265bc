<?php
/**
 * Notices that reach the right person.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Tells the person who can act, once, and stays quiet when all is well:
 * - a doctor whose Google connection broke (Google refused the stored grant: status
 *   `needs_reconnect`) sees a notice with a Reconnect button on every admin page they use, their
 *   KiviCare dashboard and profile included, and gets one e-mail per breakage (not one per
 *   failed appointment): the e-mail is sent by the every-minute job pass and remembered in the
 *   user meta `kc_meet_reconnect_mailed` as the SHA-256 of the refused token, which is the
 *   network's (user meta): on a network, where each site keeps its own state of the doctor, a
 *   site that has not found out yet does not make another site mail again, and a token stored
 *   since (the doctor connected again) is a new breakage when refused;
 * - managers (`manage_options`) see one grouped notice with the number of doctors who must
 *   reconnect and of appointments whose Google event failed, linking to the Doctors and
 *   Appointments screens. The two counts are queries, so an admin page view asks them only while
 *   the autoloaded marker `kc_meet_attention_waiting` is set (read from the loaded options: no
 *   query, and the extension is not even configured, when all is well). The marker is set as soon
 *   as the plugin sees trouble ({@see self::flag()}, called by {@see KC_Meet_Native} when a
 *   native call throws or answers `needs_reconnect`, a failed job or state), and set or cleared
 *   by the every-minute job pass from the counts themselves (so trouble found outside the plugin
 *   shows within a minute). While it is set the counts are read live, never cached: the notice
 *   never lags behind a fix, and it clears the marker when both counts are zero.
 */
final class KC_Meet_Doctor_Notices {

	/**
	 * User meta: the token (SHA-256, hex) whose refusal the doctor was e-mailed about.
	 *
	 * @var string
	 */
	const MAILED_META = 'kc_meet_reconnect_mailed';

	/**
	 * Autoloaded marker: something may need a manager (see the class doc).
	 *
	 * @var string
	 */
	const ATTENTION_WAITING = 'kc_meet_attention_waiting';

	/**
	 * Sets the marker (no write when it is already set).
	 *
	 * @return void
	 */
	public static function flag() {
		if ( ! self::flagged() ) {
			update_option( self::ATTENTION_WAITING, '1', true );
		}
	}

	/**
	 * Whether the marker is set, from the loaded options (no query).
	 *
	 * @return bool
	 */
	public static function flagged() {
		$all = wp_load_alloptions();
		return ! empty( $all[ self::ATTENTION_WAITING ] );
	}

	/**
	 * Sets or clears the marker from counts.
	 *
	 * @param array{reconnect: int, failed: int} $counts Counts.
	 * @return void
	 */
	private static function mark( array $counts ) {
		if ( $counts['reconnect'] > 0 || $counts['failed'] > 0 ) {
			self::flag();
		} elseif ( self::flagged() ) {
			delete_option( self::ATTENTION_WAITING );
		}
	}

	/**
	 * The doctor's own notice: their connection needs a reconnect.
	 *
	 * @return void
	 */
	public static function render_doctor_notice() {
		$user_id = get_current_user_id();
		if ( $user_id <= 0 || ! KC_Meet_Access::is_doctor( $user_id ) ) {
			return;
		}
		try {
			$status = KC_Meet_Native::status( $user_id );
		} catch ( \Throwable $e ) {
			return;
		}
		if ( 'needs_reconnect' !== ( $status['status'] ?? '' ) ) {
			return;
		}
		printf(
			'<div class="notice notice-error" id="kc-meet-doctor-reconnect"><p><strong>%1$s</strong> %2$s</p><p><a class="button button-primary" href="%3$s">%4$s</a></p></div>',
			esc_html__( 'Your Google Calendar connection stopped working.', 'kc-googlemeet' ),
			esc_html__( 'Google no longer accepts the access you gave this site, so your new video consultations get no Google Meet link. Reconnect your Google account to fix it.', 'kc-googlemeet' ),
			esc_url( KC_Meet_Profile::connect_url( $user_id ) ),
			esc_html__( 'Reconnect Google Calendar', 'kc-googlemeet' )
		);
	}

	/**
	 * Counts that need a manager: doctors to reconnect, appointments whose event failed.
	 *
	 * @return array{reconnect: int, failed: int}
	 */
	public static function counts() {
		$counts = self::read_counts();
		return null === $counts ? array(
			'reconnect' => 0,
			'failed'    => 0,
		) : $counts;
	}

	/**
	 * The counts, or null when the extension could not answer.
	 *
	 * @return array{reconnect: int, failed: int}|null
	 */
	private static function read_counts() {
		$counts = array(
			'reconnect' => 0,
			'failed'    => 0,
		);
		try {
			$counts['reconnect'] = (int) KC_Meet_Native::doctors(
				array(
					'status'   => 'needs_reconnect',
					'per_page' => 1,
				)
			)['total'];
			$counts['failed']    = count(
				(array) KC_Meet_Native::jobs(
					array(
						'state' => 'failed',
						'limit' => 1000,
					)
				)['jobs']
			);
		} catch ( \Throwable $e ) {
			unset( $e ); // The configuration notice explains why.
			return null;
		}
		return $counts;
	}

	/**
	 * The managers' grouped notice; nothing when all is well.
	 *
	 * @return void
	 */
	public static function render_admin_notice() {
		if ( ! self::flagged() || ! current_user_can( KC_Meet_Access::ADMIN_CAP ) ) {
			return;
		}
		$counts = self::read_counts();
		if ( null === $counts ) {
			return;
		}
		self::mark( $counts );
		$parts = array();
		if ( $counts['reconnect'] > 0 ) {
			$parts[] = sprintf(
				'<a href="%1$s">%2$s</a>',
				esc_url( add_query_arg( array( 'page' => KC_Meet_Admin_Screens::MENU_SLUG, 'status' => 'needs_reconnect' ), admin_url( 'admin.php' ) ) ),
				/* translators: %d: number of doctors */
				esc_html( sprintf( _n( '%d doctor must reconnect Google Calendar', '%d doctors must reconnect Google Calendar', $counts['reconnect'], 'kc-googlemeet' ), $counts['reconnect'] ) )
			);
		}
		if ( $counts['failed'] > 0 ) {
			$parts[] = sprintf(
				'<a href="%1$s">%2$s</a>',
				esc_url( add_query_arg( array( 'page' => KC_Meet_Admin_Appointments::SLUG, 'state' => 'failed' ), admin_url( 'admin.php' ) ) ),
				/* translators: %d: number of appointments */
				esc_html( sprintf( _n( '%d appointment has no Google Meet link (failed)', '%d appointments have no Google Meet link (failed)', $counts['failed'], 'kc-googlemeet' ), $counts['failed'] ) )
			);
		}
		if ( empty( $parts ) ) {
			return;
		}
		printf(
			'<div class="notice notice-warning" id="kc-meet-attention"><p><strong>%1$s</strong> %2$s</p></div>',
			esc_html__( 'Google Meet needs attention:', 'kc-googlemeet' ),
			implode( '; ', $parts ) // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- escaped above.
		);
	}

	/**
	 * Every-minute pass: one e-mail to each doctor whose connection broke since the last pass;
	 * forgets the e-mail of doctors connected again (a new breakage mails again).
	 *
	 * @return int E-mails sent.
	 */
	public static function mail_broken_connections() {
		try {
			$broken = KC_Meet_Native::doctors(
				array(
					'status'   => 'needs_reconnect',
					'per_page' => 500,
				)
			)['rows'];
		} catch ( \Throwable $e ) {
			return 0;
		}
		$sent      = 0;
		$broken_id = array();
		foreach ( (array) $broken as $row ) {
			$doctor_id               = (int) $row['doctor_id'];
			$broken_id[ $doctor_id ] = true;
			$token                   = self::token_hash( $doctor_id );
			if ( (string) get_user_meta( $doctor_id, self::MAILED_META, true ) === $token ) {
				continue;
			}
			// Remember first: a failing mail server must not turn this into one mail a minute.
			update_user_meta( $doctor_id, self::MAILED_META, $token );
			$sent += self::mail( (string) $row['user_email'], (string) $row['name'] ) ? 1 : 0;
		}
		// Forget the e-mails about tokens no longer stored (the doctor connected again, or
		// disconnected): only a token change, never a site where all looks well, since another
		// site of the network may not have found out yet.
		foreach ( get_users( array( 'meta_key' => self::MAILED_META, 'fields' => 'ID', 'blog_id' => 0 ) ) as $doctor_id ) { // phpcs:ignore WordPress.DB.SlowDBQuery.slow_db_query_meta_key -- few users ever carry it.
			if ( ! isset( $broken_id[ (int) $doctor_id ] ) && (string) get_user_meta( (int) $doctor_id, self::MAILED_META, true ) !== self::token_hash( (int) $doctor_id ) ) {
				delete_user_meta( (int) $doctor_id, self::MAILED_META );
			}
		}
		// The managers' marker, from the counts (trouble found outside the plugin, or gone).
		if ( ! empty( $broken_id ) ) {
			self::flag();
		} else {
			$counts = self::read_counts();
			if ( null !== $counts ) {
				self::mark( $counts );
			}
		}
		return $sent;
	}

	/**
	 * The SHA-256 (hex) of the doctor's stored token (the network's user meta); '' without one.
	 *
	 * @param int $doctor_id Doctor.
	 * @return string
	 */
	private static function token_hash( $doctor_id ) {
		global $wpdb;
		// Read past the object cache: the extension writes the token on its own connection.
		// phpcs:ignore WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching -- see above.
		$token = (string) $wpdb->get_var( $wpdb->prepare( "SELECT meta_value FROM {$wpdb->usermeta} WHERE user_id = %d AND meta_key = 'google_meet_access_token' ORDER BY umeta_id LIMIT 1", (int) $doctor_id ) );
		return '' === $token ? '' : hash( 'sha256', $token );
	}

	/**
	 * The e-mail to a doctor whose connection broke (plain text, no secret).
	 *
	 * @param string $email Doctor's e-mail.
	 * @param string $name  Doctor's name.
	 * @return bool Whether wp_mail() accepted it.
	 */
	private static function mail( $email, $name ) {
		if ( ! is_email( $email ) ) {
			return false;
		}
		$site = wp_specialchars_decode( get_bloginfo( 'name' ), ENT_QUOTES );
		/* translators: %s: site name */
		$subject = sprintf( __( '[%s] Reconnect your Google Calendar', 'kc-googlemeet' ), $site );
		$body    = sprintf(
			/* translators: 1: doctor's name, 2: site name, 3: profile URL */
			__( "Hello %1\$s,\n\nGoogle no longer accepts the access you gave %2\$s to your Google Calendar, so your new video consultations get no Google Meet link.\n\nPlease sign in and reconnect your Google account on your profile:\n%3\$s\n\nYou get this e-mail once; the site shows the same message until the connection works again.", 'kc-googlemeet' ),
			$name,
			$site,
			admin_url( 'profile.php#kc-meet' )
		);
		return (bool) wp_mail( $email, $subject, $body );
	}
}
