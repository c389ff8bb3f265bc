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
}
