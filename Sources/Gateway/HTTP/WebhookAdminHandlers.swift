import Auth
import JSON
import OrderJournal
import Transport
import WebSocket
import Webhooks

/// `GET /api/admin/webhooks/parked` (admin token): webhook events that ran out of attempts, oldest
/// first, with their attempts and last error. Read on a thread of its own (never on a loop).
struct WebhookParkedHandler: HTTPHandler {
    let secret: String
    let dataDirectory: String

    func handle(_ request: HTTPRequest, reply: HTTPReply) {
        guard isAdmin(request, secret: self.secret) else { return reply(.text(.unauthorized, "an admin token is required\n")) }
        let path = self.dataDirectory + "/" + SQLiteOrderStore.fileName
        Threads.detach {
            do {
                let events = try SQLiteOrderStore(path: path, readOnly: true).outbox(after: 0, parked: true, limit: 1000)
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

    func handle(_ request: HTTPRequest, reply: HTTPReply) {
        guard isAdmin(request, secret: self.secret) else { return reply(.text(.unauthorized, "an admin token is required\n")) }
        guard let webhooks = self.webhooks else { return reply(.text(.notFound, "no webhook is configured (orders.webhook_url)\n")) }
        let only = request.head.queryValue("event")
        let path = self.dataDirectory + "/" + SQLiteOrderStore.fileName
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
