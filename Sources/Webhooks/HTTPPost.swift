import Glibc
import Transport

/// One blocking HTTP/1.1 POST on a connection of its own (`Connection: close`), for the webhook
/// delivery threads. Only the status line is needed: 2xx means the receiver has the event.
enum HTTPPost {
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// The response's status code, or why there is none. `timeout` bounds the connect, each read
    /// and write, and the whole exchange.
    static func send(to endpoint: WebhookEndpoint, headers: [(String, String)], body: [UInt8], timeout: Double) -> Result<Int, Failure> {
        let deadline = MonotonicClock.seconds() + timeout
        let address: String
        let fd: Int32
        do {
            address = try endpoint.resolve()
            fd = try Socket.connect(host: address, port: endpoint.port, nonBlocking: false, timeout: timeout)
        } catch {
            return .failure(Failure("\(error)"))
        }
        defer { close(fd) }
        let hostHeader = endpoint.host.contains(":") ? "[\(endpoint.host)]:\(endpoint.port)" : "\(endpoint.host):\(endpoint.port)"
        var head = "POST \(endpoint.path) HTTP/1.1\r\nHost: \(hostHeader)\r\nContent-Type: application/json\r\n"
        head += "Content-Length: \(body.count)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let request = Array((head + "\r\n").utf8) + body
        var sent = 0
        while sent < request.count {
            let n = request.withUnsafeBytes { write(fd, $0.baseAddress! + sent, request.count - sent) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return .failure(Failure("write: \(String(cString: strerror(errno)))")) }
            sent += n
        }
        // The status line is all we need; a receiver that trickles bytes is cut off at the deadline.
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1024)
        while !response.contains(10) {
            guard MonotonicClock.seconds() < deadline, response.count < 8192 else { return .failure(Failure("no status line in time")) }
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return .failure(Failure("read: \(String(cString: strerror(errno)))")) }
            if n == 0 { return .failure(Failure("connection closed before a response")) }
            response += chunk[0..<n]
        }
        let line = String(decoding: response.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let parts = line.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            return .failure(Failure("not an HTTP response: \(line.prefix(60))"))
        }
        return .success(status)
    }
}
