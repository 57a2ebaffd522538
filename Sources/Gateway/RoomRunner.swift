import LiveRoom
import OrderJournal
import Synchronization
import Transport

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

    init(
        directory: RoomDirectory, fanOut: FanOut, listing: RoomListing, metrics: ServerMetrics, journal: GroupCommitJournal?,
        unloadAfter: Double = 0
    ) {
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
        let member = session.member
        let bound = LoopBound(session, loop: session.connection.loop)
        self.inTurn(handle) { handle in
            handle.state.sessions[member] = bound
            self.perform(handle.room.join(member, as: identity, since: since, epoch: epoch, now: WallClock.nowMillis()), handle)
        }
    }

    /// The session left: out of its audience now (on its loop), out of the room in turn.
    func leave(_ session: WebSocketSession, handle: RoomHandle) {
        self.fanOut.remove(session, room: handle.id)
        let member = session.member
        self.inTurn(handle) { handle in
            handle.state.sessions[member] = nil
            self.perform(handle.room.leave(member, now: WallClock.nowMillis()), handle)
        }
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
            guard let current = self.directory.handleOrLoad(handle.id), current !== handle else {
                Log.error("work for an unloaded room that could not be brought back", ["room": handle.id])
                return
            }
            self.inTurn(current, work)
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
                guard let bound = handle.state.sessions[member] else { continue }
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
                self.fanOut.broadcast(ServerFrame.make(.text, payload: RoomWireCodec.encode(event)), droppable: droppable, room: handle.id)
            case .staff(let event):
                let frame = ServerFrame.make(.text, payload: RoomWireCodec.encode(event))
                let sessions = handle.state.sessions
                for member in handle.room.staffMembers {
                    sessions[member]?.withValueOnLoop { $0.connection.enqueue(frame) }
                }
            case .disconnect(let members, let code, let reason):
                for member in members {
                    handle.state.sessions[member]?.withValueOnLoop { $0.close(code: code, reason: reason) }
                }
            case .record(let outcome):
                self.metrics.record(outcome)
            }
        }
    }

    private func commit(_ order: Order, _ handle: RoomHandle) {
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

    // MARK: - Unloading

    /// A room closed and empty for `unloadAfter` leaves memory (its state is stored; it comes back
    /// when someone asks for it). Never with the journal off, and never with work in flight.
    private func unloadIfIdle(_ handle: RoomHandle, now: Int64) -> Bool {
        guard self.unloadAfter > 0, self.journal != nil, self.directory.loader != nil else { return false }
        let room = handle.room
        let state = handle.state
        guard !room.live, room.memberCount == 0, !room.hasOrdersInFlight, !state.saving, state.backlog.isEmpty else {
            state.idleSince = nil
            return false
        }
        let since = state.idleSince ?? now
        state.idleSince = since
        guard now - since >= self.unloadAfter else { return false }
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
        for handle in handles where !handle.state.saving {
            let room = handle.room
            let effects = room.tick(now: now)
            if !effects.isEmpty { self.perform(effects, handle) }
            if self.unloadIfIdle(handle, now: now) { continue }
            // Gauges and the lobby are published only when they changed: a quiet room costs a
            // hash over its products per tick, no allocation and no lock.
            let fingerprint = room.gaugeFingerprint
            guard fingerprint != handle.state.publishedFingerprint else { continue }
            handle.state.publishedFingerprint = fingerprint
            let live = room.allProducts.filter { $0.sale.state == .live }.map { (sku: $0.sku, left: $0.left) }
            self.metrics.publish(room: room.id, viewers: room.viewerCount, liveStock: live)
            self.listing.update(.init(room: room.id, title: room.title, live: room.live, viewers: room.viewerCount))
        }
    }
}
