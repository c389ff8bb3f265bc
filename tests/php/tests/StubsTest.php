<?php
/** stubs/kc_meet.stub.php is what the extension really exports. */
final class StubsTest extends PHPUnit\Framework\TestCase {
	private static function root(): string {
		return dirname(__DIR__, 3);
	}

	public function test_committed_stub_equals_a_fresh_generation(): void {
		$fresh = shell_exec(escapeshellarg(PHP_BINARY) . ' -n -d extension=' . escapeshellarg(ini_get('extension_dir') && getenv('KC_MEET_EXT') ? getenv('KC_MEET_EXT') : self::root() . '/target/release/libkc_meet.so') . ' ' . escapeshellarg(self::root() . '/tests/php/gen-stubs.php'));
		$this->assertSame(file_get_contents(self::root() . '/stubs/kc_meet.stub.php'), $fresh, 'stale stub: run ./build.sh stubs');
	}

	public function test_every_function_php_re_reports_is_in_the_stub_with_its_parameters(): void {
		$re = shell_exec(escapeshellarg(PHP_BINARY) . ' -n -d extension=' . escapeshellarg(getenv('KC_MEET_EXT') ?: self::root() . '/target/release/libkc_meet.so') . ' --re kc_meet');
		$stub = file_get_contents(self::root() . '/stubs/kc_meet.stub.php');
		preg_match_all('/Function \[ <internal:kc_meet> function (\w+) \] \{(.*?)\n    \}/s', $re, $fns, PREG_SET_ORDER);
		$this->assertGreaterThanOrEqual(24, count($fns));
		foreach ($fns as [, $name, $body]) {
			preg_match_all('/Parameter #\d+ \[ <(?:required|optional)> (.+?) \]\n/', $body, $params, PREG_SET_ORDER);
			$sig = implode(', ', array_column($params, 1));
			preg_match('/- Return \[ (\S+) \]/', $body, $ret);
			$this->assertStringContainsString("function $name($sig): $ret[1] {}", $stub, "$name differs from php --re");
		}
		preg_match_all('/Class \[ <internal:kc_meet> class (\S+) extends (\S+)/', $re, $classes, PREG_SET_ORDER);
		$this->assertCount(6, $classes);
		foreach ($classes as [, $class, $parent]) {
			$short = substr($class, strlen('KcMeet\\'));
			$this->assertStringContainsString("class $short extends \\$parent {}", $stub);
		}
	}
}
