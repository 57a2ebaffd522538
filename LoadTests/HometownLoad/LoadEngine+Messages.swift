import Glibc
import JSON
import Transport
import WebSocket

/// What viewers and streamers do with what the server sends them: comment continuity and
/// fan-out latency, viewer counts, racing for a sale, retrying refs, the order stream.
extension LoadEngine {
    func viewerReceived(_ viewer: Viewer, _ session: ClientSession, _ message: WebSocketMessage) {
        let stats = self.stats[viewer.loop]
        stats.messagesIn += 1
        // Fast path for the bulk of the traffic: comments are read with a byte scan, not a JSON
        // parse (profiling the festival scenario showed parsing as most of the tool's CPU).
        if message.payload.starts(with: Self.commentPrefix) {
            self.comment(message.payload, viewer, stats)
            return
        }
        guard let value = try? JSONParser.parse(message.payload), let type = value["type"]?.stringValue else {
            stats.errors["unparseable message", default: 0] += 1
            return
        }
        switch type {
        case "welcome":
            viewer.welcomed = true
            viewer.attempts = 0
            if value["recovered"]?.boolValue == true, let last = viewer.lastSeq {
                // Resumed: the missed comments are in the welcome and must continue the sequence.
                var expected = last + 1
                for comment in value["comments"]?.arrayValue ?? [] {
                    guard let seq = comment["seq"]?.intValue.map({ UInt64($0) }) else { continue }
                    if seq > expected { stats.lostComments += Int(seq - expected) }
                    expected = max(expected, seq + 1)
                }
                viewer.lastSeq = max(last, expected - 1)
            } else {
                if viewer.lastSeq != nil { stats.errors["resync: history no longer reached back", default: 0] += 1 }
                viewer.lastSeq = value["seq"]?.intValue.map { UInt64($0) }
            }
            viewer.epoch = value["epoch"]?.stringValue
            viewer.lastViewerCount = value["viewers"]?.intValue.map(Int.init)
            stats.connect.record(seconds: MonotonicClock.seconds() - viewer.connectStartedAt)
            // Orders sent before a drop and never answered go again, with the same ref: the
            // server answers a ref it already took with the same order, never a second one.
            for attempt in viewer.orders where attempt.answers.isEmpty {
                stats.ordersResent += 1
                self.sendOrder(ref: attempt.ref, viewer, session)
            }
        case "comment":
            guard value["shown"]?.boolValue == true, let seq = value["seq"]?.intValue.map({ UInt64($0) }) else { return }
            if let last = viewer.lastSeq {
                if seq > last + 1 { stats.lostComments += Int(seq - last - 1) }
                if seq <= last { stats.reorderedComments += 1 }
            }
            viewer.lastSeq = max(viewer.lastSeq ?? 0, seq)
            if let text = value["text"]?.stringValue, text.hasPrefix("lt ") {
                let parts = text.split(separator: " ")
                if parts.count == 3, let planned = Int64(parts[2]) {
                    stats.commentFanout.record(seconds: MonotonicClock.seconds() - Double(planned) / 1e9)
                }
            }
        case "viewers":
            viewer.lastViewerCount = value["count"]?.intValue.map(Int.init)
        case "sale":
            guard viewer.buyer, !viewer.ordered, value["sku"]?.stringValue == self.scenario.saleSKU,
                value["state"]?.stringValue == "live", !viewer.waitingToBuy
            else { return }
            guard self.scenario.buySpreadSeconds > 0 else { return self.placeOrder(viewer, session) }
            viewer.waitingToBuy = true
            let delay = UInt64(Double.random(in: 0...self.scenario.buySpreadSeconds) * 1e9)
            session.connection.loop.schedule(after: delay) {
                viewer.waitingToBuy = false
                // On whatever connection the viewer has by then (it may have moved nodes).
                guard !viewer.ordered, !viewer.closed, !self.finished, viewer.welcomed, let current = viewer.session else { return }
                self.placeOrder(viewer, current)
            }
        case "order.result":
            let status = value["status"]?.stringValue ?? "?"
            guard let ref = value["ref"]?.stringValue, let index = viewer.orders.firstIndex(where: { $0.ref == ref }) else {
                stats.errors["order.result for an unknown ref", default: 0] += 1
                return
            }
            if status == "unavailable" {
                // "Try again": the store could not take it (a failing node, Redis restarting).
                // A buyer taps again, with the same ref, after a short, jittered pause.
                stats.unavailableAnswers += 1
                let delay = UInt64(Double.random(in: 0.2...1.0) * 1e9)
                session.connection.loop.schedule(after: delay) {
                    guard !viewer.closed, !self.finished, let current = viewer.session, viewer.welcomed else { return }
                    stats.ordersResent += 1
                    self.sendOrder(ref: ref, viewer, current)
                }
                return
            }
            if viewer.orders[index].answers.isEmpty {
                stats.orderAck.record(seconds: MonotonicClock.seconds() - viewer.orders[index].sentAt)
                stats.ordersAnswered += 1
            }
            if status == "accepted", !viewer.orders[index].accepted, let payer = self.payer, let id = value["order"]?.stringValue,
                let payBy = value["pay_by"]?.intValue
            {
                payer.accepted(order: id, payBy: payBy, kind: Payer.kind(of: viewer.index, self.scenario), scenario: self.scenario)
            }
            viewer.orders[index].answers.append((status, value["order"]?.stringValue))
            if viewer.orders[index].retriesLeft > 0 {
                // The same ref again: it must come back with the same answer (idempotency).
                viewer.orders[index].retriesLeft -= 1
                self.sendOrder(ref: ref, viewer, session)
            } else if viewer.orders[index].accepted && viewer.orders.count < self.scenario.ordersPerBuyer {
                // A greedy buyer orders again with a new ref, until the limit or the stock stops it.
                self.placeOrder(viewer, session)
            }
        case "order.update":
            stats.orderUpdates[value["reason"]?.stringValue ?? value["state"]?.stringValue ?? "?", default: 0] += 1
        case "error":
            stats.errors["error " + (value["code"]?.stringValue ?? "?"), default: 0] += 1
        default:
            break
        }
    }

    static let commentPrefix = Array(#"{"type":"comment","seq":"#.utf8)
    static let textKey = Array(#""text":"lt "#.utf8)
    static let shownTrue = Array(#""shown":true}"#.utf8)

    /// `{"type":"comment","seq":N,...,"text":"lt VIEWER PLANNED_NS",...,"shown":true}` (the
    /// server's field order, documented in PROTOCOL.md).
    func comment(_ bytes: [UInt8], _ viewer: Viewer, _ stats: LoopStats) {
        guard bytes.count > Self.shownTrue.count, Array(bytes.suffix(Self.shownTrue.count)) == Self.shownTrue else { return }
        var index = Self.commentPrefix.count
        var seq: UInt64 = 0
        while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
            seq = seq * 10 + UInt64(bytes[index] - 48)
            index += 1
        }
        if let last = viewer.lastSeq {
            if seq > last + 1 { stats.lostComments += Int(seq - last - 1) }
            if seq <= last { stats.reorderedComments += 1 }
        }
        viewer.lastSeq = max(viewer.lastSeq ?? 0, seq)
        // Find "text":"lt V P" and read P.
        let key = Self.textKey
        var position = index
        while position + key.count < bytes.count {
            if bytes[position] == key[0] && Array(bytes[position..<(position + key.count)]) == key {
                var cursor = position + key.count
                while cursor < bytes.count && bytes[cursor] != 32 { cursor += 1 }
                cursor += 1
                var planned: Int64 = 0
                while cursor < bytes.count, bytes[cursor] >= 48, bytes[cursor] <= 57 {
                    planned = planned * 10 + Int64(bytes[cursor] - 48)
                    cursor += 1
                }
                if planned > 0 { stats.commentFanout.record(seconds: MonotonicClock.seconds() - Double(planned) / 1e9) }
                return
            }
            position += 1
        }
    }

    func placeOrder(_ viewer: Viewer, _ session: ClientSession) {
        let ref = "r\(viewer.index)-\(viewer.orders.count)"
        viewer.orders.append(OrderAttempt(ref: ref, sentAt: MonotonicClock.seconds(), retriesLeft: self.scenario.retries))
        self.sendOrder(ref: ref, viewer, session)
    }

    func sendOrder(ref: String, _ viewer: Viewer, _ session: ClientSession) {
        guard let sku = self.scenario.saleSKU else { return }
        session.send(text: #"{"type":"order","sku":"\#(sku)","qty":\#(self.scenario.buyQuantity),"ref":"\#(ref)"}"#)
        self.stats[viewer.loop].messagesOut += 1
    }

    /// A streamer back after a drop reloads the room's orders from the export, as a studio page
    /// does: orders announced while it was away are in the store (acknowledged means stored), and
    /// everything after this welcome arrives on the order stream. Off the loop (a blocking read);
    /// an export that fails (the store is still coming back: Redis loading its AOF) is tried
    /// again for up to 15 s, as a page would, rather than given up.
    func catchUpOrders(_ streamer: Streamer, _ session: ClientSession) {
        let room = self.roomName(streamer.room)
        let token = self.token("load-streamer-\(streamer.room)", role: "streamer", room: room)
        let host = session.host
        let loop = session.connection.loop
        Threads.detach {
            let parts = host.split(separator: ":")
            guard parts.count == 2, let port = UInt16(parts[1]) else { return }
            for _ in 0..<30 {
                if let ids = StoredOrdersCheck.export(host: String(parts[0]), port: port, room: room, token: token) {
                    loop.execute { streamer.streamedOrders.formUnion(ids) }
                    return
                }
                usleep(500_000)
            }
        }
    }

    func streamerReceived(_ streamer: Streamer, _ session: ClientSession, _ message: WebSocketMessage) {
        guard let value = try? JSONParser.parse(message.payload), let type = value["type"]?.stringValue else { return }
        switch type {
        case "welcome":
            streamer.attempts = 0
            streamer.welcomes += 1
            if streamer.welcomes > 1 { self.catchUpOrders(streamer, session) }
            let existing = Set((value["products"]?.arrayValue ?? []).compactMap { $0["sku"]?.stringValue })
            session.send(text: #"{"type":"room.open","title":"load test \#(self.scenario.name)"}"#)
            for product in self.scenario.products where !existing.contains(product.sku) {
                session.send(
                    text:
                        #"{"type":"product.add","sku":"\#(product.sku)","title":"\#(product.title)","price":\#(product.price),"stock":\#(product.stock)}"#
                )
            }
            if let sku = self.scenario.saleSKU { session.send(text: #"{"type":"pin","sku":"\#(sku)"}"#) }
        case "pin":
            streamer.ready = true
        case "order":
            if let id = value["order"]?.stringValue { streamer.streamedOrders.insert(id) }
        case "sale":
            if value["state"]?.stringValue == "sold_out" && streamer.soldOutAt == 0 && streamer.saleStartedAt > 0 {
                streamer.soldOutAt = MonotonicClock.seconds()
                self.stats[streamer.loop].timeToSellOut.record(seconds: streamer.soldOutAt - streamer.saleStartedAt)
            }
        case "error":
            self.stats[streamer.loop].errors["streamer error " + (value["code"]?.stringValue ?? "?"), default: 0] += 1
        default:
            break
        }
    }
}
