<?php
namespace KcMeetTest;

/** HTML parsing helpers (DOMDocument + XPath). */
final class Html {
	public \DOMDocument $doc;
	public \DOMXPath $xp;
	public string $source;

	public function __construct(string $html) {
		$this->source = $html;
		$this->doc = new \DOMDocument();
		$prev = libxml_use_internal_errors(true);
		$this->doc->loadHTML('<?xml encoding="utf-8"?>' . $html, LIBXML_NOWARNING | LIBXML_NOERROR);
		libxml_clear_errors();
		libxml_use_internal_errors($prev);
		$this->xp = new \DOMXPath($this->doc);
	}

	public function byId(string $id): ?\DOMElement {
		$n = $this->xp->query('//*[@id=' . self::lit($id) . ']');
		return $n->length ? $n->item(0) : null;
	}

	/** @return \DOMElement[] */
	public function all(string $xpath, ?\DOMNode $ctx = null): array {
		return iterator_to_array($this->xp->query($xpath, $ctx));
	}

	public function first(string $xpath, ?\DOMNode $ctx = null): ?\DOMElement {
		$n = $this->xp->query($xpath, $ctx);
		return $n->length ? $n->item(0) : null;
	}

	public static function text(?\DOMNode $n): string {
		return $n ? trim(preg_replace('/\s+/u', ' ', $n->textContent)) : '';
	}

	/** Visible text of the page body. */
	public function bodyText(): string {
		foreach ($this->all('//script|//style') as $s) {
			$s->parentNode->removeChild($s);
		}
		return self::text($this->first('//body') ?? $this->doc->documentElement);
	}

	public static function lit(string $s): string {
		if (strpos($s, "'") === false) {
			return "'$s'";
		}
		return 'concat(' . implode(", \"'\", ", array_map(static fn($p) => "'$p'", explode("'", $s))) . ')';
	}

	/**
	 * The fields a browser would submit for a form: ['action' =>, 'method' =>, 'fields' => [name => value]],
	 * submit buttons excluded unless named in $submitName.
	 */
	public function form(\DOMElement $form, string $baseUrl, ?string $submitName = null): array {
		$fields = [];
		foreach ($this->all('.//input|.//select|.//textarea|.//button', $form) as $el) {
			$name = $el->getAttribute('name');
			if ($name === '' || $el->hasAttribute('disabled')) {
				continue;
			}
			$tag = strtolower($el->nodeName);
			$type = strtolower($el->getAttribute('type') ?: ($tag === 'button' ? 'submit' : 'text'));
			if (in_array($type, ['submit', 'button', 'image', 'reset'], true)) {
				if ($submitName !== null && $name === $submitName) {
					$fields[$name] = $el->getAttribute('value');
				}
				continue;
			}
			if (in_array($type, ['checkbox', 'radio'], true) && !$el->hasAttribute('checked')) {
				continue;
			}
			if ($tag === 'select') {
				$opt = $this->first('.//option[@selected]', $el) ?? $this->first('.//option', $el);
				$val = $opt ? ($opt->hasAttribute('value') ? $opt->getAttribute('value') : self::text($opt)) : '';
			} elseif ($tag === 'textarea') {
				$val = $el->textContent;
			} else {
				$val = $el->hasAttribute('value') ? $el->getAttribute('value') : (in_array($type, ['checkbox', 'radio'], true) ? 'on' : '');
			}
			if (substr($name, -2) === '[]') {
				$fields[$name][] = $val;
			} else {
				$fields[$name] = $val;
			}
		}
		$action = $form->getAttribute('action');
		return [
			'action' => Http::absolute($baseUrl, $action === '' ? $baseUrl : html_entity_decode($action)),
			'method' => strtoupper($form->getAttribute('method') ?: 'GET'),
			'fields' => $fields,
		];
	}

	/** Encodes form fields like a browser (name[]=a&name[]=b for repeated names). */
	public static function encode(array $fields): string {
		$parts = [];
		foreach ($fields as $k => $v) {
			foreach ((array) $v as $one) {
				$parts[] = rawurlencode($k) . '=' . rawurlencode((string) $one);
			}
		}
		return implode('&', $parts);
	}
}
