import Foundation

/// The contents of the replies: what each request asks of the interpreter, and the fields it gets.
extension KernelCore {
    func execute(_ request: Message) -> (reply: JSON, failed: Bool) {
        let content = request.content
        guard let code = content["code"]?.string else {
            return (badRequest("execute_request content needs a string `code`"), false)
        }
        // Wrong types are refused, not guessed: "yes" is not false.
        for field in ["silent", "store_history", "allow_stdin", "stop_on_error"] {
            if let value = content[field], value != .null, value.bool == nil {
                return (badRequest("execute_request field `\(field)` must be true or false, not \(value.text)"), false)
            }
        }
        if let value = content["user_expressions"], value.object == nil, value != .null {
            return (badRequest("execute_request field `user_expressions` must be an object, not \(value.text)"), false)
        }
        let silent = content["silent"]?.bool ?? false
        let storeHistory = silent ? false : (content["store_history"]?.bool ?? true)
        if storeHistory { executionCount += 1 }
        let count = executionCount
        // Reset before execute_input goes out: an interrupt sent after a client sees it always lands.
        interrupt.reset()
        if !silent {
            publish("execute_input", ["code": .string(code), "execution_count": .int(count)], parent: request)
        }
        let io = ExecutionIO(executionCount: count, silent: silent, cancellation: interrupt) { [weak self] in
            self?.publish($0, $1, parent: request)
        }
        let outcome = interpreter.execute(
            ExecuteRequest(
                code: code, silent: silent, storeHistory: storeHistory,
                stopOnError: content["stop_on_error"]?.bool ?? true,
                allowStdin: content["allow_stdin"]?.bool ?? false, executionCount: count),
            io: io)
        if storeHistory { history.record(line: count, input: code, output: io.resultText) }
        switch outcome {
        case .ok:
            var expressions: [String: JSON] = [:]
            for key in content["user_expressions"]?.object?.keys ?? [:].keys {
                let why = "\(identity.implementation) has no user expressions"
                expressions[key] = ["status": "error", "ename": "NotSupported", "evalue": .string(why), "traceback": []]
            }
            return (
                [
                    "status": "ok", "execution_count": .int(count), "payload": .array(io.payload),
                    "user_expressions": .object(expressions)
                ], false
            )
        case .error(let error):
            let fields: [String: JSON] = [
                "ename": .string(error.ename), "evalue": .string(error.evalue),
                "traceback": .array(error.traceback.map(JSON.string))
            ]
            if !silent { publish("error", .object(fields), parent: request) }
            var reply = fields
            reply["status"] = "error"
            reply["execution_count"] = .int(count)
            return (.object(reply), true)
        }
    }

    /// The reply to a request whose fields have the wrong types; the execution count is unchanged.
    private func badRequest(_ why: String) -> JSON {
        [
            "status": "error", "ename": "BadRequest", "evalue": .string(why), "traceback": [.string(why)],
            "execution_count": .int(executionCount)
        ]
    }

    func kernelInfo() -> JSON {
        let language = identity.language
        return [
            "status": "ok",
            "protocol_version": .string(MessageFactory.protocolVersion),
            "implementation": .string(identity.implementation),
            "implementation_version": .string(identity.implementationVersion),
            "banner": .string(identity.banner),
            "help_links": .array(identity.helpLinks.map { ["text": .string($0.text), "url": .string($0.url)] }),
            "debugger": false,
            "language_info": [
                "name": .string(language.name), "version": .string(language.version),
                "mimetype": .string(language.mimetype), "file_extension": .string(language.fileExtension),
                "pygments_lexer": .string(language.pygmentsLexer), "codemirror_mode": .string(language.codemirrorMode)
            ]
        ]
    }

    func complete(_ content: JSON) -> JSON {
        let code = content["code"]?.string ?? ""
        let cursor = content["cursor_pos"]?.int ?? code.unicodeScalars.count
        let result = interpreter.complete(code: code, cursor: cursor)
        return [
            "status": "ok", "matches": .array(result.matches.map(JSON.string)),
            "cursor_start": .int(result.cursorStart), "cursor_end": .int(result.cursorEnd), "metadata": [:]
        ]
    }

    func inspect(_ content: JSON) -> JSON {
        let code = content["code"]?.string ?? ""
        let cursor = content["cursor_pos"]?.int ?? code.unicodeScalars.count
        let result = interpreter.inspect(code: code, cursor: cursor, detailLevel: content["detail_level"]?.int ?? 0)
        return [
            "status": "ok", "found": .bool(result.found),
            "data": .object(result.data.mapValues(JSON.string)), "metadata": [:]
        ]
    }

    func isComplete(_ content: JSON) -> JSON {
        let status = interpreter.isComplete(code: content["code"]?.string ?? "")
        return status == .incomplete ? ["status": "incomplete", "indent": ""] : ["status": .string(status.rawValue)]
    }
}
