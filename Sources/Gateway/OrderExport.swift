import Cluster
import JSON
import LiveRoom
import OrderJournal
import RedisClient

/// Orders for fulfilment: JSON lines (one order a line, the `order` stream's fields plus `ref`
/// and `room`) or CSV with a header row. Used by `GET /api/rooms/{room}/orders` and by
/// `hometown orders`.
public enum OrderExport {
    public enum Format: String, Sendable {
        case jsonLines = "jsonl"
        case csv
    }

    /// Default and largest page sizes for `limit`.
    public static let defaultLimit = 1000
    public static let maxLimit = 10_000

    /// The CSV export's columns.
    public static let csvHeader = "order,room,sku,user,name,qty,price,ts,ref,state,pay_by,reason,updated_at"

    public static func render(_ orders: [Order], format: Format, header: Bool = true) -> [UInt8] {
        var out: [UInt8] = []
        switch format {
        case .jsonLines:
            for order in orders {
                var w = JSONWriter()
                w.raw("{")
                RoomWireCodec.orderFields(&w, order)
                w.raw(",\"room\":"); w.string(order.room)
                w.raw(",\"ref\":"); w.string(order.ref)
                w.raw("}\n")
                out += w.bytes
            }
        case .csv:
            if header { out += Array((Self.csvHeader + "\n").utf8) }
            for order in orders {
                let fields = [
                    order.id, order.room, order.sku, order.user, order.name, String(order.qty), String(order.price), String(order.ts),
                    order.ref, order.state.rawValue, order.payBy.map { String($0) } ?? "", order.reason?.rawValue ?? "",
                    String(order.updatedAt),
                ]
                out += Array((fields.map(csvField).joined(separator: ",") + "\n").utf8)
            }
        }
        return out
    }

    /// RFC 4180 quoting; a leading = + - @ is prefixed with ' so a spreadsheet does not run it.
    static func csvField(_ text: String) -> String {
        var value = text
        if let first = value.first, "=+-@".contains(first), Int(value) == nil { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingAll("\"", with: "\"\"") + "\""
    }

    /// One page from the store at `dataDirectory`, opened read-only (safe while the server runs:
    /// WAL readers never block the writer).
    public static func page(dataDirectory: String, room: String, after: String?, limit: Int) throws -> [Order] {
        let store = try SQLiteOrderStore(path: dataDirectory + "/" + SQLiteOrderStore.fileName, readOnly: true)
        guard try store.roomExists(room) else { throw OrderStoreError.unknownRoom(room) }
        return try store.orders(room: room, after: after, limit: limit)
    }
}

extension OrderExport {
    /// Cluster mode: one page of a room's orders from Redis (every node's orders for the room are
    /// in its one list), and the room's owner; nil when no such room exists. Blocking: for a
    /// thread of its own or the command line.
    public static func page(redis: String, room: String, after: String?, limit: Int) throws -> (owner: String, orders: [Order])? {
        let client = try BlockingRedisClient(url: try RedisURL(redis))
        guard case .bulkString(let state?) = try client.command(["GET", ClusterKeys.state(room)]) else { return nil }
        let owner = try ClusterCodec.decodeSnapshot(state).owner
        // Walked in chunks, so a page deep in a large room does not hold every order at once.
        let chunk = 5000
        var start = 0
        var found = after == nil
        var page: [Order] = []
        while page.count < limit {
            let items = try client.command(["LRANGE", ClusterKeys.orders(room), String(start), String(start + chunk - 1)]).array ?? []
            for item in items {
                guard case .bulkString(let bytes?) = item else { continue }
                let order = try ClusterCodec.decodeOrder(bytes)
                if found {
                    page.append(order)
                    if page.count == limit { break }
                } else if order.id == after {
                    found = true
                }
            }
            if items.count < chunk { break }
            start += chunk
        }
        if let after, !found { throw OrderStoreError.unknownOrder(after) }
        // Paid and cancelled orders carry their later state in the room's hash.
        if !page.isEmpty {
            let states = try client.command(["HMGET", ClusterKeys.orderStates(room)] + page.map(\.id)).array ?? []
            for (index, state) in states.enumerated() where index < page.count {
                if case .bulkString(let bytes?) = state { try ClusterCodec.apply(state: bytes, to: &page[index]) }
            }
        }
        return (owner, page)
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for character in self { if character == target { out += replacement } else { out.append(character) } }
        return out
    }
}
