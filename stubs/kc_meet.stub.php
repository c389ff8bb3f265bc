<?php
/**
 * Stubs of the kc_meet native extension (Rust, ext-php-rs).
 *
 * Generated from the extension's own description (`./build.sh stubs`) and checked in CI against
 * `php --re kc_meet`. Every function throws a subclass of \KcMeet\Exception on failure; no
 * exception message ever contains a token, a client secret, an authorization code or a PKCE
 * verifier.
 *
 * @generated
 */

namespace KcMeet {
    /** Base class of every exception the extension throws. */
    class Exception extends \Exception {}

    /** Bad or missing configuration (codes 1001 invalid value/unknown key, 1002 not configured, 1003 encryption key). */
    class ConfigurationException extends \KcMeet\Exception {}

    /** MySQL unreachable or a query failed (codes 2001 unreachable, 2002 query failed, 2003 schema missing). */
    class DatabaseException extends \KcMeet\Exception {}

    /** Google answered with an error or could not be reached (codes 3001 API error, 3002 unreachable). */
    class GoogleApiException extends \KcMeet\Exception {}

    /** The doctor's Google authorization is missing or broken (codes 4001 needs reconnect, 4002 bad state, 4003 scope not granted, 4004 code rejected, 4005 not connected). */
    class AuthorizationException extends \KcMeet\Exception {}

    /** An argument was out of range or malformed (code 5001). */
    class InvalidArgumentException extends \KcMeet\Exception {}
}
