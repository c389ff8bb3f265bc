<?php
namespace KcMeetTest;

/**
 * Headless Chromium for a WpTestCase: a WebDriver session whose requests name this test's
 * database with the cookie kc_test_db (a browser cannot send X-KC-Test-DB), started before each
 * test and ended after it, WordPress's login form, and screenshots under
 * target/wp-test/screenshots/. Chromium is a build dependency: missing, the test fails (no skip).
 */
trait BrowserSession {
	private ?WebDriver $wd = null;

	protected function setUp(): void {
		WebDriver::requireInstalled();
		parent::setUp();
		$this->startBrowser();
	}

	protected function tearDown(): void {
		$this->stopBrowser();
		parent::tearDown();
	}

	/** Saves the browser's page as target/wp-test/screenshots/$name.png (a real PNG) and returns its path. */
	private function screenshot(string $name): string {
		$dir = Env::root() . '/target/wp-test/screenshots';
		if (!is_dir($dir)) {
			mkdir($dir, 0777, true);
		}
		$file = "$dir/$name.png";
		$this->wd->screenshot($file);
		$this->assertGreaterThan(1000, filesize($file));
		$this->assertSame("\x89PNG", (string) file_get_contents($file, false, null, 0, 4));
		return $file;
	}

	/** Starts the browser on the site's origin with this test's database selected. */
	private function startBrowser(): void {
		$this->wd = new WebDriver();
		$this->wd->go(Env::wpUrl() . '/wp-includes/images/blank.gif');
		$this->wd->addCookie('kc_test_db', $this->db);
	}

	private function stopBrowser(): void {
		if ($this->wd) {
			$this->wd->quit();
			$this->wd = null;
		}
	}

	/** Logs in through wp-login.php as one of the test's users. */
	private function login(string $who): void {
		$wd = $this->wd;
		$wd->go(Env::wpUrl() . '/wp-login.php');
		$wd->waitFor(static fn($w) => $w->find('#user_login') !== '');
		usleep(300000); // wp-login.php focuses the field on load
		$wd->type($wd->find('#user_login'), $this->users[$who]['login']);
		$wd->type($wd->find('#user_pass'), $this->users[$who]['password']);
		$wd->click($wd->find('#wp-submit'));
		$wd->waitFor(static fn($w) => strpos($w->url(), '/wp-admin/') !== false);
	}
}
