<?php
namespace KcMeetTest;

/**
 * Headless Chromium for a WpTestCase: a WebDriver session whose requests name this test's
 * database with the cookie kc_test_db (a browser cannot send X-KC-Test-DB), WordPress's login
 * form, and the end of the session.
 */
trait BrowserSession {
	private ?WebDriver $wd = null;

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
