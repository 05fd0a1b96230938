//! TCP details that save packets and system calls per connection.

use std::io::{self, Read};

use tokio::io::Interest;
use tokio::net::{TcpListener, TcpStream};

/// Sets `TCP_NODELAY` on the listening socket. Linux copies it to every
/// accepted socket, which saves a `setsockopt` per connection; returns whether
/// accepted sockets inherit it (elsewhere each must set it itself).
pub(crate) fn nodelay_inherited(listener: &TcpListener) -> bool {
    cfg!(target_os = "linux")
        && socket2::SockRef::from(listener)
            .set_tcp_nodelay(true)
            .is_ok()
}

/// Asks Linux to hand over accepted connections only once their first bytes
/// have arrived (`TCP_DEFER_ACCEPT`), so the request head can be read at once
/// instead of after another wait. A client that stays silent is handed over
/// after about a second anyway, and then meets the handshake timeout. Returns
/// whether the option took.
pub(crate) fn defer_accept(listener: &TcpListener) -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let seconds: libc::c_int = 1;
        // SAFETY: the descriptor is the listener's own, open for the call, and
        // the option value is a c_int that lives across it, with its true size.
        let rc = unsafe {
            libc::setsockopt(
                listener.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_DEFER_ACCEPT,
                std::ptr::from_ref(&seconds).cast(),
                std::mem::size_of_val(&seconds) as libc::socklen_t,
            )
        };
        rc == 0
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = listener;
        false
    }
}

/// Reads what the socket holds now, and when the read comes back short (the
/// socket is drained) makes tokio forget the readiness it saw before the read,
/// so the next wait is for new data rather than a `recv` that only says
/// `EAGAIN`. Readiness that arrives after the read is kept. A socket tokio has
/// not yet seen readable is read anyway (a new connection usually already
/// holds its first bytes). `WouldBlock` when there is nothing.
pub(crate) fn read_drained(stream: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    let room = buf.len();
    let mut tried = false;
    let mut got = 0;
    let read = stream.try_io(Interest::READABLE, || {
        tried = true;
        got = (&*socket2::SockRef::from(stream)).read(buf)?;
        if got > 0 && got < room {
            Err(io::ErrorKind::WouldBlock.into())
        } else {
            Ok(got)
        }
    });
    match read {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock && got > 0 => Ok(got),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock && !tried => {
            (&*socket2::SockRef::from(stream)).read(buf)
        }
        other => other,
    }
}

/// Writes the last bytes of a connection: on Linux they are held back
/// (`MSG_MORE`) so that the `shutdown` that follows sends them and the FIN in
/// one segment. `WouldBlock` when the socket buffer is full.
pub(crate) fn try_write_last(stream: &TcpStream, buf: &[u8]) -> io::Result<usize> {
    stream.try_io(Interest::WRITABLE, || send_last(stream, buf))
}

/// Writes `parts` in one `sendmsg`: the socket call, which skips the file
/// layer's position lock and checks that `writev` goes through (about 4% of
/// the server's samples in the 1 KiB fan-out). `WouldBlock` when the socket
/// buffer is full.
pub(crate) fn try_send_vectored(
    stream: &TcpStream,
    parts: &[io::IoSlice<'_>],
) -> io::Result<usize> {
    stream.try_io(Interest::WRITABLE, || {
        socket2::SockRef::from(stream).send_vectored(parts)
    })
}

#[cfg(target_os = "linux")]
fn send_last(stream: &TcpStream, buf: &[u8]) -> io::Result<usize> {
    socket2::SockRef::from(stream).send_with_flags(buf, libc::MSG_MORE)
}

#[cfg(not(target_os = "linux"))]
fn send_last(stream: &TcpStream, buf: &[u8]) -> io::Result<usize> {
    use std::io::Write;
    (&*socket2::SockRef::from(stream)).write(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::time::timeout;

    async fn listener() -> TcpListener {
        TcpListener::bind("127.0.0.1:0").await.unwrap()
    }

    #[tokio::test]
    async fn accepted_sockets_inherit_nodelay_on_linux() {
        let l = listener().await;
        let inherited = nodelay_inherited(&l);
        assert_eq!(inherited, cfg!(target_os = "linux"));
        let _client = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (accepted, _) = l.accept().await.unwrap();
        if inherited {
            assert!(accepted.nodelay().unwrap(), "TCP_NODELAY was not inherited");
        }
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn deferred_accept_hands_over_connections_with_their_first_bytes() {
        let l = listener().await;
        assert!(defer_accept(&l));
        let mut client = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        assert!(
            timeout(Duration::from_millis(300), l.accept())
                .await
                .is_err(),
            "a connection that sent nothing was handed over"
        );
        client.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        let (accepted, _) = timeout(Duration::from_secs(5), l.accept())
            .await
            .unwrap()
            .unwrap();
        // Read at once, before tokio has seen the socket readable.
        let mut buf = [0u8; 64];
        let n = read_drained(&accepted, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"GET / HTTP/1.1\r\n");
    }

    #[tokio::test]
    async fn a_short_read_forgets_readiness_but_new_data_wakes() {
        let l = listener().await;
        let mut client = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (server, _) = l.accept().await.unwrap();
        client.write_all(b"one").await.unwrap();
        server.readable().await.unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(read_drained(&server, &mut buf).unwrap(), 3);
        assert!(
            timeout(Duration::from_millis(100), server.readable())
                .await
                .is_err(),
            "still readable after the socket was drained"
        );
        assert_eq!(
            read_drained(&server, &mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        client.write_all(b"two").await.unwrap();
        timeout(Duration::from_secs(5), server.readable())
            .await
            .expect("new data did not wake the reader")
            .unwrap();
        assert_eq!(read_drained(&server, &mut buf).unwrap(), 3);
        assert_eq!(&buf[..3], b"two");
        drop(client);
        timeout(Duration::from_secs(5), server.readable())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read_drained(&server, &mut buf).unwrap(), 0, "EOF is a 0");
    }

    #[tokio::test]
    async fn parts_sent_in_one_sendmsg_arrive_whole_and_in_order() {
        let l = listener().await;
        let mut client = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (server, _) = l.accept().await.unwrap();
        let (head, body, next) = ([0x82u8, 0x7e, 0x01, 0x00], [7u8; 256], [0x81u8, 0x01, b'x']);
        let parts = [
            io::IoSlice::new(&head),
            io::IoSlice::new(&body),
            io::IoSlice::new(&next),
        ];
        server.writable().await.unwrap();
        assert_eq!(try_send_vectored(&server, &parts).unwrap(), 263);
        let mut got = vec![0u8; 263];
        timeout(Duration::from_secs(5), client.read_exact(&mut got))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&got[..4], head);
        assert_eq!(&got[4..260], body);
        assert_eq!(&got[260..], next);
    }

    #[tokio::test]
    async fn last_bytes_arrive_with_the_end_of_the_stream() {
        for drop_only in [false, true] {
            let l = listener().await;
            let mut client = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
            let (mut server, _) = l.accept().await.unwrap();
            let frame = [0x88, 0x02, 0x03, 0xe8];
            server.writable().await.unwrap();
            assert_eq!(try_write_last(&server, &frame).unwrap(), frame.len());
            if drop_only {
                drop(server);
            } else {
                server.shutdown().await.unwrap();
            }
            let mut got = Vec::new();
            timeout(Duration::from_secs(5), client.read_to_end(&mut got))
                .await
                .expect("the held-back bytes were not sent at the end")
                .unwrap();
            assert_eq!(got, frame, "drop only: {drop_only}");
        }
    }
}
