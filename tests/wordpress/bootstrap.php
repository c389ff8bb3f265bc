<?php
/**
 * PHPUnit bootstrap of the kc-meet WordPress tests. The test bed itself (scratch WordPress, template
 * database, emulator, php -S) is prepared by run.sh, which passes everything through the environment.
 */
foreach (['KC_MEET_WP_DIR', 'KC_MEET_WP_URL', 'KC_MEET_TEMPLATE_DB', 'KC_MEET_RUN_ID', 'KC_MEET_EXT'] as $v) {
	if (!getenv($v)) {
		fwrite(STDERR, "kc-meet WordPress tests: env $v is not set — run tests/wordpress/run.sh\n");
		exit(2);
	}
}
require __DIR__ . '/lib/Env.php';
require __DIR__ . '/lib/Db.php';
require __DIR__ . '/lib/Response.php';
require __DIR__ . '/lib/Http.php';
require __DIR__ . '/lib/Html.php';
require __DIR__ . '/lib/Emulator.php';
require __DIR__ . '/lib/Runner.php';
require __DIR__ . '/lib/WebDriver.php';
require __DIR__ . '/lib/BrowserSession.php';
require __DIR__ . '/lib/WpTestCase.php';
require __DIR__ . '/lib/KiviCareFixtures.php';
