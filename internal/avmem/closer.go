package avmem

import "sync"

// Closer frees what it was given, last registered first, once.
//
// An owner registers each libav object's Free right where it allocates the
// object, so a failure at any step frees exactly what exists by then:
//
//	var mem avmem.Closer
//	defer mem.Close() // frees everything when a step below fails
//	e.cc = avmem.Own(&mem, astiav.AllocCodecContext(codec))
//	if err := e.cc.Open(codec, nil); err != nil {
//		return nil, err
//	}
//	e.pkt = avmem.Own(&mem, astiav.AllocPacket())
//	e.mem = mem.Move() // success: e owns it, the deferred Close finds nothing
//	return e, nil
//
// The zero Closer is ready to use, and a nil *Closer closes as an empty one.
// A Closer must not be copied once used.
type Closer struct {
	mu     sync.Mutex
	fs     []func()
	closed bool
}

// Add registers f to run on Close. On a Closer already closed, f runs at
// once: what is allocated for an owner that has gone is freed, not leaked.
func (c *Closer) Add(f func()) {
	c.mu.Lock()
	if !c.closed {
		c.fs = append(c.fs, f)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	f()
}

// Own registers p's Free on c and returns p, so that an object is owned on
// the line that allocates it. A nil p (a failed allocation) registers nothing.
func Own[E any, P interface {
	*E
	Free()
}](c *Closer, p P) P {
	if p != nil {
		c.Add(p.Free)
	}
	return p
}

// Close runs what was registered in reverse order, each function once.
// Calling it again does nothing.
func (c *Closer) Close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	fs := c.fs
	c.fs, c.closed = nil, true
	c.mu.Unlock()
	// Run without the lock, so a function may itself Add (which then runs
	// at once) or close another Closer.
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// Move hands what c holds to a new Closer and leaves c empty, so a
// constructor's deferred Close frees nothing once the object it built owns
// the memory. An open c stays open (what is added later is c's again); a
// closed one moves as a closed Closer.
func (c *Closer) Move() *Closer {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := &Closer{fs: c.fs, closed: c.closed}
	c.fs = nil
	return n
}
