import CSQLite

/// A thin SQLite connection: exec, prepared statements, typed columns. Errors carry SQLite's own
/// message, so "disk full" or "readonly database" reaches the log as such.
final class SQLiteDatabase {
    struct Error: Swift.Error, CustomStringConvertible {
        let code: Int32
        let message: String
        var description: String { "sqlite error \(self.code): \(self.message)" }
    }

    private(set) var handle: OpaquePointer?

    init(path: String, readOnly: Bool = false) throws {
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        let result = sqlite3_open_v2(path, &self.handle, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard result == SQLITE_OK else {
            let error = Error(code: result, message: self.handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open")
            sqlite3_close(self.handle)
            throw error
        }
        sqlite3_busy_timeout(self.handle, 5000)
    }

    deinit { sqlite3_close(self.handle) }

    func error(_ code: Int32) -> Error { Error(code: code, message: String(cString: sqlite3_errmsg(self.handle))) }

    /// Rows changed by the last statement.
    var changes: Int { Int(sqlite3_changes(self.handle)) }

    func exec(_ sql: String) throws {
        let result = sqlite3_exec(self.handle, sql, nil, nil, nil)
        guard result == SQLITE_OK else { throw self.error(result) }
    }

    func prepare(_ sql: String) throws -> Statement {
        var statement: OpaquePointer?
        let result = sqlite3_prepare_v2(self.handle, sql, -1, &statement, nil)
        guard result == SQLITE_OK, let statement else { throw self.error(result) }
        return Statement(statement, database: self)
    }

    final class Statement {
        let pointer: OpaquePointer
        unowned let database: SQLiteDatabase

        init(_ pointer: OpaquePointer, database: SQLiteDatabase) {
            self.pointer = pointer
            self.database = database
        }

        deinit { sqlite3_finalize(self.pointer) }

        func reset() {
            sqlite3_reset(self.pointer)
            sqlite3_clear_bindings(self.pointer)
        }

        /// Binds text with its byte length: a length of -1 would make SQLite stop at the first NUL
        /// byte, so two values differing only after one would be stored (and compared) as equal.
        func bind(_ index: Int32, _ value: String?) {
            if var value {
                value.withUTF8 { utf8 in
                    _ = sqlite3_bind_text(
                        self.pointer, index,
                        UnsafeRawPointer(utf8.baseAddress ?? UnsafePointer(bitPattern: 1)!)
                            .assumingMemoryBound(to: CChar.self), Int32(utf8.count), hometown_sqlite_transient())
                }
            } else {
                sqlite3_bind_null(self.pointer, index)
            }
        }

        func bind(_ index: Int32, _ value: Int64?) {
            if let value { sqlite3_bind_int64(self.pointer, index, value) } else { sqlite3_bind_null(self.pointer, index) }
        }

        /// Steps once; true while a row is available.
        func step() throws -> Bool {
            let result = sqlite3_step(self.pointer)
            if result == SQLITE_ROW { return true }
            if result == SQLITE_DONE { return false }
            throw self.database.error(result)
        }

        func run() throws {
            while try self.step() {}
            self.reset()
        }

        /// The column's text, all of its bytes (NULs included).
        func string(_ column: Int32) -> String? {
            guard let text = sqlite3_column_text(self.pointer, column) else { return nil }
            let length = Int(sqlite3_column_bytes(self.pointer, column))
            return String(decoding: UnsafeRawBufferPointer(start: text, count: length), as: UTF8.self)
        }

        func int(_ column: Int32) -> Int64? {
            sqlite3_column_type(self.pointer, column) == SQLITE_NULL ? nil : sqlite3_column_int64(self.pointer, column)
        }
    }
}
