//! What to poll when: per device and probe its own cadence, spread so that thousands of
//! devices never fire at once, with backoff while a device is down.
//!
//! Pure decisions: every method takes `now`; nothing here reads a clock or touches a socket, so
//! a day of polling can be simulated in milliseconds. The agent drives it and the adapters do
//! the polling.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::inventory::DeviceId;
use crate::poll::ProbeKind;

/// One recurring job: a probe of a device (over every family the device has).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskKey {
    /// Device id.
    pub device: DeviceId,
    /// Which probe.
    pub probe: ProbeKind,
}

impl TaskKey {
    /// A key for `device` and `probe`.
    pub fn new(device: impl Into<DeviceId>, probe: ProbeKind) -> TaskKey {
        TaskKey { device: device.into(), probe }
    }
}

/// Longest a backed-off interval grows to.
pub const MAX_BACKOFF_INTERVAL: Duration = Duration::from_secs(300);

#[derive(Debug)]
struct TaskState {
    interval: Duration,
    /// When the task is (or was, while in flight) due.
    due: Instant,
    failures: u32,
    in_flight: bool,
    /// Bumped whenever `due` changes, so stale heap entries are recognised.
    generation: u64,
}

/// The schedule of every task.
#[derive(Debug, Default)]
pub struct Scheduler {
    tasks: HashMap<TaskKey, TaskState>,
    heap: BinaryHeap<Reverse<(Instant, u64, TaskKey)>>,
}

impl Scheduler {
    /// An empty schedule.
    pub fn new() -> Scheduler {
        Scheduler::default()
    }

    /// Make the schedule hold exactly `wanted` (task, interval) pairs: new tasks start at a
    /// stable offset within their interval (a hash of the key, so restarts keep the spread),
    /// tasks whose interval changed are rescheduled from now, vanished tasks are dropped.
    pub fn sync(&mut self, wanted: &[(TaskKey, Duration)], now: Instant) {
        let keep: HashMap<&TaskKey, Duration> = wanted.iter().map(|(k, i)| (k, *i)).collect();
        self.tasks.retain(|k, _| keep.contains_key(k));
        for (key, interval) in wanted {
            let interval = (*interval).max(Duration::from_millis(1));
            match self.tasks.get_mut(key) {
                Some(state) if state.interval == interval => {}
                Some(state) => {
                    state.interval = interval;
                    if !state.in_flight {
                        let due = now + spread(key, interval);
                        self.set_due(key.clone(), due);
                    }
                }
                None => {
                    self.tasks.insert(
                        key.clone(),
                        TaskState {
                            interval,
                            due: now,
                            failures: 0,
                            in_flight: false,
                            generation: 0,
                        },
                    );
                    self.set_due(key.clone(), now + spread(key, interval));
                }
            }
        }
    }

    fn set_due(&mut self, key: TaskKey, due: Instant) {
        let Some(state) = self.tasks.get_mut(&key) else { return };
        state.due = due;
        state.generation += 1;
        self.heap.push(Reverse((due, state.generation, key)));
    }

    /// When the next task is due, if any is waiting.
    pub fn next_due(&mut self) -> Option<Instant> {
        while let Some(Reverse((due, generation, key))) = self.heap.peek() {
            match self.tasks.get(key) {
                Some(s) if s.generation == *generation && !s.in_flight => return Some(*due),
                _ => {
                    self.heap.pop();
                }
            }
        }
        None
    }

    /// Every task due at `now`, earliest first; they are in flight until [`Scheduler::finish`].
    pub fn take_due(&mut self, now: Instant) -> Vec<TaskKey> {
        let mut due = Vec::new();
        while let Some(Reverse((at, generation, key))) = self.heap.peek() {
            if *at > now {
                break;
            }
            let (generation, key) = (*generation, key.clone());
            self.heap.pop();
            if let Some(state) = self.tasks.get_mut(&key)
                && state.generation == generation
                && !state.in_flight
            {
                state.in_flight = true;
                due.push(key);
            }
        }
        due
    }

    /// A task finished at `now`. The next run keeps the cadence (due + interval, not now +
    /// interval, so durations do not drift the schedule); after consecutive failures the
    /// interval doubles, then quadruples, capped at [`MAX_BACKOFF_INTERVAL`] (never below the
    /// task's own interval). A task that fell behind runs again at once.
    pub fn finish(&mut self, key: &TaskKey, now: Instant, success: bool) {
        let Some(state) = self.tasks.get_mut(key) else { return };
        state.in_flight = false;
        state.failures = if success { 0 } else { state.failures.saturating_add(1) };
        let interval = backoff(state.interval, state.failures);
        let next = (state.due + interval).max(now);
        self.set_due(key.clone(), next);
    }

    /// When a task is due, or was due while it is in flight.
    pub fn due(&self, key: &TaskKey) -> Option<Instant> {
        self.tasks.get(key).map(|s| s.due)
    }

    /// Consecutive failures of a task.
    pub fn failures(&self, key: &TaskKey) -> u32 {
        self.tasks.get(key).map_or(0, |s| s.failures)
    }

    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// True without tasks.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

/// One pass of a probe over its devices, for `vigia_poll_duration_seconds`: complete once each
/// device has finished a poll since the pass began; its figure is the longest any of those
/// polls took from the moment it was due to its result. Polls are spread over the interval, so
/// a pass always spans about one interval; this figure instead is about one poll's own length
/// while the agent keeps up, and grows toward the interval (and past it) when polls start late.
#[derive(Debug, Clone)]
pub struct Pass {
    pending: HashSet<DeviceId>,
    slowest: Duration,
}

impl Pass {
    /// A pass over these devices.
    pub fn new(devices: impl IntoIterator<Item = DeviceId>) -> Pass {
        Pass { pending: devices.into_iter().collect(), slowest: Duration::ZERO }
    }

    /// True once every device has finished (a new pass should begin).
    pub fn is_complete(&self) -> bool {
        self.pending.is_empty()
    }

    /// A poll of `device` finished `took` after it was due. Returns the pass's figure when this
    /// poll completes it.
    pub fn finished(&mut self, device: &str, took: Duration) -> Option<Duration> {
        if !self.pending.remove(device) {
            return None;
        }
        self.slowest = self.slowest.max(took);
        self.pending.is_empty().then_some(self.slowest)
    }
}

/// The interval after `failures` consecutive failures: ×1, ×1, ×2, ×4 ...
pub fn backoff(interval: Duration, failures: u32) -> Duration {
    let factor = match failures {
        0 | 1 => 1,
        2 => 2,
        _ => 4,
    };
    (interval * factor).min(MAX_BACKOFF_INTERVAL.max(interval))
}

/// A stable offset in `[0, interval)` for a task: FNV-1a of its key.
fn spread(key: &TaskKey, interval: Duration) -> Duration {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.device.bytes().chain(key.probe.as_str().bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX).max(1);
    Duration::from_millis(hash % ms)
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // the tests pick an arbitrary origin for `now`
mod tests {
    use super::*;

    fn keys(n: usize, probe: ProbeKind) -> Vec<(TaskKey, Duration)> {
        (0..n).map(|i| (TaskKey::new(format!("sw-{i}"), probe), Duration::from_secs(30))).collect()
    }

    #[test]
    fn new_tasks_spread_over_their_interval() {
        let t0 = Instant::now();
        let mut s = Scheduler::new();
        s.sync(&keys(10_000, ProbeKind::Icmp), t0);
        // Count how many are due in each second of the first interval.
        let mut per_second = [0usize; 30];
        for sec in 0..30u64 {
            per_second[sec as usize] =
                s.take_due(t0 + Duration::from_secs(sec + 1) - Duration::from_nanos(1)).len();
        }
        assert_eq!(per_second.iter().sum::<usize>(), 10_000);
        // Uniform would be 333 a second; no second holds more than twice that.
        assert!(per_second.iter().all(|n| *n < 667), "{per_second:?}");
    }

    #[test]
    fn cadence_does_not_drift_with_poll_duration() {
        let t0 = Instant::now();
        let mut s = Scheduler::new();
        let key = TaskKey::new("sw-a", ProbeKind::Icmp);
        s.sync(&[(key.clone(), Duration::from_secs(30))], t0);
        let first = s.next_due().unwrap();
        assert_eq!(s.take_due(first), vec![key.clone()]);
        // The poll takes 2 s; the next one is still due one interval after the first was.
        s.finish(&key, first + Duration::from_secs(2), true);
        assert_eq!(s.next_due(), Some(first + Duration::from_secs(30)));
    }

    #[test]
    fn in_flight_tasks_are_not_handed_out_twice() {
        let t0 = Instant::now();
        let mut s = Scheduler::new();
        let key = TaskKey::new("sw-a", ProbeKind::Snmp);
        s.sync(&[(key.clone(), Duration::from_secs(60))], t0);
        let later = t0 + Duration::from_secs(600);
        assert_eq!(s.take_due(later).len(), 1);
        assert!(s.take_due(later).is_empty());
        assert_eq!(s.next_due(), None);
    }

    #[test]
    fn backoff_doubles_then_quadruples_and_resets_on_success() {
        let i = Duration::from_secs(30);
        assert_eq!(backoff(i, 0), i);
        assert_eq!(backoff(i, 1), i);
        assert_eq!(backoff(i, 2), i * 2);
        assert_eq!(backoff(i, 9), i * 4);
        // Capped at five minutes, but never below the task's own interval.
        assert_eq!(backoff(Duration::from_secs(120), 5), MAX_BACKOFF_INTERVAL);
        assert_eq!(backoff(Duration::from_secs(600), 5), Duration::from_secs(600));

        let t0 = Instant::now();
        let mut s = Scheduler::new();
        let key = TaskKey::new("sw-down", ProbeKind::Icmp);
        s.sync(&[(key.clone(), i)], t0);
        let mut now = s.next_due().unwrap();
        let mut gaps = Vec::new();
        for ok in [false, false, false, true, true] {
            assert_eq!(s.take_due(now), vec![key.clone()]);
            s.finish(&key, now, ok);
            let next = s.next_due().unwrap();
            gaps.push((next - now).as_secs());
            now = next;
        }
        assert_eq!(gaps, vec![30, 60, 120, 30, 30]);
    }

    #[test]
    fn sync_adds_removes_and_reschedules() {
        let t0 = Instant::now();
        let mut s = Scheduler::new();
        s.sync(&keys(3, ProbeKind::Icmp), t0);
        assert_eq!(s.len(), 3);
        // sw-1 leaves; sw-0's interval changes; sw-9 arrives.
        let wanted = vec![
            (TaskKey::new("sw-0", ProbeKind::Icmp), Duration::from_secs(10)),
            (TaskKey::new("sw-2", ProbeKind::Icmp), Duration::from_secs(30)),
            (TaskKey::new("sw-9", ProbeKind::Icmp), Duration::from_secs(30)),
        ];
        s.sync(&wanted, t0);
        assert_eq!(s.len(), 3);
        let due = s.take_due(t0 + Duration::from_secs(31));
        let mut names: Vec<&str> = due.iter().map(|k| &*k.device).collect();
        names.sort();
        assert_eq!(names, ["sw-0", "sw-2", "sw-9"]);
    }

    #[test]
    fn a_pass_reports_its_slowest_poll_from_due_to_done_once_every_device_finished() {
        let ids: Vec<DeviceId> = ["a", "b", "c"].into_iter().map(DeviceId::from).collect();
        let mut pass = Pass::new(ids);
        let ms = Duration::from_millis;
        assert!(!pass.is_complete());
        assert_eq!(pass.finished("a", ms(900)), None);
        // A second poll of a device already counted, and a device not in the pass, change
        // nothing.
        assert_eq!(pass.finished("a", ms(20_000)), None);
        assert_eq!(pass.finished("z", ms(20_000)), None);
        assert_eq!(pass.finished("c", ms(1_400)), None);
        assert_eq!(pass.finished("b", ms(1_100)), Some(ms(1_400)));
        assert!(pass.is_complete());
        assert_eq!(pass.finished("b", ms(1)), None);
        assert_eq!(Pass::new(Vec::new()).finished("a", ms(1)), None);
    }

    #[test]
    fn the_due_time_is_kept_while_a_task_is_in_flight() {
        let t0 = Instant::now();
        let mut s = Scheduler::new();
        let key = TaskKey::new("sw-a", ProbeKind::Icmp);
        s.sync(&[(key.clone(), Duration::from_secs(30))], t0);
        let due = s.next_due().unwrap();
        assert_eq!(s.due(&key), Some(due));
        assert_eq!(s.take_due(due + Duration::from_secs(5)), vec![key.clone()]);
        assert_eq!(s.due(&key), Some(due), "in flight: still the time it was due");
        s.finish(&key, due + Duration::from_secs(6), true);
        assert_eq!(s.due(&key), Some(due + Duration::from_secs(30)));
        assert_eq!(s.due(&TaskKey::new("nope", ProbeKind::Icmp)), None);
    }

    #[test]
    fn a_finished_task_that_left_the_schedule_is_ignored() {
        let t0 = Instant::now();
        let mut s = Scheduler::new();
        let key = TaskKey::new("sw-a", ProbeKind::Icmp);
        s.sync(&[(key.clone(), Duration::from_secs(30))], t0);
        assert_eq!(s.take_due(t0 + Duration::from_secs(31)).len(), 1);
        s.sync(&[], t0);
        s.finish(&key, t0 + Duration::from_secs(32), true);
        assert!(s.is_empty());
        assert_eq!(s.next_due(), None);
    }

    /// A day of polling of 45 devices (ICMP every 30 s, SNMP every 60 s, polls taking 2 s),
    /// one of them down from 06:00 to 07:00, decided in a plain loop over virtual time.
    #[test]
    fn a_simulated_day_of_tacna_sized_polling() {
        let t0 = Instant::now();
        let day = Duration::from_secs(86_400);
        let mut s = Scheduler::new();
        let mut wanted = Vec::new();
        for i in 0..45 {
            wanted.push((
                TaskKey::new(format!("dev-{i:02}"), ProbeKind::Icmp),
                Duration::from_secs(30),
            ));
            wanted.push((
                TaskKey::new(format!("dev-{i:02}"), ProbeKind::Snmp),
                Duration::from_secs(60),
            ));
        }
        s.sync(&wanted, t0);
        let down = |key: &TaskKey, at: Duration| {
            &*key.device == "dev-07" && (6 * 3600..7 * 3600).contains(&at.as_secs())
        };
        let mut polls: HashMap<TaskKey, u32> = HashMap::new();
        let mut outage_polls = 0;
        let mut in_flight: Vec<(Instant, TaskKey)> = Vec::new();
        let mut max_started_per_second = 0;
        let mut now = t0;
        while now < t0 + day {
            // Finish what is done, then start what is due.
            in_flight.sort_by_key(|(end, _)| *end);
            while in_flight.first().is_some_and(|(end, _)| *end <= now) {
                let (end, key) = in_flight.remove(0);
                let ok = !down(&key, end - t0);
                s.finish(&key, end, ok);
            }
            let due = s.take_due(now);
            max_started_per_second = max_started_per_second.max(due.len());
            for key in due {
                if down(&key, now - t0) && key.probe == ProbeKind::Icmp {
                    outage_polls += 1;
                }
                *polls.entry(key.clone()).or_default() += 1;
                in_flight.push((now + Duration::from_secs(2), key));
            }
            now += Duration::from_secs(1);
        }
        for (key, n) in &polls {
            let expected = match key.probe {
                ProbeKind::Icmp => 2880,
                ProbeKind::Snmp => 1440,
            };
            if &*key.device == "dev-07" {
                // Backed off during the hour down: fewer polls, never more.
                assert!(*n < expected && *n > expected - 120, "{key:?}: {n}");
            } else {
                assert!((expected - 1..=expected).contains(n), "{key:?}: {n}");
            }
        }
        // 120 polls an hour at 30 s; backoff (30, 60, 120, 120 ...) leaves about a quarter.
        assert!((25..=40).contains(&outage_polls), "{outage_polls}");
        // Spread: 45 ICMP + 45 SNMP tasks never start more than a handful in one second.
        assert!(max_started_per_second <= 8, "{max_started_per_second}");
    }
}
