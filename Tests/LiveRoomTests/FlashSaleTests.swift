import Testing

@testable import LiveRoom

@Suite("Flash sales and orders")
struct FlashSaleTests {
    @Test func statusesAreCheckedInTheDocumentedOrder() {
        let f = RoomFixture(stock: 3, limit: 2)
        let a = f.join("a")
        let b = f.join("b")
        #expect(f.order(a, ref: "x", sku: "nope").0 == .invalid)
        #expect(f.order(a, qty: 0, ref: "x").0 == .invalid)
        #expect(f.order(a, qty: 3, ref: "x").0 == .limitReached)
        #expect(f.order(a, qty: 2, ref: "a1").0 == .accepted)
        #expect(f.order(a, qty: 1, ref: "a2").0 == .limitReached)
        #expect(f.order(b, qty: 2, ref: "b1").0 == .soldOut)  // 1 left, 2 asked
        #expect(f.order(b, qty: 1, ref: "b1").0 == .accepted)  // the refused ref was not bound
        #expect(f.order(b, qty: 1, ref: "b2").0 == .soldOut)
        _ = f.apply(.saleStop(sku: "bamboo"), from: f.streamer)
        #expect(f.order(b, qty: 1, ref: "b3").0 == .notOnSale)
    }

    @Test func anonymousViewersCannotBuy() {
        let f = RoomFixture()
        let guest = f.join("", anonymous: true)
        #expect(f.error(f.apply(.order(sku: "bamboo", qty: 1, ref: "r"), from: guest)) == .unauthorized)
    }

    @Test func retriedRefsReturnTheSameOrderAndNeverTakeStockTwice() {
        let f = RoomFixture(stock: 5, limit: 5)
        let a = f.join("a")
        let (status, id) = f.order(a, ref: "tap-1")
        #expect(status == .accepted)
        for _ in 0..<10 { #expect(f.order(a, ref: "tap-1") == (.accepted, id)) }
        #expect(f.room.product("bamboo")?.left == 4)
        // Another connection of the same user retrying after a reconnect: same order.
        let a2 = f.join("a")
        #expect(f.order(a2, ref: "tap-1") == (.accepted, id))
        // The same ref from another user is another order.
        let b = f.join("b")
        #expect(f.order(b, ref: "tap-1").1 != id)
    }

    @Test func acceptedOrdersGoToTheStaffOrderStream() {
        let f = RoomFixture()
        let a = f.join("a", name: "Alice")
        let effects = f.apply(.order(sku: "bamboo", qty: 1, ref: "r"), from: a)
        let streamed = effects.compactMap { if case .staff(.order(let order)) = $0 { return order } else { return nil } }
        #expect(streamed.count == 1)
        #expect(streamed.first?.user == "a" && streamed.first?.price == 3990 && streamed.first?.qty == 1)
    }

    @Test func sellingOutIsAnnouncedAtOnceAndStockIsCoalesced() {
        let f = RoomFixture(stock: 3, limit: 1)
        let buyers = (0..<3).map { f.join("b\($0)") }
        f.advance(ms: 1000)
        _ = f.order(buyers[0], ref: "r")
        _ = f.order(buyers[1], ref: "r")
        var stockEvents = f.room.tick(now: f.now).filter { if case .broadcast(.stock, _) = $0 { return true } else { return false } }
        #expect(stockEvents == [.broadcast(.stock(sku: "bamboo", left: 1), droppable: true)])
        f.advance(ms: 50)
        let last = f.apply(.order(sku: "bamboo", qty: 1, ref: "r"), from: buyers[2])
        #expect(last.contains(.broadcast(.stock(sku: "bamboo", left: 0), droppable: true)))
        #expect(
            last.contains { if case .broadcast(.sale(_, let sale), false) = $0 { return sale.state == .soldOut } else { return false } })
        stockEvents = f.room.tick(now: f.now + 1000).filter { if case .broadcast(.stock, _) = $0 { return true } else { return false } }
        #expect(stockEvents.isEmpty)
    }

    @Test func countdownAndDurationFollowTheServerClock() {
        let f = RoomFixture(stock: 10, limit: 1, startSale: false)
        let a = f.join("a")
        let effects = f.apply(.saleStart(sku: "bamboo", limit: 1, countdown: 10, seconds: 30), from: f.streamer)
        let start = f.now + 10_000
        // Starting a sale changes durable state: the room asks for a save before announcing it.
        #expect(
            effects == [
                .persist(f.room.snapshot()),
                .broadcast(
                    .sale(sku: "bamboo", sale: FlashSale(state: .scheduled, limit: 1, startsAt: start, endsAt: start + 30_000)),
                    droppable: false),
            ])
        #expect(f.order(a, ref: "early").0 == .notOnSale)
        f.advance(ms: 10_000)
        let opened = f.room.tick(now: f.now)
        #expect(opened.contains { if case .broadcast(.sale(_, let sale), false) = $0 { return sale.state == .live } else { return false } })
        #expect(f.order(a, ref: "on-time").0 == .accepted)
        f.advance(ms: 30_000)
        #expect(f.order(a, ref: "late").0 == .notOnSale)  // ended on the way in, even before a tick
        #expect(f.room.product("bamboo")?.sale.state == .ended)
    }

    @Test func restockReopensASoldOutSale() {
        let f = RoomFixture(stock: 1, limit: 5)
        let a = f.join("a")
        #expect(f.order(a, ref: "1").0 == .accepted)
        #expect(f.room.product("bamboo")?.sale.state == .soldOut)
        _ = f.apply(.restock(sku: "bamboo", qty: 2), from: f.streamer)
        #expect(f.room.product("bamboo")?.sale.state == .live)
        #expect(f.room.product("bamboo")?.stock == 3)
        #expect(f.order(a, qty: 2, ref: "2").0 == .accepted)
    }

    @Test func streamerCommandsValidate() {
        let f = RoomFixture()
        #expect(f.error(f.apply(.productAdd(sku: "bamboo", title: "again", price: 1, stock: 1), from: f.streamer)) == .conflict)
        #expect(f.error(f.apply(.pin(sku: "nope"), from: f.streamer)) == .notFound)
        #expect(f.error(f.apply(.restock(sku: "nope", qty: 1), from: f.streamer)) == .notFound)
        _ = f.apply(.close, from: f.streamer)
        #expect(!f.room.live)
        #expect(f.room.product("bamboo")?.sale.state == .ended)
        #expect(f.error(f.apply(.saleStart(sku: "bamboo", limit: 1, countdown: nil, seconds: nil), from: f.streamer)) == .roomNotLive)
    }

    @Test func randomOrderStormsNeverOversellOrBreakLimitsWhileCommitsAreDeferredOrFail() {
        // Model test: seeded random buyers, quantities and same-ref retries, while the journal's
        // answers come late, out of order, and sometimes as failures. At every step: units sold
        // + units reserved by commits in flight + units left = stock, and no buyer passes the limit.
        var generator = SplitMix64(seed: 42)
        var failures = 0
        for round in 0..<50 {
            let stock = Int(generator.next() % 40) + 1
            let limit = Int(generator.next() % 4) + 1
            let f = RoomFixture(stock: stock, limit: limit)
            let buyers = (0..<Int(generator.next() % 30 + 5)).map { f.join("u\($0 % 17)") }
            var inFlight: [Order] = []
            var sold: [String: Order] = [:]
            func check(_ step: Int) {
                let reserved = inFlight.reduce(0) { $0 + $1.qty }
                let left = f.room.product("bamboo")!.left
                let soldUnits = sold.values.reduce(0) { $0 + $1.qty }
                #expect(left >= 0 && soldUnits + reserved + left == stock, "round \(round) step \(step)")
                var perUser: [String: Int] = [:]
                for order in Array(sold.values) + inFlight { perUser[order.user, default: 0] += order.qty }
                #expect(perUser.values.allSatisfy { $0 <= limit }, "round \(round) step \(step)")
            }
            func resolve(_ index: Int) {
                let order = inFlight.remove(at: index)
                if generator.next() % 4 == 0 {
                    failures += 1
                    let effects = f.room.orderFailed(order, now: f.now)
                    #expect(
                        effects.contains { if case .send(_, .orderResult(order.ref, .unavailable, nil, _)) = $0 { true } else { false } })
                } else {
                    let effects = f.room.orderCommitted(order, now: f.now)
                    #expect(sold[order.id] == nil, "an order is committed once")
                    sold[order.id] = order
                    #expect(effects.contains(.staff(.order(order))))
                }
            }
            for step in 0..<300 {
                if !inFlight.isEmpty && generator.next() % 3 == 0 {
                    resolve(Int(generator.next() % UInt64(inFlight.count)))
                } else {
                    let member = buyers[Int(generator.next() % UInt64(buyers.count))]
                    let qty = Int(generator.next() % 3) + 1
                    let ref = "r\(generator.next() % 50)"
                    for effect in f.room.apply(.order(sku: "bamboo", qty: qty, ref: ref), from: member, now: f.now) {
                        if case .commit(let order) = effect { inFlight.append(order) }
                    }
                }
                check(step)
            }
            while !inFlight.isEmpty { resolve(0) }
            check(300)
            #expect(sold.values.reduce(0) { $0 + $1.qty } + f.room.product("bamboo")!.left == stock, "round \(round)")
        }
        #expect(failures > 100, "the storm exercised failed commits (\(failures))")
    }
}
