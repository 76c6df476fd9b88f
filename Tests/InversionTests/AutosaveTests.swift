import Foundation
import TestSupport
import Testing

@testable import Inversion

@Suite struct AutosaveTests {
    /// Every K steps a session and an embedding; only the last N kept; a save resumes where it was.
    @Test func savesEveryKStepsAndKeepsTheLastN() throws {
        let s = try session()
        let folder = try Scratch.folder("gradti-autosave")
        let autosave = Autosave(every: 2, keep: 2, folder: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: folder.appendingPathComponent("notes.txt"))
        _ = try s.train(TrainingPlan(steps: 7, autosave: autosave), poll: {}) { _, _ in }
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(
            names == [
                "cat-toy-step0000004.safetensors", "cat-toy-step0000004.session.safetensors",
                "cat-toy-step0000006.safetensors", "cat-toy-step0000006.session.safetensors", "notes.txt"
            ])
        let resumed = try session()
        try resumed.loadSession(from: autosave.files(concept: "cat-toy", step: 6).session)
        #expect(resumed.stepCount == 6)
        let (_, vectors) = try EmbeddingFile.read(
            autosave.files(concept: "cat-toy", step: 6).embedding, width: s.pipeline.textEncoder.tokenWidth)
        #expect(vectors.shape[0] == 1)
    }

    /// A save that cannot be written stops training with the error; the steps done are kept.
    @Test func aFailedSaveStopsWithTheErrorAndKeepsTheSteps() throws {
        let s = try session()
        let blocker = try Scratch.folder("gradti-autosave-blocked").appendingPathComponent("a-file")
        try Data("x".utf8).write(to: blocker)
        #expect {
            _ = try s.train(
                TrainingPlan(steps: 3, autosave: Autosave(every: 1, keep: 1, folder: blocker)), poll: {}
            ) { _, _ in }
        } throws: { String(describing: $0).contains("autosave at step 1") }
        #expect(s.stepCount == 1 && s.history.count == 1)
    }
}
