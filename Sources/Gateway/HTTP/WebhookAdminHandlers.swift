import Auth
import JSON
import OrderJournal
import RedisClient
import Transport
import WebSocket
import Webhooks

/// `GET /api/admin/webhooks/parked` (admin token): webhook events that ran out of attempts, oldest
/// first, with their attempts and last error. Read on a thread of its own (never on a loop).
struct WebhookParkedHandler: HTTPHandler {
    let secret: String
    let dataDirectory: String
    /// Cluster mode: parked events are in each room's Redis list.
    let redis: RedisURL?

    func handle(_ request: HTTPRequest, reply: HTTPReply) {
        guard isAdmin(request, secret: self.secret) else { return reply(.text(.unauthorized, "an admin token is required\n")) }
        let path = self.dataDirectory + "/" + SQLiteOrderStore.fileName
        let redis = self.redis
        Threads.detach {
            do {
                let events =
                    try redis.map { try RedisOutbox.parked(url: $0, limit: 1000) }
                    ?? SQLiteOrderStore(path: path, readOnly: true).outbox(after: 0, parked: true, limit: 1000)
                var w = JSONWriter()
                w.raw("[")
                for (index, event) in events.enumerated() {
                    if index > 0 { w.raw(",") }
                    w.raw("{\"id\":"); w.string(event.event)
                    w.raw(",\"seq\":"); w.int(event.seq)
                    w.raw(",\"type\":"); w.string(event.type)
                    w.raw(",\"room\":"); w.string(event.room)
                    w.raw(",\"attempts\":"); w.int(event.attempts)
                    w.raw(",\"last_error\":"); w.string(event.lastError ?? "")
                    w.raw(",\"created_at\":"); w.int(event.createdAt)
                    w.raw("}")
                }
                w.raw("]")
                reply(
                    HTTPResponse(
                        status: .ok, headers: [("Content-Type", "application/json"), ("Cache-Control", "no-store")], body: w.bytes))
            } catch {
                reply(.text(.internalServerError, "cannot read the outbox: \(error)\n"))
            }
        }
    }
}

/// `POST /api/admin/webhooks/replay` (admin token): parked events go back in line with fresh
/// attempts — all of them, or one with `?event=<id>`. Answers how many were replayed.
struct WebhookReplayHandler: HTTPHandler {
    let secret: String
    let dataDirectory: String
    let webhooks: WebhookDelivery?
    let redis: RedisURL?

    func handle(_ request: HTTPRequest, reply: HTTPReply) {
        guard isAdmin(request, secret: self.secret) else { return reply(.text(.unauthorized, "an admin token is required\n")) }
        guard let webhooks = self.webhooks else { return reply(.text(.notFound, "no webhook is configured (orders.webhook_url)\n")) }
        let only = request.head.queryValue("event")
        let path = self.dataDirectory + "/" + SQLiteOrderStore.fileName
        if let redis = self.redis {
            // Cluster mode: back to the front of each room's outbox; its owner delivers them.
            return Threads.detach {
                do {
                    let moved = try RedisOutbox.replay(url: redis, event: only)
                    if let only, moved == 0 { return reply(.text(.notFound, "no parked event '\(only)'\n")) }
                    Log.info("webhook events replayed by an operator", ["events": moved])
                    reply(
                        HTTPResponse(
                            status: .ok, headers: [("Content-Type", "application/json")], body: Array("{\"replayed\":\(moved)}".utf8)))
                } catch {
                    reply(.text(.serviceUnavailable, "cannot reach Redis: \(error)\n"))
                }
            }
        }
        Threads.detach {
            do {
                let parked = try SQLiteOrderStore(path: path, readOnly: true).outbox(after: 0, parked: true, limit: Int.max)
                let chosen = only.map { id in parked.filter { $0.event == id } } ?? parked
                if let only, chosen.isEmpty { return reply(.text(.notFound, "no parked event '\(only)'\n")) }
                webhooks.replay(chosen)
                Log.info("webhook events replayed by an operator", ["events": chosen.count])
                reply(
                    HTTPResponse(
                        status: .ok, headers: [("Content-Type", "application/json")], body: Array("{\"replayed\":\(chosen.count)}".utf8)))
            } catch {
                reply(.text(.internalServerError, "cannot read the outbox: \(error)\n"))
            }
        }
    }
}
