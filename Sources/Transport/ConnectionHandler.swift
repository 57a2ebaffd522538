/// What sits on top of a connection: the WebSocket session in Hometown, a test double in tests.
///
/// Every call happens on the connection's event loop thread.
public protocol ConnectionHandler: AnyObject {
    /// Bytes arrived. They are mutable so parsers can unmask in place, and valid only during the
    /// call (they live in the loop's shared read buffer).
    func connectionReceived(_ connection: Connection, bytes: UnsafeMutableRawBufferPointer)

    /// The outbound queue would pass its hard limit: this peer is not reading. Called from inside
    /// `enqueue`, possibly in the middle of a fan-out, so it must not touch other connections; it
    /// may enqueue a final message with `force` and call `closeAfterFlush`.
    func connectionOverflowed(_ connection: Connection)

    /// Periodic check (about once a second) for timeouts and keep-alive pings.
    func connectionTick(_ connection: Connection, now: UInt64)

    /// The connection is gone (peer closed, error, or our own close). Called exactly once, from the
    /// end-of-iteration reaper, never from inside another handler call.
    func connectionClosed(_ connection: Connection)
}
