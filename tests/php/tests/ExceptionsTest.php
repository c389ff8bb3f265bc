<?php
/** The KcMeet\… exception classes: hierarchy, codes, usable from PHP like any exception. */
final class ExceptionsTest extends PHPUnit\Framework\TestCase {
	public function test_every_class_extends_the_base_which_extends_exception(): void {
		$this->assertSame('Exception', get_parent_class('KcMeet\Exception'));
		foreach (['Configuration', 'Database', 'GoogleApi', 'Authorization', 'InvalidArgument'] as $kind) {
			$this->assertSame('KcMeet\Exception', get_parent_class("KcMeet\\{$kind}Exception"));
		}
	}

	public function test_thrown_exceptions_have_class_code_file_and_line(): void {
		$line = __LINE__ + 2;
		try {
			kc_meet_configure(['table_prefix' => 'wp_', 'surprise' => 1]);
			$this->fail('no exception');
		} catch (KcMeet\Exception $e) {
			$this->assertInstanceOf(KcMeet\ConfigurationException::class, $e);
			$this->assertSame(1001, $e->getCode());
			$this->assertStringContainsString("'surprise'", $e->getMessage());
			$this->assertSame(__FILE__, $e->getFile());
			$this->assertSame($line, $e->getLine());
		}
	}

	public function test_php_code_can_create_and_extend_them(): void {
		$e = new KcMeet\GoogleApiException('made in PHP', 3001);
		$this->assertSame(3001, $e->getCode());
		$sub = new class('x', 1) extends KcMeet\AuthorizationException {};
		$this->assertInstanceOf(KcMeet\Exception::class, $sub);
	}

	public function test_wrong_argument_types_are_php_type_errors(): void {
		$this->expectException(TypeError::class);
		kc_meet_status('not a number');
	}
}
