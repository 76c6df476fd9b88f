import Foundation
import TestSupport
import Testing

@testable import Kernel

/// Finding the embedded model and the kernelspec from where the binary is, not from the build
/// machine's source paths (before: a copied or installed binary looked in the checkout it was
/// built from).
@Suite struct InstallationTests {
    /// A pipeline folder (only model_index.json matters to the search).
    func pipeline(at folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: folder.appendingPathComponent("model_index.json"))
    }

    @Test func aCheckoutsBuildFindsItsModels() throws {
        let root = try Scratch.folder("install-checkout")
        try pipeline(at: root.appendingPathComponent("models/gradti-emoji"))
        let binary = root.appendingPathComponent(".build/x86_64-unknown-linux-gnu/release/gradti")
        let found = try Installation.defaultModelFolder(environment: [:], executable: binary)
        #expect(found.path == root.appendingPathComponent("models/gradti-emoji").standardizedFileURL.path)
    }

    @Test func anInstallPrefixFindsShareGradti() throws {
        let prefix = try Scratch.folder("install-prefix")
        try pipeline(at: prefix.appendingPathComponent("share/gradti/models/gradti-emoji"))
        let found = try Installation.defaultModelFolder(
            environment: [:], executable: prefix.appendingPathComponent("bin/gradti"))
        #expect(found.lastPathComponent == "gradti-emoji" && found.path.contains("/share/gradti/models/"))
    }

    @Test func environmentVariablesComeFirst() throws {
        let elsewhere = try Scratch.folder("install-env")
        try pipeline(at: elsewhere.appendingPathComponent("gradti-emoji"))
        let binary = URL(fileURLWithPath: "/nonexistent/bin/gradti")
        let viaModels = try Installation.defaultModelFolder(
            environment: ["GRADTI_MODELS": elsewhere.path], executable: binary)
        #expect(viaModels.lastPathComponent == "gradti-emoji")
        let viaModel = try Installation.defaultModelFolder(
            environment: ["GRADTI_MODEL": elsewhere.appendingPathComponent("gradti-emoji").path], executable: binary)
        #expect(viaModel.path == elsewhere.appendingPathComponent("gradti-emoji").path)
    }

    @Test func notFoundSaysWhereItLookedAndWhatToDo() throws {
        let empty = try Scratch.folder("install-none")
        let binary = empty.appendingPathComponent("bin/gradti")
        let error = #expect(throws: CommandError.self) {
            try Installation.defaultModelFolder(environment: ["GRADTI_MODELS": "/nowhere"], executable: binary)
        }
        let text = error.map(String.init(describing:)) ?? ""
        #expect(text.contains(binary.path) && text.contains("GRADTI_MODELS=/nowhere") && text.contains("GRADTI_MODEL"))
        let bad = #expect(throws: CommandError.self) {
            try Installation.defaultModelFolder(environment: ["GRADTI_MODEL": empty.path], executable: binary)
        }
        #expect(bad.map(String.init(describing:))?.contains("holds no pipeline") == true)
    }

    @Test func resourcesAreFoundAboveTheBinary() throws {
        let root = try Scratch.folder("install-resource")
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("kernelspec"), withIntermediateDirectories: true)
        let found = Installation.resource(
            "kernelspec", executable: root.appendingPathComponent(".build/release/gradti"))
        #expect(found?.path == root.appendingPathComponent("kernelspec").standardizedFileURL.path)
        #expect(Installation.resource("no-such-thing", executable: root.appendingPathComponent("gradti")) == nil)
    }
}
