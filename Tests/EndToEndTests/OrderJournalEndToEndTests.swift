import Foundation
import Gateway
import JSON
import OrderJournal
import Testing
import WebSocketClient

@Suite("Durable orders and their export, over real sockets", .serialized)
struct OrderJournalEndToEndTests {
    /// Opens a room with `stock` units on sale and returns the streamer.
    func openSale(_ server: HometownServer, room: String, stock: Int, limit: Int = 10) throws -> LiveClient {
        try openAppleSale(port: server.port, room: room, stock: stock, limit: limit)
    }

    func http(_ server: HometownServer, _ target: String) throws -> (status: Int, body: String) {
        let answer = try rawHTTP(server, "GET \(target) HTTP/1.1\r\nHost: x\r\n\r\n")
        let status = Int(answer.split(separator: " ")[1]) ?? 0
        let body = answer.range(of: "\r\n\r\n").map { String(answer[$0.upperBound...]) } ?? ""
        return (status, body)
    }

    @Test func exportPagesThroughEveryOrderAsJSONLinesAndCSV() throws {
        try liveServer { server in
            _ = try openSale(server, room: "shop", stock: 50)
            let buyer = try LiveClient(server, room: "shop", token: token("buyer", name: "Zhang, \"San\""))
            _ = try buyer.next("welcome")
            var ids: [String] = []
            for index in 0..<7 {
                try buyer.send(#"{"type":"order","sku":"apple","qty":1,"ref":"r\#(index)"}"#)
                ids.append(try buyer.next("order.result")["order"]?.stringValue ?? "")
            }
            let owner = token("seller", role: "streamer")
            var cursor: String?
            var exported: [String] = []
            repeat {
                let page = try http(server, "/api/rooms/shop/orders?token=\(owner)&limit=3" + (cursor.map { "&after=\($0)" } ?? ""))
                #expect(page.status == 200)
                let lines = page.body.split(separator: "\n").map(String.init)
                let parsed = try lines.map { try JSONParser.parse($0) }
                exported += parsed.compactMap { $0["order"]?.stringValue }
                #expect(parsed.allSatisfy { $0["room"]?.stringValue == "shop" && $0["ref"] != nil && $0["price"]?.intValue == 500 })
                cursor = parsed.last?["order"]?.stringValue
                if lines.isEmpty { cursor = nil }
            } while cursor != nil
            #expect(exported == ids)

            let csv = try http(server, "/api/rooms/shop/orders?format=csv&token=\(owner)")
            let rows = csv.body.split(separator: "\n")
            #expect(rows.first == "order,room,sku,user,name,qty,price,ts,ref,state,pay_by,reason,updated_at")
            #expect(rows.count == 8)
            #expect(rows[1].contains("\"Zhang, \"\"San\"\"\""))

            // Who may export.
            #expect(try http(server, "/api/rooms/shop/orders").status == 401)
            #expect(try http(server, "/api/rooms/shop/orders?token=\(token("buyer"))").status == 403)
            #expect(try http(server, "/api/rooms/shop/orders?token=\(token("other", role: "streamer"))").status == 403)
            #expect(try http(server, "/api/rooms/shop/orders?token=\(token("boss", role: "admin"))").status == 200)
            // A streamer token naming the room is not its owner: no authority over its orders.
            #expect(try http(server, "/api/rooms/shop/orders?token=\(token("x", role: "streamer", room: "shop"))").status == 403)
            #expect(try http(server, "/api/rooms/nope/orders?token=\(owner)").status == 404)
            #expect(try http(server, "/api/rooms/shop/orders?format=xml&token=\(owner)").status == 400)
            // A cursor that names no order of the room is an error, never "from the start" (a
            // typo must not re-export the room for a second fulfilment).
            let typo = try http(server, "/api/rooms/shop/orders?token=\(owner)&after=shop-nosuch-1")
            #expect(typo.status == 400)
            #expect(typo.body.contains("no order 'shop-nosuch-1'"))
        }
    }

    @Test func aFailingStoreAcknowledgesNothingAndLosesNoStock() throws {
        try liveServerWithFaultyStore { server, faulty in
            let streamer = try openSale(server, room: "disk", stock: 3, limit: 3)
            let buyer = try LiveClient(server, room: "disk", token: token("buyer"))
            _ = try buyer.next("welcome")
            try buyer.send(#"{"type":"order","sku":"apple","qty":1,"ref":"ok-1"}"#)
            #expect(try buyer.next("order.result")["status"]?.stringValue == "accepted")

            faulty.failing = true  // the disk fills up
            for index in 0..<5 {
                try buyer.send(#"{"type":"order","sku":"apple","qty":2,"ref":"full-\#(index)"}"#)
                let result = try buyer.next("order.result")
                #expect(result["status"]?.stringValue == "unavailable")
                #expect(result["order"] == nil)
            }
            #expect(server.metrics.journalFailures.value >= 1)
            faulty.failing = false  // space again: the same ref may be retried, and the stock is all there
            try buyer.send(#"{"type":"order","sku":"apple","qty":2,"ref":"full-0"}"#)
            let retried = try buyer.next("order.result")
            #expect(retried["status"]?.stringValue == "accepted")
            // The order stream carried only the stored orders.
            var streamed: [String] = []
            while streamed.count < 2 { streamed.append(try streamer.next("order")["order"]?.stringValue ?? "") }
            let stored = try OrderExport.page(dataDirectory: server.config.dataDirectory, room: "disk", after: nil, limit: 100)
            #expect(stored.map(\.id) == streamed)
            #expect(stored.reduce(0) { $0 + $1.qty } == 3)
        }
    }

    @Test func roomsProductsAndSalesAreRestoredAfterARestart() throws {
        let data = makeTemporaryDirectory()
        var firstOrder = ""
        try liveServer({ $0.dataDirectory = data }) { server in
            _ = try openSale(server, room: "again", stock: 10, limit: 2)
            let buyer = try LiveClient(server, room: "again", token: token("buyer"))
            _ = try buyer.next("welcome")
            try buyer.send(#"{"type":"order","sku":"apple","qty":2,"ref":"first"}"#)
            firstOrder = try buyer.next("order.result")["order"]?.stringValue ?? ""
        }
        try liveServer({ $0.dataDirectory = data }) { server in
            let buyer = try LiveClient(server, room: "again", token: token("buyer"))
            let welcome = try buyer.next("welcome")
            let product = welcome["products"]?.arrayValue?.first
            #expect(welcome["live"]?.boolValue == true)
            #expect(product?["left"]?.intValue == 8)
            #expect(product?["sale"]?["state"]?.stringValue == "live")
            try buyer.send(#"{"type":"order","sku":"apple","qty":2,"ref":"first"}"#)
            #expect(try buyer.next("order.result")["order"]?.stringValue == firstOrder)
            try buyer.send(#"{"type":"order","sku":"apple","qty":1,"ref":"second"}"#)
            #expect(try buyer.next("order.result")["status"]?.stringValue == "limit_reached")
        }
    }

    @Test func ordersCommandReadsTheStore() throws {
        let data = makeTemporaryDirectory()
        try liveServer({ $0.dataDirectory = data }) { server in
            _ = try openSale(server, room: "cli", stock: 5)
            let buyer = try LiveClient(server, room: "cli", token: token("buyer"))
            _ = try buyer.next("welcome")
            try buyer.send(#"{"type":"order","sku":"apple","qty":1,"ref":"x"}"#)
            _ = try buyer.next("order.result")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServerProcess.binary)
        process.arguments = ["orders", "--data", data, "--room", "cli", "--format", "csv"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let rows = output.split(separator: "\n")
        #expect(rows.count == 2 && rows[0].hasPrefix("order,room,sku"))
        #expect(rows[1].contains(",cli,apple,buyer,"))

        // A room that does not exist, or a cursor that names no order, is an error with a reason.
        for arguments in [["--room", "nosuch"], ["--room", "cli", "--after", "cli-typo-9"]] {
            let failing = Process()
            failing.executableURL = URL(fileURLWithPath: ServerProcess.binary)
            failing.arguments = ["orders", "--data", data] + arguments
            let errors = Pipe()
            failing.standardError = errors
            failing.standardOutput = Pipe()
            try failing.run()
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            failing.waitUntilExit()
            #expect(failing.terminationStatus != 0, "\(arguments)")
            #expect(message.contains("no room 'nosuch'") || message.contains("no order 'cli-typo-9'"), "\(message)")
        }
    }
}
