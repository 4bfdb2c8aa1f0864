import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Drops a connection whose client sends a request too slowly (slowloris): the request's head must arrive
/// within `headerTimeout` of the connection opening or of the previous response, and its body within
/// `bodyTimeout` of the head. An idle timeout alone cannot do this, as one byte a second keeps resetting it.
///
/// A request only moves the deadline, a value; the connection's one timer checks it when it fires and is set again
/// for the deadline then in force. Scheduling and cancelling a timer for each request, and again for each response,
/// cost more than the rest of a small request's trip through the server.
final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let headerTimeout: TimeAmount
    private let bodyTimeout: TimeAmount
    /// When the connection is dropped unless the client makes progress; none while the server works on a request.
    private var deadline: NIODeadline?
    private var timer: (task: Scheduled<Void>, at: NIODeadline)?

    init(headerTimeout: TimeAmount, bodyTimeout: TimeAmount) {
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) { expect(context, within: headerTimeout) }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline = nil
        timer?.task.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: expect(context, within: bodyTimeout)
        case .end: deadline = nil
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // A finished response starts the wait for the next request on this connection.
        if case .end = unwrapOutboundIn(data) { expect(context, within: headerTimeout) }
        context.write(data, promise: promise)
    }

    private func expect(_ context: ChannelHandlerContext, within timeout: TimeAmount) {
        let at = NIODeadline.now() + timeout
        deadline = at
        // A timer due at or before the new deadline will find it when it fires; only an earlier deadline needs a new one.
        if let timer, timer.at <= at { return }
        schedule(context, at: at)
    }

    private func schedule(_ context: ChannelHandlerContext, at: NIODeadline) {
        timer?.task.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let task = context.eventLoop.assumeIsolated().scheduleTask(deadline: at) {
            let (handler, context) = loopBound.value
            handler.fired(context)
        }
        timer = (task, at)
    }

    private func fired(_ context: ChannelHandlerContext) {
        timer = nil
        guard let deadline else { return }
        if deadline <= NIODeadline.now() {
            context.close(promise: nil)
        } else {
            schedule(context, at: deadline)
        }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
