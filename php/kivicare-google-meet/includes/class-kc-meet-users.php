<?php
/**
 * Users and sites: deleted doctors, new network sites.
 *
 * @package KC_Meet
 */

defined( 'ABSPATH' ) || exit;

/**
 * Keeps kc-meet's data in step with WordPress's users and sites:
 * - `delete_user` (single site: the user is deleted) and `wpmu_delete_user` (multisite: the user
 *   is deleted from the network): a doctor's Google connection is disconnected (push channels
 *   stopped on every site where kc-meet runs, grant revoked, tokens erased) before WordPress
 *   deletes the user meta the grant lives in. On a network, `delete_user` only removes the user
 *   from one site: that site's push channels of the doctor are stopped, the grant stays.
 * - `wp_initialize_site` (WordPress 5.1+): a new site of a network where kc-meet is network-active
 *   gets kc-meet's tables at once, not on the first admin visit.
 */
final class KC_Meet_Users {

	/**
	 * A user's display name: the one lookup of the admin screens and the WP-CLI tables.
	 *
	 * @param int  $user_id  User.
	 * @param bool $numbered For an unknown user, "User #id" (translated) instead of ''.
	 * @return string
	 */
	public static function display_name( $user_id, $numbered = false ) {
		$user = (int) $user_id > 0 ? get_userdata( (int) $user_id ) : false;
		if ( $user ) {
			return (string) $user->display_name;
		}
		/* translators: %d: user id */
		return $numbered ? sprintf( __( 'User #%d', 'kc-googlemeet' ), (int) $user_id ) : '';
	}

	/**
	 * Whether the user holds a Google Meet token (network-wide user meta).
	 *
	 * @param int $user_id User.
	 * @return bool
	 */
	public static function has_token( $user_id ) {
		return '' !== (string) get_user_meta( (int) $user_id, 'google_meet_access_token', true );
	}

	/**
	 * `delete_user`: disconnects a deleted doctor (single site), or stops this site's channels of
	 * a doctor removed from one site of a network.
	 *
	 * @param int $user_id User being deleted.
	 * @return void
	 */
	public function on_delete_user( $user_id ) {
		$user_id = (int) $user_id;
		if ( ! self::has_token( $user_id ) ) {
			return;
		}
		try {
			if ( is_multisite() ) {
				KC_Meet_Native::stop_channels( $user_id );
			} else {
				KC_Meet_Native::disconnect( $user_id );
			}
		} catch ( \Throwable $e ) {
			KC_Meet_Events::record_failure( 0, 'delete_user', $e, 'users' );
		}
	}

	/**
	 * `wpmu_delete_user`: stops the doctor's channels on every site where kc-meet runs, then
	 * revokes and erases the connection.
	 *
	 * @param int $user_id User being deleted from the network.
	 * @return void
	 */
	public function on_wpmu_delete_user( $user_id ) {
		$user_id = (int) $user_id;
		if ( ! self::has_token( $user_id ) ) {
			return;
		}
		self::stop_channels_on_every_site( $user_id );
		try {
			KC_Meet_Native::disconnect( $user_id );
		} catch ( \Throwable $e ) {
			KC_Meet_Events::record_failure( 0, 'delete_user', $e, 'users' );
		}
	}

	/**
	 * Stops a doctor's push channels on every site of the network (each site has its own
	 * channels table), e.g. before the network-wide grant is revoked. Best effort: a site where
	 * kc-meet does not run has no channels table, and a channel Google does not stop expires by
	 * itself.
	 *
	 * @param int  $user_id      Doctor.
	 * @param bool $skip_current Leave the current site out (its channels are stopped by the caller).
	 * @return void
	 */
	public static function stop_channels_on_every_site( $user_id, $skip_current = false ) {
		$stop = static function () use ( $user_id ) {
			try {
				KC_Meet_Native::stop_channels( (int) $user_id );
			} catch ( \Throwable $e ) {
				unset( $e ); // kc-meet does not run on this site (no tables), or Google failed: the channel expires by itself.
			}
		};
		if ( ! $skip_current ) {
			$stop();
		}
		KC_Meet_Lifecycle::on_other_sites( $stop );
	}

	/**
	 * `wp_initialize_site`: creates kc-meet's tables on a new site when kc-meet is network-active.
	 *
	 * @param WP_Site $site New site.
	 * @return void
	 */
	public function on_initialize_site( $site ) {
		if ( ! function_exists( 'is_plugin_active_for_network' ) ) {
			require_once ABSPATH . 'wp-admin/includes/plugin.php';
		}
		if ( ! is_plugin_active_for_network( plugin_basename( KC_Meet_Plugin::instance()->file() ) ) ) {
			return;
		}
		switch_to_blog( (int) $site->blog_id );
		/*
		 * WordPress switched to the new site before its tables existed (wp_is_site_initialized()):
		 * a switch_blog hook of another plugin may have read its options then, and the misses
		 * ("home", permalinks, time zone) stay cached as missing although populate_options()
		 * wrote them since. Forget them and configure again, or the extension gets no redirect
		 * URI and refuses to migrate.
		 */
		wp_cache_delete( 'notoptions', 'options' );
		wp_cache_delete( 'alloptions', 'options' );
		KC_Meet_Plugin::instance()->reconfigure();
		KC_Meet_Lifecycle::migrate_now();
		restore_current_blog();
	}
}
