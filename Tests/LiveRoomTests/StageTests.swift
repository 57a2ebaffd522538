import LiveRoom
import Testing

@Suite("The room's video, product pictures and the server's clock in the welcome")
struct StageTests {
    @Test func onlyTheOwnerSetsTheVideoAndItIsStoredAndWelcomed() throws {
        let f = RoomFixture()
        let viewer = f.join("v")
        let source = StreamSource(url: "https://live.example/farm/whep", kind: .whep)
        #expect(f.error(f.apply(.stream(source), from: viewer)) == .forbidden)
        let effects = f.apply(.stream(source), from: f.streamer)
        guard case .persist(let snapshot)? = effects.first else {
            Issue.record("the change is stored first: \(effects)")
            return
        }
        #expect(snapshot.stream == source)
        #expect(effects.contains(.broadcast(.stream(source), droppable: false)))
        f.room.saveSucceeded()
        f.advance(ms: 1234)
        let member = 900
        let welcome = f.room.join(member, as: Identity(user: "w", name: "W", role: .viewer), now: f.now)
        guard case .send(_, .welcome(let w))? = welcome.first else {
            Issue.record("no welcome")
            return
        }
        #expect(w.stream == source && w.now == f.now)
        // After a restart the room still has its video.
        let restored = Room.restore(f.room.snapshot(), orders: [], epoch: "E2", now: f.now)
        #expect(restored.stream == source)
        // A failed save takes the change back.
        _ = f.apply(.stream(nil), from: f.streamer)
        _ = f.room.saveFailed(now: f.now)
        #expect(f.room.stream == source)
    }

    @Test func theKindFollowsTheURL() {
        #expect(StreamSource.kind(of: "https://cdn.example/farm/index.m3u8?token=1") == .hls)
        #expect(StreamSource.kind(of: "http://127.0.0.1:8889/farm/whep") == .whep)
        #expect(StreamSource.kind(of: "https://cdn.example/replay.mp4") == .file)
    }

    @Test func aProductKeepsItsPicture() {
        let f = RoomFixture(startSale: false)
        _ = f.apply(.productAdd(sku: "pear", title: "Pears", price: 100, stock: 5, image: "https://cdn.example/pear.jpg"), from: f.streamer)
        #expect(f.room.product("pear")?.image == "https://cdn.example/pear.jpg")
        #expect(f.room.snapshot().products.first { $0.sku == "pear" }?.image == "https://cdn.example/pear.jpg")
    }
}
