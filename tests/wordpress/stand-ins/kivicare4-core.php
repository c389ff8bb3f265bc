<?php
/**
 * TEST STAND-IN — NOT KiviCare.
 *
 * What KiviCare 4.x core's appointment list does around the telemed add-ons (KIVICARE.md; core's
 * KCAppointmentController::getAppointments as published): it builds the page's query with its
 * query builder (`{prefix}kc_appointments` as `a`, limit/offset), fires
 * do_action('kc_appointments_list_query', $query, $params) — add-ons left-join their mapping
 * table and select a column (`leftJoin($table, $first, $operator, $second, $alias)`, a table
 * name without the prefix; `select([...])`) — groups by `a.id`, runs it, and for each row builds
 * the item with 'video_consultation' => apply_filters('kc_is_video_consultation', false, $id),
 * then apply_filters('kc_appointment_list_item', $item, $row).
 */

namespace App\baseClasses {
	if (!class_exists(KCQueryBuilder::class, false)) {
		/** The part of core 4.x's query builder the add-ons use in kc_appointments_list_query. */
		final class KCQueryBuilder {
			private array $selects = ['a.*'];
			private array $joins = [];
			private ?int $limit = null;
			private int $offset = 0;
			private string $group = '';
			private string $where = '';

			public function __construct(string $where = '') {
				$this->where = $where;
			}

			public function leftJoin(string $table, string $first, string $operator, string $second, ?string $alias = null): self {
				global $wpdb;
				$name = class_exists($table) && method_exists($table, 'getTableName') ? $table::getTableName() : $wpdb->prefix . $table;
				$this->joins[] = "LEFT JOIN `{$name}`" . ($alias ? " AS {$alias}" : '') . " ON {$first} {$operator} {$second}";
				return $this;
			}

			public function select(array $columns): self {
				$this->selects = array_merge($this->selects, $columns);
				return $this;
			}

			public function limit(int $limit): self {
				$this->limit = $limit;
				return $this;
			}

			public function offset(int $offset): self {
				$this->offset = $offset;
				return $this;
			}

			public function groupBy(string $column): self {
				$this->group = $column;
				return $this;
			}

			public function toSql(): string {
				global $wpdb;
				$sql = 'SELECT ' . implode(', ', $this->selects) . " FROM `{$wpdb->prefix}kc_appointments` AS a " . implode(' ', $this->joins);
				$sql .= $this->where !== '' ? ' WHERE ' . $this->where : '';
				$sql .= $this->group !== '' ? ' GROUP BY ' . $this->group : '';
				$sql .= ' ORDER BY a.id';
				$sql .= $this->limit !== null ? ' LIMIT ' . $this->limit . ' OFFSET ' . $this->offset : '';
				return $sql;
			}

			/** @return object[] */
			public function get(): array {
				global $wpdb;
				return $wpdb->get_results($this->toSql());
			}
		}
	}
}

namespace KcMeetTestBed {
	/** Stand-in of KiviCare 4.x's appointment list (KCAppointmentController::getAppointments). */
	final class KCAppointmentListStandIn {
		/** @return array{appointments: array[], sql: string} */
		public static function list(array $params = []): array {
			$query = new \App\baseClasses\KCQueryBuilder();
			$query->limit((int) ($params['perPage'] ?? 10))->offset(((int) ($params['page'] ?? 1) - 1) * (int) ($params['perPage'] ?? 10));
			do_action('kc_appointments_list_query', $query, $params);
			$query->groupBy('a.id');
			$rows = $query->get();
			$items = [];
			foreach ($rows as $row) {
				$item = [
					'id'                 => (int) $row->id,
					'status'             => (int) $row->status,
					'video_consultation' => apply_filters('kc_is_video_consultation', false, absint($row->id)),
				];
				$items[] = apply_filters('kc_appointment_list_item', $item, $row);
			}
			return ['appointments' => $items, 'sql' => $query->toSql()];
		}
	}
}
