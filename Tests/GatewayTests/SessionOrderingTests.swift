import JSON
import LiveRoom
import TestSupport
import Testing
import Transport
import WebSocket

@testable import Gateway

/// The gateway's ordering rules, on an embedded server (one loop driven by the test, in-memory
/// connections, a real SQLite journal whose commits the test holds or fails).
@Suite("Sessions and room effects on an embedded server")
struct SessionOrderingTests {
    /// A streamer's room with the streamer's client, welcomed and set up.
    func openRoom(_ embedded: EmbeddedServer, room: String = "farm") -> EmbeddedClient {
        let streamer = embedded.joined("/live/\(room)?token=\(embeddedToken("seller", role: "streamer"))")
        streamer.send(#"{"type":"room.open","title":"Farm"}"#)
        #expect(embedded.settle { streamer.types().contains("room") })
        return streamer
    }

    @Test func aReplyToOneConnectionComesInTheOrderOfItsCommands() throws {
        let embedded = try EmbeddedServer()
        let streamer = self.openRoom(embedded)
        // Two state changes (each must be stored before it is announced), then a message the
        // session refuses itself: its error must not overtake the first two's broadcasts.
        embedded.store?.held = true
        streamer.send(#"{"type":"product.add","sku":"apples","title":"Apples","price":500,"stock":10}"#)
        streamer.send(#"{"type":"pin","sku":"apples"}"#)
        streamer.send(#"{"type":"no.such.command"}"#)
        embedded.loop.runPendingTasks()
        #expect(streamer.types() == [], "nothing is announced while the save is held")
        embedded.store?.held = false
        var seen: [String] = []
        #expect(
            embedded.settle {
                seen += streamer.types(); return seen.count >= 3
            })
        #expect(seen == ["product", "pin", "error"])
    }

    @Test func aViewerWhoJoinsDuringASaveSeesTheChangeInTheWelcomeOrAfterItNeverBoth() throws {
        let embedded = try EmbeddedServer()
        let streamer = self.openRoom(embedded)
        embedded.store?.held = true
        streamer.send(#"{"type":"product.add","sku":"apples","title":"Apples","price":500,"stock":10}"#)
        let viewer = embedded.connect("/live/farm?token=\(embeddedToken("ann"))")
        embedded.loop.runPendingTasks()
        #expect(viewer.types() == [], "the join waits behind the save")
        embedded.store?.held = false
        var messages: [JSONValue] = []
        #expect(
            embedded.settle {
                messages += viewer.messages(); return messages.contains { $0["type"]?.stringValue == "welcome" }
            })
        embedded.loop.runPendingTasks()
        messages += viewer.messages()
        let welcome = messages.first { $0["type"]?.stringValue == "welcome" }
        let inWelcome = welcome?["products"]?.arrayValue?.contains { $0["sku"]?.stringValue == "apples" } ?? false
        let asEvent = messages.contains { $0["type"]?.stringValue == "product" }
        #expect(inWelcome != asEvent, "in the welcome: \(inWelcome), as an event: \(asEvent)")
        #expect(messages.first?["type"]?.stringValue == "welcome")
    }

    @Test func aStateChangeIsAnnouncedOnlyAfterItIsStored() throws {
        let embedded = try EmbeddedServer()
        let streamer = self.openRoom(embedded)
        let viewer = embedded.joined("/live/farm?token=\(embeddedToken("ann"))")
        embedded.store?.held = true
        streamer.send(#"{"type":"product.add","sku":"apples","title":"Apples","price":500,"stock":10}"#)
        embedded.loop.runPendingTasks()
        #expect(viewer.types() == [])
        embedded.store?.held = false
        #expect(embedded.settle { viewer.types() == ["product"] })
    }

    @Test func ordersAreAcknowledgedOnlyOnceDurableAndAFailedCommitAnswersUnavailable() throws {
        let embedded = try EmbeddedServer()
        let streamer = self.openRoom(embedded)
        streamer.send(#"{"type":"product.add","sku":"apples","title":"Apples","price":500,"stock":1}"#)
        streamer.send(#"{"type":"sale.start","sku":"apples","limit":1}"#)
        #expect(embedded.settle { streamer.types().contains("sale") })
        let buyer = embedded.joined("/live/farm?token=\(embeddedToken("bob"))")
        embedded.store?.failing = true
        buyer.send(#"{"type":"order","sku":"apples","qty":1,"ref":"r1"}"#)
        let results = embedded.next("order.result", from: buyer)
        #expect(results != nil)
        #expect(results?["status"]?.stringValue == "unavailable")
        // The unit came back: the same ref succeeds once the store works again.
        embedded.store?.failing = false
        buyer.send(#"{"type":"order","sku":"apples","qty":1,"ref":"r1"}"#)
        #expect(embedded.next("order.result", from: buyer)?["status"]?.stringValue == "accepted")
    }

    @Test func aBannedViewerIsClosedWith4003() throws {
        let embedded = try EmbeddedServer()
        let streamer = self.openRoom(embedded)
        let viewer = embedded.joined("/live/farm?token=\(embeddedToken("troll"))")
        streamer.send(#"{"type":"ban","user":"troll"}"#)
        #expect(
            embedded.settle {
                _ = viewer.messages(); return viewer.closeCode == 4003
            })
    }

    @Test func aSlowViewerIsClosedWith4008WhileTheStreamerHasSixteenTimesTheRoom() throws {
        let embedded = try EmbeddedServer(journal: false) { config in
            config.outbound.lowWater = 1024
            config.outbound.highWater = 4096
            config.outbound.hardLimit = 16 * 1024
        }
        let streamer = self.openRoom(embedded)
        let viewer = embedded.joined("/live/farm?token=\(embeddedToken("slow"))")
        _ = streamer.messages()
        embedded.loop.setWritable(false, viewer.connection)
        embedded.loop.setWritable(false, streamer.connection)
        // Product events are never droppable. Each is about 150 bytes: 200 of them pass the
        // viewer's 16 KiB hard limit, but not the streamer's (16 × 16 KiB).
        for index in 0..<200 {
            streamer.send(#"{"type":"product.add","sku":"p\#(index)","title":"Product number \#(index)","price":100,"stock":1}"#)
        }
        embedded.loop.setWritable(true, viewer.connection)
        embedded.loop.setWritable(true, streamer.connection)
        _ = viewer.messages()
        #expect(viewer.closeCode == 4008)
        #expect(embedded.server.metrics.slowConsumerDisconnects.value == 1)
        #expect(streamer.connection.isOpen)
        #expect(streamer.types().filter { $0 == "product" }.count == 200)
    }
}

@Suite("One client's share, on an embedded server")
struct ClientShareTests {
    @Test func aFloodIsRefusedThenClosedWith1008AndLikesStayBounded() throws {
        let embedded = try EmbeddedServer(journal: false)
        let streamer = embedded.joined("/live/farm?token=\(embeddedToken("seller", role: "streamer"))")
        let flooder = embedded.joined("/live/farm?token=\(embeddedToken("flooder"))")
        for _ in 0..<400 { flooder.send(#"{"type":"like"}"#) }
        let messages = flooder.messages()
        let refused = messages.filter { $0["code"]?.stringValue == "rate_limited" }.count
        #expect(refused > 100, "over-budget messages are refused (\(refused))")
        #expect(
            embedded.settle {
                _ = flooder.messages(); return flooder.closeCode == 1008
            })
        // Refused until the close (after 200 refusals in 10 s); the rest were never read.
        #expect(embedded.server.metrics.messagesRefused.value == 201)
        // The room's like count moved by at most the per-user like rate's burst.
        let likes = embedded.loop.runAndWait { embedded.server.directory.handle(for: "farm")!.room.totalLikes }
        #expect(likes <= 6, "likes counted: \(likes)")
        // The streamer, who runs the room, has a larger share and is unaffected.
        #expect(streamer.connection.isOpen)
    }
}

@Suite("A failed room save on an embedded server")
struct FailedRoomSaveTests {
    @Test func nobodyHearsOfAChangeThatCouldNotBeStoredAndTheStreamerIsTold() throws {
        let embedded = try EmbeddedServer()
        let streamer = embedded.joined("/live/farm?token=\(embeddedToken("seller", role: "streamer"))")
        streamer.send(#"{"type":"room.open","title":"Farm"}"#)
        #expect(embedded.settle { streamer.types().contains("room") })
        let viewer = embedded.joined("/live/farm?token=\(embeddedToken("ann"))")
        embedded.store?.failing = true
        streamer.send(#"{"type":"product.add","sku":"apples","title":"Apples","price":500,"stock":10,"ref":"add-1"}"#)
        var answer: [JSONValue] = []
        #expect(
            embedded.settle {
                answer += streamer.messages(); return !answer.isEmpty
            })
        #expect(answer.first?["type"]?.stringValue == "error" && answer.first?["code"]?.stringValue == "unavailable")
        #expect(answer.first?["ref"]?.stringValue == "add-1")
        embedded.loop.runPendingTasks()
        #expect(viewer.types() == [], "the viewer never saw the product")
        #expect(embedded.server.metrics.roomSavesFailed.value == 1)
        // Retried once the store works: made, saved, announced.
        embedded.store?.failing = false
        streamer.send(#"{"type":"product.add","sku":"apples","title":"Apples","price":500,"stock":10,"ref":"add-1"}"#)
        #expect(embedded.settle { viewer.types() == ["product"] })
    }
}

@Suite("Bounded metric labels and export concurrency")
struct BoundedResourcesTests {
    @Test func aPeersCloseCodeDoesNotBecomeAMetricLabel() throws {
        let embedded = try EmbeddedServer(journal: false)
        for code in [4001, 4002, 4999, 1000] as [UInt16] {
            let client = embedded.connect("/echo")
            client.sendRaw(WebSocketFrameEncoder.closeFrame(code: WebSocketCloseCode(code), maskKey: 7))
            embedded.loop.peerClosed(client.connection)
        }
        let labels = embedded.server.metrics.connectionsClosed.snapshot
        #expect(labels == ["peer close": 4], "labels: \(labels)")
    }

    @Test func exportsBeyondTheConcurrencyLimitGet503WithRetryAfter() throws {
        let directory = RoomDirectory(loops: [try EventLoop()], settings: RoomSettings(), epoch: "E")
        _ = directory.create("shop", owner: "boss")
        let handler = OrderExportHandler(
            secret: embeddedSecret, directory: directory, dataDirectory: makeTemporaryDirectory(), journalEnabled: true, maxConcurrent: 0)
        let head = HTTPRequestHead(
            method: "GET", target: "/api/rooms/shop/orders?token=\(embeddedToken("boss", role: "streamer"))", version: "HTTP/1.1",
            headers: [])
        let answer = LockedValue<HTTPResponse?>(nil)
        handler.handle(HTTPRequest(head: head, name: "shop"), reply: HTTPReply { response in answer.withLock { $0 = response } })
        #expect(answer.current?.status == .serviceUnavailable)
        #expect(answer.current?.headers.contains { $0.0 == "Retry-After" } == true)
    }
}

@Suite("Rooms come into being only through a successful upgrade")
struct RoomCreationTests {
    @Test func aPlainGetWithAStreamerTokenCreatesNoRoom() throws {
        let embedded = try EmbeddedServer(journal: false)
        let connection = embedded.loop.embedConnection()
        let request = "GET /live/newroom?token=\(embeddedToken("seller", role: "streamer")) HTTP/1.1\r\nHost: x\r\n\r\n"
        embedded.loop.receive(Array(request.utf8), on: connection)
        let answer = String(decoding: embedded.loop.takeOutput(of: connection), as: UTF8.self)
        #expect(answer.hasPrefix("HTTP/1.1 4"), "refused: \(answer.prefix(40))")
        #expect(embedded.server.roomCount == 0)
        // The same streamer through a real upgrade opens the room.
        let streamer = embedded.joined("/live/newroom?token=\(embeddedToken("seller", role: "streamer"))")
        #expect(embedded.server.roomCount == 1)
    }

    @Test func aStreamerMayOwnOnlySoManyRooms() throws {
        let embedded = try EmbeddedServer(journal: false) { $0.rooms.maxRoomsPerOwner = 2 }
        for name in ["one", "two"] {
            let client = embedded.joined("/live/\(name)?token=\(embeddedToken("seller", role: "streamer"))")
        }
        let connection = embedded.loop.embedConnection()
        embedded.loop.receive(
            WebSocketHandshake.clientRequest(
                host: "x", path: "/live/three?token=\(embeddedToken("seller", role: "streamer"))", key: "dGhlIHNhbXBsZSBub25jZQ=="),
            on: connection)
        #expect(String(decoding: embedded.loop.takeOutput(of: connection), as: UTF8.self).hasPrefix("HTTP/1.1 403"))
        #expect(embedded.server.roomCount == 2)
    }
}

@Suite("Closed, empty rooms leave memory and come back")
struct RoomUnloadingTests {
    @Test func aClosedEmptyRoomIsUnloadedAndComesBackWithItsStateAndOrders() throws {
        let embedded = try EmbeddedServer { $0.rooms.unloadAfter = 60 }
        let streamer = embedded.joined("/live/farm?token=\(embeddedToken("seller", role: "streamer"))")
        streamer.send(#"{"type":"room.open","title":"Farm"}"#)
        streamer.send(#"{"type":"product.add","sku":"apples","title":"Apples","price":500,"stock":10}"#)
        streamer.send(#"{"type":"sale.start","sku":"apples","limit":2}"#)
        #expect(embedded.settle { streamer.types().contains("sale") })
        let buyer = embedded.joined("/live/farm?token=\(embeddedToken("bob"))")
        buyer.send(#"{"type":"order","sku":"apples","qty":1,"ref":"r1"}"#)
        let first = embedded.next("order.result", from: buyer)
        #expect(first != nil)
        let orderID = first?["order"]?.stringValue
        #expect(orderID != nil)
        streamer.send(#"{"type":"room.close"}"#)
        #expect(embedded.settle { streamer.types().contains("room") })
        embedded.loop.peerClosed(buyer.connection)
        embedded.loop.peerClosed(streamer.connection)

        let runner = embedded.server.rooms
        let now = WallClock.nowMillis()
        runner.tick(embedded.loop, now: now)
        #expect(embedded.server.roomCount == 1, "not idle long enough yet")
        runner.tick(embedded.loop, now: now + 61_000)
        #expect(embedded.server.roomCount == 0 && embedded.server.directory.unloadedCount == 1)

        // Asked for again: back from the store, with its products and its accepted orders.
        let again = embedded.connect("/live/farm?token=\(embeddedToken("bob"))")
        let welcome = embedded.next("welcome", from: again)
        #expect(welcome != nil)
        #expect(welcome?["products"]?.arrayValue?.first?["sku"]?.stringValue == "apples")
        #expect(embedded.server.roomCount == 1 && embedded.server.directory.unloadedCount == 0)
        again.send(#"{"type":"order","sku":"apples","qty":1,"ref":"r1"}"#)
        let retried = embedded.next("order.result", from: again)
        #expect(retried != nil)
        #expect(retried?["status"]?.stringValue == "accepted" && retried?["order"]?.stringValue == orderID)
        // Nobody else can take the name meanwhile: it belongs to its owner.
        let other = embedded.connect("/live/farm?token=\(embeddedToken("mallory", role: "streamer"))")
        let mine = embedded.next("welcome", from: other)
        #expect(mine != nil)
        #expect(mine?["you"]?["role"]?.stringValue == "viewer")
    }
}
