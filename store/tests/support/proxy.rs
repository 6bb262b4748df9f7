//! A TCP proxy on loopback that a test can make hang (keep connections, forward nothing),
//! close (drop every connection and stop listening) and reopen on the same port: a server that
//! goes away and comes back, without touching the real server other tests use.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The proxy; dropping it closes everything.
pub struct Proxy {
    address: SocketAddr,
    target: SocketAddr,
    forwarding: watch::Sender<bool>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `target`.
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let address = listener.local_addr().expect("proxy address");
        let (forwarding, _) = watch::channel(true);
        let proxy = Proxy {
            address,
            target,
            forwarding,
            tasks: Arc::new(Mutex::new(Vec::new())),
        };
        proxy.serve(listener);
        proxy
    }

    /// Where clients connect.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Keeps every connection open but forwards nothing (a hung server).
    pub fn hang(&self) {
        self.forwarding.send_replace(false);
    }

    /// Drops every connection and stops listening (a stopped server).
    pub fn close(&self) {
        for task in self.tasks.lock().expect("tasks").drain(..) {
            task.abort();
        }
    }

    /// Listens again on the same port and forwards (the server is back).
    pub async fn reopen(&self) {
        self.close();
        self.forwarding.send_replace(true);
        let listener = TcpListener::bind(self.address)
            .await
            .expect("rebind the proxy port");
        self.serve(listener);
    }

    fn serve(&self, listener: TcpListener) {
        let (target, forwarding, tasks) = (
            self.target,
            self.forwarding.clone(),
            Arc::clone(&self.tasks),
        );
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let forwarding = forwarding.clone();
                let connection = tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(target).await else {
                        return;
                    };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::join!(
                        pipe(client_read, server_write, forwarding.subscribe()),
                        pipe(server_read, client_write, forwarding.subscribe())
                    );
                });
                tasks.lock().expect("tasks").push(connection);
            }
        });
        self.tasks.lock().expect("tasks").push(accept);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.close();
    }
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut forwarding: watch::Receiver<bool>,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if forwarding.wait_for(|on| *on).await.is_err() {
            return;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}
