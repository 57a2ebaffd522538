import COpenSSL

/// A server TLS configuration (OpenSSL `SSL_CTX`): certificate chain and key from PEM files,
/// TLS 1.2 or newer only. Shared by every connection of every loop (OpenSSL makes `SSL_CTX`
/// thread-safe for this use).
public final class TLSContext: @unchecked Sendable {
    public struct Error: Swift.Error, CustomStringConvertible {
        public let message: String
        public var description: String { self.message }
    }

    let context: OpaquePointer

    public init(certificateChain: String, privateKey: String) throws {
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw Error(message: "SSL_CTX_new failed: \(Self.lastError())") }
        self.context = context
        guard hometown_ssl_ctx_set_min_tls12(context) == 1 else { throw Error(message: "cannot require TLS 1.2: \(Self.lastError())") }
        _ = hometown_ssl_ctx_release_buffers(context)
        guard SSL_CTX_use_certificate_chain_file(context, certificateChain) == 1 else {
            throw Error(message: "cannot load certificate '\(certificateChain)': \(Self.lastError())")
        }
        guard SSL_CTX_use_PrivateKey_file(context, privateKey, SSL_FILETYPE_PEM) == 1 else {
            throw Error(message: "cannot load private key '\(privateKey)': \(Self.lastError())")
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw Error(message: "the private key does not match the certificate: \(Self.lastError())")
        }
    }

    deinit { SSL_CTX_free(self.context) }

    static func lastError() -> String {
        let code = ERR_get_error()
        guard code != 0 else { return "unknown error" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        let length = buffer.firstIndex(of: 0) ?? buffer.count
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
