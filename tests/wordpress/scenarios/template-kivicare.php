<?php
/**
 * Template setup, part 2 (normal WordPress boot): what KiviCare core's activation leaves behind that the
 * add-on relies on — its tables (kivicare-schema.sql) and its user roles — then pretty permalinks.
 */
global $wpdb;
$sql = file_get_contents(__DIR__ . '/../kivicare-schema.sql');
$sql = preg_replace('/^--.*$/m', '', $sql);
$sql = str_replace('{prefix}', $wpdb->prefix, $sql);
$created = [];
foreach (array_filter(array_map('trim', explode(';', $sql))) as $stmt) {
	if ($wpdb->query($stmt) === false) {
		throw new RuntimeException('schema: ' . $wpdb->last_error);
	}
	if (preg_match('/CREATE TABLE `([^`]+)`/', $stmt, $m)) {
		$created[] = $m[1];
	}
}
// KiviCare core's roles (core registers them on activation; all of them can at least read wp-admin).
foreach ([
	'kiviCare_clinic_admin' => 'Clinic admin',
	'kiviCare_doctor'       => 'Doctor',
	'kiviCare_receptionist' => 'Receptionist',
	'kiviCare_patient'      => 'Patient',
] as $role => $label) {
	add_role($role, $label, ['read' => true]);
}
flush_rewrite_rules(true);
return ['tables' => $created, 'roles' => array_keys(wp_roles()->roles)];
