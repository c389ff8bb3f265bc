-- KiviCare core tables (the host plugin we plug into), as described in KIVICARE.md.
-- KiviCare itself cannot be installed here, so the test bed creates the tables core owns.
-- `{prefix}` is replaced with $wpdb->prefix by bin/setup-template.php.
-- Not created here: {prefix}kc_appointment_google_meet_mappings (kc_meet_migrate() creates it).

CREATE TABLE `{prefix}kc_clinics` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `name` varchar(191) NOT NULL,
  `email` varchar(191) NOT NULL DEFAULT '',
  `telephone_no` varchar(191) NULL,
  `specialties` longtext NULL,
  `address` text NULL,
  `city` varchar(191) NULL,
  `state` varchar(191) NULL,
  `country` varchar(191) NULL,
  `postal_code` varchar(191) NULL,
  `status` tinyint(1) UNSIGNED NOT NULL DEFAULT 1,
  `clinic_admin_id` bigint(20) unsigned NULL,
  `clinic_logo` bigint(20) unsigned NULL,
  `profile_image` bigint(20) unsigned NULL,
  `extra` longtext NULL,
  `country_code` varchar(10) NULL,
  `country_calling_code` varchar(10) NULL,
  `created_at` datetime NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

CREATE TABLE `{prefix}kc_appointments` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `appointment_start_date` date NOT NULL,
  `appointment_start_time` time NOT NULL,
  `appointment_end_date` date NULL,
  `appointment_end_time` time NULL,
  `visit_type` varchar(191) NULL,
  `clinic_id` bigint(20) unsigned NOT NULL,
  `doctor_id` bigint(20) unsigned NOT NULL,
  `patient_id` bigint(20) unsigned NOT NULL,
  `description` text NULL,
  `status` tinyint(1) UNSIGNED NOT NULL DEFAULT 0,
  `created_at` datetime NOT NULL,
  `appointment_report` longtext NULL,
  `appointment_start_utc` datetime NULL,
  `appointment_end_utc` datetime NULL,
  `created_at_utc` datetime NULL,
  `appointment_timezone` varchar(64) NOT NULL DEFAULT 'UTC',
  PRIMARY KEY (`id`),
  KEY `doctor_id` (`doctor_id`),
  KEY `patient_id` (`patient_id`),
  KEY `clinic_id` (`clinic_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

CREATE TABLE `{prefix}kc_services` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `type` varchar(191) NULL,
  `name` varchar(191) NOT NULL,
  `price` varchar(50) NULL,
  `status` tinyint(1) UNSIGNED NOT NULL DEFAULT 1,
  `created_at` datetime NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

CREATE TABLE `{prefix}kc_service_doctor_mapping` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `service_id` bigint(20) unsigned NOT NULL,
  `clinic_id` bigint(20) unsigned NOT NULL DEFAULT 0,
  `doctor_id` bigint(20) unsigned NOT NULL,
  `charges` varchar(50) NULL,
  `extra` longtext NULL,
  `telemed_service` varchar(10) NULL DEFAULT 'no',
  `service_name_alias` varchar(191) NULL,
  `multiple` varchar(10) NULL,
  `image` bigint(20) unsigned NULL,
  `status` tinyint(1) UNSIGNED NOT NULL DEFAULT 1,
  `duration` int(11) NULL,
  `created_at` datetime NOT NULL,
  PRIMARY KEY (`id`),
  KEY `service_id` (`service_id`),
  KEY `doctor_id` (`doctor_id`),
  KEY `clinic_id` (`clinic_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

CREATE TABLE `{prefix}kc_appointment_service_mapping` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `appointment_id` bigint(20) unsigned NOT NULL,
  `service_id` bigint(20) unsigned NOT NULL,
  `status` tinyint(1) UNSIGNED NOT NULL DEFAULT 1,
  `created_at` datetime NOT NULL,
  PRIMARY KEY (`id`),
  KEY `appointment_id` (`appointment_id`),
  KEY `service_id` (`service_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;

CREATE TABLE `{prefix}kc_payments_appointment_mappings` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `payment_mode` varchar(191) NULL,
  `payment_id` varchar(191) NULL,
  `payment_status` varchar(191) NULL,
  `appointment_id` bigint(20) unsigned NOT NULL,
  `amount` varchar(50) NULL,
  `currency` varchar(20) NULL,
  `extra` longtext NULL,
  `created_at` datetime NOT NULL,
  `updated_at` datetime NULL,
  PRIMARY KEY (`id`),
  KEY `appointment_id` (`appointment_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
