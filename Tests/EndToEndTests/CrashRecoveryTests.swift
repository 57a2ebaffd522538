import Foundation
import Gateway
import JSON
import LiveRoom
import TestSupport
import Testing
import Transport
import WebSocketClient

/// A buyer over a real socket that remembers what it was told.
final class RecordingBuyer: @unchecked Sendable {
    let user: String
    var accepted: [String: String] = [:]  // ref -> order id, as the buyer saw it
    var inFlight: String?  // a ref sent whose answer never came (the server died)
    var next = 0
    var done = false

    init(user: String) { self.user = user }

    /// Orders one unit at a time until refused for good or the connection breaks.
    func shop(port: UInt16, room: String, onAccepted: () -> Void) {
        guard !self.done, let client = try? LiveClient(port: port, room: room, token: token(self.user)) else { return }
        guard (try? client.next("welcome")) != nil else { return }
        // After a restart, first retry what we were told (and what we never heard back about).
        for (ref, id) in self.accepted {
            guard let answer = try? client.order(ref: ref) else { return }
            precondition(answer.status == "accepted" && answer.id == id, "ref \(ref) returned \(answer) instead of \(id)")
        }
        if let ref = self.inFlight {
            guard let answer = try? client.order(ref: ref) else { return }
            if answer.status == "accepted" { self.accepted[ref] = answer.id }
            self.inFlight = nil
        }
        while !self.done {
            let ref = "\(self.user)-\(self.next)"
            self.inFlight = ref
            guard let answer = try? client.order(ref: ref) else { return }
            self.inFlight = nil
            self.next += 1
            switch answer.status {
            case "accepted":
                self.accepted[ref] = answer.id
                onAccepted()
            case "sold_out", "limit_reached":
                self.done = true
            default:
                return
            }
        }
    }
}

extension LiveClient {
    convenience init(port: UInt16, room: String, token: String) throws {
        try self.init(socket: BlockingWebSocketClient(port: port, path: "/live/\(room)?token=\(token)"))
    }

    func order(ref: String) throws -> (status: String, id: String) {
        try self.send(#"{"type":"order","sku":"apple","qty":1,"ref":"\#(ref)"}"#)
        let result = try self.next("order.result", where: { $0["ref"]?.stringValue == ref })
        return (result["status"]?.stringValue ?? "", result["order"]?.stringValue ?? "")
    }
}

@Suite("Orders survive kill -9", .serialized)
struct CrashRecoveryTests {
    enum KillPoint: String, CaseIterable {
        case beforeOrders, midSale, afterSellOut
    }

    @Test(arguments: KillPoint.allCases)
    func everyAcknowledgedOrderSurvivesAndStockNeverOversells(killPoint: KillPoint) throws {
        let stock = 120
        let limit = 3
        let data = makeTemporaryDirectory()
        let server = ServerProcess(dataDirectory: data, extraArguments: unlimitedMessagesArguments())
        try server.start()
        try openAppleSale(port: server.port, room: "crash", stock: stock, limit: limit)

        let buyers = (0..<60).map { RecordingBuyer(user: "buyer\($0)") }  // demand 180 > stock 120
        let threshold: Int =
            switch killPoint {
            case .beforeOrders: 0
            case .midSale: stock / 2
            case .afterSellOut: stock
            }
        let acceptedSoFar = CountdownLatch(threshold)
        if killPoint == .beforeOrders { server.crash() }
        let finished = DispatchSemaphore(value: 0)
        let runner = Thread {
            DispatchQueue.concurrentPerform(iterations: buyers.count) { index in
                buyers[index].shop(port: server.port, room: "crash") { acceptedSoFar.countDown() }
            }
            finished.signal()
        }
        runner.start()
        if killPoint != .beforeOrders {
            #expect(acceptedSoFar.wait(seconds: 30))
            server.crash()
        }
        #expect(finished.wait(timeout: .now() + 30) == .success)
        let beforeCrash = buyers.reduce(0) { $0 + $1.accepted.count }
        print(
            "kill point \(killPoint): \(beforeCrash) acknowledged before the crash, \(buyers.filter { $0.inFlight != nil }.count) in flight"
        )

        // Same data, new process: everyone comes back, retries, and finishes the sale.
        try server.start()
        DispatchQueue.concurrentPerform(iterations: buyers.count) { index in
            buyers[index].shop(port: server.port, room: "crash") {}
        }
        #expect(server.terminate() == 0)

        let stored = try OrderExport.page(dataDirectory: data, room: "crash", after: nil, limit: 100_000)
        let storedIDs = Dictionary(grouping: stored, by: \.id)
        #expect(storedIDs.values.allSatisfy { $0.count == 1 }, "each order stored once")
        var seen = 0
        for buyer in buyers {
            for (_, id) in buyer.accepted {
                seen += 1
                #expect(storedIDs[id] != nil, "acknowledged order \(id) is in the store")
            }
        }
        let sold = stored.reduce(0) { $0 + $1.qty }
        #expect(sold <= stock, "no oversell")
        #expect(sold == stock, "demand exceeded stock, so the sale sold out exactly")
        #expect(seen <= stored.count)
        let perUser = Dictionary(grouping: stored, by: \.user).mapValues { $0.reduce(0) { $0 + $1.qty } }
        #expect(perUser.values.allSatisfy { $0 <= limit }, "no buyer over the limit across the restart")
        let refs = Set(stored.map { $0.user + "/" + $0.ref })
        #expect(refs.count == stored.count, "one order per (user, ref)")
    }
}
