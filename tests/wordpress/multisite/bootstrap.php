<?php
/**
 * PHPUnit bootstrap of the kc-meet multisite tests: the single-site bootstrap (same environment
 * contract; run.sh points KC_MEET_WP_DIR, KC_MEET_WP_URL and KC_MEET_TEMPLATE_DB at the network)
 * plus the network's test case.
 */
require __DIR__ . '/../bootstrap.php';
require __DIR__ . '/MultisiteTestCase.php';
