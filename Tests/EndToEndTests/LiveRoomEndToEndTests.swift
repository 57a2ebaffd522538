import Foundation
import Gateway
import JSON
import Testing
import WebSocketClient

@Suite("Live rooms over real sockets", .serialized)
struct LiveRoomEndToEndTests {
    @Test func aFlashSaleFromOpenToOrderStream() throws {
        try liveServer { server in
            let streamer = try LiveClient(server, room: "farm", token: token("seller", role: "streamer", name: "Lao Wang"))
            _ = try streamer.next("welcome")
            try streamer.send(#"{"type":"room.open","title":"Winter bamboo"}"#)
            try streamer.send(#"{"type":"product.add","sku":"bamboo","title":"冬笋","price":3990,"stock":3}"#)
            try streamer.send(#"{"type":"sale.start","sku":"bamboo","limit":1}"#)
            _ = try streamer.next("sale")

            let alice = try LiveClient(server, room: "farm", token: token("alice", name: "Alice"))
            let welcome = try alice.next("welcome")
            #expect(welcome["live"]?.boolValue == true)
            #expect(welcome["products"]?.arrayValue?.first?["sale"]?["state"]?.stringValue == "live")
            let bob = try LiveClient(server, room: "farm", token: token("bob"))
            _ = try bob.next("welcome")

            // Each sees the other's comment.
            try alice.send(#"{"type":"comment","text":"新鲜吗?"}"#)
            #expect(try bob.next("comment")["text"]?.stringValue == "新鲜吗?")
            #expect(try alice.next("comment")["shown"]?.boolValue == true)

            // The viewer count converges to the two people watching.
            #expect(try alice.next("viewers", where: { $0["count"]?.intValue == 2 })["count"]?.intValue == 2)

            // Buy: four buyers for three units, one each.
            let carol = try LiveClient(server, room: "farm", token: token("carol"))
            let dave = try LiveClient(server, room: "farm", token: token("dave"))
            _ = try carol.next("welcome")
            _ = try dave.next("welcome")
            var accepted: [String] = []
            for (buyer, ref) in [(alice, "a"), (bob, "b"), (carol, "c")] {
                try buyer.send(#"{"type":"order","sku":"bamboo","qty":1,"ref":"\#(ref)"}"#)
                let result = try buyer.next("order.result")
                #expect(result["status"]?.stringValue == "accepted")
                accepted.append(result["order"]?.stringValue ?? "")
            }
            try dave.send(#"{"type":"order","sku":"bamboo","qty":1,"ref":"d"}"#)
            #expect(try dave.next("order.result")["status"]?.stringValue == "sold_out")
            // The streamer's order stream has every accepted order.
            var streamed: [String] = []
            while streamed.count < 3 { streamed.append(try streamer.next("order")["order"]?.stringValue ?? "") }
            #expect(streamed.sorted() == accepted.sorted())
            #expect(try bob.next("sale")["state"]?.stringValue == "sold_out")  // dave skipped past it waiting for his result
        }
    }

    @Test func admissionBeforeTheUpgrade() throws {
        try liveServer({ $0.auth.allowAnonymous = true }) { server in
            func status(_ path: String) throws -> Int {
                let raw = try rawHTTP(
                    server,
                    "GET \(path) HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
                )
                return Int(raw.split(separator: " ")[1]) ?? 0
            }
            // A viewer cannot conjure a room; a streamer can. Order matters: the room is created
            // by the streamer's request.
            let cases: [(String, Int)] = [
                ("/live/ghost", 404),
                ("/live/ghost?token=\(token("v"))", 404),
                ("/live/newroom?token=\(token("s", role: "streamer"))", 101),
                ("/live/newroom", 101),  // anonymous viewer
                ("/live/newroom?token=garbage", 401),
                ("/live/newroom?token=\(token("v", exp: 1000))", 401),  // expired
                ("/live/newroom?token=\(token("v", room: "other"))", 401),  // wrong room
                ("/live/newroom?token=\(token("v", role: "king"))", 401),
                ("/live/bad%20name", 404),
            ]
            for (path, expected) in cases {
                let got = try status(path)
                #expect(got == expected, "\(path)")
            }
        }
        try liveServer({ $0.auth.allowAnonymous = false }) { server in
            _ = try LiveClient(server, room: "r", token: token("s", role: "streamer"))
            let raw = try rawHTTP(
                server,
                "GET /live/r HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            #expect(raw.hasPrefix("HTTP/1.1 401 "))
        }
    }

    @Test func badInputGetsAnErrorAndTheConnectionLives() throws {
        try liveServer { server in
            let streamer = try LiveClient(server, room: "r", token: token("s", role: "streamer"))
            _ = try streamer.next("welcome")
            let viewer = try LiveClient(server, room: "r", token: token("v"))
            _ = try viewer.next("welcome")
            try viewer.send("{not json")
            #expect(try viewer.next("error")["code"]?.stringValue == "bad_json")
            try viewer.send(#"{"type":"teleport"}"#)
            #expect(try viewer.next("error")["code"]?.stringValue == "unknown_type")
            try viewer.send(#"{"type":"sale.start","sku":"x","limit":1,"ref":"q1"}"#)
            let forbidden = try viewer.next("error")
            #expect(forbidden["code"]?.stringValue == "forbidden" && forbidden["ref"]?.stringValue == "q1")
            try viewer.socket.send(.binary, [1, 2, 3])
            #expect(try viewer.next("error")["code"]?.stringValue == "bad_json")
            try viewer.send(#"{"type":"comment","text":"still here"}"#)
            #expect(try viewer.next("comment")["text"]?.stringValue == "still here")
        }
    }

    @Test func reconnectWithSinceRecoversExactlyTheMissedComments() throws {
        try liveServer { server in
            let streamer = try LiveClient(server, room: "r", token: token("s", role: "streamer"))
            let welcome = try streamer.next("welcome")
            let epoch = welcome["epoch"]?.stringValue ?? ""
            for index in 1...5 { try streamer.send(#"{"type":"comment","text":"c\#(index)"}"#) }
            _ = try streamer.next("comment", where: { $0["seq"]?.intValue == 5 })
            let back = try LiveClient(server, room: "r", token: token("v"), query: "since=2&epoch=\(epoch)")
            let resumed = try back.next("welcome")
            #expect(resumed["recovered"]?.boolValue == true)
            #expect(resumed["comments"]?.arrayValue?.compactMap { $0["seq"]?.intValue } == [3, 4, 5])
            let stale = try LiveClient(server, room: "r", token: token("v2"), query: "since=2&epoch=old")
            #expect(try stale.next("welcome")["recovered"]?.boolValue == false)
        }
    }

    @Test func banClosesTheUsersConnectionsWith4003() throws {
        try liveServer { server in
            let streamer = try LiveClient(server, room: "r", token: token("s", role: "streamer"))
            _ = try streamer.next("welcome")
            let troll = try LiveClient(server, room: "r", token: token("troll"))
            _ = try troll.next("welcome")
            try streamer.send(#"{"type":"ban","user":"troll"}"#)
            #expect(try troll.socket.receiveClose()?.rawValue == 4003)
            let again = try LiveClient(server, room: "r", token: token("troll"))
            #expect(try again.socket.receiveClose()?.rawValue == 4003)
        }
    }

    @Test func demoRoomIsLiveWithProducts() throws {
        try withServer { server in
            let client = try LiveClient(server, room: "demo", token: nil)
            let welcome = try client.next("welcome")
            #expect(welcome["live"]?.boolValue == true)
            #expect((welcome["products"]?.arrayValue?.count ?? 0) >= 3)
            #expect(welcome["you"]?["anonymous"]?.boolValue == true)
        }
    }
}
