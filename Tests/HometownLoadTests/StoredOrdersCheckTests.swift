import Foundation
import Glibc
import TestSupport
import Testing

@testable import HometownLoad

/// Serves `pages` in turn (one per request, then empty bodies), HTTP/1.1, Connection: close.
final class ExportStandIn: @unchecked Sendable {
    let port: UInt16
    private let fd: Int32
    private let lock = NSLock()
    private var requests: [String] = []

    var paths: [String] { self.lock.withLock { self.requests } }

    init(pages: [[String]], status: Int = 200) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        listen(listener, 16)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        self.fd = listener
        self.port = UInt16(bigEndian: address.sin_port)
        Thread.detachNewThread { [self] in
            var served = 0
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { return }
                var buffer = [UInt8](repeating: 0, count: 8192)
                let count = read(client, &buffer, buffer.count)
                let line = String(decoding: buffer.prefix(max(0, count)), as: UTF8.self).split(separator: "\r\n").first ?? ""
                self.lock.withLock { self.requests.append(String(line)) }
                let body = served < pages.count ? pages[served].map { $0 + "\n" }.joined() : ""
                served += 1
                let response = "HTTP/1.1 \(status) X\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body
                _ = response.withCString { write(client, $0, strlen($0)) }
                close(client)
            }
        }
    }

    /// Stops the accepting thread (its accept fails once the socket is shut down).
    func stop() { shutdown(self.fd, Int32(SHUT_RDWR)) }
}

/// `acked_orders_stored` against a stand-in export endpoint (a plain HTTP server on a thread):
/// the check passes only when every acknowledged order is in the export, across pages.
@Suite("hometown-load: acked_orders_stored")
struct StoredOrdersCheckTests {
    func scenario(port: UInt16) throws -> Scenario {
        var scenario = try Scenario.load(
            Array(
                #"{"name": "t", "rooms": {"count": 1, "prefix": "t"}, "viewers": 1, "phases": [{"name": "h", "kind": "hold", "seconds": 1}]}"#
                    .utf8))
        scenario.urls = ["ws://127.0.0.1:\(port)"]
        return scenario
    }

    @Test func everyAcknowledgedOrderMustBeInTheExport() throws {
        let export = try ExportStandIn(pages: [[#"{"order":"a"}"#, #"{"order":"b"}"#], [#"{"order":"c"}"#]])
        defer { export.stop() }
        let ok = StoredOrdersCheck.run(scenario: try self.scenario(port: export.port), runID: "r", acceptedIDs: ["a", "b", "c"])
        #expect(ok.ok, "\(ok.detail)")
        #expect(export.paths.count == 3, "pages are followed until an empty one")
        #expect(export.paths[1].contains("after=b"))

        let missing = try ExportStandIn(pages: [[#"{"order":"a"}"#]])
        defer { missing.stop() }
        let failed = StoredOrdersCheck.run(scenario: try self.scenario(port: missing.port), runID: "r", acceptedIDs: ["a", "z"])
        #expect(!failed.ok)
        #expect(failed.detail.contains("1 of 2") && failed.detail.contains("z"))
    }

    @Test func aTargetThatRefusesIsNamedBeforeAnyRun() throws {
        let closed = try ExportStandIn(pages: [])
        let port = closed.port
        closed.stop()
        #expect(eventually(within: 2) { unreachable(host: "127.0.0.1", port: port)?.contains("refused") == true })
        let open = try ExportStandIn(pages: [])
        defer { open.stop() }
        #expect(unreachable(host: "127.0.0.1", port: open.port) == nil)
    }

    @Test func anExportNoNodeAnswersIsAFailureNotAPass() throws {
        let refusing = try ExportStandIn(pages: [], status: 503)
        defer { refusing.stop() }
        let check = StoredOrdersCheck.run(scenario: try self.scenario(port: refusing.port), runID: "r", acceptedIDs: ["a"])
        #expect(!check.ok)
        #expect(check.detail.contains("no node answered"))
    }
}
