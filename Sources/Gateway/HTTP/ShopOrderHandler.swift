import Auth
import JSON
import LiveRoom
import OrderJournal
import WebSocket

/// `POST /api/orders/{order}/paid` and `POST /api/orders/{order}/cancel`: the shop's server tells
/// the room an order was paid, or cancels it (docs/ORDERS.md). Server to server, authenticated by
/// the shop token (`Authorization: Bearer …`, compared in constant time). Idempotent: asking for
/// the state an order is already in answers 200 with it; an impossible change (paid after it
/// expired) answers 409 with the order's state. The room decides, on its loop, after storing — in
/// a cluster, on the node that runs the room (the call is forwarded there).
struct ShopOrderHandler: HTTPHandler {
    let change: OrderChange
    let token: String
    let rooms: RoomRunner
    let metrics: ServerMetrics

    func handle(_ request: HTTPRequest, reply: HTTPReply) {
        let metrics = self.metrics
        let answer: @Sendable (HTTPStatus, String, Order?) -> Void = { status, error, order in
            metrics.shopCalls.increment(String(status.code))
            var w = JSONWriter()
            w.raw("{")
            if !error.isEmpty {
                w.raw("\"error\":")
                w.string(error)
            }
            if let order {
                if !error.isEmpty { w.raw(",") }
                w.raw("\"order\":")
                w.bytes += Array(OutboxEvent.of(order).order.utf8)
            }
            w.raw("}")
            var headers: [(name: String, value: String)] = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
            if status == .serviceUnavailable { headers.append(("Retry-After", "1")) }
            reply(HTTPResponse(status: status, headers: headers, body: w.bytes))
        }
        guard !self.token.isEmpty else { return answer(.notFound, "the shop API is off (set orders.shop_token)", nil) }
        guard let given = request.head.bearerToken, HMACSHA256.constantTimeEquals(Array(given.utf8), Array(self.token.utf8)) else {
            return answer(.unauthorized, "the shop token is required (Authorization: Bearer …)", nil)
        }
        guard let id = request.name, let room = Order.room(ofID: id) else {
            return answer(.notFound, "no order '\(request.name ?? "")'", nil)
        }
        let reply: @Sendable (ShopAnswer) -> Void = { result in
            switch result {
            case .done(let order): answer(.ok, "", order)
            case .conflict(let order, let message): answer(.conflict, message, order)
            case .notFound: answer(.notFound, "no order '\(id)'", nil)
            case .unavailable: answer(.serviceUnavailable, "the change could not be stored, so it was not made; retry", nil)
            }
        }
        if let cluster = self.rooms.cluster {
            // Cluster mode: decided by the room's owner, wherever it runs.
            guard cluster.roomExists(room) else { return answer(.notFound, "no order '\(id)'", nil) }
            return cluster.shop(self.change, order: id, room: room, reply: reply)
        }
        guard let handle = self.rooms.directory.handleOrLoad(room) else { return answer(.notFound, "no order '\(id)'", nil) }
        self.rooms.shop(self.change, order: id, handle: handle, reply: reply)
    }
}
