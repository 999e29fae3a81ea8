CREATE TABLE `api_samples` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`component_id` integer NOT NULL,
	`observation` text NOT NULL,
	`last_seen_at` integer NOT NULL,
	FOREIGN KEY (`component_id`) REFERENCES `api_components`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_samples_observation` ON `api_samples` (`component_id`,`observation`);--> statement-breakpoint
CREATE INDEX `api_samples_recent` ON `api_samples` (`component_id`,`last_seen_at`);--> statement-breakpoint
-- Hand-edited: a collection made before hosts were recorded is named after its host.
ALTER TABLE `api_collections` ADD `host_name` text NOT NULL DEFAULT '';--> statement-breakpoint
UPDATE `api_collections` SET `host_name` = `name`;--> statement-breakpoint
CREATE UNIQUE INDEX `api_collections_workspace_host` ON `api_collections` (`workspace_id`,`host_name`);--> statement-breakpoint
ALTER TABLE `api_components` ADD `last_seen_at` integer;--> statement-breakpoint
ALTER TABLE `api_components` DROP COLUMN `observed_ips`;--> statement-breakpoint
ALTER TABLE `jobs` ADD `progress` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `lease_id` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `lease_until` integer;--> statement-breakpoint
-- Hand-written: jobs recorded while their computation did not exist never ran; say so.
UPDATE `jobs` SET `status` = 'failed', `error` = 'Recorded before this job type was computed: start it again' WHERE `status` = 'received';
