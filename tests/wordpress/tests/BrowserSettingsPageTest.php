<?php
namespace KcMeetTest;

/**
 * 12. The settings page in headless Chromium, driven over W3C WebDriver (Debian's chromium-driver).
 *     The browser names this test's database with the cookie kc_test_db (it cannot send X-KC-Test-DB).
 */
final class BrowserSettingsPageTest extends WpTestCase {
	use BrowserSession { setUp as browserSetUp; }

	protected function setUp(): void {
		$this->browserSetUp();
		$this->login('admin');
	}

	private function openSettings(string $query = ''): void {
		$this->wd->go(Env::wpUrl() . '/wp-admin/options-general.php?page=kc-meet' . $query);
		$this->wd->waitFor(static fn($w) => $w->find('#kc-meet-health') !== '');
	}

	public function test_settings_page_shows_the_redirect_uri_to_register(): void {
		$this->openSettings();
		$shown = $this->wd->property($this->wd->find('#kc-meet-redirect-uri'), 'value');
		$this->assertSame($this->wpOk("return rest_url('kc-meet/v1/oauth/callback');"), $shown);
		$this->assertSame('true', (string) json_encode($this->wd->property($this->wd->find('#kc-meet-redirect-uri'), 'readOnly')));
	}

	public function test_settings_page_health_box_shows_the_extension_version_and_the_problems(): void {
		$this->openSettings();
		$health = $this->wd->text($this->wd->find('#kc-meet-health'));
		$this->assertStringContainsString($this->wpOk('return kc_meet_version();'), $health);
		$codes = [];
		foreach ($this->wd->findAll('#kc-meet-problems .kc-meet-problem') as $el) {
			$codes[] = $this->wd->attribute($el, 'data-code');
		}
		$this->assertContains('missing_client', $codes, 'no client configured yet: ' . $health);
		$this->screenshot('kc-meet-settings-page');
	}

	public function test_saving_the_client_id_in_the_browser_stores_it_and_never_shows_the_secret(): void {
		$this->openSettings();
		$wd = $this->wd;
		$wd->clear($wd->find('#kc-meet-client-id'));
		$wd->type($wd->find('#kc-meet-client-id'), self::CLIENT_ID);
		$wd->type($wd->find('#kc-meet-client-secret'), self::CLIENT_SECRET);
		$wd->click($wd->find('#kc-meet-settings-form [type=submit]'));
		// Saved through WordPress's options.php (Settings API), which sends the browser back with
		// WordPress's notice (its script then drops `settings-updated` from the address bar).
		$wd->waitFor(static fn($w) => $w->find('#setting-error-settings_updated') !== '');
		$wd->waitFor(static fn($w) => $w->find('#kc-meet-client-id') !== '');

		$this->assertStringContainsString('Settings saved.', $wd->text($wd->find('#wpbody-content')));
		$this->assertSame(self::CLIENT_ID, $wd->property($wd->find('#kc-meet-client-id'), 'value'));
		$this->assertSame('', $wd->property($wd->find('#kc-meet-client-secret'), 'value'), 'the secret field is filled in');
		$this->assertSame('1', $wd->attribute($wd->find('#kc-meet-secret-state'), 'data-saved'), 'the screen says a secret is saved');
		$this->assertStringNotContainsString(self::CLIENT_SECRET, $wd->source(), 'the page source contains the saved secret');
		$this->assertTrue((bool) $wd->property($wd->find('#kc-meet-enabled'), 'checked'), 'Google Meet is on');
		$saved = $this->wpOk('return get_option("kiviCare_google_meet_setting");');
		$this->assertSame(self::CLIENT_ID, $saved['client_id']);
		$this->assertSame(self::CLIENT_SECRET, $saved['client_secret']);
		$this->assertSame([true, 'Yes'], [$saved['enabled'], $saved['enableCal']]);
		$codes = [];
		foreach ($wd->findAll('#kc-meet-problems .kc-meet-problem') as $el) {
			$codes[] = $wd->attribute($el, 'data-code');
		}
		$this->assertNotContains('missing_client', $codes);
		$this->screenshot('kc-meet-settings-saved');
	}

	public function test_saving_with_an_empty_secret_field_keeps_the_saved_secret(): void {
		$this->configureOAuth();
		$this->openSettings();
		$wd = $this->wd;
		$wd->clear($wd->find('#kc-meet-client-id'));
		$wd->type($wd->find('#kc-meet-client-id'), 'other-client.apps.googleusercontent.com');
		$wd->click($wd->find('#kc-meet-settings-form [type=submit]'));
		$wd->waitFor(static fn($w) => $w->find('#setting-error-settings_updated') !== '');
		$saved = $this->wpOk('return get_option("kiviCare_google_meet_setting");');
		$this->assertSame('other-client.apps.googleusercontent.com', $saved['client_id']);
		$this->assertSame(self::CLIENT_SECRET, $saved['client_secret']);
	}

	public function test_copy_buttons_copy_the_addresses_to_register_in_google_cloud(): void {
		$this->openSettings();
		$wd = $this->wd;
		$expected = $this->wpOk('return ["redirect" => KC_Meet_Config::redirect_uri(), "notify" => KC_Meet_Config::notify_url()];');
		$buttons = $wd->findAll('#kc-meet-settings-form .kc-meet-copy');
		$this->assertGreaterThanOrEqual(4, count($buttons));
		foreach ($buttons as $button) {
			$this->assertFalse((bool) $wd->property($button, 'hidden'), 'the script shows the Copy buttons');
		}
		foreach (['kc-meet-redirect-uri' => $expected['redirect'], 'kc-meet-notify-url' => $expected['notify']] as $target => $value) {
			$button = $wd->find('#kc-meet-settings-form .kc-meet-copy[data-copy-target="' . $target . '"]');
			$wd->click($button);
			$wd->waitFor(static fn($w) => (string) $w->attribute($button, 'data-copied') !== '');
			$this->assertSame($value, $wd->attribute($button, 'data-copied'), "$target: the button copied the address");
			$script = 'var b = document.querySelector(\'.kc-meet-copy[data-copy-target="' . $target . '"]\'); return b && b.nextElementSibling ? b.nextElementSibling.textContent : "";';
			$status = '';
			$wd->waitFor(static function ($w) use (&$status, $script) {
				$status = trim((string) $w->exec($script));
				return $status !== '';
			});
			$this->assertMatchesRegularExpression('/Copied\.|Ctrl\+C/', $status);
		}
		$this->screenshot('kc-meet-settings-screen');
	}
}
