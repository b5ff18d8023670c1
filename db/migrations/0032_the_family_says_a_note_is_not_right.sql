-- The family can say a note written for them is not right (issue #26): their words, a family message attached to the
-- note, append-only like every message; the note itself is never changed by it.
ALTER TABLE family_messages ADD COLUMN about_note_id uuid;
ALTER TABLE family_messages ADD FOREIGN KEY (organisation_id, about_note_id) REFERENCES notes (organisation_id, id);
