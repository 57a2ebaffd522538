/// A room's rules, as plain values (from the server's config).
public struct RoomSettings: Equatable, Sendable {
    /// Viewer comments shown to the room per second. Above it comments are still accepted and
    /// counted, but only a fair sample is shown: 100,000 viewers each commenting would otherwise
    /// mean billions of deliveries per second.
    public var commentBudgetPerSecond = 50.0
    /// Per-viewer comment rate (token bucket): 1 per second with a burst of 3.
    public var commentRate = 1.0
    public var commentBurst = 3.0
    /// Longest comment, in characters.
    public var maxCommentLength = 280
    /// Comments containing any of these (case-insensitive) are refused with `blocked`.
    public var blockedWords: [String] = []
    /// Shown comments kept for `welcome` and for resuming with `since`.
    public var historySize = 100
    /// Comments included in a fresh `welcome`.
    public var welcomeComments = 20
    /// Coalescing intervals, milliseconds.
    public var viewerCountInterval: Int64 = 1000
    public var likesInterval: Int64 = 1000
    /// Likes one user may add per second (a burst of twice that): tapping faster adds nothing,
    /// so one client cannot inflate the room's like count.
    public var likesPerUserPerSecond = 3.0
    public var stockInterval: Int64 = 200
    public var boughtInterval: Int64 = 500
    /// Largest quantity one order may ask for.
    public var maxOrderQuantity = 99
    /// Products one room may hold.
    public var maxProducts = 200
    /// Where a buyer pays an order with a payment window: a URL with `{order}` in it, sent in
    /// `order.result` (`checkout`). Empty: no link (the shop tells buyers where to pay).
    public var checkoutURL = ""
    /// Longest payment window a sale may have, seconds (0: sales cannot have one).
    public var maxPaymentWindow = 86_400

    public init() {}
}
