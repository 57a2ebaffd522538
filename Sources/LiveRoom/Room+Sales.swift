extension Room {
    /// Orders are checked in the order the protocol promises: invalid, not on sale, over the
    /// buyer's limit, sold out. A ref once accepted returns the same order forever; refusals do
    /// not bind the ref, so the buyer may retry.
    func order(sku: SKU, qty: Int, ref: String, from member: MemberID, _ identity: Identity, now: Int64) -> [RoomEffect] {
        if identity.anonymous {
            return [.record(.orderRefused(reason: RoomError.unauthorized.rawValue))]
                + self.refuse(member, .unauthorized, "sign in to buy", ref)
        }
        let key = identity.user + "\n" + ref
        if let existing = self.acceptedOrders[key] {
            return [.send(member, .orderResult(ref: ref, status: .accepted, order: existing.id, payment: self.payment(for: existing)))]
        }
        if self.pendingOrders[key] != nil {
            self.pendingOrders[key]?.waiters.append(member)
            return []
        }
        func answer(_ status: OrderStatus) -> [RoomEffect] {
            [.record(.orderRefused(reason: status.rawValue)), .send(member, .orderResult(ref: ref, status: status, order: nil))]
        }
        guard var product = self.products[sku], qty >= 1, qty <= self.settings.maxOrderQuantity else {
            return answer(.invalid)
        }
        guard product.sale.state == .live || product.sale.state == .soldOut else { return answer(.notOnSale) }
        let already = self.boughtBySKU[sku]?[identity.user] ?? 0
        if already + qty > product.sale.limit { return answer(.limitReached) }
        guard self.ledger.reserve(sku, quantity: qty) else { return answer(.soldOut) }

        self.orderCounter += 1
        let order = Order(
            id: "\(self.id)-\(self.epoch)-\(self.orderCounter)", room: self.id, sku: sku, user: identity.user, name: identity.name,
            qty: qty, price: product.price, ref: ref, ts: now,
            payBy: product.sale.paymentWindow > 0 ? now + Int64(product.sale.paymentWindow) * 1000 : nil)
        // Reserved, not yet acknowledged: the order must be durable first. Retries of the same
        // ref wait for the same commit instead of taking stock again.
        self.pendingOrders[key] = PendingOrder(order: order, waiters: [member])
        self.boughtBySKU[sku, default: [:]][identity.user] = already + qty
        self.stockDirty.insert(sku)
        var effects: [RoomEffect] = [.commit(order)]
        if self.ledger.left(sku) == 0 {
            product.sale.state = .soldOut
            self.products[sku] = product
            // Sold out is news everyone needs now, not at the next coalescing tick.
            self.stockDirty.remove(sku)
            self.stockSentAt[sku] = now
            effects.append(.broadcast(.stock(sku: sku, left: 0), droppable: true))
            // Not saved: sold out follows from the stored orders (`Room.restore` derives it), so
            // the sale's busiest moment waits for no snapshot.
            effects.append(.broadcast(.sale(sku: sku, sale: product.sale), droppable: false))
        }
        return effects
    }

    /// The order is durable: acknowledge it to everyone who asked and put it on the order stream.
    public func orderCommitted(_ order: Order, now: Int64) -> [RoomEffect] {
        let key = order.user + "\n" + order.ref
        guard let pending = self.pendingOrders.removeValue(forKey: key) else { return [] }
        self.acceptedOrders[key] = order
        self.orderKeys[order.id] = key
        if let payBy = order.payBy { self.deadlines.push(payBy, order.id) }
        self.pendingBought = (NameMask.mask(order.name), order.sku, order.qty)
        let payment = self.payment(for: order)
        var effects: [RoomEffect] = pending.waiters.filter { self.members[$0] != nil }.map {
            .send($0, .orderResult(ref: order.ref, status: .accepted, order: order.id, payment: payment))
        }
        effects.append(.staff(.order(order)))
        return effects
    }

    /// The order could not be stored: its stock goes back, the buyer's count is undone, the ref is
    /// free again, and the buyer hears `unavailable` (and may retry the same ref).
    public func orderFailed(_ order: Order, now: Int64) -> [RoomEffect] {
        self.sealed(self.failing(order, now: now))
    }

    private func failing(_ order: Order, now: Int64) -> [RoomEffect] {
        let key = order.user + "\n" + order.ref
        guard let pending = self.pendingOrders.removeValue(forKey: key) else { return [] }
        self.ledger.add(order.sku, quantity: order.qty)
        if let bought = self.boughtBySKU[order.sku]?[order.user] {
            self.boughtBySKU[order.sku]?[order.user] = max(0, bought - order.qty)
        }
        var effects: [RoomEffect] = pending.waiters.filter { self.members[$0] != nil }.map {
            .send($0, .orderResult(ref: order.ref, status: .unavailable, order: nil))
        }
        if var product = self.products[order.sku], product.sale.state == .soldOut {
            product.sale.state = .live
            self.products[order.sku] = product
            // Derived from the orders on restore, like sold out: nothing to save.
            effects.append(.broadcast(.sale(sku: order.sku, sale: product.sale), droppable: false))
        }
        self.stockDirty.insert(order.sku)
        return effects
    }

    func addProduct(sku: SKU, title: String, price: Int, stock: Int, image: String?, member: MemberID, ref: String?) -> [RoomEffect] {
        if self.products[sku] != nil { return self.refuse(member, .conflict, "product \(sku) exists; restock it", ref) }
        if self.products.count >= self.settings.maxProducts {
            return self.refuse(member, .badRequest, "a room holds at most \(self.settings.maxProducts) products", ref)
        }
        let product = Product(sku: sku, title: title, price: price, stock: stock, left: stock, image: image)
        self.products[sku] = product
        self.productOrder.append(sku)
        self.ledger.add(sku, quantity: stock)
        return [self.announce(.product(product))]
    }

    func restock(sku: SKU, qty: Int, member: MemberID, ref: String?, now: Int64) -> [RoomEffect] {
        guard var product = self.products[sku] else { return self.refuse(member, .notFound, "no product \(sku)", ref) }
        product.stock += qty
        self.ledger.add(sku, quantity: qty)
        var effects: [RoomEffect] = []
        if product.sale.state == .soldOut {
            product.sale.state = .live
            effects.append(self.announce(.sale(sku: sku, sale: product.sale)))
        }
        self.products[sku] = product
        product.left = self.ledger.left(sku)
        self.stockDirty.remove(sku)
        self.stockSentAt[sku] = now
        return [self.announce(.product(product))] + effects
    }

    func startSale(
        sku: SKU, limit: Int, countdown: Int?, seconds: Int?, paymentWindow: Int, member: MemberID, ref: String?, now: Int64
    )
        -> [RoomEffect]
    {
        guard self.live else { return self.refuse(member, .roomNotLive, "open the room before starting a sale", ref) }
        guard var product = self.products[sku] else { return self.refuse(member, .notFound, "no product \(sku)", ref) }
        let startsAt = now + Int64(countdown ?? 0) * 1000
        product.sale = FlashSale(
            state: (countdown ?? 0) > 0 ? .scheduled : (self.ledger.left(sku) > 0 ? .live : .soldOut), limit: limit,
            startsAt: startsAt, endsAt: seconds.map { startsAt + Int64($0) * 1000 }, paymentWindow: paymentWindow)
        self.products[sku] = product
        // Each sale has its own per-buyer limit (the old counts are kept until the save is answered).
        if self.boughtBeforeSaleStart[sku] == nil { self.boughtBeforeSaleStart[sku] = self.boughtBySKU[sku] ?? [:] }
        self.boughtBySKU[sku] = [:]
        return [self.announce(.sale(sku: sku, sale: product.sale))]
    }

    /// Moves sales along the clock: scheduled → live at `startsAt`, live → ended at `endsAt`.
    func advanceSales(now: Int64) -> [RoomEffect] {
        var effects: [RoomEffect] = []
        for sku in self.productOrder {
            guard var product = self.products[sku] else { continue }
            let sale = product.sale
            var next = sale.state
            if sale.state == .scheduled, let startsAt = sale.startsAt, now >= startsAt {
                next = self.ledger.left(sku) > 0 ? .live : .soldOut
            }
            if next == .live || next == .soldOut || next == .scheduled, let endsAt = sale.endsAt, now >= endsAt {
                next = .ended
            }
            if next != sale.state {
                product.sale.state = next
                self.products[sku] = product
                effects.append(self.announce(.sale(sku: sku, sale: product.sale)))
            }
        }
        return effects
    }
}
