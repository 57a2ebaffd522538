import Cluster
import Glibc
import JSON
import LiveRoom
import OrderJournal
import RESP
import RedisClient
import Synchronization
import Transport

/// This process as one node of a cluster (docs/SCALING.md): its two Redis connections, its
/// heartbeat, its inbox, and its gates to the rooms its members are in.
///
/// Each room is run by one node, the holder of the room's lease. The owner runs the room exactly
/// as a single node does (`RoomRunner`), writing through fenced scripts instead of SQLite; every
/// other node with members in the room forwards their messages to the owner's inbox and fans the
/// room's broadcasts (one publish per event, on the room's channel) out to its own connections.
///
/// Both Redis connections live on loop 0, like any other connection there. Published messages
/// all leave through the one command connection and all arrive through the one subscriber
/// connection, so what an owner publishes reaches every node in the order it was published.
final class ClusterNode: Sendable {
    let node: String
    /// This life of the node: a restarted node is a different member source than its former self.
    let boot: String
    let settings: ServerConfiguration.ClusterSettings
    let url: RedisURL
    let commands: RedisClient
    let subscriber: RedisClient
    let store: RedisRoomStore
    let directory: RoomDirectory
    let fanOut: FanOut
    let metrics: ServerMetrics
    var leaseMillis: Int64 { Int64(self.settings.lease * 1000) }
    /// Kept free at the end of each lease for clock-rate differences between node and Redis.
    var marginMillis: Int64 { max(200, self.leaseMillis / 10) }

    /// This node's gates, by room (created when its first member arrives).
    private let gates = LockedValue<[String: ClusterRoom]>([:])
    /// Every room created anywhere in the cluster, for admission; when it was last read whole.
    private let knownRooms = LockedValue<Set<String>>([])
    private let roomsReadAt = LockedValue<Int64>(0)
    /// Nodes (node|boot) whose members joined rooms this node runs.
    private let peers = LockedValue<Set<String>>([])
    /// Both connections are up (for /readyz).
    private let up = LockedValue<(commands: Bool, subscriber: Bool)>((false, false))
    /// Set once, before the loops start, by the server (the runner needs the node and the node
    /// dispatches to the runner).
    nonisolated(unsafe) var runner: RoomRunner!
    /// Told when an order or an order change wrote a webhook event (the delivery looks at once).
    /// Set once, before the loops start.
    nonisolated(unsafe) var onOutbox: (@Sendable () -> Void)?
    /// Shop calls forwarded to the rooms' owners, waiting for their answers, by ticket.
    private let shopCalls = LockedValue<[Int: @Sendable (ShopAnswer) -> Void]>([:])
    private let nextTicket = Atomic<Int>(1)

    init(
        settings: ServerConfiguration.ClusterSettings, port: UInt16, loop: EventLoop, directory: RoomDirectory, fanOut: FanOut,
        metrics: ServerMetrics, outbox: Bool = false
    ) throws {
        self.settings = settings
        self.url = try RedisURL(settings.redis)
        var random = SystemRandomNumberGenerator()
        self.boot = String(UInt64.random(in: 0...UInt64.max, using: &random), radix: 36)
        // host:port names the node; a test server on port 0 gets its boot id instead of a port.
        self.node = settings.nodeID.isEmpty ? Self.hostName() + ":" + (port == 0 ? self.boot : String(port)) : settings.nodeID
        var options = RedisConnection.Options()
        options.timeout = UInt64(max(1, settings.lease / 2) * 1_000_000_000)
        self.commands = RedisClient(url: self.url, loop: loop, mode: .commands, name: "redis", options: options)
        self.subscriber = RedisClient(url: self.url, loop: loop, mode: .subscriber, name: "redis-subscriber", options: options)
        self.store = RedisRoomStore(client: self.commands, waitReplicas: settings.waitReplicas, outbox: outbox)
        self.directory = directory
        self.fanOut = fanOut
        self.metrics = metrics
    }

    /// Fails startup with a clear message when Redis cannot be reached or refuses us.
    static func checkReachable(_ settings: ServerConfiguration.ClusterSettings) throws {
        let url: RedisURL
        do {
            url = try RedisURL(settings.redis)
        } catch {
            throw ConfigurationLoader.Error(key: "cluster.redis", problem: error.description)
        }
        do {
            let client = try BlockingRedisClient(url: url)
            try client.command(["PING"])
        } catch {
            throw ConfigurationLoader.Error(key: "cluster.redis", problem: "cannot reach Redis at \(url): \(error)")
        }
    }

    private static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, 255)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    var inbox: String { ClusterKeys.inbox(self.node) }
    var isReady: Bool { self.up.withLock { $0.commands && $0.subscriber } }

    // MARK: - Starting

    /// Connects both connections and starts the once-a-second heartbeat. Called once the loops run.
    func start() {
        let loop = self.commands.loop
        loop.execute {
            let commands = self.commands.connection
            commands.onReady = {
                self.store.loadScripts()
                self.up.withLock { $0.commands = true }
                self.heartbeat()
            }
            commands.onDown = { self.up.withLock { $0.commands = false } }
            let subscriber = self.subscriber.connection
            var everReady = false
            subscriber.onReady = {
                self.up.withLock { $0.subscriber = true }
                // Messages published while we were away are gone: members of rooms run elsewhere
                // reconnect and recover from the room's history.
                if everReady {
                    self.moveAllRemoteRooms(reason: "cluster link restarted")
                    self.roomsReadAt.withLock { $0 = 0 }
                }
                everReady = true
            }
            subscriber.onDown = { self.up.withLock { $0.subscriber = false } }
            subscriber.onMessage = { channel, payload in self.received(channel: channel, payload: payload) }
            subscriber.subscribe(self.inbox)
            subscriber.subscribe(ClusterKeys.created)
            commands.start()
            subscriber.start()
            var last: UInt64 = 0
            var beats = 0
            var peersCheckedAt: UInt64 = 0
            loop.onTick { now in
                // Peers are checked four times a second (one MGET), so a dead node's viewers
                // leave its rooms' counts well within 5 s of its heartbeat key expiring (3 s).
                if now &- peersCheckedAt >= 250_000_000 {
                    peersCheckedAt = now
                    self.checkPeers()
                }
                guard now &- last >= 1_000_000_000 else { return }
                last = now
                self.heartbeat()
                beats += 1
                if beats % 5 == 0 { self.takeOrphanedRooms() }
            }
        }
    }

    func stop() {
        self.commands.stop()
        self.subscriber.stop()
    }

    /// Waits (polling every 10 ms) until no command waits for Redis's answer, or `deadline` (wall
    /// ms) passes. True when none is left.
    func waitUntilIdle(until deadline: Int64) -> Bool {
        let client = self.commands
        while WallClock.nowMillis() < deadline {
            if client.loop.runAndWait({ client.connection.pendingCount }) == 0 { return true }
            usleep(10_000)
        }
        return false
    }

    // MARK: - Heartbeat (loop 0, once a second)

    private func heartbeat() {
        let connection = self.commands.connection
        guard connection.isReady else { return }
        let ttl = "3000"
        connection.send(["SET", ClusterKeys.node(self.node), self.boot, "PX", ttl]) { _ in }
        let gates = self.gates.withLock { Array($0.values) }
        var status = JSONWriter()
        let owned: [JSONValue] = self.runner.listing.local.map { entry in
            .object([
                ("room", .string(entry.room)), ("title", .string(entry.title)), ("live", .bool(entry.live)),
                ("viewers", .int(Int64(entry.viewers))),
            ])
        }
        status.value(.object([("boot", .string(self.boot)), ("rooms", .array(gates.map { .string($0.id) })), ("owned", .array(owned))]))
        connection.send(["HSET", ClusterKeys.nodes, self.node, String(decoding: status.bytes, as: UTF8.self)]) { _ in }
        self.refreshListing(connection)
        // New rooms are announced as they are created (`ht:rooms:created`); the whole set is
        // read at startup and every 30 s besides, to catch an announcement missed while the
        // subscriber was reconnecting. (A set of many thousands of names is not read every second.)
        if self.roomsReadAt.withLock({ $0 == 0 || MonotonicClock.millis() - $0 >= 30_000 }) {
            self.roomsReadAt.withLock { $0 = MonotonicClock.millis() }
            connection.send(["SMEMBERS", ClusterKeys.rooms]) { result in
                guard case .success(let value) = result, let names = value.array else { return }
                let rooms = Set(names.compactMap(\.string))
                self.knownRooms.withLock { $0.formUnion(rooms) }
            }
        }
        // Rooms run elsewhere: is their owner still the one we forward to?
        for gate in gates { gate.checkOwner() }
    }

    /// Rooms that need an owner although nobody may be watching (unpaid orders' deadlines, webhook
    /// events to deliver) and whose lease nobody holds — their owner died, and no viewer came
    /// back to bring the room up: every node tries to take them (one wins the lease), every 5 s.
    private func takeOrphanedRooms() {
        let connection = self.commands.connection
        guard connection.isReady else { return }
        connection.send(["SMEMBERS", ClusterKeys.activeRooms]) { result in
            guard case .success(let value) = result, let rooms = value.array?.compactMap(\.string), !rooms.isEmpty else { return }
            connection.send(["MGET"] + rooms.map(ClusterKeys.lease)) { leases in
                guard case .success(let value) = leases, let holders = value.array, holders.count == rooms.count else { return }
                for (index, room) in rooms.enumerated() where holders[index].string == nil && self.directory.handle(for: room) == nil {
                    self.gate(room).ensureOwner()
                }
            }
        }
    }

    /// An order or an order change stored its webhook event.
    func outboxWritten() { self.onOutbox?() }

    // MARK: - The shop's calls

    /// The shop's `paid` or `cancel` for an order of `room`, decided where the room runs (this
    /// node takes the room when nobody runs it). Answered exactly once: by the room, or
    /// `unavailable` when no answer came within 5 s.
    func shop(_ change: OrderChange, order: String, room: String, reply: @escaping @Sendable (ShopAnswer) -> Void) {
        let answered = LockedValue(false)
        let once: @Sendable (ShopAnswer) -> Void = { answer in
            let first = answered.withLock { done in
                defer { done = true }
                return !done
            }
            if first { reply(answer) }
        }
        let loop = self.commands.loop
        loop.execute { loop.schedule(after: 5_000_000_000) { once(.unavailable) } }
        self.gate(room).shop(change, order: order, reply: once)
    }

    /// The room runs on `node`: the call goes to its inbox, the answer comes back to ours.
    func forwardShop(_ change: OrderChange, order: String, room: String, to node: String, reply: @escaping @Sendable (ShopAnswer) -> Void) {
        let ticket = self.nextTicket.wrappingAdd(1, ordering: .relaxed).oldValue
        self.shopCalls.withLock { $0[ticket] = reply }
        let message = NodeMessage.shop(room: room, node: self.node, ticket: ticket, change: change == .pay ? "pay" : "cancel", order: order)
        self.forward(message, to: node) { heard in
            guard heard != 1 else { return }
            self.shopCalls.withLock { $0.removeValue(forKey: ticket) }?(.unavailable)
        }
        let loop = self.commands.loop
        loop.execute { loop.schedule(after: 6_000_000_000) { _ = self.shopCalls.withLock { $0.removeValue(forKey: ticket) } } }
    }

    /// A call forwarded to this node as the room's owner: decided by the room, answered to `node`.
    private func answerShop(room: String, node: String, ticket: Int, change: OrderChange, order: String) {
        let send: @Sendable (ShopAnswer) -> Void = { answer in
            let message: NodeMessage
            switch answer {
            case .done(let order):
                message = .shopAnswer(ticket: ticket, outcome: "done", message: "", order: OutboxEvent.of(order).order)
            case .conflict(let order, let why):
                message = .shopAnswer(ticket: ticket, outcome: "conflict", message: why, order: OutboxEvent.of(order).order)
            case .notFound:
                message = .shopAnswer(ticket: ticket, outcome: "not_found", message: "", order: "")
            case .unavailable:
                message = .shopAnswer(ticket: ticket, outcome: "unavailable", message: "", order: "")
            }
            self.commands.send(["PUBLISH", ClusterKeys.inbox(node), message.encoded()]) { _ in }
        }
        guard let handle = self.directory.handle(for: room) else { return send(.unavailable) }
        self.runner.shop(change, order: order, handle: handle, reply: send)
    }

    private func shopAnswered(ticket: Int, outcome: String, message: String, order: String) {
        guard let reply = self.shopCalls.withLock({ $0.removeValue(forKey: ticket) }) else { return }
        let bytes = Array(order.utf8)
        var decoded: Order?
        if !bytes.isEmpty, var parsed = try? ClusterCodec.decodeOrder(bytes) {
            try? ClusterCodec.apply(state: bytes, to: &parsed)
            decoded = parsed
        }
        switch (outcome, decoded) {
        case ("done", let order?): reply(.done(order))
        case ("conflict", let order?): reply(.conflict(order, message))
        case ("not_found", _): reply(.notFound)
        default: reply(.unavailable)
        }
    }

    /// The lobby (`/api/rooms`) lists every live node's rooms: their statuses, kept only for
    /// nodes whose heartbeat key is still there.
    private func refreshListing(_ connection: RedisConnection) {
        connection.send(["HGETALL", ClusterKeys.nodes]) { result in
            guard case .success(let value) = result else { return }
            let statuses = Self.nodeStatuses(value).filter { $0.node != self.node }
            guard !statuses.isEmpty else { return self.runner.listing.replaceElsewhere([]) }
            connection.send(["MGET"] + statuses.map { ClusterKeys.node($0.node) }) { alive in
                guard case .success(let value) = alive, let boots = value.array, boots.count == statuses.count else { return }
                var entries: [RoomListing.Entry] = []
                for (offset, item) in statuses.enumerated() where boots[offset].string == item.status["boot"]?.stringValue {
                    for room in item.status["owned"]?.arrayValue ?? [] {
                        guard let name = room["room"]?.stringValue else { continue }
                        entries.append(
                            .init(
                                room: name, title: room["title"]?.stringValue ?? "", live: room["live"]?.boolValue ?? false,
                                viewers: Int(room["viewers"]?.intValue ?? 0)))
                    }
                }
                self.runner.listing.replaceElsewhere(entries)
            }
        }
    }

    /// The `ht:nodes` hash (HGETALL's field, value, field, value …) as node and parsed status.
    static func nodeStatuses(_ reply: RESPValue) -> [(node: String, status: JSONValue)] {
        let fields = reply.array ?? []
        return stride(from: 0, to: fields.count - 1, by: 2).compactMap { index in
            guard let node = fields[index].string, let text = fields[index + 1].string, let status = try? JSONParser.parse(text)
            else { return nil }
            return (node, status)
        }
    }

    /// Nodes whose members are in rooms we run: still the same life, still beating? A node found
    /// dead is forgotten here and every room this node runs is told at once to drop its members
    /// (the rooms do not poll a shared "dead" set, which a later check could clear unseen).
    private func checkPeers() {
        let connection = self.commands.connection
        let peers = self.peers.withLock { Array($0) }
        guard connection.isReady, !peers.isEmpty else { return }
        let split = peers.map { $0.split(separator: "|", maxSplits: 1).map(String.init) }
        connection.send(["MGET"] + split.map { ClusterKeys.node($0[0]) }) { result in
            guard case .success(let value) = result, let boots = value.array, boots.count == split.count else { return }
            var dead: Set<String> = []
            for (index, parts) in split.enumerated() where boots[index].string != parts[1] { dead.insert(peers[index]) }
            guard !dead.isEmpty else { return }
            self.peers.withLock { $0.subtract(dead) }
            for handle in self.directory.allHandles { self.runner.dropMembers(ofNodes: dead, handle: handle) }
        }
    }

    // MARK: - Rooms

    func roomExists(_ id: String) -> Bool {
        self.directory.handle(for: id) != nil || self.knownRooms.withLock { $0.contains(id) }
    }

    /// A room this node created (and stored): known here now, and told to every other node.
    func noteCreated(_ id: String) {
        self.knownRooms.withLock { _ = $0.insert(id) }
        self.commands.send(["PUBLISH", ClusterKeys.created, id]) { _ in }
    }

    /// This node's gate to `room` (made on first use).
    func gate(_ room: String) -> ClusterRoom {
        self.gates.withLock { gates in
            if let gate = gates[room] { return gate }
            // Every gate runs on the Redis loop, where the owner's messages arrive: a welcome and
            // the broadcasts after it leave that loop in the order they came.
            let gate = ClusterRoom(id: room, loop: self.commands.loop, cluster: self)
            gates[room] = gate
            return gate
        }
    }

    func existingGate(_ room: String) -> ClusterRoom? { self.gates.withLock { $0[room] } }

    /// A gate with no members and nothing waiting leaves the table (on its loop): the table
    /// holds the rooms this node's members are in, not every room ever visited.
    func forgetIfIdle(_ gate: ClusterRoom) {
        guard gate.isIdle else { return }
        self.gates.withLock { gates in
            if gates[gate.id] === gate { gates[gate.id] = nil }
        }
    }

    private func moveAllRemoteRooms(reason: String) {
        for gate in self.gates.withLock({ Array($0.values) }) { gate.moveIfRemote(reason: reason) }
    }

    // MARK: - Publishing

    /// A message to another node's inbox, from this node as a forwarder (not fenced: it changes
    /// nothing by itself; the owner decides). `done` gets the number of nodes that heard it.
    func forward(_ message: NodeMessage, to node: String, _ done: @escaping @Sendable (Int?) -> Void) {
        self.metrics.forwardedCommands.increment()
        self.commands.send(["PUBLISH", ClusterKeys.inbox(node), message.encoded()]) { result in
            guard case .success(let value) = result, let receivers = value.integer else { return done(nil) }
            done(Int(receivers))
        }
    }

    /// A message from a room's owner to another node, fenced by the owner's token.
    func ownerSend(_ message: NodeMessage, to node: String, room: String, token: UInt64) {
        self.store.publish(room: room, token: token, channel: ClusterKeys.inbox(node), payload: message.encoded())
    }

    // MARK: - Receiving (loop 0)

    private func received(channel: String, payload: [UInt8]) {
        if channel == self.inbox {
            guard let message = NodeMessage.decode(payload) else { return }
            self.handle(message)
            return
        }
        if channel == ClusterKeys.created {
            let room = String(decoding: payload, as: UTF8.self)
            self.knownRooms.withLock { _ = $0.insert(room) }
            return
        }
        // A room's broadcast: "ht:{room}:events", first byte d(roppable) or k(eep).
        guard channel.hasPrefix("ht:{"), channel.hasSuffix("}:events"), let flag = payload.first else { return }
        let room = String(channel.dropFirst(4).dropLast(8))
        guard let gate = self.existingGate(room) else { return }
        let frame = payload.withUnsafeBytes { ServerFrame.make(.text, payload: UnsafeRawBufferPointer(rebasing: $0.dropFirst())) }
        gate.broadcast(frame, droppable: flag == UInt8(ascii: "d"))
    }

    private func handle(_ message: NodeMessage) {
        switch message {
        case .join(let room, let from, let identity, let since, let epoch):
            self.peers.withLock { _ = $0.insert(from.node + "|" + from.boot) }
            guard let handle = self.directory.handle(for: room) else { return self.bounce(from, room: room) }
            self.runner.joinRemote(from, as: identity, handle: handle, since: since, epoch: epoch)
        case .leave(let room, let from):
            guard let handle = self.directory.handle(for: room) else { return }
            self.runner.leaveRemote(from, handle: handle)
        case .command(let room, let from, let text):
            guard let handle = self.directory.handle(for: room) else { return self.bounce(from, room: room) }
            self.runner.submitRemote(Array(text.utf8), from: from, handle: handle)
        case .deliver(let room, let members, let welcome, let staff, let event):
            self.existingGate(room)?.deliver(members, event: event, welcome: welcome, staff: staff)
        case .close(let room, let members, let code, let reason):
            self.existingGate(room)?.close(members, code: code, reason: reason)
        case .shop(let room, let node, let ticket, let change, let order):
            self.answerShop(room: room, node: node, ticket: ticket, change: change == "pay" ? .pay : .cancel(.shop), order: order)
        case .shopAnswer(let ticket, let outcome, let message, let order):
            self.shopAnswered(ticket: ticket, outcome: outcome, message: message, order: order)
        }
    }

    /// A member's message reached a node that does not run the room (it moved): its node sends
    /// it to reconnect, and the reconnect finds the owner.
    func bounce(_ member: RemoteMember, room: String) {
        let message = NodeMessage.close(room: room, members: [member.member], code: 1012, reason: "room moved")
        self.commands.send(["PUBLISH", ClusterKeys.inbox(member.node), message.encoded()]) { _ in }
    }

    // MARK: - Operations

    /// `/api/cluster`: every node's last status (its rooms and the ones it runs), and for every
    /// room in the cluster, its owner, fencing token and lease age.
    func status(_ done: @escaping @Sendable (JSONValue?) -> Void) {
        let rooms = self.knownRooms.withLock { $0.sorted() }
        let connection = self.commands
        let leaseMillis = self.leaseMillis
        connection.send(["HGETALL", ClusterKeys.nodes]) { result in
            guard case .success(let value) = result else { return done(nil) }
            let statuses = Self.nodeStatuses(value)
            // Each lease's holder and time to live, read in one step.
            let script =
                "local r = {} for _, k in ipairs(KEYS) do r[#r+1] = redis.call('GET', k) or '' r[#r+1] = redis.call('PTTL', k) end return r"
            connection.send(["EVAL", script, String(rooms.count)] + rooms.map(ClusterKeys.lease)) { leaseResult in
                let nodes: [JSONValue] = statuses.map { .object([("node", .string($0.node)), ("status", $0.status)]) }
                let leases = (try? leaseResult.get())?.array ?? []
                let owners: [JSONValue] = rooms.enumerated().map { offset, room in
                    let holder = 2 * offset < leases.count ? leases[2 * offset].string.flatMap(leaseHolderNode) : nil
                    let ttl = 2 * offset + 1 < leases.count ? leases[2 * offset + 1].integer ?? -2 : -2
                    return .object([
                        ("room", .string(room)), ("owner", holder.map { .string($0.node) } ?? .null),
                        ("token", holder.map { .int(Int64($0.token)) } ?? .null),
                        ("lease_age_ms", holder != nil && ttl >= 0 ? .int(max(0, leaseMillis - ttl)) : .null),
                    ])
                }
                done(.object([("node", .string(self.node)), ("nodes", .array(nodes)), ("rooms", .array(owners))]))
            }
        }
    }
}
