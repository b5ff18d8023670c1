-- Find (issue #28): notes searched by their words, families found by their names, both inside the access policy.
--
-- pg_trgm is one of PostgreSQL's trusted extensions: the tables' owner creates it when it may create in the database
-- (as the database's owner does); otherwise a superuser runs `CREATE EXTENSION pg_trgm` once before migrating.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- A revision's words, kept by the database itself as the revision is written: English stems ("visits" finds "visited")
-- beside the words as written (names, Welsh, Polish: Kith has no stemmer for them). `||` numbers the second half's
-- positions after the first's, so a phrase matches within either. Only a note's latest revision is searched
-- (kith_search_notes), so an amendment is found by its new words and no longer by its old. The text is the note's body
-- and sections in order; kith_search_notes writes its snippets from the same text.
ALTER TABLE note_revisions ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('english'::regconfig, body || ' ' || coalesce(observed, '') || ' ' || coalesce(analysis, '') || ' '
                                      || coalesce(decision, '') || ' ' || coalesce(family_words, '') || ' '
                                      || coalesce(next_steps, ''))
    || to_tsvector('simple'::regconfig, body || ' ' || coalesce(observed, '') || ' ' || coalesce(analysis, '') || ' '
                                        || coalesce(decision, '') || ' ' || coalesce(family_words, '') || ' '
                                        || coalesce(next_steps, ''))) STORED;
CREATE INDEX note_revisions_search ON note_revisions USING gin (search);

-- Families found by a misspelt name: trigram word similarity on the family's name and reference and its people's names.
CREATE INDEX families_display_name_trigrams ON families USING gin (display_name gin_trgm_ops);
CREATE INDEX families_reference_trigrams ON families USING gin (reference gin_trgm_ops);
CREATE INDEX people_name_trigrams ON people USING gin (name gin_trgm_ops);

-- A search is audited by the length of what was asked and how many it found, never by its words (they can be personal
-- data themselves).
ALTER TABLE audit_events ADD COLUMN search_length integer CHECK (search_length BETWEEN 1 AND 500);
ALTER TABLE audit_events ADD COLUMN search_hits integer CHECK (search_hits >= 0);
ALTER TABLE audit_events ADD CONSTRAINT audit_events_search CHECK ((search_length IS NULL) = (search_hits IS NULL));
-- kith_audit takes the search's length and hits as its twelfth and thirteenth arguments: db/functions/kith_audit.sql
-- makes it anew.
DROP FUNCTION IF EXISTS kith_audit(uuid, uuid, uuid[], text, text, uuid[], text, boolean[], uuid[], uuid, uuid);
