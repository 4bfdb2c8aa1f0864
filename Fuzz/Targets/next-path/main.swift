// Where `?next=` may send a browser after login: the answer is the input or `/`, and an accepted one is a path on
// this host however far a browser decodes it.
import AppLinksHTTPInput
import Foundation
import FuzzDriver

fuzz { data in
    let input = String(decoding: data, as: UTF8.self)
    let out = SafeRedirect.path(input)
    guard out != "/" else { return }
    expect(out == input, "\(input.debugDescription) became \(out.debugDescription)")
    var forms = [out]
    while let decoded = forms.last!.removingPercentEncoding, decoded != forms.last! { forms.append(decoded) }
    for form in forms {
        let bytes = Array(form.utf8)
        expect(bytes.first == UInt8(ascii: "/"), "\(form.debugDescription) is not a path")
        expect(
            bytes.count < 2 || (bytes[1] != UInt8(ascii: "/") && bytes[1] != UInt8(ascii: "\\")), "\(form.debugDescription) names a host")
        expect(
            bytes.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") }, "\(form.debugDescription) has bytes a browser drops")
        let url = URL(string: form)
        expect(url == nil || (url?.scheme == nil && url?.host == nil), "\(form.debugDescription) has a scheme or host")
    }
}
