import XCTest

@testable import Cluster

/// The lease and fencing rules with a fake clock and a fake Redis (no sockets): the same rules as
/// the Lua scripts (ClusterScriptsTests runs those against a real redis-server).
final class LeaseTests: XCTestCase {
    /// An in-memory Redis for leases: keys with expiry on a fake clock, a fence per room, and the
    /// fenced write the order and state scripts do.
    final class FakeLeaseRedis: @unchecked Sendable, LeaseStore {
        var now: Int64 = 0
        var leases: [String: (holder: String, expiresAt: Int64)] = [:]
        var fences: [String: UInt64] = [:]
        var writes: [String: [String]] = [:]

        func current(_ room: String) -> String? {
            guard let lease = self.leases[room], lease.expiresAt > self.now else { return nil }
            return lease.holder
        }

        func acquire(room: String, node: String, boot: String, ttl: Int64, _ done: @escaping @Sendable (LeaseReply) -> Void) {
            done(self.acquire(room: room, node: node, boot: boot, ttl: ttl))
        }

        /// The same, answered directly (the fake is synchronous).
        func acquire(room: String, node: String, boot: String, ttl: Int64) -> LeaseReply {
            if let holder = self.current(room), leaseHolderNode(holder)?.node != node { return .held(by: holder) }
            let token = (self.fences[room] ?? 0) + 1
            self.fences[room] = token
            self.leases[room] = (leaseHolder(node: node, boot: boot, token: token), self.now + ttl)
            return .granted(token: token)
        }

        func renew(room: String, node: String, boot: String, token: UInt64, ttl: Int64, _ done: @escaping @Sendable (Bool?) -> Void) {
            done(self.renew(room: room, node: node, boot: boot, token: token, ttl: ttl))
        }

        func renew(room: String, node: String, boot: String, token: UInt64, ttl: Int64) -> Bool {
            let holder = leaseHolder(node: node, boot: boot, token: token)
            guard self.fences[room] == token, self.current(room) == nil || self.current(room) == holder else { return false }
            self.leases[room] = (holder, self.now + ttl)
            return true
        }

        func release(room: String, node: String, boot: String, token: UInt64) {
            if self.current(room) == leaseHolder(node: node, boot: boot, token: token) { self.leases[room] = nil }
        }

        /// The fenced write every durable script starts with.
        func write(room: String, token: UInt64, _ value: String) -> Bool {
            guard self.fences[room] == token else { return false }
            self.writes[room, default: []].append(value)
            return true
        }
    }

    /// A node's view: its lease, from the answers the fake gave.
    final class Node {
        let name: String
        let redis: FakeLeaseRedis
        var lease: Lease?
        var heldBy: String?
        init(_ name: String, _ redis: FakeLeaseRedis) {
            self.name = name
            self.redis = redis
        }

        func acquire(ttl: Int64 = 5000, margin: Int64 = 500) {
            let requestedAt = self.redis.now
            switch self.redis.acquire(room: "r", node: self.name, boot: "b", ttl: ttl) {
            case .granted(let token): self.lease = Lease(token: token, requestedAt: requestedAt, duration: ttl, margin: margin)
            case .held(let holder): self.heldBy = holder
            case .failed: break
            }
        }

        /// What the runner does before acting as owner: a valid lease, then a fenced write.
        func record(_ value: String) -> Bool {
            guard let lease, lease.isValid(at: self.redis.now) else { return false }
            return self.redis.write(room: "r", token: lease.token, value)
        }
    }

    func testOneOwnerAtATimeAndEveryNewOwnerGetsAGreaterToken() {
        let redis = FakeLeaseRedis()
        let a = Node("a", redis)
        let b = Node("b", redis)
        a.acquire()
        b.acquire()
        XCTAssertEqual(a.lease?.token, 1)
        XCTAssertNil(b.lease)
        XCTAssertEqual(b.heldBy.flatMap(leaseHolderNode)?.node, "a")
        redis.now = 5000
        b.acquire()
        XCTAssertEqual(b.lease?.token, 2)
        redis.now = 10_000
        a.acquire()
        XCTAssertEqual(a.lease?.token, 3)
    }

    /// The paused owner: stopped past its lease, another node takes the room; when it wakes it
    /// does not act (its own clock says the lease is over), and even a write it had already
    /// decided on is refused by the fence.
    func testAPausedOwnerWakesUnableToActAndItsWritesAreFenced() {
        let redis = FakeLeaseRedis()
        let a = Node("a", redis)
        let b = Node("b", redis)
        a.acquire()
        XCTAssertTrue(a.record("order 1"))
        // SIGSTOP: a's clock and Redis's both move on while a does nothing.
        redis.now = 6000
        b.acquire()
        XCTAssertEqual(b.lease?.token, 2)
        XCTAssertTrue(b.record("order 2"))
        // SIGCONT: a looks at its lease before anything else.
        XCTAssertFalse(a.lease!.isValid(at: redis.now))
        XCTAssertFalse(a.record("order 3"))
        // A write a made its mind up about before the pause, arriving now, is fenced.
        XCTAssertFalse(redis.write(room: "r", token: a.lease!.token, "late order"))
        XCTAssertFalse(redis.renew(room: "r", node: "a", boot: "b", token: 1, ttl: 5000))
        XCTAssertEqual(redis.writes["r"], ["order 1", "order 2"])
    }

    /// Validity counts from the request, so however slow Redis or the answer is, the owner's
    /// lease ends before the key in Redis can: while it is valid, nobody else can hold the room.
    func testValidityNeverOutlastsTheKeyWhateverTheDelays() {
        var seed: UInt64 = 42
        func next(_ bound: Int64) -> Int64 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int64((seed >> 33) % UInt64(bound))
        }
        var checked = 0
        for _ in 0..<200 {
            let redis = FakeLeaseRedis()
            let ttl: Int64 = 3000
            // The grant: sent at t, run by Redis d1 later, answered d2 after that.
            let sent = next(1000)
            redis.now = sent + next(800)
            guard case .granted(let token) = redis.acquire(room: "r", node: "a", boot: "b", ttl: ttl) else { return XCTFail("not granted") }
            var lease = Lease(token: token, requestedAt: sent, duration: ttl, margin: 300)
            redis.now += next(800)
            // A few renewals with random delays, some lost.
            for _ in 0..<5 {
                let renewalSent = redis.now
                lease.renewalSent(at: renewalSent)
                redis.now += next(1500)
                let lost = next(4) == 0
                let renewed: Bool? = lost ? nil : redis.renew(room: "r", node: "a", boot: "b", token: token, ttl: ttl)
                redis.now += next(800)
                lease.renewalAnswered(sentAt: renewalSent, renewed: renewed == true)
                // At every moment up to the lease's end, the key is still a's.
                let end = lease.validUntil
                if redis.now < end {
                    let saved = redis.now
                    redis.now = end - 1
                    XCTAssertEqual(redis.current("r"), leaseHolder(node: "a", boot: "b", token: token))
                    checked += 1
                    redis.now = saved
                }
            }
        }
        XCTAssertGreaterThan(checked, 300, "the property was checked at many moments, not vacuously")
    }

    func testRenewalsAreSpacedAndOneAtATime() {
        var lease = Lease(token: 7, requestedAt: 0, duration: 4000, margin: 400)
        XCTAssertFalse(lease.renewalDue(at: 999))
        XCTAssertTrue(lease.renewalDue(at: 1000))
        lease.renewalSent(at: 1000)
        XCTAssertFalse(lease.renewalDue(at: 3000), "one renewal in flight at a time")
        lease.renewalAnswered(sentAt: 1000, renewed: false)
        XCTAssertEqual(lease.validUntil, 3600, "a refused renewal leaves the lease to run out")
        lease.renewalSent(at: 3000)
        lease.renewalAnswered(sentAt: 3000, renewed: true)
        XCTAssertEqual(lease.validUntil, 6600)
        XCTAssertTrue(lease.isValid(at: 6599))
        XCTAssertFalse(lease.isValid(at: 6600))
    }

    func testHolderStrings() {
        XCTAssertEqual(leaseHolder(node: "n1:8080", boot: "x9", token: 12), "n1:8080|x9|12")
        XCTAssertEqual(leaseHolderNode("n1:8080|x9|12")?.node, "n1:8080")
        XCTAssertEqual(leaseHolderNode("n1:8080|x9|12")?.token, 12)
        XCTAssertNil(leaseHolderNode("garbage"))
    }
}
