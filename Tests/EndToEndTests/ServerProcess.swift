import Foundation
import Glibc
import TestSupport
import WebSocketClient

/// The real `hometown` binary in a child process, for tests that must kill it (-9) and start it
/// again on the same data directory.
final class ServerProcess {
    let port: UInt16
    let dataDirectory: String
    private(set) var process: Process?
    /// Signalled when the process exits (its termination handler), so waits are event-based.
    private var exited = DispatchSemaphore(value: 0)
    let extraArguments: [String]
    /// A command the server runs under (e.g. prlimit).
    let wrapper: [String]

    static var binary: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for configuration in ["debug", "release"] {
            let path = root.appendingPathComponent(".build/\(configuration)/hometown").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return root.appendingPathComponent(".build/debug/hometown").path
    }

    init(dataDirectory: String, extraArguments: [String] = [], wrapper: [String] = []) {
        self.port = freePort()
        self.dataDirectory = dataDirectory
        self.extraArguments = extraArguments
        self.wrapper = wrapper
    }

    /// Resident memory of the server process, in KiB.
    func residentKiB() -> Int {
        guard let pid = self.process?.processIdentifier,
            let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
    }

    /// CPU seconds the server process has used.
    func cpuSeconds() -> Double {
        guard let pid = self.process?.processIdentifier,
            let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: self.wrapper.first ?? Self.binary)
        process.arguments =
            Array(self.wrapper.dropFirst()) + (self.wrapper.isEmpty ? [] : [Self.binary]) + [
                "serve", "--port", String(self.port), "--data", self.dataDirectory, "--log-level", "warn", "--loops", "2",
            ]
            + self.extraArguments
        var environment = ProcessInfo.processInfo.environment
        environment["HOMETOWN_JWT_SECRET"] = testSecret
        process.environment = environment
        let exited = DispatchSemaphore(value: 0)
        self.exited = exited
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        self.process = process
        // Ready when /healthz answers (another process: polled, for at most 10 s).
        let ready = eventually(within: 10, interval: 0.025) {
            guard let client = try? BlockingWebSocketClient(port: self.port, timeout: 1, upgrade: false) else { return false }
            try? client.sendRaw(Array("GET /healthz HTTP/1.1\r\n\r\n".utf8))
            return (try? client.readHTTPResponse())?.hasPrefix("HTTP/1.1 200") == true
        }
        if !ready { throw BlockingWebSocketClient.Error.timeout }
    }

    /// kill -9: no chance to flush anything.
    func crash() {
        guard let process = self.process else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    /// Sends `signal` without waiting for anything.
    func send(_ signal: Int32) {
        guard let process = self.process else { return }
        kill(process.processIdentifier, signal)
    }

    /// Waits (at most `seconds`) for the process to exit by itself; its status, or nil.
    func waitForExit(seconds: Double) -> Int32? {
        guard let process = self.process, self.exited.wait(timeout: .now() + seconds) == .success else { return nil }
        process.waitUntilExit()
        self.process = nil
        return process.terminationStatus
    }

    func terminate() -> Int32 {
        guard let process = self.process else { return -1 }
        kill(process.processIdentifier, SIGTERM)
        // A drain is bounded by drain_timeout (10 s); past 30 s something is wrong: kill it and
        // let the caller see a non-zero status instead of waiting forever.
        if self.exited.wait(timeout: .now() + 30) == .timedOut { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        self.process = nil
        return process.terminationStatus
    }

    deinit { self.crash() }
}

/// Arguments for a server whose buyers order as fast as answers come back (durability and drain
/// tests): no per-connection message budget, which such a robot would exhaust in a second.
func unlimitedMessagesArguments() -> [String] {
    let path = makeTemporaryDirectory() + "/unlimited.json"
    FileManager.default.createFile(atPath: path, contents: Data(#"{"limits": {"messages_per_second": 0}}"#.utf8))
    return ["--config", path]
}
