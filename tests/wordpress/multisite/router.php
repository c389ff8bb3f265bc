<?php
/**
 * Router for `php -S` serving the multisite copy of the scratch WordPress: what the .htaccess
 * rules of a subdirectory network do (WordPress's network set-up screen shows them):
 *
 *   RewriteRule ^([_0-9a-zA-Z-]+/)?(wp-(content|admin|includes).*) $2 [L]
 *   RewriteRule ^([_0-9a-zA-Z-]+/)?(.*\.php)$ $2 [L]
 *
 * i.e. /site2/wp-admin/users.php runs /wp-admin/users.php (WordPress finds site 2 from
 * REQUEST_URI, which keeps the site's path). Everything else goes to the single-site router.
 */
$root = rtrim($_SERVER['DOCUMENT_ROOT'], '/');
$path = rawurldecode(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) ?? '/');
if (strpos($path, '..') !== false) {
	http_response_code(400);
	return true;
}
if (preg_match('#^/[_0-9a-zA-Z-]+(/(wp-(content|admin|includes).*|[^/]+\.php))$#', $path, $m) && !is_file($root . $path)) {
	$target = $m[1];
	$file = $root . $target;
	if (substr($target, -1) === '/' && is_file($file . 'index.php')) {
		$target .= 'index.php';
		$file .= 'index.php';
	} elseif (is_dir($file) && is_file($file . '/index.php')) {
		header('Location: ' . $path . '/', true, 301);
		return true;
	}
	if (is_file($file)) {
		if (substr($file, -4) === '.php') {
			$_SERVER['SCRIPT_NAME'] = $target;
			$_SERVER['SCRIPT_FILENAME'] = $file;
			$_SERVER['PHP_SELF'] = $target;
			chdir(dirname($file));
			require $file;
			return true;
		}
		$types = ['css' => 'text/css', 'js' => 'application/javascript', 'png' => 'image/png', 'svg' => 'image/svg+xml', 'gif' => 'image/gif', 'woff2' => 'font/woff2'];
		header('Content-Type: ' . ($types[strtolower(pathinfo($file, PATHINFO_EXTENSION))] ?? 'application/octet-stream'));
		readfile($file);
		return true;
	}
}
return require __DIR__ . '/../site/router.php';
