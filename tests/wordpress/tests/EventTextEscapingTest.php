<?php
namespace KcMeetTest;

/**
 * 16. Names with HTML, quotes and emoji reach Google's event text escaped (the description is HTML
 *     that Google renders), never as markup. The names are written straight into wp_users, as an
 *     import or another plugin could (wp_insert_user() would already sanitize them).
 */
final class EventTextEscapingTest extends WpTestCase {
	use KiviCareFixtures;

	private const NASTY = '<img src=x onerror="alert(1)"> Zoë "Zo" O\'Brien & <b>Co</b> 🩺';
	private const ESCAPED = '&lt;img src=x onerror=&quot;alert(1)&quot;&gt; Zoë &quot;Zo&quot; O&#39;Brien &amp; &lt;b&gt;Co&lt;/b&gt; 🩺';

	private function rename(string $who, string $name): void {
		Db::query($this->db, 'UPDATE wp_users SET display_name = ? WHERE ID = ?', [$name, $this->id($who)]);
	}

	public function test_patient_name_with_html_quotes_and_emoji_is_escaped_in_the_event_description(): void {
		$this->readyToBook();
		// KiviCare's event template (post type kivicare_gmeet_tmp) names the patient.
		$this->wpOk('return wp_insert_post(["post_type" => "kivicare_gmeet_tmp", "post_name" => "kivicare_doctor_gm_event_template",
			"post_status" => "publish", "post_title" => "{{service_name}} – {{patient_name}}",
			"post_content" => "<p>Patient: {{patient_name}}</p><p>Doctor: {{doctor_name}}</p>"], true);');
		$this->rename('patient', self::NASTY);
		$b = $this->kc4Book(self::day(7));
		$this->assertStringStartsWith('https://meet.google.com/', (string) ($b['meeting']['join_url'] ?? ''), json_encode($b));
		$event = $this->liveEvents()[0];

		$this->assertSame('<p>Patient: ' . self::ESCAPED . '</p><p>Doctor: Dr House</p>', $event['description']);
		$this->assertStringNotContainsString('<img', $event['description']);
		$this->assertStringNotContainsString('<b>', $event['description']);
		// The title is plain text: tags dropped, quotes and emoji kept as they are.
		$this->assertStringNotContainsString('<', $event['summary']);
		$this->assertStringContainsString('Zoë "Zo" O\'Brien & Co 🩺', $event['summary']);
		$patient = array_values(array_filter($event['attendees'], static fn($a) => $a['email'] === 'patient@clinic.test'))[0];
		$this->assertStringNotContainsString('<', $patient['displayName']);
		$this->assertStringContainsString('🩺', $patient['displayName']);
	}

	public function test_doctor_name_with_html_is_escaped_in_the_default_description(): void {
		$this->readyToBook();
		$this->rename('doctor', self::NASTY);
		$this->kc4Book(self::day(7));
		$event = $this->liveEvents()[0];
		$this->assertStringContainsString(' with ' . self::ESCAPED . ' on ', $event['description']);
		$this->assertStringNotContainsString('<img', $event['description']);
		$this->assertStringNotContainsString('onerror="', $event['description']);
		$this->assertStringNotContainsString('<', $event['summary']);
	}
}
