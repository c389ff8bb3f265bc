<?php
/**
 * Uninstall: revoke every doctor's Google grant, drop kc-meet's own tables and options.
 *
 * Runs only when the kc_meet extension is loaded (without it nothing can be revoked, so the
 * data is left for a later uninstall). Never touches KiviCare's tables, the shared mapping
 * table `kc_appointment_google_meet_mappings` or the option `kiviCare_google_meet_setting`.
 *
 * @package KC_Meet
 */

defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

if ( ! extension_loaded( 'kc_meet' ) || ! function_exists( 'kc_meet_configure' ) ) {
	return;
}

require_once __DIR__ . '/includes/class-kc-meet-autoloader.php';
KC_Meet_Autoloader::register( __DIR__ . '/includes/' );

/*
 * Closures rather than functions: nothing is declared globally, so this file can be included
 * more than once (tests) and cannot clash with the extension's kc_meet_* functions.
 */

/**
 * Configures the extension for the current site.
 *
 * @return bool
 */
$kc_meet_configure = static function () {
	try {
		kc_meet_configure( KC_Meet_Config::build() );
		return true;
	} catch ( \Throwable $e ) {
		return false;
	}
};

/**
 * Disconnects (and revokes at Google) every user holding a Google Meet token.
 *
 * @return void
 */
$kc_meet_disconnect_doctors = static function () {
	global $wpdb;
	// phpcs:ignore WordPress.DB.DirectDatabaseQuery.DirectQuery,WordPress.DB.DirectDatabaseQuery.NoCaching -- one-off uninstall.
	$user_ids = $wpdb->get_col(
		$wpdb->prepare( "SELECT DISTINCT user_id FROM {$wpdb->usermeta} WHERE meta_key = %s", 'google_meet_access_token' )
	);
	foreach ( array_map( 'intval', (array) $user_ids ) as $user_id ) {
		try {
			kc_meet_disconnect( $user_id );
		} catch ( \Throwable $e ) {
			// Best effort: keep going with the other doctors.
			unset( $e );
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
};

if ( is_multisite() ) {
	$kc_meet_sites = get_sites(
		array(
			'fields' => 'ids',
			'number' => 0,
		)
	);
	// Tokens are network-wide user meta: revoke them once, with the main site's configuration.
	switch_to_blog( get_main_site_id() );
	if ( $kc_meet_configure() ) {
		$kc_meet_disconnect_doctors();
	}
	restore_current_blog();
	foreach ( $kc_meet_sites as $kc_meet_site_id ) {
		switch_to_blog( (int) $kc_meet_site_id );
		$kc_meet_uninstall_site();
		restore_current_blog();
	}
} else {
	if ( $kc_meet_configure() ) {
		$kc_meet_disconnect_doctors();
	}
	$kc_meet_uninstall_site();
}
