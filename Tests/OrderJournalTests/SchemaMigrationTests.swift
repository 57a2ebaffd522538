import LiveRoom
import TestSupport
import Testing

@testable import OrderJournal

/// The store's schema is versioned (`PRAGMA user_version`) and brought forward at startup.
@Suite("SQLite store schema versions")
struct SchemaMigrationTests {
    /// A store as the version before schema versions wrote it (user_version 0, no moderation
    /// table), with a room and an order: opened by this build, it is migrated, and nothing is lost.
    @Test func aStoreFromThePreviousVersionIsMigratedForward() throws {
        let path = makeTemporaryDirectory() + "/" + SQLiteOrderStore.fileName
        do {
            let old = try SQLiteDatabase(path: path, readOnly: false)
            try old.exec(SQLiteOrderStore.migrations[0])
            try old.exec("INSERT INTO rooms (id, owner, title, live, slowmode, pinned) VALUES ('farm', 'grower', 'Farm', 1, 0, NULL)")
            try old.exec(
                """
                INSERT INTO products (room, sku, position, title, price, stock, sale_state, sale_limit, starts_at, ends_at)
                VALUES ('farm', 'apple', 0, 'Apples', 500, 10, 'live', 2, 0, NULL)
                """)
            try old.exec(
                "INSERT INTO orders (id, room, sku, user, name, qty, price, ref, ts) VALUES ('farm-e-1', 'farm', 'apple', 'v', 'V', 2, 500, 'r1', 5)"
            )
            let version = try old.prepare("PRAGMA user_version")
            #expect(try version.step() && version.int(0) == 0)
        }
        let store = try SQLiteOrderStore(path: path)
        let check = try SQLiteDatabase(path: path, readOnly: true)
        let version = try check.prepare("PRAGMA user_version")
        #expect(try version.step() && version.int(0) == Int64(SQLiteOrderStore.schemaVersion))
        let loaded = try #require(try store.load(room: "farm"))
        #expect(loaded.room.owner == "grower" && loaded.room.products.first?.stock == 10)
        #expect(loaded.orders.map(\.id) == ["farm-e-1"])
        // Orders from before states are accepted, updated when they were taken, final (no window).
        #expect(loaded.orders.first?.state == .accepted && loaded.orders.first?.updatedAt == 5 && loaded.orders.first?.payBy == nil)
        #expect(loaded.room.products.first?.sale.paymentWindow == 0)
        // The new table works: moderation is stored and read back.
        var snapshot = loaded.room
        snapshot.banned = ["troll"]
        try store.commit(orders: [], rooms: [snapshot])
        #expect(try store.load(room: "farm")?.room.banned == ["troll"])
        // Opening again is a no-op (already at this version).
        _ = try SQLiteOrderStore(path: path)
    }

    @Test func aNewerStoreIsRefused() throws {
        let path = makeTemporaryDirectory() + "/" + SQLiteOrderStore.fileName
        do {
            let newer = try SQLiteDatabase(path: path, readOnly: false)
            try newer.exec("PRAGMA user_version = \(SQLiteOrderStore.schemaVersion + 7)")
        }
        #expect(throws: SQLiteOrderStore.NewerStore.self) { _ = try SQLiteOrderStore(path: path) }
    }
}
