<?php
namespace KcMeetTest;

/**
 * The configuration handed to kc_meet_configure(): its REST URLs (the OAuth redirect URIs and the
 * push URL) are what WordPress's get_rest_url() answers, with the scheme pinned, for every shape
 * of site — plain, index.php and pretty permalinks, a home URL with a path or a port, http, https
 * and an admin forced to SSL, before WordPress made its WP_Rewrite and after, a REST prefix of
 * the site's own, and sites that filter get_rest_url()'s steps; building it loads no REST class.
 */
final class ConfigurationTest extends WpTestCase {
	public function test_the_rest_urls_are_what_get_rest_url_answers_for_every_shape_of_site(): void {
		$r = $this->wpOk(<<<'PHP'
$routes = [KC_Meet_Config::CALLBACK_ROUTE, KC_Meet_Config::VENDOR_CALLBACK_ROUTE, KC_Meet_Config::NOTIFY_ROUTE];
$ours = static function (): array {
	$served = KC_Meet_Config::redirect_uris();
	$built = KC_Meet_Config::build();
	return [$served['kc-meet'], $served['kivicare'], KC_Meet_Config::notify_url(), $built['redirect_uri'], $built['notify_url']];
};
$core = static function () use ($routes): array {
	global $wp_rewrite;
	$scheme = ('https' === wp_parse_url((string) get_option('home'), PHP_URL_SCHEME) || force_ssl_admin()) ? 'https' : 'http';
	$made = !$wp_rewrite instanceof WP_Rewrite;
	if ($made) {
		$wp_rewrite = new WP_Rewrite();
	}
	$urls = array_map(static fn($route) => set_url_scheme(get_rest_url(null, $route, $scheme), $scheme), $routes);
	if ($made) {
		$wp_rewrite = null;
	}
	return [$urls[0], $urls[1], $urls[2], $urls[0], $urls[2]];
};
$filters = [
	'none'              => static function () {},
	'rest_url'          => static function () { add_filter('rest_url', static fn($url, $path) => add_query_arg('lang', 'fr', $url) . '#' . strlen($path), 10, 2); },
	'home_url'          => static function () { add_filter('home_url', static fn($url) => $url . '/fr'); },
	'set_url_scheme'    => static function () { add_filter('set_url_scheme', static fn($url) => str_replace('clinic.example', 'www.clinic.example', $url)); },
	'rest_url_prefix'   => static function () { add_filter('rest_url_prefix', static fn() => 'api'); },
];
$homes = ['http://clinic.example', 'https://clinic.example', 'http://clinic.example/sub', 'https://clinic.example:8443/sub/', '//clinic.example'];
$structures = ['', '/%postname%/', '/index.php/%postname%/', '/archives/%post_id%'];
$mismatches = [];
$seen = [];
$cases = 0;
foreach ($filters as $filter => $add) {
	foreach ($homes as $home) {
		foreach ($structures as $structure) {
			foreach ([false, true] as $ssl_admin) {
				foreach ([true, false] as $rewrite_made) {
					remove_all_filters('pre_option_home');
					remove_all_filters('pre_option_permalink_structure');
					foreach (['rest_url', 'home_url', 'set_url_scheme', 'rest_url_prefix'] as $hook) {
						remove_all_filters($hook);
					}
					add_filter('pre_option_home', static fn() => $home);
					add_filter('pre_option_permalink_structure', static fn() => $structure);
					$add();
					force_ssl_admin($ssl_admin);
					$GLOBALS['wp_rewrite'] = $rewrite_made ? new WP_Rewrite() : null;
					$mine = $ours();
					$theirs = $core();
					$cases++;
					$name = "$filter | $home | '$structure' | ssl_admin " . (int) $ssl_admin . ' | wp_rewrite ' . (int) $rewrite_made;
					if ($mine !== $theirs) {
						$mismatches[$name] = ['ours' => $mine, 'get_rest_url' => $theirs];
					}
					$seen[$name] = $mine[2];
				}
			}
		}
	}
}
return ['cases' => $cases, 'mismatches' => $mismatches, 'seen' => $seen];
PHP);
		$this->assertSame(5 * 5 * 4 * 2 * 2, $r['cases']);
		$this->assertSame([], $r['mismatches']);
		// What those answers are, for a few shapes (so that the comparison above compares something).
		$seen = $r['seen'];
		$this->assertSame('http://clinic.example/index.php?rest_route=/kc-meet/v1/notify', $seen["none | http://clinic.example | '' | ssl_admin 0 | wp_rewrite 1"]);
		$this->assertSame('https://clinic.example/index.php?rest_route=/kc-meet/v1/notify', $seen["none | http://clinic.example | '' | ssl_admin 1 | wp_rewrite 0"]);
		$this->assertSame('http://clinic.example/sub/wp-json/kc-meet/v1/notify', $seen["none | http://clinic.example/sub | '/%postname%/' | ssl_admin 0 | wp_rewrite 0"]);
		$this->assertSame('https://clinic.example:8443/sub//index.php/wp-json/kc-meet/v1/notify', $seen["none | https://clinic.example:8443/sub/ | '/index.php/%postname%/' | ssl_admin 0 | wp_rewrite 1"]);
		$this->assertSame('http://clinic.example/api/kc-meet/v1/notify', $seen["rest_url_prefix | http://clinic.example | '/archives/%post_id%' | ssl_admin 0 | wp_rewrite 1"]);
		$this->assertSame('http://clinic.example/wp-json/kc-meet/v1/notify?lang=fr#18', $seen["rest_url | http://clinic.example | '/%postname%/' | ssl_admin 0 | wp_rewrite 0"]);
	}

	public function test_the_route_constants_are_the_rest_classes_and_building_loads_neither(): void {
		$r = $this->wpOk(<<<'PHP'
$loaded_before = [class_exists('KC_Meet_Rest', false), class_exists('KC_Meet_KiviCare4_Routes', false)];
$config = KC_Meet_Config::build();
$loaded_after = [class_exists('KC_Meet_Rest', false), class_exists('KC_Meet_KiviCare4_Routes', false)];
return [
	'before' => $loaded_before, 'after' => $loaded_after, 'notify_url' => $config['notify_url'],
	'notify' => [KC_Meet_Config::NOTIFY_ROUTE, KC_Meet_Rest::NAMESPACE_PUBLIC . KC_Meet_Rest::NOTIFY_PATH],
	'vendor' => [KC_Meet_Config::VENDOR_CALLBACK_ROUTE, KC_Meet_KiviCare4_Routes::NAMESPACE_KIVICARE . KC_Meet_KiviCare4_Routes::VENDOR_CALLBACK_PATH],
];
PHP);
		$this->assertSame([false, false], $r['after'], 'building the configuration loaded a REST class');
		$this->assertStringEndsWith('/kc-meet/v1/notify', $r['notify_url']);
		$this->assertSame($r['notify'][1], $r['notify'][0]);
		$this->assertSame($r['vendor'][1], $r['vendor'][0]);
	}
}
