<?php
/**
 * Redirect and end the request: the one home of the admin handlers' last step.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * The last step of an admin-post handler: redirect, then end the request (nothing may be sent
 * after the Location header). Used by {@see KC_Meet_Admin_Page}, {@see KC_Meet_Admin_Screens}
 * and {@see KC_Meet_Profile}.
 */
trait KC_Meet_Redirects {

	/**
	 * Redirects and ends the request.
	 *
	 * @param string $url      Target (raw, not HTML-escaped).
	 * @param bool   $external Whether the target may be another host (Google's consent screen):
	 *                         wp_redirect() instead of wp_safe_redirect().
	 * @return void
	 */
	protected function redirect_and_exit( $url, $external = false ) {
		if ( $external ) {
			wp_redirect( $url ); // phpcs:ignore WordPress.Security.SafeRedirect.wp_redirect_wp_redirect -- the caller says the target is off-site on purpose.
		} else {
			wp_safe_redirect( $url );
		}
		exit;
	}
}
