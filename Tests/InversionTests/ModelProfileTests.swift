import Foundation
import TestSupport
import Testing

@testable import Inversion

@Suite struct ModelProfileTests {
    static let valid = ModelProfile(
        concepts: ["a"], steps: 3, samples: 1, probes: 0,
        profiles: ["norm": [ProfilePoint(t: 0, mean: 1, std: 0.5)], "mse": [ProfilePoint(t: 0, mean: 0.1)]],
        passes: 4, seconds: 0.5)

    @Test func aSavedProfileReadsBackAndDamagedOnesAreRefusedByName() throws {
        let folder = try Scratch.folder("gradti-model-profile")
        let url = folder.appendingPathComponent(ModelProfile.fileName)
        try Self.valid.write(to: url)
        #expect(try ModelProfile.read(url) == Self.valid)
        let text = try String(contentsOf: url, encoding: .utf8)
        for bad in [
            "not json", "{}", text.replacingOccurrences(of: "\"norm\"", with: "\"size\""),
            text.replacingOccurrences(of: "\"passes\" : 4", with: "\"passes\" : -4"),
            text.replacingOccurrences(of: "\"concepts\" : [\n    \"a\"\n  ]", with: "\"concepts\" : []")
        ] {
            try bad.write(to: url, atomically: true, encoding: .utf8)
            #expect {
                try ModelProfile.read(url)
            } throws: {
                String(describing: $0).contains(url.path)
            }
        }
    }
}
