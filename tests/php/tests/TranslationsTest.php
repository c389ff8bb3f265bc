<?php
/** Every string people see is translatable with the plugin's text domain, and the .pot is current. */
final class TranslationsTest extends PHPUnit\Framework\TestCase {
	private const GETTEXT = ['__' => 1, '_e' => 1, 'esc_html__' => 1, 'esc_html_e' => 1, 'esc_attr__' => 1, 'esc_attr_e' => 1,
		'_x' => 2, 'esc_html_x' => 2, 'esc_attr_x' => 2, '_n' => 3, '_nx' => 4, '_n_noop' => 2];

	private static function plugin(): string {
		return dirname(__DIR__, 3) . '/php/kivicare-google-meet';
	}

	public function test_every_gettext_call_names_the_text_domain_kc_googlemeet(): void {
		$bad = [];
		$files = new RegexIterator(new RecursiveIteratorIterator(new RecursiveDirectoryIterator(self::plugin())), '/\.php$/');
		foreach ($files as $file) {
			$tokens = array_values(array_filter(token_get_all(file_get_contents((string) $file)), static fn($t) => !is_array($t) || !in_array($t[0], [T_WHITESPACE, T_COMMENT, T_DOC_COMMENT], true)));
			foreach ($tokens as $i => $t) {
				if (!is_array($t) || $t[0] !== T_STRING || !isset(self::GETTEXT[$t[1]]) || ($tokens[$i + 1] ?? null) !== '(') {
					continue;
				}
				$prev = $tokens[$i - 1] ?? null;
				if (is_array($prev) && in_array($prev[0], [T_FUNCTION, T_OBJECT_OPERATOR, T_DOUBLE_COLON], true)) {
					continue;
				}
				// The last argument at depth 1 must be the literal 'kc-googlemeet'.
				[$depth, $last] = [0, null];
				for ($j = $i + 1; $j < count($tokens); $j++) {
					$x = $tokens[$j];
					if ($x === '(' || $x === '[') {
						$depth++;
					} elseif ($x === ')' || $x === ']') {
						if (--$depth === 0) {
							break;
						}
					} elseif ($depth === 1) {
						$last = $x === ',' ? null : ($last ?? $x);
					}
				}
				if (!is_array($last) || $last[0] !== T_CONSTANT_ENCAPSED_STRING || trim($last[1], '\'"') !== 'kc-googlemeet') {
					$bad[] = basename((string) $file) . ':' . $t[2] . ' ' . $t[1] . '()';
				}
			}
		}
		$this->assertSame([], $bad, 'gettext calls without the kc-googlemeet text domain');
	}

	public function test_the_translation_template_is_current(): void {
		$out = tempnam(sys_get_temp_dir(), 'kcpot');
		exec('bash ' . escapeshellarg(dirname(__DIR__, 2) . '/make-pot.sh') . ' ' . escapeshellarg($out) . ' 2>&1', $lines, $code);
		$this->assertSame(0, $code, implode("\n", $lines));
		$fresh = file_get_contents($out);
		unlink($out);
		$this->assertGreaterThan(200, substr_count($fresh, "\nmsgid \""));
		$this->assertSame($fresh, file_get_contents(self::plugin() . '/languages/kc-googlemeet.pot'), 'run ./build.sh pot and commit languages/kc-googlemeet.pot');
	}
}
