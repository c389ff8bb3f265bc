<?php
/**
 * Creates the standard cast of a test with wp_insert_user(): a second administrator, two doctors
 * (role kiviCare_doctor) and a patient (role kiviCare_patient). Returns login/email/password/id per key.
 */
$pw = $args['password'] ?? 'Test-pass-123!';
$cast = [
	'admin'   => ['user_login' => 'clinicadmin', 'user_email' => 'clinicadmin@clinic.test', 'role' => 'administrator', 'display_name' => 'Clinic Admin'],
	'doctor'  => ['user_login' => 'drhouse', 'user_email' => 'doctor@clinic.test', 'role' => 'kiviCare_doctor', 'display_name' => 'Dr House'],
	'doctor2' => ['user_login' => 'drwilson', 'user_email' => 'doctor2@clinic.test', 'role' => 'kiviCare_doctor', 'display_name' => 'Dr Wilson'],
	'patient' => ['user_login' => 'patient1', 'user_email' => 'patient@clinic.test', 'role' => 'kiviCare_patient', 'display_name' => 'Pat Ient'],
];
$out = [];
foreach ($cast as $key => $u) {
	$id = wp_insert_user($u + ['user_pass' => $pw]);
	if (is_wp_error($id)) {
		throw new RuntimeException("wp_insert_user($key): " . $id->get_error_message());
	}
	$out[$key] = ['id' => $id, 'login' => $u['user_login'], 'email' => $u['user_email'], 'password' => $pw, 'role' => $u['role']];
}
return $out;
