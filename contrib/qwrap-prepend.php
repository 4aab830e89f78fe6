<?php
/*
 * qwrap-prepend.php: tell qwrap-sendmail which script a request runs.
 *
 * PHP runs this file before every script (auto_prepend_file).  It puts the
 * real path of the entry script into the environment variable
 * QWRAP_SCRIPT_FILENAME.  When the script later calls mail(), the sendmail
 * program inherits the variable, and qwrap-sendmail records it with
 * script_from "prepend".  This matters most under PHP-FPM and mod_php:
 * there the web server's SCRIPT_FILENAME never reaches the environment, and
 * the script's file descriptor is inherited only when opcache had to
 * compile the script.
 *
 * Enable it for every site, with php_admin_value, not php_value:
 *
 *   PHP-FPM, in each pool (/etc/php/8.2/fpm/pool.d/SITE.conf):
 *     php_admin_value[auto_prepend_file] = /usr/local/share/qwrap/qwrap-prepend.php
 *
 *   Apache with mod_php, in each <VirtualHost>:
 *     php_admin_value auto_prepend_file /usr/local/share/qwrap/qwrap-prepend.php
 *
 *   php-cgi or php-cli: in the php.ini those use, or with
 *     php -d auto_prepend_file=/usr/local/share/qwrap/qwrap-prepend.php
 *
 * auto_prepend_file can be changed per directory.  Set with php_value, it
 * can be switched off or replaced by a site's .user.ini or .htaccess.  A
 * value set with php_admin_value cannot be changed by the site.  Note that
 * it also replaces a prepend file the site set for itself (some firewall
 * plugins use one).
 *
 * Copy this file to a directory that every site may read but none may
 * write, owned by root, mode 0644, and inside each site's open_basedir if
 * open_basedir is used.
 *
 * The value is a claim, not a fact: the site's own code runs after this
 * file and can call putenv() too.  qwrap records it as such.
 *
 * This file prints nothing, defines no names, and raises no errors or
 * warnings, also when putenv() or realpath() are disabled.  It uses only
 * syntax that PHP 5.3 and later understand.
 */

call_user_func(function () {
	$name = 'QWRAP_SCRIPT_FILENAME';

	if (!function_exists('putenv'))
		return;

	try {
		$candidates = array();
		if (isset($_SERVER['SCRIPT_FILENAME']))
			$candidates[] = $_SERVER['SCRIPT_FILENAME'];
		if (PHP_SAPI === 'cli') {
			/* Under the CLI the first included file is the entry script. */
			if (function_exists('get_included_files')) {
				$files = get_included_files();
				if (isset($files[0]))
					$candidates[] = $files[0];
			}
			if (isset($_SERVER['SCRIPT_NAME']))
				$candidates[] = $_SERVER['SCRIPT_NAME'];
		}

		$script = '';
		foreach ($candidates as $c) {
			if (!is_string($c) || $c === '' || strpos($c, "\0") !== false ||
			    strpos($c, "\n") !== false)
				continue;
			$real = function_exists('realpath') ? @realpath($c) : false;
			if (is_string($real) && $real !== '')
				$c = $real;
			/* This file itself is not the script (php -r, php -a). */
			if ($c[0] !== '/' || $c === __FILE__)
				continue;
			$script = $c;
			break;
		}

		/* An inherited value names some other process's script: drop it. */
		if ($script === '')
			@putenv($name);
		else
			@putenv($name . '=' . $script);
	} catch (Throwable $e) {
	} catch (Exception $e) {
	}
});
