/// Why a command got no value. The distinction that matters to a caller writing durable state is
/// whether Redis may have executed it: `notSent` means certainly not; `lost` means unknown.
public enum RedisError: Error, Equatable, Sendable {
    /// The connection is down (or not ready): the command was never written.
    case notSent
    /// Too many commands waiting for replies: refused before writing (backpressure).
    case overloaded
    /// Written, but the connection failed or timed out before the reply: it may have run.
    case lost
    /// Redis answered with an error reply.
    case reply(String)

    /// True when Redis certainly did not execute the command.
    public var certainlyNotExecuted: Bool {
        switch self {
        case .notSent, .overloaded: return true
        case .reply: return true
        case .lost: return false
        }
    }
}
