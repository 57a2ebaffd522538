import LiveRoom
import XCTest

@testable import Cluster

final class ClusterCodecTests: XCTestCase {
    func testRoomStateOrdersAndCommentsRoundTrip() throws {
        let snapshot = RoomSnapshot(
            id: "farm", owner: "grower \"1\"", title: "冬笋\nlive", live: true, slowMode: 3, pinned: "a",
            products: [
                Product(
                    sku: "a", title: "Apples", price: 100, stock: 30,
                    sale: FlashSale(state: .live, limit: 2, startsAt: 5, endsAt: nil, paymentWindow: 300),
                    image: "https://cdn.example/a.jpg"),
                Product(sku: "b", title: "Bamboo", price: 250, stock: 0),
            ],
            moderators: ["m1"], banned: ["troll"], muted: ["loud": 99, "forever": Int64.max],
            stream: StreamSource(url: "https://live.example/farm/whep", kind: .whep, poster: "https://cdn.example/p.jpg"))
        XCTAssertEqual(try ClusterCodec.decodeSnapshot(Array(ClusterCodec.encode(snapshot).utf8)), snapshot)
        let order = Order(
            id: "farm-e-1", room: "farm", sku: "a", user: "v", name: "Vi", qty: 2, price: 100, ref: "r1", ts: 1234, payBy: 9999)
        XCTAssertEqual(try ClusterCodec.decodeOrder(Array(ClusterCodec.encode(order).utf8)), order)
        let comment = Comment(seq: 41, user: "v", name: "Vi", text: "好吃 \\ \"yes\"", ts: 99)
        XCTAssertEqual(try ClusterCodec.decodeComment(Array(ClusterCodec.encode(comment).utf8)), comment)
    }

    func testBrokenStoredValuesAreErrorsNotCrashes() {
        XCTAssertThrowsError(try ClusterCodec.decodeOrder(Array("{}".utf8)))
        XCTAssertThrowsError(try ClusterCodec.decodeSnapshot(Array("[1]".utf8)))
        XCTAssertThrowsError(try ClusterCodec.decodeComment(Array("not json".utf8)))
    }

    /// A room rebuilt from stored comments goes on with their seqs, and order ids go on after the
    /// highest stored one in the same epoch.
    func testRestoreContinuesSeqAndOrderIDs() {
        let snapshot = RoomSnapshot(
            id: "farm", owner: "o", title: "", live: true, slowMode: 0, pinned: nil,
            products: [Product(sku: "a", title: "A", price: 1, stock: 5, sale: FlashSale(state: .live, limit: 5, startsAt: 0))])
        let orders = [
            Order(id: "farm-ep-7", room: "farm", sku: "a", user: "v", name: "v", qty: 1, price: 1, ref: "r", ts: 1)
        ]
        let comments = [Comment(seq: 9, user: "u", name: "u", text: "hi", ts: 1), Comment(seq: 8, user: "u", name: "u", text: "yo", ts: 1)]
        let room = Room.restore(snapshot, orders: orders, epoch: "ep", now: 10, comments: comments)
        XCTAssertEqual(room.seq, 9)
        XCTAssertEqual(room.product("a")?.left, 4)
        _ = room.join(1, as: Identity(user: "w", name: "w", role: .viewer), now: 10)
        let effects = room.apply(.order(sku: "a", qty: 1, ref: "new"), from: 1, now: 10)
        let ids = effects.compactMap { effect -> String? in
            if case .commit(let order) = effect { return order.id }
            return nil
        }
        XCTAssertEqual(ids, ["farm-ep-8"])
        let welcome = room.join(2, as: Identity(user: "x", name: "x", role: .viewer), since: 8, epoch: "ep", now: 10)
        guard case .send(_, .welcome(let body)) = welcome.first else { return XCTFail("no welcome") }
        XCTAssertTrue(body.recovered)
        XCTAssertEqual(body.comments.map(\.seq), [9])
    }
}
