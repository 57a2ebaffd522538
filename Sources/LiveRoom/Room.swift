/// One live selling room: its products, flash sales, comments, viewers and orders.
///
/// Pure logic: commands and the current time in, effects out. It never touches a socket or reads
/// a clock, so every rule is tested deterministically. It is owned by one event loop; nothing
/// here is locked, and stock cannot oversell because check-and-decrement happens in one call on
/// one thread.
public final class Room {
    public let id: String
    /// Changes when the server restarts: clients compare it to know whether `seq` still means
    /// what they think.
    public let epoch: String
    public let settings: RoomSettings
    public internal(set) var title: String
    public internal(set) var live = false
    public internal(set) var slowModeSeconds = 0
    public internal(set) var pinned: SKU?
    public internal(set) var stream: StreamSource?
    /// The streamer who created the room (allowed to export its orders).
    public var owner = ""

    let ledger: any StockLedger
    let sequencer: any CommentSequencer

    var products: [SKU: Product] = [:]
    var productOrder: [SKU] = []
    var history = CommentHistory(capacity: 100)

    var members: [MemberID: Identity] = [:]
    /// A user's connections here: an order's update goes to its buyer without a walk over everyone.
    var membersByUser: [String: [MemberID]] = [:]
    /// Connections per counted person (everyone but streamers): the viewer count is its size.
    var people: [String: Int] = [:]

    var lastCommentAt: [String: Int64] = [:]
    var commentBuckets: [String: TokenBucket] = [:]
    var likeBuckets: [String: TokenBucket] = [:]
    var mutedUntil: [String: Int64] = [:]
    var banned: Set<String> = []
    /// Users the owner named moderators of this room (stored with the room).
    public internal(set) var moderators: Set<String> = []
    /// Connected members with authority to see the order stream (moderator and above).
    public internal(set) var staffMembers: Set<MemberID> = []
    var budget: TokenBucket
    var budgetWindow = BudgetWindow()
    var random: SplitMix64

    /// Every order the room took, by buyer and ref (each ref once), whatever its state now.
    var acceptedOrders: [String: Order] = [:]
    /// Order id → its key in `acceptedOrders` (the shop and the buyer name orders by id).
    var orderKeys: [String: String] = [:]
    /// Unpaid orders by payment deadline, for the clock.
    var deadlines = PaymentDeadlines()
    /// Orders whose change of state is being stored, by id.
    var updating: [String: OrderUpdate] = [:]
    var pendingOrders: [String: PendingOrder] = [:]
    var boughtBySKU: [SKU: [String: Int]] = [:]
    var orderCounter = 0

    var lastViewerCount = 0
    var viewersSentAt: Int64 = 0
    var pendingLikes = 0
    public internal(set) var totalLikes = 0
    var likesSentAt: Int64 = 0
    var stockDirty: Set<SKU> = []
    /// Set by `announce`: this call changed durable state, so its effects start with `.persist`.
    var unsavedChange = false
    /// The state last stored (`saveSucceeded`), what a failed save returns to; the one being
    /// stored, and whose command asked for it. One save at a time: the runner holds the room's
    /// other work until it is answered.
    var lastSaved: RoomSnapshot
    var pendingSave: RoomSnapshot?
    var pendingSaveBy: (member: MemberID, ref: String?)?
    /// Per-buyer counts a `sale.start` reset, kept until its save is answered.
    var boughtBeforeSaleStart: [SKU: [String: Int]] = [:]
    var stockSentAt: [SKU: Int64] = [:]
    var pendingBought: (name: String, sku: SKU, qty: Int)?
    /// When idle commenters were last forgotten.
    var sweptAt: Int64 = 0
    var boughtSentAt: Int64 = 0

    /// - Parameters:
    ///   - seed: for the fair sampling of comments over the broadcast budget (fixed in tests).
    public init(
        id: String, epoch: String, title: String = "", settings: RoomSettings = RoomSettings(),
        ledger: any StockLedger = InMemoryStockLedger(), sequencer: any CommentSequencer = InMemoryCommentSequencer(),
        now: Int64, seed: UInt64 = 0x484F_4D45
    ) {
        self.id = id
        self.epoch = epoch
        self.title = title
        self.settings = settings
        self.ledger = ledger
        self.sequencer = sequencer
        self.history = CommentHistory(capacity: max(1, settings.historySize))
        self.budget = TokenBucket(rate: settings.commentBudgetPerSecond, burst: max(1, settings.commentBudgetPerSecond), now: now)
        self.random = SplitMix64(seed: seed)
        self.lastSaved = RoomSnapshot(id: id, owner: "", title: title, live: false, slowMode: 0, pinned: nil, products: [])
    }

    // MARK: - Reading state

    /// Distinct people watching (streamers not counted; each anonymous connection counts once).
    public var viewerCount: Int { self.people.count }
    public var memberCount: Int { self.members.count }
    /// Orders accepted and stored (each ref once).
    public var acceptedOrderCount: Int { self.acceptedOrders.count }
    /// Orders reserved and waiting for their commit, changes of state being stored, or unpaid
    /// orders whose deadline the room must watch: the room stays in memory while any exist.
    public var hasOrdersInFlight: Bool { !self.pendingOrders.isEmpty || !self.updating.isEmpty || self.deadlines.count > 0 }
    public var seq: UInt64 { self.sequencer.current }

    /// A product with its current `left`.
    public func product(_ sku: SKU) -> Product? {
        guard var product = self.products[sku] else { return nil }
        product.left = self.ledger.left(sku)
        return product
    }

    public var allProducts: [Product] { self.productOrder.compactMap { self.product($0) } }

    public func identity(of member: MemberID) -> Identity? { self.members[member] }

    public func isBanned(_ user: String) -> Bool { self.banned.contains(user) }

    /// Units `user` bought of `sku` in its current sale.
    public func bought(_ sku: SKU, by user: String) -> Int { self.boughtBySKU[sku]?[user] ?? 0 }

    /// Users the room keeps comment state for (rate limits, slow mode).
    public var trackedCommenters: Int { self.commentBuckets.count }
    /// Users the room keeps a like rate for.
    public var trackedLikers: Int { self.likeBuckets.count }

    // MARK: - Members

    /// A connection joins. `since`/`epoch` come from a reconnecting client's last state.
    public func join(_ member: MemberID, as identity: Identity, since: UInt64? = nil, epoch: String? = nil, now: Int64)
        -> [RoomEffect]
    {
        if self.banned.contains(identity.user) {
            return [
                .send(member, .error(code: .forbidden, message: "you are banned from this room", ref: nil)),
                .disconnect([member], code: 4003, reason: "banned"),
            ]
        }
        self.members[member] = identity
        self.membersByUser[identity.user, default: []].append(member)
        let authority = self.authority(of: identity)
        if authority.seesOrders { self.staffMembers.insert(member) }
        // People are counted as viewers unless they run the room.
        if authority < .owner { self.people[identity.user, default: 0] += 1 }
        let (comments, recovered) = self.recovery(since: since, epoch: epoch)
        // `you` says what the member may do here: its role is its authority in this room.
        var you = identity
        you.role = authority.role
        let welcome = RoomEvent.Welcome(
            room: self.id, epoch: self.epoch, title: self.title, live: self.live, viewers: self.viewerCount,
            seq: self.sequencer.current, pinned: self.pinned, products: self.allProducts, comments: comments,
            recovered: recovered, you: you, slowMode: self.slowModeSeconds, stream: self.stream, now: now)
        return [.send(member, .welcome(welcome))]
    }

    /// Exactly the missed comments when history still reaches back to `since` in the same epoch;
    /// otherwise the latest ones and `recovered: false` (the client reloads its state).
    func recovery(since: UInt64?, epoch: String?) -> ([Comment], Bool) {
        let latest = self.history.last(self.settings.welcomeComments)
        guard let since, epoch == self.epoch, since <= self.sequencer.current else { return (latest, false) }
        if since == self.sequencer.current { return ([], true) }
        guard let oldest = self.history.oldestSeq, oldest <= since + 1 else { return (latest, false) }
        return (self.history.after(since), true)
    }

    public func leave(_ member: MemberID, now: Int64) -> [RoomEffect] {
        guard let identity = self.members.removeValue(forKey: member) else { return [] }
        if let others = self.membersByUser[identity.user]?.filter({ $0 != member }) {
            self.membersByUser[identity.user] = others.isEmpty ? nil : others
        }
        self.staffMembers.remove(member)
        // Owner and admin authority never changes while connected, so this mirrors `join`.
        if self.authority(of: identity) < .owner, let count = self.people[identity.user] {
            self.people[identity.user] = count > 1 ? count - 1 : nil
        }
        return []
    }

    // MARK: - Commands

    /// Applies one command from `member`. `ref` is the client's request reference, echoed in errors.
    public func apply(_ command: RoomCommand, from member: MemberID, ref: String? = nil, now: Int64) -> [RoomEffect] {
        self.sealed(self.applying(command, from: member, ref: ref, now: now), by: (member, ref))
    }

    private func applying(_ command: RoomCommand, from member: MemberID, ref: String?, now: Int64) -> [RoomEffect] {
        guard let identity = self.members[member] else { return [] }
        // The one authority check: the member's authority in this room, whatever its token says.
        let authority = self.authority(of: identity)
        if authority < command.requiredAuthority {
            let who = command.requiredAuthority == .owner ? "the room's owner" : "the room's moderators"
            return self.refuse(member, .forbidden, "\(command.name) is for \(who)", ref)
        }
        var effects = command.dependsOnSaleClock ? self.advanceSales(now: now) : []
        switch command {
        case .comment(let text):
            effects += self.comment(text, from: member, identity, ref: ref, now: now)
        case .like:
            // Counted only within the user's like rate; taps beyond it are silently ignored.
            let rate = self.settings.likesPerUserPerSecond
            var bucket = self.likeBuckets[identity.user] ?? TokenBucket(rate: rate, burst: max(1, 2 * rate), now: now)
            if bucket.take(now: now) {
                self.pendingLikes += 1
                self.totalLikes += 1
            }
            self.likeBuckets[identity.user] = bucket
        case .order(let sku, let qty, let ref):
            effects += self.order(sku: sku, qty: qty, ref: ref, from: member, identity, now: now)
        case .orderCancel(let id):
            effects += self.cancelByBuyer(id, member: member, identity, ref: ref, now: now)
        case .open(let title):
            if let title { self.title = title }
            self.live = true
            effects.append(self.announce(.room(live: true, title: self.title)))
        case .close:
            effects += self.closeRoom(now: now)
        case .productAdd(let sku, let title, let price, let stock, let image):
            effects += self.addProduct(sku: sku, title: title, price: price, stock: stock, image: image, member: member, ref: ref)
        case .stream(let source):
            self.stream = source
            effects.append(self.announce(.stream(source)))
        case .restock(let sku, let qty):
            effects += self.restock(sku: sku, qty: qty, member: member, ref: ref, now: now)
        case .pin(let sku):
            if let sku, self.products[sku] == nil { return effects + self.refuse(member, .notFound, "no product \(sku)", ref) }
            self.pinned = sku
            effects.append(self.announce(.pin(sku: sku)))
        case .saleStart(let sku, let limit, let countdown, let seconds, let paymentWindow):
            if paymentWindow > self.settings.maxPaymentWindow {
                let most = self.settings.maxPaymentWindow
                let message =
                    most == 0
                    ? "this server takes no payment windows (payment_window must be 0)" : "payment_window is at most \(most) seconds"
                return effects + self.refuse(member, .badRequest, message, ref)
            }
            effects += self.startSale(
                sku: sku, limit: limit, countdown: countdown, seconds: seconds, paymentWindow: paymentWindow, member: member, ref: ref,
                now: now)
        case .saleStop(let sku):
            guard var product = self.products[sku] else { return effects + self.refuse(member, .notFound, "no product \(sku)", ref) }
            product.sale.state = .ended
            product.sale.endsAt = now
            self.products[sku] = product
            effects.append(self.announce(.sale(sku: sku, sale: product.sale)))
        case .slowMode(let seconds):
            self.slowModeSeconds = seconds
            effects.append(self.announce(.slowMode(seconds: seconds)))
        case .mute(let user, let seconds):
            if let refusal = self.refuseModeration(of: user, by: identity, authority, member: member, ref: ref) { return refusal }
            let until = seconds.map { now + Int64($0) * 1000 } ?? Int64.max
            self.mutedUntil[user] = until
            self.unsavedChange = true
            effects += self.tellUserAndStaff(user, .muted(user: user, until: seconds == nil ? nil : until))
        case .unmute(let user):
            if let refusal = self.refuseModeration(of: user, by: identity, authority, member: member, ref: ref) { return refusal }
            self.mutedUntil[user] = nil
            self.unsavedChange = true
            effects += self.tellUserAndStaff(user, .unmuted(user: user))
        case .ban(let user):
            if let refusal = self.refuseModeration(of: user, by: identity, authority, member: member, ref: ref) { return refusal }
            effects += self.ban(user)
        case .unban(let user):
            if let refusal = self.refuseModeration(of: user, by: identity, authority, member: member, ref: ref) { return refusal }
            effects += self.lift(user)
        case .moderatorAdd(let user):
            guard user != self.owner else { return self.refuse(member, .badRequest, "the owner already runs the room", ref) }
            // A moderator is neither banned nor muted here.
            if self.banned.contains(user) || self.mutedUntil[user] != nil { effects += self.lift(user) }
            self.moderators.insert(user)
            self.unsavedChange = true
            self.refreshStaff()
            effects.append(.staff(.moderators(users: self.moderators.sorted())))
        case .moderatorRemove(let user):
            self.moderators.remove(user)
            self.unsavedChange = true
            self.refreshStaff()
            effects.append(.staff(.moderators(users: self.moderators.sorted())))
        }
        return effects
    }

    /// A change of durable state (room, product, pin, sale, slow mode) told to everyone: never
    /// dropped, and marks the call's effects as needing a save before they are carried out.
    func announce(_ event: RoomEvent) -> RoomEffect {
        self.unsavedChange = true
        return .broadcast(event, droppable: false)
    }

    /// The effects of one public call, led by `.persist` when the call changed durable state.
    func sealed(_ effects: [RoomEffect], by actor: (member: MemberID, ref: String?)? = nil) -> [RoomEffect] {
        guard self.unsavedChange else { return effects }
        self.unsavedChange = false
        let snapshot = self.snapshot()
        self.pendingSave = snapshot
        self.pendingSaveBy = actor
        return [.persist(snapshot)] + effects
    }

    func refuse(_ member: MemberID, _ code: RoomError, _ message: String, _ ref: String?) -> [RoomEffect] {
        [.send(member, .error(code: code, message: message, ref: ref))]
    }

    func members(of user: String) -> [MemberID] {
        (self.membersByUser[user] ?? []).sorted()
    }

    private func tellUserAndStaff(_ user: String, _ event: RoomEvent) -> [RoomEffect] {
        var effects: [RoomEffect] = [.staff(event)]
        for member in self.members(of: user) where !self.staffMembers.contains(member) {
            effects.append(.send(member, event))
        }
        return effects
    }

    /// Moderation acts only downwards: nobody mutes or bans the owner (online or not), nor
    /// themselves, and a moderator cannot act against another moderator or anyone above.
    private func refuseModeration(of user: String, by identity: Identity, _ authority: Authority, member: MemberID, ref: String?)
        -> [RoomEffect]?
    {
        if user == identity.user { return self.refuse(member, .badRequest, "you cannot moderate yourself", ref) }
        if user == self.owner { return self.refuse(member, .forbidden, "nobody may mute or ban the room's owner", ref) }
        if self.standing(of: user) >= authority {
            return self.refuse(member, .forbidden, "\(user) has as much authority here as you", ref)
        }
        return nil
    }

    private func ban(_ user: String) -> [RoomEffect] {
        self.banned.insert(user)
        self.mutedUntil[user] = Int64.max
        self.unsavedChange = true
        let targets = self.members(of: user)
        var effects: [RoomEffect] = [.staff(.muted(user: user, until: nil))]
        if !targets.isEmpty { effects.append(.disconnect(targets, code: 4003, reason: "banned")) }
        return effects
    }

    /// Lifts a user's ban and mute.
    private func lift(_ user: String) -> [RoomEffect] {
        self.banned.remove(user)
        self.mutedUntil[user] = nil
        self.unsavedChange = true
        return self.tellUserAndStaff(user, .unmuted(user: user))
    }

    /// Recomputes who sees the order stream after the moderator list changed.
    func refreshStaff() {
        self.staffMembers = Set(self.members.compactMap { self.authority(of: $0.value).seesOrders ? $0.key : nil })
    }

    private func closeRoom(now: Int64) -> [RoomEffect] {
        self.live = false
        var effects: [RoomEffect] = [self.announce(.room(live: false, title: self.title))]
        for sku in self.productOrder {
            guard var product = self.products[sku], product.sale.state == .live || product.sale.state == .scheduled else { continue }
            product.sale.state = .ended
            product.sale.endsAt = now
            self.products[sku] = product
            effects.append(self.announce(.sale(sku: sku, sale: product.sale)))
        }
        return effects
    }
}

/// An order whose stock is reserved while it is being made durable, and who is waiting for it.
struct PendingOrder {
    var order: Order
    var waiters: [MemberID]
}

/// The slice of time over which incoming viewer comments are counted, to estimate the rate the
/// budget must sample from.
struct BudgetWindow {
    var start: Int64 = 0
    var count = 0
    var previous = 0
}

/// Deterministic pseudo-random numbers (SplitMix64) for fair sampling; seeded, so tests are exact.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(self.next() >> 11) / Double(1 << 53) }
}
