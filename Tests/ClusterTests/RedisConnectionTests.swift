import RESP
import RedisClient
import TestSupport
import Transport
import XCTest

/// The event-loop Redis connection against a real redis-server: pipelining, the answers when
/// Redis dies (nothing silently queued, in-flight commands `lost`), and reconnecting by itself.
final class RedisConnectionTests: XCTestCase {
    private var redis: RedisServer!
    private var loop: EventLoop!

    override func setUpWithError() throws {
        guard RedisServer.binary != nil || RedisServer.required else { throw XCTSkip("redis-server is not installed") }
        self.redis = try RedisServer()
        self.loop = try EventLoop(index: 0, tickInterval: 50_000_000)
        self.loop.start()
    }

    override func tearDown() {
        self.loop.stop()
        self.loop.join()
        self.redis = nil
    }

    private func connect(timeout: UInt64 = 1_000_000_000) throws -> RedisClient {
        var options = RedisConnection.Options()
        options.timeout = timeout
        options.backoffMax = 200_000_000
        let client = RedisClient(url: try RedisURL(self.redis.url), loop: self.loop, name: "test", options: options)
        let ready = CountdownLatch(1)
        self.loop.execute {
            client.connection.onReady = { ready.countDown() }
            client.connection.start()
        }
        XCTAssertTrue(ready.wait(seconds: 10), "connected")
        return client
    }

    func testPipelinedRepliesComeBackInOrder() throws {
        let client = try self.connect()
        let count = 2000
        let results = LockedValue<[Int64]>([])
        let done = CountdownLatch(count)
        self.loop.execute {
            for _ in 0..<count {
                client.connection.send(["INCR", "counter"]) { result in
                    if case .success(let value) = result, let number = value.integer { results.withLock { $0.append(number) } }
                    done.countDown()
                }
            }
        }
        XCTAssertTrue(done.wait(seconds: 10))
        XCTAssertEqual(results.withLock { $0 }, Array(1...Int64(count)))
    }

    func testWhenRedisDiesCommandsFailAndTheConnectionComesBackByItself() throws {
        let client = try self.connect()
        let lost = CountdownLatch(1)
        let outcome = LockedValue<RedisError?>(nil)
        // A command Redis will never answer (it blocks for 30 s), then Redis is killed: the
        // command is `lost` (it may have run), not silently retried or left hanging.
        self.loop.execute {
            client.connection.send(["BLPOP", "nothing", "30"]) { result in
                if case .failure(let error) = result { outcome.withLock { $0 = error } }
                lost.countDown()
            }
        }
        self.redis.kill()
        XCTAssertTrue(lost.wait(seconds: 10))
        XCTAssertEqual(outcome.withLock { $0 }, .lost)
        // While Redis is down, a command is refused at once: never sent.
        let refused = CountdownLatch(1)
        let second = LockedValue<RedisError?>(nil)
        self.loop.execute {
            client.connection.send(["PING"]) { result in
                if case .failure(let error) = result { second.withLock { $0 = error } }
                refused.countDown()
            }
        }
        XCTAssertTrue(refused.wait(seconds: 5))
        XCTAssertEqual(second.withLock { $0 }, .notSent)
        // Redis returns (same port, its AOF); the connection reconnects without being asked.
        let back = CountdownLatch(1)
        self.loop.execute { client.connection.onReady = { back.countDown() } }
        try self.redis.start()
        XCTAssertTrue(back.wait(seconds: 15), "reconnected after Redis came back")
    }

    func testAServerThatStopsAnsweringTimesOut() throws {
        let client = try self.connect(timeout: 300_000_000)
        let answered = CountdownLatch(1)
        let outcome = LockedValue<RedisError?>(nil)
        // Redis is paused (SIGSTOP): the socket stays open, nothing answers.
        let pid = try XCTUnwrap(self.redis.pid)
        kill(pid, SIGSTOP)
        defer { kill(pid, SIGCONT) }
        self.loop.execute {
            client.connection.send(["PING"]) { result in
                if case .failure(let error) = result { outcome.withLock { $0 = error } }
                answered.countDown()
            }
        }
        XCTAssertTrue(answered.wait(seconds: 10))
        XCTAssertEqual(outcome.withLock { $0 }, .lost, "timed out: the outcome is unknown")
    }

    /// AUTH and SELECT on connect: with the right password the connection is ready and commands
    /// land in the chosen database; with a wrong one it never becomes ready (nothing is sent).
    func testAuthenticatesAndSelectsTheDatabase() throws {
        let secured = try RedisServer(password: "s3cret")
        let url = try RedisURL("redis://:s3cret@127.0.0.1:\(secured.port)/3")
        let client = RedisClient(url: url, loop: self.loop, name: "auth")
        let ready = CountdownLatch(1)
        self.loop.execute {
            client.connection.onReady = { ready.countDown() }
            client.connection.start()
        }
        XCTAssertTrue(ready.wait(seconds: 10))
        let stored = CountdownLatch(1)
        client.send(["SET", "k", "v"]) { _ in stored.countDown() }
        XCTAssertTrue(stored.wait(seconds: 5))
        let check = try BlockingRedisClient(url: url)
        XCTAssertEqual(try check.command(["GET", "k"]).string, "v")
        try check.command(["SELECT", "0"])
        XCTAssertTrue(try check.command(["GET", "k"]).isNull, "written in database 3, not 0")

        let wrong = RedisClient(url: try RedisURL("redis://:nope@127.0.0.1:\(secured.port)"), loop: self.loop, name: "wrong")
        let refused = CountdownLatch(1)
        let outcome = LockedValue<RedisError?>(nil)
        self.loop.execute {
            wrong.connection.start()
            // The handshake's AUTH fails; meanwhile and after, commands are never sent.
            wrong.connection.send(["PING"]) { result in
                if case .failure(let error) = result { outcome.withLock { $0 = error } }
                refused.countDown()
            }
        }
        XCTAssertTrue(refused.wait(seconds: 5))
        XCTAssertEqual(outcome.withLock { $0 }, .notSent)
        XCTAssertFalse(self.loop.runAndWait { wrong.connection.isReady })
        self.loop.execute { wrong.connection.stop() }
    }

    func testURLs() throws {
        let url = try RedisURL("redis://:s3cret@localhost:6380/2")
        XCTAssertEqual(url.address, "127.0.0.1")
        XCTAssertEqual(url.port, 6380)
        XCTAssertEqual(url.password, "s3cret")
        XCTAssertEqual(url.setupCommands, [["AUTH", "s3cret"], ["SELECT", "2"]])
        XCTAssertEqual(url.description, "redis://***@localhost:6380/2")
        XCTAssertEqual(try RedisURL("redis://u:p@127.0.0.1:1").setupCommands, [["AUTH", "u", "p"]])
        for bad in ["http://x:1", "redis://nohost", "redis://:1", "redis://h:0", "redis://127.0.0.1:6379/99", "redis://127.0.0.1:70000"] {
            XCTAssertThrowsError(try RedisURL(bad), bad)
        }
    }
}
