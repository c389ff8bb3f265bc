<?php
/**
 * Uninstall: keeps the promise made to Google's reviewers when the plugin is deleted.
 *
 * 1. On every site where kc-meet ran (it has kc-meet's tables), every push channel is stopped at
 *    Google while the grants still exist (channels.stop needs one).
 * 2. Every doctor's grant is revoked at Google (tokens are network-wide user meta: once).
 * 3. The token user meta is erased whatever happened before: Google unreachable, the OAuth
 *    client no longer configured, the extension missing (then nothing can be revoked, but no
 *    token is left behind either). Once a request to Google hangs (no answer within
 *    KC_MEET_UNINSTALL_HANG_S seconds), no further request of that kind is tried: the remaining
 *    channels expire by themselves, the remaining tokens are erased unrevoked, and the uninstall
 *    ends in bounded time instead of one request timeout per doctor. Should the request end
 *    anyway before the tokens are erased (a fatal error), a shutdown function erases them.
 * 4. kc-meet's own tables (`{prefix}kc_meet_*`), options and transients, WP-Cron events and
 *    Action Scheduler actions go, so no request is made afterwards; so does its own user meta
 *    (`kc_meet_reconnect_mailed`, network-wide).
 *
 * Never touches KiviCare's tables, the shared mapping table `kc_appointment_google_meet_mappings`
 * (core's data, adopted again by a reinstall) or the option `kiviCare_google_meet_setting`.
 *
 * @package KC_Meet
 */

defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

require_once __DIR__ . '/includes/class-kc-meet-autoloader.php';
KC_Meet_Autoloader::register( __DIR__ . '/includes/' );

/*
 * Closures rather than functions: nothing is declared globally, so this file can be included
 * more than once (tests) and cannot clash with the extension's kc_meet_* functions.
 */

$kc_meet_has_extension = extension_loaded( 'kc_meet' ) && function_exists( 'kc_meet_configure' );

/*
 * Seconds after which a request to Google counts as hanging (the extension gives up on a
 * request after 20 s): further requests of the same kind are not tried.
 */
if ( ! defined( 'KC_MEET_UNINSTALL_HANG_S' ) ) {
	define( 'KC_MEET_UNINSTALL_HANG_S', 10 );
}

/*
 * Whether Google still answers channels.stop and revoke requests in this uninstall (objects so
 * the closures below share them).
 */
$kc_meet_google = (object) array(
	'calendar' => true,
	'revoke'   => true,
	'erased'   => false,
);

/**
 * Runs one request phase against Google unless that kind of request already hung; marks the
 * kind as hanging when the phase took longer than KC_MEET_UNINSTALL_HANG_S.
 *
 * @param string   $kind 'calendar' or 'revoke'.
 * @param callable $call The phase.
 * @return void
 */
$kc_meet_google_call = static function ( $kind, $call ) use ( $kc_meet_google ) {
	if ( ! $kc_meet_google->$kind ) {
		return;
	}
	$started = microtime( true );
	try {
		$call();
	} catch ( \Throwable $e ) {
		unset( $e ); // Best effort: the channel expires by itself, the token is erased anyway.
	}
	if ( microtime( true ) - $started > KC_MEET_UNINSTALL_HANG_S ) {
		$kc_meet_google->$kind = false;
	}
};

/**
 * Erases every Google Meet token and the connection flags (network-wide user meta) with plain
 * queries: the last resort of a request that ends early.
 *
 * @return void
 */
$kc_meet_erase_all_tokens = static function () {
	global $wpdb;
	// phpcs:ignore WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching -- one-off uninstall.
	$wpdb->query( $wpdb->prepare( "DELETE FROM {$wpdb->usermeta} WHERE meta_key IN (%s, %s)", 'google_meet_access_token', 'kiviCare_doctor_meet_id' ) );
	// phpcs:ignore WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching -- one-off uninstall.
	$wpdb->query( $wpdb->prepare( "UPDATE {$wpdb->usermeta} SET meta_value = %s WHERE meta_key = %s", 'off', 'kiviCare_google_meet_connect' ) );
};

register_shutdown_function(
	static function () use ( $kc_meet_google, $kc_meet_erase_all_tokens ) {
		if ( ! $kc_meet_google->erased ) {
			$kc_meet_erase_all_tokens();
		}
	}
);

/**
 * Whether kc-meet ran on the current site (its tables exist).
 *
 * @return bool
 */
$kc_meet_ran_here = static function () {
	global $wpdb;
	$table = $wpdb->prefix . 'kc_meet_meta';
	// phpcs:ignore WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching -- one-off uninstall.
	if ( $table === $wpdb->get_var( $wpdb->prepare( 'SHOW TABLES LIKE %s', $wpdb->esc_like( $table ) ) ) ) {
		return true;
	}
	// Tables gone (dropped by hand, a failed migration) but options or schedules of ours left.
	// phpcs:ignore WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching -- one-off uninstall.
	return null !== $wpdb->get_var( $wpdb->prepare( "SELECT option_name FROM {$wpdb->options} WHERE option_name LIKE %s LIMIT 1", $wpdb->esc_like( 'kc_meet_' ) . '%' ) );
};

/**
 * Configures the extension for the current site.
 *
 * @return bool
 */
$kc_meet_configure = static function () use ( $kc_meet_has_extension ) {
	if ( ! $kc_meet_has_extension ) {
		return false;
	}
	try {
		kc_meet_configure( KC_Meet_Config::build() );
		return true;
	} catch ( \Throwable $e ) {
		return false;
	}
};

/**
 * Stops every push channel of the current site at Google (best effort, one doctor at a time).
 *
 * @return void
 */
$kc_meet_stop_channels = static function () use ( $kc_meet_google_call ) {
	if ( ! function_exists( 'kc_meet_channels' ) ) {
		return;
	}
	try {
		$channels = kc_meet_channels( 0 );
	} catch ( \Throwable $e ) {
		return;
	}
	$doctors = array_unique( array_map( 'intval', array_column( (array) ( $channels['channels'] ?? array() ), 'doctor_id' ) ) );
	foreach ( $doctors as $doctor_id ) {
		$kc_meet_google_call(
			'calendar',
			static function () use ( $doctor_id ) {
				kc_meet_stop_channels( $doctor_id );
			}
		);
	}
};

/**
 * Every user holding a Google Meet token (network-wide user meta).
 *
 * @return int[]
 */
$kc_meet_token_holders = static function () {
	global $wpdb;
	// phpcs:ignore WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching -- one-off uninstall.
	$ids = $wpdb->get_col( $wpdb->prepare( "SELECT DISTINCT user_id FROM {$wpdb->usermeta} WHERE meta_key = %s", 'google_meet_access_token' ) );
	return array_map( 'intval', (array) $ids );
};

/**
 * Revokes (through kc_meet_disconnect) every token holder's grant, then erases whatever token
 * meta is left: a failed revoke must not leave a token behind.
 *
 * @param bool $can_revoke Whether the extension is configured for a site where kc-meet ran.
 * @return void
 */
$kc_meet_disconnect_doctors = static function ( $can_revoke ) use ( $kc_meet_token_holders, $kc_meet_google_call ) {
	$user_ids = $kc_meet_token_holders();
	foreach ( $user_ids as $user_id ) {
		if ( $can_revoke ) {
			$kc_meet_google_call(
				'revoke',
				static function () use ( $user_id ) {
					kc_meet_disconnect( $user_id );
				}
			);
		}
		delete_user_meta( $user_id, 'google_meet_access_token' );
		delete_user_meta( $user_id, 'kiviCare_doctor_meet_id' );
		update_user_meta( $user_id, 'kiviCare_google_meet_connect', 'off' );
		if ( 'googlemeet' === get_user_meta( $user_id, 'telemed_type', true ) ) {
			delete_user_meta( $user_id, 'telemed_type' );
		}
		wp_cache_delete( $user_id, 'user_meta' );
		clean_user_cache( $user_id );
	}
};

/**
 * Drops kc-meet's tables (`{prefix}kc_meet_*`), options (`kc_meet_*`, including transients),
 * cron events and Action Scheduler actions of the current site.
 *
 * @return void
 */
$kc_meet_uninstall_site = static function () {
	global $wpdb;

	$prefix = $wpdb->prefix . 'kc_meet_';
	// phpcs:ignore WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching -- one-off uninstall.
	$tables = $wpdb->get_col( $wpdb->prepare( 'SHOW TABLES LIKE %s', $wpdb->esc_like( $prefix ) . '%' ) );
	foreach ( (array) $tables as $table ) {
		$table = (string) $table;
		if ( 0 !== strpos( $table, $prefix ) || ! preg_match( '/^[A-Za-z0-9_$]+$/', $table ) ) {
			continue;
		}
		// phpcs:ignore WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching,WordPress.DB.DirectDatabaseQuery.SchemaChange,WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- our own table, name checked above.
		$wpdb->query( "DROP TABLE IF EXISTS `{$table}`" );
	}

	$patterns = array( 'kc_meet_', '_transient_kc_meet_', '_transient_timeout_kc_meet_' );
	foreach ( $patterns as $pattern ) {
		// phpcs:ignore WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching -- one-off uninstall.
		$names = $wpdb->get_col(
			$wpdb->prepare( "SELECT option_name FROM {$wpdb->options} WHERE option_name LIKE %s", $wpdb->esc_like( $pattern ) . '%' )
		);
		foreach ( (array) $names as $name ) {
			delete_option( (string) $name );
		}
	}

	KC_Meet_Lifecycle::clear_cron();
	KC_Meet_WooCommerce::unschedule_all();
	// Also one-off events (e.g. a doctor's backfill after connecting) under any kc_meet_ hook.
	foreach ( (array) _get_cron_array() as $kc_meet_events ) {
		foreach ( array_keys( (array) $kc_meet_events ) as $kc_meet_hook ) {
			if ( 0 === strpos( (string) $kc_meet_hook, 'kc_meet_' ) ) {
				wp_unschedule_hook( (string) $kc_meet_hook );
			}
		}
	}
};

$kc_meet_sites = is_multisite() ? array_map( 'intval', get_sites( array( 'fields' => 'ids', 'number' => 0 ) ) ) : array( get_current_blog_id() );

// 1. Channels, per site where kc-meet ran (each site has its own channels table), while the grants
// still exist. The first such site's configuration then revokes the network-wide tokens.
$kc_meet_revoke_site = 0;
$kc_meet_ran_sites   = array();
foreach ( $kc_meet_sites as $kc_meet_site_id ) {
	if ( is_multisite() ) {
		switch_to_blog( $kc_meet_site_id );
	}
	$kc_meet_ran = $kc_meet_ran_here();
	if ( $kc_meet_ran || ! is_multisite() ) {
		$kc_meet_ran_sites[] = $kc_meet_site_id;
	}
	if ( $kc_meet_ran && $kc_meet_configure() ) {
		$kc_meet_stop_channels();
		$kc_meet_revoke_site = $kc_meet_revoke_site ? $kc_meet_revoke_site : $kc_meet_site_id;
	}
	if ( is_multisite() ) {
		restore_current_blog();
	}
}

// 2 + 3. Revoke and erase the tokens.
if ( is_multisite() && $kc_meet_revoke_site ) {
	switch_to_blog( $kc_meet_revoke_site );
}
$kc_meet_disconnect_doctors( $kc_meet_revoke_site > 0 && $kc_meet_configure() );
if ( is_multisite() && $kc_meet_revoke_site ) {
	restore_current_blog();
}
$kc_meet_erase_all_tokens(); // Whatever a failed delete above may have left.
$kc_meet_google->erased = true;

// 4. Our tables, options and schedules, per site where kc-meet ran.
foreach ( $kc_meet_ran_sites as $kc_meet_site_id ) {
	if ( is_multisite() ) {
		switch_to_blog( $kc_meet_site_id );
	}
	$kc_meet_uninstall_site();
	if ( is_multisite() ) {
		restore_current_blog();
	}
}
// User meta is the network's: once, for every user.
delete_metadata( 'user', 0, 'kc_meet_reconnect_mailed', '', true );
