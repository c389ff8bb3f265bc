<?php
/**
 * auto_prepend_file of the bench's php-fpm pool: what a production wp-config.php would hold for
 * this set-up: the CA of the HTTPS Google emulator. (The test bed's wp-config.php already turns
 * WP-Cron off, so no request spawns a cron run in the middle of a measurement.)
 */
if (getenv('KC_BENCH_CA') && !defined('KC_MEET_CA_FILE')) {
	define('KC_MEET_CA_FILE', getenv('KC_BENCH_CA'));
}
