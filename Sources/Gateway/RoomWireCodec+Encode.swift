import JSON
import LiveRoom

extension RoomWireCodec {
    /// Encodes one event as the JSON text of its frame. Called once per event, whatever the
    /// number of receivers.
    public static func encode(_ event: RoomEvent) -> [UInt8] {
        var w = JSONWriter(capacity: 128)
        switch event {
        case .welcome(let welcome):
            w.raw("{\"type\":\"welcome\",\"room\":"); w.string(welcome.room)
            w.raw(",\"epoch\":"); w.string(welcome.epoch)
            w.raw(",\"title\":"); w.string(welcome.title)
            w.raw(",\"live\":"); w.bool(welcome.live)
            w.raw(",\"viewers\":"); w.int(welcome.viewers)
            w.raw(",\"seq\":"); w.int(welcome.seq)
            w.raw(",\"pinned\":"); optionalString(&w, welcome.pinned)
            w.raw(",\"slowmode\":"); w.int(welcome.slowMode)
            w.raw(",\"now\":"); w.int(welcome.now)
            w.raw(",\"stream\":"); streamValue(&w, welcome.stream)
            w.raw(",\"products\":[")
            for (index, product) in welcome.products.enumerated() {
                if index > 0 { w.raw(",") }
                w.raw("{"); productFields(&w, product); w.raw("}")
            }
            w.raw("],\"comments\":[")
            for (index, comment) in welcome.comments.enumerated() {
                if index > 0 { w.raw(",") }
                w.raw("{"); commentFields(&w, comment); w.raw("}")
            }
            w.raw("],\"recovered\":"); w.bool(welcome.recovered)
            w.raw(",\"you\":{\"user\":"); w.string(welcome.you.user)
            w.raw(",\"name\":"); w.string(welcome.you.name)
            w.raw(",\"role\":"); w.string(welcome.you.role.rawValue)
            w.raw(",\"anonymous\":"); w.bool(welcome.you.anonymous)
            w.raw("}}")
        case .comment(let comment, let shown):
            w.raw("{\"type\":\"comment\","); commentFields(&w, comment)
            w.raw(",\"shown\":"); w.bool(shown); w.raw("}")
        case .viewers(let count):
            w.raw("{\"type\":\"viewers\",\"count\":"); w.int(count); w.raw("}")
        case .likes(let count, let total):
            w.raw("{\"type\":\"likes\",\"count\":"); w.int(count)
            w.raw(",\"total\":"); w.int(total); w.raw("}")
        case .room(let live, let title):
            w.raw("{\"type\":\"room\",\"live\":"); w.bool(live)
            w.raw(",\"title\":"); w.string(title); w.raw("}")
        case .product(let product):
            w.raw("{\"type\":\"product\","); productFields(&w, product); w.raw("}")
        case .pin(let sku):
            w.raw("{\"type\":\"pin\",\"sku\":"); optionalString(&w, sku); w.raw("}")
        case .stream(let source):
            w.raw("{\"type\":\"stream\",\"stream\":"); streamValue(&w, source); w.raw("}")
        case .sale(let sku, let sale):
            w.raw("{\"type\":\"sale\",\"sku\":"); w.string(sku); w.raw(","); saleFields(&w, sale); w.raw("}")
        case .stock(let sku, let left):
            w.raw("{\"type\":\"stock\",\"sku\":"); w.string(sku)
            w.raw(",\"left\":"); w.int(left); w.raw("}")
        case .bought(let name, let sku, let qty):
            w.raw("{\"type\":\"bought\",\"name\":"); w.string(name)
            w.raw(",\"sku\":"); w.string(sku)
            w.raw(",\"qty\":"); w.int(qty); w.raw("}")
        case .orderResult(let ref, let status, let order, let payment):
            w.raw("{\"type\":\"order.result\",\"ref\":"); w.string(ref)
            w.raw(",\"status\":"); w.string(status.rawValue)
            if let order { w.raw(",\"order\":"); w.string(order) }
            if let payment {
                w.raw(",\"state\":"); w.string(payment.state.rawValue)
                if let payBy = payment.payBy { w.raw(",\"pay_by\":"); w.int(payBy) }
                if let checkout = payment.checkout { w.raw(",\"checkout\":"); w.string(checkout) }
            }
            w.raw("}")
        case .order(let order):
            w.raw("{\"type\":\"order\","); orderFields(&w, order); w.raw("}")
        case .orderUpdate(let order):
            w.raw("{\"type\":\"order.update\","); orderFields(&w, order); w.raw("}")
        case .slowMode(let seconds):
            w.raw("{\"type\":\"slowmode\",\"seconds\":"); w.int(seconds); w.raw("}")
        case .muted(let user, let until):
            w.raw("{\"type\":\"muted\",\"user\":"); w.string(user)
            w.raw(",\"until\":")
            if let until { w.int(until) } else { w.raw("null") }
            w.raw("}")
        case .unmuted(let user):
            w.raw("{\"type\":\"unmuted\",\"user\":"); w.string(user); w.raw("}")
        case .moderators(let users):
            w.raw("{\"type\":\"moderators\",\"users\":[")
            for (index, user) in users.enumerated() {
                if index > 0 { w.raw(",") }
                w.string(user)
            }
            w.raw("]}")
        case .error(let code, let message, let ref):
            w.raw("{\"type\":\"error\",\"code\":"); w.string(code.rawValue)
            w.raw(",\"message\":"); w.string(message)
            if let ref { w.raw(",\"ref\":"); w.string(ref) }
            w.raw("}")
        }
        return w.bytes
    }

    /// The `order` stream's fields; the export writes the same, plus `room` and `ref`.
    static func orderFields(_ w: inout JSONWriter, _ order: Order) {
        w.raw("\"order\":"); w.string(order.id)
        w.raw(",\"user\":"); w.string(order.user)
        w.raw(",\"name\":"); w.string(order.name)
        w.raw(",\"sku\":"); w.string(order.sku)
        w.raw(",\"qty\":"); w.int(order.qty)
        w.raw(",\"price\":"); w.int(order.price)
        w.raw(",\"ts\":"); w.int(order.ts)
        w.raw(",\"state\":"); w.string(order.state.rawValue)
        w.raw(",\"pay_by\":")
        if let payBy = order.payBy { w.int(payBy) } else { w.raw("null") }
        w.raw(",\"reason\":"); optionalString(&w, order.reason?.rawValue)
        w.raw(",\"updated_at\":"); w.int(order.updatedAt)
    }

    private static func streamValue(_ w: inout JSONWriter, _ source: StreamSource?) {
        guard let source else { return w.raw("null") }
        w.raw("{\"url\":"); w.string(source.url)
        w.raw(",\"kind\":"); w.string(source.kind.rawValue)
        w.raw(",\"poster\":"); optionalString(&w, source.poster)
        w.raw("}")
    }

    private static func optionalString(_ w: inout JSONWriter, _ value: String?) {
        if let value { w.string(value) } else { w.raw("null") }
    }

    private static func commentFields(_ w: inout JSONWriter, _ comment: Comment) {
        w.raw("\"seq\":"); w.int(comment.seq)
        w.raw(",\"user\":"); w.string(comment.user)
        w.raw(",\"name\":"); w.string(comment.name)
        w.raw(",\"text\":"); w.string(comment.text)
        w.raw(",\"ts\":"); w.int(comment.ts)
    }

    private static func productFields(_ w: inout JSONWriter, _ product: Product) {
        w.raw("\"sku\":"); w.string(product.sku)
        w.raw(",\"title\":"); w.string(product.title)
        w.raw(",\"price\":"); w.int(product.price)
        w.raw(",\"stock\":"); w.int(product.stock)
        w.raw(",\"left\":"); w.int(product.left)
        w.raw(",\"image\":"); optionalString(&w, product.image)
        w.raw(",\"sale\":{"); saleFields(&w, product.sale); w.raw("}")
    }

    private static func saleFields(_ w: inout JSONWriter, _ sale: FlashSale) {
        w.raw("\"state\":"); w.string(sale.state.rawValue)
        w.raw(",\"limit\":"); w.int(sale.limit)
        w.raw(",\"starts_at\":")
        if let startsAt = sale.startsAt { w.int(startsAt) } else { w.raw("null") }
        w.raw(",\"ends_at\":")
        if let endsAt = sale.endsAt { w.int(endsAt) } else { w.raw("null") }
        w.raw(",\"payment_window\":"); w.int(sale.paymentWindow)
    }
}
