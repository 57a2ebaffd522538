import Auth
import Foundation
import Testing

/// The signature checks docs/ORDERS.md gives shops — in Python and in shell — run against
/// signatures Hometown made, so the documentation cannot drift from the code.
@Suite("The documented webhook verifiers accept our signatures and refuse tampering")
struct DocumentedVerifiersTests {
    static let orders: String = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/ORDERS.md")
        return (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    }()

    /// The first fenced block of `language` after the line starting with `after`.
    static func block(_ language: String, after marker: String) -> String? {
        guard let start = Self.orders.range(of: marker) else { return nil }
        let rest = Self.orders[start.upperBound...]
        guard let open = rest.range(of: "```\(language)\n"), let close = rest[open.upperBound...].range(of: "\n```") else { return nil }
        return String(rest[open.upperBound..<close.lowerBound])
    }

    func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    let secret = "shop-webhook-secret-0123456789"
    let body = Array(#"{"id":"farm-e-1.paid","seq":3,"type":"order.paid","order":{"name":"张三"}}"#.utf8)

    func bodyFile(_ bytes: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "hometown-webhook-body-\(UUID().uuidString)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func thePythonVerifier() throws {
        let snippet = try #require(Self.block("python", after: "In Python"))
        let header = WebhookSignature.sign(body: self.body, secret: self.secret, timestamp: Int64(Date().timeIntervalSince1970))
        let script =
            snippet + "\nimport sys\nprint(verify(sys.argv[1], open(sys.argv[2], 'rb').read(), sys.argv[3]))\n"
        let python =
            ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/bin/python3"
        #expect(try self.run(python, ["-c", script, header, try self.bodyFile(self.body), self.secret]) == "True")
        #expect(try self.run(python, ["-c", script, header, try self.bodyFile(self.body + [32]), self.secret]) == "False")
        let old = WebhookSignature.sign(body: self.body, secret: self.secret, timestamp: Int64(Date().timeIntervalSince1970) - 3600)
        #expect(try self.run(python, ["-c", script, old, try self.bodyFile(self.body), self.secret]) == "False")
    }

    @Test func theShellVerifier() throws {
        let snippet = try #require(Self.block("sh", after: "In shell"))
        let now = Int64(Date().timeIntervalSince1970)
        let header = WebhookSignature.sign(body: self.body, secret: self.secret, timestamp: now)
        let good = try self.run(
            "/bin/bash", ["-c", snippet], environment: ["SIG": header, "BODY": try self.bodyFile(self.body), "SECRET": self.secret])
        #expect(good == "valid")
        let tampered = try self.run(
            "/bin/bash", ["-c", snippet], environment: ["SIG": header, "BODY": try self.bodyFile(self.body + [32]), "SECRET": self.secret])
        #expect(tampered.isEmpty)
        let replayed = WebhookSignature.sign(body: self.body, secret: self.secret, timestamp: now - 3600)
        let late = try self.run(
            "/bin/bash", ["-c", snippet], environment: ["SIG": replayed, "BODY": try self.bodyFile(self.body), "SECRET": self.secret])
        #expect(late.isEmpty)
    }
}
