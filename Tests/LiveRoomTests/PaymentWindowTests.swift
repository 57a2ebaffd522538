import LiveRoom
import Testing

/// A room whose order changes are stored by hand: each `.updateOrders` waits in `inFlight` until
/// the test stores it (or fails it), so races are played out step by step on a fake clock.
private final class PaymentFixture {
    let f: RoomFixture
    var inFlight: [[Order]] = []
    var shopAnswers: [Int: ShopAnswer] = [:]
    private var nextTicket = 1

    init(stock: Int = 2, limit: Int = 2, window: Int = 60, checkout: String = "https://shop.example/pay/{order}") {
        var settings = RoomSettings()
        settings.checkoutURL = checkout
        self.f = RoomFixture(settings: settings, stock: stock, limit: limit, startSale: false)
        _ = self.f.apply(
            .saleStart(sku: "bamboo", limit: limit, countdown: nil, seconds: nil, paymentWindow: window), from: self.f.streamer)
    }

    var room: Room { self.f.room }

    /// Effects with updates held back and shop answers collected.
    func take(_ effects: [RoomEffect]) -> [RoomEffect] {
        var out: [RoomEffect] = []
        for effect in self.f.settle(effects) {
            switch effect {
            case .updateOrders(let orders): self.inFlight.append(orders)
            case .shopAnswer(let ticket, let answer): self.shopAnswers[ticket] = answer
            default: out.append(effect)
            }
        }
        return out
    }

    /// Stores (or fails) the oldest change in flight.
    @discardableResult
    func store(works: Bool = true) -> [RoomEffect] {
        let orders = self.inFlight.removeFirst()
        return self.take(works ? self.room.ordersUpdated(orders, now: self.f.now) : self.room.orderUpdatesFailed(orders, now: self.f.now))
    }

    func shop(_ change: OrderChange, _ id: String) -> Int {
        let ticket = self.nextTicket
        self.nextTicket += 1
        _ = self.take(self.room.shop(change, order: id, ticket: ticket, now: self.f.now))
        return ticket
    }

    /// Buys, and returns the order (committed at once).
    func buy(_ user: String, qty: Int = 1, ref: String) -> Order? {
        let member = self.f.join(user)
        guard case (.accepted, let id?) = self.f.order(member, qty: qty, ref: ref) else { return nil }
        return self.room.order(id: id)
    }

    func tick() -> [RoomEffect] { self.take(self.room.tick(now: self.f.now)) }
}

@Suite("Payment window: expiry, payment, cancellation and their races (fake clock)")
struct PaymentWindowTests {
    @Test func anAcceptedOrderCarriesItsDeadlineAndCheckoutLink() {
        let p = PaymentFixture(window: 90)
        let a = p.f.join("a")
        let effects = p.f.apply(.order(sku: "bamboo", qty: 1, ref: "r1"), from: a)
        let result = effects.compactMap { effect -> OrderPayment? in
            if case .send(a, .orderResult(_, .accepted, _, let payment)) = effect { return payment } else { return nil }
        }.first
        let id = "farm-E1-1"
        #expect(result == OrderPayment(state: .accepted, payBy: p.f.now + 90_000, checkout: "https://shop.example/pay/\(id)"))
        #expect(p.room.order(id: id)?.payBy == p.f.now + 90_000)
    }

    @Test func expiryReturnsStockReopensTheSoldOutSaleAndGivesTheLimitBack() throws {
        let p = PaymentFixture(stock: 2, limit: 2, window: 60)
        let order = try #require(p.buy("a", qty: 2, ref: "r1"))
        #expect(p.room.product("bamboo")?.sale.state == .soldOut)
        #expect(p.room.bought("bamboo", by: "a") == 2)
        p.f.advance(ms: 59_999)
        _ = p.tick()
        #expect(p.inFlight.isEmpty)
        p.f.advance(ms: 1)
        _ = p.tick()
        // Asked to store first: nothing is given back before the expiry is durable.
        #expect(p.inFlight.count == 1 && p.inFlight[0].map(\.reason) == [.expired])
        #expect(p.room.product("bamboo")?.left == 0)
        let effects = p.store()
        #expect(p.room.order(id: order.id)?.state == .cancelled)
        #expect(p.room.product("bamboo")?.left == 2)
        #expect(p.room.product("bamboo")?.sale.state == .live)
        #expect(p.room.bought("bamboo", by: "a") == 0)
        #expect(effects.contains { if case .broadcast(.sale("bamboo", let sale), false) = $0 { sale.state == .live } else { false } })
        #expect(effects.contains { if case .staff(.orderUpdate(let o)) = $0 { o.reason == .expired } else { false } })
        #expect(effects.contains { if case .send(_, .orderUpdate(let o)) = $0 { o.id == order.id } else { false } })
        // The stock bar moves up for everyone on the next coalescing tick.
        p.f.advance(ms: 1000)
        #expect(p.tick().contains(.broadcast(.stock(sku: "bamboo", left: 2), droppable: true)))
        // The returned units are sold again, and the first buyer may buy again.
        #expect(p.buy("b", qty: 2, ref: "r2") != nil)
        #expect(p.room.product("bamboo")?.left == 0)
    }

    @Test func aPaidOrderNeverExpires() throws {
        let p = PaymentFixture(stock: 1, limit: 1, window: 60)
        let order = try #require(p.buy("a", ref: "r1"))
        let ticket = p.shop(.pay, order.id)
        p.store()
        #expect(p.shopAnswers[ticket].map { if case .done(let o) = $0 { o.state == .paid } else { false } } == true)
        p.f.advance(ms: 3_600_000)
        _ = p.tick()
        #expect(p.inFlight.isEmpty)
        #expect(p.room.product("bamboo")?.left == 0)
        #expect(p.room.order(id: order.id)?.state == .paid)
    }

    @Test func paymentAfterTheDeadlineLosesEvenBeforeTheTick() throws {
        let p = PaymentFixture(window: 60)
        let order = try #require(p.buy("a", ref: "r1"))
        p.f.advance(ms: 60_000)
        let ticket = p.shop(.pay, order.id)
        // The expiry is what gets stored; the payment waits for it.
        #expect(p.inFlight.count == 1 && p.inFlight[0][0].reason == .expired)
        #expect(p.shopAnswers[ticket] == nil)
        p.store()
        guard case .conflict(let seen, _)? = p.shopAnswers[ticket] else {
            Issue.record("expected a conflict, got \(String(describing: p.shopAnswers[ticket]))")
            return
        }
        #expect(seen.state == .cancelled && seen.reason == .expired)
        #expect(p.room.order(id: order.id)?.state == .cancelled)
    }

    @Test func paymentArrivingWhileTheExpiryIsStoredSeesTheExpiry() throws {
        let p = PaymentFixture(window: 60)
        let order = try #require(p.buy("a", ref: "r1"))
        p.f.advance(ms: 60_000)
        _ = p.tick()
        p.f.advance(ms: -30_000)  // a shop whose clock says it was in time changes nothing
        let ticket = p.shop(.pay, order.id)
        #expect(p.inFlight.count == 1 && p.shopAnswers[ticket] == nil)
        p.store()
        #expect(p.shopAnswers[ticket].map { if case .conflict(let o, _) = $0 { o.reason == .expired } else { false } } == true)
        #expect(p.inFlight.isEmpty)
    }

    @Test func expiryDuringAStoredPaymentWaitsAndThePaymentWins() throws {
        let p = PaymentFixture(window: 60)
        let order = try #require(p.buy("a", ref: "r1"))
        p.f.advance(ms: 59_000)
        let ticket = p.shop(.pay, order.id)
        p.f.advance(ms: 5_000)
        _ = p.tick()
        #expect(p.inFlight.count == 1)  // only the payment
        p.store()
        #expect(p.room.order(id: order.id)?.state == .paid)
        #expect(p.shopAnswers[ticket].map { if case .done(let o) = $0 { o.state == .paid } else { false } } == true)
        _ = p.tick()
        #expect(p.inFlight.isEmpty)
    }

    @Test func aPaymentThatCouldNotBeStoredLetsTheOrderExpireLater() throws {
        let p = PaymentFixture(window: 60)
        let order = try #require(p.buy("a", ref: "r1"))
        p.f.advance(ms: 59_000)
        let ticket = p.shop(.pay, order.id)
        p.f.advance(ms: 2_000)
        _ = p.tick()
        p.store(works: false)
        #expect(p.shopAnswers[ticket] == .unavailable)
        #expect(p.room.order(id: order.id)?.state == .accepted)
        _ = p.tick()
        #expect(p.inFlight.count == 1 && p.inFlight[0][0].reason == .expired)
    }

    @Test func aFailedChangeAnswersWhatWaitedAndRetriesNothingByItself() throws {
        let p = PaymentFixture(window: 60)
        let order = try #require(p.buy("a", ref: "r1"))
        p.f.advance(ms: 60_000)
        // Past the deadline: the payment waits for the expiry, which cannot be stored.
        let ticket = p.shop(.pay, order.id)
        p.store(works: false)
        #expect(p.shopAnswers[ticket] == .unavailable)
        #expect(p.inFlight.isEmpty, "no new change started from the failure")
        #expect(p.room.order(id: order.id)?.state == .accepted)
        // The clock tries the expiry again on its next tick.
        _ = p.tick()
        #expect(p.inFlight.count == 1 && p.inFlight[0][0].reason == .expired)
    }

    @Test func buyerCancelRacingShopCancelResolvesOnceAndGivesStockBackOnce() throws {
        let p = PaymentFixture(stock: 3, limit: 3, window: 60)
        let order = try #require(p.buy("a", qty: 2, ref: "r1"))
        let member = p.f.room.identity(of: 101) != nil ? 101 : p.f.join("a")
        _ = p.take(p.room.apply(.orderCancel(order: order.id), from: member, now: p.f.now))
        let ticket = p.shop(.cancel(.shop), order.id)
        #expect(p.inFlight.count == 1 && p.inFlight[0][0].reason == .buyer)
        p.store()
        #expect(p.inFlight.isEmpty)
        guard case .done(let seen)? = p.shopAnswers[ticket] else {
            Issue.record("expected done")
            return
        }
        #expect(seen.reason == .buyer)
        #expect(p.room.product("bamboo")?.left == 3)
    }

    @Test func shopCallsAreIdempotentAndImpossibleOnesAreRefused() throws {
        let p = PaymentFixture(window: 60)
        let order = try #require(p.buy("a", ref: "r1"))
        let first = p.shop(.pay, order.id)
        let second = p.shop(.pay, order.id)
        #expect(p.inFlight.count == 1)
        p.store()
        let third = p.shop(.pay, order.id)
        #expect(p.inFlight.isEmpty)
        for ticket in [first, second, third] {
            #expect(p.shopAnswers[ticket].map { if case .done(let o) = $0 { o.state == .paid } else { false } } == true)
        }
        let cancel = p.shop(.cancel(.shop), order.id)
        #expect(p.shopAnswers[cancel].map { if case .conflict(let o, _) = $0 { o.state == .paid } else { false } } == true)
        #expect(p.shopAnswers[p.shop(.pay, "farm-E1-999")] == .notFound)
        #expect(p.room.product("bamboo")?.left == 1)
    }

    @Test func aBuyerCancelsOnlyTheirOwnUnpaidOrder() throws {
        let p = PaymentFixture(window: 60)
        let order = try #require(p.buy("a", ref: "r1"))
        let stranger = p.f.join("mallory")
        #expect(p.f.error(p.take(p.room.apply(.orderCancel(order: order.id), from: stranger, now: p.f.now))) == .notFound)
        #expect(p.inFlight.isEmpty)
        _ = p.shop(.pay, order.id)
        p.store()
        let buyer = p.f.join("a")
        #expect(p.f.error(p.take(p.room.apply(.orderCancel(order: order.id), from: buyer, now: p.f.now))) == .conflict)
    }

    @Test func ordersWithoutAWindowAreFinal() throws {
        let p = PaymentFixture(window: 0)
        let order = try #require(p.buy("a", ref: "r1"))
        #expect(order.payBy == nil)
        let cancel = p.shop(.cancel(.shop), order.id)
        #expect(p.shopAnswers[cancel].map { if case .conflict = $0 { true } else { false } } == true)
        p.f.advance(ms: 86_400_000)
        _ = p.tick()
        #expect(p.inFlight.isEmpty)
        // The shop may still record the payment.
        _ = p.shop(.pay, order.id)
        p.store()
        #expect(p.room.order(id: order.id)?.state == .paid)
    }

    @Test func restoreCountsOnlyOrdersThatHoldStockAndWatchesDeadlinesAgain() throws {
        let p = PaymentFixture(stock: 5, limit: 5, window: 60)
        let paid = try #require(p.buy("a", qty: 1, ref: "r1"))
        let unpaid = try #require(p.buy("b", qty: 2, ref: "r2"))
        let cancelled = try #require(p.buy("c", qty: 1, ref: "r3"))
        _ = p.shop(.pay, paid.id)
        p.store()
        _ = p.shop(.cancel(.shop), cancelled.id)
        p.store()
        let orders = [paid.id, unpaid.id, cancelled.id].compactMap { p.room.order(id: $0) }
        let restored = Room.restore(p.room.snapshot(), orders: orders, epoch: "E2", now: p.f.now)
        #expect(restored.product("bamboo")?.left == 2)
        #expect(restored.bought("bamboo", by: "c") == 0 && restored.bought("bamboo", by: "b") == 2)
        let effects = restored.tick(now: p.f.now + 61_000)
        #expect(effects.contains { if case .updateOrders(let o) = $0 { o.map(\.id) == [unpaid.id] } else { false } })
    }

    @Test func aSaleCannotHaveALongerWindowThanTheRoomAllows() {
        var settings = RoomSettings()
        settings.maxPaymentWindow = 0
        let f = RoomFixture(settings: settings, startSale: false)
        let effects = f.apply(.saleStart(sku: "bamboo", limit: 1, countdown: nil, seconds: nil, paymentWindow: 30), from: f.streamer)
        #expect(f.error(effects) == .badRequest)
        #expect(f.room.product("bamboo")?.sale.state == SaleState.none)
    }

    @Test func orderIDsNameTheirRoom() {
        #expect(Order.room(ofID: "farm-E1-12") == "farm")
        #expect(Order.room(ofID: "hill-side-farm-lx3k-7") == "hill-side-farm")
        #expect(Order.room(ofID: "farm-12") == nil)
        #expect(Order.room(ofID: "--") == nil)
    }
}
