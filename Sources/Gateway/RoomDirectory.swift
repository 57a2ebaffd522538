import LiveRoom
import Synchronization
import Transport

/// Where each room lives: the name → room map, and which event loop runs a room. Today a room's
/// place is a loop of this process, chosen by a stable hash of its name; in a cluster it is the
/// node holding the room's lease, and this is the one type that changes.
final class RoomDirectory: Sendable {
    let loops: [EventLoop]
    let settings: RoomSettings
    /// Server start time in base 36: changes on every restart (clients reload their state).
    let epoch: String
    private let rooms = LockedValue<[String: RoomHandle]>([:])
    /// Rooms unloaded from memory (closed and empty for a while): their state is in the store,
    /// and `handleOrLoad` brings one back on demand. Only names are kept, so a lookup of a random
    /// name never reaches the store.
    private let unloaded = LockedValue<Set<String>>([])
    /// Reads a room back from the store (nil when the store is off: then nothing is unloaded).
    let loader: (@Sendable (String) -> Room?)?
    /// Per loop, the rooms it runs (for its tick); each list is touched only on its loop.
    private let hostedByLoop: [LoopBound<HostedRooms>]

    final class HostedRooms {
        var handles: [RoomHandle] = []
    }

    init(loops: [EventLoop], settings: RoomSettings, epoch: String, loader: (@Sendable (String) -> Room?)? = nil) {
        self.loops = loops
        self.loader = loader
        self.settings = settings
        self.epoch = epoch
        self.hostedByLoop = loops.map { LoopBound(HostedRooms(), loop: $0) }
    }

    var count: Int { self.rooms.withLock { $0.count } }

    /// How many rooms `owner` owns (to cap the rooms one streamer may open). Any thread.
    func count(ownedBy owner: String) -> Int {
        self.rooms.withLock { rooms in rooms.values.reduce(0) { $0 + ($1.owner == owner ? 1 : 0) } }
    }

    /// The room, if one exists under that name. Any thread.
    func handle(for id: String) -> RoomHandle? {
        self.rooms.withLock { $0[id] }
    }

    /// The room, brought back from the store if it was unloaded. Any thread; reads the store
    /// (one room, one read-only query) only for a name that was unloaded.
    func handleOrLoad(_ id: String) -> RoomHandle? {
        if let handle = self.handle(for: id) { return handle }
        guard let loader = self.loader, self.unloaded.withLock({ $0.contains(id) }), let room = loader(id) else { return nil }
        let handle = self.place(room)
        self.unloaded.withLock { _ = $0.remove(id) }
        return handle
    }

    /// Takes `handle` out of memory (on its loop): the name is kept as unloaded, the room leaves
    /// its loop's list. Work that still reaches the old handle is forwarded (see `RoomRunner`).
    func unload(_ handle: RoomHandle) {
        guard self.remove(handle) else { return }
        self.unloaded.withLock { _ = $0.insert(handle.id) }
    }

    /// Takes `handle` out (on its loop), if it is still the room under its name; true if it was.
    /// Cluster mode calls it alone: a room no longer run here is not "unloaded", it is elsewhere.
    @discardableResult
    func remove(_ handle: RoomHandle) -> Bool {
        let removed = self.rooms.withLock { rooms -> Bool in
            guard rooms[handle.id] === handle else { return false }
            rooms[handle.id] = nil
            return true
        }
        if removed { self.hostedByLoop[handle.loop.index].value.handles.removeAll { $0 === handle } }
        return removed
    }

    /// The loop that runs (or would run) a room of that name.
    func loop(for id: String) -> EventLoop {
        self.loops[Int(UInt(bitPattern: stableHash(id)) % UInt(self.loops.count))]
    }

    /// Every room in memory. Any thread.
    var allHandles: [RoomHandle] { self.rooms.withLock { Array($0.values) } }

    /// Rooms unloaded and not yet back (for metrics and tests).
    var unloadedCount: Int { self.unloaded.withLock { $0.count } }

    /// A new room owned by `owner`, placed on its loop (or the room that got the name first).
    func create(_ id: String, owner: String) -> RoomHandle {
        let room = Room(id: id, epoch: self.epoch, settings: self.settings, now: WallClock.nowMillis())
        room.owner = owner
        return self.place(room)
    }

    /// Places `room` (a new one, or one restored from the store) on its loop, unless a room of
    /// that name exists; returns the room that lives under the name. Any thread.
    @discardableResult
    func place(_ room: Room) -> RoomHandle {
        let (handle, created) = self.rooms.withLock { rooms -> (RoomHandle, Bool) in
            if let existing = rooms[room.id] { return (existing, false) }
            let loop = self.loop(for: room.id)
            let handle = RoomHandle(room: room, loop: loop)
            rooms[room.id] = handle
            return (handle, true)
        }
        if created {
            let hosted = self.hostedByLoop[handle.loop.index]
            if handle.loop.inLoop || !handle.loop.isRunning {
                hosted.value.handles.append(handle)
            } else {
                handle.loop.execute { hosted.value.handles.append(handle) }
            }
        }
        return handle
    }

    /// The rooms `loop` runs; on that loop.
    func hosted(on loop: EventLoop) -> [RoomHandle] {
        self.hostedByLoop[loop.index].value.handles
    }
}

/// FNV-1a: a hash that is the same in every process (Swift's `hashValue` is seeded per run), so a
/// room is run by the same loop index every time.
func stableHash(_ text: String) -> Int {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in text.utf8 {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01B3
    }
    return Int(truncatingIfNeeded: hash)
}
