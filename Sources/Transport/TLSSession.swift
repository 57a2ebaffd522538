import COpenSSL

/// TLS on one connection over memory BIOs: the event loop reads and writes the socket as usual,
/// and this type turns ciphertext into plaintext for the handler and the handler's plaintext into
/// ciphertext for the queue. Non-blocking by construction — OpenSSL never touches the socket, so a
/// slow or broken handshake costs that connection and nothing else.
final class TLSSession {
    private let ssl: OpaquePointer
    private let input: OpaquePointer  // ciphertext from the peer, for OpenSSL to read
    private let output: OpaquePointer  // ciphertext from OpenSSL, for the peer
    private(set) var handshakeDone = false
    /// Plaintext queued before the handshake finished.
    private var pending: [UInt8] = []

    enum Failure: Error {
        case handshake(String)
        case protocolError(String)
    }

    init?(context: TLSContext) {
        guard let ssl = SSL_new(context.context), let input = BIO_new(BIO_s_mem()), let output = BIO_new(BIO_s_mem()) else {
            return nil
        }
        self.ssl = ssl
        self.input = input
        self.output = output
        SSL_set_bio(ssl, input, output)  // the SSL object owns both BIOs now
        SSL_set_accept_state(ssl)
    }

    deinit { SSL_free(self.ssl) }

    /// Feeds ciphertext; calls `plaintext` with each decrypted piece (valid during the call).
    /// Returns ciphertext to send back (handshake messages), possibly empty.
    func receive(
        _ ciphertext: UnsafeRawBufferPointer, scratch: UnsafeMutableRawBufferPointer,
        plaintext: (UnsafeMutableRawBufferPointer) -> Void
    ) throws(Failure) -> [UInt8] {
        var offset = 0
        while offset < ciphertext.count {
            let written = BIO_write(self.input, ciphertext.baseAddress! + offset, Int32(ciphertext.count - offset))
            guard written > 0 else { throw .protocolError("BIO_write failed") }
            offset += Int(written)
        }
        if !self.handshakeDone {
            let result = SSL_do_handshake(self.ssl)
            if result == 1 {
                self.handshakeDone = true
            } else {
                let error = SSL_get_error(self.ssl, result)
                if error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE {
                    throw .handshake(TLSContext.lastError())
                }
                return self.drainOutput()
            }
        }
        while true {
            let count = SSL_read(self.ssl, scratch.baseAddress, Int32(scratch.count))
            if count > 0 {
                plaintext(UnsafeMutableRawBufferPointer(rebasing: scratch[0..<Int(count)]))
                continue
            }
            let error = SSL_get_error(self.ssl, count)
            if error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE { break }
            if error == SSL_ERROR_ZERO_RETURN { break }  // close_notify; the TCP close follows
            throw .protocolError(TLSContext.lastError())
        }
        var out = self.pending.isEmpty ? [] : self.encrypt(self.takePending())
        out += self.drainOutput()
        return out
    }

    /// Encrypts plaintext into ciphertext for the queue (held until the handshake is done).
    func encrypt(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        guard self.handshakeDone else {
            self.pending.append(contentsOf: bytes)
            return []
        }
        var offset = 0
        while offset < bytes.count {
            let written = SSL_write(self.ssl, bytes.baseAddress! + offset, Int32(bytes.count - offset))
            if written <= 0 { break }
            offset += Int(written)
        }
        return self.drainOutput()
    }

    private func encrypt(_ bytes: [UInt8]) -> [UInt8] { bytes.withUnsafeBytes { self.encrypt($0) } }

    private func takePending() -> [UInt8] {
        let bytes = self.pending
        self.pending = []
        return bytes
    }

    /// The close_notify alert, to send before closing.
    func shutdown() -> [UInt8] {
        guard self.handshakeDone else { return [] }
        SSL_shutdown(self.ssl)
        return self.drainOutput()
    }

    private func drainOutput() -> [UInt8] {
        let available = Int(BIO_ctrl_pending(self.output))
        guard available > 0 else { return [] }
        var out = [UInt8](repeating: 0, count: available)
        let read = out.withUnsafeMutableBytes { BIO_read(self.output, $0.baseAddress, Int32(available)) }
        return read > 0 ? Array(out.prefix(Int(read))) : []
    }
}
