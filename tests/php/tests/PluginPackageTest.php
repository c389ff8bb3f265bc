<?php
/** The plugin's headers and readme as WordPress reads them. */
final class PluginPackageTest extends PHPUnit\Framework\TestCase {
	/** Header fields as WordPress's get_file_data() reads them (first 8 KiB, "Name: value" lines). */
	private static function headers(string $file): array {
		$head = substr(file_get_contents($file), 0, 8192);
		preg_match_all('/^[ \t\/*#@]*([A-Za-z ]+):(.*)$/m', $head, $m, PREG_SET_ORDER);
		$out = [];
		foreach ($m as [, $k, $v]) {
			$out[trim($k)] ??= trim($v);
		}
		return $out;
	}

	public function test_headers_name_the_kivicare_dependency_and_block_directory_updates(): void {
		$dir = dirname(__DIR__, 3) . '/php/kivicare-google-meet';
		$h = self::headers("$dir/kivicare-googlemeet.php");
		$this->assertSame('kivicare-clinic-management-system', $h['Requires Plugins'] ?? null);
		$this->assertSame('false', $h['Update URI'] ?? null, 'no plugin of the directory may take over updates');
		$this->assertSame('kc-googlemeet', $h['Text Domain'] ?? null, 'KiviCare 3.x recognises the add-on by its text domain');
		$this->assertSame('/languages', $h['Domain Path'] ?? null);
		$this->assertFileExists("$dir/languages/kc-googlemeet.pot");

		$readme = self::headers("$dir/readme.txt");
		$this->assertSame($h['Version'], $readme['Stable tag'] ?? null, 'readme.txt Stable tag = plugin Version');
		$this->assertMatchesRegularExpression("/const VERSION = '" . preg_quote($h['Version'], '/') . "';/", file_get_contents("$dir/includes/class-kc-meet-plugin.php"));
		$this->assertSame($h['Requires PHP'], $readme['Requires PHP'] ?? null);
		$this->assertSame($h['Requires at least'], $readme['Requires at least'] ?? null);
	}
	/** Every class file sits where the autoloader's folder map says, and no file name occurs twice. */
	public function test_every_class_file_is_where_the_autoloader_looks(): void {
		$includes = dirname(__DIR__, 3) . '/php/kivicare-google-meet/includes';
		if (!defined('ABSPATH')) {
			define('ABSPATH', '/');
		}
		require_once "$includes/class-kc-meet-autoloader.php";
		$seen = [];
		$files = new RecursiveIteratorIterator(new RecursiveDirectoryIterator($includes, FilesystemIterator::SKIP_DOTS));
		foreach ($files as $file) {
			if ('php' !== $file->getExtension()) {
				continue;
			}
			$relative = substr($file->getPathname(), strlen($includes) + 1);
			$this->assertArrayNotHasKey($file->getFilename(), $seen, "$relative: file name also at " . ($seen[$file->getFilename()] ?? ''));
			$seen[$file->getFilename()] = $relative;
			$code = file_get_contents($file->getPathname());
			$this->assertSame(1, preg_match('/^(?:final |abstract )?(?:class|trait|interface) (\w+)/m', $code, $m), "$relative declares one class");
			$namespace = preg_match('/^namespace ([\w\\\\]+);/m', $code, $n) ? $n[1] . '\\' : '';
			$this->assertSame($relative, KC_Meet_Autoloader::file_for($namespace . $m[1]), "$relative: the autoloader looks for {$namespace}{$m[1]} elsewhere");
		}
		$this->assertSame('kivicare/models/KCGMAppointmentGoogleMeetMapping.php', KC_Meet_Autoloader::file_for('\\kcgmapp\\MODELS\\kcgmappointmentgooglemeetmapping'), 'model names are case-insensitive');
		$this->assertSame('', KC_Meet_Autoloader::file_for('KCGMApp\\models\\Unknown'));
		$this->assertSame('', KC_Meet_Autoloader::file_for('WP_Query'));
		foreach (array_keys(KC_Meet_Autoloader::FOLDERS) as $class) {
			$this->assertFileExists("$includes/" . KC_Meet_Autoloader::file_for($class), "FOLDERS names $class");
		}
	}
	/** The start-up check names every native function the plugin calls, and the built extension has them all. */
	public function test_the_start_up_check_lists_every_native_function_the_plugin_calls(): void {
		$plugin = dirname(__DIR__, 3) . '/php/kivicare-google-meet';
		if (!defined('ABSPATH')) {
			define('ABSPATH', '/');
		}
		require_once "$plugin/includes/class-kc-meet-plugin.php";
		$called = [];
		$files = new RecursiveIteratorIterator(new RecursiveDirectoryIterator("$plugin/includes", FilesystemIterator::SKIP_DOTS));
		foreach ($files as $file) {
			if ('php' === $file->getExtension()) {
				preg_match_all("/(?<![\\w>:\$])(kc_meet_[a-z_]+)\\s*\\(|'(kc_meet_[a-z_]+)'/", file_get_contents($file->getPathname()), $m);
				foreach (array_merge($m[1], $m[2]) as $name) {
					if ('' !== $name && function_exists($name)) {
						$called[$name] = true;
					}
				}
			}
		}
		$called = array_keys($called);
		sort($called);
		$listed = KC_Meet_Plugin::FUNCTIONS;
		sort($listed);
		$this->assertSame($called, $listed, 'KC_Meet_Plugin::FUNCTIONS = the kc_meet_* functions the plugin calls');
		$this->assertSame([], KC_Meet_Plugin::missing_functions());
	}
}
