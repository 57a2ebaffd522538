import LiveRoom
import RESP
import RedisClient
import TestSupport
import XCTest

@testable import Cluster

/// The Lua scripts themselves, in a real redis-server: leases, fencing, the fenced writes, and
/// the load a new owner does.
final class ClusterScriptsTests: XCTestCase {
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

    private func acquire(_ node: String, boot: String = "b") throws -> RESPValue {
        try self.eval(ClusterScripts.acquire, keys: [ClusterKeys.lease("r"), ClusterKeys.fence("r")], [node, boot, "60000"])
    }

    private func record(_ token: Int64, _ value: String) throws -> RESPValue {
        try self.eval(ClusterScripts.recordOrder, keys: [ClusterKeys.fence("r"), ClusterKeys.orders("r")], [String(token), value])
    }

    func testLeaseTokensAndFencing() throws {
        XCTAssertEqual(try self.acquire("a").array?.map(\.string), ["1", "1"])
        XCTAssertEqual(try self.acquire("b").array?.last?.string, "a|b|1", "held by a")
        XCTAssertEqual(try self.record(1, "o1").integer, 1)
        // The lease runs out (expired at once here), and b takes the room with a greater token.
        try self.client.command(["PEXPIRE", ClusterKeys.lease("r"), "0"])
        XCTAssertEqual(try self.acquire("b").array?.map(\.string), ["1", "2"])
        // a, deposed, can neither write nor renew nor announce.
        XCTAssertEqual(try self.record(1, "late").errorMessage?.hasSuffix("FENCED"), true)
        XCTAssertEqual(
            try self.eval(ClusterScripts.renew, keys: [ClusterKeys.lease("r"), ClusterKeys.fence("r")], ["a|b|1", "60000", "1"]).integer, 0)
        XCTAssertEqual(
            try self.eval(ClusterScripts.publish, keys: [ClusterKeys.fence("r")], ["1", "ch", "hello"]).errorMessage?.hasSuffix("FENCED"),
            true)
        XCTAssertEqual(try self.record(2, "o2").integer, 2)
        XCTAssertEqual(try self.client.command(["LRANGE", ClusterKeys.orders("r"), "0", "-1"]).array?.map(\.string), ["o1", "o2"])
        // b renews; a later life of b (new boot) may take its own room back at once, with a new token.
        XCTAssertEqual(
            try self.eval(ClusterScripts.renew, keys: [ClusterKeys.lease("r"), ClusterKeys.fence("r")], ["b|b|2", "60000", "2"]).integer, 1)
        XCTAssertEqual(try self.acquire("b", boot: "c").array?.map(\.string), ["1", "3"])
        // The same life asking again gets no second grant (it would fence the owner it just made).
        XCTAssertEqual(try self.acquire("b", boot: "c").array?.map(\.string), ["0", "b|c|3"])
        XCTAssertEqual(try self.record(2, "stale life").errorMessage?.hasSuffix("FENCED"), true)
    }

    func testANewOwnerLoadsStateOrdersAndHistoryAndKeepsTheEpoch() throws {
        _ = try self.acquire("a")
        let snapshot = RoomSnapshot(id: "r", owner: "o", title: "T", live: true, slowMode: 0, pinned: nil, products: [])
        XCTAssertEqual(
            try self.eval(
                ClusterScripts.saveRoom, keys: [ClusterKeys.fence("r"), ClusterKeys.state("r"), ClusterKeys.rooms],
                ["1", ClusterCodec.encode(snapshot), "r"]
            ).integer, 1)
        for seq in 1...5 {
            let comment = Comment(seq: UInt64(seq), user: "u", name: "u", text: "c\(seq)", ts: 0)
            _ = try self.eval(
                ClusterScripts.comment, keys: [ClusterKeys.fence("r"), ClusterKeys.history("r")],
                ["1", ClusterKeys.events("r"), "payload", ClusterCodec.encode(comment), "3"])
        }
        let first = try self.eval(
            ClusterScripts.load,
            keys: [
                ClusterKeys.state("r"), ClusterKeys.orders("r"), ClusterKeys.history("r"), ClusterKeys.epoch("r"), ClusterKeys.fence("r"),
            ],
            ["epoch-1", "1"])
        let parts = try XCTUnwrap(first.array)
        XCTAssertEqual(parts[3].string, "epoch-1")
        XCTAssertEqual(parts[2].array?.count, 3, "history is capped")
        try self.client.command(["PEXPIRE", ClusterKeys.lease("r"), "0"])
        _ = try self.acquire("b")
        let second = try self.eval(
            ClusterScripts.load,
            keys: [
                ClusterKeys.state("r"), ClusterKeys.orders("r"), ClusterKeys.history("r"), ClusterKeys.epoch("r"), ClusterKeys.fence("r"),
            ],
            ["epoch-2", "2"])
        XCTAssertEqual(second.array?[3].string, "epoch-1", "the epoch survives a change of owner")
        XCTAssertEqual(try ClusterCodec.decodeSnapshot(Array(second.array![0].string!.utf8)), snapshot)
        XCTAssertEqual(
            try self.eval(
                ClusterScripts.load,
                keys: [
                    ClusterKeys.state("r"), ClusterKeys.orders("r"), ClusterKeys.history("r"), ClusterKeys.epoch("r"),
                    ClusterKeys.fence("r"),
                ],
                ["epoch-3", "1"]
            ).errorMessage?.hasSuffix("FENCED"), true, "a stale grant reads nothing")
    }

    func testScriptShasMatchRedis() throws {
        for script in ClusterScripts.all {
            XCTAssertEqual(try self.client.command(["SCRIPT", "LOAD", script]).string, ClusterScripts.sha1(script))
        }
    }
}
