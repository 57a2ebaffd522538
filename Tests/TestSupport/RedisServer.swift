import Foundation
import Glibc
import RedisClient

/// A real `redis-server` (Debian's) in a child process on a free loopback port, with AOF on and
/// `appendfsync always` as cluster mode expects, for tests that talk to Redis or kill it.
///
/// When redis-server is not installed the tests that need it are skipped, unless
/// HOMETOWN_REQUIRE_REDIS=1 (the test command sets it after installing Redis), where they fail.
public final class RedisServer {
    public let port: UInt16
    public let directory: String
    /// `requirepass`, when set: clients must AUTH.
    public let password: String?
    private var process: Process?

    public static var binary: String? {
        ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    public static var required: Bool { ProcessInfo.processInfo.environment["HOMETOWN_REQUIRE_REDIS"] == "1" }

    /// A replica of `primary`, when given (for WAIT).
    public let replicaOf: UInt16?

    public init(password: String? = nil, replicaOf: UInt16? = nil) throws {
        self.password = password
        self.replicaOf = replicaOf
        self.port = freePort()
        self.directory = makeTemporaryDirectory()
        try self.start()
    }

    public var url: String { "redis://\(self.password.map { ":\($0)@" } ?? "")127.0.0.1:\(self.port)" }
    public var pid: Int32? { self.process?.processIdentifier }

    /// Starts (or restarts, on the same port and data) and waits until it answers PING.
    public func start() throws {
        guard let binary = Self.binary else { throw RedisError.notSent }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments =
            [
                "--bind", "127.0.0.1", "--port", String(self.port), "--dir", self.directory, "--appendonly", "yes",
                "--appendfsync", "always", "--save", "", "--logfile", self.directory + "/redis.log",
            ] + (self.password.map { ["--requirepass", $0] } ?? [])
            + (self.replicaOf.map { ["--replicaof", "127.0.0.1", String($0)] } ?? [])
        try process.run()
        self.process = process
        let url = try RedisURL(self.url)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let client = try? BlockingRedisClient(url: url), (try? client.command(["PING"])) != nil { return }
            usleep(20_000)
        }
        throw RedisError.notSent
    }

    /// kill -9, and waits for the process to be gone.
    public func kill() {
        guard let process = self.process else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    public func client() throws -> BlockingRedisClient { try BlockingRedisClient(url: try RedisURL(self.url)) }

    deinit {
        self.kill()
        try? FileManager.default.removeItem(atPath: self.directory)
    }
}
