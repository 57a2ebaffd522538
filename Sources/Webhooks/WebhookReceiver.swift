import Auth
import Glibc
import JSON
import Transport

/// A webhook endpoint that checks what Hometown sends: every request's signature, and which
/// events arrived in which order. `hometown-load --webhook-listen` runs one during a load test,
/// and the end-to-end tests use it as the shop; it is also a worked example of a receiver.
///
/// One thread accepts and answers connections one at a time (Hometown sends one request per
/// connection). `respond` decides each answer's status, so a test can make the shop fail.
/// `@unchecked Sendable`: `received` and the flags are touched only under `lock`.
public final class WebhookReceiver: @unchecked Sendable {
    public struct Delivery: Equatable, Sendable {
        public var event: String
        public var seq: Int64
        public var room: String
        public var type: String
        public var order: String
        public var signatureValid: Bool
        /// The status this receiver answered.
        public var status: Int

        public init(event: String, seq: Int64, room: String, type: String, order: String, signatureValid: Bool, status: Int) {
            self.event = event
            self.seq = seq
            self.room = room
            self.type = type
            self.order = order
            self.signatureValid = signatureValid
            self.status = status
        }
    }

    private let secret: String
    private let respond: @Sendable (Delivery) -> Int
    private let lock = Lock()
    private var received: [Delivery] = []
    private var stopping = false
    private var listener: Int32 = -1
    private var thread: pthread_t?
    public private(set) var port: UInt16 = 0

    /// - Parameter respond: the status to answer a delivery with a valid signature (200 unless
    ///   told otherwise). A bad signature is always answered 401.
    public init(secret: String, respond: @escaping @Sendable (Delivery) -> Int = { _ in 200 }) {
        self.secret = secret
        self.respond = respond
    }

    /// Listens on `host:port` (0: any free port; see `port`).
    public func start(host: String = "127.0.0.1", port: UInt16 = 0) throws {
        let fd = try Socket.listen(host: host, port: port, reusePort: false, backlog: 128)
        self.listener = fd
        self.port = try Socket.localPort(fd)
        self.lock.withLock { self.stopping = false }
        self.thread = Threads.start { self.serve(fd) }
    }

    /// Stops listening (connections are refused until `start` again).
    public func stop() {
        self.lock.withLock { self.stopping = true }
        if let thread = self.thread { pthread_join(thread, nil) }
        self.thread = nil
        close(self.listener)
        self.listener = -1
    }

    public var deliveries: [Delivery] { self.lock.withLock { self.received } }

    private func serve(_ listener: Int32) {
        while !self.lock.withLock({ self.stopping }) {
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { continue }
            self.answer(fd)
            close(fd)
        }
    }

    private func answer(_ fd: Int32) {
        var interval = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        var headEnd: Int?
        var bodyLength = 0
        while bytes.count < 1 << 20 {
            if let end = headEnd, bytes.count >= end + bodyLength { break }
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            guard n > 0 else { return }
            bytes += chunk[0..<n]
            if headEnd == nil, let end = Self.endOfHead(bytes) {
                headEnd = end
                bodyLength = Self.header("content-length", in: bytes[..<end]).flatMap { Int($0) } ?? 0
            }
        }
        guard let end = headEnd, bytes.count >= end + bodyLength else { return }
        let body = Array(bytes[end..<(end + bodyLength)])
        let signature = Self.header(WebhookSignature.header.lowercased(), in: bytes[..<end]) ?? ""
        let valid = WebhookSignature.verify(header: signature, body: body, secret: self.secret, now: WallClock.nowMillis() / 1000) == nil
        let json = try? JSONParser.parse(body)
        var delivery = Delivery(
            event: json?["id"]?.stringValue ?? "", seq: json?["seq"]?.intValue ?? -1, room: json?["room"]?.stringValue ?? "",
            type: json?["type"]?.stringValue ?? "", order: json?["order"]?["id"]?.stringValue ?? "", signatureValid: valid, status: 401)
        if valid { delivery.status = self.respond(delivery) }
        self.lock.withLock { self.received.append(delivery) }
        let response =
            "HTTP/1.1 \(delivery.status) \(delivery.status < 300 ? "OK" : "Refused")\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        _ = Array(response.utf8).withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
    }

    private static func endOfHead(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 3..<bytes.count where bytes[index - 3] == 13 && bytes[index - 2] == 10 && bytes[index - 1] == 13 && bytes[index] == 10
        {
            return index + 1
        }
        return nil
    }

    private static func header(_ name: String, in head: ArraySlice<UInt8>) -> String? {
        for line in String(decoding: head, as: UTF8.self).split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":"), line[..<colon].lowercased() == name else { continue }
            return line[line.index(after: colon)...].trimmingSpaces
        }
        return nil
    }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(self.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}

/// What a receiver saw against what should have arrived: the `webhook_delivered` check.
public struct WebhookDeliveryCheck: Equatable, Sendable {
    /// Events that should have arrived and never did (answered 2xx).
    public var missing: [String] = []
    /// Rooms whose events first arrived out of `seq` order.
    public var outOfOrder: [String] = []
    public var badSignatures = 0
    /// Deliveries of an event already delivered (at-least-once: allowed, counted).
    public var duplicates = 0
    public var delivered = 0
    public var passed: Bool { self.missing.isEmpty && self.outOfOrder.isEmpty && self.badSignatures == 0 }

    /// - Parameter expected: every event id that must have been delivered.
    public init(deliveries: [WebhookReceiver.Delivery], expected: Set<String>) {
        var seen: Set<String> = []
        var lastSeq: [String: Int64] = [:]
        for delivery in deliveries {
            guard delivery.signatureValid else {
                self.badSignatures += 1
                continue
            }
            guard (200..<300).contains(delivery.status) else { continue }
            if !seen.insert(delivery.event).inserted {
                self.duplicates += 1
                continue
            }
            self.delivered += 1
            if let last = lastSeq[delivery.room], delivery.seq < last, !self.outOfOrder.contains(delivery.room) {
                self.outOfOrder.append(delivery.room)
            }
            lastSeq[delivery.room] = max(lastSeq[delivery.room] ?? delivery.seq, delivery.seq)
        }
        self.missing = expected.subtracting(seen).sorted()
    }
}
