/// What a member asks of the room (decoded from its JSON by the gateway).
public enum RoomCommand: Equatable, Sendable {
    // Everyone
    case comment(text: String)
    case like
    case order(sku: SKU, qty: Int, ref: String)
    /// The buyer cancels their own unpaid order.
    case orderCancel(order: String)
    // Streamer (and admin)
    case open(title: String?)
    case close
    case productAdd(sku: SKU, title: String, price: Int, stock: Int, image: String? = nil)
    /// Sets (or with nil clears) the room's video.
    case stream(StreamSource?)
    case restock(sku: SKU, qty: Int)
    case pin(sku: SKU?)
    case saleStart(sku: SKU, limit: Int, countdown: Int?, seconds: Int?, paymentWindow: Int = 0)
    case saleStop(sku: SKU)
    case slowMode(seconds: Int)
    // Moderator, streamer, admin
    case mute(user: String, seconds: Int?)
    case unmute(user: String)
    case ban(user: String)
    case unban(user: String)
    // Owner (and admin)
    case moderatorAdd(user: String)
    case moderatorRemove(user: String)

    /// The wire name of the command, for errors and logs.
    public var name: String {
        switch self {
        case .comment: return "comment"
        case .like: return "like"
        case .order: return "order"
        case .orderCancel: return "order.cancel"
        case .open: return "room.open"
        case .close: return "room.close"
        case .productAdd: return "product.add"
        case .stream: return "stream"
        case .restock: return "product.restock"
        case .pin: return "pin"
        case .saleStart: return "sale.start"
        case .saleStop: return "sale.stop"
        case .slowMode: return "slowmode"
        case .mute: return "mute"
        case .unmute: return "unmute"
        case .ban: return "ban"
        case .unban: return "unban"
        case .moderatorAdd: return "moderator.add"
        case .moderatorRemove: return "moderator.remove"
        }
    }

    /// Whether the command's outcome depends on where sales are on the clock. Comments, likes
    /// and moderation do not, so they skip the walk over every product.
    var dependsOnSaleClock: Bool {
        switch self {
        case .order, .open, .close, .productAdd, .restock, .pin, .saleStart, .saleStop: return true
        case .comment, .like, .orderCancel, .stream, .slowMode, .mute, .unmute, .ban, .unban, .moderatorAdd, .moderatorRemove: return false
        }
    }

    /// The least authority in the room that may send it.
    var requiredAuthority: Authority {
        switch self {
        case .comment, .like, .order, .orderCancel: return .viewer
        case .open, .close, .productAdd, .restock, .pin, .saleStart, .saleStop, .slowMode, .moderatorAdd, .moderatorRemove, .stream:
            return .owner
        case .mute, .unmute, .ban, .unban: return .moderator
        }
    }
}
