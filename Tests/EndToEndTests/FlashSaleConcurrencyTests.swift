import Foundation
import Gateway
import JSON
import Testing
import WebSocketClient

@Suite("Flash-sale stampede across event loops and threads", .serialized)
struct FlashSaleConcurrencyTests {
    @Test func exactlyTheStockIsSoldAndNoBuyerPassesTheLimit() throws {
        try liveServer({ $0.loops = 2 }) { server in
            let stock = 300
            let limit = 4
            let buyers = 120  // demand: 120 × 4 = 480 units wanted, 300 available
            let ordersPerBuyer = 20  // 2,400 orders in all, most of them refused
            let streamer = try LiveClient(server, room: "stampede", token: token("s", role: "streamer"))
            _ = try streamer.next("welcome")
            try streamer.send(#"{"type":"room.open"}"#)
            try streamer.send(#"{"type":"product.add","sku":"apple","title":"Apples","price":500,"stock":\#(stock)}"#)
            try streamer.send(#"{"type":"sale.start","sku":"apple","limit":\#(limit)}"#)
            _ = try streamer.next("sale")

            let lock = NSLock()
            var acceptedByBuyer: [Int: Int] = [:]
            var orderIDs: Set<String> = []
            var answered = 0
            var failures: [String] = []
            DispatchQueue.concurrentPerform(iterations: buyers) { buyer in
                do {
                    let client = try LiveClient(server, room: "stampede", token: token("buyer\(buyer)"))
                    _ = try client.next("welcome")
                    // Send every order first (open loop), then read the answers.
                    for index in 0..<ordersPerBuyer {
                        try client.send(#"{"type":"order","sku":"apple","qty":1,"ref":"b\#(buyer)-\#(index)"}"#)
                    }
                    for _ in 0..<ordersPerBuyer {
                        let result = try client.next("order.result")
                        lock.withLock {
                            answered += 1
                            if result["status"]?.stringValue == "accepted" {
                                acceptedByBuyer[buyer, default: 0] += 1
                                orderIDs.insert(result["order"]?.stringValue ?? "")
                            }
                        }
                    }
                } catch {
                    lock.withLock { failures.append("buyer \(buyer): \(error)") }
                }
            }
            #expect(failures.isEmpty, "\(failures.prefix(3))")
            #expect(answered == buyers * ordersPerBuyer, "every order answered")
            #expect(acceptedByBuyer.values.reduce(0, +) == stock, "sold exactly the stock")
            #expect(orderIDs.count == stock, "one order id per accepted order")
            #expect(acceptedByBuyer.values.allSatisfy { $0 <= limit }, "no buyer over the limit")
            // The streamer's order stream has all of them.
            var streamed = Set<String>()
            while streamed.count < stock { streamed.insert(try streamer.next("order")["order"]?.stringValue ?? "") }
            #expect(streamed == orderIDs)
        }
    }
}
