CREATE TABLE `batch_checks` (
	`ok` integer NOT NULL,
	`reason` text NOT NULL
);
--> statement-breakpoint
ALTER TABLE `invitations` ADD `issuer_kind` text DEFAULT 'user' NOT NULL;--> statement-breakpoint
-- Hand-written (drizzle-kit does not model triggers): a failed check aborts its batch, a passed one stores nothing.
CREATE TRIGGER `batch_checks_assert` BEFORE INSERT ON `batch_checks`
BEGIN
	SELECT RAISE(ABORT, 'edge-iam:' || NEW.reason) WHERE NOT NEW.ok;
	SELECT RAISE(IGNORE);
END;
--> statement-breakpoint
UPDATE `invitations` SET `issuer_kind` = 'root' WHERE `issuer_user_id` IS NULL;
