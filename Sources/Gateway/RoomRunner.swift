import Cluster
import LiveRoom
import OrderJournal
import Synchronization
import Transport
import WebSocket

/// Runs each room's commands on the room's loop and carries out the effects they return: replies
/// to members, broadcasts through `FanOut`, the order stream, disconnects, and the journal.
///
/// Order of work: everything for a room — a member joining or leaving, a command, a reply to a
/// message the session refused itself — runs on the room's loop in the order it was handed in.
/// While a `.persist` snapshot is being stored, the room's later work waits in its backlog, so
/// (1) nobody hears of a change before it is durable, (2) the replies to one connection come in
/// the order of its commands, and (3) a viewer who joins meanwhile is welcomed after the change is
/// announced: it is in the welcome or after it, never both.
final class RoomRunner: Sendable {
    let directory: RoomDirectory
    let fanOut: FanOut
    let listing: RoomListing
    private let metrics: ServerMetrics
    /// Where accepted orders and room snapshots become durable before anyone is told; nil keeps
    /// them in memory only (`journal.enabled: false`, for measuring the cost of durability).
    private let journal: GroupCommitJournal?
    private let nextMember = Atomic<Int>(1)
    /// Milliseconds a room stays in memory closed and empty (0: forever).
    private let unloadAfter: Int64
    /// Cluster mode: rooms run here hold a lease, write through fenced Redis scripts instead of
    /// the journal, publish their broadcasts, and have members on other nodes.
    let cluster: ClusterNode?

    init(
        directory: RoomDirectory, fanOut: FanOut, listing: RoomListing, metrics: ServerMetrics, journal: GroupCommitJournal?,
        unloadAfter: Double = 0, cluster: ClusterNode? = nil
    ) {
        self.cluster = cluster
        self.unloadAfter = Int64(unloadAfter * 1000)
        self.directory = directory
        self.fanOut = fanOut
        self.listing = listing
        self.metrics = metrics
        self.journal = journal
        for loop in directory.loops {
            loop.onTick { [unowned self] _ in self.tick(loop) }
        }
    }

    func makeMemberID() -> MemberID { self.nextMember.wrappingAdd(1, ordering: .relaxed).oldValue }

    // MARK: - Entry points (any loop)

    func join(_ session: WebSocketSession, as identity: Identity, handle: RoomHandle, since: UInt64?, epoch: String?) {
        let bound = LoopBound(session, loop: session.connection.loop)
        self.joinLocal(bound, member: session.member, as: identity, handle: handle, since: since, epoch: epoch)
    }

    /// A session of this node joins (directly, or through its cluster gate).
    func joinLocal(
        _ bound: LoopBound<WebSocketSession>, member: MemberID, as identity: Identity, handle: RoomHandle, since: UInt64?, epoch: String?
    ) {
        self.inTurn(handle) { handle in
            handle.state.sessions[member] = bound
            self.perform(handle.room.join(member, as: identity, since: since, epoch: epoch, now: WallClock.nowMillis()), handle)
        }
    }

    /// The session left: out of its audience now (on its loop), out of the room in turn.
    func leave(_ session: WebSocketSession, handle: RoomHandle) {
        self.fanOut.remove(session, room: handle.id)
        self.leave(member: session.member, handle: handle)
    }

    func leave(member: MemberID, handle: RoomHandle) {
        self.inTurn(handle) { handle in
            handle.state.sessions[member] = nil
            self.perform(handle.room.leave(member, now: WallClock.nowMillis()), handle)
        }
    }

    // MARK: - Members on other nodes (cluster mode; the room runs here)

    func joinRemote(_ remote: RemoteMember, as identity: Identity, handle: RoomHandle, since: UInt64?, epoch: String?) {
        self.inTurn(handle) { handle in
            let state = handle.state
            guard state.remoteIndex[remote] == nil else { return }
            let member = self.makeMemberID()
            state.remote[member] = remote
            state.remoteIndex[remote] = member
            self.perform(handle.room.join(member, as: identity, since: since, epoch: epoch, now: WallClock.nowMillis()), handle)
        }
    }

    func leaveRemote(_ remote: RemoteMember, handle: RoomHandle) {
        self.inTurn(handle) { handle in
            guard let member = handle.state.remoteIndex.removeValue(forKey: remote) else { return }
            handle.state.remote[member] = nil
            self.perform(handle.room.leave(member, now: WallClock.nowMillis()), handle)
        }
    }

    /// A remote member's message, decoded here (its node checked its budget, the room checks
    /// everything else, exactly as for a local member).
    func submitRemote(_ message: [UInt8], from remote: RemoteMember, handle: RoomHandle) {
        self.inTurn(handle) { handle in
            guard let member = handle.state.remoteIndex[remote] else {
                // Not a member here (its node was taken for dead, or the room was rebuilt):
                // it reconnects and joins again rather than talking to nobody.
                self.cluster?.bounce(remote, room: handle.id)
                return
            }
            switch RoomWireCodec.decode(message) {
            case .failure(let error):
                self.perform([.send(member, .error(code: error.code, message: error.message, ref: error.ref))], handle)
            case .success(let (command, ref)):
                self.perform(handle.room.apply(command, from: member, ref: ref, now: WallClock.nowMillis()), handle)
            }
        }
    }

    /// Cluster mode: puts a room this node was just granted on its loop, rebuilt from what Redis
    /// holds (or new, for a streamer opening it). A new room is stored before anyone hears of it.
    func host(
        _ stored: RedisRoomStore.StoredRoom, id: String, creator: String?, ownerLimit: Int, lease: Lease, gate: ClusterRoom
    ) -> RoomHandle {
        let now = WallClock.nowMillis()
        let settings = self.directory.settings
        let room: Room
        if let snapshot = stored.snapshot {
            room = Room.restore(
                snapshot, orders: stored.orders, epoch: stored.epoch, settings: settings, now: now, comments: stored.comments)
        } else {
            room = Room(id: id, epoch: stored.epoch, settings: settings, now: now)
            room.owner = creator ?? ""
        }
        let handle = self.directory.place(room)
        let isNew = stored.snapshot == nil
        // The lease goes with the room at once when this is the room's loop: work for the room
        // that runs inline here must never find it without its lease.
        let handOver: @Sendable () -> Void = {
            let state = handle.state
            state.lease = lease
            state.gate = gate
            guard isNew, let cluster = self.cluster else { return }
            state.saving = true
            cluster.store.create(handle.room.snapshot(), token: lease.token, ownerLimit: ownerLimit) { result in
                handle.loop.execute {
                    switch result {
                    case .stored:
                        cluster.noteCreated(id)
                        handle.room.saveSucceeded()
                        self.resume(handle)
                    case .limitReached:
                        self.giveUp(
                            handle, reason: "you already own \(ownerLimit) rooms", release: true, expected: true,
                            closeCode: WebSocketCloseCode.policyViolation.rawValue)
                    case .refused, .unknown:
                        self.giveUp(handle, reason: "the new room could not be stored", release: true)
                    }
                }
            }
        }
        if handle.loop.inLoop { handOver() } else { handle.loop.execute(handOver) }
        return handle
    }

    func submit(_ command: RoomCommand, ref: String?, from member: MemberID, handle: RoomHandle) {
        self.inTurn(handle) { handle in
            self.perform(handle.room.apply(command, from: member, ref: ref, now: WallClock.nowMillis()), handle)
        }
    }

    /// An answer the session decided itself (a message that never reached the room): sent through
    /// the room's queue so it comes after the answers to the member's earlier commands.
    func reply(_ event: RoomEvent, to member: MemberID, handle: RoomHandle) {
        self.inTurn(handle) { handle in self.perform([.send(member, event)], handle) }
    }

    /// Applies commands as a built-in streamer member (the demo room's setup).
    func seed(_ handle: RoomHandle, commands: [RoomCommand]) {
        let member = self.makeMemberID()
        self.inTurn(handle) { handle in
            let now = WallClock.nowMillis()
            _ = handle.room.join(member, as: Identity(user: "hometown", name: "Hometown", role: .streamer), now: now)
            for command in commands {
                // Each command queues behind the previous one's save.
                self.inTurn(handle) { handle in
                    self.perform(handle.room.apply(command, from: member, now: WallClock.nowMillis()), handle)
                }
            }
            self.inTurn(handle) { handle in _ = handle.room.leave(member, now: WallClock.nowMillis()) }
        }
    }

    // MARK: - The room's queue (on its loop)

    /// Runs `work` in the room's turn on its loop: inline when called there and nothing waits,
    /// else after what is queued (through the loop's inbox from another loop, through the
    /// backlog while a save is in progress).
    ///
    /// `work` gets the room's current handle: the one it was given, or — when that room was
    /// unloaded meanwhile — the room brought back from the store (on the same loop, as placement
    /// is by name), so no work ever runs on a room that is no longer the room.
    private func inTurn(_ handle: RoomHandle, _ work: @escaping @Sendable (RoomHandle) -> Void) {
        if handle.loop.inLoop {
            self.runOrDefer(handle, work)
        } else {
            handle.loop.execute { self.runOrDefer(handle, work) }
        }
    }

    private func runOrDefer(_ handle: RoomHandle, _ work: @escaping @Sendable (RoomHandle) -> Void) {
        let state = handle.state
        if state.unloaded {
            // An archived room's stragglers (members' leaves after the room sent them away) do
            // not bring it back; only a new visitor does, through admission.
            if state.archived { return }
            guard let current = self.directory.handleOrLoad(handle.id), current !== handle else {
                Log.error("work for an unloaded room that could not be brought back", ["room": handle.id])
                return
            }
            self.inTurn(current, work)
            return
        }
        if let lease = state.lease, !lease.isValid(at: MonotonicClock.millis()) {
            // Not renewed in time: another node may run the room now. Nothing more happens here.
            self.giveUp(handle, reason: "room lease expired", release: false)
            return
        }
        if state.saving || state.draining || !state.backlog.isEmpty {
            state.backlog.append { work(handle) }
        } else {
            work(handle)
        }
    }

    /// The save finished: run what waited, in order, until the next save (if any) starts. The
    /// backlog is taken whole and walked by index (a stampede can queue thousands of orders
    /// behind one save; removing from the front one by one would be quadratic); what is left when
    /// a new save starts goes back in front of anything queued meanwhile.
    private func resume(_ handle: RoomHandle) {
        let state = handle.state
        state.saving = false
        // While the taken batch runs, new work queues behind it rather than overtaking it.
        state.draining = true
        defer { state.draining = false }
        while !state.saving && !state.backlog.isEmpty {
            let waiting = state.backlog
            state.backlog = []
            var next = 0
            while next < waiting.count && !state.saving {
                waiting[next]()
                next += 1
            }
            if next < waiting.count { state.backlog = Array(waiting[next...]) + state.backlog }
        }
    }

    // MARK: - Effects (on the room's loop)

    private func perform(_ effects: [RoomEffect], _ handle: RoomHandle) {
        for (index, effect) in effects.enumerated() {
            switch effect {
            case .persist(let snapshot):
                if let cluster = self.cluster {
                    // Without the lease nothing is stored, so nothing is said: the change is undone.
                    guard let token = handle.state.lease?.token else {
                        self.perform(handle.room.saveFailed(now: WallClock.nowMillis()), handle)
                        return
                    }
                    self.persistInRedis(snapshot, token: token, cluster, rest: Array(effects[(index + 1)...]), handle)
                    return
                }
                guard let journal = self.journal else {
                    handle.room.saveSucceeded()
                    continue
                }
                let rest = Array(effects[(index + 1)...])
                handle.state.saving = true
                journal.save(snapshot) { durable in
                    // On the writer thread: back to the room's loop.
                    handle.loop.execute {
                        if durable {
                            handle.room.saveSucceeded()
                            self.perform(rest, handle)
                        } else {
                            // Nobody hears of a change that could not be stored: the room goes
                            // back to what is stored and the member who asked is told.
                            Log.error("room state not saved; the change was undone", ["room": handle.id])
                            self.metrics.roomSavesFailed.increment()
                            self.perform(handle.room.saveFailed(now: WallClock.nowMillis()), handle)
                        }
                        self.resume(handle)
                    }
                }
                return
            case .commit(let order):
                self.commit(order, handle)
            case .send(let member, let event):
                guard let bound = handle.state.sessions[member] else {
                    if let remote = handle.state.remote[member] { self.sendRemote(event, to: [remote], handle) }
                    continue
                }
                let frame = ServerFrame.make(.text, payload: RoomWireCodec.encode(event))
                if case .welcome = event {
                    // The audience is joined right after the welcome, on the session's loop: any
                    // broadcast made before the join is in the welcome, and any made after it is
                    // queued behind this task on that loop.
                    let room = handle.id
                    let staff = handle.room.staffMembers.contains(member)
                    bound.withValueOnLoop { session in
                        guard session.connection.isOpen else { return }
                        if staff { session.grantStaffAllowance() }
                        session.connection.enqueue(frame)
                        self.fanOut.add(session, room: room)
                    }
                } else {
                    bound.withValueOnLoop { $0.connection.enqueue(frame) }
                }
            case .broadcast(let event, let droppable):
                let payload = RoomWireCodec.encode(event)
                self.fanOut.broadcast(ServerFrame.make(.text, payload: payload), droppable: droppable, room: handle.id)
                if let cluster = self.cluster, let token = handle.state.lease?.token {
                    self.publish(event, payload: payload, droppable: droppable, token: token, cluster, handle)
                }
            case .staff(let event):
                let frame = ServerFrame.make(.text, payload: RoomWireCodec.encode(event))
                let sessions = handle.state.sessions
                var remote: [RemoteMember] = []
                for member in handle.room.staffMembers {
                    if let bound = sessions[member] {
                        bound.withValueOnLoop { $0.connection.enqueue(frame) }
                    } else if let elsewhere = handle.state.remote[member] {
                        remote.append(elsewhere)
                    }
                }
                if !remote.isEmpty { self.sendRemote(event, to: remote, handle) }
            case .disconnect(let members, let code, let reason):
                var remote: [String: [MemberID]] = [:]
                for member in members {
                    if let bound = handle.state.sessions[member] {
                        bound.withValueOnLoop { $0.close(code: code, reason: reason) }
                    } else if let elsewhere = handle.state.remote[member] {
                        remote[elsewhere.node, default: []].append(elsewhere.member)
                    }
                }
                if let cluster = self.cluster, let token = handle.state.lease?.token {
                    for (node, ids) in remote {
                        cluster.ownerSend(
                            .close(room: handle.id, members: ids, code: code, reason: reason), to: node, room: handle.id, token: token)
                    }
                }
            case .record(let outcome):
                self.metrics.record(outcome)
            case .updateOrders(let orders):
                self.update(orders, handle)
            case .shopAnswer(let ticket, let answer):
                handle.state.shopCalls.removeValue(forKey: ticket)?(answer)
            }
        }
    }

    /// New order states (paid, cancelled) become durable like new orders, in the journal's next
    /// group commit (with their webhook events), before the room applies them.
    private func update(_ orders: [Order], _ handle: RoomHandle) {
        if let cluster = self.cluster {
            // Stored only under the lease; without it nothing changes (the deadline is watched again).
            guard let token = handle.state.lease?.token else {
                self.perform(handle.room.orderUpdatesFailed(orders, now: WallClock.nowMillis()), handle)
                return
            }
            for order in orders { self.updateInRedis(order, token: token, cluster, handle) }
            return
        }
        guard let journal = self.journal else {
            self.perform(handle.room.ordersUpdated(orders, now: WallClock.nowMillis()), handle)
            return
        }
        for order in orders {
            journal.submit(order) { durable in
                self.inTurn(handle) { handle in
                    let now = WallClock.nowMillis()
                    self.metrics.orderChanges.increment(durable ? (order.reason?.rawValue ?? order.state.rawValue) : "unavailable")
                    if durable {
                        self.perform(handle.room.ordersUpdated([order], now: now), handle)
                    } else {
                        self.perform(handle.room.orderUpdatesFailed([order], now: now), handle)
                    }
                }
            }
        }
    }

    /// The shop's `paid` or `cancel` for an order of this room; `reply` gets the room's answer (on
    /// the room's loop) once the change is stored, or at once when nothing changes.
    func shop(_ change: OrderChange, order id: String, handle: RoomHandle, reply: @escaping @Sendable (ShopAnswer) -> Void) {
        let ticket = self.makeMemberID()
        self.inTurn(handle) { handle in
            handle.state.shopCalls[ticket] = reply
            self.perform(handle.room.shop(change, order: id, ticket: ticket, now: WallClock.nowMillis()), handle)
        }
    }

    private func commit(_ order: Order, _ handle: RoomHandle) {
        if self.cluster != nil && handle.state.lease == nil {
            // A cluster room stores only under its lease; without it the order is not taken.
            self.metrics.ordersUnavailable.increment()
            self.perform(handle.room.orderFailed(order, now: WallClock.nowMillis()), handle)
            return
        }
        if let cluster = self.cluster, let token = handle.state.lease?.token {
            let started = MonotonicClock.now()
            cluster.store.record(order, token: token) { result in
                self.metrics.redisWriteLatency.observe(Double(MonotonicClock.now() &- started) / 1e9)
                self.inTurn(handle) { handle in
                    let now = WallClock.nowMillis()
                    switch result {
                    case .stored:
                        self.metrics.ordersAccepted.increment()
                        cluster.outboxWritten()
                        self.perform(handle.room.orderCommitted(order, now: now), handle)
                    case .refused, .limitReached:
                        self.metrics.ordersUnavailable.increment()
                        self.perform(handle.room.orderFailed(order, now: now), handle)
                    case .unknown:
                        // It may be stored: the stock cannot be given back on a guess. The room is
                        // rebuilt from what Redis really holds; the buyer retries with the same ref.
                        self.giveUp(handle, reason: "an order's outcome is unknown; the room reloads", release: true)
                    }
                }
            }
            return
        }
        guard let journal = self.journal else {
            self.perform(handle.room.orderCommitted(order, now: WallClock.nowMillis()), handle)
            return
        }
        journal.submit(order) { durable in
            // On the writer thread: the outcome goes back to the room's own loop, in turn.
            self.inTurn(handle) { handle in
                let now = WallClock.nowMillis()
                if durable {
                    self.metrics.ordersAccepted.increment()
                    self.perform(handle.room.orderCommitted(order, now: now), handle)
                } else {
                    self.metrics.ordersUnavailable.increment()
                    self.perform(handle.room.orderFailed(order, now: now), handle)
                }
            }
        }
    }

    // MARK: - Cluster mode (on the room's loop)

    private func persistInRedis(_ snapshot: RoomSnapshot, token: UInt64, _ cluster: ClusterNode, rest: [RoomEffect], _ handle: RoomHandle) {
        handle.state.saving = true
        let started = MonotonicClock.now()
        cluster.store.save(snapshot, token: token) { result in
            self.metrics.redisWriteLatency.observe(Double(MonotonicClock.now() &- started) / 1e9)
            handle.loop.execute {
                switch result {
                case .stored:
                    handle.room.saveSucceeded()
                    self.perform(rest, handle)
                    self.resume(handle)
                case .refused, .limitReached:
                    Log.error("room state not saved; the change was undone", ["room": handle.id])
                    self.metrics.roomSavesFailed.increment()
                    self.perform(handle.room.saveFailed(now: WallClock.nowMillis()), handle)
                    self.resume(handle)
                case .unknown:
                    self.giveUp(handle, reason: "a room change's outcome is unknown; the room reloads", release: true)
                }
            }
        }
    }

    /// Cluster mode: a change of an order's state through the fenced script (with its webhook
    /// event), then back to the room, in turn.
    private func updateInRedis(_ order: Order, token: UInt64, _ cluster: ClusterNode, _ handle: RoomHandle) {
        let started = MonotonicClock.now()
        cluster.store.update(order, token: token) { result in
            self.metrics.redisWriteLatency.observe(Double(MonotonicClock.now() &- started) / 1e9)
            self.inTurn(handle) { handle in
                let now = WallClock.nowMillis()
                switch result {
                case .stored:
                    self.metrics.orderChanges.increment(order.reason?.rawValue ?? order.state.rawValue)
                    cluster.outboxWritten()
                    self.perform(handle.room.ordersUpdated([order], now: now), handle)
                case .refused, .limitReached:
                    self.metrics.orderChanges.increment("unavailable")
                    self.perform(handle.room.orderUpdatesFailed([order], now: now), handle)
                case .unknown:
                    self.giveUp(handle, reason: "an order change's outcome is unknown; the room reloads", release: true)
                }
            }
        }
    }

    /// One publish per broadcast for the other nodes (fenced: only the owner is heard). A shown
    /// comment also enters the room's history in Redis, for `since` recovery on any node.
    private func publish(_ event: RoomEvent, payload: [UInt8], droppable: Bool, token: UInt64, _ cluster: ClusterNode, _ handle: RoomHandle)
    {
        let text = (droppable ? "d" : "k") + String(decoding: payload, as: UTF8.self)
        if case .comment(let comment, true) = event {
            cluster.store.comment(
                room: handle.id, token: token, payload: text, comment: comment, keep: max(1, self.directory.settings.historySize))
        } else {
            cluster.store.publish(room: handle.id, token: token, channel: ClusterKeys.events(handle.id), payload: text)
        }
    }

    /// An event for members on other nodes: one message per node, encoded once.
    private func sendRemote(_ event: RoomEvent, to members: [RemoteMember], _ handle: RoomHandle) {
        guard let cluster = self.cluster, let token = handle.state.lease?.token else { return }
        let encoded = String(decoding: RoomWireCodec.encode(event), as: UTF8.self)
        var welcome = false
        var staff = false
        if case .welcome = event, let first = members.first, let member = handle.state.remoteIndex[first] {
            welcome = true
            staff = handle.room.staffMembers.contains(member)
        }
        var byNode: [String: [MemberID]] = [:]
        for member in members { byNode[member.node, default: []].append(member.member) }
        for (node, ids) in byNode {
            cluster.ownerSend(
                .deliver(room: handle.id, members: ids, welcome: welcome, staff: staff, event: encoded), to: node, room: handle.id,
                token: token)
        }
    }

    /// This node stops running the room: lease lost, or a write whose outcome is unknown. Its
    /// members here are sent to reconnect; members elsewhere are moved by their nodes, which see
    /// the lease change. With `release`, the lease is handed back at once (we still hold it, but
    /// can no longer vouch for the room in memory) so the room is rebuilt from Redis without
    /// waiting for the lease to run out.
    func giveUp(_ handle: RoomHandle, reason: String, release: Bool, expected: Bool = false, closeCode: UInt16 = 1012) {
        let state = handle.state
        guard !state.unloaded else { return }
        state.unloaded = true
        state.backlog = []
        for (_, reply) in state.shopCalls { reply(.unavailable) }
        state.shopCalls = [:]
        if expected {
            Log.info("room handed back", ["room": handle.id, "reason": reason])
        } else {
            Log.error("giving the room up", ["room": handle.id, "reason": reason])
        }
        self.directory.remove(handle)
        self.metrics.forget(room: handle.id)
        self.listing.remove(handle.id)
        if let cluster = self.cluster, let lease = state.lease {
            cluster.metrics.leaseChanges.increment(release ? "released" : "lost")
            if release { cluster.store.release(room: handle.id, node: cluster.node, boot: cluster.boot, token: lease.token) }
        }
        // This node's sessions in the room are its gate's members: the gate sends them away (once)
        // and forgets the room.
        state.sessions = [:]
        if let gate = state.gate {
            let closeReason = closeCode == 1012 ? "room moved" : reason
            gate.loop.execute { gate.move(reason: closeReason, code: closeCode) }
        }
    }

    /// Once per tick for a room run here in cluster mode: the lease is renewed on time (or the
    /// room given up when it ran out), and members of nodes that stopped beating leave.
    private func clusterTick(_ handle: RoomHandle) -> Bool {
        guard let cluster = self.cluster else { return true }
        // Placed on its loop but its lease not yet handed over (`host` sets it in a task of its
        // own): the room's clock waits, or an expiry could run with nowhere to store it.
        guard var lease = handle.state.lease else { return false }
        let now = MonotonicClock.millis()
        guard lease.isValid(at: now) else {
            self.giveUp(handle, reason: "room lease expired", release: false)
            return false
        }
        if lease.renewalDue(at: now) {
            lease.renewalSent(at: now)
            handle.state.lease = lease
            cluster.store.renew(room: handle.id, node: cluster.node, boot: cluster.boot, token: lease.token, ttl: cluster.leaseMillis) {
                renewed in
                handle.loop.execute {
                    guard !handle.state.unloaded, var current = handle.state.lease else { return }
                    current.renewalAnswered(sentAt: now, renewed: renewed == true)
                    handle.state.lease = current
                    // Refused: another node holds the fence. Stop now rather than at expiry.
                    if renewed == false { self.giveUp(handle, reason: "room lease taken by another node", release: false) }
                }
            }
        }
        return true
    }

    /// Members connected through nodes found dead ("node|boot") leave the room (they are gone;
    /// the room's viewer count drops with them). Any thread.
    func dropMembers(ofNodes dead: Set<String>, handle: RoomHandle) {
        self.inTurn(handle) { handle in
            let gone = handle.state.remote.filter { dead.contains($0.value.node + "|" + $0.value.boot) }
            for (member, remote) in gone {
                handle.state.remote[member] = nil
                handle.state.remoteIndex[remote] = nil
                self.perform(handle.room.leave(member, now: WallClock.nowMillis()), handle)
            }
        }
    }

    // MARK: - Archiving (an operator closes a room)

    /// Closes the room as an admin would (not live, sales ended, stored), sends every member away
    /// (4010 "room closed"), and has it leave memory, the lobby and the metrics as soon as it is
    /// empty and no order is in flight. Its state and orders stay in the store (exportable; a
    /// streamer who comes back to it brings it back). `done` runs once the close is stored.
    func archive(_ handle: RoomHandle, _ done: @escaping @Sendable () -> Void) {
        let member = self.makeMemberID()
        self.inTurn(handle) { handle in
            let now = WallClock.nowMillis()
            _ = handle.room.join(member, as: Identity(user: "hometown-operator", name: "Operator", role: .admin), now: now)
            self.perform(handle.room.apply(.close, from: member, now: now), handle)
            // Queued behind the close's save.
            self.inTurn(handle) { handle in
                _ = handle.room.leave(member, now: WallClock.nowMillis())
                handle.state.archived = true
                let everyone = Array(handle.state.sessions.keys) + Array(handle.state.remote.keys)
                self.perform([.disconnect(everyone, code: 4010, reason: "room closed")], handle)
                // Out of the room now, not when each socket has finished closing: the room is
                // empty at once and leaves memory on the next tick.
                let now = WallClock.nowMillis()
                for member in everyone { _ = handle.room.leave(member, now: now) }
                handle.state.sessions = [:]
                handle.state.remote = [:]
                handle.state.remoteIndex = [:]
                self.listing.remove(handle.id)
                done()
            }
        }
    }

    // MARK: - Unloading

    /// A room closed and empty for `unloadAfter` leaves memory (its state is stored; it comes back
    /// when someone asks for it). Never with the journal off, and never with work in flight.
    private func unloadIfIdle(_ handle: RoomHandle, now: Int64) -> Bool {
        let state = handle.state
        guard self.unloadAfter > 0 || state.archived, self.cluster != nil || (self.journal != nil && self.directory.loader != nil)
        else { return false }
        let room = handle.room
        guard !room.live, room.memberCount == 0, state.remote.isEmpty, !room.hasOrdersInFlight, !state.saving, state.backlog.isEmpty
        else {
            state.idleSince = nil
            return false
        }
        let since = state.idleSince ?? now
        state.idleSince = since
        guard now - since >= self.unloadAfter || state.archived else { return false }
        if let cluster = self.cluster {
            // Cluster mode: everything is in Redis; the lease goes back, and whichever node is
            // asked for the room next takes it. With no unpaid order left, the room no longer
            // needs an owner once its webhook events are delivered.
            self.giveUp(handle, reason: "closed and empty", release: true, expected: true)
            cluster.store.retire(room: room.id)
            return true
        }
        state.unloaded = true
        self.directory.unload(handle)
        self.metrics.forget(room: room.id)
        self.listing.remove(room.id)
        Log.debug("room unloaded", ["room": room.id])
        return true
    }

    // MARK: - Time

    /// About every 100 ms on each loop: the rooms it runs move along the clock. A room that is
    /// saving skips the tick (the next one catches up: the room reads the time, not tick counts).
    func tick(_ loop: EventLoop, now: Int64 = WallClock.nowMillis()) {
        let handles = self.directory.hosted(on: loop)
        guard !handles.isEmpty else { return }
        for handle in handles {
            guard self.clusterTick(handle), !handle.state.saving else { continue }
            let room = handle.room
            let effects = room.tick(now: now)
            if !effects.isEmpty { self.perform(effects, handle) }
            if self.unloadIfIdle(handle, now: now) || handle.state.archived { continue }
            // Gauges and the lobby are published only when they changed: a quiet room costs a
            // hash over its products per tick, no allocation and no lock.
            let fingerprint = room.gaugeFingerprint
            guard fingerprint != handle.state.publishedFingerprint else { continue }
            handle.state.publishedFingerprint = fingerprint
            let live = room.allProducts.filter { $0.sale.state == .live }.map { (sku: $0.sku, left: $0.left) }
            self.metrics.publish(room: room.id, viewers: room.viewerCount, liveStock: live, orders: room.acceptedOrderCount)
            self.listing.update(.init(room: room.id, title: room.title, live: room.live, viewers: room.viewerCount))
        }
    }
}
