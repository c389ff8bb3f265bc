<?php
namespace KcMeetTest;

/**
 * A site administrator (not a super admin) sees and manages only their own site's doctors: the
 * doctors screen of site 2 lists site 2's doctors, its actions refuse another site's doctor, and the
 * other site's screen is closed to them.
 */
final class SiteAdminTest extends MultisiteTestCase {
	private const DOCTORS = 'wp-admin/admin.php?page=kc-meet-doctors';

	private function page(Http $h, string $url): Html {
		$r = $h->get($url);
		$this->assertSame(200, $r->status, $r->describe());
		return new Html($r->body);
	}

	private function rowIds(Html $page): array {
		$ids = array_map(static fn($r) => (int) $r->getAttribute('data-doctor-id'), $page->all("//tr[contains(@class, 'kc-meet-doctor')]"));
		sort($ids);
		return $ids;
	}

	private function twoSitesWithDoctors(): void {
		$this->configureOAuthOnBothSites();
		$this->connectDoctor('doctor');
		$this->connectOnSite2('site2doctor', 'cuddy@example.com');
		// A doctor of site 1 who is only a subscriber on site 2.
		$this->addToSite('doctor2', 2, 'subscriber');
		$this->assertNotNull($this->metaValue($this->id('doctor'), 'google_meet_access_token'));
		$this->assertNotNull($this->metaValue($this->id('site2doctor'), 'google_meet_access_token'), 'connected through site 2');
	}

	public function test_site_admin_sees_only_their_sites_doctors(): void {
		$this->twoSitesWithDoctors();
		$h = $this->loggedIn('site2admin');
		$page = $this->page($h, '/site2/' . self::DOCTORS);
		$this->assertSame([$this->id('site2doctor')], $this->rowIds($page), 'only site 2\'s doctor; not site 1\'s doctors, not a site 1 doctor who is a subscriber here');
		$this->assertSame('connected', $page->first("//tr[@data-doctor-id='{$this->id('site2doctor')}']")->getAttribute('data-status'));
		// Site 1's screen lists site 1's doctors (to its administrator) and is closed to site 2's.
		$this->assertSame(
			[min($this->id('doctor'), $this->id('doctor2')), max($this->id('doctor'), $this->id('doctor2'))],
			$this->rowIds($this->page($this->loggedIn('admin'), '/' . self::DOCTORS))
		);
		$r = $h->get('/' . self::DOCTORS);
		$this->assertSame(403, $r->status, 'site 2\'s administrator on site 1\'s screen: ' . $r->describe());
		$this->assertStringNotContainsString('drhouse', $r->body);
	}

	public function test_site_admin_actions_refuse_another_sites_doctor_and_change_nothing(): void {
		$this->twoSitesWithDoctors();
		$h = $this->loggedIn('site2admin');
		$this->page($h, '/site2/' . self::DOCTORS);
		$before = count($this->emu()->requests());
		foreach (['doctor', 'doctor2'] as $who) {
			foreach (['kc_meet_doctor_disconnect', 'kc_meet_doctor_check', 'kc_meet_doctor_sync'] as $action) {
				$id = $this->id($who);
				$nonce = $this->nonceFor($h, 'site2admin', $action . '_' . $id);
				$r = $h->post('/site2/wp-admin/admin-post.php', http_build_query(['action' => $action, 'doctor_id' => $id, '_wpnonce' => $nonce]),
					['Content-Type' => 'application/x-www-form-urlencoded', 'Referer' => Env::wpUrl() . '/site2/' . self::DOCTORS]);
				$this->assertContains($r->status, [403, 404], "$action on $who from site 2: " . $r->describe());
			}
			// The profile's connect and disconnect (admin-post of site 2) refuse them too.
			foreach (['kc_meet_connect_start', 'kc_meet_disconnect'] as $action) {
				$id = $this->id($who);
				$nonce = $this->nonceFor($h, 'site2admin', $action . '_' . $id);
				$r = $h->get('/site2/wp-admin/admin-post.php?' . http_build_query(['action' => $action, 'doctor_id' => $id, '_wpnonce' => $nonce]));
				$this->assertSame(403, $r->status, "$action on $who from site 2: " . $r->describe());
			}
		}
		$this->assertSame([], $this->requestsSince($before), 'nothing was asked of Google');
		$this->assertNotNull($this->metaValue($this->id('doctor'), 'google_meet_access_token'), 'site 1\'s doctor is still connected');
		$this->assertSame('connected', $this->wpOk('return kc_meet_status((int) $args["d"])["status"];', ['d' => $this->id('doctor')]));
	}

	public function test_site_admin_cannot_act_on_a_super_admin_who_is_a_doctor_of_their_site(): void {
		$this->configureOAuthOnBothSites();
		$this->connectOnSite2('site2doctor', 'cuddy@example.com');
		// The network's super admin is also a doctor of site 2, connected by themselves.
		$this->addToSite('site_admin', 2, 'kiviCare_doctor');
		$this->connectOnSite2('site_admin', 'super@example.com');
		$super = $this->id('site_admin');
		$this->assertNotNull($this->metaValue($super, 'google_meet_access_token'), 'the super admin is connected');
		$h = $this->loggedIn('site2admin');
		$this->page($h, '/site2/' . self::DOCTORS);
		$before = count($this->emu()->requests());
		foreach (['kc_meet_doctor_disconnect', 'kc_meet_doctor_check', 'kc_meet_doctor_sync'] as $action) {
			$nonce = $this->nonceFor($h, 'site2admin', $action . '_' . $super);
			$r = $h->post('/site2/wp-admin/admin-post.php', http_build_query(['action' => $action, 'doctor_id' => $super, '_wpnonce' => $nonce]),
				['Content-Type' => 'application/x-www-form-urlencoded', 'Referer' => Env::wpUrl() . '/site2/' . self::DOCTORS]);
			$this->assertSame(403, $r->status, "$action on the super admin from site 2: " . $r->describe());
		}
		$this->assertSame([], $this->requestsSince($before), 'nothing was asked of Google');
		$this->assertNotNull($this->metaValue($super, 'google_meet_access_token'), 'the super admin is still connected');
		// The screen offers no action on the super admin's row and links no page the site admin may not open.
		$page = $this->page($h, '/site2/' . self::DOCTORS);
		$this->assertSame([min($super, $this->id('site2doctor')), max($super, $this->id('site2doctor'))], $this->rowIds($page));
		$this->assertNull($page->first("//tr[@data-doctor-id='$super']//button"), 'no action on the super admin\'s row');
		$this->assertNotNull($page->first("//tr[@data-doctor-id='{$this->id('site2doctor')}']//button[contains(@class, 'kc-meet-disconnect')]"), 'their own doctor keeps the actions');
		foreach ($page->all("//tr[contains(@class, 'kc-meet-doctor')]/td[1]//a") as $a) {
			$this->assertStringNotContainsString('user-edit.php', $a->getAttribute('href'), 'a site administrator may not open user-edit.php of a network user');
		}
	}

	public function test_site_admin_disconnects_and_reconnects_their_sites_doctor(): void {
		$this->twoSitesWithDoctors();
		$h = $this->loggedIn('site2admin');
		$page = $this->page($h, '/site2/' . self::DOCTORS);
		$id = $this->id('site2doctor');
		$btn = $page->first("//tr[@data-doctor-id='$id']//button[contains(@class, 'kc-meet-disconnect')]");
		$this->assertNotNull($btn);
		$form = $page->form($btn->parentNode, Env::wpUrl() . '/site2/' . self::DOCTORS);
		$this->assertStringStartsWith(Env::wpUrl() . '/site2/wp-admin/admin-post.php', $form['action']);
		$before = count($this->emu()->requests());
		$r = $h->post($form['action'], Html::encode($form['fields']), ['Content-Type' => 'application/x-www-form-urlencoded', 'Referer' => Env::wpUrl() . '/site2/' . self::DOCTORS]);
		$this->assertSame(302, $r->status, $r->describe());
		$after = $this->page($h, (string) $r->location());
		$this->assertSame('disconnected', $after->first("//div[contains(@class, 'kc-meet-result')]")?->getAttribute('data-result'));
		$this->assertCount(1, $this->requestsToSince($before, '/revoke'));
		$this->assertNull($this->metaValue($id, 'google_meet_access_token'));
		$this->assertNotNull($this->metaValue($this->id('doctor'), 'google_meet_access_token'), 'site 1\'s doctor untouched');

		// The screen's Connect link takes the site admin to Google for their doctor, and back.
		$link = $after->first("//tr[@data-doctor-id='$id']//a[contains(@class, 'kc-meet-connect')]");
		$this->assertNotNull($link, 'a connect link for the disconnected doctor');
		$start = $h->get(html_entity_decode($link->getAttribute('href')));
		$this->assertSame(302, $start->status, 'connect start by the site admin: ' . $start->describe());
		$this->assertStringStartsWith($this->emu()->base() . '/o/oauth2/v2/auth?', (string) $start->location());
		$consent = $this->emu()->authorize((string) $start->location(), 'allow', 'cuddy@example.com');
		$back = $h->get($consent['redirect']);
		$this->assertSame(302, $back->status, $back->describe());
		$this->assertNotNull($this->metaValue($id, 'google_meet_access_token'), 'connected again by the site admin');
		$landing = $h->get((string) $back->location());
		$this->assertSame(200, $landing->status, 'the site admin lands on a page they may open: ' . $landing->describe());
	}
}
