import LiveRoom
import RESP
import RedisClient
import TestSupport
import Transport
import XCTest

@testable import Cluster

/// `cluster.wait_replicas`: a durable write counts only once that many replicas have it (WAIT);
/// with the replica gone the outcome is "unknown", never "stored".
final class WaitReplicasTests: XCTestCase {
    func testAWriteIsStoredOnlyWhenTheReplicaHasIt() throws {
        guard RedisServer.binary != nil || RedisServer.required else { throw XCTSkip("redis-server is not installed") }
        let primary = try RedisServer()
        var replica: RedisServer? = try RedisServer(replicaOf: primary.port)
        let check = try primary.client()
        /// Replicas done with their initial sync (state=online): the ones WAIT can count.
        func replicas() -> Int {
            guard let info = (try? check.command(["INFO", "replication"]))?.string else { return -1 }
            return info.split(separator: "\r\n").filter { $0.hasPrefix("slave") && $0.contains("state=online") }.count
        }
        XCTAssertTrue(eventually(within: 10) { replicas() == 1 }, "the replica attached")

        let loop = try EventLoop(index: 0, tickInterval: 50_000_000)
        loop.start()
        defer {
            loop.stop()
            loop.join()
        }
        let client = RedisClient(url: try RedisURL(primary.url), loop: loop, name: "wait")
        let ready = CountdownLatch(1)
        loop.execute {
            client.connection.onReady = { ready.countDown() }
            client.connection.start()
        }
        XCTAssertTrue(ready.wait(seconds: 10))
        let store = RedisRoomStore(client: client, waitReplicas: 1)

        let granted = LockedValue<UInt64?>(nil)
        let acquired = CountdownLatch(1)
        store.acquire(room: "r", node: "a", boot: "b", ttl: 60_000) { reply in
            if case .granted(let token) = reply { granted.withLock { $0 = token } }
            acquired.countDown()
        }
        XCTAssertTrue(acquired.wait(seconds: 5))
        let token = try XCTUnwrap(granted.withLock { $0 })
        func record(_ ref: String) -> RedisRoomStore.WriteResult? {
            let outcome = LockedValue<RedisRoomStore.WriteResult?>(nil)
            let done = CountdownLatch(1)
            let order = Order(id: "r-e-\(ref)", room: "r", sku: "a", user: "u", name: "u", qty: 1, price: 1, ref: ref, ts: 1)
            store.record(order, token: token) { result in
                outcome.withLock { $0 = result }
                done.countDown()
            }
            _ = done.wait(seconds: 10)
            return outcome.withLock { $0 }
        }
        XCTAssertEqual(record("with-replica"), .stored)

        replica = nil  // killed (-9)
        XCTAssertTrue(eventually(within: 10) { replicas() == 0 }, "the primary noticed")
        XCTAssertEqual(record("without-replica"), .unknown, "on the primary, but not known durable: the room must reload")
        _ = replica
    }
}
