import LiveRoom
import Testing

@Suite("Comments: identity, limits, moderation, budget")
struct CommentRulesTests {
    @Test func shownCommentsGetGapFreeSeqAndGoToTheRoom() {
        let f = RoomFixture()
        let a = f.join("a")
        let b = f.join("b")
        #expect(f.shown(f.comment("first", from: a))! == (true, 1))
        #expect(f.shown(f.comment("second", from: b))! == (true, 2))
        #expect(f.room.seq == 2)
    }

    @Test func anonymousViewersMayWatchButNotComment() {
        let f = RoomFixture()
        let guest = f.join("", anonymous: true)
        #expect(f.error(f.comment("hi", from: guest)) == .unauthorized)
    }

    @Test func lengthEmptinessAndBlockList() {
        var settings = RoomSettings()
        settings.maxCommentLength = 5
        settings.blockedWords = ["SCAM"]
        let f = RoomFixture(settings: settings)
        let a = f.join("a")
        #expect(f.error(f.comment("123456", from: a)) == .tooLong)
        #expect(f.error(f.comment("   ", from: a)) == .badRequest)
        #expect(f.error(f.comment("scam!", from: a)) == .blocked)
        #expect(f.shown(f.comment("冬笋好吃", from: a))?.0 == true)  // 4 characters, 12 bytes
    }

    @Test func perUserTokenBucket() {
        let f = RoomFixture()
        let a = f.join("a")
        for index in 0..<3 { #expect(f.error(f.comment("c\(index)", from: a)) == nil) }
        #expect(f.error(f.comment("too fast", from: a)) == .rateLimited)
        // A second connection of the same user shares the bucket.
        let a2 = f.join("a")
        #expect(f.error(f.comment("other tab", from: a2)) == .rateLimited)
        f.advance(ms: 1000)
        #expect(f.error(f.comment("later", from: a)) == nil)
        #expect(f.error(f.comment("again", from: a)) == .rateLimited)
    }

    @Test func slowModeSpacesViewersButNotStaff() {
        let f = RoomFixture()
        let a = f.join("a")
        _ = f.apply(.slowMode(seconds: 10), from: f.streamer)
        #expect(f.error(f.comment("one", from: a)) == nil)
        f.advance(ms: 5000)
        #expect(f.error(f.comment("two", from: a)) == .slowMode)
        f.advance(ms: 5000)
        #expect(f.error(f.comment("three", from: a)) == nil)
        for index in 0..<5 { #expect(f.error(f.comment("staff \(index)", from: f.streamer)) == nil) }
    }

    @Test func muteWithExpiryAndUnmute() {
        let f = RoomFixture()
        let a = f.join("a")
        let mod = f.join("mod", role: .moderator, room: "farm")
        let effects = f.apply(.mute(user: "a", seconds: 60), from: mod)
        #expect(effects.contains(.send(a, .muted(user: "a", until: f.now + 60_000))))
        #expect(f.error(f.comment("hello", from: a)) == .muted)
        f.advance(ms: 60_000)
        #expect(f.error(f.comment("back", from: a)) == nil)
        _ = f.apply(.mute(user: "a", seconds: nil), from: mod)
        f.advance(ms: 10_000_000)
        #expect(f.error(f.comment("still?", from: a)) == .muted)
        _ = f.apply(.unmute(user: "a"), from: mod)
        #expect(f.error(f.comment("free", from: a)) == nil)
    }

    @Test func viewersCannotModerateOrSell() {
        let f = RoomFixture()
        let a = f.join("a")
        let mod = f.join("mod", role: .moderator, room: "farm")
        #expect(f.error(f.apply(.mute(user: "b", seconds: nil), from: a)) == .forbidden)
        #expect(f.error(f.apply(.saleStart(sku: "bamboo", limit: 1, countdown: nil, seconds: nil), from: a)) == .forbidden)
        #expect(f.error(f.apply(.productAdd(sku: "x", title: "x", price: 1, stock: 1), from: mod)) == .forbidden)
        #expect(f.error(f.apply(.close, from: mod)) == .forbidden)
    }

    @Test func banDisconnectsTheUserEverywhereAndRefusesThem() {
        let f = RoomFixture()
        let a1 = f.join("a")
        let a2 = f.join("a")
        let mod = f.join("mod", role: .moderator, room: "farm")
        let effects = f.apply(.ban(user: "a"), from: mod)
        #expect(effects.contains(.disconnect([a1, a2], code: 4003, reason: "banned")))
        let rejoin = f.room.join(999, as: Identity(user: "a", name: "a", role: .viewer), now: f.now)
        #expect(rejoin.contains(.disconnect([999], code: 4003, reason: "banned")))
        #expect(f.error(f.apply(.ban(user: "seller"), from: mod)) == .forbidden)
    }

    @Test func broadcastBudgetShowsAFairSampleAndEveryoneGetsTheirEcho() {
        var settings = RoomSettings()
        settings.commentBudgetPerSecond = 10
        settings.commentRate = 100
        settings.commentBurst = 100
        let f = RoomFixture(settings: settings)
        let viewers = (0..<100).map { f.join("v\($0)") }
        var shown = 0
        var hidden = 0
        var shownPerViewer = [Int](repeating: 0, count: viewers.count)
        var lastSeq: UInt64 = 0
        for _ in 0..<10 {  // ten seconds, each viewer comments once a second
            for (index, viewer) in viewers.enumerated() {
                guard let (isShown, seq) = f.shown(f.comment("hello", from: viewer)) else {
                    Issue.record("comment refused")
                    continue
                }
                if isShown {
                    shown += 1
                    shownPerViewer[index] += 1
                    #expect(seq == lastSeq + 1, "seq has no gaps")
                    lastSeq = seq
                } else {
                    hidden += 1
                }
                f.advance(ms: 10)
            }
        }
        #expect(shown + hidden == 1000)
        #expect(shown <= 10 * 10 + 10, "at most the budget per second (plus one burst)")
        #expect(shown >= 50, "the budget is used, not starved")
        // Fair: no viewer dominates what the room sees.
        #expect(shownPerViewer.max()! <= 5)
        // Staff are always shown, whatever the budget.
        for _ in 0..<20 { #expect(f.shown(f.comment("streamer", from: f.streamer))?.0 == true) }
    }

    @Test func resumeWithSinceGivesExactlyTheMissedComments() {
        var settings = RoomSettings()
        settings.historySize = 5
        settings.commentRate = 100
        settings.commentBurst = 100
        let f = RoomFixture(settings: settings)
        let a = f.join("a")
        for index in 1...8 { _ = f.comment("c\(index)", from: a) }
        func welcome(since: UInt64?, epoch: String?) -> RoomEvent.Welcome? {
            for effect in f.room.join(500, as: Identity(user: "r", name: "r", role: .viewer), since: since, epoch: epoch, now: f.now) {
                if case .send(_, .welcome(let welcome)) = effect { return welcome }
            }
            return nil
        }
        let recovered = welcome(since: 5, epoch: "E1")!
        #expect(recovered.recovered)
        #expect(recovered.comments.map(\.seq) == [6, 7, 8])
        #expect(welcome(since: 8, epoch: "E1")!.recovered)
        #expect(welcome(since: 8, epoch: "E1")!.comments.isEmpty)
        let tooOld = welcome(since: 1, epoch: "E1")!
        #expect(!tooOld.recovered)
        #expect(tooOld.comments.map(\.seq) == [4, 5, 6, 7, 8])
        #expect(!welcome(since: 5, epoch: "OLD")!.recovered)
        #expect(!welcome(since: 99, epoch: "E1")!.recovered)
    }

    @Test func idleCommentersAreForgottenSoMemoryFollowsActiveUsers() {
        let f = RoomFixture()
        for index in 0..<500 { _ = f.comment("hi", from: f.join("u\(index)")) }
        #expect(f.room.trackedCommenters == 500)
        f.advance(ms: 61_000)
        _ = f.room.tick(now: f.now)
        #expect(f.room.trackedCommenters == 0)
        // Forgetting is safe: the limits hold for someone who comments again.
        let back = f.join("u1")
        for index in 0..<3 { #expect(f.error(f.comment("again \(index)", from: back)) == nil) }
        #expect(f.error(f.comment("too many", from: back)) == .rateLimited)
    }
}
