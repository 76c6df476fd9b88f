import Foundation
import TestSupport
import Testing

@testable import Jupyter

/// Signature vectors made with jupyter_client's `Session` (see Fixtures/README.md).
struct SignatureVector: Decodable {
    var key, header, parent_header, metadata, content, signature: String

    static func load() throws -> [SignatureVector] {
        try JSONDecoder().decode([SignatureVector].self, from: Fixtures.data("JupyterTests/Fixtures/signatures.json"))
    }

    var parts: [Data] { [header, parent_header, metadata, content].map { Data($0.utf8) } }
    var frames: [Data] { [Data("client-id".utf8), WireCodec.delimiter, Data(signature.utf8)] + parts }
}

@Suite struct WireCodecTests {
    @Test func signaturesMatchJupyterClient() throws {
        let vectors = try SignatureVector.load()
        #expect(vectors.count >= 3)
        for vector in vectors {
            #expect(Signer(key: vector.key).signature(vector.parts) == vector.signature)
        }
    }

    @Test func decodesJupyterClientFramesExactly() throws {
        for vector in try SignatureVector.load() {
            let message = try WireCodec(signer: Signer(key: vector.key)).decode(vector.frames)
            #expect(message.identities == [Data("client-id".utf8)])
            #expect(message.header.msgID == (try JSON.parse(Data(vector.header.utf8)))["msg_id"]?.string)
            #expect(message.content == (try JSON.parse(Data(vector.content.utf8))))
        }
    }

    @Test func rejectsATamperedSignatureOrContent() throws {
        let vector = try #require(try SignatureVector.load().first { !$0.key.isEmpty })
        let codec = WireCodec(signer: Signer(key: vector.key))
        var frames = vector.frames
        frames[2] = Data(String(vector.signature.reversed()).utf8)
        #expect(throws: WireError.self) { try codec.decode(frames) }
        frames = vector.frames
        frames[6] = Data(#"{"code": "print pwned"}"#.utf8)
        #expect(throws: WireError.self) { try codec.decode(frames) }
        frames = vector.frames
        frames[2] = Data()
        #expect(throws: WireError.self) { try codec.decode(frames) }
    }

    @Test func anEmptyKeyMeansNoSigning() throws {
        let codec = WireCodec(signer: Signer(key: ""))
        let message = Message(header: MessageFactory().header("kernel_info_request"))
        let frames = codec.encode(message)
        #expect(frames[1] == Data())
        #expect(try codec.decode(frames).msgType == "kernel_info_request")
    }

    @Test func roundTripsWithBuffersAndIdentities() throws {
        let codec = WireCodec(signer: Signer(key: "secret"))
        let original = Message(
            identities: [Data([1, 2, 3]), Data("b".utf8)], header: MessageFactory().header("comm_msg"),
            parentHeader: ["msg_id": "p"], metadata: ["m": 1],
            content: ["text": "héllo ✓ \u{1F600}", "n": 2.5], buffers: [Data([0, 255])])
        let decoded = try codec.decode(codec.encode(original))
        #expect(decoded.identities == original.identities)
        #expect(decoded.header == original.header)
        #expect(decoded.parentHeader == original.parentHeader)
        #expect(decoded.metadata == original.metadata)
        #expect(decoded.content == original.content)
        #expect(decoded.buffers == original.buffers)
    }

    @Test func malformedFramesAreReportedNotCrashed() throws {
        let codec = WireCodec(signer: Signer(key: "k"))
        #expect(throws: WireError.self) { try codec.decode([]) }
        #expect(throws: WireError.self) { try codec.decode([Data("garbage".utf8)]) }
        #expect(throws: WireError.self) { try codec.decode([WireCodec.delimiter, Data("sig".utf8)]) }
    }

    @Test func aBadBodyWithAGoodHeaderCanBeAnswered() throws {
        let signer = Signer(key: "k")
        let header = MessageFactory().header("execute_request").json.serialized()
        let parts = [header, Data("{}".utf8), Data("{}".utf8), Data("{not json".utf8)]
        let frames = [WireCodec.delimiter, Data(signer.signature(parts).utf8)] + parts
        do {
            _ = try WireCodec(signer: signer).decode(frames)
            Issue.record("decoded invalid JSON")
        } catch WireError.badBody(let message, let why) {
            #expect(message.msgType == "execute_request")
            #expect(why.contains("content"))
        }
    }

    @Test func oversizedMessagesAreRefusedWithAnAnswer() throws {
        let signer = Signer(key: "k")
        let codec = WireCodec(signer: signer, maxMessageBytes: 1000)
        let message = Message(
            header: MessageFactory().header("execute_request"),
            content: ["code": .string(String(repeating: "x", count: 2000))])
        #expect {
            try codec.decode(codec.encode(message))
        } throws: { error in
            guard case WireError.badBody(_, let why) = error else { return false }
            return why.contains("limit")
        }
    }
}

@Suite struct HistoryTests {
    var history: History {
        var h = History()
        h.record(line: 1, input: "print a", output: nil)
        h.record(line: 2, input: "version", output: "gradti 0.1.0")
        h.record(line: 3, input: "print b", output: nil)
        h.record(line: 4, input: "print a", output: nil)
        return h
    }

    @Test func tail() {
        #expect(history.answer(["hist_access_type": "tail", "n": 2]) == [[1, 3, "print b"], [1, 4, "print a"]])
    }

    @Test func rangeIsHalfOpenAndNamesTheSession() {
        #expect(
            history.answer(["hist_access_type": "range", "session": 0, "start": 2, "stop": 4])
                == [[1, 2, "version"], [1, 3, "print b"]])
        #expect(history.answer(["hist_access_type": "range", "session": -1, "start": 1, "stop": 9]) == [])
    }

    @Test func searchWithGlobsUniqueAndOutput() {
        #expect(history.answer(["hist_access_type": "search", "pattern": "print*"]).count == 3)
        #expect(
            history.answer(["hist_access_type": "search", "pattern": "print*", "unique": true])
                == [[1, 3, "print b"], [1, 4, "print a"]])
        #expect(
            history.answer(["hist_access_type": "search", "pattern": "ver?ion", "output": true])
                == [[1, 2, ["version", "gradti 0.1.0"]]])
    }
}

@Suite struct ConnectionInfoTests {
    @Test func readsAConnectionFileAndRejectsBadOnes() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gradti-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = folder.appendingPathComponent("good.json")
        let text = """
            {"shell_port": 5001, "iopub_port": 5002, "stdin_port": 5003, "control_port": 5004, "hb_port": 5005,
             "ip": "127.0.0.1", "key": "abc", "transport": "tcp", "signature_scheme": "hmac-sha256",
             "kernel_name": "gradti"}
            """
        try Data(text.utf8).write(to: good)
        let info = try ConnectionInfo(contentsOf: good)
        #expect(info.shellPort == 5001 && info.hbPort == 5005 && info.key == "abc")
        #expect(info.endpoint(info.iopubPort) == "tcp://127.0.0.1:5002")

        let bad = folder.appendingPathComponent("bad.json")
        try Data(#"{"shell_port": "x"}"#.utf8).write(to: bad)
        #expect(throws: ConnectionError.self) { try ConnectionInfo(contentsOf: bad) }
        #expect(throws: ConnectionError.self) {
            try ConnectionInfo(contentsOf: folder.appendingPathComponent("missing.json"))
        }
    }

    @Test func onlyAStringIsAKey() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gradti-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func read(_ key: String) throws -> ConnectionInfo {
            let url = folder.appendingPathComponent("\(UUID()).json")
            try Data(
                #"{"shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5\#(key)}"#.utf8
            ).write(to: url)
            return try ConnectionInfo(contentsOf: url)
        }
        // Before: each of these started the kernel with authentication off.
        for bad in [#", "key": 12345"#, #", "key": null"#, #", "key": ["a"]"#, #", "key": {"k": "v"}"#] {
            let error = #expect(throws: ConnectionError.self, "\(bad)") { try read(bad) }
            #expect(error?.description.contains("key must be a string") == true)
        }
        #expect(try read(#", "key": "secret""#).isSigned)
        #expect(try !read(#", "key": """#).isSigned)
        #expect(try !read("").isSigned)
        #expect(throws: ConnectionError.self) { try read(#", "key": "k", "transport": "udp""#) }
        #expect(throws: ConnectionError.self) { try read(#", "key": "k", "ip": 7"#) }
        let fifo = folder.appendingPathComponent("fifo.json")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        #expect(throws: ConnectionError.self) { try ConnectionInfo(contentsOf: fifo) }
    }
}
