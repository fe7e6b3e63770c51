// A minimal OPC UA client that measures Read throughput: the same client,
// with the same requests, against any server (Railgate's, asyncua's).
//
//   ua-read-load --host 127.0.0.1 --port 4840 --nodes FILE --per-request 100 \
//                --connections 1 --seconds 5
//
// FILE holds one NodeId per line in text form (ns=1;s=… or ns=2;i=…).
// Prints `requests=N seconds=S rate=R` (Read requests per second).
// Security None, anonymous; one session per connection; one request in
// flight per connection. Bounded by --seconds.

import Foundation
import Glibc
import OPCUAServer

struct Options {
    var host = "127.0.0.1"
    var port = 4840
    var nodesFile = ""
    var perRequest = 100
    var connections = 1
    var seconds = 5.0

    init(_ args: [String]) {
        var i = 1
        while i + 1 < args.count {
            let value = args[i + 1]
            switch args[i] {
            case "--host": host = value
            case "--port": port = Int(value) ?? port
            case "--nodes": nodesFile = value
            case "--per-request": perRequest = Int(value) ?? perRequest
            case "--connections": connections = Int(value) ?? connections
            case "--seconds": seconds = Double(value) ?? seconds
            default: break
            }
            i += 2
        }
    }
}

func parseNodeId(_ text: String) -> NodeId? {
    var namespace: UInt16 = 0
    var rest = Substring(text)
    if rest.hasPrefix("ns="), let semicolon = rest.firstIndex(of: ";") {
        namespace = UInt16(rest[rest.index(rest.startIndex, offsetBy: 3)..<semicolon]) ?? 0
        rest = rest[rest.index(after: semicolon)...]
    }
    if rest.hasPrefix("i="), let number = UInt32(rest.dropFirst(2)) { return NodeId(number, namespace: namespace) }
    if rest.hasPrefix("s=") { return NodeId(String(rest.dropFirst(2)), namespace: namespace) }
    return nil
}

/// One blocking connection with its secure channel and session.
final class Connection {
    let fd: Int32
    var channelId: UInt32 = 0
    var tokenId: UInt32 = 0
    var sequence: UInt32 = 0
    var requestId: UInt32 = 0
    var token = NodeId.null

    init(host: String, port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr(host)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw CocoaError(.fileReadNoSuchFile) }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        try handshake(url: "opc.tcp://\(host):\(port)")
    }

    deinit { close(fd) }

    func sendAll(_ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return }
            sent += n
        }
    }

    func receiveExactly(_ count: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, count - got, 0) }
            guard n > 0 else { throw CocoaError(.fileReadCorruptFile) }
            got += n
        }
        return buffer
    }

    /// One complete message: (type, body after the security and sequence headers).
    func receiveMessage() throws -> (String, [UInt8]) {
        var body: [UInt8] = []
        while true {
            let header = try receiveExactly(8)
            let type = String(decoding: header[0..<3], as: UTF8.self)
            let size = Int(header[4]) | Int(header[5]) << 8 | Int(header[6]) << 16 | Int(header[7]) << 24
            let chunk = try receiveExactly(size - 8)
            switch type {
            case "MSG":
                body += chunk[16...]
                if header[3] == UInt8(ascii: "F") { return (type, body) }
            default:
                return (type, chunk)
            }
        }
    }

    func handshake(url: String) throws {
        sendAll(UAChunk(.hello, body: UAHello(receiveBufferSize: 65535, sendBufferSize: 65535, maxMessageSize: 0,
                                              maxChunkCount: 0, endpointUrl: url).encoded).bytes)
        guard try receiveMessage().0 == "ACK" else { throw CocoaError(.fileReadCorruptFile) }
        var w = UAWriter()
        w.writeUInt32(0)
        w.writeString("http://opcfoundation.org/UA/SecurityPolicy#None")
        w.writeByteString(nil)
        w.writeByteString(nil)
        sequence += 1
        requestId += 1
        w.writeUInt32(sequence)
        w.writeUInt32(requestId)
        UAIds.Encoding.openSecureChannelRequest.encode(to: &w)
        OpenSecureChannelRequest(requestType: .issue, securityMode: .none, clientNonce: [], requestedLifetime: 3_600_000)
            .encode(to: &w)
        sendAll(UAChunk(.open, body: w.bytes).bytes)
        let (type, opn) = try receiveMessage()
        guard type == "OPN" else { throw CocoaError(.fileReadCorruptFile) }
        var r = UAReader(opn)
        _ = try r.readUInt32()
        _ = try r.readString()
        _ = try r.readByteString()
        _ = try r.readByteString()
        _ = try r.readUInt32()
        _ = try r.readUInt32()
        _ = try NodeId(from: &r)
        let response = try OpenSecureChannelResponse(from: &r)
        channelId = response.securityToken.channelId
        tokenId = response.securityToken.tokenId
        let created: CreateSessionResponse = try call(
            CreateSessionRequest(requestHeader: RequestHeader(), clientDescription: ApplicationDescription(
                applicationUri: "urn:railgate:bench", applicationType: .client), endpointUrl: url, sessionName: "bench",
                clientNonce: UAServerCore.randomBytes(32), requestedSessionTimeout: 60_000),
            UAIds.Encoding.createSessionRequest)
        token = created.authenticationToken
        let anonymous = ExtensionObject(AnonymousIdentityToken(policyId: created.serverEndpoints.first?
            .userIdentityTokens.first { $0.tokenType == .anonymous }?.policyId ?? "anonymous"),
            encodingId: UAIds.Encoding.anonymousIdentityToken)
        let _: ActivateSessionResponse = try call(
            ActivateSessionRequest(requestHeader: RequestHeader(authenticationToken: token), userIdentityToken: anonymous),
            UAIds.Encoding.activateSessionRequest)
    }

    /// Ends the session (a closed socket alone leaves it to time out, as
    /// OPC UA wants, and later runs would meet the server's session limit).
    func closeSession() {
        let _: CloseSessionResponse? = try? call(
            CloseSessionRequest(requestHeader: RequestHeader(authenticationToken: token), deleteSubscriptions: true),
            UAIds.Encoding.closeSessionRequest)
    }

    func call<Request: UACodable, Response: UACodable>(_ request: Request, _ encoding: NodeId) throws -> Response {
        var w = UAWriter()
        w.writeUInt32(channelId)
        w.writeUInt32(tokenId)
        sequence += 1
        requestId += 1
        w.writeUInt32(sequence)
        w.writeUInt32(requestId)
        encoding.encode(to: &w)
        request.encode(to: &w)
        sendAll(UAChunk(.message, body: w.bytes).bytes)
        let (_, body) = try receiveMessage()
        var r = UAReader(body)
        let type = try NodeId(from: &r)
        guard type != UAIds.Encoding.serviceFault else { throw CocoaError(.fileReadCorruptFile) }
        return try Response(from: &r)
    }
}

let options = Options(CommandLine.arguments)
let nodes = (try? String(contentsOfFile: options.nodesFile, encoding: .utf8))?
    .split(separator: "\n").compactMap { parseNodeId(String($0)) } ?? []
guard !nodes.isEmpty else {
    FileHandle.standardError.write(Data("ua-read-load: no NodeIds in \(options.nodesFile)\n".utf8))
    exit(2)
}
let items = (0..<options.perRequest).map { ReadValueId(nodeId: nodes[$0 % nodes.count], attributeId: 13) }

final class Counter: @unchecked Sendable {
    let lock = NSLock()
    var requests = 0
    var failures = 0
}
let counter = Counter()
let deadline = Date().addingTimeInterval(options.seconds)
let group = DispatchGroup()
for _ in 0..<options.connections {
    group.enter()
    Thread {
        defer { group.leave() }
        guard let connection = try? Connection(host: options.host, port: options.port) else {
            counter.lock.lock(); counter.failures += 1; counter.lock.unlock()
            return
        }
        var done = 0
        var handle: UInt32 = 0
        while Date() < deadline {
            handle &+= 1
            let request = ReadRequest(requestHeader: RequestHeader(authenticationToken: connection.token, requestHandle: handle),
                                      timestampsToReturn: .both, nodesToRead: items)
            guard let response: ReadResponse = try? connection.call(request, UAIds.Encoding.readRequest),
                  response.results.count == items.count else {
                counter.lock.lock(); counter.failures += 1; counter.lock.unlock()
                return
            }
            done += 1
        }
        connection.closeSession()
        counter.lock.lock(); counter.requests += done; counter.lock.unlock()
    }.start()
}
group.wait()
print("requests=\(counter.requests) seconds=\(options.seconds) rate=\(Double(counter.requests) / options.seconds) failures=\(counter.failures)")
