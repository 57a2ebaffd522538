import Glibc

/// A failed system call, named, with its errno.
public struct TransportError: Error, CustomStringConvertible, Equatable {
    public let call: String
    public let errno: Int32

    public init(_ call: String, errno: Int32 = Glibc.errno) {
        self.call = call
        self.errno = errno
    }

    public var description: String { "\(self.call) failed: \(String(cString: strerror(self.errno))) (errno \(self.errno))" }
}
