// applinks-plugin-runner LIBRARY: runs one link-type plugin out of the host's process (`isolation: process`),
// speaking frames (AppLinksPluginIPC.Frame) on stdin and the original stdout. Only the host starts it.
import AppLinksPluginIPC
import Foundation

guard CommandLine.arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: applinks-plugin-runner LIBRARY (started by the AppLinks host, not by hand)\n".utf8))
    exit(2)
}
exit(PluginRunner.main(library: CommandLine.arguments[1]))
