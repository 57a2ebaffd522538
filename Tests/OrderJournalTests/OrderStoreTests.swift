import Foundation
import LiveRoom
import OrderJournal
import TestSupport
import Testing
import Transport

func order(_ n: Int, room: String = "r", user: String = "u", ref: String? = nil, qty: Int = 1) -> Order {
    Order(id: "E-\(n)", room: room, sku: "apple", user: user, name: "名字", qty: qty, price: 500, ref: ref ?? "ref\(n)", ts: Int64(n))
}

@Suite("SQLite order store and group commit")
struct OrderStoreTests {
    let snapshot = RoomSnapshot(
        id: "r", owner: "seller", title: "冬笋", live: true, slowMode: 3, pinned: "apple",
        products: [
            Product(
                sku: "apple", title: "Apples", price: 500, stock: 10, sale: FlashSale(state: .live, limit: 2, startsAt: 0, endsAt: 99),
                image: "https://cdn.example/apple.jpg")
        ], stream: StreamSource(url: "https://live.example/r/index.m3u8", kind: .hls, poster: "https://cdn.example/p.jpg"))

    @Test func roomsAndOrdersSurviveReopening() throws {
        let path = makeTemporaryDirectory() + "/hometown.sqlite"
        do {
            let store = try SQLiteOrderStore(path: path)
            try store.commit(orders: [order(1), order(2)], rooms: [snapshot])
        }
        let reopened = try SQLiteOrderStore(path: path)
        let loaded = try reopened.load()
        #expect(loaded.count == 1)
        #expect(loaded[0].room.title == "冬笋" && loaded[0].room.owner == "seller" && loaded[0].room.slowMode == 3)
        #expect(loaded[0].room.products.first?.sale == FlashSale(state: .live, limit: 2, startsAt: 0, endsAt: 99))
        #expect(loaded[0].room.products.first?.image == "https://cdn.example/apple.jpg")
        #expect(
            loaded[0].room.stream == StreamSource(url: "https://live.example/r/index.m3u8", kind: .hls, poster: "https://cdn.example/p.jpg")
        )
        #expect(loaded[0].orders == [order(1), order(2)])
    }

    @Test func moderationIsStoredWithTheRoom() throws {
        let path = makeTemporaryDirectory() + "/hometown.sqlite"
        var moderated = snapshot
        moderated.moderators = ["helper"]
        moderated.banned = ["troll"]
        moderated.muted = ["noisy": 1_800_000_060_000, "quiet": Int64.max]
        try SQLiteOrderStore(path: path).commit(orders: [], rooms: [moderated])
        #expect(try SQLiteOrderStore(path: path).load().first?.room == moderated)
        // A later save replaces the lists (an unban is stored too).
        moderated.banned = []
        try SQLiteOrderStore(path: path).commit(orders: [], rooms: [moderated])
        #expect(try SQLiteOrderStore(path: path).load().first?.room.banned == [])
    }

    @Test func textIsStoredWithEveryByteEvenAfterANul() throws {
        // Two refs that differ only after a NUL byte are two refs, and read back whole.
        let path = makeTemporaryDirectory() + "/hometown.sqlite"
        let store = try SQLiteOrderStore(path: path)
        try store.commit(orders: [order(1, ref: "a\u{0}x"), order(2, ref: "a\u{0}y")], rooms: [snapshot])
        let reopened = try SQLiteOrderStore(path: path)
        #expect(try reopened.orders(room: "r", after: nil, limit: 10).map(\.ref) == ["a\u{0}x", "a\u{0}y"])
        #expect(try reopened.load().first?.orders.map(\.ref) == ["a\u{0}x", "a\u{0}y"])
        // And the unique index still tells the same ref apart from a different one.
        #expect(throws: (any Error).self) { try store.commit(orders: [order(3, ref: "a\u{0}x")], rooms: []) }
    }

    @Test func pagesAfterAnOrderID() throws {
        let store = try SQLiteOrderStore(path: makeTemporaryDirectory() + "/hometown.sqlite")
        try store.commit(orders: (1...25).map { order($0) } + [order(99, room: "other")], rooms: [])
        let first = try store.orders(room: "r", after: nil, limit: 10)
        #expect(first.map(\.id) == (1...10).map { "E-\($0)" })
        let second = try store.orders(room: "r", after: "E-10", limit: 10)
        #expect(second.first?.id == "E-11")
        #expect(try store.orders(room: "r", after: "E-25", limit: 10).isEmpty)
    }

    @Test func aDuplicateRefRollsBackTheWholeTransaction() throws {
        let store = try SQLiteOrderStore(path: makeTemporaryDirectory() + "/hometown.sqlite")
        try store.commit(orders: [order(1, ref: "same")], rooms: [])
        #expect(throws: (any Error).self) { try store.commit(orders: [order(2), order(3, ref: "same")], rooms: []) }
        #expect(try store.orders(room: "r", after: nil, limit: 100).map(\.id) == ["E-1"])
    }

    @Test func aReadOnlyDirectoryIsAnError() throws {
        let directory = makeTemporaryDirectory()
        chmod(directory, 0o500)
        defer { chmod(directory, 0o700) }
        if getuid() == 0 {
            // root ignores directory permissions; a path under a file is unwritable for anyone.
            let file = directory + "/file"
            #expect(FileManager.default.createFile(atPath: file, contents: Data()))
            #expect(throws: (any Error).self) { try SQLiteOrderStore(path: file + "/hometown.sqlite") }
        } else {
            #expect(throws: (any Error).self) { try SQLiteOrderStore(path: directory + "/hometown.sqlite") }
        }
    }

    @Test func groupCommitBatchesConcurrentOrdersAndAnswersEveryOne() throws {
        let store = try SQLiteOrderStore(path: makeTemporaryDirectory() + "/hometown.sqlite")
        let journal = GroupCommitJournal(store: store)
        let commits = LockedValue(0)
        let durable = LockedValue(0)
        journal.onCommit = { _, _ in commits.withLock { $0 += 1 } }
        journal.start()
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for index in 0..<250 {
                journal.submit(order(thread * 1000 + index)) { ok in if ok { durable.withLock { $0 += 1 } } }
            }
        }
        journal.stop()
        #expect(durable.current == 2000)
        #expect(commits.current < 2000, "orders were grouped (\(commits.current) commits)")
        #expect(try store.orders(room: "r", after: nil, limit: 5000).count == 2000)
    }

    @Test func aFailedCommitReportsEveryOrderInItAsNotDurable() throws {
        let faulty = FaultyStore(try SQLiteOrderStore(path: makeTemporaryDirectory() + "/hometown.sqlite"))
        let journal = GroupCommitJournal(store: faulty)
        journal.start()
        let results = LockedValue<[Bool]>([])
        faulty.failing = true
        for index in 0..<5 { journal.submit(order(index)) { ok in results.withLock { $0.append(ok) } } }
        journal.stop()
        #expect(results.current == [false, false, false, false, false])
        #expect(try faulty.orders(room: "r", after: nil, limit: 10).isEmpty)
    }
}

@Suite("Group commit isolates a bad order")
struct GroupCommitIsolationTests {
    @Test func oneBadOrderDoesNotSinkItsBatch() throws {
        let store = try SQLiteOrderStore(path: makeTemporaryDirectory() + "/hometown.sqlite")
        try store.commit(orders: [order(1, ref: "taken")], rooms: [])
        let journal = GroupCommitJournal(store: store)
        let results = LockedValue<[String: Bool]>([:])
        // Queue before starting so all four land in one batch; the third reuses a stored id.
        for candidate in [order(2), order(3), order(1, ref: "again"), order(4)] {
            journal.submit(candidate) { ok in results.withLock { $0[candidate.ref] = ok } }
        }
        journal.start()
        journal.stop()
        #expect(results.current == ["ref2": true, "ref3": true, "again": false, "ref4": true])
        #expect(try store.orders(room: "r", after: nil, limit: 10).map(\.id) == ["E-1", "E-2", "E-3", "E-4"])
    }
}
