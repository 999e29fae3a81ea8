-- Hand-edited: existing keys get a random public id before the unique index.
ALTER TABLE `api_tokens` ADD `public_id` text NOT NULL DEFAULT '';--> statement-breakpoint
UPDATE `api_tokens` SET `public_id` = upper(hex(randomblob(5))) WHERE `public_id` = '';--> statement-breakpoint
ALTER TABLE `api_tokens` ADD `updated_at` integer;--> statement-breakpoint
ALTER TABLE `api_tokens` ADD `expires_at` integer;--> statement-breakpoint
CREATE UNIQUE INDEX `api_tokens_public_id` ON `api_tokens` (`public_id`);--> statement-breakpoint
CREATE INDEX `api_tokens_service_account` ON `api_tokens` (`service_account_id`);--> statement-breakpoint
ALTER TABLE `teams` ADD `description` text;--> statement-breakpoint
ALTER TABLE `email_outbox` ADD `html` text;--> statement-breakpoint
ALTER TABLE `mfa_secrets` ADD `last_used_step` integer;--> statement-breakpoint
ALTER TABLE `users` ADD `password_change_required` integer DEFAULT false NOT NULL;--> statement-breakpoint
-- Hand-written: every user's sign-in address is one of their addresses, verified.
INSERT INTO `user_emails` (`user_id`, `email`, `verified_at`, `created_at`, `updated_at`, `created_by`, `updated_by`)
SELECT `id`, `email`, `created_at`, `created_at`, `updated_at`, `public_id`, `public_id` FROM `users`
WHERE NOT EXISTS (SELECT 1 FROM `user_emails` WHERE `user_emails`.`email` = `users`.`email`);