extension Room {
    /// Checks, in order: identity, mute, length, block list, slow mode, rate limit; then decides
    /// whether the room sees it (staff always; viewers within the broadcast budget).
    func comment(_ raw: String, from member: MemberID, _ identity: Identity, ref: String?, now: Int64) -> [RoomEffect] {
        if identity.anonymous { return self.refuseComment(member, .unauthorized, "sign in to comment", ref) }
        if let until = self.mutedUntil[identity.user] {
            if until > now { return self.refuseComment(member, .muted, "you are muted", ref) }
            self.mutedUntil[identity.user] = nil
        }
        let text = raw.trimmingWhitespace
        if text.isEmpty { return self.refuseComment(member, .badRequest, "comment text is empty", ref) }
        if text.count > self.settings.maxCommentLength {
            return self.refuseComment(member, .tooLong, "comments are at most \(self.settings.maxCommentLength) characters", ref)
        }
        if self.containsBlockedWord(text) { return self.refuseComment(member, .blocked, "comment contains a blocked word", ref) }
        let staff = self.staffMembers.contains(member)
        if !staff {
            if self.slowModeSeconds > 0, let last = self.lastCommentAt[identity.user],
                now - last < Int64(self.slowModeSeconds) * 1000
            {
                return self.refuseComment(member, .slowMode, "slow mode: one comment every \(self.slowModeSeconds) s", ref)
            }
            var bucket =
                self.commentBuckets[identity.user]
                ?? TokenBucket(rate: self.settings.commentRate, burst: self.settings.commentBurst, now: now)
            let allowed = bucket.take(now: now)
            self.commentBuckets[identity.user] = bucket
            if !allowed { return self.refuseComment(member, .rateLimited, "too many comments; slow down", ref) }
        }
        self.lastCommentAt[identity.user] = now
        if staff || self.withinBudget(now: now) {
            let comment = Comment(seq: self.sequencer.next(), user: identity.user, name: identity.name, text: text, ts: now)
            self.history.append(comment)
            return [.record(.commentAccepted(shown: true)), .broadcast(.comment(comment, shown: true), droppable: true)]
        }
        // Accepted and counted, but not shown: only the sender sees it, marked as such.
        let comment = Comment(seq: 0, user: identity.user, name: identity.name, text: text, ts: now)
        return [.record(.commentAccepted(shown: false)), .send(member, .comment(comment, shown: false))]
    }

    private func refuseComment(_ member: MemberID, _ code: RoomError, _ message: String, _ ref: String?) -> [RoomEffect] {
        [.record(.commentRefused(code))] + self.refuse(member, code, message, ref)
    }

    /// Fair sampling: each viewer comment is shown with probability budget ÷ incoming rate (the
    /// same chance for everyone), and a token bucket caps the shown rate at the budget.
    func withinBudget(now: Int64) -> Bool {
        if now - self.budgetWindow.start >= 1000 {
            self.budgetWindow.previous = now - self.budgetWindow.start >= 2000 ? 0 : self.budgetWindow.count
            self.budgetWindow.start = now
            self.budgetWindow.count = 0
        }
        self.budgetWindow.count += 1
        let rate = Double(max(self.budgetWindow.count, self.budgetWindow.previous))
        let probability = min(1, self.settings.commentBudgetPerSecond / max(rate, 1))
        if probability < 1 && self.random.unit() >= probability { return false }
        return self.budget.take(now: now)
    }

    func containsBlockedWord(_ text: String) -> Bool {
        guard !self.settings.blockedWords.isEmpty else { return false }
        let lowered = text.lowercased()
        return self.settings.blockedWords.contains { !$0.isEmpty && lowered.contains($0.lowercased()) }
    }
}

extension String {
    /// Without leading and trailing Unicode white space and line breaks (comments, display names).
    public var trimmingWhitespace: String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
