-- A note filed on the wrong family is refiled on the right one (issue #26): a new note there, every revision copied
-- with its author and time, naming the note it came from; the original is withdrawn (reason `refiled`) in the same
-- transaction, so nothing of it stays in the wrong family's views.
ALTER TABLE notes ADD COLUMN refiled_from uuid;
ALTER TABLE notes ADD FOREIGN KEY (organisation_id, refiled_from) REFERENCES notes (organisation_id, id);
