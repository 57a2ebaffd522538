import Cluster
import LiveRoom
import Transport

/// A room and the event loop that runs it ("where it lives"). Every command for the room runs on
/// `loop`, so the room needs no lock and stock cannot oversell.
///
/// Shared by reference across loops (sessions keep their room's handle), but only `room`'s
/// identity and `loop` are read elsewhere; everything mutable is touched on `loop` alone, which
/// the accessors check (`assertInLoop`). That is why the `@unchecked Sendable` is safe.
final class RoomHandle: @unchecked Sendable {
    let id: String
    /// The streamer who created the room; fixed for the room's life, so readable anywhere.
    let owner: String
    let loop: EventLoop
    private let ownedRoom: Room
    private let ownedState = State()

    /// What the room's loop keeps beside the room.
    final class State {
        /// Members' sessions, each bound to its own loop. (Who sees the order stream is the
        /// room's decision: `Room.staffMembers`.)
        var sessions: [MemberID: LoopBound<WebSocketSession>] = [:]
        /// A snapshot is being stored: the room's work waits in `backlog`, in arrival order.
        var saving = false
        var backlog: [() -> Void] = []
        /// The backlog is being run: new work waits behind it.
        var draining = false
        /// What the metrics and the lobby last saw of the room (`Room.gaugeFingerprint`).
        var publishedFingerprint: Int?
        /// Since when (ms) the room has been closed and empty, for unloading.
        var idleSince: Int64?
        /// Taken out of memory: work that still arrives here goes to the room brought back.
        var unloaded = false
        /// An operator archived the room: it leaves memory as soon as it is empty and quiet.
        var archived = false
        // Cluster mode (all empty on a single node):
        /// This node's lease on the room: it acts as owner only while the lease is valid.
        var lease: Lease?
        /// Members connected through other nodes, by the member id the room knows them by.
        var remote: [MemberID: RemoteMember] = [:]
        var remoteIndex: [RemoteMember: MemberID] = [:]
        /// This node's own gate to the room (its sessions), told when the room is given up.
        var gate: ClusterRoom?
        /// The shop's calls waiting for the room's answer (`.shopAnswer`), by ticket.
        var shopCalls: [Int: @Sendable (ShopAnswer) -> Void] = [:]
    }

    init(room: Room, loop: EventLoop) {
        self.id = room.id
        self.owner = room.owner
        self.loop = loop
        self.ownedRoom = room
    }

    /// The room; on its loop only.
    var room: Room {
        self.loop.assertInLoop()
        return self.ownedRoom
    }

    /// Members, staff and the save gate; on the room's loop only.
    var state: State {
        self.loop.assertInLoop()
        return self.ownedState
    }
}
