import LiveRoom
import Testing

@Suite("Viewer count, likes and coalescing")
struct ViewerCountTests {
    @Test func countsPeopleNotConnections() {
        let f = RoomFixture()
        let a1 = f.join("a")
        let a2 = f.join("a")
        _ = f.join("", anonymous: true)
        _ = f.join("", anonymous: true)
        _ = f.join("seller", role: .streamer)  // the owner's second device: runs the room, not a viewer
        #expect(f.room.viewerCount == 3)  // a, and two anonymous connections
        // A streamer token for another user has no authority here: a viewer like anyone.
        let other = f.join("seller2", role: .streamer)
        #expect(f.room.viewerCount == 4)
        _ = f.room.leave(other, now: f.now)
        _ = f.room.leave(a1, now: f.now)
        #expect(f.room.viewerCount == 3)
        _ = f.room.leave(a2, now: f.now)
        #expect(f.room.viewerCount == 2)
    }

    func viewerEvents(_ effects: [RoomEffect]) -> [Int] {
        effects.compactMap { if case .broadcast(.viewers(let count), true) = $0 { return count } else { return nil } }
    }

    @Test func viewerCountIsCoalescedToOncePerSecondAndOnlyWhenChanged() {
        let f = RoomFixture()
        f.advance(ms: 5000)
        _ = f.join("a")
        #expect(viewerEvents(f.room.tick(now: f.now)) == [1])
        _ = f.join("b")
        _ = f.join("c")
        f.advance(ms: 500)
        #expect(viewerEvents(f.room.tick(now: f.now)) == [])  // too soon
        f.advance(ms: 500)
        #expect(viewerEvents(f.room.tick(now: f.now)) == [3])
        f.advance(ms: 5000)
        #expect(viewerEvents(f.room.tick(now: f.now)) == [])  // unchanged
    }

    @Test func likesAreCoalesced() {
        let f = RoomFixture()
        let viewers = (0..<7).map { f.join("v\($0)") }
        f.advance(ms: 5000)
        for viewer in viewers { _ = f.apply(.like, from: viewer) }
        let effects = f.room.tick(now: f.now)
        #expect(effects.contains(.broadcast(.likes(count: 7, total: 7), droppable: true)))
        _ = f.apply(.like, from: viewers[0])
        #expect(!f.room.tick(now: f.now + 10).contains { if case .broadcast(.likes, _) = $0 { return true } else { return false } })
    }

    @Test func oneUserAddsAtMostAFewLikesPerSecond() {
        let f = RoomFixture()
        let tapper = f.join("tapper")
        let tablet = f.join("tapper")  // the same user on a second device shares the rate
        for _ in 0..<100 {
            _ = f.apply(.like, from: tapper)
            _ = f.apply(.like, from: tablet)
        }
        #expect(f.room.totalLikes == 6, "a burst of twice the 3/s rate, then nothing")
        f.advance(ms: 1000)
        for _ in 0..<100 { _ = f.apply(.like, from: tapper) }
        #expect(f.room.totalLikes == 9, "three more a second later")
        // Once refilled, a like rate is forgotten: memory follows active tappers only.
        #expect(f.room.trackedLikers == 1)
        f.advance(ms: 60_000)
        _ = f.room.tick(now: f.now)
        #expect(f.room.trackedLikers == 0)
    }
}

@Suite("What the lobby and metrics see")
struct GaugeFingerprintTests {
    @Test func theFingerprintMovesOnlyWhenTheLobbyOrMetricsWouldChange() {
        let f = RoomFixture(stock: 5, limit: 5)
        let quiet = f.room.gaugeFingerprint
        #expect(f.room.gaugeFingerprint == quiet, "no change, same fingerprint")
        let a = f.join("a")
        let joined = f.room.gaugeFingerprint
        #expect(joined != quiet, "a viewer joined")
        _ = f.apply(.comment(text: "hi"), from: a)
        _ = f.apply(.like, from: a)
        #expect(f.room.gaugeFingerprint == joined, "chat does not touch the gauges")
        _ = f.order(a, ref: "r1")
        #expect(f.room.gaugeFingerprint != joined, "stock left changed")
    }
}
