import Auth
import CLinux
import Glibc
import JSON

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
    static func get(host: String, port: UInt16, path: String, timeout: Int = 10) -> [UInt8]? {
        let fd = hometown_socket_stream_blocking(AF_INET)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        inet_pton(AF_INET, host, &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == request.count else { return nil }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            response += buffer[0..<count]
        }
        guard response.starts(with: Array("HTTP/1.1 200".utf8)),
            let end = headerEnd(response, Array("\r\n\r\n".utf8))
        else { return nil }
        return Array(response[(end + 4)...])
    }

    private static func headerEnd(_ haystack: [UInt8], _ needle: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for index in 0...(haystack.count - needle.count) where haystack[index..<(index + needle.count)].elementsEqual(needle) {
            return index
        }
        return nil
    }
}
