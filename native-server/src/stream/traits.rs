//! `futures` traits on the driver: [`Stream`] of received messages and
//! [`Sink`] of messages to send, on [`WebSocket`] and on its halves. Each
//! poll is one step of the driver's poll functions, as `recv` and `send` are:
//! nothing is boxed per item.
//!
//! The sink's close is lenient, so that `reader.forward(writer)` is an echo:
//! a [`Message::Close`] given to the sink once the close handshake has begun
//! (the peer's close, which the core already answered, passed on) is dropped,
//! and `poll_close` sends a close frame (1000) only if none was sent or
//! answered yet, then writes everything queued. It does not wait for the
//! peer's close: the stream (or the reader half) sees it.

use std::pin::Pin;
use std::task::{Context, Poll};

use framewire_core::{CloseCode, CloseState, Message};
use futures_core::stream::{FusedStream, Stream};
use futures_sink::Sink;
use tokio::io::{AsyncRead, AsyncWrite};

use super::{Driver, Half, WebSocket, WsReader, WsWriter};
use crate::error::{Error, Result};

impl<S: AsyncRead + AsyncWrite + Unpin + 'static> Driver<S> {
    /// Queues a message given to a sink (see the module's note on closes).
    fn sink_queue(&mut self, msg: &Message) -> Result<()> {
        if matches!(msg, Message::Close(..)) && self.conn.close_state() != CloseState::Open {
            return Ok(());
        }
        self.queue(msg)
    }

    /// A sink's close: a close frame unless one went out, then everything written.
    fn poll_sink_close(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        if !self.ended && self.conn.close_state() == CloseState::Open {
            self.queue(&Message::Close(Some(CloseCode::NORMAL), String::new()))?;
        }
        self.poll_out(cx, 0)
    }

    /// True once the message stream has ended (and any failure was reported).
    fn stream_done(&self) -> bool {
        self.ended && self.failure.is_none()
    }
}

/// Received messages, as [`WebSocket::recv`] gives them; ends after the close
/// handshake (or after the error that ended the connection).
impl<S: AsyncRead + AsyncWrite + Unpin + 'static> Stream for WebSocket<S> {
    type Item = Result<Message>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().driver.poll_message(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + 'static> FusedStream for WebSocket<S> {
    fn is_terminated(&self) -> bool {
        self.driver.stream_done()
    }
}

/// Messages to send, as [`WebSocket::feed`] (`start_send`) and
/// [`WebSocket::flush`] (`poll_flush`); `poll_ready` waits while more than the
/// high-water mark is buffered.
impl<S: AsyncRead + AsyncWrite + Unpin + 'static> Sink<Message> for WebSocket<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let d = &mut self.get_mut().driver;
        let limit = d.cfg.high_water;
        d.poll_out(cx, limit)
    }

    fn start_send(self: Pin<&mut Self>, msg: Message) -> Result<()> {
        self.get_mut().driver.sink_queue(&msg)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().driver.poll_out(cx, 0)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().driver.poll_sink_close(cx)
    }
}

/// Received messages, as [`WsReader::recv`] gives them.
impl<S: AsyncRead + AsyncWrite + Unpin + 'static> Stream for WsReader<S> {
    type Item = Result<Message>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_message(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + 'static> FusedStream for WsReader<S> {
    fn is_terminated(&self) -> bool {
        self.shared.with(|d| d.stream_done())
    }
}

/// Messages to send, as the [`WebSocket`]'s sink, through the shared driver.
impl<S: AsyncRead + AsyncWrite + Unpin + 'static> Sink<Message> for WsWriter<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.shared.poll(Half::Writer, cx, |d, cx| {
            let limit = d.cfg.high_water;
            d.poll_out(cx, limit)
        })
    }

    fn start_send(self: Pin<&mut Self>, msg: Message) -> Result<()> {
        self.shared.with(|d| d.sink_queue(&msg))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.shared
            .poll(Half::Writer, cx, |d, cx| d.poll_out(cx, 0))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.shared
            .poll(Half::Writer, cx, |d, cx| d.poll_sink_close(cx))
    }
}
