import Foundation
import Jupyter
import TestSupport
import Testing

@testable import Kernel

/// Every long command stops at an interrupt, and commands that change settings change nothing
/// when interrupted. The bounds below are generous: they catch a command that ignores the
/// interrupt (minutes), not a slow machine.
@Suite(.serialized) struct InterruptTests {
    /// sd-tiny with the CLIP image encoder of the vision fixture: every measurement is available.
    static func pipelineWithImageEncoder() throws -> URL {
        let folder = try Scratch.folder("gradti-interrupt").appendingPathComponent("pipeline")
        try FileManager.default.copyItem(at: sdTiny, to: folder)
        try FileManager.default.copyItem(
            at: sdTiny.deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("clip-vision/image_encoder"),
            to: folder.appendingPathComponent("image_encoder"))
        return folder
    }

    /// A recorder with the model and a concept loaded.
    func ready(settings: String? = nil) throws -> Recorder {
        let r = Recorder()
        let images = try conceptFolder()
        #expect(error(r.run("load \"\(try Self.pipelineWithImageEncoder().path)\"").0) == nil)
        if let settings { #expect(error(r.run(settings).0) == nil) }
        #expect(error(r.run("concept toy from \"\(images.path)/*.png\" init=toy").0) == nil)
        return r
    }

    /// Runs `cell`, interrupting it after `delay` seconds; returns its outcome and how long it took.
    func interrupted(_ r: Recorder, _ cell: String, after delay: Double = 0.5) -> (ExecuteOutcome, Double) {
        r.cancellation.reset()
        let token = r.cancellation
        DispatchQueue.global().asyncAfter(deadline: .now() + delay) { token.cancel() }
        let start = Date()
        let outcome = r.run(cell).0
        r.cancellation.reset()
        return (outcome, Date().timeIntervalSince(start))
    }

    @Test func aHugeProfileRangeIsRefusedAtOnce() throws {
        let r = try ready()
        // Before: the timestep list was built before the range was checked, and this spun forever.
        let outcome = r.run("profile t=0:9223372036854775807:1").0
        #expect(error(outcome)?.evalue.contains("timesteps run from 0 to") == true)
        #expect(error(r.run("profile t=-5:100:10").0) != nil)
        #expect(error(r.run("profile t=0:100:").0)?.evalue.contains("START:END:STEP") == true)
    }

    @Test func stepStopsInsideASimilarityMeasurement() throws {
        // Settings given before the concept exist are set without measuring.
        let r = try ready(settings: "evaluate every=1 images=64 steps=1000")
        let session = try #require(r.interpreter.workspace.session)
        // Before: the measurement had no cancellation check and this ran for many minutes.
        let (outcome, seconds) = interrupted(r, "step 3")
        #expect(error(outcome)?.ename == "Interrupted")
        #expect(seconds < 60)
        #expect(session.history.count == session.stepCount)
    }

    @Test func anInterruptedEvaluateChangesNoSetting() throws {
        let r = try ready()
        let session = try #require(r.interpreter.workspace.session)
        let before = (
            session.similaritySettings.images, session.similaritySettings.steps, session.measurement.every
        )
        let (outcome, seconds) = interrupted(r, "evaluate every=7 images=64 steps=1000")
        #expect(error(outcome)?.ename == "Interrupted")
        #expect(seconds < 60)
        // Before: the interrupted evaluate kept every=7, images=64 and steps=1000.
        #expect(
            (session.similaritySettings.images, session.similaritySettings.steps, session.measurement.every)
                == before)
    }

    @Test func compareStopsAndLeavesTheSessionAsItWas() throws {
        let r = try ready(settings: "evaluate images=64 steps=1000")
        let session = try #require(r.interpreter.workspace.session)
        let vectors = session.vectors?.scalars
        // Before: compare's similarity measurements ignored interrupts.
        let (outcome, seconds) = interrupted(r, "compare uniform adaptive steps=500 metric=similarity")
        #expect(error(outcome)?.ename == "Interrupted")
        #expect(seconds < 60)
        #expect(session.stepCount == 0 && session.vectors?.scalars == vectors)
    }

    @Test func generationStops() throws {
        let r = try ready()
        let (outcome, seconds) = interrupted(r, "generate \"a photo of <toy>\" n=64 steps=1000")
        #expect(error(outcome)?.ename == "Interrupted")
        #expect(seconds < 60)
    }

    @Test func anInterruptedConceptChangesNothing() throws {
        let r = try ready()
        let images = try conceptFolder()
        r.cancellation.cancel()
        #expect(error(r.run("concept other from \"\(images.path)/*.png\" init=cat").0)?.ename == "Interrupted")
        r.cancellation.reset()
        #expect(r.interpreter.workspace.session?.concept?.name == "toy")
    }

    @Test func anInterruptDuringLoadChangesNothing() throws {
        let r = try ready()
        let session = r.interpreter.workspace.session
        r.cancellation.cancel()
        #expect(error(r.run("load \"\(sdTiny.path)\"").0)?.ename == "Interrupted")
        r.cancellation.reset()
        #expect(r.interpreter.workspace.session === session)
        #expect(session?.concept?.name == "toy")
    }
}
