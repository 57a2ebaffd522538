import LiveRoom
import OrderJournal
import RESP
import RedisClient
import TestSupport
import XCTest

@testable import Cluster

/// The cluster's order lifecycle in a real redis-server: an order change is fenced, happens once,
/// and writes its webhook event in the same step; the outbox is taken from, parked and replayed.
final class OrderLifecycleScriptsTests: XCTestCase {
    private var redis: RedisServer!
    private var client: BlockingRedisClient!

    override func setUpWithError() throws {
        guard RedisServer.binary != nil || RedisServer.required else { throw XCTSkip("redis-server is not installed") }
        self.redis = try RedisServer()
        self.client = try self.redis.client()
    }

    override func tearDown() {
        self.client = nil
        self.redis = nil
    }

    private func eval(_ script: String, keys: [String], _ arguments: [String]) throws -> RESPValue {
        try self.client.pipeline([["EVAL", script, String(keys.count)] + keys + arguments])[0]
    }

    private let order = Order(
        id: "r-e-1", room: "r", sku: "apple", user: "u", name: "U", qty: 1, price: 500, ref: "x", ts: 10, payBy: 70)

    private func record(_ order: Order, token: String = "1") throws -> RESPValue {
        try self.eval(
            ClusterScripts.recordOrder,
            keys: [
                ClusterKeys.fence("r"), ClusterKeys.orders("r"), ClusterKeys.outbox("r"), ClusterKeys.outboxSeq("r"),
                ClusterKeys.activeRooms,
            ],
            [token, ClusterCodec.encode(order), OutboxEvent.unnumbered(order), "r", "1"])
    }

    private func update(_ order: Order, token: String = "1") throws -> RESPValue {
        try self.eval(
            ClusterScripts.updateOrder,
            keys: [
                ClusterKeys.fence("r"), ClusterKeys.orderStates("r"), ClusterKeys.outbox("r"), ClusterKeys.outboxSeq("r"),
                ClusterKeys.activeRooms,
            ],
            [token, order.id, ClusterCodec.encodeState(order), OutboxEvent.unnumbered(order), "r"])
    }

    private func outbox() throws -> [OutboxEvent] {
        try self.client.command(["LRANGE", ClusterKeys.outbox("r"), "0", "-1"]).array?.compactMap { item in
            guard case .bulkString(let bytes?) = item else { return nil }
            return OutboxEvent.parse(stored: bytes)
        } ?? []
    }

    func testAnOrderChangeIsFencedHappensOnceAndWritesItsEvent() throws {
        try self.client.command(["SET", ClusterKeys.fence("r"), "1"])
        XCTAssertEqual(try self.record(self.order).integer, 1)
        var paid = self.order
        paid.state = .paid
        paid.updatedAt = 20
        XCTAssertEqual(try self.update(paid, token: "0").errorMessage?.hasSuffix("FENCED"), true)
        XCTAssertEqual(try self.update(paid).integer, 1)
        var cancelled = self.order
        cancelled.state = .cancelled
        cancelled.reason = .expired
        XCTAssertEqual(try self.update(cancelled).errorMessage?.hasSuffix("NOT_ACCEPTED"), true, "paid is final")
        let events = try self.outbox()
        XCTAssertEqual(events.map(\.event), ["r-e-1.accepted", "r-e-1.paid"], "no event for the refused change")
        XCTAssertEqual(events.map(\.seq), [1, 2])
        // Every attempt sends the same bytes: the event read again from Redis has the same body.
        XCTAssertEqual(try self.outbox()[1].body, events[1].body)
        XCTAssertTrue(
            String(decoding: events[1].body, as: UTF8.self).hasPrefix(#"{"id":"r-e-1.paid","seq":2,"type":"order.paid","room":"r""#))
        XCTAssertEqual(try self.client.command(["SMEMBERS", ClusterKeys.activeRooms]).array?.map(\.string), ["r"])
        // A new owner reads the order with its state.
        try self.client.command(["SET", ClusterKeys.state("r"), "{}"])
        let loaded = try self.eval(
            ClusterScripts.load,
            keys: [
                ClusterKeys.state("r"), ClusterKeys.orders("r"), ClusterKeys.history("r"), ClusterKeys.epoch("r"), ClusterKeys.fence("r"),
                ClusterKeys.orderStates("r"),
            ], ["E", "1"])
        var orders = try (loaded.array?[1].array ?? []).map { item -> Order in
            guard case .bulkString(let bytes?) = item else { throw RedisError.notSent }
            return try ClusterCodec.decodeOrder(bytes)
        }
        try RedisRoomStore.applyStates(loaded.array![4], to: &orders)
        XCTAssertEqual(orders.map(\.state), [.paid])
        XCTAssertEqual(orders.first?.payBy, 70)
        XCTAssertEqual(orders.first?.updatedAt, 20)
    }

    func testTheOutboxIsTakenFromParkedAndReplayed() throws {
        try self.client.command(["SET", ClusterKeys.fence("r"), "1"])
        for n in 1...3 {
            var next = self.order
            next.id = "r-e-\(n)"
            next.ref = "x\(n)"
            _ = try self.record(next)
        }
        func done(_ seq: Int64, park: Bool) throws -> Int64? {
            try self.eval(
                ClusterScripts.outboxDone, keys: [ClusterKeys.outbox("r"), ClusterKeys.parked("r"), ClusterKeys.parkedRooms],
                [String(seq), park ? "1" : "0", "r"]
            ).integer
        }
        XCTAssertEqual(try done(1, park: false), 1)
        XCTAssertEqual(try done(1, park: false), 0, "taken once; a second delivery changes nothing")
        XCTAssertEqual(try done(2, park: true), 1)
        XCTAssertEqual(try self.outbox().map(\.seq), [3])
        XCTAssertEqual(try self.client.command(["LLEN", ClusterKeys.parked("r")]).integer, 1)
        XCTAssertEqual(try self.client.command(["SMEMBERS", ClusterKeys.parkedRooms]).array?.map(\.string), ["r"])
        let moved = try self.eval(
            ClusterScripts.replay,
            keys: [ClusterKeys.parked("r"), ClusterKeys.outbox("r"), ClusterKeys.parkedRooms, ClusterKeys.activeRooms], ["r", ""])
        XCTAssertEqual(moved.integer, 1)
        XCTAssertEqual(try self.outbox().map(\.seq), [2, 3], "replayed events go first")
        XCTAssertEqual(try self.client.command(["SCARD", ClusterKeys.parkedRooms]).integer, 0)
        // An idle room leaves the active set only once its outbox is empty.
        XCTAssertEqual(try self.eval(ClusterScripts.retire, keys: [ClusterKeys.outbox("r"), ClusterKeys.activeRooms], ["r"]).integer, 0)
        _ = try done(2, park: false)
        _ = try done(3, park: false)
        XCTAssertEqual(try self.eval(ClusterScripts.retire, keys: [ClusterKeys.outbox("r"), ClusterKeys.activeRooms], ["r"]).integer, 1)
    }
}
