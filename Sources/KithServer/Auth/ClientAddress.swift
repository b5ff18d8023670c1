import Foundation
import Hummingbird
#if canImport(Glibc)
import Glibc
#endif

/// An address or a CIDR block, as `KITH_TRUSTED_PROXIES` lists them (`10.0.0.0/8`, `127.0.0.1`, `::1`, `fd00::/8`).
struct AddressBlock: Sendable, Equatable {
    let bytes: [UInt8]
    let prefixLength: Int

    init?(_ text: String) {
        let parts = text.trimmingWhitespace().split(separator: "/", maxSplits: 1).map(String.init)
        guard let first = parts.first, let bytes = Self.parse(first) else { return nil }
        let bits = bytes.count * 8
        if parts.count == 2 {
            guard let length = Int(parts[1]), (0...bits).contains(length) else { return nil }
            prefixLength = length
        } else {
            prefixLength = bits
        }
        self.bytes = bytes
    }

    func contains(_ address: String) -> Bool {
        guard let other = Self.parse(address), other.count == bytes.count else { return false }
        var remaining = prefixLength
        for (a, b) in zip(bytes, other) where remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
            if a & mask != b & mask { return false }
            remaining -= 8
        }
        return true
    }

    /// 4 bytes for IPv4, 16 for IPv6 (an IPv4-mapped IPv6 address counts as IPv4).
    static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF { return Array(bytes[12...]) }
        return bytes
    }
}

/// The address a request came from: the peer's, unless the peer is one of our own trusted proxies, in which case the
/// nearest address in `X-Forwarded-For` that is not a trusted proxy (the rightmost: earlier entries are whatever
/// the client chose to send). With no trusted proxies, the header is ignored.
enum ClientAddress {
    static func resolve(peer: String?, forwardedFor: [String], trusted: [AddressBlock]) -> String? {
        guard let peer, trusted.contains(where: { $0.contains(peer) }) else { return peer }
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
        for hop in hops.reversed() {
            guard AddressBlock.parse(hop) != nil else { return peer }
            if !trusted.contains(where: { $0.contains(hop) }) { return hop }
        }
        return hops.first ?? peer
    }
}

/// Every request's client address, for the sign-in throttle and the family page's limits (`Principal.clientAddress`):
/// the peer, or the address a trusted proxy forwarded for.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = KithRequestContext
    let trustedProxies: [AddressBlock]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let address = ClientAddress.resolve(
            peer: context.remoteAddress, forwardedFor: request.headers[values: .init("X-Forwarded-For")!], trusted: trustedProxies)
        return try await Principal.$clientAddress.withValue(address) { try await next(request, context) }
    }
}
