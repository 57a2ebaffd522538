/// A room's saves: what was last stored, and going back to it when a save fails, so that a change
/// nobody could store is a change nobody hears of (the runner drops the effects that followed
/// the `.persist`) and the room goes on from what is durable.
extension Room {
    /// The save asked for by the last `.persist` is durable.
    public func saveSucceeded() {
        if let pending = self.pendingSave { self.lastSaved = pending }
        self.pendingSave = nil
        self.pendingSaveBy = nil
        self.boughtBeforeSaleStart = [:]
    }

    /// The save asked for by the last `.persist` failed: the room returns to the last stored state
    /// (products and their stock, sales, pin, title, slow mode, moderation) and the member whose
    /// command it was is told `unavailable`; its ref may be retried.
    public func saveFailed(now: Int64) -> [RoomEffect] {
        let saved = self.lastSaved
        let by = self.pendingSaveBy
        self.pendingSave = nil
        self.pendingSaveBy = nil
        self.title = saved.title
        self.live = saved.live
        self.slowModeSeconds = saved.slowMode
        self.pinned = saved.pinned
        self.stream = saved.stream
        self.moderators = Set(saved.moderators)
        self.banned = Set(saved.banned)
        self.mutedUntil = saved.muted
        let savedSKUs = Set(saved.products.map(\.sku))
        for sku in self.productOrder where !savedSKUs.contains(sku) {
            // Added by the change: its units leave with it.
            self.ledger.add(sku, quantity: -self.ledger.left(sku))
            self.products[sku] = nil
            self.stockDirty.remove(sku)
        }
        for var product in saved.products {
            let current = self.products[product.sku]
            // Stock the change added (a restock) goes back; what was sold meanwhile stays sold.
            self.ledger.add(product.sku, quantity: product.stock - (current?.stock ?? product.stock))
            let left = self.ledger.left(product.sku)
            if left == 0 && product.sale.state == .live { product.sale.state = .soldOut }
            if left > 0 && product.sale.state == .soldOut { product.sale.state = .live }
            self.products[product.sku] = product
        }
        self.productOrder = saved.products.map(\.sku)
        for (sku, counts) in self.boughtBeforeSaleStart { self.boughtBySKU[sku] = counts }
        self.boughtBeforeSaleStart = [:]
        self.refreshStaff()
        guard let (member, ref) = by else { return [] }
        return self.refuse(member, .unavailable, "the change could not be saved, so it was not made; try again", ref)
    }
}
