import Cluster
import LiveRoom
import Transport
import WebSocket

/// One node's gate to one room in cluster mode: every session of this node in the room goes
/// through it. The gate finds out who runs the room (taking the lease if nobody does), then
/// hands its members' work to the room itself (`.local`: this node owns it) or forwards it to
/// the owner's inbox (`.remote`), and delivers what comes back.
///
/// When the owner changes (it died, was paused past its lease, or Redis restarted), the gate
/// sends its members to reconnect (1012 "room moved"): they come back with their last `seq`,
/// are welcomed by the new owner with exactly what they missed, and retry unanswered orders with
/// the same ref. Lives on the loop that would run the room here; state touched on that loop only.
final class ClusterRoom: @unchecked Sendable {
    let id: String
    let loop: EventLoop
    private unowned let cluster: ClusterNode

    enum Mode {
        case idle
        case resolving
        case local(RoomHandle)
        case remote(node: String, holder: String)
    }

    private var mode: Mode = .idle
    /// Work waiting for the room to be found.
    private var waiting: [() -> Void] = []
    /// This node's sessions in the room.
    private var members: [MemberID: LoopBound<WebSocketSession>] = [:]
    /// A streamer opening the room: the owner if the room has to be created, and how many rooms
    /// that owner may have (0: no limit, for admins).
    private var creator: String?
    private var creatorLimit = 0
    /// An owner check is on its way to Redis.
    private var checking = false
    /// A holder found gone (nobody listens on its inbox): its lease is waited out, not followed.
    private var deadHolder: String?
    /// Lease requests in a row that got no answer (Redis unreachable): a blip is waited out.
    private var failures = 0
    /// Counts lease requests: only the latest may act on its answer or ask again. (Two in flight
    /// — a retry timer from before the gate went idle, and a new request — would each be granted
    /// the room by Redis, the second fencing the owner the first had just made.)
    private var attempt = 0

    init(id: String, loop: EventLoop, cluster: ClusterNode) {
        self.id = id
        self.loop = loop
        self.cluster = cluster
    }

    private func onLoop(_ work: @escaping @Sendable (ClusterRoom) -> Void) {
        if self.loop.inLoop {
            work(self)
        } else {
            self.loop.execute { work(self) }
        }
    }

    /// No member here, nothing waiting, not running the room: the gate may be dropped.
    var isIdle: Bool {
        self.loop.assertInLoop()
        guard case .idle = self.mode else { return false }
        return self.members.isEmpty && self.waiting.isEmpty
    }

    // MARK: - Members (from sessions, any loop)

    func join(_ session: WebSocketSession, as identity: Identity, since: UInt64?, epoch: String?, creating: Bool, roomLimit: Int) {
        let bound = LoopBound(session, loop: session.connection.loop)
        let member = session.member
        self.onLoop { gate in
            gate.members[member] = bound
            if creating && gate.creator == nil {
                gate.creator = identity.user
                gate.creatorLimit = roomLimit
            }
            gate.whenFound { gate in gate.sendJoin(member, bound, identity, since: since, epoch: epoch) }
        }
    }

    private func sendJoin(_ member: MemberID, _ bound: LoopBound<WebSocketSession>, _ identity: Identity, since: UInt64?, epoch: String?) {
        guard self.members[member] != nil else { return }  // left meanwhile
        switch self.mode {
        case .local(let handle):
            self.cluster.runner.joinLocal(bound, member: member, as: identity, handle: handle, since: since, epoch: epoch)
        case .remote(let node, _):
            let from = RemoteMember(node: self.cluster.node, boot: self.cluster.boot, member: member)
            let message = NodeMessage.join(room: self.id, from: from, identity: identity, since: since, epoch: epoch)
            self.cluster.forward(message, to: node) { heard in
                // Nobody listens on the owner's inbox: it is gone; find the room again.
                if heard == 0 { self.onLoop { $0.ownerGone() } }
            }
        case .idle, .resolving:
            break
        }
    }

    func leave(_ session: WebSocketSession) {
        self.cluster.fanOut.remove(session, room: self.id)
        let member = session.member
        self.onLoop { gate in
            guard gate.members.removeValue(forKey: member) != nil else { return }
            switch gate.mode {
            case .local(let handle):
                gate.cluster.runner.leave(member: member, handle: handle)
            case .remote(let node, _):
                let from = RemoteMember(node: gate.cluster.node, boot: gate.cluster.boot, member: member)
                gate.cluster.forward(.leave(room: gate.id, from: from), to: node) { _ in }
            case .idle, .resolving:
                break
            }
            if gate.members.isEmpty, case .remote = gate.mode { gate.forgetRemote() }
            gate.cluster.forgetIfIdle(gate)
        }
    }

    /// A member's message (a JSON text frame, within its budget). Decoded here only when the room
    /// runs on this node; forwarded as it came otherwise (the owner decodes it, and answers a bad
    /// one in order with the member's other answers).
    func submit(_ message: [UInt8], from member: MemberID) {
        self.onLoop { gate in
            switch gate.mode {
            case .local(let handle):
                switch RoomWireCodec.decode(message) {
                case .failure(let error):
                    gate.cluster.runner.reply(.error(code: error.code, message: error.message, ref: error.ref), to: member, handle: handle)
                case .success(let (command, ref)):
                    gate.cluster.runner.submit(command, ref: ref, from: member, handle: handle)
                }
            case .remote(let node, _):
                let from = RemoteMember(node: gate.cluster.node, boot: gate.cluster.boot, member: member)
                let forwarded = NodeMessage.command(room: gate.id, from: from, message: String(decoding: message, as: UTF8.self))
                gate.cluster.forward(forwarded, to: node) { heard in
                    guard heard != 1 else { return }
                    gate.onLoop { gate in
                        gate.reply(
                            .error(code: .unavailable, message: "the room is moving; try again", ref: Self.ref(of: message)), to: member)
                        if heard == 0 { gate.ownerGone() }
                    }
                }
            case .idle, .resolving:
                gate.reply(.error(code: .unavailable, message: "the room is starting; try again", ref: Self.ref(of: message)), to: member)
            }
        }
    }

    /// The message's ref, for the rare answer given here (decoded only then).
    private static func ref(of message: [UInt8]) -> String? {
        switch RoomWireCodec.decode(message) {
        case .success(let (_, ref)): return ref
        case .failure(let error): return error.ref
        }
    }

    /// The shop's call for an order of this room: decided where the room runs (found, or taken
    /// if nobody runs it, as for a member's join).
    func shop(_ change: OrderChange, order: String, reply: @escaping @Sendable (ShopAnswer) -> Void) {
        self.onLoop { gate in
            gate.whenFound { gate in
                switch gate.mode {
                case .local(let handle):
                    gate.cluster.runner.shop(change, order: order, handle: handle, reply: reply)
                case .remote(let node, _):
                    gate.cluster.forwardShop(change, order: order, room: gate.id, to: node, reply: reply)
                    gate.dropIfUnused()
                case .idle, .resolving:
                    reply(.unavailable)
                }
            }
        }
    }

    /// A room that must keep an owner and has none (see `ClusterNode.takeOrphanedRooms`): take it.
    func ensureOwner() {
        self.onLoop { gate in
            guard case .idle = gate.mode else { return }
            gate.whenFound { $0.dropIfUnused() }
        }
    }

    /// Following another node's room with no member here: stop listening and forget the gate.
    private func dropIfUnused() {
        guard self.members.isEmpty, case .remote = self.mode else { return }
        self.forgetRemote()
        self.cluster.forgetIfIdle(self)
    }

    /// An answer the session decided itself.
    func reply(_ event: RoomEvent, to member: MemberID) {
        self.onLoop { gate in
            if case .local(let handle) = gate.mode {
                gate.cluster.runner.reply(event, to: member, handle: handle)
            } else {
                let frame = ServerFrame.make(.text, payload: RoomWireCodec.encode(event))
                gate.members[member]?.withValueOnLoop { $0.connection.enqueue(frame) }
            }
        }
    }

    // MARK: - Finding the room

    private func whenFound(_ work: @escaping (ClusterRoom) -> Void) {
        switch self.mode {
        case .local, .remote:
            work(self)
        case .resolving:
            self.waiting.append { work(self) }
        case .idle:
            self.waiting.append { work(self) }
            self.resolve()
        }
    }

    private func resolve() {
        self.mode = .resolving
        self.attempt += 1
        let attempt = self.attempt
        let cluster = self.cluster
        let requestedAt = MonotonicClock.millis()
        cluster.store.acquire(room: self.id, node: cluster.node, boot: cluster.boot, ttl: cluster.leaseMillis) { reply in
            self.onLoop { gate in
                // A newer request is in charge (or the gate moved on): this answer is not acted on.
                guard gate.attempt == attempt, case .resolving = gate.mode else { return }
                switch reply {
                case .granted(let token):
                    gate.failures = 0
                    let lease = Lease(token: token, requestedAt: requestedAt, duration: cluster.leaseMillis, margin: cluster.marginMillis)
                    cluster.metrics.leaseChanges.increment("acquired")
                    gate.takeOver(lease)
                case .held(let holder):
                    gate.failures = 0
                    if let owner = leaseHolderNode(holder), owner.node == cluster.node, owner.boot == cluster.boot {
                        // This node holds the lease: the room runs here (taken by this gate in an
                        // earlier turn), or is being rebuilt, or was given up with the lease not yet
                        // released. Use it when it is here; otherwise ask again shortly.
                        if let handle = cluster.directory.handle(for: gate.id) {
                            gate.mode = .local(handle)
                            return gate.runWaiting()
                        }
                        return gate.retryLater()
                    }
                    // The last owner is gone but its lease has not run out: members wait (their
                    // joins queued here) and we ask again until it has.
                    guard holder != gate.deadHolder, let owner = leaseHolderNode(holder) else { return gate.retryLater() }
                    gate.follow(node: owner.node, holder: holder)
                case .failed:
                    // A blip (a reconnect, a restart) is waited out for about two seconds;
                    // longer, and the members are told to come back later.
                    gate.failures += 1
                    if gate.failures < 8 { return gate.retryLater() }
                    gate.fail("the room's store is unavailable; try again")
                }
            }
        }
    }

    private func retryLater() {
        self.mode = .resolving
        let attempt = self.attempt
        self.loop.schedule(after: 250_000_000) { [weak self] in
            guard let self, self.attempt == attempt, case .resolving = self.mode else { return }
            guard !self.waiting.isEmpty else {
                self.mode = .idle
                return
            }
            self.resolve()
        }
    }

    /// This node now holds the lease: rebuild the room from Redis, then let the waiting in.
    private func takeOver(_ lease: Lease) {
        let cluster = self.cluster
        let epoch = String(WallClock.nowMillis(), radix: 36)
        let attempt = self.attempt
        cluster.store.load(room: self.id, token: lease.token, newEpoch: epoch) { stored in
            self.onLoop { gate in
                guard gate.attempt == attempt, case .resolving = gate.mode else { return }
                guard let stored else { return gate.fail("the room could not be read; try again") }
                guard stored.snapshot != nil || gate.creator != nil else {
                    cluster.store.release(room: gate.id, node: cluster.node, boot: cluster.boot, token: lease.token)
                    return gate.fail("no room '\(gate.id)'", code: 4004)
                }
                let handle = cluster.runner.host(
                    stored, id: gate.id, creator: gate.creator, ownerLimit: gate.creatorLimit, lease: lease, gate: gate)
                gate.mode = .local(handle)
                gate.runWaiting()
            }
        }
    }

    /// Another node runs the room: listen to its channel, then forward.
    private func follow(node: String, holder: String) {
        self.mode = .remote(node: node, holder: holder)
        let subscriber = self.cluster.subscriber
        let channel = ClusterKeys.events(self.id)
        subscriber.loop.execute {
            // Joins go out only once the room's broadcasts reach us: a welcome is never
            // followed by a gap.
            subscriber.connection.subscribe(channel) { self.onLoop { $0.runWaiting() } }
        }
    }

    private func runWaiting() {
        let work = self.waiting
        self.waiting = []
        for item in work { item() }
    }

    private func fail(_ why: String, code: UInt16 = 1013) {
        self.mode = .idle
        self.failures = 0
        self.waiting = []
        self.creator = nil
        let members = self.members
        self.members = [:]
        self.cluster.forgetIfIdle(self)
        for (_, bound) in members {
            bound.withValueOnLoop { session in
                session.connection.enqueue(
                    ServerFrame.make(.text, payload: RoomWireCodec.encode(.error(code: .unavailable, message: why, ref: nil))))
                session.close(code: code, reason: why)
            }
        }
    }

    // MARK: - Owner changes

    /// Once a second (from the heartbeat, any loop): a room run elsewhere is checked against its
    /// lease; when the holder changed or the lease is gone, members are sent to reconnect.
    func checkOwner() {
        self.onLoop { gate in
            guard case .remote(_, let holder) = gate.mode, !gate.checking else { return }
            gate.checking = true
            gate.cluster.commands.send(["GET", ClusterKeys.lease(gate.id)]) { result in
                gate.onLoop { gate in
                    gate.checking = false
                    guard case .success(let value) = result, case .remote(_, let known) = gate.mode, known == holder else { return }
                    if value.string != holder { gate.move(reason: "room moved") }
                }
            }
        }
    }

    /// The owner we forward to does not listen any more (its process died): remember its lease,
    /// so reconnecting members wait it out here instead of being sent to it again.
    func ownerGone() {
        self.loop.assertInLoop()
        guard case .remote(_, let holder) = self.mode else { return }
        self.deadHolder = holder
        self.move(reason: "room owner unreachable")
    }

    func moveIfRemote(reason: String) {
        self.onLoop { gate in
            if case .remote = gate.mode { gate.move(reason: reason) }
        }
    }

    /// The room is not where this gate thought: every member here reconnects (and finds it).
    func move(reason: String, code: UInt16 = 1012) {
        self.loop.assertInLoop()
        if case .remote = self.mode { self.forgetRemote() }
        self.mode = .idle
        self.creator = nil
        self.cluster.metrics.roomsMoved.increment()
        Log.info("room members sent to reconnect", ["room": self.id, "reason": reason, "members": self.members.count])
        let members = self.members
        self.members = [:]
        for (_, bound) in members { bound.withValueOnLoop { $0.close(code: code, reason: reason) } }
        self.cluster.forgetIfIdle(self)
    }

    private func forgetRemote() {
        let subscriber = self.cluster.subscriber
        let channel = ClusterKeys.events(self.id)
        subscriber.loop.execute { subscriber.connection.unsubscribe(channel) }
        self.mode = .idle
    }

    // MARK: - From the owner

    /// Broadcast from the room's channel (on loop 0): to this node's audience of the room.
    func broadcast(_ frame: SharedBytes, droppable: Bool) {
        self.cluster.fanOut.broadcast(frame, droppable: droppable, room: self.id)
    }

    func deliver(_ members: [MemberID], event: String, welcome: Bool, staff: Bool) {
        let frame = ServerFrame.make(.text, payload: Array(event.utf8))
        let room = self.id
        let fanOut = self.cluster.fanOut
        self.onLoop { gate in
            for member in members {
                guard let bound = gate.members[member] else { continue }
                bound.withValueOnLoop { session in
                    guard session.connection.isOpen else { return }
                    if welcome && staff { session.grantStaffAllowance() }
                    session.connection.enqueue(frame)
                    if welcome { fanOut.add(session, room: room) }
                }
            }
        }
    }

    func close(_ members: [MemberID], code: UInt16, reason: String) {
        self.onLoop { gate in
            for member in members { gate.members[member]?.withValueOnLoop { $0.close(code: code, reason: reason) } }
        }
    }
}
