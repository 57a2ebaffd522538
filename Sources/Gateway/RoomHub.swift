import LiveRoom
import OrderJournal
import Synchronization
import Transport

/// Where rooms live and how their effects reach connections.
///
/// Each room is hosted by one event loop (its "host"): every command for it runs there, so the
/// room needs no lock and stock cannot oversell. Each loop also keeps, per room, the audience of
/// its own connections. A broadcast is encoded once on the host and handed, as the same bytes, to
/// every loop's audience — the same shape as the raw `/bench` fan-out. This type is the seam a
/// Redis-backed fan-out for multi-node rooms replaces.
public final class RoomHub: @unchecked Sendable {
    let loops: [EventLoop]
    let settings: RoomSettings
    /// Server start time in base 36: changes on every restart.
    public let epoch: String
    private let directoryLock = Lock()
    private var directory: [String: RoomHost] = [:]
    private let local: [LocalRooms]
    private let nextMember = Atomic<Int>(1)
    /// Where accepted orders become durable before anyone is told; nil keeps orders in memory only
    /// (`journal.enabled: false`, for benchmarks that measure the cost of durability).
    var journal: GroupCommitJournal?
    private let listingLock = Lock()
    private var listing: [String: (title: String, live: Bool, viewers: Int)] = [:]

    /// Every room with its title, whether it is live, and its viewers (refreshed each tick).
    public var roomListing: [(room: String, title: String, live: Bool, viewers: Int)] {
        self.listingLock.withLock { self.listing.map { ($0.key, $0.value.title, $0.value.live, $0.value.viewers) } }
            .sorted { ($0.live ? 0 : 1, -$0.viewers, $0.room) < ($1.live ? 0 : 1, -$1.viewers, $1.room) }
    }
    let counters: ServerCounters
    let metrics: ServerMetrics

    /// A room and its host loop. `room` and `sessions` are touched only on `loop`.
    final class RoomHost {
        let room: Room
        let loop: EventLoop
        var sessions: [MemberID: WebSocketSession] = [:]
        /// The order stream's receivers, kept apart so an order does not walk every viewer.
        var staff: [MemberID: WebSocketSession] = [:]

        init(room: Room, loop: EventLoop) {
            self.room = room
            self.loop = loop
        }
    }

    /// One loop's view: the rooms it hosts and the audiences of its own connections.
    final class LocalRooms {
        var hosted: [RoomHost] = []
        var audiences: [String: Audience] = [:]
    }

    init(loops: [EventLoop], settings: RoomSettings, epoch: String, counters: ServerCounters, metrics: ServerMetrics) {
        self.loops = loops
        self.counters = counters
        self.metrics = metrics
        self.settings = settings
        self.epoch = epoch
        self.local = loops.map { _ in LocalRooms() }
        for loop in loops {
            loop.onTick { [unowned self] _ in self.tick(loop) }
        }
    }

    public var roomCount: Int { self.directoryLock.withLock { self.directory.count } }

    func makeMemberID() -> MemberID { self.nextMember.wrappingAdd(1, ordering: .relaxed).oldValue }

    /// The room, if a streamer ever created it. Any thread.
    func host(for id: String) -> RoomHost? {
        self.directoryLock.withLock { self.directory[id] }
    }

    /// The room, created on first use (by a streamer). Any thread.
    func hostCreating(_ id: String, owner: String) -> RoomHost {
        self.install(Room(id: id, epoch: self.epoch, settings: self.settings, now: WallClock.nowMillis()), owner: owner)
    }

    /// Hosts `room` (a new one, or one restored from the store) unless a room of that name exists.
    @discardableResult
    func install(_ room: Room, owner: String? = nil) -> RoomHost {
        self.directoryLock.withLock {
            if let existing = self.directory[room.id] { return existing }
            if let owner { room.owner = owner }
            let id = room.id
            let loop = self.loops[Int(UInt(bitPattern: stableHash(id)) % UInt(self.loops.count))]
            let host = RoomHost(room: room, loop: loop)
            self.directory[id] = host
            loop.execute { self.local[loop.index].hosted.append(host) }
            return host
        }
    }

    /// Runs `body` on `loop`: inline when already there, else through its inbox. Work for one
    /// loop from one producer stays in order either way.
    @inline(__always)
    func run(on loop: EventLoop, _ body: @escaping () -> Void) {
        if loop.inLoop { body() } else { loop.execute(body) }
    }

    // MARK: - Members (called on the session's loop)

    func join(_ session: WebSocketSession, host: RoomHost, since: UInt64?, epoch: String?) {
        let member = session.member
        let identity = session.identity
        self.run(on: host.loop) {
            host.sessions[member] = session
            if identity.role.isStaff { host.staff[member] = session }
            self.perform(host.room.join(member, as: identity, since: since, epoch: epoch, now: WallClock.nowMillis()), host)
        }
    }

    func leave(_ session: WebSocketSession, host: RoomHost) {
        self.removeFromAudience(session, room: host.room.id)
        let member = session.member
        self.run(on: host.loop) {
            host.sessions[member] = nil
            host.staff[member] = nil
            self.perform(host.room.leave(member, now: WallClock.nowMillis()), host)
        }
    }

    func submit(_ command: RoomCommand, ref: String?, from session: WebSocketSession, host: RoomHost) {
        let member = session.member
        self.run(on: host.loop) {
            let effects = host.room.apply(command, from: member, ref: ref, now: WallClock.nowMillis())
            self.count(command, effects, member: member)
            self.perform(effects, host)
        }
    }

    /// Comment and order outcomes for `/metrics`, read off the effects.
    private func count(_ command: RoomCommand, _ effects: [RoomEffect], member: MemberID) {
        switch command {
        case .comment:
            for effect in effects {
                switch effect {
                case .send(member, .error(let code, _, _)): self.metrics.commentsRefused.increment(code.rawValue)
                case .broadcast(.comment(_, true), _): self.metrics.commentsAccepted.increment("true")
                case .send(member, .comment(_, false)): self.metrics.commentsAccepted.increment("false")
                default: break
                }
            }
        case .order:
            for effect in effects {
                switch effect {
                case .send(member, .orderResult(_, let status, _)) where status != .accepted:
                    self.metrics.ordersRefused.increment(status.rawValue)
                case .send(member, .error(let code, _, _)):
                    self.metrics.ordersRefused.increment(code.rawValue)
                default: break
                }
            }
        default:
            break
        }
    }

    // MARK: - Effects (called on the host loop)

    /// Carries out effects on the host loop. A change to the room's durable state (room, product,
    /// pin, sale, slow mode) is committed before anyone hears of it, so a streamer never sees a
    /// sale go live that a crash would forget.
    func perform(_ effects: [RoomEffect], _ host: RoomHost, persisted: Bool = false) {
        if !persisted, let journal = self.journal, effects.contains(where: Self.changesRoomState) {
            journal.save(host.room.snapshot()) { durable in
                if !durable { Log.error("room state not saved", ["room": host.room.id]) }
                host.loop.execute { self.perform(effects, host, persisted: true) }
            }
            return
        }
        for effect in effects {
            switch effect {
            case .commit(let order):
                guard let journal = self.journal else {
                    self.perform(host.room.orderCommitted(order, now: WallClock.nowMillis()), host)
                    continue
                }
                journal.submit(order) { durable in
                    // On the writer thread: hand the outcome back to the room's own loop.
                    host.loop.execute {
                        let now = WallClock.nowMillis()
                        if durable {
                            self.counters.ordersAccepted.increment()
                            self.perform(host.room.orderCommitted(order, now: now), host)
                        } else {
                            self.counters.ordersUnavailable.increment()
                            self.perform(host.room.orderFailed(order, now: now), host)
                        }
                    }
                }
            case .send(let member, let event):
                guard let session = host.sessions[member] else { continue }
                let frame = ServerFrame.make(.text, payload: RoomWireCodec.encode(event))
                if case .welcome = event {
                    // The audience is joined right after the welcome, on the session's loop: any
                    // broadcast the host made before the join is already in the welcome, and any
                    // made after it is queued behind this task.
                    self.run(on: session.connection.loop) {
                        guard session.connection.isOpen else { return }
                        session.connection.enqueue(frame)
                        self.addToAudience(session, room: host.room.id)
                    }
                } else {
                    self.run(on: session.connection.loop) { session.connection.enqueue(frame) }
                }
            case .broadcast(let event, let droppable):
                let frame = ServerFrame.make(.text, payload: RoomWireCodec.encode(event))
                let roomID = host.room.id
                let encodedAt = MonotonicClock.now()
                for loop in self.loops {
                    self.run(on: loop) {
                        self.deliver(frame, droppable: droppable, room: roomID, on: loop.index, encodedAt: encodedAt)
                    }
                }
            case .staff(let event):
                let frame = ServerFrame.make(.text, payload: RoomWireCodec.encode(event))
                for session in host.staff.values {
                    self.run(on: session.connection.loop) { session.connection.enqueue(frame) }
                }
            case .disconnect(let members, let code, let reason):
                for member in members {
                    guard let session = host.sessions[member] else { continue }
                    self.run(on: session.connection.loop) { session.close(code: code, reason: reason) }
                }
            }
        }
    }

    static func changesRoomState(_ effect: RoomEffect) -> Bool {
        guard case .broadcast(let event, _) = effect else { return false }
        switch event {
        case .room, .product, .pin, .sale, .slowMode: return true
        default: return false
        }
    }

    /// Fan-out on one loop: the same bytes appended to each local connection's queue.
    private func deliver(_ frame: SharedBytes, droppable: Bool, room: String, on loopIndex: Int, encodedAt: UInt64) {
        guard let audience = self.local[loopIndex].audiences[room] else { return }
        var dropped = 0
        for connection in audience.connections where !connection.enqueue(frame, droppable: droppable) {
            dropped += 1
        }
        // One observation and two counter adds per loop per broadcast, not per receiver.
        self.metrics.messagesOut.increment(by: audience.connections.count - dropped)
        if dropped > 0 { self.metrics.droppedMessages.increment(by: dropped) }
        self.metrics.fanOutLatency.observe(Double(MonotonicClock.now() &- encodedAt) / 1e9)
    }

    private func addToAudience(_ session: WebSocketSession, room: String) {
        let table = self.local[session.connection.loop.index]
        let audience =
            table.audiences[room]
            ?? {
                let created = Audience()
                table.audiences[room] = created
                return created
            }()
        audience.add(session)
    }

    private func removeFromAudience(_ session: WebSocketSession, room: String) {
        let table = self.local[session.connection.loop.index]
        guard let audience = table.audiences[room] else { return }
        audience.remove(session)
        if audience.isEmpty { table.audiences[room] = nil }
    }

    // MARK: - Time

    private func tick(_ loop: EventLoop) {
        let hosted = self.local[loop.index].hosted
        guard !hosted.isEmpty else { return }
        let now = WallClock.nowMillis()
        for host in hosted {
            let effects = host.room.tick(now: now)
            if !effects.isEmpty { self.perform(effects, host) }
            let room = host.room
            let live = room.allProducts.filter { $0.sale.state == .live }.map { (sku: $0.sku, left: $0.left) }
            self.metrics.publish(room: room.id, viewers: room.viewerCount, liveStock: live)
            let entry = (title: room.title, live: room.live, viewers: room.viewerCount)
            self.listingLock.withLock { self.listing[room.id] = entry }
        }
    }

    /// Runs `body` with the room on its host loop (setup, tests). Returns at once.
    public func withRoom(_ id: String, _ body: @escaping (Room) -> Void) {
        guard let host = self.host(for: id) else { return }
        self.run(on: host.loop) { body(host.room) }
    }

    /// Applies commands as a built-in streamer member (the demo room's setup).
    func seed(_ host: RoomHost, commands: [RoomCommand]) {
        self.run(on: host.loop) {
            let member = self.makeMemberID()
            let now = WallClock.nowMillis()
            _ = host.room.join(member, as: Identity(user: "hometown", name: "Hometown", role: .streamer), now: now)
            for command in commands { self.perform(host.room.apply(command, from: member, now: now), host) }
            _ = host.room.leave(member, now: now)
        }
    }
}

/// FNV-1a: a hash that is the same in every process (Swift's `hashValue` is seeded per run), so a
/// room is hosted by the same loop index every time.
func stableHash(_ text: String) -> Int {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in text.utf8 {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01B3
    }
    return Int(truncatingIfNeeded: hash)
}
