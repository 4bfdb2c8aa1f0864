// Atlassian's consumer-info XML (`/plugins/servlet/oauth/consumer-info`): one that is accepted has a key and base64 DER,
// and our own XML for it reads back equal.
import AppLinksPluginOAuth1
import Foundation
import FuzzDriver

fuzz { data in
    guard let info = ConsumerInfo(xml: data) else { return }
    expect(!info.key.isEmpty, "consumer info without a key")
    expect(Data(base64Encoded: ConsumerInfo.der(fromPEM: info.publicKeyPEM)) != nil, "the public key is not base64")
    let again = ConsumerInfo(xml: Data(info.xml.utf8))
    expect(again == info, "our XML reads back as \(String(describing: again)):\n\(info.xml)")
}
