//! [`ClientStream`]: the transport [`crate::connect`] opens.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// The transport of a connection opened by [`crate::connect`]: TCP, or TLS
/// over TCP, either of them possibly through an HTTP proxy's tunnel.
#[derive(Debug)]
pub struct ClientStream {
    inner: Inner,
    proxied: bool,
}

#[derive(Debug)]
enum Inner {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl ClientStream {
    pub(crate) fn plain(tcp: TcpStream, proxied: bool) -> Self {
        Self {
            inner: Inner::Plain(tcp),
            proxied,
        }
    }

    pub(crate) fn tls(tls: TlsStream<TcpStream>, proxied: bool) -> Self {
        Self {
            inner: Inner::Tls(Box::new(tls)),
            proxied,
        }
    }

    /// True for `wss://` (TLS).
    pub fn is_tls(&self) -> bool {
        matches!(self.inner, Inner::Tls(_))
    }

    /// True when the connection goes through an HTTP proxy's tunnel.
    pub fn is_proxied(&self) -> bool {
        self.proxied
    }

    /// The TCP connection underneath (to the proxy when proxied).
    pub fn tcp(&self) -> &TcpStream {
        match &self.inner {
            Inner::Plain(t) => t,
            Inner::Tls(t) => t.get_ref().0,
        }
    }

    /// The ALPN protocol the TLS server chose, if any.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        match &self.inner {
            Inner::Plain(_) => None,
            Inner::Tls(t) => t.get_ref().1.alpn_protocol(),
        }
    }
}

impl AsyncRead for ClientStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Plain(t) => Pin::new(t).poll_read(cx, buf),
            Inner::Tls(t) => Pin::new(t.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().inner {
            Inner::Plain(t) => Pin::new(t).poll_write(cx, buf),
            Inner::Tls(t) => Pin::new(t.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Plain(t) => Pin::new(t).poll_flush(cx),
            Inner::Tls(t) => Pin::new(t.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Plain(t) => Pin::new(t).poll_shutdown(cx),
            Inner::Tls(t) => Pin::new(t.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().inner {
            Inner::Plain(t) => Pin::new(t).poll_write_vectored(cx, bufs),
            Inner::Tls(t) => Pin::new(t.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.inner {
            Inner::Plain(t) => t.is_write_vectored(),
            Inner::Tls(t) => t.is_write_vectored(),
        }
    }
}
