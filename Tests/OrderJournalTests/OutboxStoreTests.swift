import LiveRoom
import OrderJournal
import TestSupport
import Testing

@Suite("Order states and the webhook outbox in the store")
struct OutboxStoreTests {
    func unpaid(_ n: Int) -> Order {
        Order(id: "r-E-\(n)", room: "r", sku: "apple", user: "u", name: "U", qty: 1, price: 500, ref: "ref\(n)", ts: 10, payBy: 70)
    }

    func changed(_ order: Order, _ state: OrderState, reason: CancelReason? = nil, at time: Int64 = 20) -> Order {
        var next = order
        next.state = state
        next.reason = reason
        next.updatedAt = time
        return next
    }

    @Test func eachOrderChangeWritesItsEventInTheSameTransaction() throws {
        let store = try SQLiteOrderStore(path: makeTemporaryDirectory() + "/hometown.sqlite", outbox: true)
        let order = self.unpaid(1)
        try store.commit(orders: [order], rooms: [])
        try store.commit(orders: [self.changed(order, .paid)], rooms: [])
        let events = try store.outbox(after: 0, limit: 10)
        #expect(events.map(\.event) == ["r-E-1.accepted", "r-E-1.paid"])
        #expect(events.map(\.type) == ["order.accepted", "order.paid"])
        #expect(events[0].seq < events[1].seq)
        // Each event carries the order as it was after its change.
        #expect(events[0].order.contains(#""state":"accepted""#) && events[1].order.contains(#""state":"paid""#))
        #expect(try store.orders(room: "r", after: nil, limit: 10).first?.state == .paid)
    }

    @Test func aChangeOfAnOrderThatIsNotAcceptedFailsTheWholeTransaction() throws {
        let store = try SQLiteOrderStore(path: makeTemporaryDirectory() + "/hometown.sqlite", outbox: true)
        let first = self.unpaid(1)
        try store.commit(orders: [first], rooms: [])
        try store.commit(orders: [self.changed(first, .cancelled, reason: .expired)], rooms: [])
        // Paid after it expired, or a change for an order never stored: refused with what came with it.
        #expect(throws: SQLiteOrderStore.NotAccepted.self) {
            try store.commit(orders: [self.unpaid(2), self.changed(first, .paid)], rooms: [])
        }
        #expect(throws: SQLiteOrderStore.NotAccepted.self) { try store.commit(orders: [self.changed(self.unpaid(9), .paid)], rooms: []) }
        let stored = try store.orders(room: "r", after: nil, limit: 10)
        #expect(stored.map(\.id) == ["r-E-1"] && stored.first?.reason == .expired && stored.first?.updatedAt == 20)
        #expect(try store.outbox(after: 0, limit: 10).map(\.event) == ["r-E-1.accepted", "r-E-1.cancelled"])
    }

    @Test func deliveryOutcomesAreStoredAndParkedEventsReplayed() throws {
        let store = try SQLiteOrderStore(path: makeTemporaryDirectory() + "/hometown.sqlite", outbox: true)
        try store.commit(orders: [self.unpaid(1), self.unpaid(2), self.unpaid(3)], rooms: [])
        let events = try store.outbox(after: 0, limit: 10)
        try store.commit(
            orders: [], rooms: [],
            outbox: [
                .delivered(seq: events[0].seq), .failed(seq: events[1].seq, attempts: 3, nextAt: 999, error: "HTTP 500"),
                .parked(seq: events[2].seq, attempts: 12, error: "timeout"),
            ])
        let waiting = try store.outbox(after: 0, limit: 10)
        #expect(waiting.map(\.event) == ["r-E-2.accepted"])
        #expect(waiting.first?.attempts == 3 && waiting.first?.nextAt == 999 && waiting.first?.lastError == "HTTP 500")
        let parked = try store.outbox(after: 0, parked: true, limit: 10)
        #expect(parked.map(\.event) == ["r-E-3.accepted"] && parked.first?.attempts == 12)
        try store.commit(orders: [], rooms: [], outbox: [.replay(seq: parked[0].seq)])
        #expect(try store.outbox(after: 0, limit: 10).map(\.attempts) == [3, 0])
        #expect(try store.outbox(after: 0, parked: true, limit: 10).isEmpty)
    }

    @Test func withoutAWebhookNoEventIsWritten() throws {
        let store = try SQLiteOrderStore(path: makeTemporaryDirectory() + "/hometown.sqlite")
        try store.commit(orders: [self.unpaid(1)], rooms: [])
        #expect(try store.outbox(after: 0, limit: 10).isEmpty)
    }

    @Test func theWebhookBodyIsTheSameOnEveryAttempt() throws {
        let store = try SQLiteOrderStore(path: makeTemporaryDirectory() + "/hometown.sqlite", outbox: true)
        try store.commit(orders: [self.unpaid(1)], rooms: [])
        let event = try #require(try store.outbox(after: 0, limit: 1).first)
        let body = String(decoding: event.body, as: UTF8.self)
        #expect(
            body.hasPrefix(
                #"{"id":"r-E-1.accepted","seq":\#(event.seq),"type":"order.accepted","room":"r","created_at":10,"order":{"id":"r-E-1""#))
        #expect(event.body == (try store.outbox(after: 0, limit: 1).first?.body))
    }
}
