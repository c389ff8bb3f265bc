<?php
/**
 * Router for `php -S` serving the scratch WordPress (what Apache's mod_rewrite rules in WordPress's
 * .htaccess do): existing files are served as they are (PHP files executed), everything else goes
 * to index.php so pretty permalinks and /wp-json/ work.
 */
$root = rtrim($_SERVER['DOCUMENT_ROOT'], '/');
$path = rawurldecode(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) ?? '/');
if (strpos($path, '..') !== false) {
	http_response_code(400);
	return true;
}
// The demo prints a link that names its database once (a browser cannot send X-KC-Test-DB):
// remember it in the cookie wp-config.php reads, then continue without the parameter.
if (isset($_GET['kc_test_db']) && preg_match('/^kcm_[a-z0-9_]{1,60}$/', (string) $_GET['kc_test_db'])) {
	setcookie('kc_test_db', (string) $_GET['kc_test_db'], ['path' => '/', 'httponly' => true, 'samesite' => 'Lax']);
	header('Location: ' . $path, true, 302);
	return true;
}
$file = $root . $path;
if ($path !== '/' && is_file($file)) {
	return false;
}
if (is_dir($file) && (is_file(rtrim($file, '/') . '/index.php'))) {
	if (substr($path, -1) !== '/') {
		header('Location: ' . $path . '/', true, 301);
		return true;
	}
	return false;
}
$_SERVER['SCRIPT_NAME'] = '/index.php';
$_SERVER['SCRIPT_FILENAME'] = $root . '/index.php';
$_SERVER['PHP_SELF'] = '/index.php';
chdir($root);
require $root . '/index.php';
return true;
