import Auth
import Glibc
import JSON
import WebSocketClient

/// `acked_orders_stored`: at the end of a run, every order a buyer was told `accepted` must be in
/// its room's order export (which reads the durable store: SQLite on a single node, Redis in a
/// cluster — from any node). An acknowledgement the store does not back is the worst bug a flash
/// sale can have: the buyer thinks they bought, the seller never ships.
enum StoredOrdersCheck {
    static func run(scenario: Scenario, runID: String, acceptedIDs: Set<String>) -> Report.Check {
        guard !acceptedIDs.isEmpty else {
            return .init(name: "acked_orders_stored", ok: true, detail: "no order was accepted, so none had to be stored")
        }
        let targets = scenario.urls.compactMap(LoadEngine.parse)
        var stored: Set<String> = []
        var problems: [String] = []
        let expiry = Int64(time(nil)) + 3600
        for room in 0..<scenario.roomCount {
            let name = "\(scenario.roomPrefix)-\(runID)-\(room)"
            let token = JWT.sign(
                JWT.Claims(sub: "load-streamer-\(room)", name: "load-streamer-\(room)", role: "streamer", room: name, exp: expiry),
                secret: scenario.secret)
            // Any node will do: try each until one answers (one may have been killed on purpose).
            var read = false
            for target in targets where !read {
                if let ids = Self.export(host: target.host, port: target.port, room: name, token: token) {
                    stored.formUnion(ids)
                    read = true
                }
            }
            if !read { problems.append("room \(name): no node answered its export") }
        }
        let missing = acceptedIDs.subtracting(stored)
        var detail = "\(acceptedIDs.count - missing.count) of \(acceptedIDs.count) acknowledged orders found in the rooms' exports"
        if let example = missing.sorted().first { detail += " (missing e.g. \(example))" }
        if let problem = problems.first { detail += "; " + problem }
        return .init(name: "acked_orders_stored", ok: missing.isEmpty && problems.isEmpty, detail: detail)
    }

    /// Every order id in a room's export, page by page; nil if the node did not answer 200.
    static func export(host: String, port: UInt16, room: String, token: String) -> Set<String>? {
        var ids: Set<String> = []
        var after: String?
        while true {
            var path = "/api/rooms/\(room)/orders?format=jsonl&limit=10000&token=\(token)"
            if let after { path += "&after=\(after)" }
            guard let body = Self.get(host: host, port: port, path: path) else { return nil }
            var last: String?
            for line in body.split(separator: UInt8(ascii: "\n")) {
                if let id = (try? JSONParser.parse(Array(line)))?["order"]?.stringValue {
                    ids.insert(id)
                    last = id
                }
            }
            guard let last else { return ids }
            after = last
        }
    }

    /// A blocking `GET` (HTTP/1.1, Connection: close); the body when the status is 200.
    static func get(host: String, port: UInt16, path: String, timeout: Double = 10) -> [UInt8]? {
        guard let client = try? BlockingWebSocketClient(host: host, port: port, timeout: timeout, upgrade: false),
            (try? client.sendRaw(Array("GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\n\r\n".utf8))) != nil,
            let response = try? client.readHTTPResponse(), response.hasPrefix("HTTP/1.1 200"),
            let end = response.firstRange(of: "\r\n\r\n")
        else { return nil }
        return Array(response[end.upperBound...].utf8)
    }
}
