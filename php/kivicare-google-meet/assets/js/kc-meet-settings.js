/**
 * kc-meet settings screen: the Copy buttons next to the addresses to register in Google Cloud.
 *
 * The buttons are rendered hidden and shown here, so without JavaScript the page only offers the
 * read-only fields (selectable, copied by hand). A button copies `data-copy-text`, else the value
 * of the field named by `data-copy-target`; its status says "Copied." or, where the browser
 * refuses clipboard access, that the text is selected for Ctrl+C. The copied text is kept in the
 * button's `data-copied` attribute.
 */
( function () {
	'use strict';

	var strings = window.kcMeetSettings || { copied: 'Copied.', manual: 'Selected: press Ctrl+C to copy.' };

	function status( button, text ) {
		var next = button.nextElementSibling;
		if ( next && next.classList.contains( 'kc-meet-copy-status' ) ) {
			next.textContent = ' ' + text;
		}
	}

	function selectField( field ) {
		if ( field && typeof field.select === 'function' ) {
			field.focus();
			field.select();
			return true;
		}
		return false;
	}

	function fallback( button, field, text ) {
		var scratch = null;
		if ( ! field || field.value !== text ) {
			scratch = document.createElement( 'textarea' );
			scratch.value = text;
			scratch.setAttribute( 'readonly', '' );
			scratch.style.position = 'fixed';
			scratch.style.opacity = '0';
			document.body.appendChild( scratch );
		}
		var target = scratch || field;
		selectField( target );
		var done = false;
		try {
			done = document.execCommand( 'copy' );
		} catch ( e ) {
			done = false;
		}
		if ( scratch ) {
			document.body.removeChild( scratch );
			selectField( field );
		}
		status( button, done ? strings.copied : strings.manual );
	}

	function copy( button ) {
		var field = document.getElementById( button.getAttribute( 'data-copy-target' ) || '' );
		var text = button.hasAttribute( 'data-copy-text' ) ? button.getAttribute( 'data-copy-text' ) : ( field ? field.value : '' );
		if ( ! text ) {
			return;
		}
		button.setAttribute( 'data-copied', text );
		if ( navigator.clipboard && window.isSecureContext ) {
			navigator.clipboard.writeText( text ).then(
				function () {
					status( button, strings.copied );
				},
				function () {
					fallback( button, field, text );
				}
			);
		} else {
			fallback( button, field, text );
		}
	}

	function init() {
		var buttons = document.querySelectorAll( '#kc-meet-settings-form .kc-meet-copy' );
		Array.prototype.forEach.call( buttons, function ( button ) {
			button.hidden = false;
			button.addEventListener( 'click', function ( event ) {
				event.preventDefault();
				copy( button );
			} );
		} );
	}

	if ( document.readyState === 'loading' ) {
		document.addEventListener( 'DOMContentLoaded', init );
	} else {
		init();
	}
}() );
