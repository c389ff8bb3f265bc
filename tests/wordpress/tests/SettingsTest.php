<?php
namespace KcMeetTest;

/**
 * The settings: one reader and validator (KC_Meet_Settings) for every shape of the vendor's option
 * and for kc-meet's own options, the settings screen saved through WordPress's options.php
 * (Settings API) with its errors, and KiviCare's REST routes (4.x) and filters (3.x) reading and
 * writing the same "enabled".
 */
final class SettingsTest extends WpTestCase {
	use KiviCareFixtures;

	private const OPTION = 'kiviCare_google_meet_setting';

	private function storeOption($value): void {
		$this->wpOk('update_option("kiviCare_google_meet_setting", $args["v"]); return true;', ['v' => $value]);
	}

	private function option() {
		return $this->wpOk('return get_option("kiviCare_google_meet_setting");');
	}

	/** The settings form of the screen as a browser would submit it: [action, fields]. */
	private function formOf(Http $admin): array {
		[$page, $html] = $this->settingsPage($admin);
		$form = $html->byId('kc-meet-settings-form');
		$this->assertNotNull($form, 'settings form');
		return $html->form($form, $page->url);
	}

	private function submit(Http $admin, array $form): Response {
		return $admin->request($form['method'], $form['action'], Html::encode($form['fields']));
	}

	private static function field(string $key): string {
		return self::OPTION . '[' . $key . ']';
	}

	// ------------------------------------------------------------------ the one rule of "enabled"

	public function test_enabled_is_one_rule_for_every_stored_shape(): void {
		$cases = [
			'4.x enabled true'                    => [['enabled' => true], true],
			'4.x enabled "1"'                     => [['enabled' => '1'], true],
			'4.x enabled 1'                       => [['enabled' => 1], true],
			'4.x enabled " TRUE "'                => [['enabled' => ' TRUE '], true],
			'4.x enabled false'                   => [['enabled' => false], false],
			'4.x enabled "0"'                     => [['enabled' => '0'], false],
			'4.x enabled "no"'                    => [['enabled' => 'no'], false],
			'4.x enabled array'                   => [['enabled' => ['x']], false],
			'1.x enableCal "Yes"'                 => [['enableCal' => 'Yes'], true],
			'1.x enableCal "yes"'                 => [['enableCal' => 'yes'], true],
			'1.x enableCal "on"'                  => [['enableCal' => 'on'], true],
			'1.x enableCal "true"'                => [['enableCal' => 'true'], true],
			'1.x enableCal "No"'                  => [['enableCal' => 'No'], false],
			'1.x enableCal "off"'                 => [['enableCal' => 'off'], false],
			'either one on: enabled'              => [['enabled' => true, 'enableCal' => 'No'], true],
			'either one on: enableCal'            => [['enabled' => false, 'enableCal' => 'Yes'], true],
			'nothing stored'                      => [[], false],
			'4.x auth_type alone is no switch'    => [['auth_type' => 'oauth'], false],
		];
		$got = $this->wpOk('$out = []; foreach ($args["cases"] as $label => $case) { $out[$label] = KC_Meet_Settings::is_enabled($case[0]); } return $out;', ['cases' => $cases]);
		foreach ($cases as $label => [, $expected]) {
			$this->assertSame($expected, $got[$label], $label);
		}
		// Stored as JSON (the vendor's 4.x wrote it that way on some sites): the same reading.
		$this->storeOption(json_encode(['enableCal' => 'on', 'client_id' => 'x']));
		$this->assertTrue($this->wpOk('return KC_Meet_Settings::get()["enabled"];'));
	}

	public function test_rest_routes_and_3x_filters_read_the_same_enabled_for_every_shape(): void {
		$shapes = [
			['enableCal' => 'on'],
			['enabled' => '1', 'enableCal' => 'No'],
			['enabled' => false, 'enableCal' => 'true'],
			['enabled' => 0, 'auth_type' => 'oauth'],
			json_encode(['enabled' => true]),
			[],
		];
		$admin = $this->loggedIn('admin');
		$admin->extraHeaders['X-KC-Core'] = '4';
		$admin->extraHeaders['X-WP-Nonce'] = $this->restNonce($admin);
		foreach ($shapes as $shape) {
			$this->storeOption(is_array($shape) ? $shape + ['client_id' => self::CLIENT_ID, 'client_secret' => self::CLIENT_SECRET] : $shape);
			$label = json_encode($shape);
			$expected = $this->wpOk('return KC_Meet_Settings::is_enabled(KC_Meet_Settings::raw());');
			$rest = $admin->get('/wp-json/kivicare/v1/settings/googlemeet')->json()['data']['config']['data'];
			$three = $this->wpOk(['user' => $this->id('admin'), 'code' => 'return apply_filters("kcgm_edit_googlemeet", [])["data"];']);
			$provider = $this->wpOk(['kc_core' => '4', 'code' => 'return \\KcMeetTestBed\\KCTelemedFactoryStandIn::create("googlemeet")->get_config()["enabled"];']);
			$this->assertSame([$expected, $expected ? 'Yes' : 'No'], [$rest['enabled'], $rest['enableCal']], "REST, $label");
			$this->assertSame([$expected, $expected ? 'Yes' : 'No'], [$three['enabled'], $three['enableCal']], "3.x, $label");
			$this->assertSame($expected, $provider, "4.x provider, $label");
		}
	}

	public function test_a_switch_set_by_one_writer_is_read_the_same_by_the_others(): void {
		$this->configureOAuth();
		$admin = $this->loggedIn('admin');
		$admin->extraHeaders['X-KC-Core'] = '4';
		$admin->extraHeaders['X-WP-Nonce'] = $this->restNonce($admin);

		// Off through KiviCare 3.x's save filter (1.x keys) …
		$off = $this->wpOk(['user' => $this->id('admin'), 'code' => 'return apply_filters("kcgm_saved_googlemeet_config", ["data" => ["client_id" => $args["id"], "client_secret" => "", "enableCal" => "No"]]);', 'args' => ['id' => self::CLIENT_ID]]);
		$this->assertTrue($off['status'], json_encode($off));
		$stored = $this->option();
		$this->assertSame([false, 'No', 'none'], [$stored['enabled'], $stored['enableCal'], $stored['auth_type']], 'both switch keys written, and 4.3\'s auth_type too');
		$this->assertSame(self::CLIENT_SECRET, $stored['client_secret'], 'an empty secret keeps the stored one');
		$this->assertFalse($admin->get('/wp-json/kivicare/v1/settings/googlemeet')->json()['data']['config']['data']['enabled']);
		[, $html] = $this->settingsPage($this->loggedIn('admin'));
		$this->assertFalse($html->byId('kc-meet-enabled')->hasAttribute('checked'), 'the screen shows it off');

		// … on through KiviCare 4.3's REST route (4.x keys): the 3.x filter reads it on.
		$r = $admin->json('PUT', '/wp-json/kivicare/v1/settings/googlemeet', ['google_meet_config' => ['enabled' => true]]);
		$this->assertSame(200, $r->status, $r->describe());
		$stored = $this->option();
		$this->assertSame([true, 'Yes', 'oauth'], [$stored['enabled'], $stored['enableCal'], $stored['auth_type']]);
		$this->assertTrue($this->wpOk(['user' => $this->id('admin'), 'code' => 'return apply_filters("kcgm_edit_googlemeet", [])["data"]["enabled"];']));
	}

	// ------------------------------------------------------------------ the validator

	public function test_saving_keeps_each_vendor_shape_and_format_and_every_key_it_does_not_change(): void {
		// 1.x, as an array: no 4.x keys appear.
		$this->storeOption(['client_id' => 'a.apps.googleusercontent.com', 'client_secret' => 's1', 'app_name' => 'Clinic', 'enableCal' => 'Yes', 'extra' => 'kept']);
		$view = $this->wpOk('return KC_Meet_Settings::save(["enabled" => false, "app_name" => "Clinic West"]);');
		$this->assertSame('', $view['client_secret'], 'the view never carries the secret');
		$this->assertTrue($view['has_secret']);
		$this->assertSame(['client_id' => 'a.apps.googleusercontent.com', 'client_secret' => 's1', 'app_name' => 'Clinic West', 'enableCal' => 'No', 'extra' => 'kept', 'enabled' => false], $this->option());

		// 4.x, as a JSON string: stays a JSON string; auth_type follows the switch; nested keys kept.
		$this->storeOption(json_encode(['enabled' => true, 'client_id' => 'b.apps.googleusercontent.com', 'client_secret' => 's2', 'auth_type' => 'oauth', 'default_settings' => ['reminders' => true]]));
		$this->wpOk('return KC_Meet_Settings::save(["enableCal" => "No", "kc_meet_on_google_delete" => "cancel"]);');
		$raw = $this->option();
		$this->assertIsString($raw);
		$this->assertSame(['enabled' => false, 'client_id' => 'b.apps.googleusercontent.com', 'client_secret' => 's2', 'auth_type' => 'none', 'default_settings' => ['reminders' => true], 'enableCal' => 'No', 'kc_meet_on_google_delete' => 'cancel'], json_decode($raw, true));
		$this->wpOk('return KC_Meet_Settings::save(["enabled" => "on", "client_secret" => "  s3  "]);');
		$raw = json_decode($this->option(), true);
		$this->assertSame([true, 'Yes', 'oauth', 's3'], [$raw['enabled'], $raw['enableCal'], $raw['auth_type'], $raw['client_secret']]);
	}

	public function test_bad_input_is_refused_field_by_field_and_saves_nothing(): void {
		$this->configureOAuth();
		$before = Db::option($this->db, self::OPTION);
		$cases = [
			'client id with a space'        => [['client_id' => 'my client'], 'client_id'],
			'client id with markup'         => [['client_id' => '<script>x</script>'], 'client_id'],
			'client id not a string'        => [['client_id' => ['a']], 'client_id'],
			'client id too long'            => [['client_id' => str_repeat('a', 256)], 'client_id'],
			'secret with a space'           => [['client_secret' => 'two words'], 'client_secret'],
			'secret with a control char'    => [['client_secret' => "abc\x01def"], 'client_secret'],
			'secret not a string'           => [['client_secret' => ['x']], 'client_secret'],
			'switch not a flag'             => [['enabled' => ['on']], 'enabled'],
			'move policy unknown'           => [['kc_meet_on_google_move' => 'ignore'], 'kc_meet_on_google_move'],
			'delete policy unknown'         => [['kc_meet_on_google_delete' => 'purge'], 'kc_meet_on_google_delete'],
			'redirect URI not served'       => [['redirect_uri' => 'https://evil.example/cb'], 'redirect_uri'],
			'switched on without a client'  => [['client_id' => '', 'enabled' => true], 'enabled'],
			'valid id with one bad field'   => [['client_id' => 'new.apps.googleusercontent.com', 'kc_meet_on_google_move' => 'x'], 'kc_meet_on_google_move'],
		];
		foreach ($cases as $label => [$input, $field]) {
			$r = $this->wpOk('$r = KC_Meet_Settings::save($args["in"]); return is_wp_error($r) ? ["code" => $r->get_error_code(), "message" => $r->get_error_message(), "data" => $r->get_error_data()] : $r;', ['in' => $input]);
			$this->assertSame('kc_meet_invalid_settings', $r['code'] ?? null, "$label: " . json_encode($r));
			$this->assertSame(5001, $r['data']['kc_meet_code'], $label);
			$this->assertArrayHasKey($field, $r['data']['errors'], "$label: " . json_encode($r['data']['errors']));
			$this->assertNotSame('', $r['message'], $label);
			$this->assertStringNotContainsString('two words', $r['message'], 'the message never echoes a secret');
			$this->assertSame($before, Db::option($this->db, self::OPTION), "$label: nothing saved");
		}
		// KiviCare 3.x's filter and 4.3's route answer the same refusal.
		$three = $this->wpOk(['user' => $this->id('admin'), 'code' => 'return apply_filters("kcgm_saved_googlemeet_config", ["data" => ["client_id" => "bad id", "enableCal" => "Yes"]]);']);
		$this->assertSame([false, 5001], [$three['status'], $three['code']], json_encode($three));
		$admin = $this->loggedIn('admin');
		$admin->extraHeaders['X-KC-Core'] = '4';
		$admin->extraHeaders['X-WP-Nonce'] = $this->restNonce($admin);
		$r = $admin->json('PUT', '/wp-json/kivicare/v1/settings/googlemeet', ['google_meet_config' => ['client_id' => 'bad id', 'enableCal' => 'Yes']]);
		$this->assertSame(400, $r->status, $r->describe());
		$this->assertArrayHasKey('client_id', $r->json()['data']['errors']);
		$this->assertSame($before, Db::option($this->db, self::OPTION));
	}

	public function test_woocommerce_settings_are_read_as_core_reads_them(): void {
		$on = $this->wpOk('$out = []; foreach ($args["v"] as $v) { $out[] = KC_Meet_Settings::woocommerce_payment($v); } return $out;', ['v' => ['on', true, 'ON', '1', 1, 'yes', 'true', 'off', '', null]]);
		$this->assertSame([true, true, false, false, false, false, false, false, false, false], $on, "core: get_option(...) == 'on'");
		$this->wpOk('update_option("kiviCare_woocommerce_payment", "1"); return true;');
		$this->assertSame('off', $this->wpOk('return apply_filters("kcgm_get_woocommerce_module_status", []);'), 'core 3.x reads "1" as off: so do we');

		$minutes = $this->wpOk('$out = []; foreach ($args["v"] as $v) { $out[] = KC_Meet_Settings::parse_minutes($v); } return $out;', ['v' => ['30', 45, 15.0, ' 7 ', '0', 0, '-5', '1.5', 1.5, '10081', 'abc', '', null, true]]);
		$this->assertSame([30, 45, 15, 7, null, null, null, null, null, null, null, null, null, null], $minutes);
		$this->assertSame(30, $this->wpOk('return KC_Meet_Settings::unpaid_minutes();'), 'default');
		$this->wpOk('update_option("kc_meet_woo_unpaid_minutes", "nonsense"); return true;');
		$this->assertSame(30, $this->wpOk('return KC_Meet_Settings::unpaid_minutes();'), 'a bad stored value reads as the default');
		$this->assertSame(1800, $this->wpOk('return KC_Meet_WooCommerce::timeout_seconds(1);'));
	}

	// ------------------------------------------------------------------ the settings screen (Settings API)

	public function test_the_screen_saves_every_field_through_options_php(): void {
		$admin = $this->loggedIn('admin');
		$form = $this->formOf($admin);
		$this->assertStringEndsWith('/wp-admin/options.php', $form['action']);
		$this->assertSame('kc_meet_settings', $form['fields']['option_page']);
		$this->assertSame('update', $form['fields']['action']);
		$this->assertArrayHasKey('_wpnonce', $form['fields']);
		$this->assertSame('1', $form['fields'][self::field('enabled')] ?? null, 'a new site starts with the switch on');
		$this->assertSame('30', $form['fields']['kc_meet_woo_unpaid_minutes']);
		$this->assertSame('off', $form['fields']['kiviCare_woocommerce_payment'], 'WooCommerce payment off');

		$form['fields'][self::field('client_id')] = ' ' . self::CLIENT_ID . ' ';
		$form['fields'][self::field('client_secret')] = self::CLIENT_SECRET;
		$form['fields'][self::field('app_name')] = 'Clinic';
		$form['fields'][self::field('kc_meet_on_google_move')] = 'revert';
		$form['fields'][self::field('kc_meet_on_google_delete')] = 'recreate';
		$form['fields']['kiviCare_woocommerce_payment'] = 'on';
		$form['fields']['kc_meet_woo_unpaid_minutes'] = '45';
		$r = $this->submit($admin, $form);
		$this->assertSame(302, $r->status, $r->describe());
		$this->assertStringContainsString('page=kc-meet', (string) $r->location());
		$this->assertStringContainsString('settings-updated=true', (string) $r->location());

		$saved = $this->option();
		$this->assertSame([self::CLIENT_ID, self::CLIENT_SECRET, 'Clinic', true, 'Yes', 'revert', 'recreate'],
			[$saved['client_id'], $saved['client_secret'], $saved['app_name'], $saved['enabled'], $saved['enableCal'], $saved['kc_meet_on_google_move'], $saved['kc_meet_on_google_delete']]);
		$this->assertArrayNotHasKey('kc_meet_form', $saved, 'the form marker is not stored');
		$this->assertSame('on', Db::option($this->db, 'kiviCare_woocommerce_payment'));
		$this->assertSame('45', Db::option($this->db, 'kc_meet_woo_unpaid_minutes'));

		$back = $admin->get((string) $r->location());
		$this->assertSame(200, $back->status);
		$this->assertSame(1, substr_count($back->body, 'Settings saved.'), 'one success notice');
		$this->assertStringNotContainsString(self::CLIENT_SECRET, $back->body, 'the secret is never rendered back');
		$html = new Html($back->body);
		$this->assertSame('', $html->byId('kc-meet-client-secret')->getAttribute('value'));
		$this->assertSame('1', $html->byId('kc-meet-secret-state')->getAttribute('data-saved'));
		$this->assertTrue($html->byId('kc-meet-on-google-move-revert')->hasAttribute('checked'));
		$this->assertTrue($html->byId('kc-meet-woo-payment')->hasAttribute('checked'));

		// Saved again as shown (empty secret field), switched off: the secret stays, the switch goes off.
		$form = $this->formOf($admin);
		unset($form['fields'][self::field('enabled')]);
		$form['fields'][self::field('enabled')] = '0';
		$form['fields']['kiviCare_woocommerce_payment'] = 'off';
		$this->assertSame(302, $this->submit($admin, $form)->status);
		$saved = $this->option();
		$this->assertSame([self::CLIENT_SECRET, false, 'No'], [$saved['client_secret'], $saved['enabled'], $saved['enableCal']]);
		$this->assertSame('off', Db::option($this->db, 'kiviCare_woocommerce_payment'));
	}

	public function test_a_new_site_saving_other_fields_first_keeps_its_switch_unset_until_a_client_is_saved(): void {
		$admin = $this->loggedIn('admin');
		$form = $this->formOf($admin);
		$this->assertSame('1', $form['fields'][self::field('enabled')], 'shown on: on with the first client');
		$form['fields']['kc_meet_woo_unpaid_minutes'] = '20';
		$form['fields'][self::field('kc_meet_on_google_delete')] = 'cancel';
		$r = $this->submit($admin, $form);
		$this->assertSame(302, $r->status, $r->describe());
		$this->assertStringNotContainsString('switched on only', $admin->get((string) $r->location())->body, 'no error for the untouched switch');
		$saved = $this->option();
		$this->assertSame('cancel', $saved['kc_meet_on_google_delete']);
		$this->assertArrayNotHasKey('enabled', $saved, 'still unset');
		$this->assertSame('20', Db::option($this->db, 'kc_meet_woo_unpaid_minutes'));
		// Once set off, switching on without a client is an error.
		$this->wpOk('return KC_Meet_Settings::save(["enabled" => false]);');
		$form = $this->formOf($admin);
		$form['fields'][self::field('enabled')] = '1';
		$back = $admin->get((string) $this->submit($admin, $form)->location());
		$this->assertSame(1, substr_count($back->body, 'switched on only with a client ID'));
		$this->assertFalse($this->option()['enabled']);
	}

	public function test_a_refused_save_shows_the_errors_keeps_what_was_typed_except_the_secret_and_saves_nothing(): void {
		$this->configureOAuth();
		$admin = $this->loggedIn('admin');
		$before = [Db::option($this->db, self::OPTION), Db::option($this->db, 'kc_meet_woo_unpaid_minutes')];
		$form = $this->formOf($admin);
		$form['fields'][self::field('client_id')] = 'not a client id';
		$form['fields'][self::field('client_secret')] = 'typed-new-secret-9876';
		$form['fields'][self::field('app_name')] = 'Typed Clinic';
		$form['fields']['kc_meet_woo_unpaid_minutes'] = '0';
		$r = $this->submit($admin, $form);
		$this->assertSame(302, $r->status, $r->describe());
		$this->assertSame($before, [Db::option($this->db, self::OPTION), Db::option($this->db, 'kc_meet_woo_unpaid_minutes')], 'nothing saved');

		$back = $admin->get((string) $r->location());
		$this->assertSame(200, $back->status);
		$html = new Html($back->body);
		$this->assertStringNotContainsString('Settings saved.', $back->body);
		$this->assertSame(1, substr_count($back->body, 'The client ID may only contain letters'), 'the client ID error, once');
		$this->assertSame(1, substr_count($back->body, 'whole number of minutes'), 'the minutes error, once');
		$this->assertSame('not a client id', $html->byId('kc-meet-client-id')->getAttribute('value'), 'what was typed is shown again');
		$this->assertSame('Typed Clinic', $html->byId('kc-meet-app-name')->getAttribute('value'));
		$this->assertSame('0', $html->byId('kc-meet-woo-unpaid-minutes')->getAttribute('value'));
		$this->assertSame('', $html->byId('kc-meet-client-secret')->getAttribute('value'));
		$this->assertStringNotContainsString('typed-new-secret-9876', $back->body, 'the typed secret is not rendered back');
		$this->assertStringNotContainsString(self::CLIENT_SECRET, $back->body);
		$this->assertStringNotContainsString('typed-new-secret-9876', Db::dump($this->db), 'nor kept anywhere');

		// The next visit shows the stored values again.
		[, $again] = $this->settingsPage($admin);
		$this->assertSame(self::CLIENT_ID, $again->byId('kc-meet-client-id')->getAttribute('value'));
	}

	public function test_options_php_refuses_other_users_and_requests_without_the_nonce(): void {
		$this->configureOAuth();
		$before = Db::option($this->db, self::OPTION);
		$fields = ['option_page' => 'kc_meet_settings', 'action' => 'update', self::field('kc_meet_form') => '1',
			self::field('client_id') => 'attacker.apps.googleusercontent.com', self::field('client_secret') => 'attacker-secret'];
		$admin = $this->loggedIn('admin');
		$r = $admin->post('/wp-admin/options.php', Html::encode($fields));
		$this->assertContains($r->status, [403, 400], 'no nonce: ' . $r->describe());
		$r = $admin->post('/wp-admin/options.php', Html::encode($fields + ['_wpnonce' => 'abcdef0123']));
		$this->assertContains($r->status, [403, 400], 'forged nonce: ' . $r->describe());
		foreach (['doctor', 'patient'] as $who) {
			$h = $this->loggedIn($who);
			$signed = $fields + ['_wpnonce' => $this->nonceFor($h, $who, 'kc_meet_settings-options')];
			$r = $h->post('/wp-admin/options.php', Html::encode($signed));
			$this->assertContains($r->status, [403, 400, 500], "$who: " . $r->describe());
			$this->assertNull($r->location(), "$who: no redirect to a success page");
		}
		$this->assertSame($before, Db::option($this->db, self::OPTION));
	}

	public function test_the_screen_shows_the_addresses_to_register_and_the_policies_with_what_they_mean(): void {
		$admin = $this->loggedIn('admin');
		[, $html] = $this->settingsPage($admin);
		$uris = $this->wpOk('return ["redirect" => KC_Meet_Config::redirect_uri(), "notify" => KC_Meet_Config::notify_url(), "rest_notify" => rest_url("kc-meet/v1/notify")];');
		$this->assertSame($uris['redirect'], $html->byId('kc-meet-redirect-uri')->getAttribute('value'));
		$this->assertSame($uris['notify'], $html->byId('kc-meet-notify-url')->getAttribute('value'));
		$this->assertSame($uris['rest_notify'], $uris['notify'], 'the push URL is WordPress\'s own REST URL');
		$copies = $html->all("//button[contains(concat(' ', normalize-space(@class), ' '), ' kc-meet-copy ')]");
		$this->assertGreaterThanOrEqual(4, count($copies), 'a Copy button per address');
		foreach ($copies as $button) {
			$this->assertTrue($button->hasAttribute('hidden'), 'hidden until the script shows it (nothing broken without JavaScript)');
		}
		$this->assertStringContainsString('assets/js/kc-meet-settings.js', $html->byId('kc-meet-settings-js') ? $html->byId('kc-meet-settings-js')->getAttribute('src') : '');
		foreach (['kc-meet-on-google-move-apply', 'kc-meet-on-google-move-revert', 'kc-meet-on-google-delete-flag', 'kc-meet-on-google-delete-cancel', 'kc-meet-on-google-delete-recreate'] as $id) {
			$radio = $html->byId($id);
			$this->assertNotNull($radio, $id);
			$sentence = Html::text($html->first('ancestor::p[1]', $radio));
			$this->assertGreaterThan(60, strlen($sentence), "$id explains what it means: $sentence");
		}
		$item = $html->first("//li[@id='toplevel_page_kc-meet-doctors']//a[contains(@href, 'options-general.php?page=kc-meet')]");
		$this->assertNotNull($item, 'the Google Meet menu has a Settings item');
		$this->assertSame('Settings', trim(Html::text($item)));
		$this->assertTrue($html->byId('kc-meet-on-google-move-apply')->hasAttribute('checked'), 'default policy: apply');
		$this->assertTrue($html->byId('kc-meet-on-google-delete-flag')->hasAttribute('checked'), 'default policy: flag');
	}
}
