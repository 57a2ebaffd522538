/// A stock-keeping unit's id, chosen by the streamer (`"bamboo-500g"`).
public typealias SKU = String

/// Where a flash sale is in its life. Checked by the server's clock only.
public enum SaleState: String, Sendable {
    case none
    /// Counting down to `startsAt`.
    case scheduled
    case live
    case soldOut = "sold_out"
    case ended
}

public struct FlashSale: Equatable, Sendable {
    public var state: SaleState = .none
    /// Units one buyer may buy in this sale (0 = no sale configured).
    public var limit = 0
    /// Wall-clock milliseconds since 1970; nil when not scheduled / open-ended.
    public var startsAt: Int64?
    public var endsAt: Int64?
    /// Seconds a buyer has to pay an order taken in this sale before it is cancelled and its
    /// units go back on sale; 0: orders are final when accepted.
    public var paymentWindow: Int

    public init(state: SaleState = .none, limit: Int = 0, startsAt: Int64? = nil, endsAt: Int64? = nil, paymentWindow: Int = 0) {
        self.state = state
        self.limit = limit
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.paymentWindow = paymentWindow
    }
}

public struct Product: Equatable, Sendable {
    public var sku: SKU
    public var title: String
    /// Price in cents (fen): integers only, money never goes through floating point.
    public var price: Int
    /// Units ever put on sale (initial stock plus restocks).
    public var stock: Int
    /// Units not yet sold.
    public var left: Int
    public var sale = FlashSale()
    /// A picture of the product (an http(s) URL from an allowed media origin), if the streamer gave one.
    public var image: String?

    public init(sku: SKU, title: String, price: Int, stock: Int, left: Int? = nil, sale: FlashSale = FlashSale(), image: String? = nil) {
        self.sku = sku
        self.title = title
        self.price = price
        self.stock = stock
        self.left = left ?? stock
        self.sale = sale
        self.image = image
    }
}
