extension Room {
    /// Called about every 100 ms by the room's event loop: moves sales along the clock and sends
    /// what is coalesced (viewer count, likes, stock, the bought ticker) when its interval is up
    /// and it changed. All of these are latest-wins and droppable.
    public func tick(now: Int64) -> [RoomEffect] {
        self.sealed(self.ticking(now: now))
    }

    private func ticking(now: Int64) -> [RoomEffect] {
        var effects = self.advanceSales(now: now)
        effects += self.expireDue(now: now)
        let viewers = self.viewerCount
        if viewers != self.lastViewerCount && now - self.viewersSentAt >= self.settings.viewerCountInterval {
            self.lastViewerCount = viewers
            self.viewersSentAt = now
            effects.append(.broadcast(.viewers(count: viewers), droppable: true))
        }
        if self.pendingLikes > 0 && now - self.likesSentAt >= self.settings.likesInterval {
            effects.append(.broadcast(.likes(count: self.pendingLikes, total: self.totalLikes), droppable: true))
            self.pendingLikes = 0
            self.likesSentAt = now
        }
        if !self.stockDirty.isEmpty {
            for sku in self.productOrder where self.stockDirty.contains(sku) {
                if now - (self.stockSentAt[sku] ?? 0) >= self.settings.stockInterval {
                    self.stockDirty.remove(sku)
                    self.stockSentAt[sku] = now
                    effects.append(.broadcast(.stock(sku: sku, left: self.ledger.left(sku)), droppable: true))
                }
            }
        }
        if now - self.sweptAt >= 60_000 { self.forgetIdleCommenters(now: now) }
        if let bought = self.pendingBought, now - self.boughtSentAt >= self.settings.boughtInterval {
            self.pendingBought = nil
            self.boughtSentAt = now
            effects.append(.broadcast(.bought(name: bought.name, sku: bought.sku, qty: bought.qty), droppable: true))
        }
        return effects
    }

    /// Per-user comment state is only needed while it can still refuse something: a bucket
    /// refills in `burst / rate` seconds and slow mode looks back `slowModeSeconds`. Forgetting
    /// users idle longer than that keeps the room's memory bounded by its active commenters,
    /// not by everyone who ever commented.
    func forgetIdleCommenters(now: Int64) {
        self.sweptAt = now
        let refill = Int64(self.settings.commentBurst / max(self.settings.commentRate, 0.001) * 1000)
        let horizon = max(refill, Int64(self.slowModeSeconds) * 1000) + 1000
        for (user, last) in self.lastCommentAt where now - last > horizon {
            self.lastCommentAt[user] = nil
            self.commentBuckets[user] = nil
        }
        // A full like bucket is the same as a new one: forget it.
        self.likeBuckets = self.likeBuckets.filter { !$0.value.isFull(now: now) }
        for (user, until) in self.mutedUntil where until <= now {
            self.mutedUntil[user] = nil
        }
    }
}

extension Room {
    /// Changes whenever what the lobby and the metrics show of the room changes: title, live,
    /// viewers, and the units left in each live sale. Cheap: no allocation.
    public var gaugeFingerprint: Int {
        var hasher = Hasher()
        hasher.combine(self.title)
        hasher.combine(self.live)
        hasher.combine(self.viewerCount)
        hasher.combine(self.acceptedOrders.count)
        for sku in self.productOrder {
            guard let product = self.products[sku], product.sale.state == .live else { continue }
            hasher.combine(sku)
            hasher.combine(self.ledger.left(sku))
        }
        return hasher.finalize()
    }
}
