package wechatsim

import (
	"sync"
	"time"
)

// Clock is a simulated clock. It stands still until Advance moves it, and
// runs the simulator's scheduled pushes (the ten-minute ticket) that fall due
// on the way, so a test can skip hours without sleeping. It is safe for
// concurrent use; several simulators (and the platform under test) may share
// one Clock.
type Clock struct {
	// advancing serialises Advance calls, so scheduled work runs in time
	// order even if two goroutines advance at once.
	advancing sync.Mutex

	mu     sync.Mutex
	now    time.Time
	timers []*clockTimer
}

type clockTimer struct {
	next    time.Time
	every   time.Duration
	run     func(at time.Time)
	stopped bool
}

// NewClock returns a Clock reading start.
func NewClock(start time.Time) *Clock {
	return &Clock{now: start}
}

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d. Scheduled work that falls due in
// (now, now+d] runs before Advance returns, one item at a time in time order,
// with the clock reading the item's due time while it runs. A d of zero or
// less does nothing.
func (c *Clock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.advancing.Lock()
	defer c.advancing.Unlock()

	c.mu.Lock()
	target := c.now.Add(d)
	for {
		t := c.nextDue(target)
		if t == nil {
			break
		}
		at := t.next
		if at.After(c.now) {
			c.now = at
		}
		t.next = at.Add(t.every)
		// Unlocked while the work runs: it pushes to the platform, which
		// reads this clock.
		c.mu.Unlock()
		t.run(at)
		c.mu.Lock()
	}
	if target.After(c.now) {
		c.now = target
	}
	c.mu.Unlock()
}

// nextDue returns the live timer due earliest at or before limit (the first
// scheduled on a tie), or nil. c.mu is held.
func (c *Clock) nextDue(limit time.Time) *clockTimer {
	var due *clockTimer
	for _, t := range c.timers {
		if t.stopped || t.next.After(limit) {
			continue
		}
		if due == nil || t.next.Before(due.next) {
			due = t
		}
	}
	return due
}

// every runs f at now+interval, now+2·interval, … as Advance passes those
// times, until stop is called.
func (c *Clock) every(interval time.Duration, f func(at time.Time)) (stop func()) {
	c.mu.Lock()
	t := &clockTimer{next: c.now.Add(interval), every: interval, run: f}
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		t.stopped = true
		for i, x := range c.timers {
			if x == t {
				c.timers = append(c.timers[:i], c.timers[i+1:]...)
				break
			}
		}
	}
}
