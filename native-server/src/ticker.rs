//! One coarse timer shared by many connections: the server's.
//!
//! A tokio `Sleep` per connection costs an allocation of its own in every idle
//! connection, and arming it often wakes the runtime's driver (a write to its
//! eventfd) because the new deadline is earlier than the one it sleeps for.
//! Here each connection holds an [`Alarm`]: a slot in one [`Ticker`] (its
//! waker and its deadline, rounded up to a coarse tick), and one task
//! ([`run`]) sleeps until the earliest deadline and wakes the connections
//! whose deadline passed. The connections keep owning their time: a woken
//! connection reads the clock and asks its core what is due, as before.
//!
//! The same table wakes every connection at the server's shutdown ([`Stop`]):
//! a connection waits for it with 24 bytes, where a `watch::Receiver` and its
//! `changed()` future took 144 in every idle connection.
//!
//! Deadlines are rounded up to a tick of about a sixteenth of their distance
//! (1 ms to 1,024 ms): a 60 s idle timeout fires up to a second late, a 100 ms
//! close timeout up to 8 ms late, and connections whose deadlines fall
//! in the same tick share one wake-up of the task.

use std::collections::BTreeSet;
use std::future::poll_fn;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::time::Instant;

use crate::clock;

/// The coarsest tick, in milliseconds.
const MAX_TICK_MS: u64 = 1024;

/// A deadline is rounded up to a tick of at most this fraction of its distance.
const TICK_FRACTION: u64 = 16;

/// How long the task keeps its last deadline once nothing is armed, so that
/// connections that come and go (the next one arms again at once) do not make
/// it re-arm its own sleep each time (which wakes the runtime's driver).
const LINGER_MS: u64 = MAX_TICK_MS;

/// The timer many connections share; [`run`] drives it.
#[derive(Debug, Default)]
pub(crate) struct Ticker {
    wheel: Mutex<Wheel>,
    /// Every deadline up to this tick (milliseconds since [`clock::epoch`]) has fired.
    fired_through: AtomicU64,
    /// The server is shutting down (set under the wheel's lock).
    stopping: AtomicBool,
}

/// The deadlines, in order, and who waits for each.
#[derive(Debug, Default)]
pub(crate) struct Wheel {
    pub(crate) slots: Vec<Slot>,
    free: Vec<u32>,
    /// (tick, slot) of every armed slot.
    due: BTreeSet<(u64, u32)>,
    /// The tick the task sleeps until; `None` while it sleeps with no deadline.
    sleeping_until: Option<u64>,
    /// The task's waker, to wake it for an earlier deadline.
    task: Option<Waker>,
    /// The tasks waiting for the shutdown ([`Stop`]), and the free places.
    stops: Vec<Option<Waker>>,
    free_stops: Vec<u32>,
}

/// One connection's place in the wheel.
#[derive(Debug, Default)]
pub(crate) struct Slot {
    waker: Option<Waker>,
    /// The tick it is armed for; 0 when not armed.
    tick: u64,
}

impl Ticker {
    /// A ticker with no deadline; spawn [`run`] on it before arming any [`Alarm`].
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub(crate) fn wheel(&self) -> MutexGuard<'_, Wheel> {
        self.wheel.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Arms `slot` (taking one first if it has none) for `tick`, waking `waker` then.
    fn arm(&self, slot: &mut u32, tick: u64, waker: &Waker) {
        let wake_task = {
            let mut wheel = self.wheel();
            if *slot == NO_SLOT {
                *slot = wheel.take_slot();
            }
            let id = *slot;
            let entry = &mut wheel.slots[id as usize];
            let old = std::mem::replace(&mut entry.tick, tick);
            match &mut entry.waker {
                Some(w) if w.will_wake(waker) => {}
                w => *w = Some(waker.clone()),
            }
            if old != 0 {
                wheel.due.remove(&(old, id));
            }
            wheel.due.insert((tick, id));
            match wheel.sleeping_until {
                Some(until) if until <= tick => None,
                _ => {
                    wheel.sleeping_until = Some(tick);
                    wheel.task.take()
                }
            }
        };
        if let Some(task) = wake_task {
            task.wake();
        }
    }

    /// Gives a slot back.
    fn release(&self, id: u32) {
        let mut wheel = self.wheel();
        let entry = &mut wheel.slots[id as usize];
        let tick = std::mem::take(&mut entry.tick);
        entry.waker = None;
        if tick != 0 {
            wheel.due.remove(&(tick, id));
        }
        wheel.free.push(id);
    }

    /// Fires every deadline up to `now` (a tick) and says when the next one
    /// is; the task's `waker` is kept for earlier deadlines armed meanwhile.
    fn fire(&self, now: u64, waker: &Waker) -> (Vec<Waker>, Option<u64>) {
        let mut wheel = self.wheel();
        let mut woken = Vec::new();
        while let Some(&(tick, id)) = wheel.due.first() {
            if tick > now {
                break;
            }
            wheel.due.pop_first();
            let entry = &mut wheel.slots[id as usize];
            entry.tick = 0;
            woken.extend(entry.waker.take());
        }
        self.fired_through.store(now, Ordering::Release);
        let next = match wheel.due.first() {
            Some(&(tick, _)) => Some(tick),
            // Nothing armed: keep the deadline slept for, or linger once
            // after a firing, then sleep with no deadline.
            None => match wheel.sleeping_until {
                Some(until) if until > now => Some(until),
                _ if !woken.is_empty() => Some(now + LINGER_MS),
                _ => None,
            },
        };
        wheel.sleeping_until = next;
        match &mut wheel.task {
            Some(w) if w.will_wake(waker) => {}
            w => *w = Some(waker.clone()),
        }
        (woken, next)
    }
}

impl Ticker {
    /// Wakes every [`Stop`]: the server is shutting down.
    pub(crate) fn shut_down(&self) {
        let woken: Vec<Waker> = {
            let mut wheel = self.wheel();
            self.stopping.store(true, Ordering::Release);
            wheel.stops.iter_mut().filter_map(Option::take).collect()
        };
        for w in woken {
            w.wake();
        }
    }

    /// Whether the server is shutting down.
    pub(crate) fn is_shut_down(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// Registers `waker` for the shutdown in `slot` (taking one first if it
    /// has none); false when the shutdown already came.
    fn watch_stop(&self, slot: &mut u32, waker: &Waker) -> bool {
        let mut wheel = self.wheel();
        if self.is_shut_down() {
            return false;
        }
        if *slot == NO_SLOT {
            *slot = match wheel.free_stops.pop() {
                Some(free) => free,
                None => {
                    wheel.stops.push(None);
                    u32::try_from(wheel.stops.len() - 1).unwrap_or(NO_SLOT - 1)
                }
            };
        }
        match &mut wheel.stops[*slot as usize] {
            Some(w) if w.will_wake(waker) => {}
            w => *w = Some(waker.clone()),
        }
        true
    }

    /// How many tasks wait for the shutdown.
    #[cfg(test)]
    pub(crate) fn stops_watched(&self) -> usize {
        self.wheel().stops.iter().filter(|w| w.is_some()).count()
    }

    /// Gives a shutdown slot back.
    fn release_stop(&self, slot: u32) {
        let mut wheel = self.wheel();
        wheel.stops[slot as usize] = None;
        wheel.free_stops.push(slot);
    }
}

/// Resolves once the server shuts down ([`Ticker::shut_down`]).
#[derive(Debug)]
pub(crate) struct Stop {
    ticker: Arc<Ticker>,
    /// Its place in the ticker's table; [`NO_SLOT`] until first polled.
    slot: u32,
    /// Which task it wakes (the waker's data pointer).
    task: usize,
}

impl Stop {
    /// Waits for `ticker`'s shutdown.
    pub(crate) fn new(ticker: Arc<Ticker>) -> Self {
        Self {
            ticker,
            slot: NO_SLOT,
            task: 0,
        }
    }

    /// Whether the shutdown has come.
    pub(crate) fn has_come(&self) -> bool {
        self.ticker.is_shut_down()
    }

    /// Hands its slot to `alarm` (of the same ticker), which holds it while
    /// the connection is parked ([`Alarm::poll_stop`], [`Alarm::take_stop`]):
    /// a parked connection keeps one handle on the ticker instead of two.
    pub(crate) fn park_into(mut self, alarm: &mut Alarm) {
        debug_assert!(Arc::ptr_eq(&self.ticker, &alarm.ticker));
        if alarm.stop != NO_SLOT {
            self.ticker.release_stop(alarm.stop);
        }
        alarm.stop = std::mem::replace(&mut self.slot, NO_SLOT);
    }
}

impl Future for Stop {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.ticker.is_shut_down() {
            return Poll::Ready(());
        }
        let task = cx.waker().data() as usize;
        if self.slot != NO_SLOT && self.task == task {
            return Poll::Pending;
        }
        let this = &mut *self;
        if !this.ticker.watch_stop(&mut this.slot, cx.waker()) {
            return Poll::Ready(());
        }
        this.task = task;
        Poll::Pending
    }
}

impl Drop for Stop {
    fn drop(&mut self) {
        if self.slot != NO_SLOT {
            self.ticker.release_stop(self.slot);
        }
    }
}

impl Drop for Ticker {
    /// Wakes the task so that it sees the ticker gone and ends.
    fn drop(&mut self) {
        let wheel = self.wheel.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(task) = wheel.task.take() {
            task.wake();
        }
    }
}

impl Wheel {
    fn take_slot(&mut self) -> u32 {
        self.free.pop().unwrap_or_else(|| {
            self.slots.push(Slot::default());
            // More than 4 billion connections at once cannot be held anyway.
            u32::try_from(self.slots.len() - 1).unwrap_or(NO_SLOT - 1)
        })
    }
}

/// Drives `ticker` until it is dropped (the server and its last connection
/// gone): sleeps until its earliest deadline, wakes whose deadline passed.
pub(crate) async fn run(ticker: Weak<Ticker>) {
    let mut sleep = Box::pin(tokio::time::sleep(Duration::ZERO));
    let mut sleeping_until = None;
    poll_fn(|cx| loop {
        let Some(t) = ticker.upgrade() else {
            return Poll::Ready(());
        };
        let (woken, next) = t.fire(now_tick(), cx.waker());
        drop(t);
        for w in woken {
            w.wake();
        }
        let Some(next) = next else {
            sleeping_until = None;
            return Poll::Pending;
        };
        if sleeping_until != Some(next) {
            sleeping_until = Some(next);
            sleep.as_mut().reset(instant_of(next));
        }
        if sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        // Fired: the next deadline needs a new reset even if it is the same.
        sleeping_until = None;
    })
    .await;
}

/// A connection's deadline in a [`Ticker`]: 32 bytes in the connection (a parked
/// one's alarm holds its shutdown slot too, in what was padding).
#[derive(Debug)]
pub(crate) struct Alarm {
    ticker: Arc<Ticker>,
    /// Taken at the first deadline; [`NO_SLOT`] until then.
    slot: u32,
    /// The tick of the deadline it is armed for (0: not armed). The wheel
    /// holds it rounded up; once the ticker fired through this tick the
    /// deadline has passed.
    target: u64,
    /// Which task it wakes (the waker's data pointer): another task polling
    /// re-arms with its own waker.
    task: usize,
    /// The shutdown's slot of a parked connection ([`Stop::park_into`]);
    /// [`NO_SLOT`] when it holds none.
    stop: u32,
}

/// An [`Alarm`] that has no slot yet.
const NO_SLOT: u32 = u32::MAX;

impl Alarm {
    /// An alarm in `ticker`, not armed.
    pub(crate) fn new(ticker: Arc<Ticker>) -> Self {
        Self {
            ticker,
            slot: NO_SLOT,
            target: 0,
            task: 0,
            stop: NO_SLOT,
        }
    }

    /// Ready once the server shuts down; else the shutdown wakes this task
    /// (registered in the slot [`Stop::park_into`] gave it, or a new one).
    pub(crate) fn poll_stop(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.ticker.is_shut_down() || !self.ticker.watch_stop(&mut self.stop, cx.waker()) {
            return Poll::Ready(());
        }
        Poll::Pending
    }

    /// The shutdown's slot it holds as a [`Stop`] again (registering its
    /// waker again at its first poll).
    pub(crate) fn take_stop(&mut self) -> Stop {
        Stop {
            ticker: self.ticker.clone(),
            slot: std::mem::replace(&mut self.stop, NO_SLOT),
            task: 0,
        }
    }

    /// Ready once `at` has passed; else arms the alarm to wake this task then
    /// (or earlier: a deadline moved later keeps the earlier wake-up, and the
    /// woken task polls again and re-arms). Reads the clock only when the
    /// deadline is new or may have passed.
    pub(crate) fn poll_at(&mut self, at: Instant, cx: &mut Context<'_>) -> Poll<()> {
        let tick = tick_of(at);
        let task = cx.waker().data() as usize;
        if self.target != 0
            && self.target <= tick
            && self.target > self.ticker.fired_through.load(Ordering::Acquire)
            && self.task == task
        {
            return Poll::Pending;
        }
        let now = Instant::now();
        if at <= now {
            self.target = 0;
            return Poll::Ready(());
        }
        let rounded = rounded(tick, tick_of(now));
        self.ticker.arm(&mut self.slot, rounded, cx.waker());
        self.target = tick;
        self.task = task;
        Poll::Pending
    }
}

impl Drop for Alarm {
    fn drop(&mut self) {
        if self.slot != NO_SLOT {
            self.ticker.release(self.slot);
        }
        if self.stop != NO_SLOT {
            self.ticker.release_stop(self.stop);
        }
    }
}

/// Milliseconds since [`clock::epoch`], rounded up.
fn tick_of(at: Instant) -> u64 {
    let since = at.into_std().saturating_duration_since(clock::epoch());
    let ms = u64::try_from(since.as_millis()).unwrap_or(u64::MAX - MAX_TICK_MS);
    ms + u64::from(since.subsec_nanos() % 1_000_000 != 0)
}

/// Now, as a tick (rounded down: what has fully passed).
fn now_tick() -> u64 {
    u64::try_from(clock::now().as_millis()).unwrap_or(u64::MAX)
}

/// `tick` rounded up to a multiple of a coarse step: about a sixteenth of
/// its distance from `now`, a power of two from 1 to [`MAX_TICK_MS`] ms.
fn rounded(tick: u64, now: u64) -> u64 {
    let step = (tick.saturating_sub(now) / TICK_FRACTION)
        .clamp(1, MAX_TICK_MS)
        .next_power_of_two()
        .min(MAX_TICK_MS);
    tick.div_ceil(step).saturating_mul(step).max(1)
}

/// The instant of a tick.
fn instant_of(tick: u64) -> Instant {
    Instant::from_std(clock::epoch() + Duration::from_millis(tick))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_round_up_to_a_sixteenth_of_their_distance_at_most_a_second() {
        // 60 s away: the next multiple of 1,024 ms.
        assert_eq!(rounded(60_000 + 5, 5), 60_416);
        // 100 ms away: a step of 8 ms.
        assert_eq!(rounded(1_100, 1_000), 1_104);
        // Due now or within 16 ms: to the millisecond.
        assert_eq!(rounded(1_003, 1_000), 1_003);
        assert!(rounded(10, 10) >= 10);
    }

    #[tokio::test]
    async fn an_alarm_wakes_its_task_after_its_deadline_and_not_before() {
        let ticker = Ticker::new();
        tokio::spawn(run(Arc::downgrade(&ticker)));
        let mut alarm = Alarm::new(ticker.clone());
        let start = Instant::now();
        let at = start + Duration::from_millis(80);
        poll_fn(|cx| alarm.poll_at(at, cx)).await;
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(80), "fired after {took:?}");
        assert!(took < Duration::from_secs(2), "fired after {took:?}");
    }

    #[tokio::test]
    async fn an_earlier_deadline_armed_later_fires_first() {
        let ticker = Ticker::new();
        tokio::spawn(run(Arc::downgrade(&ticker)));
        let mut late = Alarm::new(ticker.clone());
        let late_at = Instant::now() + Duration::from_secs(30);
        // Armed first: the task sleeps for 30 s.
        assert!(poll_fn(|cx| Poll::Ready(late.poll_at(late_at, cx)))
            .await
            .is_pending());
        let mut soon = Alarm::new(ticker.clone());
        let start = Instant::now();
        let soon_at = start + Duration::from_millis(50);
        tokio::time::timeout(
            Duration::from_secs(5),
            poll_fn(|cx| soon.poll_at(soon_at, cx)),
        )
        .await
        .expect("the earlier deadline did not wake the task");
        assert!(start.elapsed() >= Duration::from_millis(50));
    }

    #[tokio::test]
    async fn dropped_alarms_give_their_slots_back_and_the_task_ends_with_the_ticker() {
        let ticker = Ticker::new();
        let task = tokio::spawn(run(Arc::downgrade(&ticker)));
        for _ in 0..3 {
            let mut alarm = Alarm::new(ticker.clone());
            let at = Instant::now() + Duration::from_secs(60);
            assert!(poll_fn(|cx| Poll::Ready(alarm.poll_at(at, cx)))
                .await
                .is_pending());
        }
        {
            let wheel = ticker.wheel();
            assert_eq!(wheel.slots.len(), 1, "slots were not reused");
            assert!(wheel.due.is_empty(), "a dropped alarm stayed armed");
        }
        drop(ticker);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the task outlived its ticker")
            .unwrap();
    }

    #[tokio::test]
    async fn the_shutdown_wakes_every_stop_and_a_late_one_is_ready_at_once() {
        let ticker = Ticker::new();
        let waiting: Vec<_> = (0..3)
            .map(|_| tokio::spawn(Stop::new(ticker.clone())))
            .collect();
        tokio::task::yield_now().await;
        assert!(waiting.iter().all(|t| !t.is_finished()));
        ticker.shut_down();
        for t in waiting {
            tokio::time::timeout(Duration::from_secs(5), t)
                .await
                .expect("a stop was not woken")
                .unwrap();
        }
        assert!(ticker.wheel().stops.iter().all(Option::is_none));
        tokio::time::timeout(Duration::from_secs(5), Stop::new(ticker.clone()))
            .await
            .expect("a stop made after the shutdown waited");
    }
}
