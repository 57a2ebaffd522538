import Auth
import Gateway
import JSON
import OrderJournal
import WebSocket
import WebSocketClient

let testSecret = "end-to-end-test-secret-0123456789"

func token(_ sub: String, role: String = "viewer", name: String? = nil, room: String? = nil, exp: Int64 = 4_000_000_000) -> String {
    JWT.sign(JWT.Claims(sub: sub, name: name ?? sub, role: role, room: room, exp: exp), secret: testSecret)
}

/// A room client over a real socket: JSON in, JSON out.
final class LiveClient {
    let socket: BlockingWebSocketClient

    init(_ server: HometownServer, room: String, token: String?, query: String = "") throws {
        let path = "/live/\(room)?" + (token.map { "token=\($0)&" } ?? "") + query
        self.socket = try BlockingWebSocketClient(port: server.port, path: path)
    }

    init(socket: BlockingWebSocketClient) {
        self.socket = socket
    }

    func send(_ json: String) throws { try self.socket.send(text: json) }

    func next() throws -> JSONValue { try JSONParser.parse(self.socket.receiveMessage().payload) }

    /// Reads until a message of `type` arrives (others are skipped).
    func next(_ type: String, where predicate: (JSONValue) -> Bool = { _ in true }) throws -> JSONValue {
        while true {
            let message = try self.next()
            if message["type"]?.stringValue == type && predicate(message) { return message }
        }
    }
}

func liveServer<T>(
    _ configure: (inout ServerConfiguration) -> Void = { _ in }, wrapStore: ((any OrderStore) -> any OrderStore)? = nil,
    _ body: (HometownServer) throws -> T
) throws -> T {
    try withServer(
        { config in
            config.auth.jwtSecret = testSecret
            config.rooms.demo = false
            configure(&config)
        }, wrapStore: wrapStore, body)
}

/// Opens `room` as its streamer, adds "apple" with `stock` units and starts a sale with `limit`;
/// returns the streamer's client once the sale is live.
/// With `paymentWindow`, the sale's orders must be paid within that many seconds.
@discardableResult
func openAppleSale(port: UInt16, room: String, stock: Int, limit: Int, paymentWindow: Int = 0) throws -> LiveClient {
    let streamer = try LiveClient(port: port, room: room, token: token("seller", role: "streamer"))
    _ = try streamer.next("welcome")
    try streamer.send(#"{"type":"room.open"}"#)
    try streamer.send(#"{"type":"product.add","sku":"apple","title":"Apples, \"crisp\"","price":500,"stock":\#(stock)}"#)
    let window = paymentWindow > 0 ? ",\"payment_window\":\(paymentWindow)" : ""
    try streamer.send(#"{"type":"sale.start","sku":"apple","limit":\#(limit)\#(window)}"#)
    _ = try streamer.next("sale")
    return streamer
}

/// A live-room server whose store can be made to fail (`faulty.failing = true`).
func liveServerWithFaultyStore<T>(_ body: (HometownServer, FaultyStore) throws -> T) throws -> T {
    var faulty: FaultyStore?
    return try liveServer(wrapStore: { store in
        let wrapped = FaultyStore(store)
        faulty = wrapped
        return wrapped
    }) { server in try body(server, faulty!) }
}
