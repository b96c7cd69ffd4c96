from evac.hlc import MAX_DRIFT_MS, HybridLogicalClock, counter, pack, wall_ms


class FakeWall:
    """A wall clock the test can set, including backwards (NTP corrections, a dead RTC battery)."""
    def __init__(self, ms):
        self.ms = ms

    def __call__(self):
        return self.ms


def test_ticks_strictly_increase_when_the_wall_clock_goes_backwards():
    wall = FakeWall(1_000_000)
    clock = HybridLogicalClock(now_ms=wall)
    a = clock.tick()
    wall.ms -= 60_000
    b = clock.tick()
    c = clock.tick()
    assert a < b < c
    assert wall_ms(b) == 1_000_000 and counter(c) == 2


def test_tick_follows_the_wall_clock_when_it_moves_on():
    wall = FakeWall(1_000)
    clock = HybridLogicalClock(now_ms=wall)
    clock.tick()
    wall.ms = 5_000
    assert clock.tick() == pack(5_000)


def test_after_receiving_a_later_remote_time_local_events_sort_after_it():
    wall = FakeWall(1_000_000)
    hq = HybridLogicalClock(now_ms=wall)
    kiosk_time = pack(1_000_000 + 60_000, 5)   # a kiosk's clock a minute ahead of HQ's: believed
    hq.receive(kiosk_time)
    assert hq.tick() > kiosk_time
    kiosk = HybridLogicalClock(now_ms=wall)
    hq_time = pack(1_000_000 + 3_600_000, 5)   # HQ's clock, the reference, an hour ahead of this kiosk's
    kiosk.adopt(hq_time)
    assert kiosk.tick() > hq_time


def test_a_remote_clock_far_in_the_future_is_not_believed():
    wall = FakeWall(1_000_000)
    clock = HybridLogicalClock(now_ms=wall)
    before = clock.tick()
    clock.receive(pack(1_000_000 + MAX_DRIFT_MS + 1))
    assert wall_ms(clock.tick()) == wall_ms(before)


def test_restored_clock_continues_after_its_persisted_value():
    wall = FakeWall(1_000)
    first = HybridLogicalClock(now_ms=wall)
    last = [first.tick() for _ in range(3)][-1]
    wall.ms = 10  # the kiosk rebooted with its clock reset
    assert HybridLogicalClock(last, now_ms=wall).tick() > last
