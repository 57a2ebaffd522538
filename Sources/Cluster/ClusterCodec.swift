import JSON
import LiveRoom

/// How room state, orders and comments are written in Redis: small JSON documents, readable with
/// `redis-cli` (an operator can see what a room holds without our code).
public enum ClusterCodec {
    public struct Error: Swift.Error, CustomStringConvertible {
        public let description: String
    }

    // MARK: Orders

    /// An order as it was accepted (`ht:{room}:orders`); its deadline is part of it.
    public static func encode(_ order: Order) -> String {
        var fields: [(String, JSONValue)] = [
            ("id", .string(order.id)), ("room", .string(order.room)), ("sku", .string(order.sku)), ("user", .string(order.user)),
            ("name", .string(order.name)), ("qty", .int(Int64(order.qty))), ("price", .int(Int64(order.price))),
            ("ref", .string(order.ref)), ("ts", .int(order.ts)),
        ]
        if let payBy = order.payBy { fields.append(("pay_by", .int(payBy))) }
        return render(.object(fields))
    }

    /// An order's later state (`ht:{room}:order_states`, by order id): paid or cancelled, why, when.
    public static func encodeState(_ order: Order) -> String {
        render(
            .object([
                ("state", .string(order.state.rawValue)), ("reason", order.reason.map { .string($0.rawValue) } ?? .null),
                ("updated_at", .int(order.updatedAt)),
            ]))
    }

    /// Applies a stored later state to an order.
    public static func apply(state bytes: [UInt8], to order: inout Order) throws {
        let json = try JSONParser.parse(bytes)
        guard let state = json["state"]?.stringValue.flatMap(OrderState.init(rawValue:)) else {
            throw Error(description: "stored order state is missing fields")
        }
        order.state = state
        order.reason = json["reason"]?.stringValue.flatMap(CancelReason.init(rawValue:))
        order.updatedAt = json["updated_at"]?.intValue ?? order.updatedAt
    }

    public static func decodeOrder(_ bytes: [UInt8]) throws -> Order {
        let json = try JSONParser.parse(bytes)
        guard let id = json["id"]?.stringValue, let room = json["room"]?.stringValue, let sku = json["sku"]?.stringValue,
            let user = json["user"]?.stringValue, let qty = json["qty"]?.intValue, let price = json["price"]?.intValue,
            let ref = json["ref"]?.stringValue, let ts = json["ts"]?.intValue
        else { throw Error(description: "stored order is missing fields") }
        return Order(
            id: id, room: room, sku: sku, user: user, name: json["name"]?.stringValue ?? "", qty: Int(qty), price: Int(price), ref: ref,
            ts: ts, payBy: json["pay_by"]?.intValue)
    }

    // MARK: Comments

    public static func encode(_ comment: Comment) -> String {
        render(
            .object([
                ("seq", .int(Int64(comment.seq))), ("user", .string(comment.user)), ("name", .string(comment.name)),
                ("text", .string(comment.text)), ("ts", .int(comment.ts)),
            ]))
    }

    public static func decodeComment(_ bytes: [UInt8]) throws -> Comment {
        let json = try JSONParser.parse(bytes)
        guard let seq = json["seq"]?.intValue, seq >= 0, let user = json["user"]?.stringValue, let text = json["text"]?.stringValue,
            let ts = json["ts"]?.intValue
        else { throw Error(description: "stored comment is missing fields") }
        return Comment(seq: UInt64(seq), user: user, name: json["name"]?.stringValue ?? "", text: text, ts: ts)
    }

    // MARK: Room state

    public static func encode(_ snapshot: RoomSnapshot) -> String {
        func optional(_ value: Int64?) -> JSONValue { value.map { .int($0) } ?? .null }
        let products: [JSONValue] = snapshot.products.map { product in
            .object([
                ("sku", .string(product.sku)), ("title", .string(product.title)), ("price", .int(Int64(product.price))),
                ("stock", .int(Int64(product.stock))), ("sale", .string(product.sale.state.rawValue)),
                ("limit", .int(Int64(product.sale.limit))), ("starts_at", optional(product.sale.startsAt)),
                ("ends_at", optional(product.sale.endsAt)), ("payment_window", .int(Int64(product.sale.paymentWindow))),
                ("image", product.image.map { .string($0) } ?? .null),
            ])
        }
        return render(
            .object([
                ("id", .string(snapshot.id)), ("owner", .string(snapshot.owner)), ("title", .string(snapshot.title)),
                ("live", .bool(snapshot.live)), ("slowmode", .int(Int64(snapshot.slowMode))),
                ("pinned", snapshot.pinned.map { .string($0) } ?? .null), ("products", .array(products)),
                ("moderators", .array(snapshot.moderators.map { .string($0) })), ("banned", .array(snapshot.banned.map { .string($0) })),
                ("muted", .object(snapshot.muted.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })),
                (
                    "stream",
                    snapshot.stream.map { stream in
                        .object([
                            ("url", .string(stream.url)), ("kind", .string(stream.kind.rawValue)),
                            ("poster", stream.poster.map { .string($0) } ?? .null),
                        ])
                    } ?? .null
                ),
            ]))
    }

    public static func decodeSnapshot(_ bytes: [UInt8]) throws -> RoomSnapshot {
        let json = try JSONParser.parse(bytes)
        guard let id = json["id"]?.stringValue, let owner = json["owner"]?.stringValue, let products = json["products"]?.arrayValue
        else { throw Error(description: "stored room is missing fields") }
        var snapshot = RoomSnapshot(
            id: id, owner: owner, title: json["title"]?.stringValue ?? "", live: json["live"]?.boolValue ?? false,
            slowMode: Int(json["slowmode"]?.intValue ?? 0), pinned: json["pinned"]?.stringValue, products: [])
        for product in products {
            guard let sku = product["sku"]?.stringValue, let price = product["price"]?.intValue, let stock = product["stock"]?.intValue
            else { throw Error(description: "stored product is missing fields") }
            let sale = FlashSale(
                state: SaleState(rawValue: product["sale"]?.stringValue ?? "none") ?? .none, limit: Int(product["limit"]?.intValue ?? 0),
                startsAt: product["starts_at"]?.intValue, endsAt: product["ends_at"]?.intValue,
                paymentWindow: Int(product["payment_window"]?.intValue ?? 0))
            snapshot.products.append(
                Product(
                    sku: sku, title: product["title"]?.stringValue ?? "", price: Int(price), stock: Int(stock), sale: sale,
                    image: product["image"]?.stringValue))
        }
        if let url = json["stream"]?["url"]?.stringValue {
            snapshot.stream = StreamSource(
                url: url,
                kind: json["stream"]?["kind"]?.stringValue.flatMap(StreamSource.Kind.init(rawValue:)) ?? StreamSource.kind(of: url),
                poster: json["stream"]?["poster"]?.stringValue)
        }
        snapshot.moderators = json["moderators"]?.arrayValue?.compactMap(\.stringValue) ?? []
        snapshot.banned = json["banned"]?.arrayValue?.compactMap(\.stringValue) ?? []
        for field in json["muted"]?.objectFields ?? [] {
            if let until = field.value.intValue { snapshot.muted[field.key] = until }
        }
        return snapshot
    }

    static func render(_ value: JSONValue) -> String {
        var writer = JSONWriter()
        writer.value(value)
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}
