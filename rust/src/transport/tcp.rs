//! Opening a TCP connection without blocking the caller: names are resolved on a short-lived
//! worker thread, each address is connected to with a non-blocking socket, and every step has a
//! deadline. Addresses are tried in the resolver's order (IPv6 and IPv4 as the system ranks them)
//! until one answers.

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::Instant;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::core::config::Timeouts;
use crate::core::error::{Phase, WsError};

/// Progress of a connection attempt.
#[derive(Debug)]
pub enum Progress {
    Pending,
    /// Connected, non-blocking, `TCP_NODELAY` set.
    Connected(TcpStream),
    Failed(WsError),
}

#[derive(Debug)]
enum Step {
    Resolving {
        results: Receiver<io::Result<Vec<SocketAddr>>>,
        deadline: Instant,
    },
    Trying {
        socket: Socket,
        addr: SocketAddr,
        deadline: Instant,
    },
    Done,
}

/// One attempt to connect to `host:port`.
#[derive(Debug)]
pub struct Connector {
    step: Step,
    queue: VecDeque<SocketAddr>,
    timeouts: Timeouts,
    last_error: Option<String>,
}

impl Connector {
    /// Starts resolving (or, for an IP literal, connecting) right away.
    pub fn start(host: &str, port: u16, timeouts: Timeouts, now: Instant) -> Connector {
        let mut c = Connector {
            step: Step::Done,
            queue: VecDeque::new(),
            timeouts,
            last_error: None,
        };
        if let Ok(ip) = host.parse::<IpAddr>() {
            c.queue.push_back(SocketAddr::new(ip, port));
            c.step = Step::Done;
            return c;
        }
        let (tx, rx) = mpsc::channel();
        let name = (host.to_owned(), port);
        // The system resolver blocks; a thread keeps it off the game's frame. If the peer gives
        // up first, the thread finishes on its own and its answer is dropped.
        let spawned = std::thread::Builder::new()
            .name("ws-resolve".into())
            .spawn(move || {
                let _ = tx.send(name.to_socket_addrs().map(|a| a.collect()));
            });
        c.step = match spawned {
            Ok(_) => Step::Resolving {
                results: rx,
                deadline: now + timeouts.resolve,
            },
            Err(e) => {
                c.last_error = Some(format!("cannot start the resolver thread: {e}"));
                Step::Done
            }
        };
        c
    }

    /// The address being connected to, if any.
    pub fn current_addr(&self) -> Option<SocketAddr> {
        match &self.step {
            Step::Trying { addr, .. } => Some(*addr),
            _ => None,
        }
    }

    /// Moves the attempt forward; never blocks.
    pub fn poll(&mut self, now: Instant) -> Progress {
        loop {
            match &mut self.step {
                Step::Resolving { results, deadline } => match results.try_recv() {
                    Ok(Ok(addrs)) if addrs.is_empty() => {
                        return self.give_up(WsError::Resolve("the name has no addresses".into()))
                    }
                    Ok(Ok(addrs)) => {
                        self.queue.extend(addrs);
                        self.step = Step::Done;
                    }
                    Ok(Err(e)) => return self.give_up(WsError::Resolve(e.to_string())),
                    Err(TryRecvError::Disconnected) => {
                        return self.give_up(WsError::Resolve("the resolver stopped".into()))
                    }
                    Err(TryRecvError::Empty) if now >= *deadline => {
                        return self.give_up(WsError::Timeout(Phase::Resolve))
                    }
                    Err(TryRecvError::Empty) => return Progress::Pending,
                },
                Step::Trying {
                    socket,
                    addr,
                    deadline,
                } => match check_connected(socket) {
                    Ok(true) => {
                        let Step::Trying { socket, .. } =
                            std::mem::replace(&mut self.step, Step::Done)
                        else {
                            unreachable!("matched above")
                        };
                        let stream: TcpStream = socket.into();
                        let _ = stream.set_nodelay(true);
                        return Progress::Connected(stream);
                    }
                    Ok(false) if now < *deadline => return Progress::Pending,
                    Ok(false) => {
                        self.last_error = Some(format!(
                            "{addr}: timed out after {:?}",
                            self.timeouts.connect
                        ));
                        self.step = Step::Done;
                    }
                    Err(e) => {
                        self.last_error = Some(format!("{addr}: {e}"));
                        self.step = Step::Done;
                    }
                },
                Step::Done => {
                    let Some(addr) = self.queue.pop_front() else {
                        let why = self
                            .last_error
                            .take()
                            .unwrap_or_else(|| "no address to connect to".into());
                        let timed_out = why.contains("timed out");
                        return self.give_up(if timed_out {
                            WsError::Timeout(Phase::Connect)
                        } else {
                            WsError::Connect(why)
                        });
                    };
                    match begin_connect(addr) {
                        Ok(socket) => {
                            self.step = Step::Trying {
                                socket,
                                addr,
                                deadline: now + self.timeouts.connect,
                            };
                            // Report the outcome at the next poll, as the engine does: the call
                            // that starts a connection never also ends it.
                            return Progress::Pending;
                        }
                        Err(e) => self.last_error = Some(format!("{addr}: {e}")),
                    }
                }
            }
        }
    }

    fn give_up(&mut self, error: WsError) -> Progress {
        self.step = Step::Done;
        self.queue.clear();
        Progress::Failed(error)
    }
}

fn begin_connect(addr: SocketAddr) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    match socket.connect(&SockAddr::from(addr)) {
        Ok(()) => Ok(socket),
        Err(e) if in_progress(&e) => Ok(socket),
        Err(e) => Err(e),
    }
}

fn in_progress(e: &io::Error) -> bool {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::EINPROGRESS) {
        return true;
    }
    e.kind() == io::ErrorKind::WouldBlock
}

/// Whether a non-blocking connect has finished: `Ok(true)` connected, `Ok(false)` still under
/// way, `Err` failed.
fn check_connected(socket: &Socket) -> io::Result<bool> {
    if let Some(e) = socket.take_error()? {
        return Err(e);
    }
    match socket.peer_addr() {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::time::Duration;

    fn drive(c: &mut Connector) -> Progress {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            match c.poll(Instant::now()) {
                Progress::Pending if Instant::now() < until => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                other => return other,
            }
        }
    }

    #[test]
    fn connects_to_a_listener_by_ip_and_by_name() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        for host in ["127.0.0.1", "localhost"] {
            let mut c = Connector::start(host, port, Timeouts::default(), Instant::now());
            match drive(&mut c) {
                Progress::Connected(s) => assert_eq!(s.peer_addr().unwrap().port(), port),
                other => panic!("{host}: {other:?}"),
            }
        }
    }

    #[test]
    fn reports_refused_and_unknown_hosts() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port(); // closed again
        let mut c = Connector::start("127.0.0.1", port, Timeouts::default(), Instant::now());
        assert!(matches!(
            drive(&mut c),
            Progress::Failed(WsError::Connect(_))
        ));
        let mut c = Connector::start(
            "does-not-exist.invalid",
            80,
            Timeouts::default(),
            Instant::now(),
        );
        assert!(matches!(
            drive(&mut c),
            Progress::Failed(WsError::Resolve(_))
        ));
    }
}
