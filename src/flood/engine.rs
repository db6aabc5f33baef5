//! The measuring loop of one worker process: non-blocking sockets on one epoll loop (mio).
//! It connects and (in loopback mode) accepts on the same loop, so both ends live in this
//! process: 2 fds per connection, the model's `loopback` scenario.
//!
//! It knows sockets and errno, not policy: it records the first hard error (errno + call)
//! in its shared slot and leaves the meaning to `classify`.

use std::collections::{HashMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use mio::net::{TcpListener as MioListener, TcpStream as MioStream};
use mio::{Events, Interest, Poll, Token};
use nix::libc;
use socket2::{Domain, SockAddr, Socket};

use super::classify::{Call, errno};
use super::shm::{Ctrl, Slot, mono_ns};

/// What one worker does.
pub struct EngineConfig {
    /// Flood an existing server: no listener here, 1 fd per connection.
    pub target_mode: bool,
    /// This worker's listeners (loopback mode).
    pub listeners: Vec<Socket>,
    /// Destinations (this worker's listen addresses, or the target).
    pub dests: Vec<SocketAddr>,
    /// Source IPs bound with IP_BIND_ADDRESS_NO_PORT (empty: no bind).
    pub sources: Vec<Ipv4Addr>,
    /// Connections (churn: cycles) to open at most.
    pub quota: u64,
    /// Connects in flight at most.
    pub window: u64,
    /// Connected but not yet accepted at most (loopback; half the listen backlog).
    pub pending_cap: u64,
    pub connect_timeout: Duration,
    pub churn: bool,
    pub graceful: bool,
    /// A hard error here stops every worker (a shared target), not only this one.
    pub errors_stop_all: bool,
    pub nofile_soft: u64,
    /// Target mode: the target's port, to read its accept queue (sock_diag) and pace on it.
    pub target_port: Option<u16>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Free,
    Connecting,
    Connected,
}

struct Client {
    sock: Option<MioStream>,
    state: State,
    generation: u32,
    tuple: u32,
}

const LISTENER_BASE: usize = 1 << 40;
const CHURN_ACC_BASE: usize = 1 << 41;

struct Engine<'a> {
    cfg: EngineConfig,
    slot: &'a Slot,
    ctrl: &'a Ctrl,
    poll: Poll,
    tuples: Vec<(Option<SockAddr>, SockAddr)>,
    next_tuple: usize,
    clients: Vec<Client>,
    free: Vec<u32>,
    accepted: Vec<Socket>,
    churn_acc: Vec<Option<MioStream>>,
    listeners: Vec<MioListener>,
    churn_free: Vec<u32>,
    timeouts: VecDeque<(u64, u32, u32)>,
    base_fds: u64,
    free_fds: u64,
    opened: u64,
    clients_open: u64,
    connecting: u64,
    connected_live: u64,
    connected_total: u64,
    accepted_live: u64,
    accepted_total: u64,
    churn_open: u64,
    cycles: u64,
    established_pub: u64,
    own_stop: bool,
    /// Errors are recorded in the slot (false during the survival check).
    record: bool,
    accept_failed: bool,
    last_progress_ns: u64,
    /// Untracked connects: the last accept, or the last moment nothing was pending.
    last_accept_ns: u64,
    /// Target mode: the target's accept queue at the last read, when it was read, and how
    /// many of our connects had completed then.
    queued: u64,
    queued_read_ns: u64,
    connected_at_read: u64,
    /// Target mode: the most connections the server had accepted, and when that last grew.
    server_best: u64,
    server_progress_ns: u64,
    /// Target mode: the server stopped draining its queue; fill it to find where SYNs drop.
    fill: bool,
}

fn err_no(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

fn close_rst(s: Socket) {
    let _ = s.set_linger(Some(Duration::ZERO));
    drop(s);
}

impl<'a> Engine<'a> {
    fn new(mut cfg: EngineConfig, slot: &'a Slot, ctrl: &'a Ctrl) -> std::io::Result<Self> {
        let poll = Poll::new()?;
        let mut listeners = Vec::new();
        for (i, l) in std::mem::take(&mut cfg.listeners).into_iter().enumerate() {
            let mut l = MioListener::from_std(std::net::TcpListener::from(l));
            poll.registry()
                .register(&mut l, Token(LISTENER_BASE + i), Interest::READABLE)?;
            listeners.push(l);
        }
        let srcs: Vec<Option<SockAddr>> = if cfg.sources.is_empty() {
            vec![None]
        } else {
            cfg.sources
                .iter()
                .map(|ip| Some(SockAddr::from(SocketAddrV4::new(*ip, 0))))
                .collect()
        };
        // round robin over (source, destination): tuple t = (src t % S, dst t / S)
        let mut tuples = Vec::new();
        for d in &cfg.dests {
            for s in &srcs {
                tuples.push((s.clone(), SockAddr::from(*d)));
            }
        }
        let base_fds = super::platform::open_fds();
        let free_fds = cfg.nofile_soft.saturating_sub(base_fds);
        Ok(Engine {
            cfg,
            slot,
            ctrl,
            poll,
            tuples,
            next_tuple: 0,
            clients: Vec::new(),
            free: Vec::new(),
            accepted: Vec::new(),
            churn_acc: Vec::new(),
            listeners,
            churn_free: Vec::new(),
            timeouts: VecDeque::new(),
            base_fds,
            free_fds,
            opened: 0,
            clients_open: 0,
            connecting: 0,
            connected_live: 0,
            connected_total: 0,
            accepted_live: 0,
            accepted_total: 0,
            churn_open: 0,
            cycles: 0,
            established_pub: 0,
            own_stop: false,
            record: true,
            accept_failed: false,
            last_progress_ns: mono_ns(),
            last_accept_ns: mono_ns(),
            queued: 0,
            queued_read_ns: 0,
            connected_at_read: 0,
            server_best: 0,
            server_progress_ns: mono_ns(),
            fill: false,
        })
    }

    fn stop_with(&mut self, e: i32, call: Call, own_timeout: bool) {
        if !self.record {
            return;
        }
        if self.cfg.target_mode && self.slot.stop_errno.load(Relaxed) == 0 {
            self.read_queue(true);
            self.slot.server_queued.store(self.queued + 1, Relaxed);
        }
        self.slot.record_stop(e, call, own_timeout);
        self.own_stop = true;
        if self.cfg.errors_stop_all {
            self.ctrl.stop.store(1, Relaxed);
        }
    }

    /// Target mode: read the target's accept queue (at most every 0.5 ms unless forced),
    /// note the server's progress, and switch to filling the queue once it stops draining.
    fn read_queue(&mut self, force: bool) {
        let Some(port) = self.cfg.target_port else {
            return;
        };
        let now = mono_ns();
        if !force && now.saturating_sub(self.queued_read_ns) < 500_000 {
            return;
        }
        self.queued = crate::snapshot::sockdiag::listener(port)
            .map(|d| d.queued)
            .unwrap_or(0);
        self.queued_read_ns = now;
        self.connected_at_read = self.connected_total;
        let server = self.connected_live.saturating_sub(self.queued);
        if server > self.server_best || self.queued == 0 {
            self.server_best = self.server_best.max(server);
            self.server_progress_ns = now;
        }
        if !self.fill
            && now.saturating_sub(self.server_progress_ns)
                > self.cfg.connect_timeout.as_nanos() as u64
        {
            self.fill = true;
        }
    }

    fn established(&self) -> u64 {
        if self.cfg.churn {
            self.cycles
        } else if self.cfg.target_mode {
            self.connected_live
        } else {
            self.connected_live.min(self.accepted_live)
        }
    }

    /// Watch each connect() on epoll. Holding loopback connections does not need it: our
    /// own accept() of a connection proves its handshake completed, so the client socket
    /// is never registered (one syscall and one epoll item fewer per connection). A client
    /// not accepted within --connect-timeout then stops the run as ETIMEDOUT.
    fn track_connect(&self) -> bool {
        self.cfg.target_mode || self.cfg.churn
    }

    /// Connections opened here that are not yet accepted (loopback) or not yet connected.
    fn in_flight(&self) -> u64 {
        if self.cfg.target_mode {
            // Our connects in flight plus the target's accept queue (as last read, plus
            // what completed since), so a slow acceptor is never flooded into SYN drops.
            let queued = if self.fill {
                0
            } else {
                self.queued + self.connected_total.saturating_sub(self.connected_at_read)
            };
            self.connecting + queued
        } else if self.cfg.churn {
            self.connecting
                + self.connected_total.saturating_sub(self.accepted_total)
                + self.churn_open
        } else if self.track_connect() {
            self.connecting
        } else {
            // untracked: connects in flight and connections waiting in the accept queue
            // together (a burst of SYNs beyond the per-CPU input backlog is dropped and
            // retried only after 1 s)
            self.pending_accept()
        }
    }

    fn pending_accept(&self) -> u64 {
        if self.cfg.target_mode {
            0
        } else {
            self.connected_total.saturating_sub(self.accepted_total)
        }
    }

    /// Whether the fd budget leaves room for one more connection (and its accepted end).
    fn budget_allows(&self) -> bool {
        if self.cfg.churn {
            return true;
        }
        if self.cfg.target_mode {
            self.clients_open < self.free_fds
        } else {
            self.clients_open + self.clients_open.max(self.accepted_live) + 2 <= self.free_fds
        }
    }

    /// Open one connection on tuple `t`. On error returns (errno, call).
    fn open_one(&mut self, t: usize) -> Result<(), (i32, Call)> {
        let (src, dst) = &self.tuples[t];
        let domain = if dst.is_ipv6() {
            Domain::IPV6
        } else {
            Domain::IPV4
        };
        let sock = super::platform::stream(domain).map_err(|e| (err_no(&e), Call::Socket))?;
        if let Some(src) = src {
            super::platform::bind_source(&sock, src).map_err(|e| (err_no(&e), Call::Bind))?;
        }
        match sock.connect(dst) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err((err_no(&e), Call::Connect)),
        }
        let idx = match self.free.pop() {
            Some(i) => i as usize,
            None => {
                self.clients.push(Client {
                    sock: None,
                    state: State::Free,
                    generation: 0,
                    tuple: 0,
                });
                self.clients.len() - 1
            }
        };
        let mut sock = MioStream::from_std(std::net::TcpStream::from(sock));
        let track = self.track_connect();
        if track
            && let Err(e) = self.poll.registry().register(
                &mut sock,
                Token(idx),
                if self.cfg.target_mode {
                    Interest::WRITABLE | Interest::READABLE
                } else {
                    Interest::WRITABLE
                },
            )
        {
            self.free.push(idx as u32);
            return Err((err_no(&e), Call::Connect));
        }
        let c = &mut self.clients[idx];
        c.generation = c.generation.wrapping_add(1);
        c.sock = Some(sock);
        c.tuple = t as u32;
        self.opened += 1;
        self.clients_open += 1;
        if track {
            c.state = State::Connecting;
            let generation = c.generation;
            self.timeouts.push_back((
                mono_ns() + self.cfg.connect_timeout.as_nanos() as u64,
                idx as u32,
                generation,
            ));
            self.connecting += 1;
        } else {
            // counted as connected now; it is established once accepted (below)
            c.state = State::Connected;
            self.connected_live += 1;
            self.connected_total += 1;
        }
        Ok(())
    }

    /// Open as many connections as the window, the quota and the fd budget allow.
    fn open_some(&mut self) {
        if self.cfg.target_mode {
            self.read_queue(false);
        }
        let mut n = 0;
        while !self.own_stop && self.opened < self.cfg.quota && n < 4096 {
            if self.in_flight() >= self.cfg.window || self.pending_accept() >= self.cfg.pending_cap
            {
                break;
            }
            if !self.budget_allows() {
                if self.connecting == 0 && self.pending_accept() == 0 {
                    self.probe_fd_limit();
                }
                break;
            }
            let t = self.next_tuple;
            self.next_tuple = (self.next_tuple + 1) % self.tuples.len();
            if let Err((e, call)) = self.open_one(t) {
                self.stop_with(e, call, false);
                break;
            }
            n += 1;
        }
    }

    /// Every fd is spoken for: confirm the limit with socket() (expect EMFILE).
    fn probe_fd_limit(&mut self) {
        let mut probes = Vec::new();
        for _ in 0..3 {
            match super::platform::stream(Domain::IPV4) {
                Ok(s) => probes.push(s),
                Err(e) => {
                    drop(probes);
                    self.stop_with(err_no(&e), Call::Socket, false);
                    return;
                }
            }
        }
        // the budget was too careful (an fd closed since the count): allow more
        self.free_fds += probes.len() as u64;
    }

    fn accept_all(&mut self, li: usize) {
        if self.accept_failed && self.record {
            return;
        }
        let fd = self.listeners[li].as_raw_fd();
        loop {
            match super::platform::accept(fd) {
                Ok(s) => {
                    self.accepted_total += 1;
                    self.last_accept_ns = mono_ns();
                    if self.cfg.churn {
                        let idx = match self.churn_free.pop() {
                            Some(i) => i as usize,
                            None => {
                                self.churn_acc.push(None);
                                self.churn_acc.len() - 1
                            }
                        };
                        let mut s = MioStream::from_std(std::net::TcpStream::from(s));
                        let _ = self.poll.registry().register(
                            &mut s,
                            Token(CHURN_ACC_BASE + idx),
                            Interest::READABLE,
                        );
                        self.churn_acc[idx] = Some(s);
                        self.churn_open += 1;
                    } else {
                        self.accepted.push(s);
                        self.accepted_live += 1;
                    }
                }
                Err(e) => {
                    let en = err_no(&e);
                    if en == libc::EAGAIN || en == libc::EINTR {
                        break;
                    }
                    if en == libc::ECONNABORTED {
                        continue;
                    }
                    self.accept_failed = true;
                    self.stop_with(en, Call::Accept, false);
                    break;
                }
            }
        }
    }

    fn close_client(&mut self, idx: usize, rst: bool) {
        let c = &mut self.clients[idx];
        if let Some(s) = c.sock.take() {
            if rst {
                let _ = socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO));
            }
            drop(s);
        }
        match c.state {
            State::Connecting => self.connecting -= 1,
            State::Connected => self.connected_live -= 1,
            State::Free => return,
        }
        c.state = State::Free;
        self.clients_open -= 1;
        self.free.push(idx as u32);
    }

    fn on_client(&mut self, idx: usize, ev: &mio::event::Event) {
        if idx >= self.clients.len() {
            return;
        }
        if self.cfg.target_mode
            && self.clients[idx].state == State::Connected
            && (ev.is_error() || ev.is_read_closed())
        {
            // The server closed or reset a connection it had: it is shedding connections.
            let s = self.clients[idx].sock.as_ref().unwrap();
            let e = match s.take_error() {
                Ok(Some(e)) => err_no(&e),
                _ => errno::ECONNRESET,
            };
            self.close_client(idx, true);
            self.stop_with(e, Call::Connect, false);
            return;
        }
        if self.clients[idx].state != State::Connecting {
            return;
        }
        let failed = if ev.is_error() || ev.is_write_closed() || ev.is_read_closed() {
            let s = self.clients[idx].sock.as_ref().unwrap();
            match s.take_error() {
                Ok(Some(e)) => Some(err_no(&e)),
                Ok(None) if ev.is_error() => Some(libc::EIO),
                Ok(None) => None,
                Err(e) => Some(err_no(&e)),
            }
        } else if ev.is_writable() {
            None
        } else {
            return;
        };
        if let Some(e) = failed {
            self.close_client(idx, true);
            self.stop_with(e, Call::Connect, false);
            return;
        }
        let c = &mut self.clients[idx];
        c.state = State::Connected;
        self.connecting -= 1;
        self.connected_live += 1;
        self.connected_total += 1;
        if self.cfg.churn {
            // the client closes first, gracefully: it keeps the TIME_WAIT (and its port)
            self.close_client(idx, false);
            self.cycles += 1;
        }
    }

    fn on_churn_acc(&mut self, idx: usize) {
        let Some(s) = self.churn_acc.get(idx).and_then(|s| s.as_ref()) else {
            return;
        };
        if !super::platform::peek_closed(s.as_raw_fd()) {
            return;
        }
        // EOF (or an error): the client closed first; close our end.
        self.churn_acc[idx] = None;
        self.churn_free.push(idx as u32);
        self.churn_open -= 1;
    }

    fn check_timeouts(&mut self) {
        let now = mono_ns();
        if !self.track_connect() {
            if self.pending_accept() == 0 {
                self.last_accept_ns = now;
            } else if now.saturating_sub(self.last_accept_ns)
                > self.cfg.connect_timeout.as_nanos() as u64
                && !self.accept_failed
            {
                self.last_accept_ns = now;
                self.stop_with(errno::ETIMEDOUT, Call::Connect, true);
            }
            return;
        }
        while let Some(&(deadline, idx, generation)) = self.timeouts.front() {
            let c = &self.clients[idx as usize];
            if c.generation != generation || c.state != State::Connecting {
                self.timeouts.pop_front();
                continue;
            }
            if deadline > now {
                break;
            }
            self.timeouts.pop_front();
            self.close_client(idx as usize, true);
            self.stop_with(errno::ETIMEDOUT, Call::Connect, true);
        }
    }

    fn poll_once(&mut self, events: &mut Events, timeout: Duration) {
        if let Err(e) = self.poll.poll(events, Some(timeout))
            && e.kind() != std::io::ErrorKind::Interrupted
        {
            self.stop_with(err_no(&e), Call::Accept, false);
        }
        for ev in events.iter() {
            let t = ev.token().0;
            if t >= CHURN_ACC_BASE {
                self.on_churn_acc(t - CHURN_ACC_BASE);
            } else if t >= LISTENER_BASE {
                self.accept_all(t - LISTENER_BASE);
            } else {
                self.on_client(t, ev);
            }
        }
        self.check_timeouts();
    }

    fn publish(&mut self) {
        let s = self.slot;
        s.opened.store(self.opened, Relaxed);
        s.connected.store(self.connected_total, Relaxed);
        s.accepted.store(self.accepted_total, Relaxed);
        s.cycles.store(self.cycles, Relaxed);
        let est = self.established();
        if est != self.established_pub {
            if est > self.established_pub {
                let now = mono_ns();
                s.last_new_ns.store(now, Relaxed);
                self.last_progress_ns = now;
            }
            self.established_pub = est;
            s.established.store(est, Relaxed);
        }
        s.fds.store(
            self.base_fds + self.clients_open + self.accepted_live + self.churn_open,
            Relaxed,
        );
    }

    /// Close 1 % of the connections (at least one), open as many again on the same tuples,
    /// and count how many become established.
    fn survival(&mut self, events: &mut Events) {
        let est = self.established();
        let k = (est / 100).max(1).min(self.connected_live) as usize;
        let mut tuples = Vec::new();
        if self.cfg.target_mode {
            let idxs: Vec<usize> = (0..self.clients.len())
                .rev()
                .filter(|&i| self.clients[i].state == State::Connected)
                .take(k)
                .collect();
            for i in idxs {
                tuples.push(self.clients[i].tuple as usize);
                self.close_client(i, true);
            }
        } else {
            // close matched pairs: the accepted socket whose peer is the client's address
            let look = (4 * k + 256).min(self.accepted.len());
            let start = self.accepted.len() - look;
            let mut peers: HashMap<SocketAddr, usize> = HashMap::new();
            for (j, a) in self.accepted[start..].iter().enumerate() {
                if let Ok(Some(p)) = a.peer_addr().map(|p| p.as_socket()) {
                    peers.insert(p, start + j);
                }
            }
            let mut pairs = Vec::new();
            for i in (0..self.clients.len()).rev() {
                if pairs.len() >= k {
                    break;
                }
                if self.clients[i].state != State::Connected {
                    continue;
                }
                let local = self.clients[i]
                    .sock
                    .as_ref()
                    .and_then(|s| s.local_addr().ok());
                if let Some(l) = local
                    && let Some(j) = peers.remove(&l)
                {
                    pairs.push((i, j));
                }
            }
            let mut acc_idx: Vec<usize> = pairs.iter().map(|p| p.1).collect();
            for &(i, _) in &pairs {
                tuples.push(self.clients[i].tuple as usize);
                self.close_client(i, true);
            }
            acc_idx.sort_unstable_by(|a, b| b.cmp(a));
            for j in acc_idx {
                close_rst(self.accepted.swap_remove(j));
                self.accepted_live -= 1;
                self.accepted_total -= 1;
                self.connected_total -= 1;
            }
        }
        let closed = tuples.len() as u64;
        self.slot.surv_closed.store(closed, Relaxed);
        let before = self.established();
        self.record = false;
        self.accept_failed = false;
        for t in tuples {
            let _ = self.open_one(t);
        }
        // a listener may hold connections queued while accepting had stopped
        for li in 0..self.listeners.len() {
            self.accept_all(li);
        }
        let until = mono_ns() + self.cfg.connect_timeout.as_nanos() as u64 + 500_000_000;
        while mono_ns() < until {
            self.poll_once(events, Duration::from_millis(2));
            if self.connecting == 0 && self.pending_accept() == 0 {
                break;
            }
        }
        let reopened = self.established().saturating_sub(before);
        self.publish();
        self.slot.surv_reopened.store(reopened, Relaxed);
        self.slot.surv_done.store(1, Relaxed);
    }

    fn close_all(&mut self) {
        let rst = !self.cfg.graceful;
        for i in 0..self.clients.len() {
            if self.clients[i].sock.is_some() {
                self.close_client(i, rst);
            }
        }
        for s in self.accepted.drain(..) {
            if rst {
                close_rst(s);
            }
        }
        self.accepted_live = 0;
        for s in self.churn_acc.drain(..).flatten() {
            drop(s);
        }
        self.listeners.clear();
    }

    fn run(&mut self) {
        let mut events = Events::with_capacity(1024);
        self.publish();
        self.slot.ready.store(1, Relaxed);
        while self.ctrl.go.load(Relaxed) == 0 {
            if self.ctrl.release.load(Relaxed) != 0 {
                return;
            }
            std::thread::sleep(Duration::from_micros(100));
        }
        self.last_progress_ns = mono_ns();
        self.last_accept_ns = self.last_progress_ns;
        self.server_progress_ns = self.last_progress_ns;
        let mut opening = true;
        let mut done = false;
        loop {
            if opening
                && (self.own_stop
                    || self.ctrl.stop.load(Relaxed) != 0
                    || self.opened >= self.cfg.quota)
            {
                opening = false;
                if self.opened >= self.cfg.quota && !self.own_stop {
                    self.slot.quota_reached.store(1, Relaxed);
                }
            }
            if opening {
                self.open_some();
            }
            let timeout = if opening { 1 } else { 5 };
            self.poll_once(&mut events, Duration::from_millis(timeout));
            self.publish();
            if !opening && !done {
                let settled = self.connecting == 0
                    && (self.pending_accept() == 0 || self.accept_failed)
                    && self.churn_open == 0;
                let stalled = mono_ns().saturating_sub(self.last_progress_ns)
                    > self.cfg.connect_timeout.as_nanos() as u64 + 1_000_000_000;
                if settled || stalled {
                    done = true;
                    self.slot.done.store(1, Relaxed);
                }
            }
            if done {
                if self.ctrl.survival.load(Relaxed) != 0 && self.slot.surv_done.load(Relaxed) == 0 {
                    self.survival(&mut events);
                }
                if self.ctrl.release.load(Relaxed) != 0 {
                    break;
                }
            }
        }
        self.close_all();
    }
}

/// Run one worker to the end. Returns the process exit status.
pub fn run(cfg: EngineConfig, slot: &Slot, ctrl: &Ctrl) -> i32 {
    match Engine::new(cfg, slot, ctrl) {
        Ok(mut e) => {
            e.run();
            0
        }
        Err(err) => {
            slot.record_stop(err_no(&err), Call::Socket, false);
            slot.ready.store(1, Relaxed);
            slot.done.store(1, Relaxed);
            slot.surv_done.store(1, Relaxed);
            3
        }
    }
}
