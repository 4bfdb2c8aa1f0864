import AppLinksCore
import AppLinksHost
import AppLinksJSON
import AppLinksStore
import ArgumentParser
import Foundation

struct DraftsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drafts",
        abstract: "Unfinished create wizards: each is resumed with `applinks create --resume ID` and removed a day after its last change.",
        subcommands: [DraftsList.self, DraftsDelete.self], defaultSubcommand: DraftsList.self)
}

struct DraftsList: HostCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the drafts, newest first.")
    @OptionGroup var common: CommonOptions

    struct View: Encodable {
        var id: String
        var type: String
        var step: String?
        var note: String?
        var created_at: String
        var updated_at: String
        var expires_at: String
    }

    func execute() async throws {
        let drafts = try await common.openHost().drafts().map { d in
            View(
                id: d.id, type: d.type, step: d.step, note: d.note, created_at: Timestamp.format(d.createdAt),
                updated_at: Timestamp.format(d.updatedAt),
                expires_at: Timestamp.format(d.updatedAt.addingTimeInterval(DraftRecord.lifetime)))
        }
        if common.json { return try await Output.json(drafts) }
        if drafts.isEmpty { print("No drafts.") }
        for d in drafts {
            print("\(d.id)  \(d.type)  step \(d.step ?? "-")  updated \(d.updated_at)  removed after \(d.expires_at)")
            if let note = d.note { print("    \(note)") }
        }
    }
}

struct DraftsDelete: HostCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Discard a draft and the answers it holds.")
    @OptionGroup var common: CommonOptions
    @Argument(help: "The draft's id, such as d-1234abcd.") var id: String

    func execute() async throws {
        try await common.openHost().deleteDraft(id)
        if common.json { return try Output.json(["deleted": id]) }
        print("Deleted draft \(id).")
    }
}
