//! Every accepted connection, guarded at the byte level where HTTP/2 has no timer of its
//! own: a peer must send the client connection preface (the 24-byte magic and the header
//! of its SETTINGS frame) within the handshake timeout, and when a shutdown runs out of
//! patience every connection still open fails its next read or write, so that hyper
//! drops it with its streams. After the preface, HTTP/2 keep-alive pings find peers that
//! went silent.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::{Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Sleep;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// The client connection preface: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" and a frame header.
const PREFACE_BYTES: usize = 24 + 9;

/// Closes every guarded connection when told to.
#[derive(Debug, Clone)]
pub(crate) struct CloseAll(watch::Sender<bool>);

impl CloseAll {
    pub(crate) fn new() -> Self {
        Self(watch::channel(false).0)
    }

    pub(crate) fn close_all(&self) {
        self.0.send_replace(true);
    }

    fn closing(&self) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let mut rx = self.0.subscribe();
        Box::pin(async move {
            if rx.wait_for(|close| *close).await.is_err() {
                // Nobody can close the connections any more.
                std::future::pending::<()>().await;
            }
        })
    }
}

/// `incoming` with every connection guarded.
pub(crate) fn guard<I>(
    incoming: I,
    handshake_timeout: Duration,
    close: CloseAll,
) -> impl Stream<Item = io::Result<Guarded>>
where
    I: Stream<Item = io::Result<TcpStream>>,
{
    incoming.map(move |accepted| {
        accepted.map(|io| Guarded {
            io,
            preface_left: PREFACE_BYTES,
            handshake: Some(Box::pin(tokio::time::sleep(handshake_timeout))),
            closing: close.closing(),
        })
    })
}

pub(crate) struct Guarded {
    io: TcpStream,
    preface_left: usize,
    handshake: Option<Pin<Box<Sleep>>>,
    closing: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl Guarded {
    /// An error once the handshake timed out or the server closes every connection;
    /// polling both here also wakes the connection's task when either happens.
    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if self.closing.as_mut().poll(cx).is_ready() {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the server is shutting down",
            ));
        }
        if let Some(handshake) = &mut self.handshake
            && handshake.as_mut().poll(cx).is_ready()
        {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no HTTP/2 preface within the handshake timeout",
            ));
        }
        Ok(())
    }
}

impl Connected for Guarded {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.io.connect_info()
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.check(cx)?;
        let before = buf.filled().len();
        let read = Pin::new(&mut self.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = read
            && self.handshake.is_some()
        {
            let got = buf.filled().len() - before;
            self.preface_left = self.preface_left.saturating_sub(got);
            if self.preface_left == 0 {
                self.handshake = None;
            }
        }
        read
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.check(cx)?;
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.check(cx)?;
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check(cx)?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    async fn pair(handshake: Duration, close: CloseAll) -> (Guarded, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let client = TcpStream::connect(address).await.expect("connect");
        let incoming = futures::stream::once(async move { listener.accept().await.map(|a| a.0) });
        let mut guarded = Box::pin(guard(incoming, handshake, close));
        let server = guarded.next().await.expect("one").expect("accepted");
        (server, client)
    }

    #[tokio::test(start_paused = true)]
    async fn a_peer_silent_before_the_preface_times_out() {
        let (mut server, mut client) = pair(Duration::from_secs(5), CloseAll::new()).await;
        client.write_all(b"PRI * HTTP/2.0\r\n").await.expect("part");
        let mut buf = [0u8; 64];
        assert_eq!(server.read(&mut buf).await.expect("some bytes"), 16);
        let err = server.read(&mut buf).await.expect_err("timed out");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test(start_paused = true)]
    async fn after_the_preface_no_timer_runs_until_the_server_closes_all() {
        let close = CloseAll::new();
        let (mut server, mut client) = pair(Duration::from_secs(5), close.clone()).await;
        client
            .write_all(&[b'x'; PREFACE_BYTES])
            .await
            .expect("preface");
        let mut buf = [0u8; 64];
        let mut got = 0;
        while got < PREFACE_BYTES {
            got += server.read(&mut buf).await.expect("bytes");
        }
        let quiet = tokio::time::timeout(Duration::from_secs(3600), server.read(&mut buf)).await;
        assert!(
            quiet.is_err(),
            "an hour of silence after the preface is allowed here"
        );
        let reading = tokio::spawn(async move { server.read(&mut buf).await });
        tokio::task::yield_now().await;
        close.close_all();
        let err = reading.await.expect("task").expect_err("closed");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionAborted);
    }
}
