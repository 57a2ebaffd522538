/// The order lifecycle after acceptance: payment, cancellation and expiry (docs/ORDERS.md).
///
/// A change of an order's state is stored before anyone hears of it, like the order itself: the
/// room asks for `.updateOrders` and applies the change only in `ordersUpdated`. While a change of
/// one order is being stored, whatever else arrives for that order waits and is then decided
/// against the stored outcome, so when payment races expiry (or the buyer's cancel races the
/// shop's) exactly one wins and every side is told the same state.
extension Room {
    /// Expiries started by one tick, at most: a deadline shared by a whole stampede's orders is
    /// worked off over a few ticks instead of in one long step of the loop.
    static let maxExpiriesPerTick = 2000

    /// An accepted (or paid, or cancelled) order of this room by its id.
    public func order(id: String) -> Order? {
        guard let key = self.orderKeys[id] else { return nil }
        return self.acceptedOrders[key]
    }

    /// The shop's `paid` or `cancel` for one of the room's orders; `ticket` names the waiting
    /// HTTP call in the `.shopAnswer` effect that answers it.
    public func shop(_ change: OrderChange, order id: String, ticket: Int, now: Int64) -> [RoomEffect] {
        self.sealed(self.request(change, order: id, by: .shop(ticket: ticket), now: now))
    }

    /// `order.cancel` from a buyer: only their own order, only while it is unpaid.
    func cancelByBuyer(_ id: String, member: MemberID, _ identity: Identity, ref: String?, now: Int64) -> [RoomEffect] {
        guard let order = self.order(id: id), order.user == identity.user else {
            return self.refuse(member, .notFound, "no order \(id) of yours in this room", ref)
        }
        return self.request(.cancel(.buyer), order: id, by: .member(member, ref: ref), now: now)
    }

    func request(_ change: OrderChange, order id: String, by requester: OrderRequester, now: Int64) -> [RoomEffect] {
        guard let order = self.order(id: id) else { return self.answer(requester, .notFound) }
        if self.updating[id] != nil {
            // Decided once the change in flight is stored (or not).
            self.updating[id]?.queued.append((change, requester))
            return []
        }
        switch (order.state, change) {
        case (.paid, .pay), (.cancelled, .cancel):
            return self.answer(requester, .done(order))
        case (.paid, .cancel):
            return self.answer(
                requester, .conflict(order, "order \(id) is paid: a paid order is refunded by the shop, its units stay sold"))
        case (.cancelled, .pay):
            return self.answer(
                requester, .conflict(order, "order \(id) was cancelled (\(order.reason?.rawValue ?? "cancelled")) before it was paid"))
        case (.accepted, _):
            if let payBy = order.payBy, now >= payBy {
                // Past its deadline: it expires now, whether or not the clock's tick got to it
                // yet, and what was asked is decided against that.
                let effects = self.begin([self.expired(order, now: now)], by: .clock)
                self.updating[id]?.queued.append((change, requester))
                return effects
            }
            var next = order
            next.updatedAt = now
            switch change {
            case .pay:
                next.state = .paid
            case .cancel(let reason):
                guard order.payBy != nil else {
                    return self.answer(requester, .conflict(order, "order \(id) is final: its sale had no payment window"))
                }
                next.state = .cancelled
                next.reason = reason
            }
            return self.begin([next], by: requester)
        }
    }

    private func expired(_ order: Order, now: Int64) -> Order {
        var next = order
        next.state = .cancelled
        next.reason = .expired
        next.updatedAt = now
        return next
    }

    /// Starts storing new states: nobody hears of them before `ordersUpdated`.
    private func begin(_ orders: [Order], by requester: OrderRequester) -> [RoomEffect] {
        for order in orders { self.updating[order.id] = OrderUpdate(askedBy: [requester], queued: []) }
        return [.updateOrders(orders)]
    }

    /// The room's clock: unpaid orders past their deadline expire (in one store write per tick).
    func expireDue(now: Int64) -> [RoomEffect] {
        var due: [Order] = []
        while due.count < Self.maxExpiriesPerTick, let entry = self.deadlines.popDue(now: now) {
            // Paid, cancelled or being changed since it was pushed: not due any more (a change
            // that fails to store pushes the deadline again).
            guard let order = self.order(id: entry.id), order.state == .accepted, order.payBy == entry.payBy,
                self.updating[entry.id] == nil
            else { continue }
            due.append(self.expired(order, now: now))
        }
        return due.isEmpty ? [] : self.begin(due, by: .clock)
    }

    /// The new states are stored: apply them, give cancelled units back, tell the buyer, the
    /// staff and whoever asked, then decide what waited for these orders.
    public func ordersUpdated(_ orders: [Order], now: Int64) -> [RoomEffect] {
        self.sealed(self.updated(orders, now: now))
    }

    private func updated(_ orders: [Order], now: Int64) -> [RoomEffect] {
        var effects: [RoomEffect] = []
        for order in orders {
            guard let update = self.updating.removeValue(forKey: order.id), let key = self.orderKeys[order.id],
                let before = self.acceptedOrders[key]
            else { continue }
            self.acceptedOrders[key] = order
            if before.holdsStock && !order.holdsStock { effects += self.giveBack(order) }
            for member in self.membersByUser[order.user] ?? [] { effects.append(.send(member, .orderUpdate(order))) }
            effects.append(.staff(.orderUpdate(order)))
            for case .shop(let ticket) in update.askedBy { effects.append(.shopAnswer(ticket: ticket, .done(order))) }
            for (change, requester) in update.queued { effects += self.request(change, order: order.id, by: requester, now: now) }
        }
        return effects
    }

    /// The new states could not be stored: nothing changed. Whoever asked — and whatever waited
    /// for this order — hears `unavailable` (and may retry); an unpaid order's deadline is watched
    /// again by the clock. (Nothing is retried here: a store that just failed would fail again,
    /// and a retry started from its own failure would never end.)
    public func orderUpdatesFailed(_ orders: [Order], now: Int64) -> [RoomEffect] {
        var effects: [RoomEffect] = []
        for order in orders {
            guard let update = self.updating.removeValue(forKey: order.id) else { continue }
            for requester in update.askedBy + update.queued.map(\.1) { effects += self.answer(requester, .unavailable) }
            if let current = self.order(id: order.id), current.state == .accepted, let payBy = current.payBy {
                self.deadlines.push(payBy, order.id)
            }
        }
        return self.sealed(effects)
    }

    /// A cancelled order's units go back on sale, and the buyer's count in the current sale is
    /// given back. A sold-out sale that is still running goes live again.
    private func giveBack(_ order: Order) -> [RoomEffect] {
        self.ledger.add(order.sku, quantity: order.qty)
        self.stockDirty.insert(order.sku)
        guard var product = self.products[order.sku] else { return [] }
        if product.sale.state != .none, order.ts >= (product.sale.startsAt ?? 0), let bought = self.boughtBySKU[order.sku]?[order.user] {
            self.boughtBySKU[order.sku]?[order.user] = bought > order.qty ? bought - order.qty : nil
        }
        guard product.sale.state == .soldOut else { return [] }
        product.sale.state = .live
        self.products[order.sku] = product
        // Derived from the orders on restore, like sold out: nothing to save.
        return [.broadcast(.sale(sku: order.sku, sale: product.sale), droppable: false)]
    }

    private func answer(_ requester: OrderRequester, _ answer: ShopAnswer) -> [RoomEffect] {
        switch requester {
        case .clock:
            return []
        case .shop(let ticket):
            return [.shopAnswer(ticket: ticket, answer)]
        case .member(let member, let ref):
            switch answer {
            case .done(let order): return [.send(member, .orderUpdate(order))]
            case .conflict(_, let message): return self.refuse(member, .conflict, message, ref)
            case .notFound: return self.refuse(member, .notFound, "no such order of yours in this room", ref)
            case .unavailable: return self.refuse(member, .unavailable, "the cancellation could not be saved; try again", ref)
            }
        }
    }

    /// The payment part of an `order.result`: nil for an order that is simply final.
    func payment(for order: Order) -> OrderPayment? {
        guard order.payBy != nil || order.state != .accepted else { return nil }
        let template = self.settings.checkoutURL
        let checkout =
            order.payBy == nil || template.isEmpty ? nil : template.replacing("{order}", with: order.id)
        return OrderPayment(state: order.state, payBy: order.payBy, checkout: checkout)
    }
}

/// Who asked for an order's change: a member (the buyer), the shop (an HTTP call waiting for its
/// ticket), or the room's clock (expiry).
enum OrderRequester: Equatable {
    case member(MemberID, ref: String?)
    case shop(ticket: Int)
    case clock
}

/// An order change being stored: who asked for it, and what arrived for the order meanwhile.
struct OrderUpdate {
    var askedBy: [OrderRequester]
    var queued: [(OrderChange, OrderRequester)]
}
