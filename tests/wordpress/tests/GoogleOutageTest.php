<?php
namespace KcMeetTest;

/**
 * 13. Google failing while KiviCare books: a transient outage queues the write (the booking goes on,
 *     the link follows from the cron job); a permanent error becomes a failed job that the settings
 *     page lists with a Retry button.
 */
final class GoogleOutageTest extends WpTestCase {
	use KiviCareFixtures;

	private function insertsOk(): array {
		return array_values(array_filter($this->emu()->requests(), static fn($r) => $r['operation'] === 'calendar.events.insert' && $r['status'] === 200));
	}

	/** Lets a queued job's back-off pass (the job is due now) — what a minute of waiting would do. */
	private function timePassesForJobs(): void {
		Db::query($this->db, 'UPDATE wp_kc_meet_jobs SET next_run_at = UTC_TIMESTAMP() - INTERVAL 1 SECOND');
	}

	public function test_booking_while_google_is_down_goes_on_and_the_cron_job_creates_the_event_once_google_is_back(): void {
		$this->readyToBook();
		$this->emu()->fault(['method' => null, 'path' => '/calendar/v3', 'times' => 0, 'action' => 'status', 'status' => 503]);
		// The site gives Google 1.5 s of retries per call instead of the default 8 s (kc_meet_site_config).
		$started = microtime(true);
		$b = $this->kc4Book(self::day(7), ['request_budget_s' => 1.5]);
		$this->assertLessThan(6.0, microtime(true) - $started, 'the booking waited for Google no longer than its budget');
		$id = $b['id'];

		// What core 4.x receives: a meeting array (success: state queued), not a WP_Error.
		$this->assertIsArray($b['meeting']);
		$this->assertArrayNotHasKey('wp_error', $b['meeting'], 'create_meeting returned a WP_Error while Google was down: ' . json_encode($b['meeting']));
		$this->assertSame('', $b['meeting']['join_url']);
		$this->assertSame($id, $b['meeting']['appointment_id']);
		$this->assertNotNull($this->appointmentRow($id), 'the booking was committed');
		$jobs = $this->jobRows($id);
		$this->assertCount(1, $jobs);
		$this->assertSame('queued', $jobs[0]['state']);
		$this->assertSame('ensure', $jobs[0]['action']);
		$this->assertSame([], $this->mappingRows($id));
		$this->assertSame([], $this->googleEvents());

		$this->emu()->call('DELETE', '/__emu/faults');
		$this->timePassesForJobs();
		$this->wpOk('do_action("kc_meet_run_jobs");');
		$events = $this->liveEvents();
		$this->assertCount(1, $events, 'the job created the event');
		$this->assertCount(1, $this->insertsOk(), 'exactly once');
		$rows = $this->mappingRows($id);
		$this->assertCount(1, $rows);
		$this->assertSame($this->meetLink($events[0]), $rows[0]['url']);
		$this->assertStringStartsWith('https://meet.google.com/', $rows[0]['url']);
		$this->assertSame([], Db::query($this->db, "SELECT * FROM wp_kc_meet_jobs WHERE state IN ('queued', 'failed')"), 'no job left to do');

		// Running the cron again changes nothing.
		$this->timePassesForJobs();
		$this->wpOk('do_action("kc_meet_run_jobs");');
		$this->assertCount(1, $this->googleEvents());
		$this->assertCount(1, $this->insertsOk());
	}

	public function test_permanent_google_error_is_listed_in_the_failed_jobs_box_and_retry_requeues_it(): void {
		$this->readyToBook();
		$this->emu()->fault(['method' => 'POST', 'path' => '/calendar/v3/calendars/primary/events', 'times' => 0, 'action' => 'status', 'status' => 400]);
		$b = $this->kc4Book(self::day(7));
		$id = $b['id'];
		$this->assertSame('kc_meet_google_api', $b['meeting']['wp_error'] ?? null, 'core receives a WP_Error: ' . json_encode($b['meeting']));
		$failed = $this->jobRows($id);
		$this->assertCount(1, $failed);
		$this->assertSame('failed', $failed[0]['state']);

		$admin = $this->loggedIn('admin');
		[$page, $html] = $this->settingsPage($admin);
		$box = $html->byId('kc-meet-failed-jobs');
		$this->assertNotNull($box, 'settings page has #kc-meet-failed-jobs');
		$rows = $html->all('.//tr[contains(@class, "kc-meet-failed-job")]', $box);
		$this->assertCount(1, $rows, Html::text($box));
		$this->assertSame((string) $failed[0]['id'], $rows[0]->getAttribute('data-job-id'));
		$this->assertSame((string) $id, $rows[0]->getAttribute('data-appointment-id'));
		$this->assertStringContainsString('400', Html::text($html->first('.//td[contains(@class, "kc-meet-last-error")]', $rows[0])));

		$this->emu()->call('DELETE', '/__emu/faults');
		$form = $html->form($html->first('.//form', $rows[0]), $page->url);
		$this->assertSame(Env::wpUrl() . '/wp-admin/admin-post.php', $form['action']);
		$retry = $admin->request($form['method'], $form['action'], Html::encode($form['fields']));
		$this->assertSame(302, $retry->status, $retry->describe());
		$this->assertSame('queued', self::query((string) $retry->location())['kc_meet_retry'] ?? null, (string) $retry->location());
		$this->assertSame('queued', $this->jobRows($id)[0]['state'] ?? null, 'Retry queued the job again');

		$this->wpOk('do_action("kc_meet_run_jobs");');
		$this->assertCount(1, $this->liveEvents());
		$this->assertStringStartsWith('https://meet.google.com/', (string) ($this->mappingRows($id)[0]['url'] ?? ''));
		[, $after] = $this->settingsPage($admin);
		$this->assertSame([], $after->all('.//tr[contains(@class, "kc-meet-failed-job")]', $after->byId('kc-meet-failed-jobs')));
	}

	public function test_retry_without_a_valid_nonce_is_refused_and_leaves_the_job_failed(): void {
		$this->readyToBook();
		$this->emu()->fault(['method' => 'POST', 'path' => '/calendar/v3/calendars/primary/events', 'times' => 0, 'action' => 'status', 'status' => 400]);
		$id = $this->kc4Book(self::day(7))['id'];
		$job = (int) $this->jobRows($id)[0]['id'];
		$admin = $this->loggedIn('admin');
		$r = $admin->post('/wp-admin/admin-post.php', ['action' => 'kc_meet_retry_job', 'job_id' => $job, '_wpnonce' => $this->nonceFor($admin, 'admin', 'kc_meet_retry_job_' . ($job + 1))]);
		$this->assertSame(403, $r->status, $r->describe());
		$this->assertSame('failed', $this->jobRows($id)[0]['state']);
	}

	public function test_a_failed_job_is_resolved_once_the_event_is_created_after_all(): void {
		// The first events.insert fails permanently (job recorded as failed); core's own follow-up
		// (kc_after_create_appointment in the same booking) then creates the event. The failed-jobs
		// box must not keep offering a Retry for an appointment whose event exists.
		$this->readyToBook();
		$this->emu()->fault(['method' => 'POST', 'path' => '/calendar/v3/calendars/primary/events', 'times' => 1, 'action' => 'status', 'status' => 400]);
		$b = $this->kc4Book(self::day(7));
		$this->assertCount(1, $this->liveEvents(), 'the event exists');
		$this->assertStringStartsWith('https://meet.google.com/', (string) ($this->mappingRows($b['id'])[0]['url'] ?? ''));
		$failed = $this->wpOk('return kc_meet_jobs(["state" => "failed"])["jobs"];');
		$this->assertSame([], $failed, 'a failed job is still listed for an appointment whose event was created: ' . json_encode($failed));
	}
}
