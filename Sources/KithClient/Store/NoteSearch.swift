import Foundation
import GRDB
import KithCore

/// The notes this device holds, searched offline with SQLite's FTS5 in the words `SearchQuery` reads, as the server
/// searches them: every word, phrase and prefix must be there, stemmed as English (the `porter` tokenizer) or as
/// written (`unicode61`: names, Welsh, Polish), and what is left out must not be. The index is kept by triggers on the
/// notes as they are pulled and written here, never by a step that could be forgotten.
extension LocalStore {
    static let noteSearchSchema = """
        -- A stable number for each note, the row both indexes know it by.
        CREATE TABLE note_search_ids (rowid INTEGER PRIMARY KEY, note_id TEXT NOT NULL UNIQUE);
        -- A note's current text, as the server searches it: body and sections; a withdrawn note has none.
        CREATE VIEW note_texts AS
            SELECT i.rowid AS search_id, r.id AS note_id,
                   coalesce(json_extract(r.data, '$.current.body'), '') || ' ' ||
                   coalesce(json_extract(r.data, '$.current.sections.observed'), '') || ' ' ||
                   coalesce(json_extract(r.data, '$.current.sections.analysis'), '') || ' ' ||
                   coalesce(json_extract(r.data, '$.current.sections.decision'), '') || ' ' ||
                   coalesce(json_extract(r.data, '$.current.sections.familyWords'), '') || ' ' ||
                   coalesce(json_extract(r.data, '$.current.sections.nextSteps'), '') AS text
            FROM records r JOIN note_search_ids i ON i.note_id = r.id
            WHERE r.entity = 'note' AND json_extract(r.data, '$.withdrawn') IS NULL;
        CREATE VIRTUAL TABLE note_stems USING fts5(text, tokenize = 'porter unicode61');
        CREATE VIRTUAL TABLE note_words USING fts5(text, tokenize = 'unicode61');
        -- INSERT OR REPLACE replaces a record without its DELETE trigger: each write indexes the note anew.
        CREATE TRIGGER note_search_insert AFTER INSERT ON records WHEN new.entity = 'note' BEGIN
            INSERT OR IGNORE INTO note_search_ids (note_id) VALUES (new.id);
            DELETE FROM note_stems WHERE rowid = (SELECT rowid FROM note_search_ids WHERE note_id = new.id);
            DELETE FROM note_words WHERE rowid = (SELECT rowid FROM note_search_ids WHERE note_id = new.id);
            INSERT INTO note_stems (rowid, text) SELECT search_id, text FROM note_texts WHERE note_id = new.id;
            INSERT INTO note_words (rowid, text) SELECT search_id, text FROM note_texts WHERE note_id = new.id;
        END;
        CREATE TRIGGER note_search_update AFTER UPDATE OF data ON records WHEN new.entity = 'note' BEGIN
            DELETE FROM note_stems WHERE rowid = (SELECT rowid FROM note_search_ids WHERE note_id = new.id);
            DELETE FROM note_words WHERE rowid = (SELECT rowid FROM note_search_ids WHERE note_id = new.id);
            INSERT INTO note_stems (rowid, text) SELECT search_id, text FROM note_texts WHERE note_id = new.id;
            INSERT INTO note_words (rowid, text) SELECT search_id, text FROM note_texts WHERE note_id = new.id;
        END;
        CREATE TRIGGER note_search_delete AFTER DELETE ON records WHEN old.entity = 'note' BEGIN
            DELETE FROM note_stems WHERE rowid = (SELECT rowid FROM note_search_ids WHERE note_id = old.id);
            DELETE FROM note_words WHERE rowid = (SELECT rowid FROM note_search_ids WHERE note_id = old.id);
            DELETE FROM note_search_ids WHERE note_id = old.id;
        END;
        INSERT INTO note_search_ids (note_id) SELECT id FROM records WHERE entity = 'note';
        INSERT INTO note_stems (rowid, text) SELECT search_id, text FROM note_texts;
        INSERT INTO note_words (rowid, text) SELECT search_id, text FROM note_texts;
        """

    /// A note found here, with its current text.
    package struct FoundNote: Sendable {
        package let noteId: String
        package let familyId: String
        package let data: String
        package let text: String
    }

    /// The notes held here that match `asked`, of one family or all, newest first, at most `limit`.
    package func searchNotes(_ asked: SearchQuery, family: String?, limit: Int) throws -> [FoundNote] {
        var conditions: [String] = []
        var arguments: [DatabaseValueConvertible?] = []
        // Each term in either index: its English stem or the word as written.
        func term(_ words: [String], prefix: Bool = false) {
            let match = "\"" + words.joined(separator: " ").replacingOccurrences(of: "\"", with: "\"\"") + "\"" + (prefix ? "*" : "")
            conditions.append(
                "(t.search_id IN (SELECT rowid FROM note_stems WHERE note_stems MATCH ?) OR t.search_id IN (SELECT rowid FROM note_words WHERE note_words MATCH ?))")
            arguments += [match, match]
        }
        for words in asked.required(prefix: false) { term(words) }
        if let prefix = asked.prefix { term([prefix], prefix: true) }
        let required = conditions.count
        for words in asked.excluded { term(words) }
        for index in required..<conditions.count { conditions[index] = "NOT " + conditions[index] }
        if let family {
            conditions.append("r.family_id = ?")
            arguments.append(family)
        }
        arguments.append(limit)
        return try db.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT t.note_id, r.family_id, r.data, t.text FROM note_texts t JOIN records r ON r.entity = 'note' AND r.id = t.note_id
                    WHERE \(conditions.joined(separator: " AND "))
                    ORDER BY json_extract(r.data, '$.createdAt') DESC LIMIT ?
                    """,
                arguments: StatementArguments(arguments)
            ).map { FoundNote(noteId: $0["note_id"], familyId: $0["family_id"], data: $0["data"], text: $0["text"]) }
        }
    }
}
