import Auth
import LiveRoom
import OrderJournal
import Synchronization
import Transport
import WebSocket

/// `GET /api/rooms/{room}/orders`: the room's orders for fulfilment, for its streamer (a token for
/// that room, or its owner) or an admin. The query runs on a thread of its own with a read-only
/// store connection, never on an event loop; at most `maxConcurrent` run at once, and more are
/// answered 503 with `Retry-After` (each holds a thread and a SQLite connection).
final class OrderExportHandler: HTTPHandler {
    let secret: String
    let directory: RoomDirectory
    let dataDirectory: String
    let journalEnabled: Bool
    /// Cluster mode: orders are read from this Redis, whichever node ran the room.
    let redis: String?
    let maxConcurrent: Int
    private let running = Atomic<Int>(0)

    init(
        secret: String, directory: RoomDirectory, dataDirectory: String, journalEnabled: Bool, redis: String? = nil, maxConcurrent: Int = 2
    ) {
        self.redis = redis
        self.secret = secret
        self.directory = directory
        self.dataDirectory = dataDirectory
        self.journalEnabled = journalEnabled
        self.maxConcurrent = maxConcurrent
    }

    func handle(_ request: HTTPRequest, reply: HTTPReply) {
        let head = request.head
        guard let room = request.name else { return reply(.text(.notFound, "not found\n")) }
        guard let token = head.queryValue("token") ?? head.bearerToken,
            case .success(let claims) = JWT.verify(token, secret: self.secret, now: WallClock.nowMillis() / 1000)
        else {
            return reply(.text(.unauthorized, "a valid streamer or admin token is required\n"))
        }
        // The same authority as in the room: its owner or an admin (a token's room claim alone
        // gives a streamer no authority over a room someone else owns).
        let allowed: @Sendable (String) -> Bool = { owner in claims.role == "admin" || (claims.role == "streamer" && claims.sub == owner) }
        let forbidden = HTTPResponse.text(.forbidden, "only this room's owner or an admin may export its orders\n")
        if self.redis == nil {
            guard let handle = self.directory.handleOrLoad(room) else {
                return reply(.text(.notFound, "no room '\(room)'\n"))
            }
            guard allowed(handle.owner) else { return reply(forbidden) }
        }
        let formatName = head.queryValue("format") ?? "jsonl"
        guard let format = OrderExport.Format(rawValue: formatName == "json" ? "jsonl" : formatName) else {
            return reply(.text(.badRequest, "format must be jsonl or csv\n"))
        }
        var pageSize = OrderExport.defaultLimit
        if let text = head.queryValue("limit") {
            guard let value = Int(text), value >= 1, value <= OrderExport.maxLimit else {
                return reply(.text(.badRequest, "limit must be 1...\(OrderExport.maxLimit)\n"))
            }
            pageSize = value
        }
        guard self.journalEnabled || self.redis != nil else {
            return reply(.text(.serviceUnavailable, "the order journal is off (journal.enabled: false)\n"))
        }
        guard self.running.wrappingAdd(1, ordering: .relaxed).newValue <= self.maxConcurrent else {
            self.running.wrappingSubtract(1, ordering: .relaxed)
            return reply(.text(.serviceUnavailable, "too many exports at once; retry shortly\n", headers: [("Retry-After", "1")]))
        }
        let after = head.queryValue("after")
        let limit = pageSize
        let dataDirectory = self.dataDirectory
        let redis = self.redis
        Threads.detach { [self] in
            defer { self.running.wrappingSubtract(1, ordering: .relaxed) }
            do {
                let orders: [Order]
                if let redis {
                    guard let found = try OrderExport.page(redis: redis, room: room, after: after, limit: limit) else {
                        return reply(.text(.notFound, "no room '\(room)'\n"))
                    }
                    guard allowed(found.owner) else { return reply(forbidden) }
                    orders = found.orders
                } else {
                    orders = try OrderExport.page(dataDirectory: dataDirectory, room: room, after: after, limit: limit)
                }
                // Orders are personal data (names, what they bought): every export is on record.
                Log.info(
                    "order export",
                    [
                        "user": claims.sub, "role": claims.role, "room": room, "orders": orders.count, "after": after ?? "-",
                        "format": formatName,
                    ])
                let type = format == .csv ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8"
                reply(
                    HTTPResponse(
                        status: .ok, headers: [("Content-Type", type), ("Cache-Control", "no-store")],
                        body: OrderExport.render(orders, format: format)))
            } catch OrderStoreError.unknownRoom {
                // In memory (the directory found it) but never stored yet: no orders.
                reply(HTTPResponse(status: .ok, headers: [("Cache-Control", "no-store")], body: OrderExport.render([], format: format)))
            } catch let error as OrderStoreError {
                reply(.text(.badRequest, "\(error)\n"))
            } catch {
                Log.error("order export failed", ["room": room, "error": error])
                reply(.text(.internalServerError, "export failed\n"))
            }
        }
    }
}
