<?php
namespace KcMeetTest;

/** 10. PHP without the kc_meet extension: the plugin loads, says so once, and nothing is fatal. */
final class WithoutExtensionTest extends WpTestCase {
	private const NOTICES = '
		set_current_screen($args["screen"]);
		ob_start();
		do_action("admin_notices");
		do_action("all_admin_notices");
		$html = ob_get_clean();
		$doc = new DOMDocument();
		@$doc->loadHTML("<div>" . $html . "</div>");
		$n = 0; $ids = [];
		foreach ((new DOMXPath($doc))->query("//div[contains(concat(\" \", normalize-space(@class), \" \"), \" notice \")]") as $el) { $n++; $ids[] = $el->getAttribute("id"); }
		return ["count" => $n, "ids" => $ids, "html" => $html, "ext" => extension_loaded("kc_meet")];';

	public function test_plugin_loads_without_the_extension_with_exactly_one_admin_notice(): void {
		$r = $this->wp(['admin' => true, 'user' => $this->id('admin'), 'code' => self::NOTICES, 'args' => ['screen' => 'dashboard']], [], ['extension' => false]);
		$this->assertTrue($r->ok(), $r->describe());
		$res = $r->result();
		$this->assertFalse($res['ext'], 'the runner really ran without the extension');
		$this->assertSame(1, $res['count'], 'admin notices: ' . $res['html']);
		$this->assertStringContainsString('kc_meet', $res['html']);
	}

	public function test_plugin_without_the_extension_hooks_exactly_one_admin_notice_callback(): void {
		$r = $this->wp(['admin' => true, 'user' => $this->id('admin'), 'code' => '
			global $wp_filter;
			$ours = [];
			foreach ((isset($wp_filter["admin_notices"]) ? $wp_filter["admin_notices"]->callbacks : []) as $prio => $cbs) {
				foreach ($cbs as $cb) {
					$f = $cb["function"];
					$ref = is_array($f) ? new ReflectionMethod($f[0], $f[1]) : (is_string($f) && strpos($f, "::") ? new ReflectionMethod($f) : new ReflectionFunction($f));
					if (strpos((string) $ref->getFileName(), "/plugins/kivicare-google-meet/") !== false) {
						$ours[] = (is_array($f) ? (is_object($f[0]) ? get_class($f[0]) : $f[0]) . "::" . $f[1] : (is_string($f) ? $f : "closure"));
					}
				}
			}
			return $ours;'], [], ['extension' => false]);
		$this->assertTrue($r->ok(), $r->describe());
		$this->assertCount(1, $r->result(), json_encode($r->result()));
	}

	public function test_plugin_without_the_extension_shows_no_notice_to_a_doctor(): void {
		$r = $this->wp(['admin' => true, 'user' => $this->id('doctor'), 'code' => self::NOTICES, 'args' => ['screen' => 'profile']], [], ['extension' => false]);
		$this->assertTrue($r->ok(), $r->describe());
		$this->assertSame(0, $r->result()['count'], $r->result()['html']);
	}

	public function test_plugin_without_the_extension_is_still_active_and_raises_no_php_error(): void {
		$r = $this->wp('require_once ABSPATH . "wp-admin/includes/plugin.php"; return is_plugin_active($args["p"]);', ['p' => self::PLUGIN], ['extension' => false]);
		$this->assertTrue($r->ok(), $r->describe());
		$this->assertTrue($r->result());
		$ours = array_filter($r->report['php_errors'], static fn($e) => strpos($e['file'], 'kivicare-google-meet') !== false);
		$this->assertSame([], array_values($ours), 'PHP errors from the plugin');
	}

	public function test_plugin_can_be_activated_without_the_extension(): void {
		$r = $this->wp(['admin' => true, 'user' => 1, 'code' => '
			deactivate_plugins($args["p"]);
			$was = is_plugin_active($args["p"]);
			$res = activate_plugin($args["p"]);
			return ["was" => $was, "error" => is_wp_error($res) ? $res->get_error_message() : null, "active" => is_plugin_active($args["p"])];',
			'args' => ['p' => self::PLUGIN]], [], ['extension' => false]);
		$this->assertTrue($r->ok(), $r->describe());
		$this->assertFalse($r->result()['was']);
		$this->assertNull($r->result()['error']);
		$this->assertTrue($r->result()['active']);
	}

	public function test_front_end_filters_without_the_extension_do_not_fatal(): void {
		$r = $this->wp('return [
			"connect" => apply_filters("kcgm_connect_doctor", ["id" => (string) $args["d"], "code" => "4/0abc"]),
			"providers" => apply_filters("kc_telemed_providers", []),
			"meta" => get_user_meta((int) $args["d"], "kiviCare_google_meet_connect", true)];', ['d' => $this->id('doctor')], ['extension' => false]);
		$this->assertTrue($r->ok(), $r->describe());
		$this->assertNotSame(true, $r->result()['connect']['status'] ?? null, 'connect cannot succeed without the extension');
		$this->assertNotSame('on', $r->result()['meta']);
	}
}
